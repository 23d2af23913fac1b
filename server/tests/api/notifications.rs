//! The notification outbox against the simulator's webhook receiver: notifications commit with
//! their events, arrive in order through Discord's rate limit and a receiver outage, and a
//! `kill -9` of Vigil mid-delivery loses nothing and repeats nothing that was acknowledged.

use std::process::{Command, Stdio};

use crate::common::{
    eventually, flapping_event, fresh_database, monitor_event, spawn_app_with_toml,
};
use vigil_core::{
    model::monitor::MonitorStatus::{Down, Up},
    store::events,
};
use vigil_sim::webhooks::{WebhookFaults, WebhookSim};

async fn count(pool: &sqlx::PgPool, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(pool).await.unwrap()
}

async fn monitor_down(pool: &sqlx::PgPool, n: usize) {
    let down = monitor_event(&format!("m{n}"), "website", Up, Down, "HTTP 502");
    events::append(pool, &format!("monitor:m{n}"), &down)
        .await
        .unwrap();
}

fn discord_toml(base: &str, extra: &str) -> String {
    format!(
        "[[notify]]\nname = \"ops-discord\"\nkind = \"discord\"\nurl = \"{base}/api/webhooks/1/secret\"\n{extra}\n"
    )
}

#[tokio::test]
async fn events_a_channel_wants_get_notifications_in_the_same_transaction() {
    let sim = WebhookSim::new();
    let base = sim.serve().await.unwrap();
    sim.set_faults(WebhookFaults {
        down: true,
        ..Default::default()
    });
    let app = spawn_app_with_toml(&discord_toml(&base, "events = [\"monitor.*\"]")).await;
    monitor_down(&app.pool, 1).await;
    // Not a kind the channel wants.
    events::append(&app.pool, "lb:x", &flapping_event("x", 80, "b", true))
        .await
        .unwrap();
    // A rolled-back event leaves no notification behind.
    let mut tx = app.pool.begin().await.unwrap();
    let ghost = monitor_event("ghost", "website", Up, Down, "HTTP 502");
    events::append_in(&mut tx, "monitor:ghost", &ghost)
        .await
        .unwrap();
    tx.rollback().await.unwrap();
    assert_eq!(
        count(&app.pool, "SELECT count(*) FROM notifications").await,
        1
    );
}

#[tokio::test]
async fn a_burst_arrives_in_order_through_429s_and_an_outage() {
    let sim = WebhookSim::new();
    let base = sim.serve().await.unwrap();
    let app = spawn_app_with_toml(&discord_toml(&base, "")).await;
    for n in 0..8 {
        monitor_down(&app.pool, n).await;
    }
    eventually(30, "eight deliveries", || async {
        (count(
            &app.pool,
            "SELECT count(*) FROM notifications WHERE state = 'delivered'",
        )
        .await
            == 8)
            .then_some(())
    })
    .await;
    assert!(
        sim.refused() > 0,
        "Discord's 5-per-2-seconds limit answered 429 at least once"
    );
    let got = sim.received();
    assert_eq!(got.len(), 8, "each exactly once");
    let ids: Vec<i64> = got
        .iter()
        .map(|r| r.delivery.as_ref().unwrap().parse().unwrap())
        .collect();
    let mut sorted = ids.clone();
    sorted.sort();
    assert_eq!(ids, sorted, "in order");
    assert_eq!(got[0].body["embeds"][0]["title"], "m0 is DOWN");
    assert_eq!(got[0].body["embeds"][0]["color"], 15158332);

    // The receiver is down for a while: attempts are recorded, then it all arrives.
    sim.set_faults(WebhookFaults {
        down: true,
        ..Default::default()
    });
    monitor_down(&app.pool, 100).await;
    eventually(10, "a failed attempt on record", || async {
        let err: Option<String> =
            sqlx::query_scalar("SELECT last_error FROM notifications WHERE state = 'pending'")
                .fetch_optional(&app.pool)
                .await
                .unwrap()
                .flatten();
        err.filter(|e| e.contains("503"))
    })
    .await;
    sim.set_faults(WebhookFaults {
        rate_limit: 5,
        rate_window_ms: 2000,
        ..Default::default()
    });
    eventually(20, "delivery after the outage", || async {
        (count(
            &app.pool,
            "SELECT count(*) FROM notifications WHERE state = 'delivered'",
        )
        .await
            == 9)
            .then_some(())
    })
    .await;
    assert_eq!(sim.received().len(), 9);
}

#[tokio::test]
async fn a_refused_message_is_failed_loudly_not_retried_forever() {
    let sim = WebhookSim::new();
    let base = sim.serve().await.unwrap();
    // A webhook URL Discord does not know: 404 is permanent.
    let app = spawn_app_with_toml(&format!(
        "[[notify]]\nname = \"gone\"\nkind = \"discord\"\nurl = \"{base}/api/webhooks-deleted\"\n"
    ))
    .await;
    monitor_down(&app.pool, 1).await;
    eventually(10, "the failure on record", || async {
        (count(
            &app.pool,
            "SELECT count(*) FROM notifications WHERE state = 'failed' AND last_status = 404",
        )
        .await
            == 1)
            .then_some(())
    })
    .await;
}

/// Starts the real binary against `db_url`; returns the child once it is ready.
fn start_vigil(config: &std::path::Path, db_url: &str) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_vigil"))
        .args(["--config", config.to_str().unwrap(), "serve"])
        .env("DATABASE_URL", db_url)
        .env("VIGIL_SERVER__ADDR", "127.0.0.1:0")
        .env("VIGIL_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

#[tokio::test]
async fn kill_9_mid_delivery_loses_nothing_and_repeats_nothing_acknowledged() {
    let sim = WebhookSim::new();
    let base = sim.serve().await.unwrap();
    // Slow answers keep deliveries in flight when the process dies.
    sim.set_faults(WebhookFaults {
        delay_ms: 150,
        ..Default::default()
    });
    let (_, db_url) = fresh_database().await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("vigil.toml");
    std::fs::write(&config, discord_toml(&base, "")).unwrap();
    let pool = sqlx::PgPool::connect(&db_url).await.unwrap();

    let mut first = start_vigil(&config, &db_url);
    // The server migrates on start; wait until the outbox exists, then queue 30 notifications.
    eventually(60, "the schema", || async {
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM notify_channels WHERE enabled")
            .fetch_one(&pool)
            .await
            .ok()
            .filter(|n| *n == 1)
    })
    .await;
    for n in 0..30 {
        monitor_down(&pool, n).await;
    }
    eventually(30, "some deliveries", || async {
        (count(
            &pool,
            "SELECT count(*) FROM notifications WHERE state = 'delivered'",
        )
        .await
            >= 5)
            .then_some(())
    })
    .await;
    first.kill().unwrap(); // SIGKILL: no chance to finish anything
    first.wait().unwrap();
    let acknowledged: Vec<i64> =
        sqlx::query_scalar("SELECT id FROM notifications WHERE state = 'delivered'")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert!(acknowledged.len() < 30, "killed mid-way");

    let mut second = start_vigil(&config, &db_url);
    eventually(
        60,
        "every notification delivered after the restart",
        || async {
            (count(
                &pool,
                "SELECT count(*) FROM notifications WHERE state = 'delivered'",
            )
            .await
                == 30)
                .then_some(())
        },
    )
    .await;
    second.kill().unwrap();
    second.wait().unwrap();

    let all: Vec<i64> = sqlx::query_scalar("SELECT id FROM notifications")
        .fetch_all(&pool)
        .await
        .unwrap();
    // At most the one message in flight at the kill may arrive twice.
    crate::common::assert_at_least_once(
        sim.received()
            .into_iter()
            .map(|r| r.delivery.unwrap().parse().unwrap()),
        &all,
        &acknowledged,
        1,
    );
}

#[tokio::test]
async fn a_component_under_maintenance_holds_back_its_alerts() {
    let sim = WebhookSim::new();
    let base = sim.serve().await.unwrap();
    let app = spawn_app_with_toml(&format!(
        "{}\n[[component]]\nid = \"website\"\nname = \"Website\"\n\n[incidents]\nautomatic = false\n",
        discord_toml(&base, "events = [\"monitor.*\", \"maintenance.*\"]")
    ))
    .await;
    let now = chrono::Utc::now();
    let id = vigil_core::store::incident_commands::create(
        &app.pool,
        vigil_core::model::incident::IncidentKind::Maintenance,
        &vigil_core::store::incident_commands::IncidentInput {
            name: Some("Kernel upgrade".into()),
            component_ids: Some(vec!["website".into()]),
            scheduled_for: Some(now),
            scheduled_until: Some(now + chrono::Duration::hours(1)),
            ..Default::default()
        },
        "test",
    )
    .await
    .unwrap();
    vigil_core::store::incident_commands::patch(
        &app.pool,
        id,
        &vigil_core::store::incident_commands::IncidentInput {
            status: vigil_core::model::incident::StatusName::parse("in_progress"),
            ..Default::default()
        },
        "test",
    )
    .await
    .unwrap();
    // Website's monitor fails during the maintenance: recorded, not announced.
    monitor_down(&app.pool, 1).await;
    let kinds: Vec<String> = sqlx::query_scalar(
        "SELECT e.kind FROM notifications n JOIN events e ON e.id = n.event_id ORDER BY n.id",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(kinds, vec!["maintenance.scheduled", "maintenance.started"]);
}

#[tokio::test]
async fn an_unreachable_webhook_never_puts_its_url_in_the_delivery_log() {
    // Nothing listens on port 9: the request fails at the network level, where reqwest's error
    // text carries the whole URL, token included.
    let app = spawn_app_with_toml(
        "[[notify]]\nname = \"ops\"\nkind = \"discord\"\n\
         url = \"http://127.0.0.1:9/api/webhooks/42/hook-t0ken-s3cret?wait=true\"\n",
    )
    .await;
    monitor_down(&app.pool, 1).await;
    let err: String = eventually(20, "a failed attempt on record", || async {
        sqlx::query_scalar("SELECT last_error FROM notifications WHERE last_error IS NOT NULL")
            .fetch_optional(&app.pool)
            .await
            .unwrap()
    })
    .await;
    assert!(err.contains("cannot reach the receiver"), "{err}");
    assert!(!err.contains("hook-t0ken-s3cret"), "{err}");
    assert!(!err.contains("/api/webhooks/42"), "{err}");
}
