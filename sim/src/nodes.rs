//! Simulated Kubernetes nodes: what their node_exporters expose (`/metrics` in the text exposition
//! format, counters that really accumulate) and what a Prometheus scraping them would answer
//! (`/api/v1/query`, `/api/v1/query_range`, `/-/healthy`, with the real JSON envelope).
//!
//! The simulated Prometheus does not evaluate PromQL: it recognises the standard node queries by
//! the metric names they use (the defaults Vigil ships) and answers from the gauges it recorded,
//! with Prometheus' five-minute lookback, its 11,000-points limit and its error bodies.
// Handlers return the error response itself as their early exit, as axum handlers do.
#![allow(clippy::result_large_err)]

use std::{
    collections::{BTreeMap, VecDeque},
    fmt::Write as _,
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use axum::{
    extract::State,
    http::{header, StatusCode},
    response::{IntoResponse, Response},
    routing::get,
    Form, Json, Router,
};
use serde::Deserialize;
use serde_json::{json, Value};

/// How hard a node is working; the scenario sets these.
#[derive(Clone, Copy, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Load {
    /// Memory used, 0..1.
    #[serde(default = "Load::quiet_memory")]
    pub memory: f64,
    /// CPU busy, 0..1.
    #[serde(default = "Load::quiet_cpu")]
    pub cpu: f64,
    /// Seconds spent waiting on memory per second (pressure stall "some").
    #[serde(default)]
    pub memory_pressure: f64,
    /// Seconds spent waiting on CPU per second.
    #[serde(default)]
    pub cpu_pressure: f64,
}

impl Load {
    fn quiet_memory() -> f64 {
        0.45
    }
    fn quiet_cpu() -> f64 {
        0.2
    }
}

impl Default for Load {
    fn default() -> Self {
        Load {
            memory: Load::quiet_memory(),
            cpu: Load::quiet_cpu(),
            memory_pressure: 0.0,
            cpu_pressure: 0.0,
        }
    }
}

/// The metrics a Prometheus query can ask for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Metric {
    Memory,
    Cpu,
    MemoryPressure,
    CpuPressure,
    LoadPerCore,
    Up,
}

impl Metric {
    /// Recognises the usual node queries by the metrics they read.
    pub fn of_query(q: &str) -> Option<Metric> {
        let q = q.trim();
        if q.contains("node_load1") {
            Some(Metric::LoadPerCore)
        } else if q.contains("MemAvailable") || q.contains("Active_bytes") {
            Some(Metric::Memory)
        } else if q.contains("node_pressure_memory") {
            Some(Metric::MemoryPressure)
        } else if q.contains("node_pressure_cpu") {
            Some(Metric::CpuPressure)
        } else if q.contains("node_cpu_seconds_total") {
            Some(Metric::Cpu)
        } else if q == "up" || q.starts_with("up{") {
            Some(Metric::Up)
        } else {
            None
        }
    }
}

const CPUS: u32 = 2;
const MEM_TOTAL: f64 = 8_340_000_000.0;

struct SimNode {
    load: Load,
    /// Answers at all (a node that disappears stops being scraped).
    present: bool,
    /// Its exporter reports NaN for the gauges (a broken collector).
    nan: bool,
    /// Counters since the exporter started: cpu seconds by mode, pressure seconds.
    cpu_busy_secs: f64,
    cpu_idle_secs: f64,
    mem_waiting_secs: f64,
    cpu_waiting_secs: f64,
    advanced_at: f64,
}

impl SimNode {
    fn new(now: f64) -> Self {
        SimNode {
            load: Load::default(),
            present: true,
            nan: false,
            // A node that has been up a while: counters far from zero, so a reset is visible.
            cpu_busy_secs: 40_000.0,
            cpu_idle_secs: 160_000.0,
            mem_waiting_secs: 12.0,
            cpu_waiting_secs: 30.0,
            advanced_at: now,
        }
    }

    fn advance(&mut self, now: f64) {
        let dt = (now - self.advanced_at).max(0.0);
        self.advanced_at = now;
        let cpu = self.load.cpu.clamp(0.0, 1.0);
        self.cpu_busy_secs += dt * cpu * f64::from(CPUS);
        self.cpu_idle_secs += dt * (1.0 - cpu) * f64::from(CPUS);
        self.mem_waiting_secs += dt * self.load.memory_pressure.max(0.0);
        self.cpu_waiting_secs += dt * self.load.cpu_pressure.max(0.0);
    }

    /// The value a query for `m` sees now, with a little wobble so graphs look like graphs.
    fn gauge(&self, m: Metric, now: f64) -> f64 {
        if m == Metric::Up {
            return 1.0;
        }
        if self.nan {
            return f64::NAN;
        }
        let wobble = 0.015 * (now / 37.0).sin();
        match m {
            Metric::Memory => (self.load.memory + wobble).clamp(0.0, 1.0),
            Metric::Cpu => (self.load.cpu + 2.0 * wobble).clamp(0.0, 1.0),
            Metric::MemoryPressure => self.load.memory_pressure.max(0.0),
            Metric::CpuPressure => self.load.cpu_pressure.max(0.0),
            Metric::LoadPerCore => (self.load.cpu * 1.2 + self.load.cpu_pressure).max(0.0),
            Metric::Up => 1.0,
        }
    }
}

/// Switches that make the simulated Prometheus misbehave.
#[derive(Clone, Debug, Default)]
pub struct PromFaults {
    /// Unreachable: every path answers 503 like the ingress in front of it did.
    pub down: bool,
    /// Answer the next N queries with a 422 execution error.
    pub fail_next: u32,
}

struct Inner {
    nodes: BTreeMap<String, SimNode>,
    /// What Prometheus recorded: (unix seconds, node → gauges).
    history: VecDeque<(f64, BTreeMap<String, [f64; 6]>)>,
    faults: PromFaults,
    queries: u64,
}

const METRICS: [Metric; 6] = [
    Metric::Memory,
    Metric::Cpu,
    Metric::MemoryPressure,
    Metric::CpuPressure,
    Metric::LoadPerCore,
    Metric::Up,
];
/// Prometheus' lookback: a series with no sample in the last five minutes is absent.
const LOOKBACK_SECS: f64 = 300.0;
const KEEP_SECS: f64 = 6.0 * 3600.0;

/// A handle on the simulated nodes and their Prometheus.
#[derive(Clone)]
pub struct NodesSim {
    inner: Arc<Mutex<Inner>>,
}

pub fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

impl NodesSim {
    /// Nodes with quiet loads and `backfill_secs` of recorded history every 15 s, as if
    /// Prometheus had been scraping them before the simulation started.
    pub fn new(names: &[&str], backfill_secs: u64) -> Self {
        let now = unix_now();
        let nodes: BTreeMap<String, SimNode> = names
            .iter()
            .map(|n| (n.to_string(), SimNode::new(now)))
            .collect();
        let sim = NodesSim {
            inner: Arc::new(Mutex::new(Inner {
                nodes,
                history: VecDeque::new(),
                faults: PromFaults::default(),
                queries: 0,
            })),
        };
        let mut t = now - backfill_secs as f64;
        while t < now {
            sim.record_at(t);
            t += 15.0;
        }
        sim
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().expect("nodes sim poisoned")
    }

    pub fn names(&self) -> Vec<String> {
        self.lock().nodes.keys().cloned().collect()
    }

    pub fn load(&self, node: &str) -> Option<Load> {
        self.lock().nodes.get(node).map(|n| n.load)
    }

    pub fn set_load(&self, node: &str, load: Load) {
        let now = unix_now();
        if let Some(n) = self.lock().nodes.get_mut(node) {
            n.advance(now);
            n.load = load;
        }
    }

    /// Takes a node away (its exporter stops answering, Prometheus stops seeing it) or back.
    pub fn set_present(&self, node: &str, present: bool) {
        if let Some(n) = self.lock().nodes.get_mut(node) {
            n.present = present;
        }
    }

    pub fn set_nan(&self, node: &str, nan: bool) {
        if let Some(n) = self.lock().nodes.get_mut(node) {
            n.nan = nan;
        }
    }

    /// Restarts a node's exporter: every counter starts again from zero.
    pub fn restart_exporter(&self, node: &str) {
        let now = unix_now();
        if let Some(n) = self.lock().nodes.get_mut(node) {
            *n = SimNode {
                load: n.load,
                present: n.present,
                nan: n.nan,
                cpu_busy_secs: 0.0,
                cpu_idle_secs: 0.0,
                mem_waiting_secs: 0.0,
                cpu_waiting_secs: 0.0,
                advanced_at: now,
            };
        }
    }

    pub fn set_prometheus_faults(&self, faults: PromFaults) {
        self.lock().faults = faults;
    }

    pub fn set_prometheus_down(&self, down: bool) {
        self.lock().faults.down = down;
    }

    /// Queries answered so far.
    pub fn queries(&self) -> u64 {
        self.lock().queries
    }

    /// Records one scrape of every present node into Prometheus' history.
    pub fn record(&self) {
        self.record_at(unix_now());
    }

    fn record_at(&self, t: f64) {
        let mut inner = self.lock();
        if inner.faults.down {
            // Prometheus itself is unreachable: nothing is scraped, the graphs get a gap.
            return;
        }
        let sample: BTreeMap<String, [f64; 6]> = inner
            .nodes
            .iter()
            .filter(|(_, n)| n.present)
            .map(|(name, n)| (name.clone(), METRICS.map(|m| n.gauge(m, t))))
            .collect();
        inner.history.push_back((t, sample));
        while inner
            .history
            .front()
            .is_some_and(|(at, _)| *at < t - KEEP_SECS)
        {
            inner.history.pop_front();
        }
    }

    /// Records every `every` until the process ends.
    pub fn spawn_recorder(&self, every: Duration) {
        let sim = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            loop {
                tick.tick().await;
                sim.record();
            }
        });
    }

    /// node_exporter's `/metrics` for one node, or None when the node is gone.
    pub fn exposition(&self, node: &str) -> Option<String> {
        let now = unix_now();
        let mut inner = self.lock();
        let n = inner.nodes.get_mut(node).filter(|n| n.present)?;
        n.advance(now);
        let memory = n.gauge(Metric::Memory, now);
        let available = MEM_TOTAL * (1.0 - memory);
        let mut out = String::with_capacity(4096);
        let mut family = |name: &str, kind: &str, help: &str, samples: &[(String, f64)]| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
            for (labels, v) in samples {
                let _ = writeln!(out, "{name}{labels} {}", fmt_value(*v));
            }
        };
        family(
            "node_memory_MemTotal_bytes",
            "gauge",
            "Memory information field MemTotal_bytes.",
            &[(String::new(), MEM_TOTAL)],
        );
        family(
            "node_memory_MemAvailable_bytes",
            "gauge",
            "Memory information field MemAvailable_bytes.",
            &[(String::new(), available)],
        );
        family(
            "node_memory_Active_bytes",
            "gauge",
            "Memory information field Active_bytes.",
            &[(String::new(), MEM_TOTAL * memory * 0.9)],
        );
        let per_cpu = f64::from(CPUS);
        let mut cpu = Vec::new();
        for c in 0..CPUS {
            let l = |mode: &str| format!("{{cpu=\"{c}\",mode=\"{mode}\"}}");
            cpu.push((l("idle"), n.cpu_idle_secs / per_cpu));
            cpu.push((l("iowait"), 0.0));
            cpu.push((l("steal"), 0.0));
            cpu.push((l("system"), n.cpu_busy_secs / per_cpu * 0.3));
            cpu.push((l("user"), n.cpu_busy_secs / per_cpu * 0.7));
        }
        family(
            "node_cpu_seconds_total",
            "counter",
            "Seconds the CPUs spent in each mode.",
            &cpu,
        );
        family(
            "node_load1",
            "gauge",
            "1m load average.",
            &[(String::new(), n.gauge(Metric::LoadPerCore, now) * per_cpu)],
        );
        family(
            "node_pressure_memory_waiting_seconds_total",
            "counter",
            "Total time in seconds that processes have waited for memory",
            &[(String::new(), n.mem_waiting_secs)],
        );
        family(
            "node_pressure_memory_stalled_seconds_total",
            "counter",
            "Total time in seconds no process could make progress due to memory congestion",
            &[(String::new(), n.mem_waiting_secs * 0.4)],
        );
        family(
            "node_pressure_cpu_waiting_seconds_total",
            "counter",
            "Total time in seconds that processes have waited for CPU time",
            &[(String::new(), n.cpu_waiting_secs)],
        );
        family(
            "node_exporter_build_info",
            "gauge",
            "A metric with a constant '1' value labeled by version from which node_exporter was built.",
            &[("{version=\"1.8.2\"}".into(), 1.0)],
        );
        Some(out)
    }

    /// node_exporter for one node: `/metrics`, refusing with 503 while the node is gone.
    pub fn exporter_router(&self, node: &str) -> Router {
        let node = node.to_string();
        Router::new()
            .route(
                "/metrics",
                get(move |State(sim): State<NodesSim>| async move {
                    match sim.exposition(&node) {
                        Some(text) => (
                            [(
                                header::CONTENT_TYPE,
                                "text/plain; version=0.0.4; charset=utf-8",
                            )],
                            text,
                        )
                            .into_response(),
                        None => (StatusCode::SERVICE_UNAVAILABLE, "node is gone\n").into_response(),
                    }
                }),
            )
            .with_state(self.clone())
    }

    pub fn prometheus_router(&self) -> Router {
        Router::new()
            .route("/-/healthy", get(healthy))
            .route("/-/ready", get(healthy))
            .route("/api/v1/query", get(query).post(query))
            .route("/api/v1/query_range", get(query_range).post(query_range))
            .fallback(|State(sim): State<NodesSim>| async move {
                if sim.lock().faults.down {
                    return unavailable();
                }
                (StatusCode::NOT_FOUND, "404 page not found\n").into_response()
            })
            .with_state(self.clone())
    }

    /// Serves the Prometheus API on a free port; returns its base URL.
    pub async fn serve_prometheus(&self) -> std::io::Result<String> {
        serve_free(self.prometheus_router()).await
    }

    /// Serves one node's exporter on a free port; returns its `/metrics` URL.
    pub async fn serve_exporter(&self, node: &str) -> std::io::Result<String> {
        Ok(format!(
            "{}/metrics",
            serve_free(self.exporter_router(node)).await?
        ))
    }

    /// Answers `metric` at time `t` from the recorded history (None when nothing was recorded
    /// within the lookback).
    fn at(&self, inner: &Inner, metric: Metric, t: f64) -> Vec<(String, f64)> {
        let i = inner.history.partition_point(|(at, _)| *at <= t);
        if i == 0 {
            return Vec::new();
        }
        let (at, sample) = &inner.history[i - 1];
        if t - at > LOOKBACK_SECS {
            return Vec::new();
        }
        let idx = METRICS.iter().position(|m| *m == metric).expect("listed");
        sample.iter().map(|(n, v)| (n.clone(), v[idx])).collect()
    }
}

pub(crate) async fn serve_free(app: Router) -> std::io::Result<String> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr: SocketAddr = listener.local_addr()?;
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(format!("http://{addr}"))
}

/// Prometheus renders values as strings: "NaN", "+Inf", shortest round-trip decimals.
fn fmt_value(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        if v > 0.0 { "+Inf" } else { "-Inf" }.into()
    } else {
        format!("{v}")
    }
}

fn labels(node: &str) -> Value {
    json!({ "instance": format!("{node}:9100"), "job": "node" })
}

fn unavailable() -> Response {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        "<html><body><h1>503 Service Temporarily Unavailable</h1></body></html>\n",
    )
        .into_response()
}

fn api_error(code: StatusCode, kind: &str, msg: &str) -> Response {
    (
        code,
        Json(json!({ "status": "error", "errorType": kind, "error": msg })),
    )
        .into_response()
}

async fn healthy(State(sim): State<NodesSim>) -> Response {
    if sim.lock().faults.down {
        return unavailable();
    }
    (StatusCode::OK, "Prometheus Server is Healthy.\n").into_response()
}

/// Parses a Prometheus time or duration parameter: float seconds, or "15s", "1m", "2h".
fn parse_secs(s: &str) -> Option<f64> {
    if let Ok(v) = s.parse::<f64>() {
        return Some(v);
    }
    let (num, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit())?);
    let n: f64 = num.parse().ok()?;
    let mult = match unit {
        "ms" => 0.001,
        "s" => 1.0,
        "m" => 60.0,
        "h" => 3600.0,
        "d" => 86400.0,
        _ => return None,
    };
    Some(n * mult)
}

#[derive(Deserialize)]
struct QueryParams {
    query: Option<String>,
    time: Option<String>,
    start: Option<String>,
    end: Option<String>,
    step: Option<String>,
}

/// Common gate: reachability, injected failures, a query we know. Err is the response to send.
fn prepare(sim: &NodesSim, p: &QueryParams) -> Result<Metric, Response> {
    let mut inner = sim.lock();
    inner.queries += 1;
    if inner.faults.down {
        return Err(unavailable());
    }
    if inner.faults.fail_next > 0 {
        inner.faults.fail_next -= 1;
        return Err(api_error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "execution",
            "query processing would load too many samples into memory in query execution",
        ));
    }
    let Some(q) = p.query.as_deref().filter(|q| !q.trim().is_empty()) else {
        return Err(api_error(
            StatusCode::BAD_REQUEST,
            "bad_data",
            "invalid parameter \"query\": unknown position: parse error: no expression found in input",
        ));
    };
    Metric::of_query(q).ok_or_else(|| {
        api_error(
            StatusCode::BAD_REQUEST,
            "bad_data",
            &format!("invalid parameter \"query\": vigil-sim only answers the standard node queries, not {q:?}"),
        )
    })
}

async fn query(State(sim): State<NodesSim>, Form(p): Form<QueryParams>) -> Response {
    let metric = match prepare(&sim, &p) {
        Ok(m) => m,
        Err(r) => return r,
    };
    let t = match p.time.as_deref().map(parse_secs) {
        None => unix_now(),
        Some(Some(t)) => t,
        Some(None) => {
            return api_error(
                StatusCode::BAD_REQUEST,
                "bad_data",
                "invalid parameter \"time\": cannot parse to a valid timestamp",
            )
        }
    };
    let inner = sim.lock();
    let result: Vec<Value> = sim
        .at(&inner, metric, t)
        .into_iter()
        .map(|(node, v)| json!({ "metric": labels(&node), "value": [t, fmt_value(v)] }))
        .collect();
    Json(json!({ "status": "success", "data": { "resultType": "vector", "result": result } }))
        .into_response()
}

async fn query_range(State(sim): State<NodesSim>, Form(p): Form<QueryParams>) -> Response {
    let metric = match prepare(&sim, &p) {
        Ok(m) => m,
        Err(r) => return r,
    };
    let parsed = |name: &str, v: &Option<String>| {
        v.as_deref().and_then(parse_secs).ok_or_else(|| {
            api_error(
                StatusCode::BAD_REQUEST,
                "bad_data",
                &format!("invalid parameter \"{name}\": cannot parse {v:?} to a valid timestamp"),
            )
        })
    };
    let (start, end, step) = match (
        parsed("start", &p.start),
        parsed("end", &p.end),
        parsed("step", &p.step),
    ) {
        (Ok(s), Ok(e), Ok(st)) => (s, e, st),
        (Err(r), _, _) | (_, Err(r), _) | (_, _, Err(r)) => return r,
    };
    if end < start {
        return api_error(
            StatusCode::BAD_REQUEST,
            "bad_data",
            "invalid parameter \"end\": end timestamp must not be before start time",
        );
    }
    if step <= 0.0 {
        return api_error(
            StatusCode::BAD_REQUEST,
            "bad_data",
            "invalid parameter \"step\": zero or negative query resolution step widths are not accepted. Try a positive integer",
        );
    }
    if (end - start) / step > 11_000.0 {
        return api_error(
            StatusCode::BAD_REQUEST,
            "bad_data",
            "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)",
        );
    }
    let inner = sim.lock();
    let mut series: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    let mut t = start;
    while t <= end {
        for (node, v) in sim.at(&inner, metric, t) {
            series
                .entry(node)
                .or_default()
                .push(json!([t, fmt_value(v)]));
        }
        t += step;
    }
    let result: Vec<Value> = series
        .into_iter()
        .map(|(node, values)| json!({ "metric": labels(&node), "values": values }))
        .collect();
    Json(json!({ "status": "success", "data": { "resultType": "matrix", "result": result } }))
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_standard_queries_are_recognised() {
        let q = |s| Metric::of_query(s);
        assert_eq!(
            q("1 - node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes"),
            Some(Metric::Memory)
        );
        assert_eq!(
            q(
                r#"1 - avg without (cpu) (sum without (mode) (rate(node_cpu_seconds_total{mode=~"idle|iowait|steal"}[5m])))"#
            ),
            Some(Metric::Cpu)
        );
        assert_eq!(
            q(r#"node_load1 / count without (cpu, mode) (node_cpu_seconds_total{mode="idle"})"#),
            Some(Metric::LoadPerCore)
        );
        assert_eq!(
            q("rate(node_pressure_memory_waiting_seconds_total[5m])"),
            Some(Metric::MemoryPressure)
        );
        assert_eq!(q(r#"up{job="node"}"#), Some(Metric::Up));
        assert_eq!(q("sum(http_requests_total)"), None);
    }

    #[test]
    fn counters_accumulate_and_reset_on_restart() {
        let sim = NodesSim::new(&["a"], 0);
        let read = |sim: &NodesSim| {
            let text = sim.exposition("a").unwrap();
            text.lines()
                .find(|l| l.starts_with("node_cpu_seconds_total{cpu=\"0\",mode=\"user\"}"))
                .and_then(|l| l.rsplit(' ').next())
                .unwrap()
                .parse::<f64>()
                .unwrap()
        };
        let before = read(&sim);
        assert!(before > 1000.0);
        sim.restart_exporter("a");
        assert!(read(&sim) < 1.0);
        sim.set_present("a", false);
        assert!(sim.exposition("a").is_none());
    }

    #[test]
    fn history_answers_within_the_lookback_only() {
        let sim = NodesSim::new(&["a", "b"], 600);
        let inner = sim.lock();
        let now = unix_now();
        assert_eq!(sim.at(&inner, Metric::Memory, now).len(), 2);
        assert!(sim.at(&inner, Metric::Memory, now - 3600.0).is_empty());
    }
    #[test]
    fn a_new_load_is_what_the_next_query_sees() {
        let sim = NodesSim::new(&["a", "b"], 600);
        sim.set_load(
            "b",
            Load {
                memory: 0.97,
                cpu: 0.9,
                memory_pressure: 0.5,
                cpu_pressure: 0.1,
            },
        );
        sim.record();
        let inner = sim.lock();
        let v = sim.at(&inner, Metric::Memory, unix_now());
        assert!(v.iter().any(|(n, v)| n == "b" && *v > 0.9), "{v:?}");
    }
}
