//! NodeBalancer polling against the simulator: backends stored, flapping detected on scripted
//! flips, the ingress alert raised and cleared, and the JSON API.

use crate::common;

use std::time::Duration;

use crate::common::{access::create_token, eventually, spawn_app, spawn_app_with_toml};
use vigil_core::model::{auth::Scope, backend::FlapRule};
use vigil_server::sources::linode::{client::LinodeClient, poller::Poller};
use vigil_sim::linode::{seed_balancer, LinodeSim};

const TOKEN: &str = "sim-token-0123456789";

async fn event_count(pool: &sqlx::PgPool, kind: &str) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM events WHERE kind = $1")
        .bind(kind)
        .fetch_one(pool)
        .await
        .unwrap()
}

/// The seed incident's NodeBalancer, served by the simulator; returns it and its API base URL.
async fn seed_sim() -> (LinodeSim, String) {
    let sim = LinodeSim::new(TOKEN, vec![seed_balancer()]);
    let (_, base) = sim.serve().await.unwrap();
    (sim, base)
}

/// A poller on `base` that calls four changes in ten minutes flapping.
fn new_poller(app: &common::TestApp, base: &str) -> Poller {
    let rule = FlapRule {
        changes: 4,
        window: chrono::Duration::minutes(10),
    };
    let client = LinodeClient::new(base, TOKEN, Duration::from_secs(2));
    Poller::new(
        client,
        app.pool.clone(),
        rule,
        Duration::from_secs(15),
        vec![],
    )
}

#[tokio::test]
async fn flips_become_changes_then_flapping_then_an_ingress_alert() {
    let app = spawn_app().await;
    let (sim, base) = seed_sim().await;
    let mut poller = new_poller(&app, &base);

    assert_eq!(
        poller.poll_once().await.unwrap(),
        4,
        "2 nodes × ports 80 and 443"
    );
    assert_eq!(
        event_count(&app.pool, "lb.backend").await,
        0,
        "first sight is not a change"
    );

    // Node b on port 443 flaps: DOWN, UP, DOWN, UP.
    for status in ["DOWN", "UP", "DOWN", "UP"] {
        sim.set_node_status(4432, status);
        poller.poll_once().await.unwrap();
    }
    assert_eq!(event_count(&app.pool, "lb.backend").await, 4);
    let flapping: (bool, String) =
        sqlx::query_as("SELECT flapping, status FROM lb_backends WHERE node_id = 4432")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(flapping, (true, "up".to_string()));
    let started: serde_json::Value =
        sqlx::query_scalar("SELECT payload FROM events WHERE kind = 'lb.flapping'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(started["flapping"], true);
    assert_eq!(started["backend"], "lke-node-b");
    // One node flapping and the other up: port 443 still has a steady backend.
    assert_eq!(event_count(&app.pool, "lb.ingress").await, 0);

    // Node a goes down too: nothing steady is left on 443.
    sim.set_node_status(4431, "DOWN");
    poller.poll_once().await.unwrap();
    let alert: serde_json::Value = sqlx::query_scalar(
        "SELECT payload FROM events WHERE kind = 'lb.ingress' ORDER BY id DESC LIMIT 1",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(
        (alert["port"].as_i64(), alert["broken"].as_bool()),
        (Some(443), Some(true))
    );

    // A restarted poller remembers the flapping from the stored history.
    let mut again = new_poller(&app, &base);
    again.restore().await.unwrap();
    sim.set_node_status(4431, "UP");
    again.poll_once().await.unwrap();
    let flapping: bool =
        sqlx::query_scalar("SELECT flapping FROM lb_backends WHERE node_id = 4432")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert!(flapping, "still flapping after a restart");
    let cleared: serde_json::Value = sqlx::query_scalar(
        "SELECT payload FROM events WHERE kind = 'lb.ingress' ORDER BY id DESC LIMIT 1",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(
        cleared["broken"], false,
        "node a steady again clears the alert"
    );
}

#[tokio::test]
async fn the_server_polls_when_configured_and_serves_the_tree() {
    let sim = LinodeSim::new(TOKEN, vec![seed_balancer()]);
    let (_, base) = sim.serve().await.unwrap();
    sim.set_node_status(8002, "DOWN");
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("linode-token");
    std::fs::write(&token_file, format!("{TOKEN}\n")).unwrap();
    let app = spawn_app_with_toml(&format!(
        "[linode]\nenabled = true\napi_url = \"{base}\"\ntoken_file = \"{}\"\npoll_secs = 5\n",
        token_file.display()
    ))
    .await;
    assert_eq!(app.get("/api/v1/nodebalancers").await.status(), 401);
    let (_, reader) = create_token(&app, &[Scope::Read]).await;
    let tree: serde_json::Value = eventually(15, "backends polled", || async {
        let v: serde_json::Value = app.get_json("/api/v1/nodebalancers", &reader).await;
        (!v["nodebalancers"].as_array().unwrap().is_empty()).then_some(v)
    })
    .await;
    let nb = &tree["nodebalancers"][0];
    assert_eq!(nb["label"], "lke-ingress");
    // Connections from the stats endpoint: the simulator's day of 5-minute averages.
    assert!(nb["connections"]["value"].as_f64().is_some(), "{nb}");
    let conns: i64 = sqlx::query_scalar("SELECT count(*) FROM lb_connections")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert!(conns >= 280, "{conns}");
    let sources = app.get_json("/api/v1/sources", &reader).await;
    let linode = sources["sources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "linode:api")
        .unwrap()
        .clone();
    assert_eq!(linode["state"], "fresh", "{linode}");
    let port80 = nb["configs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["port"] == 80)
        .unwrap();
    assert_eq!(
        port80["nodes_status"],
        serde_json::json!({"up": 1, "down": 1})
    );
    let b = port80["backends"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["label"] == "lke-node-b")
        .unwrap();
    assert_eq!(b["status"], "down");
    assert_eq!(b["flapping"], false);
    assert_eq!(b["address"], "192.168.200.12:31080");
}

#[tokio::test]
async fn the_ops_page_shows_flapping_backends_with_their_history() {
    use common::access::signed_in;
    use vigil_core::model::auth::Role;
    let app = spawn_app().await;
    let (sim, base) = seed_sim().await;
    let mut poller = new_poller(&app, &base);
    poller.poll_once().await.unwrap();
    for status in ["DOWN", "UP", "DOWN", "UP", "DOWN"] {
        sim.set_node_status(8001, status);
        poller.poll_once().await.unwrap();
    }
    assert_eq!(
        app.get("/ops/load-balancers").await.status(),
        303,
        "anonymous: to /login"
    );
    let viewer = signed_in(&app, "vera", Role::Viewer).await;
    let html = viewer
        .get(app.url("/ops/load-balancers?range=1h"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("data-testid=\"backend-80-lke-node-a\" data-flapping=\"true\""),
        "{html}"
    );
    assert!(html.contains("down, flapping"), "{html}");
    assert!(
        html.contains("data-testid=\"backend-443-lke-node-b\" data-flapping=\"false\""),
        "{html}"
    );
    assert!(
        html.contains("5 changes in range"),
        "the strip has a stretch per change: {html}"
    );
    assert!(
        html.contains("seg seg-down") && html.contains("seg seg-up"),
        "{html}"
    );
}

#[test]
fn linode_enabled_without_a_token_is_refused_at_start_up() {
    use std::io::Write;
    let mut f = tempfile::NamedTempFile::new().unwrap();
    f.write_all(b"[linode]\nenabled = true\ntoken_env = \"VIGIL_TEST_NO_SUCH_TOKEN\"\n")
        .unwrap();
    let err = vigil_server::config::Config::load_with_env(Some(f.path()), &[])
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("$VIGIL_TEST_NO_SUCH_TOKEN is not set"),
        "{err}"
    );
}

/// Each port's configuration is recorded; the cluster posting the same configuration again is a
/// re-apply ("the configuration looked correct" becomes a fact), a changed health check is a
/// change named field by field; both are `lb.config` events, kept as an incident's evidence, and
/// the history survives a restart of the poller.
#[tokio::test]
async fn configuration_changes_and_reapplies_are_recorded_field_by_field() {
    let app = spawn_app().await;
    let (sim, base) = seed_sim().await;
    let mut poller = new_poller(&app, &base);
    poller.poll_once().await.unwrap();
    let history = vigil_core::store::lb_configs::history(&app.pool, 10)
        .await
        .unwrap();
    assert_eq!(history.len(), 2, "ports 80 and 443, first read");
    assert_eq!(
        event_count(&app.pool, "lb.config").await,
        0,
        "a first reading is no news"
    );
    let first = &history[0].settings;
    assert_eq!(first["check_interval"], 5);
    assert_eq!(first["check"], "connection");
    // Newest first: port 443's backends.
    assert_eq!(
        first["node 192.168.200.11:31443"], "lke-node-a weight 100, accept",
        "{first:?}"
    );

    // Nothing moved: nothing recorded.
    poller.poll_once().await.unwrap();
    assert_eq!(event_count(&app.pool, "lb.config").await, 0);

    // The cluster posts the same configuration again.
    sim.reapply(chrono::Utc::now() + chrono::Duration::seconds(5));
    let mut restarted = new_poller(&app, &base);
    restarted.poll_once().await.unwrap();
    let messages: Vec<String> = sqlx::query_scalar(
        "SELECT payload->>'change' FROM events WHERE kind = 'lb.config' ORDER BY id",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(messages, ["reapplied", "reapplied"]);

    // Port 80's health check is changed.
    sim.set_check(
        80,
        10,
        4,
        3,
        chrono::Utc::now() + chrono::Duration::seconds(10),
    );
    restarted.poll_once().await.unwrap();
    let events = vigil_core::store::events::after(&app.pool, 0, 100)
        .await
        .unwrap();
    let changed: Vec<String> = events
        .iter()
        .filter(|e| e.kind() == "lb.config")
        .map(|e| e.data.message())
        .collect();
    assert_eq!(changed.len(), 4, "{changed:?}");
    assert!(
        changed.contains(
            &"lke-ingress :80 configuration changed: check_attempts 2 → 3; check_interval 5 → 10; check_timeout 3 → 4"
                .to_string()
        ),
        "{changed:?}"
    );
    assert!(
        changed.contains(&"lke-ingress :443 configuration re-applied, no change".to_string()),
        "{changed:?}"
    );
    assert!(events
        .iter()
        .filter(|e| e.kind() == "lb.config")
        .all(|e| e.data.is_evidence()));

    // The API gives one port's history, newest first, to a reader only.
    let path = "/api/v1/nodebalancers/101/configs/80/history";
    assert_eq!(app.get(path).await.status(), 401);
    let (_, reader) = create_token(&app, &[Scope::Read]).await;
    let body = app.get_json(path, &reader).await;
    let h = body["history"].as_array().unwrap();
    let changes: Vec<&str> = h.iter().map(|e| e["change"].as_str().unwrap()).collect();
    assert_eq!(changes, ["changed", "reapplied", "initial"]);
    assert_eq!(h[0]["port"], 80);
    assert_eq!(h[0]["settings"]["check_interval"], 10);
    assert!(h[0]["changes"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["field"] == "check_interval" && c["from"] == 5 && c["to"] == 10));
    let one = app.get_json(&format!("{path}?limit=1"), &reader).await;
    assert_eq!(one["history"].as_array().unwrap().len(), 1);
    let bad = app
        .get_with_token(&format!("{path}?limit=0"), &reader)
        .await;
    assert_eq!(bad.status(), 400);
    assert!(bad.text().await.unwrap().contains("limit"));
    let unknown = app
        .get_with_token("/api/v1/nodebalancers/101/configs/8080/history", &reader)
        .await;
    assert_eq!(unknown.status(), 404);
    assert!(unknown
        .text()
        .await
        .unwrap()
        .contains("GET /api/v1/nodebalancers"));
}
