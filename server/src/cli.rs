//! The command line: `vigil --help` is the operator's manual in brief.

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use vigil_core::model::auth::{Role, Scope};

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
    /// Manage the people who can sign in to the ops dashboard.
    User {
        #[command(subcommand)]
        action: UserAction,
    },
    /// Run as a probe agent in another region: fetch the monitors that list `--region` from a
    /// Vigil server, check them with the same probes, and push the results in batches. Results
    /// are buffered while the server cannot be reached (the oldest dropped past `--buffer`, and
    /// the loss reported). Needs no database. The token needs scope `agent`
    /// bound to the same region
    /// (`vigil token create --name NAME --scope agent --region REGION`).
    Agent(AgentArgs),
    /// Manage API tokens for machines (probe agents, CI, scripts).
    Token {
        #[command(subcommand)]
        action: TokenAction,
    },
    /// The world Vigil watches (components, monitors, data sources, channels, alert rules and
    /// the page's settings), kept in the database as numbered revisions and changed live on
    /// every replica: export it, plan and apply a file (GitOps), read the history, restore a
    /// revision.
    ///
    /// Three ways to run Vigil: from the browser only (no [[component]]/[[monitor]] in the
    /// configuration file; change things at /ops/settings or through /api/v1), from git only
    /// (declare them in the file — `[world] managed_by = "file"`, the default for a file that
    /// declares any — and Vigil applies the file at start, on SIGHUP and when it changes), or
    /// both (`managed_by = "database"`, and `vigil world apply` from CI).
    World {
        #[command(subcommand)]
        action: WorldAction,
    },
    /// Bring monitors over from the tool you are leaving. Prints what would be created, field by
    /// field, and everything that cannot be brought over with why; `--apply` applies it as one
    /// revision. What Vigil has already (a monitor of the same name) is left alone.
    Import {
        #[command(subcommand)]
        source: ImportSource,
    },
}

#[derive(Debug, Subcommand)]
pub enum ImportSource {
    /// A Gatus configuration (YAML): each endpoint becomes a component (in its group) and a
    /// monitor; conditions on status, response time, certificate expiry and body patterns carry
    /// over; alerting is listed, not imported.
    Gatus {
        file: PathBuf,
        #[arg(long)]
        apply: bool,
    },
    /// An Uptime Kuma 1.x backup (Settings → Backup → Export, JSON): HTTP, keyword, TCP port,
    /// DNS and push monitors, their intervals and timeouts. Push monitors become heartbeat
    /// monitors with new URLs, printed once.
    UptimeKuma {
        file: PathBuf,
        #[arg(long)]
        apply: bool,
    },
    /// An Atlassian Statuspage page, by its address (https://status.example.com): its components
    /// with their groups, and its resolved incidents with every update and their times, so the
    /// public history stays. Incidents already imported are not imported again; open ones are
    /// listed.
    Statuspage {
        url: String,
        #[arg(long)]
        apply: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum WorldAction {
    /// Print the live world as a file `vigil world apply` reads back. Secrets are printed as
    /// "(secret)"; applying that keeps the secret the object has.
    Export {
        /// toml (default), yaml or json.
        #[arg(long, default_value = "toml")]
        format: WorldFormat,
    },
    /// Print what applying FILE would change, field by field; change nothing. Exit code 0: no
    /// change, 2: changes, 1: FILE is invalid (every problem is printed).
    Plan {
        /// A world file (TOML with [[component]] and [[monitor]], a whole vigil.toml, or the
        /// YAML or JSON of `vigil world export --format yaml|json`, by extension).
        file: PathBuf,
        /// Remove what the live world has and FILE does not declare.
        #[arg(long)]
        prune: bool,
    },
    /// Apply FILE as one revision, in one transaction (nothing when it changes nothing).
    Apply {
        file: PathBuf,
        /// Remove what the live world has and FILE does not declare.
        #[arg(long)]
        prune: bool,
        /// Refuse unless the live world is still at revision N (the one you planned against).
        #[arg(long, value_name = "N")]
        expect_revision: Option<i64>,
        /// Said beside the revision in the history.
        #[arg(long, short)]
        message: Option<String>,
    },
    /// List the newest revisions: number, when, who, what changed.
    History {
        #[arg(long, default_value_t = 20)]
        limit: i64,
    },
    /// Make the world what it was after revision N, as a new revision.
    Restore { revision: i64 },
}

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum WorldFormat {
    Toml,
    Yaml,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum UserAction {
    /// Create a user. The password is read from standard input when that is not a terminal (the
    /// first line), otherwise asked for twice. At least 10 characters.
    ///
    /// Roles: viewer (reads the ops dashboard), editor (also manages incidents and
    /// post-mortems), admin (also users, tokens, settings and the audit log).
    Add {
        name: String,
        #[arg(long, default_value = "viewer")]
        role: Role,
    },
    /// List users with their roles and whether they are disabled.
    List,
    /// Change a user's role.
    SetRole { name: String, role: Role },
    /// Stop a user from signing in; their open sessions end at their next request.
    Disable { name: String },
    /// Let a disabled user sign in again.
    Enable { name: String },
    /// Set a new password (read as for `add`). The user's open sessions end at their next request.
    Passwd { name: String },
    /// Set the name public pages show for this person's incident updates (without one they read
    /// "Vigil"; the login name is never shown publicly). An empty name removes it.
    SetDisplayName { name: String, display_name: String },
}

#[derive(Debug, Subcommand)]
pub enum TokenAction {
    /// Create a token and print it, alone, on standard output. It is shown only this once.
    ///
    /// Scopes: read, incidents:write, postmortems:write, config:write, agent, admin (admin
    /// implies all).
    Create {
        #[arg(long)]
        name: String,
        #[arg(long = "scope", required = true, value_name = "SCOPE")]
        scopes: Vec<Scope>,
        /// The one region an `agent` token speaks for (required with `--scope agent`): the
        /// agent endpoints refuse it for any other region.
        #[arg(long, value_name = "REGION")]
        region: Option<String>,
    },
    /// List tokens (never the secrets): id, name, scopes, last use, revoked or not.
    List,
    /// Revoke a token by id; requests using it are refused from then on.
    Revoke { id: i64 },
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

#[derive(Debug, Clone, clap::Args)]
pub struct AgentArgs {
    /// The Vigil server's address, e.g. https://status.example.org
    #[arg(long, env = "VIGIL_AGENT_SERVER")]
    pub server: String,
    /// An API token with scope `agent`.
    #[arg(long, env = "VIGIL_AGENT_TOKEN", hide_env_values = true)]
    pub token: String,
    /// This agent's region, as monitors name it in `regions` (e.g. eu-west).
    #[arg(long, env = "VIGIL_AGENT_REGION")]
    pub region: String,
    /// Results kept while the server cannot be reached; past it the oldest are dropped.
    #[arg(long, default_value_t = 100_000)]
    pub buffer: usize,
    /// How often buffered results are pushed, in milliseconds.
    #[arg(long, default_value_t = 1_000)]
    pub push_ms: u64,
    /// How often the list of monitors is fetched again, in seconds.
    #[arg(long, default_value_t = 60)]
    pub refresh_secs: u64,
}
