//! The public uptime page: each month's share of successful checks from the hourly rollups,
//! maintenance hours left out and said so, the month's incidents linked, no JavaScript needed.

use chrono::{Datelike, Duration, Months, Utc};
use vigil_core::{model::incident::IncidentKind, store::incident_commands};

use crate::common::{site_monitor, spawn_app_with_toml, Target};

#[tokio::test]
async fn months_leave_maintenance_out_and_link_their_incidents() {
    let target = Target::start().await;
    let app = spawn_app_with_toml(&site_monitor(target.addr, 30, "", "")).await;
    let monitor: i64 = sqlx::query_scalar("SELECT id FROM monitors WHERE name = 'site-home'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    // Last month: twelve hours of checks; one hour with 6 failures of 60; two hours of failures
    // during a maintenance window.
    let first = Utc::now().date_naive().with_day(1).unwrap() - Months::new(1);
    let base = first.and_hms_opt(10, 0, 0).unwrap().and_utc();
    for h in 0..12 {
        let failures = match h {
            3 => 6,
            8 | 9 => 60,
            _ => 0,
        };
        sqlx::query(
            "INSERT INTO check_rollups (monitor_id, resolution, bucket, checks, failures, degraded, \
               latency_sum, latency_max) VALUES ($1, 'h', $2, 60, $3, 0, 600, 20)",
        )
        .bind(monitor)
        .bind(base + Duration::hours(h))
        .bind(failures)
        .execute(&app.pool)
        .await
        .unwrap();
    }
    let input = |name: &str, from, until| incident_commands::IncidentInput {
        name: Some(name.into()),
        component_ids: Some(vec!["site".into()]),
        scheduled_for: from,
        scheduled_until: until,
        ..Default::default()
    };
    let window = (base + Duration::hours(8), base + Duration::hours(10));
    let maintenance = incident_commands::create(
        &app.pool,
        IncidentKind::Maintenance,
        &input("Database upgrade", Some(window.0), Some(window.1)),
        "test",
    )
    .await
    .unwrap();
    let outage = incident_commands::create(
        &app.pool,
        IncidentKind::Incident,
        &input("Website slow", None, None),
        "test",
    )
    .await
    .unwrap();
    // As they happened last month: the maintenance ran its window, the outage began at hour 3.
    sqlx::query(
        "UPDATE incidents SET status = 'completed', started_at = $2, resolved_at = $3 WHERE id = $1",
    )
    .bind(maintenance)
    .bind(window.0)
    .bind(window.1)
    .execute(&app.pool)
    .await
    .unwrap();
    sqlx::query("UPDATE incidents SET started_at = $2 WHERE id = $1")
        .bind(outage)
        .bind(base + Duration::hours(3))
        .execute(&app.pool)
        .await
        .unwrap();

    let page = reqwest::Client::new()
        .get(app.url("/uptime"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    let month = &html[html
        .find(&format!("data-month=\"{}\"", first.format("%Y-%m")))
        .expect("last month is listed")..];
    let month = &month[..month.find("</li>").unwrap()];
    // 10 hours counted: 600 checks, 6 failed.
    assert!(month.contains("99.00%"), "{month}");
    assert!(month.contains("2 h maintenance excluded"), "{month}");
    assert!(
        html.contains(&format!("/incidents/{outage}")),
        "the incident is linked"
    );
    assert!(!html.contains("site-home"), "monitor names stay private");
    assert!(
        !html.contains(".wasm") && !html.contains("type=\"module\""),
        "the page loads no script"
    );
}
