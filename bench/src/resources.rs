//! Resource samples: ingest rate into PostgreSQL through the same write path the collectors use,
//! then graph query latency over 30 days of 15-second samples for 50 nodes.

use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use chrono::{DurationRound, Utc};
use sqlx::{postgres::PgPoolOptions, Connection, Executor, PgConnection, PgPool};
use vigil_core::{
    model::resource::Metric,
    store::resources::{self, Sample},
};

const NODES: i32 = 50;
const DAYS: i64 = 30;
const STEP_SECS: i64 = 15;
/// Samples per write: what a Prometheus round over 50 nodes delivers in a few minutes.
const BATCH: usize = 20_000;

pub async fn run(database_url: &str, rows: &mut Vec<[String; 4]>) -> Result<()> {
    let name = format!("vigil_bench_resources_{}", std::process::id());
    let mut admin = PgConnection::connect(database_url).await?;
    admin
        .execute(format!("DROP DATABASE IF EXISTS {name}").as_str())
        .await?;
    admin
        .execute(format!("CREATE DATABASE {name}").as_str())
        .await?;
    let mut url = reqwest::Url::parse(database_url)?;
    url.set_path(&format!("/{name}"));
    let pool = PgPoolOptions::new()
        .max_connections(4)
        .connect(url.as_str())
        .await
        .context("connecting to the bench database")?;
    vigil_core::store::migrate(&pool).await?;
    let result = measure(&pool, rows).await;
    pool.close().await;
    // FORCE: autovacuum is often still busy with 8.6 M fresh rows. A failed clean-up must not
    // throw away the figures just measured.
    if let Err(e) = admin
        .execute(format!("DROP DATABASE {name} WITH (FORCE)").as_str())
        .await
    {
        eprintln!("warning: could not drop the benchmark database {name}: {e}");
    }
    result
}

async fn measure(pool: &PgPool, rows: &mut Vec<[String; 4]>) -> Result<()> {
    let mut ids = Vec::new();
    for n in 0..NODES {
        ids.push(resources::node_id(pool, &format!("node-{n:02}"), "bench").await?);
    }
    let end = Utc::now().duration_trunc(chrono::Duration::seconds(STEP_SECS))?;
    let steps = DAYS * 86_400 / STEP_SECS;
    let start = end - chrono::Duration::seconds(steps * STEP_SECS);
    let total = steps as usize * ids.len();
    eprintln!("   loading {total} samples (30 days × 15 s × {NODES} nodes) with 2 writers…");
    // Two writers, each taking every other batch in time order, as two collectors would.
    let started = Instant::now();
    let mut writers = Vec::new();
    for w in 0..2usize {
        let pool = pool.clone();
        let ids = ids.clone();
        writers.push(tokio::spawn(async move {
            let per_batch = BATCH / ids.len();
            let mut step = (w * per_batch) as i64;
            let mut batch = Vec::with_capacity(BATCH);
            while step < steps {
                batch.clear();
                for s in step..(step + per_batch as i64).min(steps) {
                    let at = start + chrono::Duration::seconds(s * STEP_SECS);
                    for (i, id) in ids.iter().enumerate() {
                        let v = 0.5 + 0.3 * ((s as f64) / 240.0 + i as f64).sin();
                        batch.push(Sample {
                            node_id: *id,
                            metric: Metric::Memory,
                            at,
                            value: v,
                        });
                    }
                }
                resources::write(&pool, &batch).await?;
                step += 2 * per_batch as i64;
            }
            anyhow::Ok(())
        }));
    }
    for w in writers {
        w.await??;
    }
    let secs = started.elapsed().as_secs_f64();
    let rate = total as f64 / secs;
    rows.push([
        format!(
            "resource ingest ({} M samples, raw + 1 m, 5 m, 1 h rollups)",
            total / 1_000_000
        ),
        format!("{rate:.0} samples/s"),
        format!("{secs:.0} s"),
        format!("{:.2} of 100,000 target", rate / 100_000.0),
    ]);
    sqlx::query("ANALYZE").execute(pool).await?;

    let one = latencies(200, || async {
        let s = resources::series(
            pool,
            Some("node-07"),
            Metric::Memory,
            end - chrono::Duration::days(30),
            end,
            15,
        )
        .await?;
        anyhow::ensure!(
            s.len() == 1 && s[0].points.len() >= 700,
            "30 days of hourly points"
        );
        Ok(())
    })
    .await?;
    push_latency(rows, "graph query: 1 node × 30 d (hourly rollups)", &one);
    let all = latencies(100, || async {
        let s = resources::series(
            pool,
            None,
            Metric::Memory,
            end - chrono::Duration::hours(24),
            end,
            15,
        )
        .await?;
        anyhow::ensure!(s.len() == NODES as usize, "every node");
        Ok(())
    })
    .await?;
    push_latency(
        rows,
        "graph query: 50 nodes × 24 h (5-minute rollups)",
        &all,
    );
    let raw = latencies(100, || async {
        let s = resources::series(
            pool,
            Some("node-07"),
            Metric::Memory,
            end - chrono::Duration::hours(6),
            end,
            15,
        )
        .await?;
        anyhow::ensure!(s[0].points.len() >= 1400, "6 h of raw points");
        Ok(())
    })
    .await?;
    push_latency(rows, "graph query: 1 node × 6 h (raw rows)", &raw);
    Ok(())
}

async fn latencies<F, Fut>(n: usize, mut f: F) -> Result<Vec<Duration>>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<()>>,
{
    // One warm-up: the first query after loading pays for cold pages.
    f().await?;
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        f().await?;
        out.push(t.elapsed());
    }
    out.sort();
    Ok(out)
}

fn push_latency(rows: &mut Vec<[String; 4]>, what: &str, sorted: &[Duration]) {
    let q = |p: f64| sorted[((sorted.len() as f64 * p) as usize).min(sorted.len() - 1)];
    let p99 = q(0.99).as_secs_f64() * 1000.0;
    rows.push([
        what.to_string(),
        format!(
            "p50 {:.1} ms, p99 {p99:.1} ms",
            q(0.5).as_secs_f64() * 1000.0
        ),
        format!("{} queries", sorted.len()),
        format!("{:.2} of 50 ms target", p99 / 50.0),
    ]);
}
