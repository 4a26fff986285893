-- A connection's fields (tokens, URLs), handed to sessions as <connection>__<field> variables.
ALTER TABLE connections ADD COLUMN vars TEXT NOT NULL DEFAULT '{}';
