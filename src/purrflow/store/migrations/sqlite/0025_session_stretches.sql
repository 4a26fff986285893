-- Which stretch of a session on Temporal holds it: its number in the session's workflow and Temporal's
-- attempt at it, and who that is (workflow run, activity, attempt). The worker that runs a stretch takes it
-- before its runner starts, and only from an earlier one; a runner on a worker whose stretch Temporal gave
-- to another (it lost Temporal for longer than a heartbeat's timeout) finds it taken at its next step, and
-- stops (orchestrators/temporal.py).
CREATE TABLE session_stretches (
  session_id TEXT PRIMARY KEY,
  stretch INTEGER NOT NULL,
  attempt INTEGER NOT NULL,
  holder TEXT NOT NULL
);
