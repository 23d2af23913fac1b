-- What the public reads of a published post-mortem: the last revision that was approved (by
-- somebody who did not write it, when approvals are required), not whatever was saved since.
ALTER TABLE postmortems ADD COLUMN published_revision INT;
UPDATE postmortems SET published_revision = revision WHERE published_at IS NOT NULL;
