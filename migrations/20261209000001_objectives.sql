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
