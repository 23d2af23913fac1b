mod common;

use std::time::Duration;

use common::spawn_app;
use futures::StreamExt;
use vigil_core::model::live::LiveStatus;

#[tokio::test]
async fn healthz_answers_without_touching_the_database() {
    let app = spawn_app().await;
    app.cut_database().await;
    let resp = app.get("/healthz").await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.text().await.unwrap(), "ok\n");
}

#[tokio::test]
async fn readyz_follows_the_database() {
    let app = spawn_app().await;
    let resp = app.get("/readyz").await;
    assert_eq!(resp.status(), 200);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["state"], "connected", "{body}");

    app.cut_database().await;
    let resp = app.get("/readyz").await;
    assert_eq!(resp.status(), 503);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["state"], "unreachable", "{body}");
}

#[tokio::test]
async fn metrics_count_requests_by_route_and_report_the_pool() {
    let app = spawn_app().await;
    for _ in 0..3 {
        assert_eq!(app.get("/healthz").await.status(), 200);
    }
    let resp = app.get("/metrics").await;
    assert_eq!(resp.status(), 200);
    assert!(resp.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain"));
    let text = resp.text().await.unwrap();
    let line = text
        .lines()
        .find(|l| {
            l.starts_with("http_requests_total{")
                && l.contains("route=\"/healthz\"")
                && l.contains("status=\"200\"")
        })
        .unwrap_or_else(|| panic!("no /healthz counter in:\n{text}"));
    // Other tests in this binary share the process-wide recorder, so at least our three.
    let count: f64 = line.rsplit(' ').next().unwrap().parse().unwrap();
    assert!(count >= 3.0, "{line}");
    assert!(
        text.contains("http_request_duration_seconds_bucket{"),
        "{text}"
    );
    assert!(
        text.contains("db_pool_connections{state=\"idle\"}"),
        "{text}"
    );
    assert!(text.contains("db_pool_max_connections 5"), "{text}");
}

#[tokio::test]
async fn the_status_page_is_complete_without_javascript() {
    let app = spawn_app().await;
    // Let the live feed complete its first database check.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let resp = app.get("/").await;
    assert_eq!(resp.status(), 200);
    let html = resp.text().await.unwrap();
    assert!(html.contains("<html lang=\"en\""), "{html}");
    assert!(html.contains("Vigil itself"), "{html}");
    assert!(html.contains("data-testid=\"server-time\""), "{html}");
    assert!(
        html.contains("connected ("),
        "db state rendered on the server: {html}"
    );
    assert!(
        html.contains("/pkg/vigil.js"),
        "hydration script linked: {html}"
    );
}

#[tokio::test]
async fn unknown_pages_are_404_with_a_way_back() {
    let app = spawn_app().await;
    let resp = app.get("/no/such/page").await;
    assert_eq!(resp.status(), 404);
    assert!(resp
        .text()
        .await
        .unwrap()
        .contains("Back to the status page"));
}

#[tokio::test]
async fn pages_are_compressed_for_clients_that_ask() {
    let app = spawn_app().await;
    // A client that does not decompress by itself, to see what travels on the wire.
    let raw = reqwest::Client::builder().no_gzip().build().unwrap();
    let resp = raw
        .get(app.url("/"))
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-encoding"], "gzip");
}

#[tokio::test]
async fn the_live_stream_pushes_a_fresh_status_every_second() {
    let app = spawn_app().await;
    let resp = app.get("/events/live").await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "text/event-stream");
    let mut stream = resp.bytes_stream();
    let mut buf = String::new();
    let mut seen: Vec<LiveStatus> = Vec::new();
    while seen.len() < 3 {
        let chunk = tokio::time::timeout(Duration::from_secs(5), stream.next())
            .await
            .expect("an event within 5 s")
            .expect("stream open")
            .unwrap();
        buf.push_str(std::str::from_utf8(&chunk).unwrap());
        while let Some(end) = buf.find("\n\n") {
            let event: String = buf.drain(..end + 2).collect();
            if let Some(data) = event.lines().find_map(|l| l.strip_prefix("data: ")) {
                seen.push(serde_json::from_str(data).expect("data is a LiveStatus"));
            }
        }
    }
    assert!(seen.windows(2).all(|w| w[1].seq > w[0].seq), "{seen:?}");
    assert!(seen[2].server_time > seen[0].server_time, "{seen:?}");
    assert!(seen[2].db.is_connected(), "{seen:?}");
}

#[tokio::test]
async fn shutdown_closes_live_streams_and_returns() {
    let mut app = spawn_app().await;
    let resp = app.get("/events/live").await;
    let mut stream = resp.bytes_stream();
    stream.next().await.expect("first event").unwrap();
    let result = tokio::time::timeout(Duration::from_secs(10), app.shutdown())
        .await
        .expect("an open event stream must not hold the shutdown for the 30 s grace period");
    result.expect("clean shutdown");
    // The stream ends instead of hanging.
    let rest = tokio::time::timeout(Duration::from_secs(5), async {
        while let Some(item) = stream.next().await {
            if item.is_err() {
                break;
            }
        }
    })
    .await;
    assert!(rest.is_ok(), "the event stream ended");
}

#[tokio::test]
async fn the_status_page_carries_an_etag_and_answers_304() {
    let app = spawn_app().await;
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let mut saw_304 = false;
    // The page changes every live tick (once a second), so try a few times to land within one.
    for _ in 0..5 {
        let first = app.get("/").await;
        assert_eq!(first.status(), 200);
        let etag = first.headers()["etag"].to_str().unwrap().to_string();
        let again = app
            .client
            .get(app.url("/"))
            .header("if-none-match", &etag)
            .send()
            .await
            .unwrap();
        if again.status() == 304 {
            assert_eq!(again.headers()["etag"].to_str().unwrap(), etag);
            saw_304 = true;
            break;
        }
        assert_eq!(again.status(), 200);
        assert_ne!(again.headers()["etag"].to_str().unwrap(), etag);
    }
    assert!(saw_304, "an unchanged page answers 304 Not Modified");
}
