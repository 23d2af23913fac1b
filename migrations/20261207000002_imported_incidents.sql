-- Incidents brought over from another status page (`vigil import statuspage`): where each came
-- from, so importing the same page again adds only what is new.
ALTER TABLE incidents ADD COLUMN imported_from TEXT;
CREATE UNIQUE INDEX incidents_imported_from ON incidents (imported_from) WHERE imported_from IS NOT NULL;
