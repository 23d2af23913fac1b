//! The rest of the world as data: data sources, channels, alert rules and the page's settings,
//! changed through the API as revisions and applied live — a changed source restarts its own
//! collector and no other, a new channel is delivered to, the page shows its new title.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use serde_json::{json, Value};
use vigil_core::model::auth::Scope;

use crate::common::{
    access::create_token, eventually, send, site_monitor, spawn_app_with_toml, Target, TestApp,
};

/// Requests a fake exporter and webhook receiver saw: when each path was asked for, and the
/// bodies posted to it.
#[derive(Clone, Default)]
struct Seen {
    gets: Arc<Mutex<HashMap<String, Vec<Instant>>>>,
    posts: Arc<Mutex<Vec<(String, Value)>>>,
}

impl Seen {
    fn hits(&self, path: &str) -> Vec<Instant> {
        self.gets
            .lock()
            .unwrap()
            .get(path)
            .cloned()
            .unwrap_or_default()
    }
}

/// A node_exporter's metrics at every path, and a webhook receiver at `/hook/…`.
async fn exporter_and_hooks() -> (String, Seen) {
    use axum::{extract::State, http::Uri, routing::get, Json, Router};
    let seen = Seen::default();
    let app = Router::new()
        .fallback(
            get(|State(s): State<Seen>, uri: Uri| async move {
                s.gets
                    .lock()
                    .unwrap()
                    .entry(uri.path().to_string())
                    .or_default()
                    .push(Instant::now());
                "# TYPE node_memory_MemTotal_bytes gauge\nnode_memory_MemTotal_bytes 1000\n\
                 # TYPE node_memory_MemAvailable_bytes gauge\nnode_memory_MemAvailable_bytes 400\n\
                 # TYPE node_load1 gauge\nnode_load1 0.5\n"
            })
            .post(
                |State(s): State<Seen>, uri: Uri, Json(body): Json<Value>| async move {
                    s.posts.lock().unwrap().push((uri.path().to_string(), body));
                    "ok"
                },
            ),
        )
        .with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}"), seen)
}

/// Waits until `path` has been scraped `more` times after now: collectors that run keep running.
async fn scraped_again(seen: &Seen, path: &str, more: usize) {
    let from = seen.hits(path).len();
    eventually(10, &format!("{path} scraped {more} more times"), || async {
        let n = seen.hits(path).len() - from;
        (n >= more).then_some(()).ok_or(n)
    })
    .await;
}

async fn writer(app: &TestApp) -> String {
    create_token(app, &[Scope::Read, Scope::ConfigWrite])
        .await
        .1
}

async fn database_managed_app() -> TestApp {
    let target = Target::start().await;
    spawn_app_with_toml(&site_monitor(
        target.addr,
        30,
        "",
        "[world]\nmanaged_by = \"database\"\n",
    ))
    .await
}

#[tokio::test]
async fn a_changed_source_restarts_its_own_collector_and_no_other() {
    let app = database_managed_app().await;
    let token = writer(&app).await;
    let (base, seen) = exporter_and_hooks().await;
    for (node, path) in [("node-a", "/a"), ("node-b", "/b")] {
        let (status, body) = send(
            &app,
            reqwest::Method::POST,
            "/api/v1/sources",
            &token,
            Some(json!({"kind": "node_exporter", "node": node, "url": format!("{base}{path}"), "interval_secs": 1})),
        )
        .await;
        assert_eq!(status, 201, "{body}");
        assert_eq!(body["id"], format!("node_exporter:{node}"), "{body}");
        assert_eq!(body["kind"], "node_exporter", "{body}");
    }
    eventually(10, "both exporters scraped twice", || async {
        let (a, b) = (seen.hits("/a").len(), seen.hits("/b").len());
        (a >= 2 && b >= 2)
            .then_some(())
            .ok_or(format!("a {a}, b {b}"))
    })
    .await;
    // The registry lists both, fresh.
    eventually(5, "both sources registered and heard from", || async {
        let fresh: Vec<String> = sqlx::query_scalar(
            "SELECT name FROM sources WHERE NOT retired AND last_success IS NOT NULL \
             AND kind = 'node_exporter' ORDER BY name",
        )
        .fetch_all(&app.pool)
        .await
        .unwrap();
        (fresh == ["node_exporter:node-a", "node_exporter:node-b"])
            .then_some(())
            .ok_or(format!("{fresh:?}"))
    })
    .await;

    // node-a moves to another address: its collector restarts there; node-b's runs on.
    let (status, body) = send(
        &app,
        reqwest::Method::PATCH,
        "/api/v1/sources/node_exporter:node-a",
        &token,
        Some(json!({"url": format!("{base}/c")})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let moved_at = Instant::now();
    eventually(
        10,
        "the moved source scraped at its new address",
        || async {
            let c = seen.hits("/c").len();
            (c >= 2).then_some(()).ok_or(c)
        },
    )
    .await;
    // Absence, after a positive signal: the moved collector scrapes twice more (a second at
    // least, on a 1 s interval), time in which a collector left at the old address would have
    // scraped it.
    scraped_again(&seen, "/c", 2).await;
    let late_a = seen
        .hits("/a")
        .into_iter()
        .filter(|t| *t > moved_at + Duration::from_millis(500))
        .count();
    assert_eq!(late_a, 0, "the old address is no longer scraped");
    // A restarted collector scrapes at once; node-b's kept its rhythm through the change.
    let b = seen.hits("/b");
    assert!(b.len() >= 4, "{}", b.len());
    let gaps: Vec<u128> = b.windows(2).map(|w| (w[1] - w[0]).as_millis()).collect();
    assert!(
        gaps.iter().all(|g| *g >= 700),
        "node-b was scraped out of rhythm (restarted?): gaps {gaps:?} ms"
    );

    // A stale If-Match is refused with the source as it is now.
    let resp = app
        .client
        .patch(app.url("/api/v1/sources/node_exporter:node-b"))
        .bearer_auth(&token)
        .header("if-match", "\"1\"")
        .json(&json!({"interval_secs": 2}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 412);

    // Deleted: no further scrapes; the registry retires it.
    let (status, _) = send(
        &app,
        reqwest::Method::DELETE,
        "/api/v1/sources/node_exporter:node-b",
        &token,
        None,
    )
    .await;
    assert_eq!(status, 204);
    let deleted_at = Instant::now();
    scraped_again(&seen, "/c", 3).await;
    let late_b = seen
        .hits("/b")
        .into_iter()
        .filter(|t| *t > deleted_at + Duration::from_millis(500))
        .count();
    assert_eq!(late_b, 0, "a deleted source is not scraped");
    let retired: bool =
        sqlx::query_scalar("SELECT retired FROM sources WHERE name = 'node_exporter:node-b'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert!(retired);

    // Every problem of a bad source is named, with its field.
    let (status, body) = send(
        &app,
        reqwest::Method::POST,
        "/api/v1/sources",
        &token,
        Some(json!({"kind": "prometheus", "name": "prom", "url": "ftp://prometheus", "interval_secs": 1})),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    let text = body.to_string();
    assert!(text.contains("source `prometheus:prom`: url"), "{text}");
    let (status, body) = send(
        &app,
        reqwest::Method::POST,
        "/api/v1/sources",
        &token,
        Some(json!({"kind": "graphite", "name": "g", "url": "http://x"})),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert!(body.to_string().contains("graphite"), "{body}");
}

#[tokio::test]
async fn channels_alert_rules_and_the_page_are_changed_live_with_secrets_sealed() {
    let app = database_managed_app().await;
    let token = writer(&app).await;
    let (base, seen) = exporter_and_hooks().await;
    let hook = format!("{base}/hook/ops-s3cret-token");
    let (status, body) = send(
        &app,
        reqwest::Method::POST,
        "/api/v1/channels",
        &token,
        Some(json!({"name": "ops", "kind": "webhook", "url": hook, "events": ["world.*"]})),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["url"], "(secret)", "{body}");

    // Taken up without a restart: the replica that delivers writes it where events find it...
    eventually(10, "the new channel enabled", || async {
        let enabled: Option<bool> =
            sqlx::query_scalar("SELECT enabled FROM notify_channels WHERE name = 'ops'")
                .fetch_optional(&app.pool)
                .await
                .unwrap();
        (enabled == Some(true)).then_some(()).ok_or(enabled)
    })
    .await;
    // ...and the next revision is an event it wants: delivered.
    let page = json!({"title": "Example Status", "description": "Our <b>services</b>, live.",
                      "links": [{"name": "Support", "url": "https://example.com/support"}]});
    let (status, body) = send(
        &app,
        reqwest::Method::PUT,
        "/api/v1/page",
        &token,
        Some(page.clone()),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    eventually(15, "the revision delivered to the new channel", || async {
        let posts = seen.posts.lock().unwrap().clone();
        posts
            .iter()
            .any(|(path, _)| path == "/hook/ops-s3cret-token")
            .then_some(())
            .ok_or(format!("{posts:?}"))
    })
    .await;

    // The public page and its JSON carry the new title, the description (escaped) and links.
    eventually(10, "the page's new title", || async {
        let html = app.get("/").await.text().await.unwrap();
        (html.contains("Example Status")
            && html.contains("Our &lt;b&gt;services&lt;/b&gt;, live.")
            && html.contains("https://example.com/support"))
        .then_some(())
        .ok_or(html.chars().take(600).collect::<String>())
    })
    .await;
    let summary: Value = app.get("/api/v2/summary.json").await.json().await.unwrap();
    assert_eq!(summary["page"]["name"], "Example Status", "{summary}");
    // Writing the page again replaces it, its revision checked like any object's.
    let resp = app
        .client
        .put(app.url("/api/v1/page"))
        .bearer_auth(&token)
        .header("if-match", "\"1\"")
        .json(&json!({"title": "Stale Status"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 412);
    let (status, body) = send(
        &app,
        reqwest::Method::PUT,
        "/api/v1/page",
        &token,
        Some(page.clone()),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["title"], "Example Status", "{body}");

    // An alert rule through the API; a bad one names its field.
    let (status, body) = send(
        &app,
        reqwest::Method::POST,
        "/api/v1/alert-rules",
        &token,
        Some(json!({"name": "memory-hot", "metric": "memory", "above": 0.5, "for_secs": 0})),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let (status, body) = send(
        &app,
        reqwest::Method::POST,
        "/api/v1/alert-rules",
        &token,
        Some(json!({"name": "disk", "metric": "disk", "above": 0.5})),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body.to_string().contains("alert_rule `disk`: metric"),
        "{body}"
    );
    let rules = app.get_json("/api/v1/alert-rules", &token).await;
    let ids: Vec<&str> = rules["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert!(ids.contains(&"memory-hot"), "{rules}");

    // The webhook's URL is nowhere in clear: not in the export, the history or the tables.
    let export = app.get_json("/api/v1/world", &token).await.to_string();
    let history = app
        .get_json("/api/v1/world/revisions", &token)
        .await
        .to_string();
    let stored: Vec<String> = sqlx::query_scalar(
        "SELECT doc::text FROM world_settings UNION ALL SELECT url FROM notify_channels \
         UNION ALL SELECT coalesce(world::text, '') FROM world_revisions \
         UNION ALL SELECT doc::text FROM world_versions UNION ALL SELECT payload::text FROM events",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    for (what, text) in [("export", &export), ("history", &history)]
        .into_iter()
        .chain(stored.iter().map(|s| ("stored", s)))
    {
        assert!(!text.contains("s3cret"), "{what}: {text}");
    }
    assert!(history.contains("\"object\":\"channel\""), "{history}");

    // Deleting the channel stops deliveries to it.
    let (status, _) = send(
        &app,
        reqwest::Method::DELETE,
        "/api/v1/channels/ops",
        &token,
        None,
    )
    .await;
    assert_eq!(status, 204);
    // The replica that delivers applies the revision within a wake-up or two.
    eventually(10, "the deleted channel disabled", || async {
        let enabled: bool =
            sqlx::query_scalar("SELECT enabled FROM notify_channels WHERE name = 'ops'")
                .fetch_one(&app.pool)
                .await
                .unwrap();
        (!enabled).then_some(()).ok_or("still enabled")
    })
    .await;

    // Writes need config:write.
    let reader = create_token(&app, &[Scope::Read]).await.1;
    let (status, _) = send(
        &app,
        reqwest::Method::PATCH,
        "/api/v1/page",
        &reader,
        Some(json!({"title": "Defaced"})),
    )
    .await;
    assert_eq!(status, 403);
}
