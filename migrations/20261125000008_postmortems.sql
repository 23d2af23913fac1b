-- Post-mortems: one per incident, written in the browser. Every save is a numbered revision;
-- a save based on an older revision than the current one is kept as a "conflict" revision
-- instead of overwriting anybody's work.

CREATE TABLE postmortems (
    id           BIGSERIAL PRIMARY KEY,
    incident_id  BIGINT NOT NULL UNIQUE REFERENCES incidents (id) ON DELETE CASCADE,
    title        TEXT NOT NULL,
    body         TEXT NOT NULL,                 -- Markdown, the current revision's
    revision     INT NOT NULL,                  -- the number of the current revision
    published_at TIMESTAMPTZ,                   -- NULL while a draft
    created_by   TEXT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_by   TEXT NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE postmortem_revisions (
    postmortem_id BIGINT NOT NULL REFERENCES postmortems (id) ON DELETE CASCADE,
    number        INT NOT NULL,
    -- drafted (by Vigil), saved, conflict (kept, not current), restored
    kind          TEXT NOT NULL,
    -- The revision the author started from.
    based_on      INT,
    title         TEXT NOT NULL,
    body          TEXT NOT NULL,
    author        TEXT NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (postmortem_id, number)
);

-- Graphs as Vigil recorded them when the snapshot was taken: they outlive raw-sample retention
-- and read the same when Grafana (or Vigil's own history) is gone.
CREATE TABLE postmortem_snapshots (
    id            BIGSERIAL PRIMARY KEY,
    postmortem_id BIGINT NOT NULL REFERENCES postmortems (id) ON DELETE CASCADE,
    caption       TEXT NOT NULL,
    window_from   TIMESTAMPTZ NOT NULL,
    window_to     TIMESTAMPTZ NOT NULL,
    stack         JSONB NOT NULL,
    created_by    TEXT NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX postmortem_snapshots_pm ON postmortem_snapshots (postmortem_id, id);
