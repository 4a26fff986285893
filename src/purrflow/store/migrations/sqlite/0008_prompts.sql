-- Questions a session asks a person; the session waits (durably) for the answer.
CREATE TABLE prompts (
    id           TEXT PRIMARY KEY,
    session_id   TEXT NOT NULL,
    seq          INTEGER NOT NULL,
    team_id      TEXT NOT NULL,
    spec         TEXT NOT NULL,
    created_at   REAL NOT NULL,
    answered_at  REAL,
    UNIQUE (session_id, seq)
);
CREATE INDEX prompts_open ON prompts (team_id) WHERE answered_at IS NULL;
