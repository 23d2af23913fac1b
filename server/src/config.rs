//! Vigil's configuration: one TOML file plus environment overrides, loaded once into one typed
//! struct and validated before anything starts.

use std::{
    collections::BTreeMap,
    net::SocketAddr,
    path::{Path, PathBuf},
};

use serde::Deserialize;
use vigil_core::model::monitor::MonitorSpec;

use problem::Problem;

pub mod github;
pub mod kubernetes;
pub mod monitors;
pub mod notify;
pub mod problem;
pub mod resources;
pub mod subscribers;
pub mod upstream;

/// Whether the links Vigil writes (its public URL, or the address it listens on) name this
/// machine only.
fn links_are_loopback(public_url: &str, addr: SocketAddr) -> bool {
    let url = public_url_of(public_url, addr);
    let host = reqwest::Url::parse(&url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_string))
        .unwrap_or_default();
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Everything Vigil can be told. Unknown keys are errors, so a typo never silently does nothing.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub server: ServerConfig,
    pub database: DatabaseConfig,
    pub auth: AuthConfig,
    pub status_page: StatusPageConfig,
    pub probes: monitors::ProbesConfig,
    pub linode: LinodeConfig,
    pub resources: resources::ResourcesConfig,
    pub incidents: IncidentsConfig,
    pub cluster: ClusterConfig,
    pub smtp: subscribers::SmtpConfig,
    pub subscribers: subscribers::SubscribersConfig,
    pub github: github::GithubConfig,
    pub postmortems: PostmortemsConfig,
    #[serde(rename = "prometheus")]
    pub prometheus: Vec<resources::PrometheusConfig>,
    #[serde(rename = "node_exporter")]
    pub node_exporters: Vec<resources::NodeExporterConfig>,
    #[serde(rename = "notify")]
    pub notify: Vec<notify::NotifyConfig>,
    #[serde(rename = "upstream")]
    pub upstreams: Vec<upstream::UpstreamConfig>,
    #[serde(rename = "kubernetes")]
    pub kubernetes: Vec<kubernetes::KubernetesConfig>,
    #[serde(rename = "component")]
    pub components: Vec<monitors::ComponentConfig>,
    #[serde(rename = "monitor")]
    pub monitors: Vec<monitors::MonitorConfig>,
    /// Objectives and their error budgets (`[[objective]]`).
    #[serde(rename = "objective")]
    pub objectives: Vec<vigil_core::model::objective::ObjectiveSpec>,
    /// How often objectives are judged (`[slo]`).
    pub slo: SloConfig,
    pub world: WorldConfig,
    /// The file this was read from (`None`: the built-in defaults). Filled in by `load`.
    #[serde(skip)]
    pub path: Option<PathBuf>,
    /// The monitors, validated: filled in by `load`, not read from the file.
    #[serde(skip)]
    pub monitor_specs: Vec<MonitorSpec>,
    /// Whether the file (or the environment) sets `[status_page]`: then it declares the page's
    /// settings (`world::file::declared`); else the page's settings are the database's.
    #[serde(skip)]
    pub declares_page: bool,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// Address the HTTP server listens on.
    pub addr: SocketAddr,
    /// Folder holding the compiled site (`pkg/vigil.js`, `pkg/vigil_bg.wasm`, `pkg/vigil.css`),
    /// as written by cargo-leptos.
    pub site_root: PathBuf,
    /// How long in-flight requests may take to finish after a shutdown signal.
    pub shutdown_grace_secs: u64,
    /// The address people reach Vigil at, for links in mail, JSON and feeds. Unset: `http://`
    /// and the address Vigil listens on.
    pub public_url: String,
    /// Environment variable holding a bearer token `/metrics` then requires; unset, `/metrics` is
    /// open (keep it unreachable from outside some other way).
    pub metrics_token_env: Option<String>,
    /// Origins allowed to embed the public pages in a frame (`https://example.org`); none by
    /// default. `/ops` and the sign-in page can never be framed.
    pub frame_ancestors: Vec<String>,
    /// Live streams (`/events/live`) one client address (an IPv6 /64) may hold open at once.
    pub live_streams_per_client: usize,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseConfig {
    /// A PostgreSQL URL. When absent, Vigil runs its own private cluster under `data_dir`.
    pub url: Option<String>,
    /// Where the embedded cluster keeps its files.
    pub data_dir: PathBuf,
    /// The unprivileged account that runs the embedded cluster when Vigil runs as root
    /// (PostgreSQL refuses to run as root).
    pub run_as: String,
    pub max_connections: u32,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthConfig {
    /// Mark the session cookie `Secure`. Unset: on exactly when `server.public_url` is https.
    pub secure_cookies: Option<bool>,
    /// Reverse proxies (addresses or CIDR ranges) whose `X-Forwarded-For` is believed; from
    /// anyone else the header is ignored and the peer address is the client's.
    /// Parsed once, when the configuration is read (an entry that is no address or range is
    /// refused there, naming it).
    #[serde(deserialize_with = "proxies")]
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// A session ends after this long without a request.
    pub session_idle_minutes: u64,
    /// A session ends this long after signing in, however active.
    pub session_absolute_hours: u64,
    /// Sign-in attempts one client address (an IPv6 /64) may make per minute, counted before the
    /// database is asked anything; the per-account throttle comes after.
    pub login_attempts_per_minute: u32,
}

impl Default for AuthConfig {
    fn default() -> Self {
        AuthConfig {
            secure_cookies: None,
            trusted_proxies: Vec::new(),
            session_idle_minutes: 12 * 60,
            session_absolute_hours: 7 * 24,
            login_attempts_per_minute: 30,
        }
    }
}

impl AuthConfig {
    /// Whether cookies carry `Secure` (resolved against the public URL when the config is loaded).
    pub fn secure(&self) -> bool {
        self.secure_cookies.unwrap_or(false)
    }

    pub fn proxies(&self) -> &[ipnet::IpNet] {
        &self.trusted_proxies
    }
}

/// Parses `10.0.0.0/8` or a bare `10.0.0.1`; the error names the bad entry.
pub fn parse_proxy(entry: &str) -> Result<ipnet::IpNet, String> {
    let entry = entry.trim();
    entry
        .parse::<ipnet::IpNet>()
        .or_else(|_| entry.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
        .map_err(|_| format!("`{entry}` is neither an IP address nor a CIDR range like 10.0.0.0/8"))
}

/// One entry, parsed where it is read, so an error names its place (`auth.trusted_proxies[1]`).
struct Proxy(ipnet::IpNet);

impl<'de> Deserialize<'de> for Proxy {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let entry = String::deserialize(d)?;
        parse_proxy(&entry)
            .map(Proxy)
            .map_err(serde::de::Error::custom)
    }
}

fn proxies<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<ipnet::IpNet>, D::Error> {
    Ok(Vec::<Proxy>::deserialize(d)?
        .into_iter()
        .map(|p| p.0)
        .collect())
}

/// Polling Linode NodeBalancers. The token comes from the environment or a file, never the config.
#[derive(Clone, Debug, PartialEq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct LinodeConfig {
    pub enabled: bool,
    pub api_url: String,
    /// Environment variable holding the API token (scope nodebalancers:read_only is enough).
    pub token_env: String,
    /// Or a file holding it (first line).
    pub token_file: Option<PathBuf>,
    pub poll_secs: u64,
    /// NodeBalancer ids to watch; all the token can see when empty.
    pub nodebalancers: Vec<u64>,
    /// A backend changing status this many times within `flap_window_secs` is flapping.
    pub flap_changes: usize,
    pub flap_window_secs: u64,
    pub timeout_ms: u64,
    /// Connection counts from `/stats` (which Linode rate-limits harder) are fetched this often.
    pub stats_secs: u64,
    /// No successful poll for this long makes the Linode API a stale source.
    pub stale_after_secs: Option<u64>,
    /// Which node a backend runs on, by its address's IP or its label, where Vigil cannot tell
    /// by itself (a Kubernetes node's InternalIP, or a backend labelled with the node's name):
    /// `backend_nodes = { "192.168.200.12" = "lke-node-b" }`.
    pub backend_nodes: BTreeMap<String, String>,
}

impl Default for LinodeConfig {
    fn default() -> Self {
        LinodeConfig {
            enabled: false,
            api_url: "https://api.linode.com/v4".into(),
            token_env: "LINODE_TOKEN".into(),
            token_file: None,
            poll_secs: 15,
            nodebalancers: Vec::new(),
            flap_changes: 4,
            flap_window_secs: 600,
            timeout_ms: 10_000,
            stats_secs: 300,
            stale_after_secs: None,
            backend_nodes: BTreeMap::new(),
        }
    }
}

impl LinodeConfig {
    /// The token, from the file when one is named, else from the environment variable.
    pub fn token(&self) -> Result<String, String> {
        if let Some(path) = &self.token_file {
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("cannot read linode.token_file {}: {e}", path.display()))?;
            let token = text.lines().next().unwrap_or_default().trim().to_string();
            if token.is_empty() {
                return Err(format!("linode.token_file {} is empty", path.display()));
            }
            return Ok(token);
        }
        std::env::var(&self.token_env)
            .ok()
            .filter(|t| !t.trim().is_empty())
            .ok_or_else(|| {
                format!(
                    "linode.enabled is true but ${} is not set (or set linode.token_file)",
                    self.token_env
                )
            })
    }
}

/// Several `vigil serve` processes on one database.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ClusterConfig {
    /// How long a replica's hold on a piece of work (the probes, a poller, the incident engine,
    /// the outbox) lasts without renewal. The holder renews every third of it; when a replica
    /// dies, another takes its work over within this long (plus a third). Keep it under the
    /// shortest monitor interval.
    pub lease_secs: u64,
    /// How this replica is named on `/ops` (default: the host name and a random suffix).
    pub replica_name: Option<String>,
}

impl Default for ClusterConfig {
    fn default() -> Self {
        ClusterConfig {
            lease_secs: 15,
            replica_name: None,
        }
    }
}

/// How objectives are judged.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SloConfig {
    /// Every objective's burn rates are judged this often. The shortest default alert window
    /// is five minutes: a minute judges it five times.
    pub evaluate_every_secs: u64,
}

impl Default for SloConfig {
    fn default() -> Self {
        SloConfig {
            evaluate_every_secs: 60,
        }
    }
}

/// Automatic incidents.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IncidentsConfig {
    /// Open incidents when monitors go down.
    pub automatic: bool,
    /// Failures starting within this long of the open incident's latest one join it.
    pub correlation_window_secs: u64,
    /// Resolve an automatic incident after this long without failures.
    pub quiet_period_secs: u64,
    /// The first public update of an automatic incident. `{components}` becomes the affected
    /// components' names ("Website and Grafana") and `{is}` "is" or "are". Public text: it never
    /// names monitors, addresses or errors (those are the incident's evidence, on `/ops`).
    pub opened_text: String,
    /// Components that join or leave an open automatic incident are announced in one public
    /// update ("Also affected now: Grafana and Bitwarden") this long after the first of them.
    pub announce_after_secs: u64,
    /// How far a cause's evidence may trail its effect's and still count as before it, in the
    /// chain of causes: about the slowest source's polling interval.
    pub cause_lag_secs: u64,
}

impl Default for IncidentsConfig {
    fn default() -> Self {
        IncidentsConfig {
            automatic: true,
            correlation_window_secs: 600,
            quiet_period_secs: 600,
            opened_text: vigil_core::model::incident::DEFAULT_OPENED_TEXT.into(),
            announce_after_secs: 30,
            cause_lag_secs: 30,
        }
    }
}

impl IncidentsConfig {
    pub fn rules(&self) -> vigil_core::model::incident::AutoRules {
        vigil_core::model::incident::AutoRules {
            correlation_window: chrono::Duration::seconds(self.correlation_window_secs as i64),
            quiet_period: chrono::Duration::seconds(self.quiet_period_secs as i64),
        }
    }
}

/// Post-mortems: the review before publishing.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PostmortemsConfig {
    /// Approvals of the current revision that publishing needs; 0 publishes without review.
    pub approvals: u32,
}

impl Default for PostmortemsConfig {
    fn default() -> Self {
        PostmortemsConfig {
            approvals: vigil_core::model::review::ReviewRules::default().approvals,
        }
    }
}

impl PostmortemsConfig {
    pub fn rules(&self) -> vigil_core::model::review::ReviewRules {
        vigil_core::model::review::ReviewRules {
            approvals: self.approvals,
        }
    }
}

/// A CDN in front keeps a public answer five seconds, answers from it for half a minute while it
/// asks again, and for a day while every replica is down.
pub const DEFAULT_CACHE_CONTROL: &str =
    "public, max-age=5, stale-while-revalidate=30, stale-if-error=86400";

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StatusPageConfig {
    pub title: String,
    /// `Cache-Control` of public answers rendered for nobody: what a CDN in front may keep, and
    /// for how long while Vigil cannot answer.
    pub cache_control: String,
    /// A public page is rendered again after this many seconds even when nothing changed (its
    /// latency chart's time axis moves on); a change renders it at once.
    pub refresh_secs: u64,
}

impl StatusPageConfig {
    pub fn refresh(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.refresh_secs)
    }
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            addr: SocketAddr::from(([127, 0, 0, 1], 3000)),
            site_root: PathBuf::from("target/site"),
            shutdown_grace_secs: 10,
            // Unset: the address Vigil listens on (see `public_url_of`).
            public_url: String::new(),
            metrics_token_env: None,
            frame_ancestors: Vec::new(),
            live_streams_per_client: 20,
        }
    }
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        DatabaseConfig {
            url: None,
            data_dir: PathBuf::from(".vigil/pg"),
            run_as: "postgres".to_string(),
            max_connections: 10,
        }
    }
}

impl Default for StatusPageConfig {
    fn default() -> Self {
        StatusPageConfig {
            title: "Vigil".to_string(),
            cache_control: DEFAULT_CACHE_CONTROL.to_string(),
            refresh_secs: vigil_core::store::status::MAX_AGE.as_secs(),
        }
    }
}

/// Who decides what Vigil watches.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ManagedBy {
    /// The `[[component]]`s and `[[monitor]]`s in this file: they are applied at every start,
    /// on SIGHUP and when the file changes, and are read-only in the browser and the API
    /// (what was created there is left alone). Keeping the world in git works this way.
    File,
    /// The database: the browser, the API and `vigil world apply` change it. What this file
    /// declares is applied once, as the first revision, when the database has none.
    Database,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WorldConfig {
    /// Default: `file` when this file declares any component or monitor, `database` otherwise.
    pub managed_by: Option<ManagedBy>,
    /// The key that seals monitors' secrets in the database (32 bytes, base64). Made on first
    /// start when missing; every replica needs the same one (or `$VIGIL_SECRET_KEY`).
    /// Default: `.vigil/world.key`.
    pub secret_key_file: Option<PathBuf>,
}

impl Config {
    /// Who decides what Vigil watches (see [`ManagedBy`]).
    pub fn world_managed_by(&self) -> ManagedBy {
        self.world
            .managed_by
            .unwrap_or(if self.components.is_empty() && self.monitors.is_empty() {
                ManagedBy::Database
            } else {
                ManagedBy::File
            })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}:{line}:{column}: {problem}\n  fix the value{key_hint} and start again")]
    Parse {
        path: PathBuf,
        line: usize,
        column: usize,
        /// Dotted path of the offending key, when the problem is a value rather than the syntax.
        key: Option<String>,
        key_hint: String,
        problem: String,
    },
    #[error("environment variable {var}: {problem}")]
    Env { var: String, problem: String },
    #[error("{count} problems; fix them all and start again:\n{list}")]
    Several { count: usize, list: String },
    #[error("{origin}: key `{key}`: {problem}")]
    Invalid {
        origin: String,
        key: String,
        problem: String,
    },
}

impl ConfigError {
    /// Several problems found at once: each on its own line, with where it is.
    pub fn problems(origin: &str, problems: Vec<Problem>) -> ConfigError {
        if problems.len() == 1 {
            let p = problems.into_iter().next().expect("one problem");
            return ConfigError::invalid(origin, p);
        }
        let list = problems
            .iter()
            .map(|p| match p.line {
                Some(line) => format!("  {origin}:{line}: key `{}`: {}", p.key, p.message),
                None => format!("  {origin}: key `{}`: {}", p.key, p.message),
            })
            .collect::<Vec<_>>()
            .join("\n");
        ConfigError::Several {
            count: problems.len(),
            list,
        }
    }

    /// A problem found in the settings read from `origin` (a file, or the built-in defaults).
    fn invalid(origin: &str, p: Problem) -> ConfigError {
        ConfigError::Invalid {
            origin: match p.line {
                Some(line) => format!("{origin}:{line}"),
                None => origin.to_string(),
            },
            key: p.key,
            problem: p.message,
        }
    }
}

/// Prefix of environment overrides: `VIGIL_SERVER__ADDR=0.0.0.0:8080` sets `server.addr`.
pub const ENV_PREFIX: &str = "VIGIL_";

impl Config {
    /// Loads `path` (or the defaults when `None`), applies environment overrides, validates.
    pub fn load(path: Option<&Path>) -> Result<Config, ConfigError> {
        let env: Vec<(String, String)> = std::env::vars().collect();
        Self::load_with_env(path, &env)
    }

    /// As [`Config::load`], with the environment passed in so tests need not mutate the process.
    pub fn load_with_env(
        path: Option<&Path>,
        env: &[(String, String)],
    ) -> Result<Config, ConfigError> {
        let (text, origin) = match path {
            Some(p) => (
                std::fs::read_to_string(p).map_err(|source| ConfigError::Read {
                    path: p.to_path_buf(),
                    source,
                })?,
                p.display().to_string(),
            ),
            None => (String::new(), "built-in defaults".to_string()),
        };
        // First pass on the text itself, so errors point at a line of the file.
        let _: Config = parse_located(&text, path.unwrap_or(Path::new("<defaults>")))?;
        let mut table: toml::Table =
            toml::from_str(&text).expect("text already parsed once as a Config");
        apply_env(&mut table, env)?;
        let declares_page = table.contains_key("status_page");
        let mut config: Config = serde_path_to_error::deserialize(toml::Value::Table(table))
            .map_err(|e| {
                let key = e.path().to_string();
                ConfigError::Env {
                    var: env_var_for(&key),
                    problem: e.into_inner().message().to_string(),
                }
            })?;
        config
            .validate()
            .map_err(|p| ConfigError::invalid(&origin, p))?;
        // Cookies over https are `Secure` unless the operator says otherwise.
        config
            .auth
            .secure_cookies
            .get_or_insert(config.server.public_url.starts_with("https://"));
        config.monitor_specs = monitors::validate(
            &monitors::name_lines(&text),
            &config.components,
            &config.monitors,
            &config.probes,
        )
        .map_err(|problems| ConfigError::problems(&origin, problems))?;
        config.path = path.map(Path::to_path_buf);
        config.declares_page = declares_page;
        Ok(config)
    }

    /// What is valid but probably not meant: said by `vigil check-config`.
    pub fn warnings(&self) -> Vec<String> {
        let mut out = Vec::new();
        if links_are_loopback(&self.server.public_url, self.server.addr) && !self.demo() {
            out.push(format!(
                "server.public_url: links in mail, feeds and JSON will point at {} (a loopback address), which only this machine can open; set public_url to the address people reach Vigil at",
                public_url_of(&self.server.public_url, self.server.addr)
            ));
        }
        out
    }

    /// The demo's configuration (it polls the simulator), where loopback links are expected.
    fn demo(&self) -> bool {
        self.status_page.title.contains("(demo)")
    }

    /// What pages and the API need to know about resource collection.
    /// The settings as `vigil check-config` prints them: every secret replaced (database
    /// password, webhook URLs, credentials and queries in URLs, request headers, heartbeat
    /// secrets). The validated monitor list repeats the monitors and is left out.
    pub fn redacted(&self) -> Config {
        use crate::redact;
        const HIDDEN: &str = "<redacted>";
        let mut c = self.clone();
        c.database.url = c.database.url.as_deref().map(redact::database_url);
        for u in &mut c.upstreams {
            u.url = redact::url(&u.url);
        }
        for k in &mut c.kubernetes {
            k.url = redact::url(&k.url);
        }
        for n in &mut c.notify {
            n.url = n.url.as_deref().map(redact::url);
        }
        for m in &mut c.monitors {
            m.url = m.url.as_deref().map(redact::url);
            for v in m.headers.values_mut() {
                *v = HIDDEN.into();
            }
            if m.secret.is_some() {
                m.secret = Some(HIDDEN.into());
            }
        }
        for p in &mut c.prometheus {
            p.url = redact::url(&p.url);
        }
        for e in &mut c.node_exporters {
            e.url = redact::url(&e.url);
        }
        c.linode.api_url = redact::url(&c.linode.api_url);
        c.monitor_specs.clear();
        c
    }

    pub fn graph_settings(&self) -> vigil_core::model::resource::GraphSettings {
        let sample_secs = self
            .prometheus
            .iter()
            .map(|p| p.interval_secs)
            .chain(self.node_exporters.iter().map(|e| e.interval_secs))
            .min()
            .unwrap_or(15);
        vigil_core::model::resource::GraphSettings {
            node_stale_secs: self.resources.node_stale_secs,
            sample_secs,
            rules: self.resources.rules(),
        }
    }

    fn validate(&self) -> Result<(), Problem> {
        let invalid = |key: &str, problem: &str| Problem::new(key, problem);
        if self.database.max_connections == 0 {
            return Err(invalid("database.max_connections", "must be at least 1"));
        }
        if let Some(url) = &self.database.url {
            if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
                return Err(invalid(
                    "database.url",
                    "must start with postgres:// or postgresql://",
                ));
            }
        }
        if self.database.url.is_none() && self.database.run_as.trim().is_empty() {
            return Err(invalid(
                "database.run_as",
                "must name an unprivileged account for the embedded PostgreSQL",
            ));
        }
        if self.auth.session_idle_minutes == 0 {
            return Err(invalid("auth.session_idle_minutes", "must be at least 1"));
        }
        if self.auth.session_absolute_hours == 0 {
            return Err(invalid("auth.session_absolute_hours", "must be at least 1"));
        }
        for (i, o) in self.server.frame_ancestors.iter().enumerate() {
            let ok = reqwest::Url::parse(o).is_ok_and(|u| {
                matches!(u.scheme(), "http" | "https")
                    && u.path() == "/"
                    && !o.ends_with('/')
                    && u.query().is_none()
            });
            if !ok {
                return Err(invalid(
                    &format!("server.frame_ancestors[{i}]"),
                    &format!("`{o}` is not an origin: write it like https://example.org (scheme and host, no path)"),
                ));
            }
        }
        if let Some(var) = &self.server.metrics_token_env {
            if std::env::var(var).map_or(true, |v| v.trim().is_empty()) {
                return Err(invalid(
                    "server.metrics_token_env",
                    &format!("the environment variable `{var}` is not set: set it to the token scrapers must send, or remove the key"),
                ));
            }
        }
        if self.linode.enabled {
            self.linode.token().map_err(|e| invalid("linode", &e))?;
            if self.linode.poll_secs < 5 {
                return Err(invalid(
                    "linode.poll_secs",
                    "must be at least 5 (the API is rate limited)",
                ));
            }
            if self.linode.flap_changes < 2 {
                return Err(invalid("linode.flap_changes", "must be at least 2"));
            }
        }
        resources::validate(&self.resources, &self.prometheus, &self.node_exporters)?;
        notify::validate(&self.notify)?;
        upstream::validate(&self.upstreams)?;
        kubernetes::validate(&self.kubernetes)?;
        subscribers::validate(&self.smtp, &self.subscribers)?;
        github::validate(&self.github)?;
        if self.cluster.lease_secs < 2 {
            return Err(invalid(
                "cluster.lease_secs",
                "must be at least 2 (it is renewed every third of it)",
            ));
        }
        let cache_control = &self.status_page.cache_control;
        if cache_control.trim().is_empty()
            || axum::http::HeaderValue::from_str(cache_control).is_err()
        {
            return Err(invalid(
                "status_page.cache_control",
                "must be a Cache-Control header value, e.g. \"public, max-age=5, stale-while-revalidate=30, stale-if-error=86400\" (or \"no-cache\" with no CDN in front)",
            ));
        }
        if !(1..=3600).contains(&self.status_page.refresh_secs) {
            return Err(invalid(
                "status_page.refresh_secs",
                "must be 1 to 3600 seconds: how long a public page stands when nothing changed",
            ));
        }
        if self.incidents.opened_text.trim().is_empty() {
            return Err(invalid(
                "incidents.opened_text",
                "must not be empty: it is the first thing visitors read",
            ));
        }
        if self.postmortems.approvals > 10 {
            return Err(invalid(
                "postmortems.approvals",
                "must be at most 10 (0 publishes without review)",
            ));
        }
        if self.status_page.title.trim().is_empty() {
            return Err(invalid("status_page.title", "must not be empty"));
        }
        Ok(())
    }
}

fn parse_located(text: &str, path: &Path) -> Result<Config, ConfigError> {
    let de = toml::Deserializer::new(text);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let key = e.path().to_string();
        let inner = e.into_inner();
        let (line, column) = inner
            .span()
            .map(|span| line_and_column(text, span.start))
            .unwrap_or((1, 1));
        let key = (key != "." && !key.is_empty()).then_some(key);
        ConfigError::Parse {
            path: path.to_path_buf(),
            line,
            column,
            key_hint: key
                .as_ref()
                .map(|k| format!(" of `{k}`"))
                .unwrap_or_default(),
            problem: match &key {
                Some(k) => format!("key `{k}`: {}", inner.message()),
                None => inner.message().to_string(),
            },
            key,
        }
    })
}

fn line_and_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before
        .rfind('\n')
        .map_or(before.len(), |nl| before.len() - nl - 1)
        + 1;
    (line, column)
}

/// Applies `VIGIL_A__B=value` as `a.b = value`, plus the customary `DATABASE_URL`. Values are read
/// as TOML when they parse (numbers, booleans, arrays), otherwise as plain strings.
fn apply_env(table: &mut toml::Table, env: &[(String, String)]) -> Result<(), ConfigError> {
    for (var, value) in env {
        let key_path: Vec<String> = if var == "DATABASE_URL" {
            if value.is_empty() {
                continue;
            }
            vec!["database".into(), "url".into()]
        } else if var == "LEPTOS_SITE_ROOT" {
            vec!["server".into(), "site_root".into()]
        } else if let Some(rest) = var.strip_prefix(ENV_PREFIX) {
            // Only SECTION__KEY names are config; VIGIL_CONFIG, VIGIL_LOG and the like are not.
            if !rest.contains("__") {
                continue;
            }
            rest.split("__").map(|s| s.to_ascii_lowercase()).collect()
        } else {
            continue;
        };
        let parsed = toml::from_str::<toml::Table>(&format!("v = {value}"))
            .ok()
            .and_then(|mut t| t.remove("v"))
            .unwrap_or_else(|| toml::Value::String(value.clone()));
        let (last, parents) = key_path.split_last().expect("at least one segment");
        let mut cursor = &mut *table;
        for part in parents {
            let entry = cursor
                .entry(part.clone())
                .or_insert_with(|| toml::Value::Table(toml::Table::new()));
            cursor = entry.as_table_mut().ok_or_else(|| ConfigError::Env {
                var: var.clone(),
                problem: format!("`{part}` is not a section"),
            })?;
        }
        cursor.insert(last.clone(), parsed);
    }
    Ok(())
}

fn env_var_for(key: &str) -> String {
    if key == "database.url" {
        return "DATABASE_URL".into();
    }
    format!(
        "{ENV_PREFIX}{}",
        key.to_ascii_uppercase().replace('.', "__")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn write(text: &str) -> tempfile::NamedTempFile {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(text.as_bytes()).unwrap();
        f
    }

    #[test]
    fn defaults_are_valid_without_a_file() {
        let c = Config::load_with_env(None, &[]).unwrap();
        assert_eq!(c.server.addr.port(), 3000);
        assert!(c.database.url.is_none());
    }

    #[test]
    fn a_wrong_type_names_file_line_and_key() {
        let f = write(
            "[server]\naddr = \"127.0.0.1:3000\"\n\n[database]\nmax_connections = \"many\"\n",
        );
        let err = Config::load_with_env(Some(f.path()), &[]).unwrap_err();
        let msg = err.to_string();
        let expected_prefix = format!("{}:5:", f.path().display());
        assert!(msg.starts_with(&expected_prefix), "{msg}");
        assert!(msg.contains("database.max_connections"), "{msg}");
    }

    #[test]
    fn a_syntax_error_names_the_line() {
        let f = write("[server]\naddr = \"127.0.0.1:3000\n");
        let msg = Config::load_with_env(Some(f.path()), &[])
            .unwrap_err()
            .to_string();
        assert!(
            msg.starts_with(&format!("{}:2:", f.path().display())),
            "{msg}"
        );
    }

    #[test]
    fn an_unknown_key_is_refused_by_name() {
        let f = write("[server]\nadress = \"127.0.0.1:3000\"\n");
        let msg = Config::load_with_env(Some(f.path()), &[])
            .unwrap_err()
            .to_string();
        assert!(msg.contains(":2:"), "{msg}");
        assert!(msg.contains("adress"), "{msg}");
    }

    #[test]
    fn environment_overrides_the_file() {
        let f = write("[server]\naddr = \"127.0.0.1:3000\"\n");
        let env = vec![
            (
                "VIGIL_SERVER__ADDR".to_string(),
                "127.0.0.1:4000".to_string(),
            ),
            (
                "DATABASE_URL".to_string(),
                "postgres://x@localhost/y".to_string(),
            ),
            (
                "VIGIL_DATABASE__MAX_CONNECTIONS".to_string(),
                "3".to_string(),
            ),
        ];
        let c = Config::load_with_env(Some(f.path()), &env).unwrap();
        assert_eq!(c.server.addr.port(), 4000);
        assert_eq!(c.database.url.as_deref(), Some("postgres://x@localhost/y"));
        assert_eq!(c.database.max_connections, 3);
    }

    #[test]
    fn only_section_key_variables_are_config() {
        let env = vec![
            ("VIGIL_LOG".to_string(), "debug".to_string()),
            ("VIGIL_TOOLS_DIR".to_string(), "/opt".to_string()),
        ];
        assert!(Config::load_with_env(None, &env).is_ok());
        let env = vec![("VIGIL_SERVER__ADRES".to_string(), "x".to_string())];
        let msg = Config::load_with_env(None, &env).unwrap_err().to_string();
        assert!(
            msg.contains("VIGIL_SERVER__ADRES") && msg.contains("adres"),
            "{msg}"
        );
    }

    #[test]
    fn a_bad_environment_value_names_the_variable() {
        let env = vec![("VIGIL_SERVER__ADDR".to_string(), "nowhere".to_string())];
        let msg = Config::load_with_env(None, &env).unwrap_err().to_string();
        assert!(
            msg.starts_with("environment variable VIGIL_SERVER__ADDR"),
            "{msg}"
        );
    }

    #[test]
    fn semantic_checks_name_the_key() {
        let f = write("[database]\nmax_connections = 0\n");
        let msg = Config::load_with_env(Some(f.path()), &[])
            .unwrap_err()
            .to_string();
        assert!(msg.contains("database.max_connections"), "{msg}");
        assert!(msg.contains("at least 1"), "{msg}");
    }

    #[test]
    fn cookies_are_secure_by_default_behind_https() {
        let c = |text: &str| Config::load_with_env(Some(write(text).path()), &[]).unwrap();
        assert!(c("[server]\npublic_url = \"https://status.example.org\"\n")
            .auth
            .secure());
        assert!(!c("[server]\npublic_url = \"http://127.0.0.1:3000\"\n")
            .auth
            .secure());
        // The operator's word wins.
        assert!(!c(
            "[server]\npublic_url = \"https://s.example\"\n[auth]\nsecure_cookies = false\n"
        )
        .auth
        .secure());
    }

    #[test]
    fn loopback_links_are_warned_about_outside_the_demo() {
        let c = |text: &str| Config::load_with_env(Some(write(text).path()), &[]).unwrap();
        assert!(c("").warnings()[0].contains("server.public_url"));
        assert!(c("[server]\naddr = \"0.0.0.0:3000\"\n").warnings()[0].contains("127.0.0.1:3000"));
        assert!(c("[server]\npublic_url = \"https://status.example.org\"\n")
            .warnings()
            .is_empty());
        assert!(c("[status_page]\ntitle = \"Example Org status (demo)\"\n")
            .warnings()
            .is_empty());
    }

    #[test]
    fn proxies_origins_and_the_metrics_token_are_checked_with_the_key_named() {
        let err = |text: &str| {
            Config::load_with_env(Some(write(text).path()), &[])
                .unwrap_err()
                .to_string()
        };
        let msg = err("[auth]\ntrusted_proxies = [\"10.0.0.0/8\", \"proxy.local\"]\n");
        assert!(
            msg.contains("auth.trusted_proxies[1]") && msg.contains("proxy.local"),
            "{msg}"
        );
        let msg = err("[server]\nframe_ancestors = [\"https://example.org/page\"]\n");
        assert!(
            msg.contains("server.frame_ancestors[0]") && msg.contains("no path"),
            "{msg}"
        );
        let msg = err("[server]\nmetrics_token_env = \"VIGIL_SURELY_UNSET_TOKEN_VAR\"\n");
        assert!(msg.contains("VIGIL_SURELY_UNSET_TOKEN_VAR"), "{msg}");
        assert!(Config::load_with_env(
            Some(write("[auth]\ntrusted_proxies = [\"127.0.0.1\", \"10.0.0.0/8\"]\n[server]\nframe_ancestors = [\"https://www.example.org\"]\n").path()),
            &[]
        )
        .is_ok());
    }

    #[test]
    fn check_config_output_hides_secrets() {
        let c = Config::load_with_env(
            Some(write("[database]\nurl = \"postgres://v:pw-s3cret@db/v\"\n").path()),
            &[],
        )
        .unwrap();
        let printed = format!("{:#?}", c.redacted());
        assert!(!printed.contains("pw-s3cret"), "{printed}");
        assert!(printed.contains("postgres://v:***@db/v"), "{printed}");
    }

    #[test]
    fn line_and_column_count_from_one() {
        assert_eq!(line_and_column("ab\ncd", 4), (2, 2));
        assert_eq!(line_and_column("ab", 0), (1, 1));
    }
}

/// The address links point at: `public_url` when set, else the one Vigil listens on (a wildcard
/// address read as this host's loopback), so links work on whatever port it was started.
pub fn public_url_of(configured: &str, listening: std::net::SocketAddr) -> String {
    if !configured.trim().is_empty() {
        return configured.trim().to_string();
    }
    let ip = match listening.ip() {
        std::net::IpAddr::V4(v4) if v4.is_unspecified() => std::net::Ipv4Addr::LOCALHOST.into(),
        std::net::IpAddr::V6(v6) if v6.is_unspecified() => std::net::Ipv6Addr::LOCALHOST.into(),
        ip => ip,
    };
    format!("http://{}", std::net::SocketAddr::new(ip, listening.port()))
}

#[cfg(test)]
mod public_url_tests {
    use super::public_url_of;

    #[test]
    fn links_follow_the_listening_address_unless_configured() {
        let at = |s: &str| s.parse().unwrap();
        assert_eq!(
            public_url_of("", at("127.0.0.1:3300")),
            "http://127.0.0.1:3300"
        );
        assert_eq!(
            public_url_of("", at("0.0.0.0:8080")),
            "http://127.0.0.1:8080"
        );
        assert_eq!(public_url_of("", at("[::]:8080")), "http://[::1]:8080");
        assert_eq!(
            public_url_of("https://status.example.org", at("0.0.0.0:80")),
            "https://status.example.org"
        );
    }
}
