-- Latency objectives count checks that answered within a threshold. Each rollup keeps, for each
-- bound of vigil_core::model::objective::LATENCY_BOUNDS_MS (25 ms ... 10 s), how many of its
-- checks that did not fail answered within it (cumulative, like Prometheus' `le` buckets), so
-- any window's count is exact. Rollups written before have none ('{}'): latency objectives
-- leave those buckets out rather than guess.
ALTER TABLE check_rollups ADD COLUMN latency_le INTEGER[] NOT NULL DEFAULT '{}';
