-- When each step was recorded (`purr sessions journal` shows it); steps journaled before are NULL.
ALTER TABLE journal ADD COLUMN recorded_at REAL;
