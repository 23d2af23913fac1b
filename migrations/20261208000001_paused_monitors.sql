-- The replica that probes asks, at every wake-up, which monitors are paused (a pause made
-- through another replica). Few are: this index answers without reading every monitor.
CREATE INDEX monitors_paused ON monitors (id) WHERE paused AND NOT retired;
