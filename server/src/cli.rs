//! The command line: `vigil --help` is the operator's manual in brief.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// Vigil: a self-hosted status page and incident dashboard.
///
/// Vigil probes your services, watches your load balancer's backends and your nodes' resources,
/// keeps the history in PostgreSQL, and serves a public status page and an ops dashboard.
///
/// Without DATABASE_URL (or database.url in the config) Vigil runs a private PostgreSQL cluster
/// from the system's PostgreSQL programs under database.data_dir (default ./.vigil/pg). Every
/// command reaches the same database, whether or not `vigil serve` is running.
#[derive(Debug, Parser)]
#[command(name = "vigil", version, propagate_version = true)]
pub struct Cli {
    /// Configuration file (TOML). Without it, the built-in defaults apply. Environment variables
    /// VIGIL_SECTION__KEY override single keys, e.g. VIGIL_SERVER__ADDR=0.0.0.0:8080.
    #[arg(long, short, env = "VIGIL_CONFIG", global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Migrate the database, then serve the status page, the ops dashboard and the APIs until
    /// SIGINT or SIGTERM (in-flight requests finish; the embedded database is stopped cleanly).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Check the configuration file and print the effective settings; touches nothing.
    CheckConfig,
    /// Manage the embedded PostgreSQL cluster (ignored when DATABASE_URL is set).
    Db {
        #[command(subcommand)]
        action: DbAction,
    },
}

#[derive(Debug, Subcommand)]
pub enum DbAction {
    /// Create and start the cluster if needed, then print its connection URL.
    Start,
    /// Stop the cluster (fast shutdown: connections are closed, data is safe).
    Stop,
    /// Print whether the cluster runs, and its URL.
    Status,
}
