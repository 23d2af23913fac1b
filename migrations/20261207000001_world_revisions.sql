-- The world (components and monitors) is data: every change, from the browser, the API, the CLI
-- or the configuration file, is one revision. `world_head` is the newest revision's number; a
-- writer locks its one row, so revisions are numbered without gaps and one at a time.
CREATE TABLE world_head (
    only_row BOOLEAN PRIMARY KEY DEFAULT true CHECK (only_row),
    revision BIGINT NOT NULL
);
INSERT INTO world_head (revision) VALUES (0);

CREATE TABLE world_revisions (
    number  BIGINT PRIMARY KEY,
    at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    -- Who: "admin alice", "token deploy-bot", "file /etc/vigil/vigil.toml", "cli".
    actor   TEXT NOT NULL,
    message TEXT,
    -- What changed, object by object and field by field, secrets replaced by "(secret)".
    changes JSONB NOT NULL,
    -- The whole world after this revision, secrets replaced the same way (for restore).
    world   JSONB NOT NULL
);

-- Each object's last revision (its ETag), what declares it ("file PATH" when a configuration
-- file is authoritative for it, NULL when it is edited live), and, for monitors, the object as
-- written (the TOML field names), from which `spec` is derived.
ALTER TABLE components ADD COLUMN revision BIGINT NOT NULL DEFAULT 0;
ALTER TABLE components ADD COLUMN managed_by TEXT;
ALTER TABLE monitors ADD COLUMN revision BIGINT NOT NULL DEFAULT 0;
ALTER TABLE monitors ADD COLUMN managed_by TEXT;
ALTER TABLE monitors ADD COLUMN doc JSONB;
