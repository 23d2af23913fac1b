-- Contributing factors of a post-mortem (a fixed set, checked by Vigil): the reliability figures
-- group post-mortems by them.
ALTER TABLE postmortems ADD COLUMN tags TEXT[] NOT NULL DEFAULT '{}';

-- The day an overdue follow-up was last announced: once a day until it is handled.
ALTER TABLE follow_ups ADD COLUMN reminded_on DATE;
