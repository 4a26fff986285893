-- Signals and the durable record of what each waiting session waits for.
CREATE TABLE signals (
    id           TEXT PRIMARY KEY,
    project_id   TEXT NOT NULL REFERENCES projects(id),
    session_id   TEXT,            -- the target session; NULL for a project-wide named signal
    name         TEXT NOT NULL,
    payload      BLOB NOT NULL,
    created_at   REAL NOT NULL,
    consumed_at  REAL             -- set when a waiting session took it
);
CREATE INDEX signals_pending ON signals (project_id, session_id, name) WHERE consumed_at IS NULL;
CREATE TABLE waits (
    session_id   TEXT PRIMARY KEY,
    seq          INTEGER NOT NULL,
    project_id   TEXT NOT NULL,
    kind         TEXT NOT NULL,   -- 'signal' (project-wide, by name) or 'session_signal' (targeted)
    names        TEXT NOT NULL,   -- JSON list of names
    deadline     REAL             -- NULL: wait forever
);
