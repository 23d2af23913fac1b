//! Probes end to end: configured monitors run against a target, turn DOWN and UP with the
//! configured streaks, record events, roll up, and show in the Statuspage-compatible JSON.

use crate::common::{
    access::{
        assert_back_to, assert_refused_back_to, browser, create_agent_token, create_token,
        signed_in, submit,
    },
    eventually, spawn_app_with_toml, Target, TestApp,
};
use vigil_core::model::auth::{Role, Scope};

fn config(target: &Target, heartbeat_secret: &str) -> String {
    format!(
        r#"
[status_page]
title = "Example status"

[probes]
min_interval_secs = 1
down_after = 2
up_after = 2

[[component]]
id = "site"
name = "Website"
group = "Public"

[[component]]
id = "backup"
name = "Nightly backup"

[[monitor]]
name = "site-home"
component = "site"
kind = "http"
url = "http://{addr}/"
interval_secs = 1
timeout_ms = 500

[[monitor]]
name = "site-port"
component = "site"
kind = "tcp"
host = "127.0.0.1"
port = {port}
interval_secs = 1
timeout_ms = 500

[[monitor]]
name = "backup-job"
component = "backup"
kind = "heartbeat"
secret = "{heartbeat_secret}"
interval_secs = 1
window_secs = 3600
"#,
        addr = target.addr,
        port = target.addr.port()
    )
}

/// Waits until the site component reports `status` in summary.json, and returns that summary.
async fn site_becomes(app: &TestApp, status: &str) -> serde_json::Value {
    eventually(15, &format!("site {status}"), || async {
        let s = summary(app).await;
        (component(&s, "site")["status"] == status).then_some(s)
    })
    .await
}

async fn summary(app: &TestApp) -> serde_json::Value {
    app.get("/api/v2/summary.json").await.json().await.unwrap()
}

fn component<'a>(s: &'a serde_json::Value, id: &str) -> &'a serde_json::Value {
    s["components"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .unwrap()
}

#[tokio::test]
async fn a_failing_target_turns_its_component_from_operational_to_outage_and_back() {
    let target = Target::start().await;
    let app = spawn_app_with_toml(&config(&target, "backup-secret-0123456789")).await;

    site_becomes(&app, "operational").await;
    // No heartbeat yet: the backup component has no verdict, and says so rather than "green".
    let s = summary(&app).await;
    assert_eq!(component(&s, "backup")["vigil_status"], "no_data");
    assert_ne!(component(&s, "backup")["status"], "operational");

    // HTTP fails but the port stays open: one of two monitors down is a partial outage.
    target.set_healthy(false);
    let s = site_becomes(&app, "partial_outage").await;
    assert_eq!(s["status"]["indicator"], "major");
    assert_eq!(s["status"]["description"], "Partial System Outage");
    let group = component(&s, "group-public");
    assert_eq!(group["group"], true);
    assert_eq!(group["components"], serde_json::json!(["site"]));
    assert_eq!(component(&s, "site")["group_id"], "group-public");

    // The change is an event with its cause.
    let (from, to, cause): (String, String, String) = sqlx::query_as(
        "SELECT payload->>'from', payload->>'to', payload->>'cause' FROM events \
         WHERE kind = 'monitor.state' AND subject = 'monitor:site-home' ORDER BY id DESC LIMIT 1",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!((from.as_str(), to.as_str()), ("up", "down"));
    assert_eq!(cause, "status: HTTP 503");

    target.set_healthy(true);
    site_becomes(&app, "operational").await;

    // Rollups agree with the raw results they were built from.
    let (raw_checks, raw_failures): (i64, i64) =
        sqlx::query_as("SELECT count(*), count(*) FILTER (WHERE outcome = 2) FROM check_results")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    for res in ["m", "h", "d"] {
        let (checks, failures): (i64, i64) = sqlx::query_as(
            "SELECT sum(checks)::int8, sum(failures)::int8 FROM check_rollups WHERE resolution = $1::\"char\"",
        )
        .bind(res)
        .fetch_one(&app.pool)
        .await
        .unwrap();
        assert_eq!(
            (checks, failures),
            (raw_checks, raw_failures),
            "resolution {res}"
        );
    }
    assert!(raw_failures >= 2);
    let s = summary(&app).await;
    let uptime = component(&s, "site")["uptime_90d"].as_f64().unwrap();
    assert!(uptime < 1.0 && uptime > 0.0, "{uptime}");
}

#[tokio::test]
async fn heartbeats_keep_a_job_up() {
    let target = Target::start().await;
    let secret = "backup-secret-0123456789";
    let app = spawn_app_with_toml(&config(&target, secret)).await;
    let resp = app
        .client
        .post(app.url(&format!("/heartbeat/{secret}")))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let resp = app
        .client
        .post(app.url("/heartbeat/not-a-known-secret-at-all"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 404);
    eventually(10, "backup operational", || async {
        let s = summary(&app).await;
        (component(&s, "backup")["status"] == "operational").then_some(())
    })
    .await;
}

#[tokio::test]
async fn public_json_answers_conditional_requests_and_badges_say_the_state() {
    let target = Target::start().await;
    let app = spawn_app_with_toml(&config(&target, "backup-secret-0123456789")).await;
    site_becomes(&app, "operational").await;
    for path in [
        "/api/v2/summary.json",
        "/api/v2/status.json",
        "/api/v2/components.json",
        "/badge/site.svg",
    ] {
        let first = app.get(path).await;
        assert_eq!(first.status(), 200, "{path}");
        let etag = first.headers()["etag"].to_str().unwrap().to_string();
        assert!(first.headers().contains_key("last-modified"), "{path}");
        let body = first.bytes().await.unwrap();
        let again = app
            .client
            .get(app.url(path))
            .header("if-none-match", &etag)
            .send()
            .await
            .unwrap();
        // The status may move between the two requests; then a fresh 200 is right too.
        if again.status() == 304 {
            assert!(again.bytes().await.unwrap().is_empty());
        } else {
            assert_ne!(again.headers()["etag"].to_str().unwrap(), etag, "{path}");
        }
        if path.ends_with(".svg") {
            let svg = String::from_utf8(body.to_vec()).unwrap();
            assert!(svg.contains(">Operational<"), "{svg}");
        }
    }
    let status: serde_json::Value = app.get("/api/v2/status.json").await.json().await.unwrap();
    assert_eq!(status["page"]["name"], "Example status");
    assert_eq!(status["status"]["indicator"], "none");
    assert_eq!(status["status"]["description"], "All Systems Operational");
    let components: serde_json::Value = app
        .get("/api/v2/components.json")
        .await
        .json()
        .await
        .unwrap();
    let site = component(&components, "site");
    for key in [
        "id",
        "name",
        "status",
        "created_at",
        "updated_at",
        "position",
        "description",
        "showcase",
        "start_date",
        "group_id",
        "page_id",
        "group",
        "only_show_if_degraded",
    ] {
        assert!(site.get(key).is_some(), "component field {key}");
    }
    assert_eq!(app.get("/badge/nope.svg").await.status(), 404);

    // The page shows the same thing in words, without JavaScript.
    let html = app.get("/").await.text().await.unwrap();
    assert!(html.contains("All Systems Operational"), "{html}");
    assert!(
        html.contains("data-testid=\"component-site\" data-status=\"operational\""),
        "{html}"
    );
    assert!(html.contains("uptime over 90 days"), "{html}");
}

#[tokio::test]
async fn monitors_are_listed_for_readers_and_paused_by_admins() {
    let target = Target::start().await;
    // A second monitor on the same rhythm shows the scheduler going on while one is paused.
    let app = spawn_app_with_toml(&format!(
        "{}\n[[monitor]]\nname = \"site-twin\"\ncomponent = \"site\"\nkind = \"http\"\n\
         url = \"http://{}/\"\ninterval_secs = 1\n",
        config(&target, "backup-secret-0123456789"),
        target.addr
    ))
    .await;
    assert_eq!(app.get("/api/v1/monitors").await.status(), 401);
    let (_, agent) = create_agent_token(&app, "eu-west").await;
    let resp = app
        .client
        .get(app.url("/api/v1/monitors"))
        .bearer_auth(&agent)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403);
    let (_, reader) = create_token(&app, &[Scope::Read]).await;
    let list: serde_json::Value = eventually(15, "site-home up", || async {
        let v: serde_json::Value = app.get_json("/api/v1/monitors", &reader).await;
        let up = v["monitors"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["name"] == "site-home" && m["state"] == "up");
        up.then_some(v)
    })
    .await;
    let home = list["monitors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == "site-home")
        .unwrap();
    assert_eq!(home["component"], "site");
    assert_eq!(home["kind"], "http");
    assert!(home["latency_ms"].as_f64().is_some());
    assert!(home["last_check_at"].is_string());

    let pause = |client: reqwest::Client, paused: &'static str| {
        let app = &app;
        async move {
            submit(
                app,
                &client,
                "set_monitor_paused",
                "/ops/monitors",
                &[("name", "site-home"), ("paused", paused)],
            )
            .await
        }
    };
    let editor = signed_in(&app, "ed", Role::Editor).await;
    assert_refused_back_to(&app, &pause(editor, "true").await, "/ops/monitors", "admin");
    let admin = signed_in(&app, "ada", Role::Admin).await;
    assert_back_to(&app, &pause(admin.clone(), "true").await, "/ops/monitors");
    eventually(10, "site-home paused", || async {
        let v: serde_json::Value = app.get_json("/api/v1/monitors", &reader).await;
        v["monitors"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["name"] == "site-home" && m["state"] == "paused" && m["paused"] == true)
            .then_some(())
    })
    .await;
    // Paused means not checked: no new results arrive, while its twin is checked twice more
    // (and twice before counting, so that a check under way when it was paused has landed).
    let checks_of = |name: &'static str| {
        let pool = app.pool.clone();
        async move {
            sqlx::query_scalar::<_, i64>("SELECT count(*) FROM check_results r JOIN monitors m ON m.id = r.monitor_id WHERE m.name = $1")
                .bind(name)
                .fetch_one(&pool)
                .await
                .unwrap()
        }
    };
    let twice_more = || async {
        let start = checks_of("site-twin").await;
        eventually(10, "two more checks of the twin", || async {
            let now = checks_of("site-twin").await;
            (now >= start + 2).then_some(()).ok_or(now)
        })
        .await;
    };
    twice_more().await;
    let before = checks_of("site-home").await;
    twice_more().await;
    assert_eq!(
        checks_of("site-home").await,
        before,
        "a paused monitor is not checked"
    );
    let audit: (String,) =
        sqlx::query_as("SELECT actor FROM audit_log WHERE action = 'monitor.pause'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(audit.0, "user:ada");
    assert_back_to(&app, &pause(admin.clone(), "false").await, "/ops/monitors");
    eventually(10, "site-home checked again", || async {
        (checks_of("site-home").await > before).then_some(())
    })
    .await;
    let _ = browser(&app);
}
