-- GitHub webhook deliveries already taken (`X-GitHub-Delivery`), for a day: a captured signed
-- delivery replayed later is answered without effect.
CREATE TABLE github_deliveries (
    id TEXT PRIMARY KEY CHECK (length(id) BETWEEN 1 AND 100),
    received_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX github_deliveries_received ON github_deliveries (received_at);
