-- Analytics events (`sdk.track`, `POST /api/v1/analytics/events`): the raw material of Insights (DORA).
-- `data` is the whole flattened body as CTO.ai sends it: {"tags": [...], "event": ..., **metadata}.
CREATE TABLE analytics_events (
    id          TEXT PRIMARY KEY,
    team_id     TEXT NOT NULL REFERENCES teams(id),
    ts          REAL NOT NULL,
    event       TEXT NOT NULL,
    tags        TEXT NOT NULL,
    data        TEXT NOT NULL,
    session_id  TEXT,
    user_id     TEXT
);
CREATE INDEX analytics_events_by_time ON analytics_events (team_id, ts);
