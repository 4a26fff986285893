-- Whom a session runs for (who started it; the project owner for webhooks and schedules).
ALTER TABLE projects ADD COLUMN owner_id TEXT;
ALTER TABLE sessions ADD COLUMN user_id TEXT;
