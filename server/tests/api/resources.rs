//! Node resources against the simulator: Prometheus (backfill, errors, NaN, a node that
//! disappears), node_exporter (counter resets), rollups checked against raw rows, alert rules,
//! source staleness, and the JSON API.

use crate::common;

use std::{sync::Arc, time::Duration};

use crate::common::{access::create_token, eventually, spawn_app, spawn_app_with_toml};
use chrono::{DateTime, Utc};
use vigil_core::{
    model::{
        auth::Scope,
        resource::{AlertRule, Metric},
    },
    store::{correlation, resources},
};
use vigil_server::{
    config::resources::{NodeExporterConfig, PrometheusConfig},
    resources::sink::{Reading, Sink},
    sources::{node_exporter, prometheus},
};
use vigil_sim::nodes::{Load, NodesSim, PromFaults};

fn prom_config(url: &str) -> PrometheusConfig {
    toml::from_str(&format!(
        "name = \"sim\"\nurl = \"{url}\"\ninterval_secs = 5\nbackfill_hours = 1"
    ))
    .unwrap()
}

async fn count(pool: &sqlx::PgPool, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(pool).await.unwrap()
}

async fn latest(pool: &sqlx::PgPool, node: &str, metric: Metric) -> Option<f64> {
    sqlx::query_scalar(
        "SELECT s.value FROM resource_samples s JOIN resource_nodes n ON n.id = s.node_id \
         WHERE n.name = $1 AND s.metric = $2 ORDER BY s.at DESC LIMIT 1",
    )
    .bind(node)
    .bind(metric.id())
    .fetch_optional(pool)
    .await
    .unwrap()
}

#[tokio::test]
async fn prometheus_backfills_then_follows_the_nodes() {
    let app = spawn_app().await;
    // Ten minutes of history Vigil never saw: the first round fetches it with query_range.
    let sim = NodesSim::new(&["lke-node-a", "lke-node-b"], 600);
    let url = sim.serve_prometheus().await.unwrap();
    let sink = Arc::new(Sink::new(app.pool.clone(), vec![]).await.unwrap());
    let mut c = prometheus::Collector::new(prom_config(&url), sink, app.pool.clone());
    let stored = c.round().await.unwrap();
    // 10 min every 5 s ≈ 120 points × 2 nodes × 5 metrics, plus the instant values.
    assert!(stored >= 1000, "backfill stored {stored}");
    let oldest: DateTime<Utc> = sqlx::query_scalar("SELECT min(at) FROM resource_samples")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert!(Utc::now() - oldest > chrono::Duration::minutes(8));
    // Everything node_exporter measures (requests_ratio comes from a [[kubernetes]] source).
    for metric in Metric::EXPORTED {
        assert!(
            latest(&app.pool, "lke-node-b", metric).await.is_some(),
            "{metric:?}"
        );
    }

    sim.set_load(
        "lke-node-b",
        Load {
            memory: 0.97,
            cpu: 0.95,
            memory_pressure: 0.8,
            cpu_pressure: 0.5,
        },
    );
    sim.record();
    // Queries name their time in milliseconds: let the recording fall strictly before it.
    tokio::time::sleep(Duration::from_millis(5)).await;
    let second = c.round().await.unwrap();
    assert!(
        second <= 10,
        "no second backfill right after the first: {second}"
    );
    assert!(
        latest(&app.pool, "lke-node-b", Metric::Memory)
            .await
            .unwrap()
            > 0.9
    );
    assert!(
        latest(&app.pool, "lke-node-a", Metric::Memory)
            .await
            .unwrap()
            < 0.6
    );
}

#[tokio::test]
async fn prometheus_errors_nan_and_a_vanishing_node() {
    let app = spawn_app().await;
    let sim = NodesSim::new(&["lke-node-a", "lke-node-b"], 60);
    let url = sim.serve_prometheus().await.unwrap();
    let sink = Arc::new(Sink::new(app.pool.clone(), vec![]).await.unwrap());
    let mut c = prometheus::Collector::new(prom_config(&url), sink, app.pool.clone());

    sim.set_prometheus_faults(PromFaults {
        down: false,
        fail_next: 1,
    });
    let err = c.round().await.unwrap_err().to_string();
    assert!(err.contains("422") && err.contains("execution"), "{err}");

    sim.set_prometheus_down(true);
    let err = c.round().await.unwrap_err().to_string();
    assert!(err.contains("503"), "{err}");
    sim.set_prometheus_down(false);

    // A broken collector on node b: its NaN values are not stored as numbers.
    sim.set_nan("lke-node-b", true);
    sim.record();
    // Queries name their time in milliseconds: let the recording fall strictly before it.
    tokio::time::sleep(Duration::from_millis(5)).await;
    c.round().await.unwrap();
    let bad = count(
        &app.pool,
        "SELECT count(*) FROM resource_samples WHERE value = 'NaN'::float8 OR value = 'Infinity'::float8",
    )
    .await;
    assert_eq!(bad, 0);
    sim.set_nan("lke-node-b", false);

    // Node b disappears: Prometheus stops returning it; node a goes on.
    sim.set_present("lke-node-b", false);
    sim.record();
    // Queries name their time in milliseconds: let the recording fall strictly before it.
    tokio::time::sleep(Duration::from_millis(5)).await;
    let before_b = count(&app.pool, "SELECT count(*) FROM resource_samples s JOIN resource_nodes n ON n.id = s.node_id WHERE n.name = 'lke-node-b'").await;
    let before_a = count(&app.pool, "SELECT count(*) FROM resource_samples s JOIN resource_nodes n ON n.id = s.node_id WHERE n.name = 'lke-node-a'").await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    c.round().await.unwrap();
    let after_b = count(&app.pool, "SELECT count(*) FROM resource_samples s JOIN resource_nodes n ON n.id = s.node_id WHERE n.name = 'lke-node-b'").await;
    let after_a = count(&app.pool, "SELECT count(*) FROM resource_samples s JOIN resource_nodes n ON n.id = s.node_id WHERE n.name = 'lke-node-a'").await;
    assert_eq!(after_b, before_b, "nothing new for the vanished node");
    assert!(after_a > before_a);
    // ...and the nodes list calls it stale once its samples are older than the limit.
    let nodes = resources::nodes(
        &app.pool,
        Utc::now() + chrono::Duration::seconds(1),
        chrono::Duration::milliseconds(1500),
    )
    .await
    .unwrap();
    let b = nodes.iter().find(|n| n.name == "lke-node-b").unwrap();
    let a = nodes.iter().find(|n| n.name == "lke-node-a").unwrap();
    assert!(b.stale && !a.stale, "{nodes:?}");
}

#[tokio::test]
async fn node_exporter_rates_survive_a_counter_reset() {
    let app = spawn_app().await;
    let sim = NodesSim::new(&["lke-node-a"], 0);
    sim.set_load(
        "lke-node-a",
        Load {
            memory: 0.7,
            cpu: 0.5,
            memory_pressure: 0.2,
            cpu_pressure: 0.0,
        },
    );
    let url = sim.serve_exporter("lke-node-a").await.unwrap();
    let cfg: NodeExporterConfig =
        toml::from_str(&format!("node = \"lke-node-a\"\nurl = \"{url}\"")).unwrap();
    let sink = Arc::new(Sink::new(app.pool.clone(), vec![]).await.unwrap());
    let mut c = node_exporter::Collector::new(cfg, sink, app.pool.clone());
    assert_eq!(
        c.scrape().await.unwrap(),
        2,
        "memory and load; rates need a second scrape"
    );
    tokio::time::sleep(Duration::from_millis(600)).await;
    c.scrape().await.unwrap();
    let cpu = latest(&app.pool, "lke-node-a", Metric::Cpu).await.unwrap();
    assert!((cpu - 0.5).abs() < 0.1, "cpu {cpu}");
    let mem = latest(&app.pool, "lke-node-a", Metric::Memory)
        .await
        .unwrap();
    assert!((mem - 0.7).abs() < 0.05, "memory {mem}");
    let pressure = latest(&app.pool, "lke-node-a", Metric::MemoryPressure)
        .await
        .unwrap();
    assert!((pressure - 0.2).abs() < 0.05, "pressure {pressure}");

    sim.restart_exporter("lke-node-a");
    tokio::time::sleep(Duration::from_millis(600)).await;
    c.scrape().await.unwrap();
    let all_cpu: Vec<f64> =
        sqlx::query_scalar("SELECT value FROM resource_samples WHERE metric = 2")
            .fetch_all(&app.pool)
            .await
            .unwrap();
    assert!(
        all_cpu.iter().all(|v| (0.0..=1.0).contains(v)),
        "{all_cpu:?}"
    );
    let pressures: Vec<f64> =
        sqlx::query_scalar("SELECT value FROM resource_samples WHERE metric = 3")
            .fetch_all(&app.pool)
            .await
            .unwrap();
    assert!(pressures.iter().all(|v| *v >= 0.0), "{pressures:?}");

    sim.set_present("lke-node-a", false);
    let err = c.scrape().await.unwrap_err();
    assert!(err.contains("503"), "{err}");
}

#[tokio::test]
async fn rollups_agree_with_the_raw_rows_and_repeats_are_not_counted() {
    let app = spawn_app().await;
    let sink = Sink::new(app.pool.clone(), vec![]).await.unwrap();
    // Recent enough that the retention job (which runs at start-up) keeps it.
    let start = {
        use chrono::DurationRound;
        Utc::now()
            .duration_trunc(chrono::Duration::hours(1))
            .unwrap()
            - chrono::Duration::hours(4)
    };
    let readings: Vec<Reading> = (0..3 * 240)
        .map(|i| Reading {
            node: "n1".into(),
            metric: Metric::Memory,
            at: start + chrono::Duration::seconds(i * 15),
            // A wobbling, deterministic signal.
            value: 0.5 + 0.4 * ((i as f64) * 0.37).sin(),
        })
        .collect();
    assert_eq!(sink.submit("test", readings.clone()).await.unwrap(), 720);
    // Delivered again (an overlapping backfill): nothing new.
    assert_eq!(
        sink.submit("test", readings[100..200].to_vec())
            .await
            .unwrap(),
        0
    );
    for (table, bucket) in [
        ("resource_rollups_1m", "date_trunc('minute', at)"),
        (
            "resource_rollups_5m",
            "date_bin('5 minutes', at, 'epoch'::timestamptz)",
        ),
        ("resource_rollups_1h", "date_trunc('hour', at)"),
    ] {
        let mismatches = count(
            &app.pool,
            &format!(
                "SELECT count(*) FROM {table} r FULL JOIN ( \
                   SELECT node_id, metric, {bucket} AS bucket, count(*) AS n, \
                     avg(value) AS mean, min(value) AS lo, max(value) AS hi \
                   FROM resource_samples GROUP BY 1, 2, 3) raw \
                 USING (node_id, metric, bucket) \
                 WHERE r.n IS DISTINCT FROM raw.n OR abs(r.sum / r.n - raw.mean) > 1e-9 \
                   OR abs(r.min - raw.lo) > 1e-6 OR abs(r.max - raw.hi) > 1e-6"
            ),
        )
        .await;
        assert_eq!(mismatches, 0, "{table} disagrees with the raw rows");
    }
    assert_eq!(
        count(&app.pool, "SELECT count(*) FROM resource_rollups_1h").await,
        3
    );
    // A 30-day graph reads the hourly rollups: three points, not 720 rows.
    let s = resources::series(
        &app.pool,
        Some("n1"),
        Metric::Memory,
        start,
        start + chrono::Duration::days(30),
        15,
    )
    .await
    .unwrap();
    assert_eq!(s[0].points.len(), 3);
    assert_eq!(
        s[0].resolution,
        vigil_core::model::resource::Resolution::Hour
    );
    let raw = resources::series(
        &app.pool,
        Some("n1"),
        Metric::Memory,
        start,
        start + chrono::Duration::hours(1),
        15,
    )
    .await
    .unwrap();
    assert_eq!(raw[0].points.len(), 241);
}

#[tokio::test]
async fn alert_rules_raise_and_clear_events() {
    let app = spawn_app().await;
    let rule = AlertRule {
        metric: Metric::Memory,
        above: 0.9,
        for_secs: 30,
    };
    let sink = Sink::new(app.pool.clone(), vec![rule.clone()])
        .await
        .unwrap();
    let t0 = Utc::now() - chrono::Duration::minutes(5);
    let r = |s: i64, v: f64| Reading {
        node: "lke-node-b".into(),
        metric: Metric::Memory,
        at: t0 + chrono::Duration::seconds(s),
        value: v,
    };
    sink.submit("test", vec![r(0, 0.95), r(15, 0.96)])
        .await
        .unwrap();
    assert_eq!(
        count(
            &app.pool,
            "SELECT count(*) FROM events WHERE kind = 'resource.alert'"
        )
        .await,
        0
    );
    sink.submit("test", vec![r(30, 0.97)]).await.unwrap();
    let payload: serde_json::Value =
        sqlx::query_scalar("SELECT payload FROM events WHERE kind = 'resource.alert'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(payload["firing"], true);
    assert_eq!(payload["node"], "lke-node-b");
    // A restarted Vigil remembers the alert is firing and does not raise it again.
    let restarted = Sink::new(app.pool.clone(), vec![rule]).await.unwrap();
    restarted.submit("test", vec![r(45, 0.98)]).await.unwrap();
    assert_eq!(
        count(
            &app.pool,
            "SELECT count(*) FROM events WHERE kind = 'resource.alert'"
        )
        .await,
        1
    );
    restarted.submit("test", vec![r(60, 0.4)]).await.unwrap();
    let last: serde_json::Value = sqlx::query_scalar(
        "SELECT payload FROM events WHERE kind = 'resource.alert' ORDER BY id DESC LIMIT 1",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(last["firing"], false);
}

#[tokio::test]
async fn a_silent_prometheus_goes_stale_with_an_alert_and_comes_back() {
    let sim = NodesSim::new(&["lke-node-a"], 60);
    let url = sim.serve_prometheus().await.unwrap();
    let app = spawn_app_with_toml(&format!(
        "[[prometheus]]\nname = \"main\"\nurl = \"{url}\"\ninterval_secs = 5\nstale_after_secs = 3\n"
    ))
    .await;
    let (_, token) = create_token(&app, &[Scope::Read]).await;
    let state = |app: &common::TestApp, token: String| {
        let app_url = app.url("/api/v1/sources");
        let client = app.client.clone();
        async move {
            let v: serde_json::Value = client
                .get(app_url)
                .bearer_auth(token)
                .send()
                .await
                .ok()?
                .json()
                .await
                .ok()?;
            v["sources"]
                .as_array()?
                .iter()
                .find(|s| s["name"] == "prometheus:main")
                .map(|s| s["state"].as_str().unwrap_or_default().to_string())
        }
    };
    eventually(15, "the source to be fresh", || {
        let f = state(&app, token.clone());
        async move { f.await.filter(|s| s == "fresh") }
    })
    .await;

    sim.set_prometheus_down(true);
    eventually(20, "the source to go stale", || {
        let f = state(&app, token.clone());
        async move { f.await.filter(|s| s == "stale") }
    })
    .await;
    let alert: serde_json::Value =
        sqlx::query_scalar("SELECT payload FROM events WHERE kind = 'source.stale'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(
        alert["message"],
        "Prometheus not responding (prometheus:main)"
    );
    // Staleness is judged from the last success; the failed attempt is on record by the next round.
    eventually(10, "the 503 on record", || async {
        let sources = app.get_json("/api/v1/sources", &token).await;
        let s = sources["sources"]
            .as_array()?
            .iter()
            .find(|s| s["name"] == "prometheus:main")?
            .clone();
        s["last_error"].as_str()?.contains("503").then_some(())
    })
    .await;

    sim.set_prometheus_down(false);
    eventually(15, "the source to be fresh again", || {
        let f = state(&app, token.clone());
        async move { f.await.filter(|s| s == "fresh") }
    })
    .await;
    assert_eq!(
        count(
            &app.pool,
            "SELECT count(*) FROM events WHERE kind = 'source.fresh'"
        )
        .await,
        1
    );
}

#[tokio::test]
async fn the_nodes_api_lists_and_graphs_with_clear_errors() {
    let app = spawn_app().await;
    let sink = Sink::new(app.pool.clone(), vec![]).await.unwrap();
    let now = Utc::now();
    let readings: Vec<Reading> = (0..40)
        .flat_map(|i| {
            let at = now - chrono::Duration::seconds(600 - i * 15);
            [
                Reading {
                    node: "lke-node-a".into(),
                    metric: Metric::Memory,
                    at,
                    value: 0.5,
                },
                Reading {
                    node: "lke-node-a".into(),
                    metric: Metric::Cpu,
                    at,
                    value: 0.25,
                },
            ]
        })
        .collect();
    sink.submit("prometheus:main", readings).await.unwrap();
    let (_, token) = create_token(&app, &[Scope::Read]).await;

    assert_eq!(app.get("/api/v1/nodes").await.status(), 401);
    let nodes = app.get_json("/api/v1/nodes", &token).await;
    let a = &nodes["nodes"][0];
    assert_eq!(a["name"], "lke-node-a");
    assert_eq!(a["memory"], 0.5);
    assert_eq!(a["cpu"], 0.25);
    assert_eq!(a["stale"], false, "its newest sample is 15 s old: {a}");

    let series = app
        .get_json(
            "/api/v1/nodes/lke-node-a/series?metric=memory&range=1h",
            &token,
        )
        .await;
    assert_eq!(series["resolution"], "raw");
    assert_eq!(series["points"].as_array().unwrap().len(), 40);
    assert_eq!(series["threshold"], 0.9, "the default memory rule is drawn");
    let month = app
        .get_json(
            "/api/v1/nodes/lke-node-a/series?metric=cpu&range=30d",
            &token,
        )
        .await;
    assert_eq!(month["resolution"], "hour");

    for (path, status, field) in [
        ("/api/v1/nodes/lke-node-a/series", 400, "metric"),
        ("/api/v1/nodes/lke-node-a/series?metric=disk", 400, "metric"),
        (
            "/api/v1/nodes/lke-node-a/series?metric=cpu&range=2w",
            400,
            "range",
        ),
        (
            "/api/v1/nodes/lke-node-a/series?metric=cpu&from=yesterday",
            400,
            "from",
        ),
        ("/api/v1/nodes/nope/series?metric=cpu", 404, ""),
    ] {
        let resp = app
            .client
            .get(app.url(path))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), status, "{path}");
        let body: serde_json::Value = resp.json().await.unwrap();
        assert!(
            body["error"].as_str().is_some_and(|e| !e.is_empty()),
            "{path}: {body}"
        );
        if !field.is_empty() {
            assert_eq!(body["field"], field, "{path}");
        }
    }

    // The correlation view's data holds the node graph with the memory threshold.
    let stack = correlation::correlation(
        &app.pool,
        now - chrono::Duration::hours(1),
        now,
        &Default::default(),
    )
    .await
    .unwrap();
    let nodes = stack
        .sections
        .iter()
        .find(|s| s.title == "Nodes")
        .expect("a nodes section");
    assert_eq!(nodes.rows.len(), 2, "memory and cpu (no pressure samples)");
}
