-- Team secrets, encrypted (Fernet) with a key kept outside the database.
CREATE TABLE team_secrets (
    team_id     TEXT NOT NULL REFERENCES teams(id),
    key         TEXT NOT NULL,
    ciphertext  BLOB NOT NULL,
    updated_at  REAL NOT NULL,
    PRIMARY KEY (team_id, key)
) WITHOUT ROWID;
