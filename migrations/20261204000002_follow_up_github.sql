-- Follow-ups tracked as GitHub issues (`[github]`): whether one is wanted, which it is, what GitHub
-- last said of it (its ETag for conditional reads), and what went wrong, for /ops to show.
-- github_wanted: true (asked), false (declined), NULL (never said: `open_by_default` decides).
ALTER TABLE follow_ups ADD COLUMN github_wanted BOOLEAN;
ALTER TABLE follow_ups ADD COLUMN github_number BIGINT;
ALTER TABLE follow_ups ADD COLUMN github_url TEXT;
-- open, closed, or deleted (GitHub answers 404: deleted, transferred or hidden; no longer read).
ALTER TABLE follow_ups ADD COLUMN github_state TEXT
    CHECK (github_state IN ('open', 'closed', 'deleted'));
ALTER TABLE follow_ups ADD COLUMN github_etag TEXT;
ALTER TABLE follow_ups ADD COLUMN github_error TEXT;
ALTER TABLE follow_ups ADD COLUMN github_checked_at TIMESTAMPTZ;
CREATE INDEX follow_ups_github ON follow_ups (github_number) WHERE github_number IS NOT NULL;
