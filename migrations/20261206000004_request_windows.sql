-- Requests counted per key over a window, shared by every replica: subscription requests per
-- client address (an IPv6 /64), confirmations per target (its normalised spelling: case and
-- `+tag` do not make another inbox) and confirmations overall.
CREATE TABLE request_windows (
    key TEXT PRIMARY KEY,
    started_at TIMESTAMPTZ NOT NULL,
    n INT NOT NULL
);
CREATE INDEX request_windows_started ON request_windows (started_at);
