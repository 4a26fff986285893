-- A session rerun from step k of another records where it came from (`purr sessions show` says so).
ALTER TABLE sessions ADD COLUMN rerun_of TEXT;
ALTER TABLE sessions ADD COLUMN rerun_from INTEGER;
-- A project's own retention (its manifest's `retention`, in seconds; NULL: the server's), set at each deploy.
ALTER TABLE projects ADD COLUMN retention REAL;
-- Deleting ended sessions by age (the retention sweep, `purr sessions delete --older-than`) reads them by
-- state and by when they ended; `purr events show` lists the sessions an event started.
CREATE INDEX sessions_ended ON sessions (state, updated_at);
CREATE INDEX sessions_by_event ON sessions (event_id) WHERE event_id IS NOT NULL;
-- Events listed newest first, a page at a time (keyset on (created_at, id)).
CREATE INDEX events_listing ON events (project_id, created_at, id);
-- Deleting a project removes the file contents no other deployment shares.
CREATE INDEX deployment_files_by_content ON deployment_files (sha256);
