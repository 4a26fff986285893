-- A password users may set for the web UI's login (a salted scrypt hash; NULL: tokens only).
ALTER TABLE users ADD COLUMN password_hash TEXT;
