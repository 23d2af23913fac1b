use crate::common;

use std::time::Duration;

use crate::common::spawn_app;
use futures::StreamExt;
use vigil_core::model::{auth::Role, live::LiveStatus};

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
    assert_eq!(resp.text().await.unwrap(), "ready\n");

    // (The status read every replica makes at start-up, done here so the test need not wait.)
    assert_eq!(app.get("/api/v2/summary.json").await.status(), 200);
    app.cut_database().await;
    let resp = app.get("/readyz").await;
    // Every replica reads the status at start-up, so it holds a state to answer the public with:
    // still ready (a load balancer keeps sending visitors), and it says the database is away.
    // The database's error text stays in the log.
    assert_eq!(resp.status(), 200);
    assert_eq!(
        resp.text().await.unwrap(),
        "degraded: database unreachable, serving the last known state\n"
    );
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

/// The first event of a live stream.
async fn first_event(resp: reqwest::Response) -> LiveStatus {
    let mut stream = resp.bytes_stream();
    next_status(&mut stream, &mut String::new(), Duration::from_secs(5))
        .await
        .expect("an event within 5 s")
}

/// Waits for the live feed's first database check (what operators' pages show of Vigil itself).
async fn first_tick(app: &common::TestApp) {
    let (_, token) =
        common::access::create_token(app, &[vigil_core::model::auth::Scope::Read]).await;
    common::eventually(10, "the live feed's first database check", || async {
        let live = first_event(app.get_with_token("/events/live", &token).await).await;
        live.db.is_connected().then_some(()).ok_or(live.db)
    })
    .await;
}

#[tokio::test]
async fn the_status_page_is_complete_without_javascript() {
    let app = spawn_app().await;
    first_tick(&app).await;
    let resp = app.get("/").await;
    assert_eq!(resp.status(), 200);
    let html = resp.text().await.unwrap();
    assert!(html.contains("<html lang=\"en\""), "{html}");
    assert!(html.contains("data-testid=\"banner\""), "{html}");
    // Vigil's own health (server time, database latency, ticks) is for operators.
    assert!(!html.contains("Vigil itself"), "{html}");
    assert!(!html.contains("data-testid=\"server-time\""), "{html}");
    assert!(!html.contains("latency_ms"), "{html}");
    // A visitor downloads the page and one small script, never the app's WebAssembly.
    assert!(!html.contains(".wasm"), "{html}");
    assert!(!html.contains("/pkg/vigil.js"), "{html}");
    let script = vigil_server::http::assets::PUBLIC_SCRIPT.as_str();
    assert!(html.contains(&format!("src=\"{script}\"")), "{html}");
    let js = app.get(script).await;
    assert_eq!(js.status(), 200);
    assert_eq!(
        js.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );
    assert!(js.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/javascript"));
    assert!(js.text().await.unwrap().contains("EventSource"));
}

#[tokio::test]
async fn operators_pages_load_the_app() {
    let app = spawn_app().await;
    let admin = common::access::signed_in(&app, "ada", Role::Admin).await;
    let html = admin
        .get(app.url("/ops"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("/pkg/vigil.js"), "hydration script: {html}");
    assert!(html.contains("vigil_bg.wasm"), "{html}");
    assert!(!html.contains("/pkg/live."), "{html}");
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
    // An ops reader's stream: with the database's state.
    let (_, token) =
        common::access::create_token(&app, &[vigil_core::model::auth::Scope::Read]).await;
    let resp = app
        .client
        .get(app.url("/events/live"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "text/event-stream");
    let mut stream = resp.bytes_stream();
    let mut buf = String::new();
    let mut seen: Vec<LiveStatus> = Vec::new();
    while seen.len() < 3 {
        seen.push(
            next_status(&mut stream, &mut buf, Duration::from_secs(5))
                .await
                .expect("an event within 5 s"),
        );
    }
    assert!(seen.windows(2).all(|w| w[1].seq > w[0].seq), "{seen:?}");
    assert!(seen[2].server_time > seen[0].server_time, "{seen:?}");
    assert!(seen[2].db.is_connected(), "{seen:?}");
}

/// Reads server-sent events until one carries a `LiveStatus`, for at most `within`.
pub(crate) async fn next_status<B: AsRef<[u8]>>(
    stream: &mut (impl futures::Stream<Item = reqwest::Result<B>> + Unpin),
    buf: &mut String,
    within: Duration,
) -> Option<LiveStatus> {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        if let Some(end) = buf.find("\n\n") {
            let event: String = buf.drain(..end + 2).collect();
            if let Some(data) = event.lines().find_map(|l| l.strip_prefix("data: ")) {
                return Some(serde_json::from_str(data).expect("data is a LiveStatus"));
            }
            continue;
        }
        let chunk = tokio::time::timeout_at(deadline, stream.next())
            .await
            .ok()??;
        buf.push_str(std::str::from_utf8(chunk.unwrap().as_ref()).unwrap());
    }
}

#[tokio::test]
async fn the_public_stream_speaks_only_when_the_status_moves_even_if_another_process_moved_it() {
    let app = spawn_app().await;
    let mut stream = app.get("/events/live").await.bytes_stream();
    let mut buf = String::new();
    let first = next_status(&mut stream, &mut buf, Duration::from_secs(5))
        .await
        .expect("the current status on connecting");
    // Nothing changes: no message (the heartbeat is for operators), only keep-alive comments.
    assert_eq!(
        next_status(&mut stream, &mut buf, Duration::from_secs(3)).await,
        None
    );
    // Written straight to the database, as another Vigil on the same database would: no request
    // reaches this one, and its fallback timer is 30 s away. The database's notification moves it.
    use vigil_core::model::monitor::MonitorStatus::{Down, Up};
    let elsewhere = common::monitor_event("site", "website", Up, Down, "HTTP 502");
    let id = vigil_core::store::events::append(&app.pool, "monitor:site", &elsewhere)
        .await
        .unwrap()
        .id;
    let moved = next_status(&mut stream, &mut buf, Duration::from_secs(5))
        .await
        .expect("the new version within seconds");
    assert!(moved.status_version >= id, "{first:?} → {moved:?}");
    assert!(moved.status_version > first.status_version);
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
    first_tick(&app).await;
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

#[tokio::test]
async fn vigils_own_health_is_on_ops_and_the_public_stream_carries_none_of_it() {
    use common::access::{create_token, signed_in};
    use vigil_core::model::auth::{Role, Scope};
    let app = spawn_app().await;
    first_tick(&app).await;
    let ops = signed_in(&app, "vera", Role::Viewer).await;
    let html = app.text_as(&ops, "/ops").await;
    assert!(html.contains("Vigil itself"), "{html}");
    assert!(
        html.contains("connected ("),
        "db state rendered for operators: {html}"
    );

    let public = first_event(app.get("/events/live").await).await;
    assert_eq!(
        public.db,
        vigil_core::model::live::DbState::Unknown,
        "{public:?}"
    );
    let (_, token) = create_token(&app, &[Scope::Read]).await;
    let private = first_event(app.get_with_token("/events/live", &token).await).await;
    assert!(private.db.is_connected(), "{private:?}");
}

#[tokio::test]
async fn metrics_can_require_a_token() {
    let var = format!("VIGIL_TEST_METRICS_{}", std::process::id());
    std::env::set_var(&var, "m3trics-s3cret");
    let app =
        common::spawn_app_with_toml(&format!("[server]\nmetrics_token_env = \"{var}\"\n")).await;
    assert_eq!(app.get("/metrics").await.status(), 401);
    let wrong = app.get_with_token("/metrics", "nope").await;
    assert_eq!(wrong.status(), 401);
    let right = app.get_with_token("/metrics", "m3trics-s3cret").await;
    assert_eq!(right.status(), 200);
    assert!(right.text().await.unwrap().contains("http_requests_total"));
}

#[tokio::test]
async fn every_response_carries_security_headers_and_pages_a_nonce_policy() {
    let app = spawn_app().await;
    for path in [
        "/",
        "/history",
        "/login",
        "/api/v2/summary.json",
        "/no/such/page",
        "/healthz",
    ] {
        let resp = app.get(path).await;
        let h = resp.headers();
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(
            h["referrer-policy"], "strict-origin-when-cross-origin",
            "{path}"
        );
        let csp = h["content-security-policy"].to_str().unwrap().to_string();
        assert!(csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
        let is_html = h["content-type"].to_str().unwrap().starts_with("text/html");
        if is_html {
            // The policy names the nonce the page's inline scripts carry.
            let nonce = csp
                .split("'nonce-")
                .nth(1)
                .and_then(|r| r.split('\'').next())
                .unwrap_or_else(|| panic!("{path}: no nonce in {csp}"))
                .to_string();
            let scripts_rule = csp
                .split(';')
                .find(|d| d.trim().starts_with("script-src"))
                .unwrap();
            assert!(!scripts_rule.contains("unsafe-inline"), "{csp}");
            let html = resp.text().await.unwrap();
            let scripts = html.matches("<script").count();
            // Status pages follow the live feed; the sign-in form and 404 load no script file.
            assert_eq!(
                html.contains("<script type=\"module\" src=\"/pkg/live."),
                matches!(path, "/" | "/history"),
                "{path}: {html}"
            );
            assert!(
                html.matches(&format!("nonce=\"{nonce}\"")).count() >= scripts,
                "{path}: every script carries the nonce"
            );
        }
    }
    // The cached `/` names the nonce of the copy it serves.
    for _ in 0..2 {
        let resp = app.get("/").await;
        let csp = resp.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .to_string();
        let html = resp.text().await.unwrap();
        let nonce = csp
            .split("'nonce-")
            .nth(1)
            .unwrap()
            .split('\'')
            .next()
            .unwrap();
        assert!(
            html.contains(&format!("nonce=\"{nonce}\"")),
            "cached page and policy disagree"
        );
    }
}

#[tokio::test]
async fn only_configured_sites_may_frame_the_public_page_and_never_ops() {
    let app =
        common::spawn_app_with_toml("[server]\nframe_ancestors = [\"https://www.example.org\"]\n")
            .await;
    let csp = |path: &'static str| {
        let app = &app;
        async move {
            app.get(path).await.headers()["content-security-policy"]
                .to_str()
                .unwrap()
                .to_string()
        }
    };
    assert!(csp("/")
        .await
        .contains("frame-ancestors https://www.example.org"));
    assert!(csp("/login").await.contains("frame-ancestors 'none'"));
    assert!(csp("/ops").await.contains("frame-ancestors 'none'"));
}

#[tokio::test]
async fn the_public_read_side_may_be_read_cross_origin_without_credentials() {
    let app = spawn_app().await;
    for path in [
        "/api/v2/summary.json",
        "/api/v2/status.json",
        "/history.atom",
        "/history.rss",
        "/api/v2/incidents.json",
    ] {
        let resp = app
            .client
            .get(app.url(path))
            .header("origin", "https://widget.example")
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200, "{path}");
        assert_eq!(resp.headers()["access-control-allow-origin"], "*", "{path}");
        assert!(
            resp.headers()
                .get("access-control-allow-credentials")
                .is_none(),
            "{path}"
        );
    }
    // A preflight for a conditional GET is answered too.
    let pre = app
        .client
        .request(reqwest::Method::OPTIONS, app.url("/api/v2/summary.json"))
        .header("origin", "https://widget.example")
        .header("access-control-request-method", "GET")
        .header("access-control-request-headers", "if-none-match")
        .send()
        .await
        .unwrap();
    assert!(pre.status().is_success(), "{}", pre.status());
    assert_eq!(pre.headers()["access-control-allow-origin"], "*");
    // The private API is not opened up.
    let resp = app
        .client
        .get(app.url("/api/v1/me"))
        .header("origin", "https://widget.example")
        .send()
        .await
        .unwrap();
    assert!(resp.headers().get("access-control-allow-origin").is_none());
}

#[tokio::test]
async fn api_errors_are_non_2xx_with_one_json_shape() {
    use common::access::create_token;
    use vigil_core::model::auth::Scope;
    let app = spawn_app().await;
    let (_, reader) = create_token(&app, &[Scope::Read, Scope::IncidentsWrite]).await;
    // An oversized body: 413, in JSON.
    let resp = app
        .client
        .post(app.url("/api/v1/incidents"))
        .bearer_auth(&reader)
        .header("content-type", "application/json")
        .body(vec![b' '; 3 << 20])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 413);
    let body: serde_json::Value = resp.json().await.expect("413 in JSON");
    assert!(body["error"].as_str().is_some(), "{body}");
    // JSON that does not fit: 4xx, in JSON.
    let resp = app
        .client
        .post(app.url("/api/v1/incidents"))
        .bearer_auth(&reader)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_client_error());
    let body: serde_json::Value = resp.json().await.expect("in JSON");
    assert!(body["error"].as_str().is_some(), "{body}");
    // The database gone: 503, not 200 with an error inside.
    app.cut_database().await;
    let resp = app.get_with_token("/api/v1/monitors", &reader).await;
    assert_eq!(resp.status(), 503);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert!(
        body["error"].as_str().unwrap().contains("database"),
        "{body}"
    );
}

#[tokio::test]
async fn source_urls_are_listed_without_credentials() {
    use common::access::create_token;
    use vigil_core::model::auth::Scope;
    let app = common::spawn_app_with_toml(
        "[[prometheus]]\nname = \"main\"\nurl = \"http://scraper:pr0m-s3cret@127.0.0.1:9/?token=q-s3cret\"\n",
    )
    .await;
    let (_, reader) = create_token(&app, &[Scope::Read]).await;
    let sources = app.get_json("/api/v1/sources", &reader).await.to_string();
    assert!(sources.contains("127.0.0.1:9"), "{sources}");
    assert!(
        !sources.contains("pr0m-s3cret") && !sources.contains("scraper"),
        "{sources}"
    );
    assert!(!sources.contains("q-s3cret"), "{sources}");
}

/// Fetches `path` asking for `encoding`, without letting the client decode it.
async fn raw(app: &common::TestApp, path: &str, encoding: &str) -> reqwest::Response {
    reqwest::Client::builder()
        .no_gzip()
        .build()
        .unwrap()
        .get(app.url(path))
        .header("accept-encoding", encoding)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn public_urls_are_served_precompressed_with_validators() {
    use std::io::Read;
    // One rendering must serve every request below: it stands an hour, not the default five
    // seconds, which a loaded machine once spent between two of them (the page showed a new time).
    let app = common::spawn_app_with_toml(
        "[[component]]\nid = \"site\"\nname = \"Website\"\n\n[incidents]\nautomatic = false\n\n\
         [status_page]\nrefresh_secs = 3600\n",
    )
    .await;
    for path in [
        "/",
        "/history",
        "/api/v2/summary.json",
        "/history.atom",
        "/badge/site.svg",
    ] {
        let plain = raw(&app, path, "identity").await;
        assert_eq!(plain.status(), 200, "{path}");
        assert!(plain.headers().get("content-encoding").is_none(), "{path}");
        let plain = plain.bytes().await.unwrap();

        // What browsers send: brotli wins.
        let br = raw(&app, path, "gzip, deflate, br, zstd").await;
        assert_eq!(br.headers()["content-encoding"], "br", "{path}");
        // `/` also answers Markdown and text (`public::text`), so it varies on those too.
        let vary = if path == "/" {
            "accept, accept-encoding, user-agent"
        } else {
            "accept-encoding"
        };
        assert_eq!(br.headers()["vary"], vary, "{path}");
        let etag = br.headers()["etag"].to_str().unwrap().to_string();
        assert!(br.headers().get("last-modified").is_some(), "{path}");
        let mut decoded = Vec::new();
        brotli::BrotliDecompress(&mut &br.bytes().await.unwrap()[..], &mut decoded).unwrap();
        // Served from one rendering: the same bytes, nonce and all.
        assert_eq!(decoded, plain.to_vec(), "{path}");
        let gz = raw(&app, path, "gzip").await;
        assert_eq!(gz.headers()["content-encoding"], "gzip", "{path}");
        let mut unzipped = Vec::new();
        flate2::read::GzDecoder::new(&gz.bytes().await.unwrap()[..])
            .read_to_end(&mut unzipped)
            .unwrap();
        assert_eq!(unzipped, decoded, "{path}: one rendering, two codings");

        // Any coding's tag answers 304 for every coding.
        let again = reqwest::Client::new()
            .get(app.url(path))
            .header("accept-encoding", "gzip")
            .header("if-none-match", &etag)
            .send()
            .await
            .unwrap();
        assert_eq!(again.status(), 304, "{path}");
    }
    // A change made through this server is what the next reader gets, not a page from before.
    let (_, writer) =
        common::access::create_token(&app, &[vigil_core::model::auth::Scope::IncidentsWrite]).await;
    let created = app
        .client
        .post(app.url("/api/v1/incidents"))
        .bearer_auth(&writer)
        .json(&serde_json::json!({ "name": "Slow checkout", "status": "investigating", "impact": "minor", "body": "Looking.", "component_ids": ["site"] }))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let summary: serde_json::Value = app.get("/api/v2/summary.json").await.json().await.unwrap();
    assert_eq!(
        summary["incidents"][0]["name"], "Slow checkout",
        "{summary}"
    );
    let page = app.get("/").await.text().await.unwrap();
    assert!(page.contains("Slow checkout"));
    // Unknown incidents are 404, every time.
    for _ in 0..2 {
        assert_eq!(app.get("/incidents/987654").await.status(), 404);
    }
}
