-- Several `vigil serve` processes on one database. Each says it is alive (replicas); work that
-- must run once (the probes, the pollers, the incident engine, the outbox) is held by one of them
-- at a time through a lease that its holder renews and that anybody may take once it expires.
-- Times are the database's, so replicas need not agree on the clock.
CREATE TABLE replicas (
    id          TEXT PRIMARY KEY,
    hostname    TEXT NOT NULL,
    addr        TEXT NOT NULL,
    version     TEXT NOT NULL,
    started_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    last_seen   TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE leases (
    name        TEXT PRIMARY KEY,
    holder      TEXT NOT NULL,
    acquired_at TIMESTAMPTZ NOT NULL,
    renewed_at  TIMESTAMPTZ NOT NULL,
    expires_at  TIMESTAMPTZ NOT NULL
);

-- The newest ping of each heartbeat monitor, whichever replica received it: the one running the
-- probes reads it.
CREATE TABLE heartbeat_pings (
    monitor_id  BIGINT PRIMARY KEY REFERENCES monitors (id) ON DELETE CASCADE,
    at          TIMESTAMPTZ NOT NULL
);
