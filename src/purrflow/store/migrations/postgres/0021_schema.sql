-- The whole schema as of SQLite's migration 0021, for PostgreSQL; later migrations come in both folders,
-- numbered alike. Text compares byte by byte (COLLATE "C"), as in SQLite, so ids sort and ranges match.

CREATE TABLE teams (
    id          TEXT COLLATE "C" PRIMARY KEY,
    name        TEXT COLLATE "C" NOT NULL UNIQUE,
    created_at  DOUBLE PRECISION NOT NULL,
    run_uid BIGINT);

CREATE TABLE users (
    id          TEXT COLLATE "C" PRIMARY KEY,
    team_id     TEXT COLLATE "C" NOT NULL REFERENCES teams(id),
    username    TEXT COLLATE "C" NOT NULL UNIQUE,
    email       TEXT COLLATE "C" NOT NULL DEFAULT '',
    role        TEXT COLLATE "C" NOT NULL DEFAULT 'member',
    created_at  DOUBLE PRECISION NOT NULL,
    password_hash TEXT COLLATE "C");

CREATE TABLE tokens (
    id          TEXT COLLATE "C" PRIMARY KEY,
    user_id     TEXT COLLATE "C" NOT NULL REFERENCES users(id),
    token_hash  TEXT COLLATE "C" NOT NULL UNIQUE,
    name        TEXT COLLATE "C" NOT NULL DEFAULT '',
    created_at  DOUBLE PRECISION NOT NULL,
    revoked_at  DOUBLE PRECISION
);

CREATE TABLE blobs (
    sha256      TEXT COLLATE "C" PRIMARY KEY,
    content     BYTEA NOT NULL
);

CREATE TABLE projects (
    id            TEXT COLLATE "C" PRIMARY KEY,
    team_id       TEXT COLLATE "C" NOT NULL REFERENCES teams(id),
    name          TEXT COLLATE "C" NOT NULL,
    deployment_id TEXT COLLATE "C",
    created_at    DOUBLE PRECISION NOT NULL,
    owner_id TEXT COLLATE "C",
    retention DOUBLE PRECISION,
    UNIQUE (team_id, name)
);

CREATE TABLE deployments (
    id          TEXT COLLATE "C" PRIMARY KEY,
    project_id  TEXT COLLATE "C" NOT NULL REFERENCES projects(id),
    manifest    TEXT COLLATE "C" NOT NULL,
    created_at  DOUBLE PRECISION NOT NULL,
    env TEXT COLLATE "C");

CREATE TABLE deployment_files (
    deployment_id TEXT COLLATE "C" NOT NULL REFERENCES deployments(id),
    path          TEXT COLLATE "C" NOT NULL,
    sha256        TEXT COLLATE "C" NOT NULL REFERENCES blobs(sha256),
    PRIMARY KEY (deployment_id, path)
);

CREATE TABLE connections (
    id           TEXT COLLATE "C" PRIMARY KEY,
    project_id   TEXT COLLATE "C" NOT NULL REFERENCES projects(id),
    name         TEXT COLLATE "C" NOT NULL,
    integration  TEXT COLLATE "C" NOT NULL,
    vars TEXT COLLATE "C" NOT NULL DEFAULT '{}',
    fields BYTEA,
    auth_mode TEXT COLLATE "C" NOT NULL DEFAULT '',
    status TEXT COLLATE "C" NOT NULL DEFAULT 'unset',
    status_detail TEXT COLLATE "C" NOT NULL DEFAULT '',
    checked_at DOUBLE PRECISION,
    token_refresh_at DOUBLE PRECISION,
    poll_cursor TEXT COLLATE "C",
    poll_at DOUBLE PRECISION,
    UNIQUE (project_id, name)
);

CREATE TABLE triggers (
    id          TEXT COLLATE "C" PRIMARY KEY,
    project_id  TEXT COLLATE "C" NOT NULL REFERENCES projects(id),
    name        TEXT COLLATE "C" NOT NULL,
    slug        TEXT COLLATE "C" UNIQUE,
    kind        TEXT COLLATE "C" NOT NULL,
    spec        TEXT COLLATE "C" NOT NULL,
    UNIQUE (project_id, name)
);

CREATE TABLE events (
    id          TEXT COLLATE "C" PRIMARY KEY,
    project_id  TEXT COLLATE "C" NOT NULL REFERENCES projects(id),
    source      TEXT COLLATE "C" NOT NULL,
    event_type  TEXT COLLATE "C" NOT NULL,
    data        BYTEA NOT NULL,
    created_at  DOUBLE PRECISION NOT NULL
);

CREATE TABLE sessions (
    id            TEXT COLLATE "C" PRIMARY KEY,
    project_id    TEXT COLLATE "C" NOT NULL REFERENCES projects(id),
    deployment_id TEXT COLLATE "C" NOT NULL REFERENCES deployments(id),
    entrypoint    TEXT COLLATE "C" NOT NULL,
    trigger_name  TEXT COLLATE "C",
    event_id      TEXT COLLATE "C",
    parent_id     TEXT COLLATE "C",
    event         BYTEA NOT NULL,
    memo          TEXT COLLATE "C" NOT NULL DEFAULT '{}',
    durable       BIGINT NOT NULL DEFAULT 1,
    state         TEXT COLLATE "C" NOT NULL,
    result        BYTEA,
    result_repr   BYTEA,           -- sealed, as the result and the error are; NULL until it ends
    error         BYTEA,
    created_at    DOUBLE PRECISION NOT NULL,
    updated_at    DOUBLE PRECISION NOT NULL,
    user_id TEXT COLLATE "C",
    runner_deaths BIGINT NOT NULL DEFAULT 0,
    active_seconds DOUBLE PRECISION NOT NULL DEFAULT 0,
    rerun_of TEXT COLLATE "C",
    rerun_from BIGINT, runner_started_at DOUBLE PRECISION,
    team_id TEXT COLLATE "C");

CREATE INDEX sessions_by_state ON sessions (state);

CREATE INDEX sessions_by_project ON sessions (project_id, created_at);

CREATE TABLE journal (
    session_id  TEXT COLLATE "C" NOT NULL,
    seq         BIGINT NOT NULL,
    name        TEXT COLLATE "C" NOT NULL,
    payload     BYTEA NOT NULL,
    failed      BIGINT NOT NULL DEFAULT 0,
    recorded_at DOUBLE PRECISION,
    args BYTEA, started_at DOUBLE PRECISION,
    attempt BIGINT, retried BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (session_id, seq)
);

CREATE TABLE session_logs (
    session_id  TEXT COLLATE "C" NOT NULL,
    seq         BIGINT NOT NULL,
    ts          DOUBLE PRECISION NOT NULL,
    stream      TEXT COLLATE "C" NOT NULL,
    text        TEXT COLLATE "C" NOT NULL,
    position    BIGINT NOT NULL DEFAULT 0,  -- steps the session had taken when it printed the line
    PRIMARY KEY (session_id, seq)
);

CREATE TABLE project_values (
    project_id  TEXT COLLATE "C" NOT NULL,
    key         TEXT COLLATE "C" NOT NULL,
    value       BYTEA NOT NULL,
    updated_at  DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (project_id, key)
);

CREATE TABLE timers (
    session_id  TEXT COLLATE "C" NOT NULL,
    seq         BIGINT NOT NULL,
    name        TEXT COLLATE "C" NOT NULL,
    fire_at     DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (session_id, seq)
);

CREATE INDEX timers_by_time ON timers (fire_at);

CREATE TABLE signals (
    id           TEXT COLLATE "C" PRIMARY KEY,
    project_id   TEXT COLLATE "C" NOT NULL REFERENCES projects(id),
    session_id   TEXT COLLATE "C",            -- the target session; NULL for a project-wide named signal
    name         TEXT COLLATE "C" NOT NULL,
    payload      BYTEA NOT NULL,
    created_at   DOUBLE PRECISION NOT NULL,
    consumed_at  DOUBLE PRECISION             -- set when a waiting session took it
);

CREATE INDEX signals_pending ON signals (project_id, session_id, name) WHERE consumed_at IS NULL;

CREATE TABLE waits (
    session_id   TEXT COLLATE "C" PRIMARY KEY,
    seq          BIGINT NOT NULL,
    project_id   TEXT COLLATE "C" NOT NULL,
    kind         TEXT COLLATE "C" NOT NULL,   -- 'signal' (project-wide, by name) or 'session_signal' (targeted)
    names        TEXT COLLATE "C" NOT NULL,   -- JSON list of names
    deadline     DOUBLE PRECISION             -- NULL: wait forever
);

CREATE TABLE subscriptions (
    id           TEXT COLLATE "C" PRIMARY KEY,
    session_id   TEXT COLLATE "C" NOT NULL,
    project_id   TEXT COLLATE "C" NOT NULL,
    source       TEXT COLLATE "C" NOT NULL,
    filter       TEXT COLLATE "C" NOT NULL DEFAULT '',
    created_at   DOUBLE PRECISION NOT NULL,
    active       BIGINT NOT NULL DEFAULT 1
);

CREATE INDEX subscriptions_live ON subscriptions (project_id, source) WHERE active = 1;

CREATE TABLE schedule_runs (
    trigger_id    TEXT COLLATE "C" PRIMARY KEY,
    last_fire_at  DOUBLE PRECISION NOT NULL
);

CREATE TABLE team_config (
    team_id     TEXT COLLATE "C" NOT NULL REFERENCES teams(id),
    key         TEXT COLLATE "C" NOT NULL,
    value       TEXT COLLATE "C" NOT NULL,
    updated_at  DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (team_id, key)
);

CREATE TABLE prompts (
    id           TEXT COLLATE "C" PRIMARY KEY,
    session_id   TEXT COLLATE "C" NOT NULL,
    seq          BIGINT NOT NULL,
    team_id      TEXT COLLATE "C" NOT NULL,
    spec         TEXT COLLATE "C" NOT NULL,
    created_at   DOUBLE PRECISION NOT NULL,
    answered_at  DOUBLE PRECISION,
    UNIQUE (session_id, seq)
);

CREATE INDEX prompts_open ON prompts (team_id) WHERE answered_at IS NULL;

CREATE TABLE team_secrets (
    team_id     TEXT COLLATE "C" NOT NULL REFERENCES teams(id),
    key         TEXT COLLATE "C" NOT NULL,
    ciphertext  BYTEA NOT NULL,
    updated_at  DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (team_id, key)
);

CREATE TABLE analytics_events (
    id          TEXT COLLATE "C" PRIMARY KEY,
    team_id     TEXT COLLATE "C" NOT NULL REFERENCES teams(id),
    ts          DOUBLE PRECISION NOT NULL,
    event       TEXT COLLATE "C" NOT NULL,
    tags        TEXT COLLATE "C" NOT NULL,
    data        TEXT COLLATE "C" NOT NULL,
    session_id  TEXT COLLATE "C",
    user_id     TEXT COLLATE "C"
);

CREATE INDEX analytics_events_by_time ON analytics_events (team_id, ts);

CREATE UNIQUE INDEX teams_by_run_uid ON teams (run_uid) WHERE run_uid IS NOT NULL;

CREATE INDEX sessions_by_trigger ON sessions (project_id, trigger_name, state);

CREATE TABLE project_vars (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    project_id  TEXT COLLATE "C" NOT NULL REFERENCES projects(id),
    name        TEXT COLLATE "C" NOT NULL,
    set_at      DOUBLE PRECISION NOT NULL,
    secret      BIGINT NOT NULL DEFAULT 0,
    value       BYTEA
);

CREATE INDEX project_vars_by_name ON project_vars (project_id, name, id);

CREATE TABLE inbound_deliveries (
    connection_id TEXT COLLATE "C" NOT NULL,
    delivery      TEXT COLLATE "C" NOT NULL,
    received_at   DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (connection_id, delivery)
);

CREATE INDEX inbound_deliveries_age ON inbound_deliveries (received_at);

CREATE INDEX connections_token_refresh ON connections (token_refresh_at) WHERE token_refresh_at IS NOT NULL;

CREATE TABLE oauth_states (
    state          TEXT COLLATE "C" PRIMARY KEY,
    connection_id  TEXT COLLATE "C" NOT NULL,
    user_id        TEXT COLLATE "C" NOT NULL,
    verifier       BYTEA NOT NULL,
    redirect_uri   TEXT COLLATE "C" NOT NULL,
    created_at     DOUBLE PRECISION NOT NULL
);

CREATE INDEX sessions_ended ON sessions (state, updated_at);

CREATE INDEX sessions_by_event ON sessions (event_id) WHERE event_id IS NOT NULL;

CREATE INDEX events_listing ON events (project_id, created_at, id);

CREATE INDEX deployment_files_by_content ON deployment_files (sha256);

CREATE INDEX sessions_listing ON sessions (team_id, created_at, id);

CREATE INDEX sessions_listing_by_state ON sessions (team_id, state, created_at, id);

CREATE INDEX sessions_listing_by_project ON sessions (project_id, state, created_at, id);

CREATE INDEX sessions_listing_by_trigger ON sessions (team_id, trigger_name, created_at, id);

CREATE INDEX sessions_by_parent ON sessions (parent_id, created_at, id);

CREATE INDEX sessions_changed ON sessions (team_id, updated_at);
