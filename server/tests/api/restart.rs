//! What a restart after a gap does: Vigil's absence is one event, not every source going stale
//! and answering again; sources are judged only on what could be heard since it came back.

use chrono::{Duration, Utc};
use vigil_core::store::sources;

use crate::common::{config_from_toml, fresh_database, spawn_with};

const CONFIG: &str =
    "[[component]]\nid = \"site\"\nname = \"Website\"\n\n[incidents]\nautomatic = false\n";

#[tokio::test]
async fn a_gap_in_vigils_watch_is_one_event_and_no_source_is_blamed_for_it() {
    let (db_name, url) = fresh_database().await;
    // Vigil last heard from its sources 23 minutes ago, then nothing ran.
    let pool = sqlx::PgPool::connect(&url).await.unwrap();
    sqlx::query(
        "INSERT INTO sources (name, kind, target, stale_after_secs, last_attempt, last_success, registered_at) \
         VALUES ('prometheus', 'prometheus', 'http://127.0.0.1:9/', 30, now() - interval '23 minutes', \
                 now() - interval '23 minutes', now() - interval '1 day')",
    )
    .execute(&pool)
    .await
    .unwrap();
    pool.close().await;

    let app = spawn_with(config_from_toml(CONFIG, &url), db_name).await;
    let said: Vec<(String, serde_json::Value)> =
        sqlx::query_as("SELECT kind, payload FROM events WHERE kind = 'vigil.absent'")
            .fetch_all(&app.pool)
            .await
            .unwrap();
    assert_eq!(said.len(), 1, "{said:?}");
    let from: chrono::DateTime<Utc> = said[0].1["from"].as_str().unwrap().parse().unwrap();
    assert!(
        (Utc::now() - Duration::minutes(23) - from)
            .num_seconds()
            .abs()
            < 30
    );

    // A source silent since before the restart is judged from the restart on.
    sqlx::query("UPDATE sources SET retired = false WHERE name = 'prometheus'")
        .execute(&app.pool)
        .await
        .unwrap();
    let now = Utc::now();
    let gone = sources::mark_stale(&app.pool, now, now - Duration::seconds(5))
        .await
        .unwrap();
    assert!(gone.is_empty(), "{gone:?}");
    // Silent for longer than its stale-after since Vigil came back: stale.
    let gone = sources::mark_stale(&app.pool, now, now - Duration::seconds(60))
        .await
        .unwrap();
    assert_eq!(gone, ["prometheus"]);
    let stale_events: i64 =
        sqlx::query_scalar("SELECT count(*) FROM events WHERE kind = 'source.stale'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(stale_events, 1);
}
