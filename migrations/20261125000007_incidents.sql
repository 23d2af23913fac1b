-- Incidents and scheduled maintenances (one table: maintenance rows have a schedule), the
-- components they affect, their timeline of updates, and the evidence the engine attached.

CREATE TABLE incidents (
    id              BIGSERIAL PRIMARY KEY,
    kind            TEXT NOT NULL DEFAULT 'incident',       -- incident | maintenance
    name            TEXT NOT NULL,
    status          TEXT NOT NULL,
    impact          TEXT NOT NULL DEFAULT 'none',
    automatic       BOOLEAN NOT NULL DEFAULT false,
    -- A person changed an automatic incident: the engine no longer moves or resolves it.
    taken_over      BOOLEAN NOT NULL DEFAULT false,
    started_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    monitoring_at   TIMESTAMPTZ,
    resolved_at     TIMESTAMPTZ,
    scheduled_for   TIMESTAMPTZ,
    scheduled_until TIMESTAMPTZ,
    created_by      TEXT NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at      TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX incidents_open ON incidents (kind, status) WHERE resolved_at IS NULL;
CREATE INDEX incidents_started ON incidents (started_at DESC);

CREATE TABLE incident_components (
    incident_id  BIGINT NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    component_id TEXT NOT NULL REFERENCES components (id),
    -- The component's state during the incident (Statuspage's component statuses).
    status       TEXT NOT NULL,
    PRIMARY KEY (incident_id, component_id)
);

CREATE TABLE incident_updates (
    id          BIGSERIAL PRIMARY KEY,
    incident_id BIGINT NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    status      TEXT NOT NULL,
    body        TEXT NOT NULL,
    -- Internal notes never leave the ops dashboard: not on public pages, feeds or JSON.
    internal    BOOLEAN NOT NULL DEFAULT false,
    author      TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX incident_updates_incident ON incident_updates (incident_id, created_at);

CREATE TABLE incident_evidence (
    incident_id BIGINT NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    event_id    BIGINT NOT NULL REFERENCES events (id),
    PRIMARY KEY (incident_id, event_id)
);

-- How far the incident engine has read the event stream.
CREATE TABLE engine_cursors (
    name          TEXT PRIMARY KEY,
    last_event_id BIGINT NOT NULL
);
