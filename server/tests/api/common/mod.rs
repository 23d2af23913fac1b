//! `spawn_app`: a real Vigil on a free port, against a fresh PostgreSQL database of its own.

use std::{str::FromStr, time::Duration};

use sqlx::{postgres::PgConnectOptions, ConnectOptions, Connection, Executor, PgPool};
use tokio::{sync::oneshot, task::JoinHandle};
use vigil_server::{config::Config, startup::Application};

pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    pub pool: PgPool,
    pub db_name: String,
    admin_url: String,
    stop: Option<oneshot::Sender<()>>,
    pub handle: Option<JoinHandle<Result<(), vigil_server::startup::StartupError>>>,
    /// Every route the server registered, with its group.
    pub routes: Vec<vigil_server::http::groups::Route>,
}

/// The server every test database is created on: `DATABASE_URL`, which the README's test command
/// points at a freshly created embedded cluster.
pub fn admin_url() -> String {
    std::env::var("DATABASE_URL").expect(
        "integration tests need DATABASE_URL; run them through ./scripts/test, \
         which starts a private PostgreSQL and sets it",
    )
}

/// Creates an empty database and returns its URL.
/// Each test's database is a copy of one migrated once per run (PostgreSQL copies a template in
/// milliseconds; migrating anew took longer than most tests).
pub async fn fresh_database() -> (String, String) {
    static TEMPLATE: tokio::sync::OnceCell<String> = tokio::sync::OnceCell::const_new();
    let admin = admin_url();
    let template = TEMPLATE.get_or_init(|| migrated_template(&admin)).await;
    let name = format!("vigil_test_{}", uuid::Uuid::new_v4().simple());
    let mut conn = server_connection(&admin).await;
    conn.execute(format!("CREATE DATABASE {name} TEMPLATE {template}").as_str())
        .await
        .expect("create test database");
    // A test's commits need not wait for the disk: a hundred databases created and written at
    // once queue behind each other's flushes (requests stalled for seconds under the full
    // suite). What a test reads is the same either way; only a crash of the server could lose
    // the last commits, and a test's database does not outlive its run.
    conn.execute(format!("ALTER DATABASE {name} SET synchronous_commit = off").as_str())
        .await
        .expect("configure test database");
    conn.close().await.ok();
    (name.clone(), database_url(&admin, &name))
}

fn database_url(admin: &str, name: &str) -> String {
    let mut url = reqwest::Url::parse(admin).expect("DATABASE_URL is a URL");
    url.set_path(&format!("/{name}"));
    url.to_string()
}

async fn server_connection(admin: &str) -> sqlx::PgConnection {
    PgConnectOptions::from_str(admin)
        .expect("DATABASE_URL parses")
        .database("postgres")
        .connect()
        .await
        .expect("connect to the test server")
}

/// A database with every migration applied, named after the migrations' checksums so a run
/// with other migrations never uses it. Built under a temporary name and renamed when complete.
async fn migrated_template(admin: &str) -> String {
    use sha2::{Digest, Sha256};
    let mut digest = Sha256::new();
    for m in vigil_core::store::MIGRATOR.iter() {
        digest.update(&m.checksum);
    }
    let name = format!("vigil_template_{}", &hex::encode(digest.finalize())[..16]);
    let mut conn = server_connection(admin).await;
    let exists: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
            .bind(&name)
            .fetch_one(&mut conn)
            .await
            .unwrap();
    if !exists {
        let building = format!("vigil_test_{}", uuid::Uuid::new_v4().simple());
        conn.execute(format!("CREATE DATABASE {building}").as_str())
            .await
            .expect("create the template database");
        let pool = PgPool::connect(&database_url(admin, &building))
            .await
            .unwrap();
        vigil_core::store::MIGRATOR
            .run(&pool)
            .await
            .expect("migrations apply");
        pool.close().await;
        let renamed = conn
            .execute(format!("ALTER DATABASE {building} RENAME TO {name}").as_str())
            .await;
        if renamed.is_err() {
            // Another run built it meanwhile; theirs is as good.
            conn.execute(format!("DROP DATABASE {building}").as_str())
                .await
                .ok();
        }
    }
    conn.close().await.ok();
    name
}

pub fn test_config(db_url: &str) -> Config {
    let mut config = Config::load_with_env(None, &[]).expect("defaults are valid");
    config.server.addr = "127.0.0.1:0".parse().unwrap();
    config.server.shutdown_grace_secs = 30;
    config.database.url = Some(db_url.to_string());
    config.database.max_connections = 5;
    config
}

pub async fn spawn_app() -> TestApp {
    let (db_name, url) = fresh_database().await;
    spawn_with(test_config(&url), db_name).await
}

pub async fn spawn_with(config: Config, db_name: String) -> TestApp {
    show_app_logs();
    let app = Application::build(&config).await.expect("app builds");
    let base = format!("http://{}", app.addr());
    let pool = app.pool().clone();
    let routes = app.routes().to_vec();
    let (tx, rx) = oneshot::channel::<()>();
    let handle = tokio::spawn(app.run_until(async move {
        let _ = rx.await;
    }));
    watch_for_stalls();
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap();
    TestApp {
        base,
        client,
        pool,
        db_name,
        admin_url: admin_url(),
        stop: Some(tx),
        handle: Some(handle),
        routes,
    }
}

/// The app's warnings go to the test's captured output (the app runs on the test's own thread,
/// so each test's output holds its own app's lines), shown when the test fails: a request that
/// timed out then says why (a pool that ran dry, a source that could not connect).
/// `VIGIL_TEST_LOG` sets the filter (default `warn`).
fn show_app_logs() {
    let filter = std::env::var("VIGIL_TEST_LOG").unwrap_or_else(|_| "warn".into());
    let _ = tracing_subscriber::fmt()
        .with_test_writer()
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .try_init();
}

/// Tells a frozen runtime from a slow one: a task on the test's runtime beats every 100 ms, and a
/// thread beside it writes to the real stderr when the beat stops for over 2 s (something in
/// the app or the test blocked the thread every task shares). The watcher ends with the runtime.
fn watch_for_stalls() {
    use std::sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    };
    let test = std::thread::current()
        .name()
        .unwrap_or("a test")
        .to_string();
    let started = std::time::Instant::now();
    let beat = Arc::new(AtomicU64::new(0));
    let weak = Arc::downgrade(&beat);
    tokio::spawn({
        let beat = beat.clone();
        async move {
            loop {
                beat.store(started.elapsed().as_millis() as u64, Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    });
    drop(beat);
    std::thread::spawn(move || {
        let mut reported = 0u64;
        loop {
            std::thread::sleep(Duration::from_millis(500));
            let Some(beat) = weak.upgrade() else { return };
            let last = beat.load(Ordering::Relaxed);
            let stalled = (started.elapsed().as_millis() as u64).saturating_sub(last);
            if stalled > 2_000 && last != reported {
                reported = last;
                eprintln!("{test}: the test's runtime has not run a task for {stalled} ms");
            }
        }
    });
}

impl TestApp {
    /// A request that got no answer: says what the app's pool held then (a pool that ran dry
    /// and a runtime that stopped look the same from the client).
    pub fn unanswered(&self, e: reqwest::Error) -> ! {
        panic!(
            "request not answered: {e}; the app's database pool then: {} connections, {} idle",
            self.pool.size(),
            self.pool.num_idle()
        )
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .send()
            .await
            .unwrap_or_else(|e| self.unanswered(e))
    }

    /// GET with an API token.
    pub async fn get_with_token(&self, path: &str, token: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .unwrap_or_else(|e| self.unanswered(e))
    }

    /// GET with an API token, parsed as JSON.
    pub async fn get_json(&self, path: &str, token: &str) -> serde_json::Value {
        self.get_with_token(path, token)
            .await
            .json()
            .await
            .expect("a JSON body")
    }

    /// The body of `path` as `client` (a signed-in browser, say) gets it.
    pub async fn text_as(&self, client: &reqwest::Client, path: &str) -> String {
        client
            .get(self.url(path))
            .send()
            .await
            .unwrap_or_else(|e| self.unanswered(e))
            .text()
            .await
            .expect("a text body")
    }

    /// Sends the shutdown signal and waits for the server to return.
    pub async fn shutdown(&mut self) -> Result<(), vigil_server::startup::StartupError> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.handle
            .take()
            .expect("not shut down twice")
            .await
            .expect("server task panicked")
    }

    /// Lets the database accept this app again after [`TestApp::cut_database`].
    pub async fn restore_database(&self) {
        self.admin()
            .await
            .execute(format!("ALTER DATABASE {} ALLOW_CONNECTIONS true", self.db_name).as_str())
            .await
            .unwrap();
    }

    async fn admin(&self) -> sqlx::PgConnection {
        PgConnectOptions::from_str(&self.admin_url)
            .unwrap()
            .database("postgres")
            .connect()
            .await
            .unwrap()
    }

    /// Makes the database refuse this app: new connections are refused and open ones are ended.
    pub async fn cut_database(&self) {
        let mut admin = self.admin().await;
        admin
            .execute(format!("ALTER DATABASE {} ALLOW_CONNECTIONS false", self.db_name).as_str())
            .await
            .unwrap();
        sqlx::query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1")
            .bind(&self.db_name)
            .execute(&mut admin)
            .await
            .unwrap();
    }
}

/// One component, `site`, and one HTTP monitor of it, `site-home`, checking `addr` every
/// `interval` seconds; `monitor` adds keys to the monitor, `sections` adds sections before it.
pub fn site_monitor(
    addr: std::net::SocketAddr,
    interval: u64,
    monitor: &str,
    sections: &str,
) -> String {
    format!(
        r#"
{sections}

[probes]
min_interval_secs = 1

[[component]]
id = "site"
name = "Website"

[[monitor]]
name = "site-home"
component = "site"
kind = "http"
url = "http://{addr}/"
interval_secs = {interval}
timeout_ms = 500
{monitor}
"#
    )
}

pub mod access {
    use super::TestApp;
    use vigil_core::{
        model::auth::{Role, Scope},
        store::{tokens, users},
    };
    use vigil_server::auth::{password, token};

    pub const PASSWORD: &str = "correct horse battery staple";

    pub async fn create_user(app: &TestApp, name: &str, role: Role) {
        let hash = password::hash(PASSWORD).unwrap();
        users::create(&app.pool, name, &hash, role).await.unwrap();
    }

    pub async fn create_token(app: &TestApp, scopes: &[Scope]) -> (i64, String) {
        create_token_for(app, scopes, None).await
    }

    /// An agent token speaking for `region`.
    pub async fn create_agent_token(app: &TestApp, region: &str) -> (i64, String) {
        create_token_for(app, &[Scope::Agent], Some(region)).await
    }

    async fn create_token_for(
        app: &TestApp,
        scopes: &[Scope],
        region: Option<&str>,
    ) -> (i64, String) {
        let new = token::generate();
        let t = tokens::create(
            &app.pool,
            "test",
            &new.hash,
            &new.display_prefix,
            scopes,
            region,
            "test",
        )
        .await
        .unwrap();
        (t.id, new.secret)
    }

    /// A browser-like client: keeps cookies, does not follow redirects, says where it comes from.
    pub fn browser(app: &TestApp) -> reqwest::Client {
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert("origin", app.base.parse().unwrap());
        reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .default_headers(headers)
            // A request that never comes back fails its test, naming the URL.
            .timeout(std::time::Duration::from_secs(60))
            .build()
            .unwrap()
    }

    /// Posts the login form; returns the redirect target.
    pub async fn login(app: &TestApp, client: &reqwest::Client, name: &str, pw: &str) -> String {
        let resp = client
            .post(app.url("/login"))
            .form(&[("username", name), ("password", pw), ("next", "/ops")])
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 303, "login answers with a redirect");
        resp.headers()["location"].to_str().unwrap().to_string()
    }

    /// The path of the server function whose name starts with `name`.
    pub fn server_fn(name: &str) -> String {
        leptos::server_fn::axum::server_fn_paths()
            .map(|(p, _)| p.to_string())
            .find(|p| p.rsplit('/').next().unwrap().starts_with(name))
            .unwrap_or_else(|| panic!("no server function {name}"))
    }

    /// Submits a server function's form the way a browser without JavaScript does: it accepts
    /// HTML and says which page the form was on.
    pub async fn submit(
        app: &TestApp,
        client: &reqwest::Client,
        function: &str,
        on_page: &str,
        form: &[(&str, &str)],
    ) -> reqwest::Response {
        client
            .post(app.url(&server_fn(function)))
            .header("accept", "text/html")
            .header("referer", app.url(on_page))
            .form(form)
            .send()
            .await
            .unwrap()
    }

    /// Where a form's answer sends the browser, as a path on this server.
    fn sent_to(app: &TestApp, resp: &reqwest::Response) -> String {
        assert_eq!(resp.status(), 302, "the form's answer");
        let to = resp.headers()["location"].to_str().unwrap();
        to.strip_prefix(&app.base).unwrap_or(to).to_string()
    }

    /// A form done: the browser is sent back to the page it came from, nothing else.
    pub fn assert_back_to(app: &TestApp, resp: &reqwest::Response, on_page: &str) {
        let to = sent_to(app, resp);
        // Leptos strips an earlier error from the page's query and may leave the `?` alone.
        assert_eq!(
            to.strip_suffix('?').unwrap_or(&to),
            on_page,
            "back to the form's page"
        );
    }

    /// A form refused: the browser is sent back to its page with the error (Leptos' `__err`,
    /// which the page shows), and `says` is in it.
    pub fn assert_refused_back_to(
        app: &TestApp,
        resp: &reqwest::Response,
        on_page: &str,
        says: &str,
    ) {
        use base64::Engine as _;
        let to = sent_to(app, resp);
        let (path, query) = to.split_once('?').expect("the error in the query");
        assert_eq!(path, on_page, "back to the form's page");
        let err = url::form_urlencoded::parse(query.as_bytes())
            .find(|(k, _)| k == "__err")
            .map(|(_, v)| v.into_owned())
            .expect("the error carried back");
        let err = base64::engine::general_purpose::URL_SAFE
            .decode(err)
            .expect("base64 as Leptos writes it");
        let err = String::from_utf8_lossy(&err);
        assert!(err.contains(says), "{err}");
    }

    pub async fn signed_in(app: &TestApp, name: &str, role: Role) -> reqwest::Client {
        create_user(app, name, role).await;
        let client = browser(app);
        assert_eq!(login(app, &client, name, PASSWORD).await, "/ops");
        client
    }
}

/// Sends `body` (JSON) with a bearer token; returns the status and the JSON answer (null if none).
pub async fn send(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    token: &str,
    body: Option<serde_json::Value>,
) -> (u16, serde_json::Value) {
    let mut req = app.client.request(method, app.url(path)).bearer_auth(token);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(serde_json::Value::Null))
}

/// A config read from TOML text (as an operator would write it), pointed at `db_url`.
pub fn config_from_toml(text: &str, db_url: &str) -> Config {
    use std::io::Write;
    let mut f = tempfile::NamedTempFile::new().unwrap();
    f.write_all(text.as_bytes()).unwrap();
    let mut config = Config::load_with_env(Some(f.path()), &[]).expect("test config is valid");
    config.server.addr = "127.0.0.1:0".parse().unwrap();
    config.server.shutdown_grace_secs = 30;
    config.database.url = Some(db_url.to_string());
    config.database.max_connections = 5;
    config
}

pub async fn spawn_app_with_toml(text: &str) -> TestApp {
    let (db_name, url) = fresh_database().await;
    spawn_with(config_from_toml(text, &url), db_name).await
}

/// A target whose health the test switches: `/` answers 200 while healthy, 503 otherwise.
pub struct Target {
    pub addr: std::net::SocketAddr,
    healthy: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl Target {
    pub async fn start() -> Target {
        use axum::{extract::State, http::StatusCode, routing::get, Router};
        use std::sync::{
            atomic::{AtomicBool, Ordering},
            Arc,
        };
        let healthy = Arc::new(AtomicBool::new(true));
        let app = Router::new()
            .route(
                "/",
                get(|State(h): State<Arc<AtomicBool>>| async move {
                    if h.load(Ordering::SeqCst) {
                        (StatusCode::OK, "ok")
                    } else {
                        (StatusCode::SERVICE_UNAVAILABLE, "down")
                    }
                }),
            )
            .with_state(healthy.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Target { addr, healthy }
    }

    pub fn set_healthy(&self, up: bool) {
        self.healthy.store(up, std::sync::atomic::Ordering::SeqCst);
    }
}

/// The longest a monitor can go unchecked when the replica running the probes dies: its last
/// check came up to an interval before the kill; the dead replica's lease runs out up to its
/// length after; the survivors look for a free lease every third of it; the new holder checks
/// what is overdue at once. One second more for a busy machine.
pub fn takeover_bound(interval_secs: u64, lease_secs: u64) -> f64 {
    interval_secs as f64 + lease_secs as f64 * (1.0 + 1.0 / 3.0) + 1.0
}

/// Keeps every core of the machine busy while it lives, as a loaded CI machine is: a thread per
/// core computes for 9 ms of every 10, so the test's own processes (replicas, PostgreSQL) get
/// their turns late but get them.
pub struct Busy {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    threads: Vec<std::thread::JoinHandle<u64>>,
}

impl Busy {
    pub fn start() -> Busy {
        use std::sync::atomic::Ordering;
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        let threads = (0..cores)
            .map(|_| {
                let stop = stop.clone();
                std::thread::spawn(move || {
                    let mut x = 0u64;
                    while !stop.load(Ordering::Relaxed) {
                        let until = std::time::Instant::now() + Duration::from_millis(9);
                        while std::time::Instant::now() < until {
                            x = std::hint::black_box(
                                x.wrapping_mul(6364136223846793005).wrapping_add(1),
                            );
                        }
                        std::thread::sleep(Duration::from_millis(1));
                    }
                    x
                })
            })
            .collect();
        Busy { stop, threads }
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

/// What one look at a condition found: ready with a value, or not yet (and, when it says, what
/// it saw instead, for the failure message).
pub trait Poll {
    type Ready;
    fn ready(self) -> Result<Self::Ready, String>;
}

impl<T> Poll for Option<T> {
    type Ready = T;
    fn ready(self) -> Result<T, String> {
        self.ok_or_else(|| "nothing yet".into())
    }
}

impl<T, E: std::fmt::Debug> Poll for Result<T, E> {
    type Ready = T;
    fn ready(self) -> Result<T, String> {
        self.map_err(|seen| format!("{seen:?}"))
    }
}

/// Polls `f` until it is ready (`Some`/`Ok`), or panics after `secs` saying what it last saw
/// (the `Err` of a `Result`): a failure that names the last value can be understood from CI's
/// log alone.
pub async fn eventually<P, F, Fut>(secs: u64, what: &str, mut f: F) -> P::Ready
where
    P: Poll,
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = P>,
{
    let deadline = std::time::Instant::now() + Duration::from_secs(secs);
    loop {
        let last = match f().await.ready() {
            Ok(v) => return v,
            Err(seen) => seen,
        };
        assert!(
            std::time::Instant::now() < deadline,
            "timed out after {secs} s waiting for {what}; last seen: {last}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Returns once the incident engine has finished a whole step that began after this call: two
/// pieces of evidence are written one after the other, and each waits until the engine has
/// attached it to the open incident `incident`. The engine runs its steps one at a time and ends
/// each with the passing of time (`Tick`), so the first step has then decided on the clock as it
/// is now. What the engine did *not* do can be asserted after this, and only after this.
pub async fn engine_has_stepped(app: &TestApp, incident: i64) {
    for marker in ["marker-a", "marker-b"] {
        let event = vigil_core::store::events::append(
            &app.pool,
            "test",
            &flapping_event(marker, 80, marker, true),
        )
        .await
        .unwrap();
        eventually(20, "the engine to take up a marker", || async {
            let attached: Option<i64> = sqlx::query_scalar(
                "SELECT event_id FROM incident_evidence WHERE incident_id = $1 AND event_id = $2",
            )
            .bind(incident)
            .bind(event.id)
            .fetch_optional(&app.pool)
            .await
            .unwrap();
            attached.ok_or(format!(
                "event {} not attached to incident {incident}",
                event.id
            ))
        })
        .await;
    }
}

/// A monitor's change of state, as the probes write it.
pub fn monitor_event(
    monitor: &str,
    component: &str,
    from: vigil_core::model::monitor::MonitorStatus,
    to: vigil_core::model::monitor::MonitorStatus,
    cause: &str,
) -> vigil_core::model::event::EventData {
    vigil_core::model::event::EventData::MonitorState(vigil_core::model::event::MonitorChanged {
        monitor_id: 0,
        monitor: monitor.into(),
        component: component.into(),
        from,
        to,
        cause: cause.into(),
        at: chrono::Utc::now(),
    })
}

/// A NodeBalancer backend starting (or stopping) to flap, as the Linode poller writes it.
pub fn flapping_event(
    nodebalancer: &str,
    port: u16,
    backend: &str,
    flapping: bool,
) -> vigil_core::model::event::EventData {
    vigil_core::model::event::EventData::BackendFlapping(
        vigil_core::model::event::BackendFlapping {
            nodebalancer: nodebalancer.into(),
            port,
            backend: backend.into(),
            flapping,
        },
    )
}

/// After a `kill -9` and a restart: every queued message arrived (by its `X-Vigil-Delivery` id),
/// none that was recorded as delivered before the kill arrived twice, and at most `in_flight`
/// (sent but not yet recorded at the kill) arrived twice.
pub fn assert_at_least_once(
    received: impl IntoIterator<Item = i64>,
    all: &[i64],
    acknowledged: &[i64],
    in_flight: usize,
) {
    let mut seen: std::collections::HashMap<i64, usize> = std::collections::HashMap::new();
    for id in received {
        *seen.entry(id).or_default() += 1;
    }
    for id in all {
        assert!(seen.contains_key(id), "message {id} never arrived");
    }
    for id in acknowledged {
        assert_eq!(
            seen[id], 1,
            "message {id} was acknowledged, then sent again"
        );
    }
    let repeats = seen.values().filter(|n| **n > 1).count();
    assert!(repeats <= in_flight, "{repeats} messages arrived twice");
}
