-- Review before publishing: whom the author asked, what they said on which section (threaded,
-- resolvable), and which revision each of them approved. An approval is of one revision, so a
-- later save asks for the changed text to be approved again. Nothing here changes a revision.
ALTER TABLE postmortems ADD COLUMN review_requested_at TIMESTAMPTZ;

CREATE TABLE postmortem_reviewers (
    postmortem_id BIGINT NOT NULL REFERENCES postmortems (id) ON DELETE CASCADE,
    -- Audit names (`user:bob`), like revision authors.
    reviewer TEXT NOT NULL,
    requested_by TEXT NOT NULL,
    requested_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (postmortem_id, reviewer)
);

CREATE TABLE postmortem_approvals (
    postmortem_id BIGINT NOT NULL,
    reviewer TEXT NOT NULL,
    revision INT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (postmortem_id, reviewer, revision),
    FOREIGN KEY (postmortem_id, reviewer) REFERENCES postmortem_reviewers (postmortem_id, reviewer)
        ON DELETE CASCADE
);

CREATE TABLE postmortem_comments (
    id BIGSERIAL PRIMARY KEY,
    postmortem_id BIGINT NOT NULL REFERENCES postmortems (id) ON DELETE CASCADE,
    -- A reply belongs to the thread its parent opened; threads are one level deep.
    parent_id BIGINT REFERENCES postmortem_comments (id) ON DELETE CASCADE,
    section TEXT NOT NULL,
    -- The revision the commenter was reading.
    revision INT NOT NULL,
    author TEXT NOT NULL,
    body TEXT NOT NULL CHECK (length(body) BETWEEN 1 AND 5000),
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    resolved_at TIMESTAMPTZ,
    resolved_by TEXT
);
CREATE INDEX postmortem_comments_pm ON postmortem_comments (postmortem_id, id);

-- Who has an editor open right now: each open editor says so every few seconds; rows older
-- than a minute mean nothing and are swept.
CREATE TABLE postmortem_presence (
    postmortem_id BIGINT NOT NULL REFERENCES postmortems (id) ON DELETE CASCADE,
    who TEXT NOT NULL,
    seen_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (postmortem_id, who)
);
