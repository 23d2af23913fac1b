-- Since when each component of an incident is in its state, and the state the incident's public
-- updates last said it was in: the engine announces components that join or leave an open
-- automatic incident ("Also affected now: Grafana") in one update, shortly after the first.
ALTER TABLE incident_components
    ADD COLUMN status_since TIMESTAMPTZ NOT NULL DEFAULT now(),
    ADD COLUMN announced TEXT;
-- What was there before this version was said by the updates written then.
UPDATE incident_components SET announced = status;
