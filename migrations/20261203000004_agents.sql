-- Probe agents: monitors checked from several regions. Each result says where it was observed;
-- a monitor's state carries what each region sees; agents' results wait in an inbox until the
-- replica running the probes folds them into the states (it alone decides state changes).
ALTER TABLE check_results ADD COLUMN region TEXT NOT NULL DEFAULT 'local';

-- {"local": "up", "eu-west": "down", ...}: the current verdict of each region with one.
ALTER TABLE monitor_state ADD COLUMN regions JSONB;

CREATE TABLE agent_inbox (
    id          BIGSERIAL PRIMARY KEY,
    monitor_id  BIGINT NOT NULL REFERENCES monitors (id) ON DELETE CASCADE,
    region      TEXT NOT NULL,
    result      JSONB NOT NULL,
    received_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
