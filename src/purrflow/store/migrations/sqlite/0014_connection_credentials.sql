-- A connection's fields rest encrypted (`fields`, a Fernet token of their JSON; `vars` held them in clear
-- before and is emptied as rows are re-sealed), with how it authenticates and what its last test found.
ALTER TABLE connections ADD COLUMN fields BLOB;
ALTER TABLE connections ADD COLUMN auth_mode TEXT NOT NULL DEFAULT '';
ALTER TABLE connections ADD COLUMN status TEXT NOT NULL DEFAULT 'unset';
ALTER TABLE connections ADD COLUMN status_detail TEXT NOT NULL DEFAULT '';
ALTER TABLE connections ADD COLUMN checked_at REAL;
-- Signed inbound deliveries already taken (Slack event ids, GitHub delivery ids): a retry starts nothing.
CREATE TABLE inbound_deliveries (
    connection_id TEXT NOT NULL,
    delivery      TEXT NOT NULL,
    received_at   REAL NOT NULL,
    PRIMARY KEY (connection_id, delivery)
);
CREATE INDEX inbound_deliveries_age ON inbound_deliveries (received_at);
