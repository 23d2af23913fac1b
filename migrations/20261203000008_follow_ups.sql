-- Follow-up tasks of post-mortems as items: who owns each, by when, whether it is done, and
-- where it is tracked. `/ops/follow-ups` lists them across incidents.
CREATE TABLE follow_ups (
    id            BIGSERIAL PRIMARY KEY,
    postmortem_id BIGINT NOT NULL REFERENCES postmortems (id) ON DELETE CASCADE,
    title         TEXT NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
    owner_id      BIGINT REFERENCES users (id) ON DELETE SET NULL,
    due_on        DATE,
    status        TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'done', 'wont_do')),
    link          TEXT,
    created_by    TEXT NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (postmortem_id, title)
);
CREATE INDEX follow_ups_open ON follow_ups (due_on) WHERE status = 'open';
