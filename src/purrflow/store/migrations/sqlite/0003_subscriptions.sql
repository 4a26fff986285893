-- Sessions' subscriptions to a source's events (a trigger or a connection of their project).
CREATE TABLE subscriptions (
    id           TEXT PRIMARY KEY,
    session_id   TEXT NOT NULL,
    project_id   TEXT NOT NULL,
    source       TEXT NOT NULL,
    filter       TEXT NOT NULL DEFAULT '',
    created_at   REAL NOT NULL,
    active       INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX subscriptions_live ON subscriptions (project_id, source) WHERE active = 1;
