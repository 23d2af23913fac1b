//! Objectives at scale: 1,000 objectives, one per component, over 30 days of hourly and daily
//! rollups and three days of minute rollups, with failures spread through them. Times every objective's
//! budget, burn rates and burn-down through `GET /api/v1/slos` (what the evaluator computes
//! each minute), and `/ops/slos` for a team's handful (the first ten).

use std::time::Duration;

use anyhow::{bail, Result};
use sqlx::PgPool;

use crate::{
    cluster::{fresh_database, ready, start},
    measure::{quantile_of, time_gets},
    yes,
};

const OBJECTIVES: usize = 1_000;
const CALLS: usize = 20;
const PAGE_CALLS: usize = 200;

fn config(n: usize, evaluate: &str) -> String {
    let mut toml =
        format!("[incidents]\nautomatic = false\n\n[slo]\nevaluate_every_secs = {evaluate}\n\n");
    for i in 0..n {
        toml.push_str(&format!(
            "[[component]]\nid = \"c{i}\"\nname = \"Component {i}\"\n\n\
             [[monitor]]\nname = \"m{i}\"\ncomponent = \"c{i}\"\nkind = \"tcp\"\nhost = \"127.0.0.1\"\nport = 9\ninterval_secs = 3600\n\n\
             [[objective]]\nid = \"o{i}\"\nname = \"Objective {i}\"\ncomponent = \"c{i}\"\ntarget = 99.9\nwindow = \"30d\"\n\n"
        ));
    }
    toml
}

pub async fn run(
    vigil: &std::path::Path,
    admin_url: &str,
    rows: &mut Vec<[String; 4]>,
) -> Result<()> {
    let db = fresh_database(admin_url, "vigil_bench_slo").await?;
    let dir = std::env::temp_dir().join("vigil-bench-slo");
    std::fs::create_dir_all(&dir)?;
    let file = dir.join("vigil.toml");
    // The evaluator judges once at start; the calls below are what is timed.
    std::fs::write(&file, config(OBJECTIVES, "3600"))?;
    let replica = start(vigil, &db, &file, "slo")?;
    ready(&replica.base).await?;

    // The rollups: a check a minute per monitor, one in 500 failing (2x a 99.9 % budget).
    let pool = PgPool::connect(&db).await?;
    for (resolution, step, span, checks) in [
        ("m", "1 minute", "3 days", 1),
        ("h", "1 hour", "30 days", 60),
    ] {
        let unit = if resolution == "m" { "minute" } else { "hour" };
        sqlx::query(&format!(
            "INSERT INTO check_rollups (monitor_id, resolution, bucket, checks, failures, degraded, latency_sum, latency_max) \
             SELECT m.id, '{resolution}', b, {checks}, \
               CASE WHEN (extract(epoch FROM b)::int8 / 60 + m.id) % 500 = 0 THEN 1 ELSE 0 END, 0, 20.0 * {checks}, 20 \
             FROM monitors m CROSS JOIN generate_series(date_trunc('{unit}', now()) - interval '{span}', date_trunc('{unit}', now()), interval '{step}') b \
             ON CONFLICT (monitor_id, resolution, bucket) DO UPDATE SET checks = EXCLUDED.checks, failures = EXCLUDED.failures"
        ))
        .execute(&pool)
        .await?;
    }
    // The days, as the probes write them beside the minutes and hours.
    sqlx::query(
        "INSERT INTO check_rollups (monitor_id, resolution, bucket, checks, failures, degraded, latency_sum, latency_max) \
         SELECT monitor_id, 'd', date_trunc('day', bucket), sum(checks), sum(failures), 0, sum(latency_sum), max(latency_max) \
         FROM check_rollups WHERE resolution = 'h' GROUP BY 1, 3 \
         ON CONFLICT (monitor_id, resolution, bucket) DO UPDATE SET checks = EXCLUDED.checks, failures = EXCLUDED.failures",
    )
    .execute(&pool)
    .await?;
    sqlx::query("ANALYZE check_rollups").execute(&pool).await?;
    let out = std::process::Command::new(vigil)
        .args(["token", "create", "--name", "bench-slo", "--scope", "read"])
        .env("DATABASE_URL", &db)
        .output()?;
    let token = String::from_utf8(out.stdout)?.trim().to_string();
    let client = reqwest::Client::new();
    let url = format!("{}/api/v1/slos", replica.base);
    let first: serde_json::Value = client
        .get(&url)
        .bearer_auth(&token)
        .send()
        .await?
        .json()
        .await?;
    let n = first["slos"].as_array().map_or(0, Vec::len);
    if n != OBJECTIVES || first["slos"][0]["total"].as_i64().unwrap_or(0) == 0 {
        bail!("expected {OBJECTIVES} objectives with checks, got {n}");
    }
    let mut took = time_gets(&client, &url, &token, CALLS).await?;
    let (p50, p99) = (quantile_of(&mut took, 0.5), quantile_of(&mut took, 0.99));
    rows.push([
        format!("every budget, burn rate and burn-down of {OBJECTIVES} objectives over 30 days (GET /api/v1/slos), p50 / p99"),
        format!("{:.0} / {:.0} ms", p50.as_secs_f64() * 1e3, p99.as_secs_f64() * 1e3),
        "p99 ≤ 1 s".into(),
        yes(p99 <= Duration::from_secs(1)).into(),
    ]);
    drop(replica);

    // A team's page: ten objectives on the same rollups.
    std::fs::write(&file, config(10, "3600"))?;
    let replica = start(vigil, &db, &file, "slo-page")?;
    ready(&replica.base).await?;
    let page = format!("{}/ops/slos", replica.base);
    let mut took = time_gets(&client, &page, &token, PAGE_CALLS).await?;
    let p99 = quantile_of(&mut took, 0.99);
    rows.push([
        format!("/ops/slos with 10 objectives ({PAGE_CALLS} calls), p99"),
        format!("{:.1} ms", p99.as_secs_f64() * 1e3),
        "p99 ≤ 50 ms".into(),
        yes(p99 <= Duration::from_millis(50)).into(),
    ]);
    Ok(())
}
