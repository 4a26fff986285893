-- When each schedule trigger last fired, so a restart neither repeats nor (by default) catches up ticks.
CREATE TABLE schedule_runs (
    trigger_id    TEXT PRIMARY KEY,
    last_fire_at  REAL NOT NULL
) WITHOUT ROWID;
