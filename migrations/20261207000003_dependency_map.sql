-- What the chain of causes matches on: each NodeBalancer's own addresses (a monitor whose host
-- is one of them goes through it) and each Kubernetes node's InternalIP (a backend at that
-- address runs on that node).
CREATE TABLE lb_nodebalancers (
    id        BIGINT PRIMARY KEY,
    label     TEXT NOT NULL,
    hostname  TEXT,
    addresses TEXT[] NOT NULL DEFAULT '{}',
    seen_at   TIMESTAMPTZ NOT NULL DEFAULT now()
);

ALTER TABLE k8s_nodes ADD COLUMN internal_ip TEXT;

