-- Sign-in sessions. The same table tower-sessions' sqlx store created at start-up (so sessions of
-- a running deployment survive the upgrade); declared here so that the queries on it are checked
-- at build time like every other.
CREATE SCHEMA IF NOT EXISTS tower_sessions;
CREATE TABLE IF NOT EXISTS tower_sessions.session (
    id text PRIMARY KEY NOT NULL,
    data bytea NOT NULL,
    expiry_date timestamptz NOT NULL
);
