-- Notification channels (synced from the configuration) and the transactional outbox: every
-- event that a channel wants gets its notification row in the same transaction that appends the
-- event, so a notification can be late but never lost.

CREATE TABLE notify_channels (
    id       SERIAL PRIMARY KEY,
    name     TEXT NOT NULL UNIQUE,
    kind     TEXT NOT NULL,          -- discord, slack, webhook
    url      TEXT NOT NULL,
    -- Event kinds this channel receives, as LIKE patterns ('monitor.%', 'source.stale').
    patterns TEXT[] NOT NULL,
    enabled  BOOLEAN NOT NULL DEFAULT true
);

CREATE TABLE notifications (
    id              BIGSERIAL PRIMARY KEY,
    channel_id      INTEGER NOT NULL REFERENCES notify_channels (id),
    event_id        BIGINT NOT NULL REFERENCES events (id),
    state           TEXT NOT NULL DEFAULT 'pending',   -- pending, delivered, failed
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    last_status     INTEGER,
    last_error      TEXT,
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    delivered_at    TIMESTAMPTZ,
    UNIQUE (channel_id, event_id)
);
CREATE INDEX notifications_pending ON notifications (channel_id, id) WHERE state = 'pending';
