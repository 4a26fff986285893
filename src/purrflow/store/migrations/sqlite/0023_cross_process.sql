-- A synchronous webhook's answer (http_outcome), sealed like results, kept over a shared database for the
-- server holding the request, which may not be
-- the process that ran the session (services/sessions.py). The first answer wins.
CREATE TABLE webhook_answers (
  session_id TEXT PRIMARY KEY,
  status INTEGER NOT NULL,
  headers BLOB NOT NULL,
  body BLOB NOT NULL
);
-- Moves on with every change to a project's live subscriptions: a process whose index of them is older
-- reads them again before it dispatches an event (services/events.py).
CREATE TABLE subscription_versions (
  project_id TEXT PRIMARY KEY,
  version INTEGER NOT NULL
);
