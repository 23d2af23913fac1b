//! The world as data under load: applying a 10,000-monitor world through the API, how long one
//! change takes to reach each of three replicas, and whether the scheduler keeps time while a
//! hundred changes are applied.

use std::{
    net::SocketAddr,
    process::Command,
    time::{Duration, Instant},
};

use anyhow::{bail, Context, Result};
use serde_json::json;
use sqlx::PgPool;

use crate::{
    cluster::{fresh_database, ready, start, Replica},
    measure::{quantile, quantile_of, scrape},
    yes,
};

const MONITORS: usize = 10_000;
const CHANGES: usize = 100;
/// How long the scheduler is watched with no change.
const QUIET: Duration = Duration::from_secs(20);

/// The scheduler's lag p99 (seconds) over every replica since `before` (their metrics then).
async fn lag_since(replicas: &[Replica], before: &[crate::measure::Metrics]) -> Result<f64> {
    let mut buckets: Vec<(f64, f64)> = Vec::new();
    for (r, b) in replicas.iter().zip(before) {
        let after = scrape(&r.base).await?;
        let delta = after.histogram_delta(b, "probe_schedule_lag_seconds");
        if buckets.is_empty() {
            buckets = delta;
        } else {
            for (sum, d) in buckets.iter_mut().zip(delta) {
                sum.1 += d.1;
            }
        }
    }
    Ok(quantile(&buckets, 0.99))
}

/// The scheduler's lag p99 (milliseconds) over the next `window`.
async fn lag_p99(replicas: &[Replica], window: Duration) -> Result<f64> {
    let mut before = Vec::new();
    for r in replicas {
        before.push(scrape(&r.base).await?);
    }
    tokio::time::sleep(window).await;
    Ok(lag_since(replicas, &before).await? * 1e3)
}

/// The revision a replica runs (its `vigil_world_revision` gauge).
async fn revision_on(base: &str) -> Result<f64> {
    let m = scrape(base).await?;
    Ok(m.counter("vigil_world_revision"))
}

/// Waits until every replica runs `revision`; the time each took from `since`.
async fn spread(replicas: &[Replica], revision: f64, since: Instant) -> Result<Vec<Duration>> {
    let mut took = vec![None; replicas.len()];
    while took.iter().any(Option::is_none) {
        for (i, r) in replicas.iter().enumerate() {
            if took[i].is_none() && revision_on(&r.base).await? >= revision {
                took[i] = Some(since.elapsed());
            }
        }
        if since.elapsed() > Duration::from_secs(60) {
            bail!("revision {revision} did not reach every replica within a minute");
        }
        // Each look renders three replicas' metrics: often enough to time a spread to a few
        // tens of milliseconds, not so often that the looking is what loads the replicas.
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    Ok(took.into_iter().flatten().collect())
}

pub async fn run(
    vigil: &std::path::Path,
    admin_url: &str,
    target: SocketAddr,
    rows: &mut Vec<[String; 4]>,
) -> Result<()> {
    let db = fresh_database(
        admin_url,
        &format!("vigil_bench_world_{}", std::process::id()),
    )
    .await?;
    let dir = std::env::temp_dir().join(format!("vigil-bench-world-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let config = dir.join("vigil.toml");
    std::fs::write(
        &config,
        "[probes]\nmin_interval_secs = 1\nmax_concurrency = 512\n\n[world]\nmanaged_by = \"database\"\n",
    )?;
    let mut replicas = Vec::new();
    for name in ["one", "two", "three"] {
        let r = start(vigil, &db, &config, name)?;
        ready(&r.base).await?;
        replicas.push(r);
    }
    let out = Command::new(vigil)
        .args([
            "token",
            "create",
            "--name",
            "bench-world",
            "--scope",
            "config:write",
            "--scope",
            "read",
        ])
        .env("DATABASE_URL", &db)
        .output()?;
    let token = String::from_utf8(out.stdout)?.trim().to_string();
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(120))
        .build()?;

    // 1. A world of 10,000 HTTP monitors in 100 components, every 60 s, in one apply.
    let components: Vec<_> = (0..100)
        .map(|c| json!({ "id": format!("svc-{c}"), "name": format!("Service {c}"), "group": format!("Group {}", c % 5) }))
        .collect();
    let monitors: Vec<_> = (0..MONITORS)
        .map(|m| json!({ "name": format!("m{m}"), "component": format!("svc-{}", m % 100), "kind": "http",
                         "url": format!("http://{target}/m/{m}"), "interval_secs": 60, "timeout_ms": 5000 }))
        .collect();
    let body = json!({ "component": components, "monitor": monitors });
    let t0 = Instant::now();
    let r = client
        .post(format!("{}/api/v1/world/apply", replicas[0].base))
        .bearer_auth(&token)
        .json(&body)
        .send()
        .await?;
    let applied = t0.elapsed();
    if !r.status().is_success() {
        bail!("the world was refused: {}", r.text().await?);
    }
    spread(&replicas, 1.0, t0).await?;
    rows.push([
        format!("apply a {MONITORS}-monitor world (one revision, API)"),
        format!("{:.2} s", applied.as_secs_f64()),
        "≤ 5 s".into(),
        yes(applied <= Duration::from_secs(5)).into(),
    ]);

    // The scheduler's lag with no change at all, for comparison: probing ten thousand monitors
    // is work of its own on two cores.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let quiet = lag_p99(&replicas, QUIET).await?;
    rows.push([
        format!(
            "scheduler lag p99 with no change ({MONITORS} monitors, {} s)",
            QUIET.as_secs()
        ),
        format!("{quiet:.1} ms"),
        "(reference)".into(),
        "".into(),
    ]);
    // Every replica's scheduler lag before the changes, to count only what comes during them.
    let mut before = Vec::new();
    for r in &replicas {
        before.push(scrape(&r.base).await?);
    }
    let pool = PgPool::connect(&db).await?;
    let ids: Vec<i64> =
        sqlx::query_scalar("SELECT id FROM monitors WHERE NOT retired ORDER BY id LIMIT $1")
            .bind(CHANGES as i64)
            .fetch_all(&pool)
            .await?;

    // 2. A hundred changes, one after another, each through a different replica: how long until
    // each replica runs it.
    let (mut took, mut answered) = (Vec::new(), Vec::new());
    for (k, id) in ids.iter().enumerate() {
        let via = &replicas[k % replicas.len()];
        let t = Instant::now();
        let r = client
            .patch(format!("{}/api/v1/monitors/{id}", via.base))
            .bearer_auth(&token)
            .json(&json!({ "interval_secs": if k % 2 == 0 { 30 } else { 45 } }))
            .send()
            .await?;
        answered.push(t.elapsed());
        if !r.status().is_success() {
            bail!("change {k} was refused: {}", r.text().await?);
        }
        let revision: f64 = r
            .headers()
            .get("etag")
            .and_then(|e| e.to_str().ok())
            .and_then(|e| e.trim_matches('"').parse().ok())
            .context("every change answers with its revision")?;
        took.extend(spread(&replicas, revision, t).await?);
    }
    let p50 = quantile_of(&mut took, 0.5);
    let p99 = quantile_of(&mut took, 0.99);
    rows.push([
        format!("one change visible on 3 replicas ({CHANGES} changes), p50 / p99"),
        format!(
            "{:.0} / {:.0} ms",
            p50.as_secs_f64() * 1e3,
            p99.as_secs_f64() * 1e3
        ),
        "p99 ≤ 2 s".into(),
        yes(p99 <= Duration::from_secs(2)).into(),
    ]);

    rows.push([
        "one change answered (PATCH of one monitor), p50 / p99".into(),
        format!(
            "{:.0} / {:.0} ms",
            quantile_of(&mut answered, 0.5).as_secs_f64() * 1e3,
            quantile_of(&mut answered, 0.99).as_secs_f64() * 1e3
        ),
        "(reference)".into(),
        "".into(),
    ]);

    // 3. The scheduler's lag while those changes were applied, on whichever replica probes.
    let lag = lag_since(&replicas, &before).await? * 1e3;
    rows.push([
        format!("scheduler lag p99 while {CHANGES} changes apply ({MONITORS} monitors)"),
        format!("{lag:.1} ms"),
        "≤ 5 ms".into(),
        yes(lag <= 5.0).into(),
    ]);
    Ok(())
}
