//! Incidents end to end: the API lifecycle with Statuspage's field names, public pages, JSON and
//! feeds that never show internal notes, maintenances, clear errors, and automatic incidents
//! that group simultaneous failures into one and notify through the outbox.

use crate::common;

use std::str::FromStr;

use crate::common::{
    access::create_token, engine_has_stepped, eventually, spawn_app_with_toml, Target, TestApp,
};
use serde_json::{json, Value};
use vigil_core::model::auth::Scope;
use vigil_sim::webhooks::WebhookSim;

const COMPONENTS: &str = r#"
[[component]]
id = "site"
name = "Website"

[[component]]
id = "grafana"
name = "Grafana"
"#;

async fn send(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    token: &str,
    body: Value,
) -> (u16, Value) {
    let r = app
        .client
        .request(method, app.url(path))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn the_api_lifecycle_and_what_the_public_sees() {
    let app = spawn_app_with_toml(&format!("{COMPONENTS}\n[incidents]\nautomatic = false\n")).await;
    let (_, writer) = create_token(&app, &[Scope::IncidentsWrite, Scope::Read]).await;
    let (_, reader) = create_token(&app, &[Scope::Read]).await;
    use reqwest::Method;

    let (status, created) = send(
        &app,
        Method::POST,
        "/api/v1/incidents",
        &writer,
        json!({ "name": "Website <script>alert(1)</script> unreachable", "status": "investigating", "impact": "major",
                "body": "The NodeBalancer reports both backends DOWN.", "component_ids": ["site"] }),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_i64().unwrap();
    assert_eq!(created["status"], "investigating");
    assert_eq!(created["components"][0]["status"], "partial_outage");

    let summary: Value = app.get("/api/v2/summary.json").await.json().await.unwrap();
    assert_eq!(summary["incidents"][0]["id"], id.to_string());
    assert_eq!(
        summary["incidents"][0]["incident_updates"][0]["body"],
        "The NodeBalancer reports both backends DOWN."
    );
    let site = summary["components"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "site")
        .unwrap();
    assert_eq!(
        site["status"], "partial_outage",
        "the incident's declared state shows"
    );

    // An internal note: in the ops API, nowhere public.
    let (status, _) = send(
        &app,
        Method::POST,
        &format!("/api/v1/incidents/{id}/updates"),
        &writer,
        json!({ "body": "node b is swapping; drain it", "internal": true }),
    )
    .await;
    assert_eq!(status, 201);
    let (status, _) = send(
        &app,
        Method::PATCH,
        &format!("/api/v1/incidents/{id}"),
        &writer,
        json!({ "status": "monitoring" }),
    )
    .await;
    assert_eq!(status, 200);
    let (status, resolved) = send(
        &app,
        Method::POST,
        &format!("/api/v1/incidents/{id}/updates"),
        &writer,
        json!({ "body": "Drained node b; sites are back.", "status": "resolved" }),
    )
    .await;
    assert_eq!(status, 201);
    assert!(resolved["resolved_at"].is_string());
    assert!(resolved["monitoring_at"].is_string());
    assert!(resolved["incident_updates"]
        .as_array()
        .unwrap()
        .iter()
        .any(|u| u["internal"] == true));

    let unresolved: Value = app
        .get("/api/v2/incidents/unresolved.json")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(unresolved["incidents"].as_array().unwrap().len(), 0);
    let all: Value = app
        .get("/api/v2/incidents.json")
        .await
        .json()
        .await
        .unwrap();
    let inc = &all["incidents"][0];
    for key in [
        "id",
        "name",
        "status",
        "impact",
        "created_at",
        "updated_at",
        "monitoring_at",
        "resolved_at",
        "shortlink",
        "page_id",
        "incident_updates",
        "components",
    ] {
        assert!(inc.get(key).is_some(), "incidents.json lacks {key}");
    }
    assert_eq!(inc["status"], "resolved");
    assert_eq!(
        inc["incident_updates"].as_array().unwrap().len(),
        2,
        "no internal note: {inc}"
    );

    let page = app
        .get(&format!("/incidents/{id}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("Drained node b"));
    assert!(
        !page.contains("swapping"),
        "an internal note leaked onto the public page"
    );
    assert!(
        page.contains("&lt;script&gt;") && !page.contains("<script>alert"),
        "the title is escaped"
    );
    let history = app.get("/history").await.text().await.unwrap();
    assert!(history.contains("Drained node b") && !history.contains("swapping"));

    let atom = app.get("/history.atom").await.text().await.unwrap();
    let feed = atom_syndication::Feed::from_str(&atom).expect("valid Atom");
    assert_eq!(feed.entries().len(), 1);
    assert!(feed.entries()[0]
        .title()
        .as_str()
        .starts_with("[Resolved] Website"));
    assert!(!atom.contains("swapping"));
    // One incident's own feed: each public update an entry, newest first; no internal note.
    let one = app.get(&format!("/incidents/{id}/feed.atom")).await;
    assert_eq!(
        one.headers()["content-type"],
        "application/atom+xml; charset=utf-8"
    );
    let one = one.text().await.unwrap();
    let feed = atom_syndication::Feed::from_str(&one).expect("valid Atom");
    let titles: Vec<&str> = feed.entries().iter().map(|e| e.title().as_str()).collect();
    assert_eq!(titles.len(), 2, "{titles:?}");
    assert!(titles[0].starts_with("Resolved: Website"), "{titles:?}");
    assert!(
        titles[1].starts_with("Investigating: Website"),
        "{titles:?}"
    );
    assert!(one.contains("Drained node b") && !one.contains("swapping"));
    assert!(
        page.contains(&format!("/incidents/{id}/feed.atom")),
        "the page links it"
    );
    for missing in ["/incidents/987654/feed.atom", "/incidents/abc/feed.atom"] {
        assert_eq!(app.get(missing).await.status(), 404, "{missing}");
    }
    let rss_text = app.get("/history.rss").await.text().await.unwrap();
    let channel = rss::Channel::from_str(&rss_text).expect("valid RSS");
    assert_eq!(channel.items().len(), 1);
    assert!(!rss_text.contains("swapping"));

    // Errors say which field and why; authorization is checked on every write.
    for (body, field) in [
        (json!({ "name": "x", "impact": "huge" }), "impact"),
        (json!({ "name": "x", "status": "on fire" }), "status"),
        (
            json!({ "name": "x", "component_ids": ["nope"] }),
            "component_ids",
        ),
        (json!({ "name": "  " }), "name"),
        (json!({ "name": "x", "colour": "red" }), "colour"),
    ] {
        let (status, err) = send(
            &app,
            Method::POST,
            "/api/v1/incidents",
            &writer,
            body.clone(),
        )
        .await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(err["field"], field, "{body}: {err}");
    }
    let (status, _) = send(
        &app,
        Method::POST,
        "/api/v1/incidents",
        &reader,
        json!({ "name": "x" }),
    )
    .await;
    assert_eq!(status, 403);
    let r = app
        .client
        .post(app.url("/api/v1/incidents"))
        .json(&json!({ "name": "x" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let (status, _) = send(
        &app,
        Method::PATCH,
        "/api/v1/incidents/999999",
        &writer,
        json!({ "status": "resolved" }),
    )
    .await;
    assert_eq!(status, 404);

    let openapi: Value = app.get("/api/v1/openapi.json").await.json().await.unwrap();
    for path in [
        "/api/v1/incidents",
        "/api/v1/incidents/{id}",
        "/api/v1/incidents/{id}/updates",
        "/api/v1/maintenances",
    ] {
        assert!(openapi["paths"].get(path).is_some(), "OpenAPI lacks {path}");
    }
    assert!(
        openapi["components"]["schemas"]["NewIncident"]["properties"]["component_ids"].is_object()
    );
}

#[tokio::test]
async fn maintenances_are_upcoming_then_active_and_hold_components() {
    let app = spawn_app_with_toml(&format!("{COMPONENTS}\n[incidents]\nautomatic = false\n")).await;
    let (_, writer) = create_token(&app, &[Scope::IncidentsWrite]).await;
    let now = chrono::Utc::now();
    let (status, m) = send(&app, reqwest::Method::POST, "/api/v1/maintenances", &writer, json!({
        "name": "Kubernetes upgrade", "component_ids": ["grafana"], "body": "Nodes restart one by one.",
        "scheduled_for": now + chrono::Duration::hours(1), "scheduled_until": now + chrono::Duration::hours(2),
    })).await;
    assert_eq!(status, 201, "{m}");
    let id = m["id"].as_i64().unwrap();
    let upcoming: Value = app
        .get("/api/v2/scheduled-maintenances/upcoming.json")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        upcoming["scheduled_maintenances"][0]["name"],
        "Kubernetes upgrade"
    );
    assert!(upcoming["scheduled_maintenances"][0]["scheduled_for"].is_string());
    let active: Value = app
        .get("/api/v2/scheduled-maintenances/active.json")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        active["scheduled_maintenances"].as_array().unwrap().len(),
        0
    );

    let (status, _) = send(
        &app,
        reqwest::Method::PATCH,
        &format!("/api/v1/incidents/{id}"),
        &writer,
        json!({ "status": "in_progress" }),
    )
    .await;
    assert_eq!(status, 200);
    let active: Value = app
        .get("/api/v2/scheduled-maintenances/active.json")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        active["scheduled_maintenances"].as_array().unwrap().len(),
        1
    );
    let summary: Value = app.get("/api/v2/summary.json").await.json().await.unwrap();
    let grafana = summary["components"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "grafana")
        .unwrap();
    assert_eq!(grafana["status"], "under_maintenance");
    assert_eq!(
        summary["scheduled_maintenances"][0]["status"],
        "in_progress"
    );

    let (status, err) = send(&app, reqwest::Method::POST, "/api/v1/maintenances", &writer, json!({
        "name": "backwards", "scheduled_for": now + chrono::Duration::hours(2), "scheduled_until": now,
    })).await;
    assert_eq!(status, 400);
    assert_eq!(err["field"], "scheduled_until");
}

/// One component and one HTTP monitor (every second) per target, named `names`, after
/// `head` (probes, incidents, channels); started, and every monitor up.
async fn behind_one_ingress(names: &[&str], targets: &[Target], head: &str) -> TestApp {
    let mut toml = String::from(head);
    for (name, t) in names.iter().zip(targets) {
        toml.push_str(&format!(
            "[[component]]\nid = \"{name}\"\nname = \"{name}\"\n\n[[monitor]]\nname = \"{name}-http\"\ncomponent = \"{name}\"\nkind = \"http\"\nurl = \"http://{}/\"\ninterval_secs = 1\ntimeout_ms = 800\n\n",
            t.addr
        ));
    }
    let app = spawn_app_with_toml(&toml).await;
    let want = names.len() as i64;
    eventually(20, "all monitors up", || async {
        let n: i64 = sqlx::query_scalar("SELECT count(*) FROM monitor_state WHERE status = 'up'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
        (n == want).then_some(())
    })
    .await;
    app
}

#[tokio::test]
async fn components_joining_an_open_incident_are_announced_in_one_update_and_so_are_recoveries() {
    // The seed's cascade: the site first, then three more behind the same ingress. The title
    // follows at once; the updates must say the same thing, and once, not per component.
    let names = ["site", "grafana", "bitwarden", "prometheus"];
    let targets = [
        Target::start().await,
        Target::start().await,
        Target::start().await,
        Target::start().await,
    ];
    let app = behind_one_ingress(
        &names,
        &targets,
        "[probes]\nmin_interval_secs = 1\ndown_after = 1\nup_after = 1\n\n\
         [incidents]\ncorrelation_window_secs = 600\nquiet_period_secs = 600\nannounce_after_secs = 5\n\n",
    )
    .await;
    let (_, reader) = create_token(&app, &[Scope::Read]).await;
    let updates = |id: i64| {
        let app = &app;
        async move {
            sqlx::query_as::<_, (String, String)>(
                "SELECT status, body FROM incident_updates WHERE incident_id = $1 ORDER BY id",
            )
            .bind(id)
            .fetch_all(&app.pool)
            .await
            .unwrap()
        }
    };

    targets[0].set_healthy(false);
    let id = eventually(30, "an incident for the site", || async {
        let list = app.get_json("/api/v1/incidents", &reader).await;
        list["incidents"][0]["id"].as_i64()
    })
    .await;
    for t in &targets[1..] {
        t.set_healthy(false);
    }
    let news = eventually(40, "one update naming the three that joined", || async {
        updates(id)
            .await
            .into_iter()
            .find(|(_, body)| body.starts_with("Also affected now"))
    })
    .await;
    assert_eq!(
        news,
        (
            "investigating".to_string(),
            "Also affected now: grafana, bitwarden and prometheus.".to_string()
        )
    );
    let incident = app
        .get_json(&format!("/api/v1/incidents/{id}"), &reader)
        .await;
    assert_eq!(
        incident["name"],
        "site, grafana and 2 other services are unavailable"
    );
    assert_eq!(
        updates(id).await.len(),
        2,
        "the opening update and one announcement: {:?}",
        updates(id).await
    );

    // One comes back while the others are still down: said too, and its state shows it.
    targets[1].set_healthy(true);
    eventually(40, "the recovery announced", || async {
        updates(id)
            .await
            .iter()
            .any(|(_, body)| body == "Working again: grafana.")
            .then_some(())
    })
    .await;
    let open: Value = app
        .get("/api/v2/incidents/unresolved.json")
        .await
        .json()
        .await
        .unwrap();
    let shown = &open["incidents"][0];
    let bodies: Vec<&str> = shown["incident_updates"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|u| u["body"].as_str())
        .collect();
    assert!(
        bodies.contains(&"Also affected now: grafana, bitwarden and prometheus.")
            && bodies.contains(&"Working again: grafana."),
        "the public JSON carries both: {bodies:?}"
    );
    let grafana: String = sqlx::query_scalar(
        "SELECT status FROM incident_components WHERE incident_id = $1 AND component_id = 'grafana'",
    )
    .bind(id)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(grafana, "operational");
    assert_eq!(updates(id).await.len(), 3, "{:?}", updates(id).await);
}

#[tokio::test]
async fn an_incident_is_read_whole_while_it_changes() {
    // An incident is assembled from several queries (its row, components, updates). A change
    // committed between two of them showed a title listing other components than the ones
    // beside it: seen when the engine added a component as the API was read.
    let app = spawn_app_with_toml(&format!("{COMPONENTS}\n[incidents]\nautomatic = false\n")).await;
    let (_, writer) = create_token(&app, &[Scope::IncidentsWrite, Scope::Read]).await;
    let (_, reader) = create_token(&app, &[Scope::Read]).await;
    let (status, created) = send(
        &app,
        reqwest::Method::POST,
        "/api/v1/incidents",
        &writer,
        json!({ "name": "one", "status": "investigating", "impact": "major",
                "body": "Looking.", "component_ids": ["site"] }),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_i64().unwrap();
    let done = std::sync::atomic::AtomicBool::new(false);
    let write = async {
        for i in 0..100 {
            let (name, ids) = if i % 2 == 0 {
                ("two", json!(["site", "grafana"]))
            } else {
                ("one", json!(["site"]))
            };
            let path = format!("/api/v1/incidents/{id}");
            let (status, body) = send(
                &app,
                reqwest::Method::PATCH,
                &path,
                &writer,
                json!({ "name": name, "component_ids": ids }),
            )
            .await;
            assert_eq!(status, 200, "{body}");
        }
        done.store(true, std::sync::atomic::Ordering::SeqCst);
    };
    let read = |path: String| {
        let (app, reader, done) = (&app, &reader, &done);
        async move {
            let mut seen = 0;
            while !done.load(std::sync::atomic::Ordering::SeqCst) {
                let v = app.get_json(&path, reader).await;
                let v = v.get("incidents").map_or(&v, |list| &list[0]);
                let components = v["components"].as_array().unwrap().len();
                let want = if components == 2 { "two" } else { "one" };
                assert_eq!(v["name"], want, "read {seen} of {path} is torn: {v}");
                seen += 1;
            }
            seen
        }
    };
    let ((), one, list) = tokio::join!(
        write,
        read(format!("/api/v1/incidents/{id}")),
        read("/api/v1/incidents".to_string())
    );
    assert!(one > 0 && list > 0, "both readers read: {one}, {list}");
}

#[tokio::test]
async fn simultaneous_failures_become_one_incident_that_resolves_itself() {
    // The seed: the site, Grafana and Bitwarden all behind one broken ingress.
    let targets = [
        Target::start().await,
        Target::start().await,
        Target::start().await,
    ];
    let webhooks = WebhookSim::new();
    let hooks = webhooks.serve().await.unwrap();
    let mut head = String::from("[probes]\nmin_interval_secs = 1\ndown_after = 1\nup_after = 1\n\n[incidents]\ncorrelation_window_secs = 600\nquiet_period_secs = 3\n\n");
    head.push_str(&format!("[[notify]]\nname = \"discord\"\nkind = \"discord\"\nurl = \"{hooks}/api/webhooks/1/x\"\nevents = [\"incident.*\"]\n\n"));
    // Every monitor has a verdict first.
    let app = behind_one_ingress(&["site", "grafana", "bitwarden"], &targets, &head).await;
    let (_, reader) = create_token(&app, &[Scope::Read]).await;
    for t in &targets {
        t.set_healthy(false);
    }
    let incident: Value = eventually(30, "one incident with all three components", || async {
        let list = app.get_json("/api/v1/incidents", &reader).await;
        let items = list["incidents"].as_array()?.clone();
        (items.len() == 1 && items[0]["components"].as_array()?.len() == 3)
            .then(|| items[0].clone())
    })
    .await;
    assert_eq!(incident["automatic"], true);
    assert_eq!(
        incident["name"],
        "site, grafana and bitwarden are unavailable"
    );
    assert_eq!(incident["status"], "investigating");
    let evidence: i64 = sqlx::query_scalar("SELECT count(*) FROM incident_evidence")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert!(evidence >= 3, "every failing probe attached: {evidence}");

    for t in &targets {
        t.set_healthy(true);
    }
    let id = incident["id"].as_i64().unwrap();
    eventually(
        30,
        "monitoring, then resolved after the quiet period",
        || async {
            let v = app
                .get_json(&format!("/api/v1/incidents/{id}"), &reader)
                .await;
            (v["status"] == "resolved").then_some(())
        },
    )
    .await;
    let statuses: Vec<String> = sqlx::query_scalar(
        "SELECT status FROM incident_updates WHERE incident_id = $1 ORDER BY id",
    )
    .bind(id)
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(statuses, vec!["investigating", "monitoring", "resolved"]);
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM incidents")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(count, 1, "one outage, one incident");

    // Discord heard it open and resolve.
    eventually(20, "the notifications", || async {
        let titles: Vec<String> = webhooks
            .received()
            .iter()
            .filter_map(|r| r.body["embeds"][0]["title"].as_str().map(str::to_string))
            .collect();
        (titles.iter().any(|t| t.starts_with("[investigating]"))
            && titles.iter().any(|t| t.starts_with("[resolved]")))
        .then_some(())
    })
    .await;
}

#[tokio::test]
async fn a_person_who_takes_over_decides_when_it_is_resolved() {
    let target = Target::start().await;
    let app = spawn_app_with_toml(&format!(
        "[probes]\nmin_interval_secs = 1\ndown_after = 1\nup_after = 1\n\n[incidents]\nquiet_period_secs = 2\n\n\
         [[component]]\nid = \"site\"\nname = \"Website\"\n\n[[monitor]]\nname = \"site-http\"\ncomponent = \"site\"\n\
         kind = \"http\"\nurl = \"http://{}/\"\ninterval_secs = 1\ntimeout_ms = 800\n",
        target.addr
    ))
    .await;
    let (_, writer) = create_token(&app, &[Scope::IncidentsWrite, Scope::Read]).await;
    eventually(20, "the monitor up", || async {
        let n: i64 = sqlx::query_scalar("SELECT count(*) FROM monitor_state WHERE status = 'up'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
        (n == 1).then_some(())
    })
    .await;
    target.set_healthy(false);
    let id: i64 = eventually(20, "the automatic incident", || async {
        sqlx::query_scalar("SELECT id FROM incidents WHERE automatic")
            .fetch_optional(&app.pool)
            .await
            .unwrap()
    })
    .await;
    let (status, _) = send(&app, reqwest::Method::POST, &format!("/api/v1/incidents/{id}/updates"), &writer,
        json!({ "body": "We know: the ingress node is under memory pressure.", "status": "identified" })).await;
    assert_eq!(status, 201);
    target.set_healthy(true);
    // The engine heard the recovery (the component is operational again in the incident)...
    eventually(20, "the recovery recorded", || async {
        let state: String = sqlx::query_scalar(
            "SELECT status FROM incident_components WHERE incident_id = $1 AND component_id = 'site'",
        )
        .bind(id)
        .fetch_one(&app.pool)
        .await
        .unwrap();
        (state == "operational").then_some(()).ok_or(state)
    })
    .await;
    // ...the quiet period (2 s) passed after it, and the engine has decided on a clock past it:
    // left alone, it would have resolved the incident by now.
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    engine_has_stepped(&app, id).await;
    let (status, taken): (String, bool) =
        sqlx::query_as("SELECT status, taken_over FROM incidents WHERE id = $1")
            .bind(id)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert!(taken);
    assert_eq!(
        status, "identified",
        "the engine left a person's incident alone"
    );
}

/// Everything a stranger can fetch, as one string.
async fn public_surfaces(app: &TestApp, id: i64) -> String {
    let mut all = String::new();
    for path in [
        "/".to_string(),
        "/history".into(),
        format!("/incidents/{id}"),
        "/api/v2/summary.json".into(),
        "/api/v2/incidents.json".into(),
        "/api/v2/incidents/unresolved.json".into(),
        "/api/v2/components.json".into(),
        "/history.atom".into(),
        "/history.rss".into(),
        "/badge/site.svg".into(),
    ] {
        let resp = app.get(&path).await;
        assert_eq!(resp.status(), 200, "{path}");
        all.push_str(&resp.text().await.unwrap());
    }
    all
}

#[tokio::test]
async fn the_public_hears_of_components_never_of_monitors_urls_or_errors() {
    let target = Target::start().await;
    let app = spawn_app_with_toml(&format!(
        "[probes]\nmin_interval_secs = 1\ndown_after = 1\nup_after = 1\n\n\
         [[component]]\nid = \"site\"\nname = \"Website\"\n\n\
         [[monitor]]\nname = \"ingress-probe-7\"\ncomponent = \"site\"\nkind = \"http\"\n\
         url = \"http://{}/health?key=s3cret-key\"\ninterval_secs = 1\ntimeout_ms = 800\n\n\
         [[component]]\nid = \"db\"\nname = \"Database\"\n\n\
         [[monitor]]\nname = \"pg-primary-tcp\"\ncomponent = \"db\"\nkind = \"tcp\"\n\
         host = \"127.0.0.1\"\nport = 9\ninterval_secs = 1\ntimeout_ms = 800\n",
        target.addr
    ))
    .await;
    let (_, reader) = create_token(&app, &[Scope::Read]).await;
    target.set_healthy(false);
    let id: i64 = eventually(30, "an automatic incident for both", || async {
        let list = app.get_json("/api/v1/incidents", &reader).await;
        let i = list["incidents"].as_array()?.first()?.clone();
        (i["components"].as_array()?.len() == 2).then(|| i["id"].as_i64())?
    })
    .await;
    let first: String = sqlx::query_scalar(
        "SELECT body FROM incident_updates WHERE incident_id = $1 ORDER BY id LIMIT 1",
    )
    .bind(id)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert!(
        first == "Website is not responding. We are investigating."
            || first == "Database is not responding. We are investigating.",
        "{first}"
    );
    // The evidence is there for operators…
    let ops = common::access::signed_in(&app, "olga", vigil_core::model::auth::Role::Viewer).await;
    let page = app.text_as(&ops, &format!("/ops/incidents/{id}")).await;
    assert!(page.contains("ingress-probe-7"), "{page}");
    // An operator opening `/` first must not leave their copy in the page cache.
    let _ = app.text_as(&ops, "/").await;
    // …and nowhere a stranger can look, hydration data included.
    let public = public_surfaces(&app, id).await;
    for secret in [
        "ingress-probe-7",
        "pg-primary-tcp",
        "s3cret-key",
        &target.addr.to_string(),
        "127.0.0.1:9",
        "HTTP 503",
        "refused",
        "last_error",
    ] {
        assert!(!public.contains(secret), "`{secret}` is public");
    }
    assert!(public.contains("Website is not responding"), "{public}");
    assert!(
        !public.contains("Vigil itself"),
        "the self-check panel is for /ops"
    );
}

#[tokio::test]
async fn the_opening_words_are_configurable_and_still_name_components_only() {
    let target = Target::start().await;
    let app = spawn_app_with_toml(&format!(
        "[probes]\nmin_interval_secs = 1\ndown_after = 1\nup_after = 1\n\n\
         [incidents]\nopened_text = \"We are looking into problems with {{components}}.\"\n\n\
         [[component]]\nid = \"site\"\nname = \"Website\"\n\n\
         [[monitor]]\nname = \"site-http\"\ncomponent = \"site\"\nkind = \"http\"\n\
         url = \"http://{}/\"\ninterval_secs = 1\ntimeout_ms = 800\n",
        target.addr
    ))
    .await;
    target.set_healthy(false);
    let body: String = eventually(30, "the automatic incident", || async {
        sqlx::query_scalar("SELECT body FROM incident_updates ORDER BY id LIMIT 1")
            .fetch_optional(&app.pool)
            .await
            .unwrap()
    })
    .await;
    assert_eq!(body, "We are looking into problems with Website.");
}

#[tokio::test]
async fn people_appear_publicly_by_display_name_and_feeds_carry_no_markup() {
    use vigil_core::store::{incidents, users};
    let app = spawn_app_with_toml(&format!("{COMPONENTS}\n[incidents]\nautomatic = false\n")).await;
    let (_, writer) = create_token(&app, &[Scope::IncidentsWrite]).await;
    let (status, created) = send(
        &app,
        reqwest::Method::POST,
        "/api/v1/incidents",
        &writer,
        json!({ "name": "Slow pages", "status": "investigating", "impact": "minor",
                "body": "Fixed <script>alert(2)</script> & watching", "component_ids": ["site"] }),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_i64().unwrap();
    common::access::create_user(&app, "ana.k", vigil_core::model::auth::Role::Editor).await;
    users::set_display_name(&app.pool, "ana.k", Some("Ana from Ops"))
        .await
        .unwrap();
    incidents::add_update(
        &app.pool,
        id,
        "Rolled back the deploy.",
        Some("identified".into()),
        false,
        "user:ana.k",
        false,
    )
    .await
    .unwrap();

    let page = app
        .get(&format!("/incidents/{id}"))
        .await
        .text()
        .await
        .unwrap();
    // The public page names no people at all (and carries no hydration data that would).
    assert!(page.contains("Rolled back the deploy."), "{page}");
    assert!(!page.contains("ana.k"), "no login names in public: {page}");
    assert!(!page.contains("token:"), "no token names in public: {page}");

    // RSS readers render descriptions as HTML: what was typed must arrive as text.
    let rss = app.get("/history.rss").await.text().await.unwrap();
    assert!(!rss.contains("<script>alert(2)"), "{rss}");
    assert!(
        rss.contains("&lt;script&gt;alert(2)&lt;/script&gt; &amp; watching"),
        "{rss}"
    );
}

/// `?component=ID` narrows the feeds to one component's incidents and maintenances.
#[tokio::test]
async fn a_feed_per_component() {
    use reqwest::Method;
    let app = spawn_app_with_toml(&format!("{COMPONENTS}\n[incidents]\nautomatic = false\n")).await;
    let (_, writer) = create_token(&app, &[Scope::IncidentsWrite]).await;
    for (name, component) in [("Website down", "site"), ("Grafana down", "grafana")] {
        let (status, _) = send(
            &app,
            Method::POST,
            "/api/v1/incidents",
            &writer,
            json!({ "name": name, "component_ids": [component] }),
        )
        .await;
        assert_eq!(status, 201);
    }
    let now = chrono::Utc::now();
    let (status, body) = send(
        &app,
        Method::POST,
        "/api/v1/maintenances",
        &writer,
        json!({ "name": "Website upgrade", "component_ids": ["site"],
                "scheduled_for": now + chrono::Duration::hours(1),
                "scheduled_until": now + chrono::Duration::hours(2) }),
    )
    .await;
    assert_eq!(status, 201, "{body}");

    for feed in [
        "/history.atom?component=site",
        "/history.rss?component=site",
    ] {
        let text = app.get(feed).await.text().await.unwrap();
        assert!(text.contains("Website down"), "{feed}: {text}");
        assert!(text.contains("Website upgrade"), "{feed}: maintenance too");
        assert!(
            !text.contains("Grafana down"),
            "{feed}: another component's"
        );
        assert!(
            text.contains("Website: incidents and maintenance"),
            "{feed}"
        );
    }
    let all = app.get("/history.atom").await.text().await.unwrap();
    assert!(all.contains("Website down") && all.contains("Grafana down"));
    let unknown = app.get("/history.atom?component=nope").await;
    assert_eq!(unknown.status(), 404);
    assert!(unknown.text().await.unwrap().contains("components.json"));
}
