-- Upstream providers' status pages: the newest reading of each (what /ops and the public page's
-- third-party components show); their incidents and component changes are events.
CREATE TABLE upstream_status (
    name        TEXT PRIMARY KEY,
    public      BOOLEAN NOT NULL DEFAULT false,
    snapshot    JSONB NOT NULL,
    etag        TEXT,
    fetched_at  TIMESTAMPTZ NOT NULL,
    retired     BOOLEAN NOT NULL DEFAULT false
);
