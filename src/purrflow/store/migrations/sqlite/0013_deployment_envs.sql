-- The environment a deployment's requirements.txt was installed into: `<data dir>/envs/<env>`, the
-- SHA-256 of the file (deployments with the same file share it); NULL when it has none.
ALTER TABLE deployments ADD COLUMN env TEXT;
