use std::time::Duration;

use crate::common::{monitor_event, spawn_app};
use chrono::Utc;
use sqlx::postgres::PgListener;
use vigil_core::{
    model::monitor::MonitorStatus::{Down, Up},
    store::events::{self, NOTIFY_CHANNEL},
};

#[tokio::test]
async fn appended_events_are_readable_by_window_and_announced() {
    let app = spawn_app().await;
    let mut listener = PgListener::connect_with(&app.pool).await.unwrap();
    listener.listen(NOTIFY_CHANNEL).await.unwrap();

    let before = Utc::now() - chrono::Duration::seconds(1);
    let down = monitor_event("site", "website", Up, Down, "timeout");
    let first = events::append(&app.pool, "monitor:site", &down)
        .await
        .unwrap();
    let up = monitor_event("site", "website", Down, Up, "HTTP 200");
    let second = events::append(&app.pool, "monitor:site", &up)
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
    // The world's first revision (the default alert rules) is written at start: not ours.
    let window: Vec<_> = window
        .into_iter()
        .filter(|e| !matches!(e.data, vigil_core::model::event::EventData::WorldRevised(_)))
        .collect();
    let ids: Vec<i64> = window.iter().map(|e| e.id).collect();
    assert_eq!(ids, vec![first.id, second.id]);
    // Read back as written: typed, parsed once.
    assert_eq!(window[0].data, down);
    assert_eq!(window[1].data, up);
    assert_eq!(window[0].kind(), "monitor.state");

    let later = events::in_window(
        &app.pool,
        Utc::now() + chrono::Duration::seconds(5),
        Utc::now() + chrono::Duration::seconds(10),
    )
    .await
    .unwrap();
    assert!(later.is_empty());
}
