-- purrflow schema, version 1.
CREATE TABLE teams (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    created_at  REAL NOT NULL
);
CREATE TABLE users (
    id          TEXT PRIMARY KEY,
    team_id     TEXT NOT NULL REFERENCES teams(id),
    username    TEXT NOT NULL UNIQUE,
    email       TEXT NOT NULL DEFAULT '',
    role        TEXT NOT NULL DEFAULT 'member',
    created_at  REAL NOT NULL
);
CREATE TABLE tokens (
    id          TEXT PRIMARY KEY,
    user_id     TEXT NOT NULL REFERENCES users(id),
    token_hash  TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL DEFAULT '',
    created_at  REAL NOT NULL,
    revoked_at  REAL
);
CREATE TABLE blobs (
    sha256      TEXT PRIMARY KEY,
    content     BLOB NOT NULL
) WITHOUT ROWID;
CREATE TABLE projects (
    id            TEXT PRIMARY KEY,
    team_id       TEXT NOT NULL REFERENCES teams(id),
    name          TEXT NOT NULL,
    deployment_id TEXT,
    created_at    REAL NOT NULL,
    UNIQUE (team_id, name)
);
CREATE TABLE deployments (
    id          TEXT PRIMARY KEY,
    project_id  TEXT NOT NULL REFERENCES projects(id),
    manifest    TEXT NOT NULL,
    created_at  REAL NOT NULL
);
CREATE TABLE deployment_files (
    deployment_id TEXT NOT NULL REFERENCES deployments(id),
    path          TEXT NOT NULL,
    sha256        TEXT NOT NULL REFERENCES blobs(sha256),
    PRIMARY KEY (deployment_id, path)
) WITHOUT ROWID;
CREATE TABLE connections (
    id           TEXT PRIMARY KEY,
    project_id   TEXT NOT NULL REFERENCES projects(id),
    name         TEXT NOT NULL,
    integration  TEXT NOT NULL,
    UNIQUE (project_id, name)
);
CREATE TABLE triggers (
    id          TEXT PRIMARY KEY,
    project_id  TEXT NOT NULL REFERENCES projects(id),
    name        TEXT NOT NULL,
    slug        TEXT UNIQUE,
    kind        TEXT NOT NULL,
    spec        TEXT NOT NULL,
    UNIQUE (project_id, name)
);
CREATE TABLE events (
    id          TEXT PRIMARY KEY,
    project_id  TEXT NOT NULL REFERENCES projects(id),
    source      TEXT NOT NULL,
    event_type  TEXT NOT NULL,
    data        BLOB NOT NULL,
    created_at  REAL NOT NULL
);
CREATE TABLE sessions (
    id            TEXT PRIMARY KEY,
    project_id    TEXT NOT NULL REFERENCES projects(id),
    deployment_id TEXT NOT NULL REFERENCES deployments(id),
    entrypoint    TEXT NOT NULL,
    trigger_name  TEXT,
    event_id      TEXT,
    parent_id     TEXT,
    event         BLOB NOT NULL,
    memo          TEXT NOT NULL DEFAULT '{}',
    durable       INTEGER NOT NULL DEFAULT 1,
    state         TEXT NOT NULL,
    result        BLOB,
    result_repr   TEXT NOT NULL DEFAULT '',
    error         TEXT,
    created_at    REAL NOT NULL,
    updated_at    REAL NOT NULL
);
CREATE INDEX sessions_by_state ON sessions (state);
CREATE INDEX sessions_by_project ON sessions (project_id, created_at);
CREATE TABLE journal (
    session_id  TEXT NOT NULL,
    seq         INTEGER NOT NULL,
    name        TEXT NOT NULL,
    payload     BLOB NOT NULL,
    failed      INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (session_id, seq)
) WITHOUT ROWID;
CREATE TABLE session_logs (
    session_id  TEXT NOT NULL,
    seq         INTEGER NOT NULL,
    ts          REAL NOT NULL,
    stream      TEXT NOT NULL,
    text        TEXT NOT NULL,
    position    INTEGER NOT NULL DEFAULT 0,  -- steps the session had taken when it printed the line
    PRIMARY KEY (session_id, seq)
) WITHOUT ROWID;
CREATE TABLE project_values (
    project_id  TEXT NOT NULL,
    key         TEXT NOT NULL,
    value       BLOB NOT NULL,
    updated_at  REAL NOT NULL,
    PRIMARY KEY (project_id, key)
) WITHOUT ROWID;
CREATE TABLE timers (
    session_id  TEXT NOT NULL,
    seq         INTEGER NOT NULL,
    name        TEXT NOT NULL,
    fire_at     REAL NOT NULL,
    PRIMARY KEY (session_id, seq)
) WITHOUT ROWID;
CREATE INDEX timers_by_time ON timers (fire_at);
