-- When a connection's OAuth token is to be refreshed (before it expires; NULL: it needs none).
ALTER TABLE connections ADD COLUMN token_refresh_at REAL;
CREATE INDEX connections_token_refresh ON connections (token_refresh_at) WHERE token_refresh_at IS NOT NULL;
-- An authorization in progress: its state (the key), bound to the connection and the user who began it;
-- the PKCE verifier as ciphertext. Used once, good for ten minutes.
CREATE TABLE oauth_states (
    state          TEXT PRIMARY KEY,
    connection_id  TEXT NOT NULL,
    user_id        TEXT NOT NULL,
    verifier       BLOB NOT NULL,
    redirect_uri   TEXT NOT NULL,
    created_at     REAL NOT NULL
);
