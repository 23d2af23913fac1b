-- Each NodeBalancer port's configuration as read at each poll where something happened: the
-- first reading, a change (with the fields that changed), or a re-apply (the NodeBalancer's
-- `updated` moved with the very same settings).
CREATE TABLE lb_config_history (
    id                 BIGSERIAL PRIMARY KEY,
    nodebalancer_id    BIGINT NOT NULL,
    nodebalancer_label TEXT NOT NULL,
    config_id          BIGINT NOT NULL,
    port               INTEGER NOT NULL,
    at                 TIMESTAMPTZ NOT NULL,
    nodebalancer_updated TEXT,
    settings           JSONB NOT NULL,
    change             TEXT NOT NULL CHECK (change IN ('initial', 'changed', 'reapplied')),
    changes            JSONB NOT NULL DEFAULT '[]'
);
CREATE INDEX lb_config_history_config ON lb_config_history (config_id, id DESC);
CREATE INDEX lb_config_history_at ON lb_config_history (at);
