-- Node resource samples Vigil keeps itself (so diagnosis works while Grafana is down), their
-- rollups, the freshness of every data source, and NodeBalancer connection counts.

CREATE TABLE resource_nodes (
    id         SERIAL PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    source     TEXT NOT NULL,
    first_seen TIMESTAMPTZ NOT NULL DEFAULT now(),
    last_seen  TIMESTAMPTZ
);

-- metric: 1 memory used ratio, 2 cpu busy ratio, 3 memory pressure, 4 cpu pressure, 5 load/core.
-- The primary key doubles as the graph index and makes re-delivered samples (a backfill that
-- overlaps what was scraped) harmless.
CREATE TABLE resource_samples (
    node_id INTEGER NOT NULL,
    metric  SMALLINT NOT NULL,
    at      TIMESTAMPTZ NOT NULL,
    value   DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (node_id, metric, at)
);

CREATE TABLE resource_rollups_1m (
    node_id INTEGER NOT NULL,
    metric  SMALLINT NOT NULL,
    bucket  TIMESTAMPTZ NOT NULL,
    n       INTEGER NOT NULL,
    sum     DOUBLE PRECISION NOT NULL,
    min     REAL NOT NULL,
    max     REAL NOT NULL,
    PRIMARY KEY (node_id, metric, bucket)
);

-- 5-minute rollups serve day-long graphs of many nodes; hourly ones serve weeks and months.
CREATE TABLE resource_rollups_5m (LIKE resource_rollups_1m INCLUDING ALL);
CREATE TABLE resource_rollups_1h (LIKE resource_rollups_1m INCLUDING ALL);

CREATE TABLE sources (
    name             TEXT PRIMARY KEY,
    kind             TEXT NOT NULL,
    target           TEXT NOT NULL,
    stale_after_secs INTEGER NOT NULL,
    last_attempt     TIMESTAMPTZ,
    last_success     TIMESTAMPTZ,
    last_error_at    TIMESTAMPTZ,
    last_error       TEXT,
    stale            BOOLEAN NOT NULL DEFAULT false,
    stale_since      TIMESTAMPTZ,
    retired          BOOLEAN NOT NULL DEFAULT false,
    registered_at    TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE lb_connections (
    nodebalancer_id BIGINT NOT NULL,
    at              TIMESTAMPTZ NOT NULL,
    connections     DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (nodebalancer_id, at)
);

CREATE INDEX events_kind_subject_id ON events (kind, subject, id);
