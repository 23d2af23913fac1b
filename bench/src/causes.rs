//! The chain of causes under a long, noisy window: an incident whose window holds 10,000
//! recorded events (a flapping storm on two nodes' backends, node conditions, pod troubles,
//! alerts, a provider's posts), timed through `GET /api/v1/incidents/{id}/causes` — reading
//! the window, completing the map and walking the chain, as the ops page and channels do.

use std::time::Duration;

use anyhow::{bail, Result};
use chrono::{DateTime, Utc};
use serde_json::json;
use sqlx::PgPool;
use vigil_core::model::{
    backend::BackendStatus,
    event::{
        BackendChanged, BackendFlapping, EventData, IngressChanged, K8sNodeCondition,
        K8sPodTrouble, MonitorChanged, ResourceAlert, UpstreamIncident,
    },
    kubernetes::{NodeCondition, PodTroubleKind},
    monitor::MonitorStatus,
    upstream::{IncidentChange, ProviderIncident},
};

use crate::{
    cluster::{fresh_database, ready, start},
    measure::{quantile_of, time_gets},
    yes,
};

const EVENTS: usize = 10_000;
const CALLS: usize = 200;

/// The storm: mostly backends going up and down, with the seed's other evidence among them.
fn storm(start: DateTime<Utc>) -> Vec<(DateTime<Utc>, EventData)> {
    let nodes = ["lke-node-a", "lke-node-b"];
    let mut out = Vec::with_capacity(EVENTS);
    for i in 0..EVENTS {
        // Ten events a second, over a quarter of an hour before the failure.
        let at = start + chrono::Duration::milliseconds(i as i64 * 100);
        let node = nodes[i % 2];
        let port = if i % 4 < 2 { 80 } else { 443 };
        let data = match i % 10 {
            0..=5 => EventData::BackendChanged(BackendChanged {
                nodebalancer: "lke-ingress".into(),
                port,
                backend: node.into(),
                address: format!("192.168.200.1{}:31{port}", 1 + i % 2),
                from: BackendStatus::Up,
                to: BackendStatus::Down,
            }),
            6 => EventData::BackendFlapping(BackendFlapping {
                nodebalancer: "lke-ingress".into(),
                port,
                backend: node.into(),
                flapping: true,
            }),
            7 => EventData::K8sNode(K8sNodeCondition {
                cluster: "lke".into(),
                node: node.into(),
                condition: NodeCondition {
                    kind: "MemoryPressure".into(),
                    status: "True".into(),
                    reason: "KubeletHasInsufficientMemory".into(),
                    message: String::new(),
                    since: Some(at),
                },
            }),
            8 => EventData::K8sPod(K8sPodTrouble {
                cluster: "lke".into(),
                namespace: "default".into(),
                pod: format!("api-{i}"),
                node: node.into(),
                trouble: PodTroubleKind::OomKilled,
                container: Some("api".into()),
                message: String::new(),
                happened_at: Some(at),
            }),
            _ if i % 20 == 9 => EventData::ResourceAlert(ResourceAlert {
                node: node.into(),
                metric: "memory".into(),
                value: 0.95,
                above: 0.9,
                for_secs: 300,
                firing: true,
                since: Some(at),
                message: format!("{node} memory above 90 %"),
            }),
            _ => EventData::UpstreamIncident(UpstreamIncident {
                provider: "Linode".into(),
                change: IncidentChange::Updated,
                incident: ProviderIncident {
                    id: "p1".into(),
                    name: "Connectivity issue affecting NodeBalancers".into(),
                    status: "investigating".into(),
                    impact: "minor".into(),
                    shortlink: None,
                    body: String::new(),
                },
            }),
        };
        out.push((at, data));
    }
    let end = start + chrono::Duration::milliseconds(EVENTS as i64 * 100);
    for port in [80, 443] {
        out.push((
            end,
            EventData::Ingress(IngressChanged {
                nodebalancer: "lke-ingress".into(),
                port,
                broken: true,
                message: "no backend is steadily up".into(),
            }),
        ));
    }
    out.push((
        end + chrono::Duration::seconds(2),
        EventData::MonitorState(MonitorChanged {
            monitor_id: 1,
            monitor: "site-http".into(),
            component: "site".into(),
            from: MonitorStatus::Up,
            to: MonitorStatus::Down,
            cause: "HTTP 502".into(),
            at: end,
        }),
    ));
    out
}

pub async fn run(
    vigil: &std::path::Path,
    admin_url: &str,
    rows: &mut Vec<[String; 4]>,
) -> Result<()> {
    let db = fresh_database(
        admin_url,
        &format!("vigil_bench_causes_{}", std::process::id()),
    )
    .await?;
    let dir = std::env::temp_dir().join(format!("vigil-bench-causes-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let config = dir.join("vigil.toml");
    // The monitor is checked rarely: the window's evidence is what the benchmark writes.
    std::fs::write(
        &config,
        r#"[incidents]
automatic = false

[[upstream]]
name = "Linode"
url = "http://127.0.0.1:9"
interval_secs = 3600
hosts = ["lke-ingress", "lke"]

[[component]]
id = "site"
name = "Website"

[[monitor]]
name = "site-http"
component = "site"
kind = "http"
url = "http://127.0.0.1:9/"
interval_secs = 3600
via = "lke-ingress"
"#,
    )?;
    let replica = start(vigil, &db, &config, "causes")?;
    ready(&replica.base).await?;
    let out = std::process::Command::new(vigil)
        .args([
            "token",
            "create",
            "--name",
            "bench-causes",
            "--scope",
            "read",
            "--scope",
            "incidents:write",
        ])
        .env("DATABASE_URL", &db)
        .output()?;
    let token = String::from_utf8(out.stdout)?.trim().to_string();
    let client = reqwest::Client::new();
    let r = client
        .post(format!("{}/api/v1/incidents", replica.base))
        .bearer_auth(&token)
        .json(
            &json!({ "name": "Website is unavailable", "status": "investigating",
                       "impact": "major", "body": "Looking.", "component_ids": ["site"] }),
        )
        .send()
        .await?;
    if !r.status().is_success() {
        bail!("the incident was refused: {}", r.text().await?);
    }
    let id = r.json::<serde_json::Value>().await?["id"]
        .as_i64()
        .unwrap_or_default();

    // The window: 10,000 events over the quarter hour before now, and the discovered map.
    let pool = PgPool::connect(&db).await?;
    let start_at = Utc::now() - chrono::Duration::minutes(20);
    let (mut ats, mut kinds, mut payloads) = (Vec::new(), Vec::new(), Vec::new());
    for (at, data) in storm(start_at) {
        let (kind, payload) = data.to_parts();
        ats.push(at);
        kinds.push(kind);
        payloads.push(payload);
    }
    sqlx::query(
        "INSERT INTO events (at, kind, subject, payload) \
         SELECT * FROM unnest($1::timestamptz[], $2::text[], $3::text[], $4::jsonb[])",
    )
    .bind(&ats)
    .bind(&kinds)
    .bind(vec!["bench".to_string(); ats.len()])
    .bind(&payloads)
    .execute(&pool)
    .await?;
    for (node, ip) in [
        ("lke-node-a", "192.168.200.11"),
        ("lke-node-b", "192.168.200.12"),
    ] {
        sqlx::query(
            "INSERT INTO k8s_nodes (cluster, node, internal_ip, memory_allocatable_bytes) \
             VALUES ('lke', $1, $2, 8090943488)",
        )
        .bind(node)
        .bind(ip)
        .execute(&pool)
        .await?;
        for port in [80i32, 443] {
            sqlx::query(
                "INSERT INTO lb_backends (nodebalancer_id, nodebalancer_label, config_id, port, \
                 protocol, node_id, label, address, status, mode, weight, since, seen_at) \
                 VALUES (101, 'lke-ingress', $1, $1, 'tcp', $2, $3, $4, 'DOWN', 'accept', 100, \
                 now(), now())",
            )
            .bind(port)
            .bind(if node.ends_with('a') { 1i64 } else { 2 })
            .bind(node)
            .bind(format!("{ip}:31{port}"))
            .execute(&pool)
            .await?;
        }
    }

    let url = format!("{}/api/v1/incidents/{id}/causes", replica.base);
    let first: serde_json::Value = client
        .get(&url)
        .bearer_auth(&token)
        .send()
        .await?
        .json()
        .await?;
    if first["chains"].as_array().is_none_or(|c| c.is_empty()) {
        bail!("the storm yielded no chain: {first}");
    }
    let mut took = time_gets(&client, &url, &token, CALLS).await?;
    let (p50, p99) = (quantile_of(&mut took, 0.5), quantile_of(&mut took, 0.99));
    rows.push([
        format!("chain of causes over {EVENTS} events (API, {CALLS} calls), p50 / p99"),
        format!(
            "{:.1} / {:.1} ms",
            p50.as_secs_f64() * 1e3,
            p99.as_secs_f64() * 1e3
        ),
        "p99 ≤ 100 ms".into(),
        yes(p99 <= Duration::from_millis(100)).into(),
    ]);
    Ok(())
}
