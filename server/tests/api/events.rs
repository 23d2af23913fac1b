use std::time::Duration;

use crate::common::spawn_app;
use chrono::Utc;
use sqlx::postgres::PgListener;
use vigil_core::store::events::{self, NOTIFY_CHANNEL};

#[tokio::test]
async fn appended_events_are_readable_by_window_and_announced() {
    let app = spawn_app().await;
    let mut listener = PgListener::connect_with(&app.pool).await.unwrap();
    listener.listen(NOTIFY_CHANNEL).await.unwrap();

    let before = Utc::now() - chrono::Duration::seconds(1);
    let first = events::append(
        &app.pool,
        "monitor.down",
        "site",
        serde_json::json!({"cause": "timeout"}),
    )
    .await
    .unwrap();
    let second = events::append(&app.pool, "monitor.up", "site", serde_json::json!({}))
        .await
        .unwrap();

    let note = tokio::time::timeout(Duration::from_secs(5), listener.recv())
        .await
        .expect("a notification")
        .unwrap();
    assert_eq!(note.payload(), first.id.to_string());

    let window = events::in_window(&app.pool, before, Utc::now() + chrono::Duration::seconds(1))
        .await
        .unwrap();
    let ids: Vec<i64> = window.iter().map(|e| e.id).collect();
    assert_eq!(ids, vec![first.id, second.id]);
    assert_eq!(window[0].payload["cause"], "timeout");

    let later = events::in_window(
        &app.pool,
        Utc::now() + chrono::Duration::seconds(5),
        Utc::now() + chrono::Duration::seconds(10),
    )
    .await
    .unwrap();
    assert!(later.is_empty());
}
