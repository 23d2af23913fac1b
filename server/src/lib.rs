//! The `vigil` server: configuration, database, HTTP and the background workers.

pub mod admin;
pub mod agent;
pub mod auth;
pub mod capped;
pub mod cli;
pub mod cluster;
pub mod config;
pub mod db;
pub mod error;
pub mod footprint;
pub mod http;
pub mod incidents;
pub mod limits;
pub mod live;
pub mod notify;
pub mod outbox;
pub mod pg_embedded;
pub mod probes;
pub mod redact;
pub mod resources;
pub mod sources;
pub mod startup;
pub mod subscribers;
pub mod telemetry;
pub mod wake;
pub mod workers;
