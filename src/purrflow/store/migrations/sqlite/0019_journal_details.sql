-- What the journal keeps about a step besides its outcome (`purr sessions journal` shows it): a summary
-- of its arguments (sealed like payloads: it can carry user data), when it began, its attempt number
-- under a retry policy and whether that attempt's failure was retried. Steps journaled before are NULL.
ALTER TABLE journal ADD COLUMN args BLOB;
ALTER TABLE journal ADD COLUMN started_at REAL;
ALTER TABLE journal ADD COLUMN attempt INTEGER;
ALTER TABLE journal ADD COLUMN retried INTEGER NOT NULL DEFAULT 0;
-- When the session's latest runner started: a step recorded before it was answered by replay.
ALTER TABLE sessions ADD COLUMN runner_started_at REAL;
