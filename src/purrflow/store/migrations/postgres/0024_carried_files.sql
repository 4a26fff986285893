-- The files of the folders a session's runner writes (its run's state folder, its project's CTO.ai config
-- folder), kept over a shared database where sessions run on many workers: each step's writes are kept
-- with it, and the worker that runs the session next lays them out again (services/carried_folders.py).
-- One row a file, folder or symbolic link; a file's content sealed like results, a link's its target.
CREATE TABLE carried_files (
  folder TEXT NOT NULL,
  path TEXT NOT NULL,
  owner_id TEXT NOT NULL,
  kind TEXT NOT NULL,
  mode INTEGER NOT NULL,
  size BIGINT NOT NULL,
  mtime_ns BIGINT NOT NULL,
  content BYTEA NOT NULL,
  PRIMARY KEY (folder, path)
);
CREATE INDEX carried_files_owner ON carried_files (owner_id);
