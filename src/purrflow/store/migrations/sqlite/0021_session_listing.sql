-- Listing sessions stays fast with many of them: a session carries its project's team (projects never
-- change team), so a team's newest sessions — all, by state, by project, by trigger — are read in index
-- order and paged by (created_at, id) without sorting or OFFSET; a session's children by their parent;
-- and what changed since a moment (the live sessions page) by updated_at.
ALTER TABLE sessions ADD COLUMN team_id TEXT;
UPDATE sessions SET team_id = (SELECT p.team_id FROM projects p WHERE p.id = sessions.project_id);
CREATE INDEX sessions_listing ON sessions (team_id, created_at, id);
CREATE INDEX sessions_listing_by_state ON sessions (team_id, state, created_at, id);
CREATE INDEX sessions_listing_by_project ON sessions (project_id, state, created_at, id);
CREATE INDEX sessions_listing_by_trigger ON sessions (team_id, trigger_name, created_at, id);
CREATE INDEX sessions_by_parent ON sessions (parent_id, created_at, id);
CREATE INDEX sessions_changed ON sessions (team_id, updated_at);
