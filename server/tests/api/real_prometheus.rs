//! Against the real thing: Debian's `prometheus` scraping Debian's `prometheus-node-exporter`,
//! both started on 127.0.0.1 for the test (`./scripts/test` installs them). Vigil's node graphs
//! (through Prometheus and straight from node_exporter: one node), its Prometheus probe, and a
//! Prometheus objective read what a real Prometheus answers, not what the simulator says it
//! would.

use std::{
    net::TcpListener,
    path::PathBuf,
    process::{Child, Command, Stdio},
    sync::Arc,
    time::Duration,
};

use serde_json::Value;
use vigil_core::model::{
    auth::Scope,
    monitor::{Check, MonitorSpec, Outcome},
    resource::Metric,
};
use vigil_server::{
    config::resources::{NodeExporterConfig, PrometheusConfig},
    probes::check::Probers,
    resources::sink::Sink,
    sources::{node_exporter, prometheus},
};

use crate::common::{access::create_token, eventually, spawn_app, spawn_app_with_toml};

/// A process stopped with the test.
struct Running(Child, PathBuf);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
        let _ = std::fs::remove_dir_all(&self.1);
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn start(program: &str, args: &[String], dir: PathBuf) -> Running {
    let child = Command::new(program)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| {
            panic!(
                "cannot start {program} ({e}): install Debian's prometheus and \
                 prometheus-node-exporter (./scripts/test does)"
            )
        });
    Running(child, dir)
}

/// A real node_exporter, and a real Prometheus scraping it every second as the node
/// `lke-node-a` (its `instance` label, with a port, as Kubernetes service discovery writes
/// it), itself, and a target that is down.
struct RealPrometheus {
    url: String,
    exporter: String,
    _procs: (Running, Running),
}

async fn real_prometheus() -> RealPrometheus {
    let (exporter_port, prom_port, down_port) = (free_port(), free_port(), free_port());
    let dir = std::env::temp_dir().join(format!("vigil-prometheus-{prom_port}"));
    std::fs::create_dir_all(&dir).unwrap();
    let exporter = start(
        "prometheus-node-exporter",
        &[format!("--web.listen-address=127.0.0.1:{exporter_port}")],
        dir.join("none"),
    );
    let config = dir.join("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n\
             scrape_configs:\n\
             - job_name: node\n  static_configs:\n  - targets: ['127.0.0.1:{exporter_port}']\n    labels:\n      instance: 'lke-node-a:9100'\n\
             - job_name: prometheus\n  static_configs:\n  - targets: ['127.0.0.1:{prom_port}']\n\
             - job_name: down\n  static_configs:\n  - targets: ['127.0.0.1:{down_port}']\n"
        ),
    )
    .unwrap();
    let prom = start(
        "prometheus",
        &[
            format!("--config.file={}", config.display()),
            format!("--storage.tsdb.path={}", dir.join("data").display()),
            format!("--web.listen-address=127.0.0.1:{prom_port}"),
        ],
        dir,
    );
    let url = format!("http://127.0.0.1:{prom_port}");
    let http = reqwest::Client::new();
    // Ready once the node's CPU counters have two samples (a rate needs them).
    eventually(60, "Prometheus scraping node_exporter", || async {
        let q = query(&http, &url, "count(rate(node_cpu_seconds_total[1m]))").await;
        let n = q["data"]["result"][0]["value"][1]
            .as_str()
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0);
        (n > 0.0).then_some(()).ok_or(q)
    })
    .await;
    RealPrometheus {
        url,
        exporter: format!("http://127.0.0.1:{exporter_port}/metrics"),
        _procs: (exporter, prom),
    }
}

async fn query(http: &reqwest::Client, url: &str, q: &str) -> Value {
    match http
        .get(format!("{url}/api/v1/query"))
        .query(&[("query", q)])
        .send()
        .await
    {
        Ok(r) => r.json().await.unwrap_or(Value::Null),
        Err(_) => Value::Null,
    }
}

async fn scalar_at(http: &reqwest::Client, url: &str, q: &str, at: f64) -> f64 {
    let v: Value = http
        .get(format!("{url}/api/v1/query"))
        .query(&[("query", q), ("time", &at.to_string())])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    v["data"]["result"][0]["value"][1]
        .as_str()
        .unwrap()
        .parse()
        .unwrap()
}

#[tokio::test]
async fn node_graphs_and_the_probe_read_a_real_prometheus_and_node_exporter_as_one_node() {
    let real = real_prometheus().await;
    let app = spawn_app().await;
    let sink = Arc::new(Sink::new(app.pool.clone(), vec![]).await.unwrap());
    let prom: PrometheusConfig = toml::from_str(&format!(
        "name = \"main\"\nurl = \"{}\"\nbackfill_hours = 1",
        real.url
    ))
    .unwrap();
    let mut through_prometheus = prometheus::Collector::new(prom, sink.clone(), app.pool.clone());
    let stored = through_prometheus.round().await.unwrap();
    assert!(stored > 0, "samples through Prometheus");
    let direct: NodeExporterConfig = toml::from_str(&format!(
        "node = \"lke-node-a\"\nurl = \"{}\"",
        real.exporter
    ))
    .unwrap();
    let mut exporter = node_exporter::Collector::new(direct, sink, app.pool.clone());
    // Rates need two scrapes.
    exporter.scrape().await.unwrap();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    exporter.scrape().await.unwrap();

    // `lke-node-a:9100` through Prometheus and `lke-node-a` straight: one node.
    let nodes: Vec<String> = sqlx::query_scalar("SELECT name FROM resource_nodes ORDER BY name")
        .fetch_all(&app.pool)
        .await
        .unwrap();
    assert_eq!(nodes, ["lke-node-a"]);
    // Both sources wrote the node's memory, and it reads as a share of the real machine's.
    for metric in [Metric::Memory, Metric::Cpu, Metric::Load] {
        let v: Option<f64> = sqlx::query_scalar(
            "SELECT s.value FROM resource_samples s JOIN resource_nodes n ON n.id = s.node_id \
             WHERE n.name = 'lke-node-a' AND s.metric = $1 ORDER BY s.at DESC LIMIT 1",
        )
        .bind(metric.id())
        .fetch_optional(&app.pool)
        .await
        .unwrap();
        let v = v.unwrap_or_else(|| panic!("{metric:?} stored"));
        assert!(v.is_finite() && v >= 0.0, "{metric:?} = {v}");
        if metric == Metric::Memory {
            assert!(v > 0.0 && v < 1.0, "memory used share {v}");
        }
    }

    // The probe: Prometheus healthy, its node target up, the `down` job's target down.
    let p = Probers::new(1 << 20, Default::default());
    let spec = |up: Option<&str>| MonitorSpec {
        name: "prometheus".into(),
        component: "metrics".into(),
        interval: Duration::from_secs(30),
        timeout: Duration::from_secs(5),
        check: Check::Prometheus {
            base_url: real.url.clone(),
            up_query: up.map(Into::into),
        },
        regions: vec!["local".into()],
        quorum: 1,
        via: vec![],
    };
    assert_eq!(p.check(1, &spec(None)).await.outcome, Outcome::Ok);
    assert_eq!(
        p.check(1, &spec(Some("up{job=\"node\"}"))).await.outcome,
        Outcome::Ok
    );
    let down = p.check(1, &spec(Some("up{job=\"down\"}"))).await;
    assert_eq!(down.outcome, Outcome::Failed);
    assert!(down.error.unwrap().1.contains("targets down"));
}

#[tokio::test]
async fn a_prometheus_objective_counts_the_real_counters_and_says_when_it_cannot() {
    let real = real_prometheus().await;
    let http = reqwest::Client::new();
    // Requests Prometheus answers: good ones, and refused queries (HTTP 400).
    for i in 0..20 {
        let q = if i % 4 == 0 { "sum(" } else { "up" };
        let _ = query(&http, &real.url, q).await;
    }
    let good = r#"prometheus_http_requests_total{code="200"}"#;
    let total = "prometheus_http_requests_total";
    let toml = format!(
        "[slo]\nevaluate_every_secs = 1\n\n\
         [[prometheus]]\nname = \"main\"\nurl = \"{url}\"\ninterval_secs = 60\n\n\
         [[prometheus]]\nname = \"gone\"\nurl = \"http://127.0.0.1:9\"\ninterval_secs = 60\ntimeout_ms = 500\n\n\
         [[component]]\nid = \"metrics\"\nname = \"Metrics\"\n\n\
         [[objective]]\nid = \"queries\"\nname = \"Queries answered\"\ncomponent = \"metrics\"\n\
         sli = \"prometheus\"\nprometheus = \"main\"\ngood = '{good}'\ntotal = '{total}'\ntarget = 99\nwindow = \"7d\"\n\n\
         [[objective]]\nid = \"unreachable\"\nname = \"From a Prometheus that is gone\"\ncomponent = \"metrics\"\n\
         sli = \"prometheus\"\nprometheus = \"gone\"\ngood = '{good}'\ntotal = '{total}'\ntarget = 99\n",
        url = real.url
    );
    let app = spawn_app_with_toml(&toml).await;
    let (_, reader) = create_token(&app, &[Scope::Read]).await;

    // Exactly what Prometheus itself says the counters rose by, at one instant.
    let cfg: PrometheusConfig =
        toml::from_str(&format!("name = \"main\"\nurl = \"{}\"", real.url)).unwrap();
    let events = prometheus::Events::new(&cfg, http.clone());
    // A counter's first sample is not an increase: refusals keep coming while it is read.
    let (c, secs) = eventually(30, "the refused queries scraped", || async {
        let _ = query(&http, &real.url, "sum(").await;
        let at = chrono::Utc::now() - chrono::Duration::seconds(1);
        let c = events.counts(good, total, 3600, at).await.unwrap();
        (c.total > c.good)
            .then_some((c, at.timestamp_millis() as f64 / 1000.0))
            .ok_or(c)
    })
    .await;
    let want = |sel: &str| {
        let q = format!("sum(increase({sel}[3600s]))");
        let http = http.clone();
        let url = real.url.clone();
        async move { scalar_at(&http, &url, &q, secs).await.round() as i64 }
    };
    assert_eq!(c.good, want(good).await);
    assert_eq!(c.total, want(total).await);

    // Through the API: figures from the real counters, the budget burning from the refusals.
    let v = eventually(20, "the objective judged", || async {
        let v = app.get_json("/api/v1/slos/queries", &reader).await;
        (v["total"].as_i64().unwrap_or(0) > 0)
            .then_some(v.clone())
            .ok_or(v)
    })
    .await;
    assert_eq!(v["sli"], "prometheus");
    assert_eq!(v["error"], Value::Null);
    assert_eq!(v["maintenance_excluded"], false);
    assert!(
        v["good"].as_i64().unwrap() < v["total"].as_i64().unwrap(),
        "{v}"
    );
    assert!(!v["burn_down"].as_array().unwrap().is_empty(), "{v}");
    assert!(v["burn_rate_now"].as_f64().unwrap() > 0.0, "{v}");
    let report = app.get_json("/api/v1/slos/queries/report", &reader).await;
    assert_eq!(report["sli"], "prometheus");
    assert!(report["total"].as_i64().unwrap() > 0, "{report}");

    // A Prometheus that does not answer: said on the objective, never read as met.
    let gone = app.get_json("/api/v1/slos/unreachable", &reader).await;
    assert!(
        gone["error"]
            .as_str()
            .unwrap()
            .contains("cannot reach Prometheus"),
        "{gone}"
    );
    assert_eq!(gone["met"], false);
    assert_eq!(gone["total"], 0);
}
