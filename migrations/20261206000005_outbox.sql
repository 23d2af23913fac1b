-- One outbox. The ops channels' notifications and the subscribers' deliveries are two lanes of one
-- queue: they share the queue's state (attempts, when to try next, the last answer) through this
-- parent table, so recording an attempt is one statement for both lanes (`store::outbox`), while
-- each lane's own table keeps what it carries (a channel and an event; a subscriber, a purpose).
-- The parent holds no rows of its own; `tableoid` says which lane a row is in.
CREATE TABLE outbox (
    id              BIGINT NOT NULL,
    state           TEXT NOT NULL,
    attempts        INTEGER NOT NULL,
    next_attempt_at TIMESTAMPTZ NOT NULL,
    last_status     INTEGER,
    last_error      TEXT,
    created_at      TIMESTAMPTZ NOT NULL,
    delivered_at    TIMESTAMPTZ
);
ALTER TABLE notifications INHERIT outbox;
ALTER TABLE subscriber_deliveries INHERIT outbox;
