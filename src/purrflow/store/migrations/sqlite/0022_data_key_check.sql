-- A value sealed with the data key: a process with another key refuses to start (store/_keys.py).
CREATE TABLE data_key_check (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  sealed BLOB NOT NULL
);
