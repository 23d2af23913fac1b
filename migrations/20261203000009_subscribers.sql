-- People who follow the status page: by email, a Discord channel's webhook or their own webhook.
-- Their messages have their own outbox, so a fan-out to thousands never holds up the ops channels.

CREATE TABLE subscribers (
    id            BIGSERIAL PRIMARY KEY,
    kind          TEXT NOT NULL CHECK (kind IN ('email', 'discord', 'webhook')),
    -- The address or the URL. Never shown on the public side; a webhook's URL is its secret.
    target        TEXT NOT NULL,
    -- In the confirmation and unsubscribe links: whoever holds it manages this subscription.
    token         TEXT NOT NULL UNIQUE,
    -- Webhooks: the key of the HMAC-SHA256 signature on every request.
    secret        TEXT,
    -- Component ids; empty follows every component.
    components    TEXT[] NOT NULL DEFAULT '{}',
    incidents     BOOLEAN NOT NULL DEFAULT true,
    maintenances  BOOLEAN NOT NULL DEFAULT true,
    -- pending (not confirmed yet), active, deactivated (the receiver is gone).
    state         TEXT NOT NULL DEFAULT 'pending'
                  CHECK (state IN ('pending', 'active', 'deactivated')),
    state_reason  TEXT,
    created_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    confirmed_at  TIMESTAMPTZ,
    -- A request nobody confirms lapses (and is deleted) at this time.
    expires_at    TIMESTAMPTZ,
    -- The last confirmation sent: one address gets at most one per throttle window.
    confirm_sent_at TIMESTAMPTZ,
    -- `public` for the page's form, else who added it (an audit name).
    created_by    TEXT NOT NULL,
    UNIQUE (kind, target)
);
CREATE INDEX subscribers_active ON subscribers (id) WHERE state = 'active';

-- One message to one subscriber: the confirmation (no event) or an event's news. Unsubscribing
-- deletes the subscriber and what is still queued for it.
CREATE TABLE subscriber_deliveries (
    id              BIGSERIAL PRIMARY KEY,
    subscriber_id   BIGINT NOT NULL REFERENCES subscribers (id) ON DELETE CASCADE,
    purpose         TEXT NOT NULL CHECK (purpose IN ('confirm', 'event')),
    event_id        BIGINT REFERENCES events (id),
    state           TEXT NOT NULL DEFAULT 'pending',   -- pending, delivered, failed
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    last_status     INTEGER,
    last_error      TEXT,
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    delivered_at    TIMESTAMPTZ,
    UNIQUE (subscriber_id, event_id)
);
CREATE INDEX subscriber_deliveries_pending ON subscriber_deliveries (subscriber_id, id)
    WHERE state = 'pending';

-- Maintenances whose "starting soon" reminder has gone out (once each).
CREATE TABLE maintenance_reminders (
    incident_id BIGINT PRIMARY KEY REFERENCES incidents (id) ON DELETE CASCADE,
    sent_at     TIMESTAMPTZ NOT NULL DEFAULT now()
);
