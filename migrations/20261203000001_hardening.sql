-- Sign-in hardening: sessions older than the last password change end; browsers that signed in
-- before are recognised by a device cookie (only its SHA-256 is kept), so a stranger's failures
-- cannot lock their owner out; public pages name people by a display name, never a login name.
ALTER TABLE users ADD COLUMN password_changed_at TIMESTAMPTZ NOT NULL DEFAULT now();
ALTER TABLE users ADD COLUMN display_name TEXT CHECK (display_name IS NULL OR length(display_name) BETWEEN 1 AND 100);

CREATE TABLE known_devices (
    token_hash  TEXT PRIMARY KEY,
    user_id     BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    last_used_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX known_devices_user ON known_devices (user_id);

-- Keys are now "acct:NAME|ADDR", "ip:ADDR" and "device:HASH"; the old per-account keys let a
-- stranger lock an account out from anywhere.
DELETE FROM login_failures WHERE key LIKE 'user:%';

-- Post-mortem snapshots are private unless their author shows them on the public post-mortem;
-- shown publicly, addresses are left out unless the author keeps them.
ALTER TABLE postmortem_snapshots ADD COLUMN public BOOLEAN NOT NULL DEFAULT false;
ALTER TABLE postmortem_snapshots ADD COLUMN keep_addresses BOOLEAN NOT NULL DEFAULT false;
