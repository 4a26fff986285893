-- The team configuration store: plain strings by key, shared by every project of a team.
CREATE TABLE team_config (
    team_id     TEXT NOT NULL REFERENCES teams(id),
    key         TEXT NOT NULL,
    value       TEXT NOT NULL,
    updated_at  REAL NOT NULL,
    PRIMARY KEY (team_id, key)
) WITHOUT ROWID;
