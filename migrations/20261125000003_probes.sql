-- Components and monitors (synced from the config file), monitor state, raw results and rollups.
CREATE TABLE components (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    group_name  TEXT,
    description TEXT,
    position    INTEGER NOT NULL,
    retired     BOOLEAN NOT NULL DEFAULT false,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE monitors (
    id            BIGSERIAL PRIMARY KEY,
    name          TEXT NOT NULL UNIQUE,
    component_id  TEXT NOT NULL REFERENCES components (id),
    kind          TEXT NOT NULL,
    spec          JSONB NOT NULL,
    interval_secs INTEGER NOT NULL,
    paused        BOOLEAN NOT NULL DEFAULT false,
    retired       BOOLEAN NOT NULL DEFAULT false,
    created_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at    TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE monitor_state (
    monitor_id         BIGINT PRIMARY KEY REFERENCES monitors (id),
    status             TEXT NOT NULL,
    since              TIMESTAMPTZ NOT NULL,
    failures_in_a_row  INTEGER NOT NULL DEFAULT 0,
    successes_in_a_row INTEGER NOT NULL DEFAULT 0,
    degraded_in_a_row  INTEGER NOT NULL DEFAULT 0,
    last_check_at      TIMESTAMPTZ,
    last_ok_at         TIMESTAMPTZ,
    last_latency_ms    REAL,
    last_error         TEXT
);

-- outcome: 0 ok, 1 degraded, 2 failed.
CREATE TABLE check_results (
    monitor_id  BIGINT NOT NULL,
    at          TIMESTAMPTZ NOT NULL,
    outcome     SMALLINT NOT NULL,
    latency_ms  REAL NOT NULL,
    error_class TEXT,
    message     TEXT
);
CREATE INDEX check_results_monitor_at ON check_results (monitor_id, at);
CREATE INDEX check_results_at ON check_results (at);

-- resolution: 'm' minute, 'h' hour, 'd' day (UTC).
CREATE TABLE check_rollups (
    monitor_id  BIGINT NOT NULL,
    resolution  "char" NOT NULL,
    bucket      TIMESTAMPTZ NOT NULL,
    checks      INTEGER NOT NULL,
    failures    INTEGER NOT NULL,
    degraded    INTEGER NOT NULL,
    latency_sum DOUBLE PRECISION NOT NULL,
    latency_max REAL NOT NULL,
    PRIMARY KEY (monitor_id, resolution, bucket)
);
