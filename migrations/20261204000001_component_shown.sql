-- What each component last showed the public (Statuspage's names), so a change is announced once
-- as a `component.status` event (subscribers' `component_update` webhooks) across restarts and
-- replicas. NULL: nothing announced yet, which counts as `operational`, Statuspage's own start.
ALTER TABLE components ADD COLUMN shown_status TEXT;
ALTER TABLE components ADD COLUMN shown_since TIMESTAMPTZ;
