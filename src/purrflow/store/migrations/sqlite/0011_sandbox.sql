-- Sandboxed runners and dead ones replayed.
-- Each team's sessions run as an unprivileged uid of its own, allocated on first use.
ALTER TABLE teams ADD COLUMN run_uid INTEGER;
CREATE UNIQUE INDEX teams_by_run_uid ON teams (run_uid) WHERE run_uid IS NOT NULL;
-- How often a session's runner died before it finished (a bounded number of replays), and how long it
-- has run so far outside waits (its wall-clock timeout counts that).
ALTER TABLE sessions ADD COLUMN runner_deaths INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sessions ADD COLUMN active_seconds REAL NOT NULL DEFAULT 0;
-- A trigger's `concurrency` counts its sessions under way.
CREATE INDEX sessions_by_trigger ON sessions (project_id, trigger_name, state);
