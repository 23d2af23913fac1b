//! Reliability figures against a record whose answers are known: a monitor fails at 14:00:00, the
//! incident opens 90 s later, a person first writes 5 minutes after that, it is resolved 40
//! minutes after opening. The figures must say exactly that, per component and month, with the
//! follow-ups' completion and the post-mortems by contributing factor.

use reqwest::Method;
use serde_json::{json, Value};
use vigil_core::{
    model::{
        auth::Scope,
        monitor::MonitorStatus::{Down, Up},
    },
    store::events,
};

use crate::common::{access::create_token, monitor_event, send, spawn_app_with_toml, TestApp};

const CONFIG: &str = r#"
[[component]]
id = "site"
name = "Website"

[[component]]
id = "api"
name = "API"

[incidents]
automatic = false
"#;

async fn sql(app: &TestApp, q: &str, id: i64, at: &str) {
    sqlx::query(q)
        .bind(id)
        .bind(at.parse::<chrono::DateTime<chrono::Utc>>().unwrap())
        .execute(&app.pool)
        .await
        .unwrap();
}

/// An incident opened at `opened`, first written to by a person at `acknowledged`, resolved at
/// `resolved`: the API's moments moved to the scenario's.
async fn incident(
    app: &TestApp,
    token: &str,
    component: &str,
    opened: &str,
    acknowledged: &str,
    resolved: &str,
) -> i64 {
    let (status, body) = send(
        app,
        Method::POST,
        "/api/v1/incidents",
        token,
        Some(
            json!({ "name": format!("{component} down"), "status": "investigating",
            "impact": "major", "body": "Looking into it.", "component_ids": [component] }),
        ),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let id = body["id"].as_i64().unwrap();
    let (status, _) = send(
        app,
        Method::POST,
        &format!("/api/v1/incidents/{id}/updates"),
        token,
        Some(json!({ "body": "Fixed.", "status": "resolved" })),
    )
    .await;
    assert_eq!(status, 201);
    sql(
        app,
        "UPDATE incidents SET created_at = $2, started_at = $2 WHERE id = $1",
        id,
        opened,
    )
    .await;
    sql(
        app,
        "UPDATE incident_updates SET created_at = $2 WHERE incident_id = $1",
        id,
        acknowledged,
    )
    .await;
    sql(
        app,
        "UPDATE incidents SET resolved_at = $2 WHERE id = $1",
        id,
        resolved,
    )
    .await;
    id
}

#[tokio::test]
async fn figures_from_the_record_match_a_scenario_whose_answers_are_known() {
    let app = spawn_app_with_toml(CONFIG).await;
    let (_, writer) = create_token(
        &app,
        &[Scope::IncidentsWrite, Scope::PostmortemsWrite, Scope::Read],
    )
    .await;
    let (_, reader) = create_token(&app, &[Scope::Read]).await;

    // The website's monitor fails at 14:00:00; the incident opens at 14:01:30.
    let down = events::append(
        &app.pool,
        "monitor:site-home",
        &monitor_event("site-home", "site", Up, Down, "HTTP 502"),
    )
    .await
    .unwrap();
    sql(
        &app,
        "UPDATE events SET at = $2 WHERE id = $1",
        down.id,
        "2026-11-10T14:00:00Z",
    )
    .await;
    let site = incident(
        &app,
        &writer,
        "site",
        "2026-11-10T14:01:30Z",
        "2026-11-10T14:06:30Z",
        "2026-11-10T14:41:30Z",
    )
    .await;
    // The API: opened by a person who wrote at once, no failing signal recorded, 10 minutes.
    incident(
        &app,
        &writer,
        "api",
        "2026-11-20T09:00:00Z",
        "2026-11-20T09:00:00Z",
        "2026-11-20T09:10:00Z",
    )
    .await;
    // Outside the period asked for.
    incident(
        &app,
        &writer,
        "api",
        "2026-10-31T23:00:00Z",
        "2026-10-31T23:00:00Z",
        "2026-10-31T23:30:00Z",
    )
    .await;

    // The site's post-mortem: tagged, two follow-ups, one done.
    let path = format!("/api/v1/incidents/{site}/postmortem");
    let (status, draft) = send(&app, Method::POST, &path, &writer, None).await;
    assert_eq!(status, 201);
    let (status, err) = send(&app, Method::PUT, &path, &writer,
        Some(json!({ "base_revision": draft["revision"], "body": draft["body"], "tags": ["capacity", "bad-luck"] }))).await;
    assert_eq!(status, 400, "{err}");
    assert_eq!(err["field"], "tags");
    assert!(err["error"].as_str().unwrap().contains("`bad-luck`"));
    let (_, unchanged) = send(&app, Method::GET, &path, &reader, None).await;
    assert_eq!(
        unchanged["revision"], draft["revision"],
        "a refused save keeps nothing"
    );
    let (status, saved) = send(&app, Method::PUT, &path, &writer,
        Some(json!({ "base_revision": draft["revision"], "body": draft["body"], "tags": ["upstream-provider", "capacity"] }))).await;
    assert_eq!(status, 200, "{saved}");
    assert_eq!(saved["tags"], json!(["capacity", "upstream-provider"]));
    for title in ["Watch the allocation rules", "Follow up with Linode"] {
        let (status, _) = send(
            &app,
            Method::POST,
            &format!("{path}/follow-ups"),
            &writer,
            Some(json!({ "title": title })),
        )
        .await;
        assert_eq!(status, 201);
    }
    let items = app.get_json("/api/v1/follow-ups", &reader).await;
    let first = items["follow_ups"][0]["id"].as_i64().unwrap();
    let (status, _) = send(
        &app,
        Method::PATCH,
        &format!("/api/v1/follow-ups/{first}"),
        &writer,
        Some(json!({ "status": "done" })),
    )
    .await;
    assert_eq!(status, 200);

    let r: Value = app
        .get_json("/api/v1/reliability?from=2026-11-01&to=2026-12-01", &reader)
        .await;
    let o = &r["overall"];
    assert_eq!(o["incidents"], 2);
    assert_eq!(
        o["time_to_detect_secs"], 90.0,
        "only the site's incident had a failing signal"
    );
    assert_eq!(o["time_to_acknowledge_secs"], (300.0 + 0.0) / 2.0);
    assert_eq!(o["time_to_resolve_secs"], (2400.0 + 600.0) / 2.0);
    assert_eq!(o["minutes_by_state"]["partial_outage"], 50.0);
    let month = |component: &str| {
        r["months"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["component_id"] == component)
            .cloned()
            .unwrap()
    };
    let s = month("site");
    assert_eq!(s["month"], "2026-11-01");
    assert_eq!(
        (s["incidents"].as_i64(), s["time_to_detect_secs"].as_f64()),
        (Some(1), Some(90.0))
    );
    assert_eq!(s["time_to_acknowledge_secs"], 300.0);
    assert_eq!(s["time_to_resolve_secs"], 2400.0);
    assert_eq!(s["minutes_by_state"]["partial_outage"], 40.0);
    assert!(month("api")["time_to_detect_secs"].is_null());
    assert_eq!(r["follow_ups"]["total"], 2);
    assert_eq!(r["follow_ups"]["completion_rate"], 0.5);
    assert_eq!(r["postmortems"].as_array().unwrap().len(), 1);

    // One component; one contributing factor.
    let only: Value = app
        .get_json(
            "/api/v1/reliability?from=2026-11-01&to=2026-12-01&component=api",
            &reader,
        )
        .await;
    assert_eq!(only["overall"]["incidents"], 1);
    assert_eq!(only["follow_ups"]["total"], 0);
    let tagged: Value = app
        .get_json(
            "/api/v1/reliability?from=2026-11-01&to=2026-12-01&tag=capacity",
            &reader,
        )
        .await;
    assert_eq!(
        tagged["postmortems"][0]["tags"],
        json!(["capacity", "upstream-provider"])
    );
    let none: Value = app
        .get_json(
            "/api/v1/reliability?from=2026-11-01&to=2026-12-01&tag=config",
            &reader,
        )
        .await;
    assert!(none["postmortems"].as_array().unwrap().is_empty());

    // Bad input names the field; no token, no figures.
    for (query, field) in [
        ("from=2026-11-31", "from"),
        ("component=nope", "component"),
        ("tag=luck", "tag"),
        ("from=2026-11-02&to=2026-11-01", "to"),
    ] {
        let (status, err) = send(
            &app,
            Method::GET,
            &format!("/api/v1/reliability?{query}"),
            &reader,
            None,
        )
        .await;
        assert_eq!(
            (status, err["field"].as_str()),
            (400, Some(field)),
            "{query}: {err}"
        );
    }
    assert_eq!(app.get("/api/v1/reliability").await.status(), 401);
}
