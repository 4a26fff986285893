-- Where a polled mailbox's history was last read (Gmail's historyId) and when to look again; the cursor
-- moves in the same commit as the events it produced, so a crash never delivers a change twice.
ALTER TABLE connections ADD COLUMN poll_cursor TEXT;
ALTER TABLE connections ADD COLUMN poll_at REAL;
