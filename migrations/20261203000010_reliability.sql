-- Contributing factors of a post-mortem (a fixed set, checked by Vigil): the reliability figures
-- group post-mortems by them.
ALTER TABLE postmortems ADD COLUMN tags TEXT[] NOT NULL DEFAULT '{}';
