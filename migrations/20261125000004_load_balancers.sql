-- Load-balancer backends as the balancer reports them, and every change of their status.
CREATE TABLE lb_backends (
    nodebalancer_id    BIGINT NOT NULL,
    nodebalancer_label TEXT NOT NULL,
    config_id          BIGINT NOT NULL,
    port               INTEGER NOT NULL,
    protocol           TEXT NOT NULL,
    node_id            BIGINT NOT NULL,
    label              TEXT NOT NULL,
    address            TEXT NOT NULL,
    status             TEXT NOT NULL,
    mode               TEXT NOT NULL,
    weight             INTEGER NOT NULL,
    flapping           BOOLEAN NOT NULL DEFAULT false,
    since              TIMESTAMPTZ NOT NULL,
    seen_at            TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (config_id, node_id)
);

CREATE TABLE lb_backend_changes (
    config_id   BIGINT NOT NULL,
    node_id     BIGINT NOT NULL,
    at          TIMESTAMPTZ NOT NULL,
    from_status TEXT NOT NULL,
    to_status   TEXT NOT NULL
);
CREATE INDEX lb_backend_changes_backend_at ON lb_backend_changes (config_id, node_id, at);
