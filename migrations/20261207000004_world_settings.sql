-- The rest of the world as data: data sources (Prometheus, node_exporter, Kubernetes, Linode,
-- upstream providers), notification channels, alert rules and the public page's settings.
-- Each is one document, written as the TOML writes it (secrets sealed), revised like
-- components and monitors; retired rows keep the revision that removed them.
CREATE TABLE world_settings (
    kind TEXT NOT NULL CHECK (kind IN ('source', 'channel', 'alert_rule', 'page')),
    id TEXT NOT NULL,
    doc JSONB NOT NULL,
    position INTEGER NOT NULL DEFAULT 0,
    revision BIGINT NOT NULL,
    managed_by TEXT,
    retired BOOLEAN NOT NULL DEFAULT false,
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (kind, id)
);
CREATE INDEX world_settings_revision ON world_settings (revision);
