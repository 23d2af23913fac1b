-- The one event stream every collector writes and every reader (incidents, notifications, live
-- pages, post-mortem timelines) follows.
CREATE TABLE events (
    id      BIGSERIAL PRIMARY KEY,
    at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    kind    TEXT NOT NULL,
    subject TEXT NOT NULL,
    payload JSONB NOT NULL DEFAULT '{}'::jsonb
);

CREATE INDEX events_at ON events (at);
CREATE INDEX events_subject_at ON events (subject, at);
