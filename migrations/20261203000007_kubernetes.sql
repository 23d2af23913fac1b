-- Kubernetes clusters ([[kubernetes]]): each node's newest conditions and its pods' requests
-- against allocatable (what /ops and GET /api/v1/kubernetes/nodes show). Condition transitions,
-- evictions and OOM kills are events; `k8s_seen` remembers which pod troubles were recorded, so
-- a re-list after a restart or a 410 Gone never records one twice.
CREATE TABLE k8s_nodes (
    cluster                   TEXT NOT NULL,
    node                      TEXT NOT NULL,
    conditions                JSONB NOT NULL DEFAULT '[]',
    cpu_allocatable_millis    BIGINT,
    memory_allocatable_bytes  BIGINT,
    cpu_requests_millis       BIGINT NOT NULL DEFAULT 0,
    memory_requests_bytes     BIGINT NOT NULL DEFAULT 0,
    pods                      INTEGER NOT NULL DEFAULT 0,
    updated_at                TIMESTAMPTZ NOT NULL DEFAULT now(),
    gone                      BOOLEAN NOT NULL DEFAULT false,
    PRIMARY KEY (cluster, node)
);

CREATE TABLE k8s_seen (
    cluster  TEXT NOT NULL,
    key      TEXT NOT NULL,
    at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (cluster, key)
);
CREATE INDEX k8s_seen_at ON k8s_seen (at);
