//! Replicas and agents: how long monitors go unprobed when the replica running the probes is
//! killed (`kill -9`), and how many results per second one server accepts from probe agents.

use std::{
    fmt::Write as _,
    net::SocketAddr,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use anyhow::{bail, Context, Result};
use chrono::{DateTime, Utc};
use sqlx::{Connection, Executor, PgConnection, PgPool};

use crate::{free_port, yes};

/// A `vigil serve` on a shared database; killed with SIGKILL on drop.
pub struct Replica {
    child: Child,
    pub base: String,
}

impl Drop for Replica {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub async fn fresh_database(admin_url: &str, name: &str) -> Result<String> {
    let mut admin = PgConnection::connect(admin_url).await?;
    admin
        .execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str())
        .await?;
    admin
        .execute(format!("CREATE DATABASE {name}").as_str())
        .await?;
    let mut url = reqwest::Url::parse(admin_url)?;
    url.set_path(&format!("/{name}"));
    Ok(url.to_string())
}

pub fn start(
    vigil: &std::path::Path,
    db: &str,
    config: &std::path::Path,
    name: &str,
) -> Result<Replica> {
    let port = free_port()?;
    let child = Command::new(vigil)
        .arg("--config")
        .arg(config)
        .arg("serve")
        .env("DATABASE_URL", db)
        .env("VIGIL_SERVER__ADDR", format!("127.0.0.1:{port}"))
        .env("VIGIL_CLUSTER__REPLICA_NAME", name)
        .env("VIGIL_LOG", "warn")
        .stdout(Stdio::null())
        .spawn()
        .context("starting vigil")?;
    Ok(Replica {
        child,
        base: format!("http://127.0.0.1:{port}"),
    })
}

pub async fn ready(base: &str) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(120);
    while Instant::now() < deadline {
        if let Ok(r) = reqwest::get(format!("{base}/readyz")).await {
            if r.status().is_success() {
                return Ok(());
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    bail!("vigil did not become ready")
}

async fn holder(pool: &PgPool, lease: &str) -> Option<String> {
    sqlx::query_scalar("SELECT holder FROM leases WHERE name = $1 AND expires_at > now()")
        .bind(lease)
        .fetch_optional(pool)
        .await
        .ok()
        .flatten()
}

/// Two replicas, 50 monitors every 5 s, `lease_secs = 3`; the holder of the probes is killed.
pub async fn failover(
    vigil: &std::path::Path,
    admin_url: &str,
    target: SocketAddr,
    rows: &mut Vec<[String; 4]>,
) -> Result<()> {
    let interval = 5u64;
    let db = fresh_database(
        admin_url,
        &format!("vigil_bench_failover_{}", std::process::id()),
    )
    .await?;
    let dir = std::env::temp_dir().join(format!("vigil-bench-failover-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let config = dir.join("vigil.toml");
    let mut text = String::from("[probes]\nmin_interval_secs = 1\n\n[cluster]\nlease_secs = 3\n\n[[component]]\nid = \"svc\"\nname = \"Service\"\n\n");
    for m in 0..50 {
        let _ = writeln!(
            text,
            "[[monitor]]\nname = \"m{m}\"\ncomponent = \"svc\"\nkind = \"http\"\nurl = \"http://{target}/m/{m}\"\ninterval_secs = {interval}\ntimeout_ms = 2000\n"
        );
    }
    std::fs::write(&config, text)?;
    let first = start(vigil, &db, &config, "first")?;
    ready(&first.base).await?;
    let second = start(vigil, &db, &config, "second")?;
    ready(&second.base).await?;
    let pool = PgPool::connect(&db).await?;
    // Two whole intervals of steady probing first.
    tokio::time::sleep(Duration::from_secs(2 * interval + 1)).await;
    let held_by = holder(&pool, "probes")
        .await
        .context("nobody holds the probes")?;
    let (victim, survivor_name) = if held_by == "first" {
        (first, "second")
    } else {
        (second, "first")
    };
    let killed_at: DateTime<Utc> = Utc::now();
    let t0 = Instant::now();
    drop(victim); // SIGKILL
    let mut taken = None;
    while t0.elapsed() < Duration::from_secs(60) {
        if holder(&pool, "probes").await.as_deref() == Some(survivor_name) {
            taken = Some(t0.elapsed());
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let taken = taken.context("the survivor never took the probes")?;
    tokio::time::sleep(Duration::from_secs(2 * interval + 2)).await;
    // Per monitor: the longest stretch without a check across the kill.
    let gaps: Vec<(String, f64)> = sqlx::query_as(
        "SELECT m.name, EXTRACT(EPOCH FROM max(gap))::float8 FROM ( \
           SELECT monitor_id, at - lag(at) OVER (PARTITION BY monitor_id ORDER BY at) AS gap \
           FROM check_results WHERE at > $1 - interval '30 seconds') g \
         JOIN monitors m ON m.id = g.monitor_id GROUP BY m.name",
    )
    .bind(killed_at)
    .fetch_all(&pool)
    .await?;
    let longest = gaps.iter().map(|(_, g)| *g).fold(0.0, f64::max);
    rows.push([
        "failover: lease taken after kill -9 of the probing replica".into(),
        format!("{:.1} s", taken.as_secs_f64()),
        "lease 3 s".into(),
        "—".into(),
    ]);
    rows.push([
        format!("failover: longest unprobed stretch, 50 monitors every {interval} s"),
        format!("{longest:.1} s"),
        format!("{} s (2 intervals)", 2 * interval),
        format!("< 2 intervals: {}", yes(longest < (2 * interval) as f64)),
    ]);
    Ok(())
}

/// One server; 200 monitors checked only by a region `bench`; four clients push batches of 5,000
/// results for `secs` seconds. Accepted results per second, and how long the probing replica
/// takes to fold all of them into the monitors' states.
pub async fn agent_ingest(
    vigil: &std::path::Path,
    admin_url: &str,
    secs: u64,
    rows: &mut Vec<[String; 4]>,
) -> Result<()> {
    let db = fresh_database(
        admin_url,
        &format!("vigil_bench_agents_{}", std::process::id()),
    )
    .await?;
    let dir = std::env::temp_dir().join(format!("vigil-bench-agents-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let config = dir.join("vigil.toml");
    let mut text = String::from("[[component]]\nid = \"svc\"\nname = \"Service\"\n\n");
    for m in 0..200 {
        let _ = writeln!(
            text,
            "[[monitor]]\nname = \"m{m}\"\ncomponent = \"svc\"\nkind = \"tcp\"\nhost = \"127.0.0.1\"\nport = 9\nregions = [\"bench\"]\n"
        );
    }
    std::fs::write(&config, text)?;
    let server = start(vigil, &db, &config, "ingest")?;
    ready(&server.base).await?;
    let out = Command::new(vigil)
        .args([
            "token",
            "create",
            "--name",
            "bench-agent",
            "--scope",
            "agent",
        ])
        .env("DATABASE_URL", &db)
        .output()?;
    let token = String::from_utf8(out.stdout)?.trim().to_string();
    let pool = PgPool::connect(&db).await?;
    let ids: Vec<i64> = sqlx::query_scalar("SELECT id FROM monitors ORDER BY id")
        .fetch_all(&pool)
        .await?;
    let batch = |n: usize, offset: usize| -> serde_json::Value {
        let now = Utc::now();
        let results: Vec<serde_json::Value> = (0..n)
            .map(|i| {
                let id = ids[(offset + i) % ids.len()];
                serde_json::json!({ "monitor_id": id, "result": {
                    "at": now - chrono::Duration::microseconds((n - i) as i64),
                    "outcome": "ok", "latency": { "secs": 0, "nanos": 3_000_000 }, "error": null } })
            })
            .collect();
        serde_json::json!({ "region": "bench", "results": results })
    };
    let client = reqwest::Client::new();
    let url = format!("{}/api/v1/agent/results", server.base);
    let t0 = Instant::now();
    let mut clients = Vec::new();
    for c in 0..4 {
        let (client, url, token) = (client.clone(), url.clone(), token.clone());
        let bodies: Vec<String> = (0..8)
            .map(|k| batch(5_000, c * 40_000 + k * 5_000).to_string())
            .collect();
        clients.push(tokio::spawn(async move {
            let mut accepted = 0u64;
            let mut k = 0;
            while t0.elapsed() < Duration::from_secs(secs) {
                let r = client
                    .post(&url)
                    .bearer_auth(&token)
                    .header("content-type", "application/json")
                    .body(bodies[k % bodies.len()].clone())
                    .send()
                    .await?;
                if r.status() == 202 {
                    let v: serde_json::Value = r.json().await?;
                    accepted += v["accepted"].as_u64().unwrap_or(0);
                }
                k += 1;
            }
            anyhow::Ok(accepted)
        }));
    }
    let mut accepted = 0;
    for c in clients {
        accepted += c.await??;
    }
    let pushed_for = t0.elapsed().as_secs_f64();
    // Until the inbox is empty: everything accepted has been folded and written.
    while sqlx::query_scalar::<_, i64>("SELECT count(*) FROM agent_inbox")
        .fetch_one(&pool)
        .await?
        > 0
    {
        if t0.elapsed() > Duration::from_secs(secs * 30) {
            bail!("the inbox did not drain");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let drained_for = t0.elapsed().as_secs_f64();
    let rate = accepted as f64 / pushed_for;
    rows.push([
        "agent results accepted (4 agents, batches of 5,000)".into(),
        format!("{rate:.0} /s"),
        "10,000 /s".into(),
        format!("≥ 10,000/s: {}", yes(rate >= 10_000.0)),
    ]);
    rows.push([
        "agent results folded into states and written".into(),
        format!("{:.0} /s", accepted as f64 / drained_for),
        "—".into(),
        format!("{accepted} results in {drained_for:.1} s"),
    ]);
    Ok(())
}
