-- Project vars set from outside the manifest (`purr vars set`). A change is a new row, never an update:
-- a session sees the vars as they were when it was created, however often its runner replays later.
-- `value` is NULL for a deletion; a secret var's value is a token of the secret box (never in clear).
CREATE TABLE project_vars (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    project_id  TEXT NOT NULL REFERENCES projects(id),
    name        TEXT NOT NULL,
    set_at      REAL NOT NULL,
    secret      INTEGER NOT NULL DEFAULT 0,
    value       BLOB
);
CREATE INDEX project_vars_by_name ON project_vars (project_id, name, id);
