//! The read-only NodeBalancer subset of the Linode API v4: Bearer auth, `data/page/pages/results`
//! pagination, `{"errors": [...]}` bodies, 429 with `Retry-After` — and switches to make it
//! misbehave the way a real API sometimes does.

use std::{
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use axum::{
    extract::{Path, Query, State},
    http::{header, HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::get,
    Json, Router,
};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

#[derive(Clone, Debug, Serialize)]
pub struct Node {
    pub id: u64,
    pub label: String,
    /// "ip:port"
    pub address: String,
    /// "UP", "DOWN" or "unknown"
    pub status: String,
    pub weight: u8,
    pub mode: String,
}

#[derive(Clone, Debug)]
pub struct NbConfig {
    pub id: u64,
    pub port: u16,
    pub protocol: String,
    pub nodes: Vec<Node>,
    /// Health checks as Linode's Kubernetes cloud controller set them (5 s, 3 s, 2 attempts).
    pub check_interval: u32,
    pub check_timeout: u32,
    pub check_attempts: u32,
}

#[derive(Clone, Debug)]
pub struct NodeBalancer {
    pub id: u64,
    pub label: String,
    pub region: String,
    /// Moves whenever the cluster posts the configuration, changed or not.
    pub updated: String,
    pub configs: Vec<NbConfig>,
    /// Connection counts for `/stats`: (unix seconds, value).
    pub connections: Vec<(i64, f64)>,
}

/// Ways to misbehave, switched on by tests and scenarios.
#[derive(Clone, Debug, Default)]
pub struct Faults {
    /// Answer the next N requests with 500.
    pub fail_next: u32,
    /// Answer the next N requests with 429 and this many seconds in `Retry-After`.
    pub throttle_next: u32,
    pub retry_after_secs: u64,
    /// Answer every request with a body that is not JSON.
    pub malformed: bool,
    /// Wait this long before answering.
    pub delay: Duration,
    /// Requests allowed per minute per token before 429 (0: no limit).
    pub rate_limit_per_minute: u32,
}

#[derive(Default)]
struct Inner {
    balancers: Vec<NodeBalancer>,
    faults: Faults,
    requests: u64,
    window: Option<(Instant, u32)>,
}

/// A handle on the simulated API: change its state while it serves.
#[derive(Clone)]
pub struct LinodeSim {
    token: Arc<String>,
    inner: Arc<Mutex<Inner>>,
}

impl LinodeSim {
    pub fn new(token: &str, balancers: Vec<NodeBalancer>) -> Self {
        LinodeSim {
            token: Arc::new(token.to_string()),
            inner: Arc::new(Mutex::new(Inner {
                balancers,
                ..Default::default()
            })),
        }
    }

    pub fn set_faults(&self, faults: Faults) {
        self.inner.lock().expect("sim poisoned").faults = faults;
    }

    /// Sets a backend's status, e.g. to replay flapping.
    pub fn set_node_status(&self, node_id: u64, status: &str) {
        let mut inner = self.inner.lock().expect("sim poisoned");
        for nb in &mut inner.balancers {
            for c in &mut nb.configs {
                for n in &mut c.nodes {
                    if n.id == node_id {
                        n.status = status.to_string();
                    }
                }
            }
        }
    }

    /// The cluster re-posts every configuration unchanged (a `rebuild` with the same payload):
    /// only the NodeBalancer's `updated` moves.
    pub fn reapply(&self, at: chrono::DateTime<chrono::Utc>) {
        let mut inner = self.inner.lock().expect("sim poisoned");
        for nb in &mut inner.balancers {
            nb.updated = at.format("%Y-%m-%dT%H:%M:%S").to_string();
        }
    }

    /// Changes a port's health-check timing, as a rebuild with new settings would.
    pub fn set_check(
        &self,
        config_id: u64,
        interval: u32,
        timeout: u32,
        attempts: u32,
        at: chrono::DateTime<chrono::Utc>,
    ) {
        let mut inner = self.inner.lock().expect("sim poisoned");
        for nb in &mut inner.balancers {
            for c in &mut nb.configs {
                if c.id == config_id {
                    (c.check_interval, c.check_timeout, c.check_attempts) =
                        (interval, timeout, attempts);
                    nb.updated = at.format("%Y-%m-%dT%H:%M:%S").to_string();
                }
            }
        }
    }

    /// Appends a connections sample to every NodeBalancer's `/stats`: a daily rhythm scaled by
    /// the share of backends that are UP (traffic that cannot get in is not counted).
    pub fn record_connections(&self, unix_secs: i64) {
        let mut inner = self.inner.lock().expect("sim poisoned");
        for nb in &mut inner.balancers {
            let (up, all) = nb
                .configs
                .iter()
                .flat_map(|c| &c.nodes)
                .fold((0, 0), |(u, a), n| {
                    (u + usize::from(n.status == "UP"), a + 1)
                });
            let share = if all == 0 {
                0.0
            } else {
                up as f64 / all as f64
            };
            nb.connections
                .push((unix_secs, (daily_connections(unix_secs) * share).round()));
            let keep_from = unix_secs - 24 * 3600;
            nb.connections.retain(|(t, _)| *t >= keep_from);
        }
    }

    /// Requests served so far (including refused ones).
    pub fn requests(&self) -> u64 {
        self.inner.lock().expect("sim poisoned").requests
    }

    pub fn router(&self) -> Router {
        Router::new()
            .route("/v4/nodebalancers", get(list_balancers))
            .route("/v4/nodebalancers/{id}", get(one_balancer))
            .route("/v4/nodebalancers/{id}/configs", get(list_configs))
            .route(
                "/v4/nodebalancers/{id}/configs/{config}/nodes",
                get(list_nodes),
            )
            .route("/v4/nodebalancers/{id}/stats", get(stats))
            .with_state(self.clone())
    }

    /// Serves on 127.0.0.1 at a free port; returns the base URL (`http://127.0.0.1:PORT/v4`).
    pub async fn serve(&self) -> std::io::Result<(SocketAddr, String)> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let app = self.router();
        tokio::spawn(async move { axum::serve(listener, app).await });
        Ok((addr, format!("http://{addr}/v4")))
    }

    /// Checks auth and faults; Some(response) when the request is refused.
    async fn gate(&self, headers: &HeaderMap) -> Option<Response> {
        let faults = {
            let mut inner = self.inner.lock().expect("sim poisoned");
            inner.requests += 1;
            inner.faults.clone()
        };
        if !faults.delay.is_zero() {
            tokio::time::sleep(faults.delay).await;
        }
        let auth = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        if auth != Some(&format!("Bearer {}", self.token)) {
            return Some(error(StatusCode::UNAUTHORIZED, "Invalid Token"));
        }
        let mut inner = self.inner.lock().expect("sim poisoned");
        if inner.faults.throttle_next > 0 {
            inner.faults.throttle_next -= 1;
            return Some(too_many(inner.faults.retry_after_secs));
        }
        if inner.faults.rate_limit_per_minute > 0 {
            let limit = inner.faults.rate_limit_per_minute;
            let now = Instant::now();
            let (start, count) = inner.window.get_or_insert((now, 0));
            if now.duration_since(*start) >= Duration::from_secs(60) {
                *start = now;
                *count = 0;
            }
            *count += 1;
            if *count > limit {
                let wait = 60 - now.duration_since(*start).as_secs();
                return Some(too_many(wait.max(1)));
            }
        }
        if inner.faults.fail_next > 0 {
            inner.faults.fail_next -= 1;
            return Some(error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Please try again later",
            ));
        }
        if inner.faults.malformed {
            return Some(
                (
                    StatusCode::OK,
                    [(header::CONTENT_TYPE, "application/json")],
                    "{\"data\": [",
                )
                    .into_response(),
            );
        }
        None
    }

    fn with<T>(&self, f: impl FnOnce(&[NodeBalancer]) -> T) -> T {
        f(&self.inner.lock().expect("sim poisoned").balancers)
    }
}

fn error(code: StatusCode, reason: &str) -> Response {
    (code, Json(json!({ "errors": [{ "reason": reason }] }))).into_response()
}

fn too_many(retry_after: u64) -> Response {
    (
        StatusCode::TOO_MANY_REQUESTS,
        [(header::RETRY_AFTER, retry_after.to_string())],
        Json(json!({ "errors": [{ "reason": "Too Many Requests" }] })),
    )
        .into_response()
}

#[derive(Deserialize)]
struct PageQuery {
    page: Option<usize>,
    page_size: Option<usize>,
}

/// The Linode list envelope: pages count from 1, `page_size` is 25 to 500, default 25.
fn paginate(items: Vec<Value>, q: &PageQuery) -> Response {
    let size = q.page_size.unwrap_or(25).clamp(25, 500);
    let pages = items.len().div_ceil(size).max(1);
    let page = q.page.unwrap_or(1);
    if page == 0 || page > pages {
        return error(StatusCode::BAD_REQUEST, "page is out of range");
    }
    let data: Vec<Value> = items
        .into_iter()
        .skip((page - 1) * size)
        .take(size)
        .collect();
    let results = data.len();
    Json(json!({ "data": data, "page": page, "pages": pages, "results": results })).into_response()
}

fn balancer_json(nb: &NodeBalancer) -> Value {
    json!({
        "id": nb.id,
        "label": nb.label,
        "region": nb.region,
        "hostname": format!("nb-{}.{}.linode.com", nb.id, nb.region),
        "ipv4": "192.0.2.10",
        "ipv6": null,
        "client_conn_throttle": 0,
        "transfer": { "total": 0.0, "in": 0.0, "out": 0.0 },
        "tags": [],
        "created": "2021-01-01T00:00:00",
        "updated": nb.updated,
    })
}

fn config_json(nb: &NodeBalancer, c: &NbConfig) -> Value {
    let up = c.nodes.iter().filter(|n| n.status == "UP").count();
    json!({
        "id": c.id,
        "port": c.port,
        "protocol": c.protocol,
        "algorithm": "roundrobin",
        "stickiness": "none",
        "check": "connection",
        "check_interval": c.check_interval,
        "check_timeout": c.check_timeout,
        "check_attempts": c.check_attempts,
        "check_path": "",
        "check_body": "",
        "check_passive": true,
        "nodebalancer_id": nb.id,
        "nodes_status": { "up": up, "down": c.nodes.len() - up },
    })
}

async fn list_balancers(
    State(sim): State<LinodeSim>,
    headers: HeaderMap,
    Query(q): Query<PageQuery>,
) -> Response {
    if let Some(r) = sim.gate(&headers).await {
        return r;
    }
    let items = sim.with(|b| b.iter().map(balancer_json).collect());
    paginate(items, &q)
}

async fn one_balancer(
    State(sim): State<LinodeSim>,
    headers: HeaderMap,
    Path(id): Path<u64>,
) -> Response {
    if let Some(r) = sim.gate(&headers).await {
        return r;
    }
    match sim.with(|b| b.iter().find(|nb| nb.id == id).map(balancer_json)) {
        Some(v) => Json(v).into_response(),
        None => error(StatusCode::NOT_FOUND, "Not found"),
    }
}

async fn list_configs(
    State(sim): State<LinodeSim>,
    headers: HeaderMap,
    Path(id): Path<u64>,
    Query(q): Query<PageQuery>,
) -> Response {
    if let Some(r) = sim.gate(&headers).await {
        return r;
    }
    match sim.with(|b| {
        b.iter().find(|nb| nb.id == id).map(|nb| {
            nb.configs
                .iter()
                .map(|c| config_json(nb, c))
                .collect::<Vec<_>>()
        })
    }) {
        Some(items) => paginate(items, &q),
        None => error(StatusCode::NOT_FOUND, "Not found"),
    }
}

async fn list_nodes(
    State(sim): State<LinodeSim>,
    headers: HeaderMap,
    Path((id, config)): Path<(u64, u64)>,
    Query(q): Query<PageQuery>,
) -> Response {
    if let Some(r) = sim.gate(&headers).await {
        return r;
    }
    let nodes = sim.with(|b| {
        b.iter()
            .find(|nb| nb.id == id)
            .and_then(|nb| nb.configs.iter().find(|c| c.id == config))
            .map(|c| {
                c.nodes
                    .iter()
                    .map(|n| {
                        let mut v = serde_json::to_value(n).expect("nodes serialise");
                        v["config_id"] = json!(config);
                        v["nodebalancer_id"] = json!(id);
                        v
                    })
                    .collect::<Vec<_>>()
            })
    });
    match nodes {
        Some(items) => paginate(items, &q),
        None => error(StatusCode::NOT_FOUND, "Not found"),
    }
}

async fn stats(State(sim): State<LinodeSim>, headers: HeaderMap, Path(id): Path<u64>) -> Response {
    if let Some(r) = sim.gate(&headers).await {
        return r;
    }
    match sim.with(|b| b.iter().find(|nb| nb.id == id).cloned()) {
        Some(nb) => {
            // Timestamps in milliseconds, as the API's graphs use.
            let conns: Vec<Value> = nb
                .connections
                .iter()
                .map(|(t, v)| json!([t * 1000, v]))
                .collect();
            Json(json!({
                "title": format!("{} (nb-{}) - day (5 min avg)", nb.label, nb.id),
                "data": { "connections": conns, "traffic": { "in": [], "out": [] } }
            }))
            .into_response()
        }
        None => error(StatusCode::NOT_FOUND, "Not found"),
    }
}

/// Connections a small site sees at a time of day: busier in the afternoon.
fn daily_connections(unix_secs: i64) -> f64 {
    let day = (unix_secs % 86_400) as f64 / 86_400.0;
    60.0 + 35.0 * (std::f64::consts::TAU * (day - 0.35)).sin()
}

/// The seed incident's NodeBalancer: two Kubernetes nodes behind ports 80 and 443.
pub fn seed_balancer() -> NodeBalancer {
    let node = |id: u64, label: &str, ip: &str, port: u16| Node {
        id,
        label: label.into(),
        address: format!("{ip}:{port}"),
        status: "UP".into(),
        weight: 100,
        mode: "accept".into(),
    };
    NodeBalancer {
        id: 101,
        label: "lke-ingress".into(),
        region: "eu-west".into(),
        updated: "2021-01-30T14:30:00".into(),
        configs: vec![
            NbConfig {
                id: 80,
                port: 80,
                protocol: "tcp".into(),
                nodes: vec![
                    node(8001, "lke-node-a", "192.168.200.11", 31080),
                    node(8002, "lke-node-b", "192.168.200.12", 31080),
                ],
                check_interval: 5,
                check_timeout: 3,
                check_attempts: 2,
            },
            NbConfig {
                id: 443,
                port: 443,
                protocol: "tcp".into(),
                nodes: vec![
                    node(4431, "lke-node-a", "192.168.200.11", 31443),
                    node(4432, "lke-node-b", "192.168.200.12", 31443),
                ],
                check_interval: 5,
                check_timeout: 3,
                check_attempts: 2,
            },
        ],
        // A day of 5-minute averages before the simulation started.
        connections: {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs() as i64)
                .unwrap_or(0);
            let start = now - now % 300 - 24 * 3600;
            (0..288)
                .map(|i| {
                    let t = start + i * 300;
                    (t, daily_connections(t).round())
                })
                .collect()
        },
    }
}
