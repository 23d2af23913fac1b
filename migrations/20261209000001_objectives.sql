-- Objectives' burn-rate alerts: whether each rule of each objective fires now, and since when.
-- The objectives themselves are objects of the world (stored with the other settings); a rule
-- whose objective is gone is deleted with it by the evaluator.
CREATE TABLE objective_alerts (
    objective_id TEXT NOT NULL,
    rule         TEXT NOT NULL,
    firing       BOOLEAN NOT NULL,
    since        TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (objective_id, rule)
);

-- Objectives are settings of the world, beside sources, channels, alert rules and the page.
ALTER TABLE world_settings DROP CONSTRAINT world_settings_kind_check;
ALTER TABLE world_settings ADD CONSTRAINT world_settings_kind_check
    CHECK (kind IN ('source', 'channel', 'alert_rule', 'page', 'objective'));
