//! Post-mortems end to end: Vigil's first draft from what it recorded, saves that never overwrite
//! anybody (a stale save is kept as its own revision and answered 409), restoring, publishing
//! with sanitized Markdown on the public page and in Statuspage's JSON, and who may do what.

use crate::common;

use crate::common::{
    access::create_token, flapping_event, monitor_event, send, spawn_app_with_toml, TestApp,
};
use reqwest::Method;
use serde_json::{json, Value};
use vigil_core::{
    model::{
        auth::Scope,
        monitor::MonitorStatus::{self, Down, Up},
        postmortem::{RevisionKind, SaveOutcome},
        review::ReviewRules,
    },
    store::{events, postmortem_commands, postmortems},
};

const CONFIG: &str = r#"
[[component]]
id = "site"
name = "Website"

[incidents]
automatic = false

# These tests are about drafting, saving and publishing; the review before publishing is
# tests/api/reviews.rs.
[postmortems]
approvals = 0
"#;

/// The seed's shape: the load balancer flaps and the site goes down, then an incident is opened
/// and later resolved.
async fn resolved_incident(app: &TestApp, writer: &str) -> i64 {
    let flapping = flapping_event("ingress", 443, "node-2", true);
    events::append(&app.pool, "backend:1", &flapping)
        .await
        .unwrap();
    let down = monitor_event("site_https", "site", Up, Down, "HTTP 502");
    events::append(&app.pool, "monitor:site", &down)
        .await
        .unwrap();
    let (status, created) = send(
        app,
        Method::POST,
        "/api/v1/incidents",
        writer,
        Some(
            json!({ "name": "Website unreachable", "impact": "major", "component_ids": ["site"],
                     "body": "Both backends are DOWN on the NodeBalancer." }),
        ),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_i64().unwrap();
    let (status, _) = send(
        app,
        Method::POST,
        &format!("/api/v1/incidents/{id}/updates"),
        writer,
        Some(json!({ "body": "Node memory pressure suspected", "internal": true })),
    )
    .await;
    assert_eq!(status, 201);
    let (status, _) = send(
        app,
        Method::PATCH,
        &format!("/api/v1/incidents/{id}"),
        writer,
        Some(json!({ "status": "resolved" })),
    )
    .await;
    assert_eq!(status, 200);
    id
}

#[tokio::test]
async fn vigil_drafts_from_what_it_recorded_and_no_save_is_lost() {
    let app = spawn_app_with_toml(CONFIG).await;
    let (_, writer) = create_token(
        &app,
        &[Scope::IncidentsWrite, Scope::PostmortemsWrite, Scope::Read],
    )
    .await;
    let incident = resolved_incident(&app, &writer).await;
    let path = format!("/api/v1/incidents/{incident}/postmortem");

    let (status, _) = send(&app, Method::GET, &path, &writer, None).await;
    assert_eq!(status, 404, "no post-mortem before one is drafted");

    let (status, draft) = send(&app, Method::POST, &path, &writer, None).await;
    assert_eq!(status, 201, "{draft}");
    let body = draft["body"].as_str().unwrap();
    for heading in [
        "## Leadup",
        "## Impact",
        "## Detection",
        "## Response",
        "## Recovery",
        "## Five Whys",
        "## Blameless root cause",
        "## Lessons learned",
        "## Follow-up tasks",
        "## Timeline",
    ] {
        assert!(body.contains(heading), "{heading} missing from\n{body}");
    }
    assert!(
        body.contains("ingress :443 node-2 started flapping"),
        "the leadup has the flapping backend:\n{body}"
    );
    assert!(body.contains("site\\_https up → down: HTTP 502"), "{body}");
    assert!(body.contains("- Website: "), "impact names the component");
    assert!(
        body.contains("Both backends are DOWN on the NodeBalancer."),
        "public updates are drafted in"
    );
    assert!(
        !body.contains("Node memory pressure suspected"),
        "internal notes are never drafted into something publishable"
    );
    assert_eq!(draft["revision"], 1);
    assert_eq!(draft["title"], "Post-mortem: Website unreachable");
    assert_eq!(
        draft["snapshots"].as_array().unwrap().len(),
        1,
        "the graphs of the window are kept"
    );
    assert!(draft["published_at"].is_null());

    // Drafting again finds the same one.
    let (status, again) = send(&app, Method::POST, &path, &writer, None).await;
    assert_eq!(status, 200);
    assert_eq!(again["id"], draft["id"]);

    // Ana saves from revision 1; Ben, who also opened revision 1, saves after her.
    let (status, ana) = send(
        &app,
        Method::PUT,
        &path,
        &writer,
        Some(json!({ "base_revision": 1, "body": "## Leadup\n\nAna's account.\n" })),
    )
    .await;
    assert_eq!(status, 200, "{ana}");
    assert_eq!(ana["revision"], 2);
    assert_eq!(
        ana["title"], "Post-mortem: Website unreachable",
        "a save without a title keeps it"
    );
    let (status, ben) = send(
        &app,
        Method::PUT,
        &path,
        &writer,
        Some(json!({ "base_revision": 1, "body": "## Leadup\n\nBen's account.\n" })),
    )
    .await;
    assert_eq!(status, 409, "{ben}");
    assert_eq!(ben["current_revision"], 2);
    assert_eq!(ben["kept_as"], 3);
    assert!(ben["error"]
        .as_str()
        .unwrap()
        .contains("kept as revision 3"));

    let (_, now) = send(&app, Method::GET, &path, &writer, None).await;
    assert_eq!(
        now["body"], "## Leadup\n\nAna's account.\n",
        "Ana's save stands"
    );
    let id = now["id"].as_i64().unwrap();
    let kept = postmortems::revision(&app.pool, id, 3, None)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        kept.body, "## Leadup\n\nBen's account.\n",
        "Ben's text is kept"
    );
    assert_eq!(kept.summary.kind, RevisionKind::Conflict);
    assert_eq!(
        kept.compared_with,
        Some(1),
        "compared with what Ben started from"
    );
    assert!(kept
        .diff
        .iter()
        .any(|l| l.tag == '+' && l.text == "Ben's account."));

    let (_, revs) = send(
        &app,
        Method::GET,
        &format!("{path}/revisions"),
        &writer,
        None,
    )
    .await;
    let kinds: Vec<&str> = revs["revisions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["conflict", "saved", "drafted"]);

    // Ben merges from the current revision: saved. Saving the same text again changes nothing.
    let merged =
        json!({ "base_revision": 2, "body": "## Leadup\n\nAna's account.\n\nBen's account.\n" });
    let (status, saved) = send(&app, Method::PUT, &path, &writer, Some(merged.clone())).await;
    assert_eq!(status, 200, "{saved}");
    assert_eq!(saved["revision"], 4);
    let again = json!({ "base_revision": 4, "body": merged["body"] });
    let (status, same) = send(&app, Method::PUT, &path, &writer, Some(again)).await;
    assert_eq!(status, 200);
    assert_eq!(same["revision"], 4, "an unchanged save adds no revision");
    assert_eq!(same["authors"], json!(["token:test"]));

    // Bringing back Vigil's draft is a new revision too; nothing is rewritten.
    let restored =
        postmortem_commands::restore(&app.pool, id, 1, 4, "user:ana", Default::default())
            .await
            .unwrap();
    assert_eq!(restored, SaveOutcome::Saved { revision: 5 });
    let (_, now) = send(&app, Method::GET, &path, &writer, None).await;
    assert_eq!(now["body"], draft["body"]);

    // A dated update goes on top, as its own revision; from a stale base it is kept aside.
    let amended = postmortem_commands::add_update(
        &app.pool,
        id,
        5,
        "Grafana moved.",
        "user:ana",
        Default::default(),
    )
    .await
    .unwrap();
    assert_eq!(amended, SaveOutcome::Saved { revision: 6 });
    let (_, now) = send(&app, Method::GET, &path, &writer, None).await;
    let today = chrono::Utc::now().format("%Y-%m-%d").to_string();
    assert!(now["body"]
        .as_str()
        .unwrap()
        .starts_with(&format!("**Update {today}:** Grafana moved.\n\n")));
    let stale =
        postmortem_commands::add_update(&app.pool, id, 5, "Late.", "user:ben", Default::default())
            .await
            .unwrap();
    assert_eq!(
        stale,
        SaveOutcome::Conflict {
            current: 6,
            kept_as: 7
        }
    );
}

#[tokio::test]
async fn published_post_mortems_are_public_and_sanitized_drafts_are_not() {
    let app = spawn_app_with_toml(CONFIG).await;
    let (_, writer) = create_token(
        &app,
        &[Scope::IncidentsWrite, Scope::PostmortemsWrite, Scope::Read],
    )
    .await;
    let (_, reader) = create_token(&app, &[Scope::Read]).await;
    let incident = resolved_incident(&app, &writer).await;
    let path = format!("/api/v1/incidents/{incident}/postmortem");

    // Who may do what.
    let (status, _) = send(&app, Method::POST, &path, &reader, None).await;
    assert_eq!(status, 403, "reading is not writing");
    let anonymous = app.client.post(app.url(&path)).send().await.unwrap();
    assert_eq!(anonymous.status(), 401);
    let (status, draft) = send(&app, Method::POST, &path, &writer, None).await;
    assert_eq!(status, 201);
    let id = draft["id"].as_i64().unwrap();
    let (status, _) = send(&app, Method::GET, &path, &reader, None).await;
    assert_eq!(status, 200, "readers may read drafts through the API");

    // A draft stays off every public surface.
    let page = app.get(&format!("/postmortems/{id}")).await;
    assert_eq!(page.status(), 404);
    let json: Value = app
        .get("/api/v2/incidents.json")
        .await
        .json()
        .await
        .unwrap();
    assert!(json["incidents"][0]["postmortem_body"].is_null());
    let incident_page = app
        .get(&format!("/incidents/{incident}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(!incident_page.contains("Read the post-mortem"));

    // Bad input is refused with the field named, and nothing changes.
    let (status, err) = send(
        &app,
        Method::PUT,
        &path,
        &writer,
        Some(json!({ "base_revision": 1, "body": "x", "title": "  " })),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(err["field"], "title");
    let (status, err) = send(
        &app,
        Method::PUT,
        &path,
        &writer,
        Some(json!({ "base_revision": 1, "body": "x", "publish": true })),
    )
    .await;
    assert_eq!(status, 400, "unknown fields are named: {err}");
    assert!(err["error"].as_str().unwrap().contains("publish"));

    let hostile =
        "## Five Whys\n\nWhat? The site went dark.\n\n1. Why? <script>alert('pm')</script>\n\n\
                   <img src=x onerror=alert(1)>\n\n- [ ] Move Grafana off the shared ingress\n";
    let (status, published) = send(
        &app,
        Method::PUT,
        &path,
        &writer,
        Some(
            json!({ "base_revision": 1, "body": hostile, "title": "The night the ingress flapped",
                     "published": true }),
        ),
    )
    .await;
    assert_eq!(status, 200, "{published}");
    assert!(published["published_at"].is_string());

    let page = app.get(&format!("/postmortems/{id}")).await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("The night the ingress flapped"));
    assert!(
        html.contains(r#"<h2 id="section-five-whys">Five Whys</h2>"#),
        "Markdown is rendered"
    );
    assert!(html.contains("type=\"checkbox\""), "task lists render");
    let start = html.find("data-testid=\"pm-body\"").unwrap();
    let rendered = &html[start..start + html[start..].find("</div>").unwrap()];
    assert!(rendered.contains("Five Whys"));
    assert!(
        !rendered.contains("<script"),
        "scripts are removed: {rendered}"
    );
    assert!(
        !rendered.contains("onerror"),
        "event handlers are removed: {rendered}"
    );
    assert!(
        !html.contains("<script>alert"),
        "nor does the Markdown source break out of the hydration data"
    );
    assert!(
        !html.contains("data-testid=\"snapshot\""),
        "the graphs stay private until their author shows them"
    );

    let json: Value = app
        .get("/api/v2/incidents.json")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(json["incidents"][0]["postmortem_body"], hostile);
    assert!(json["incidents"][0]["postmortem_published_at"].is_string());
    let incident_page = app
        .get(&format!("/incidents/{incident}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(incident_page.contains(&format!("/postmortems/{id}")));
    let history = app.get("/history").await.text().await.unwrap();
    assert!(history.contains("Read the post-mortem"));
    let front = app.get("/").await.text().await.unwrap();
    let past = &front[front.find("data-testid=\"past-incidents\"").unwrap()..];
    assert!(
        past.contains("Website unreachable"),
        "the status page lists it"
    );
    assert!(past.contains(&format!("href=\"/postmortems/{id}\"")));
    let atom = app.get("/history.atom").await.text().await.unwrap();
    assert!(
        atom.contains(&format!("/postmortems/{id}")),
        "the feed links it"
    );

    // Taken back to draft: gone from the public again.
    let (status, _) = send(
        &app,
        Method::PUT,
        &path,
        &writer,
        Some(json!({ "base_revision": 2, "body": hostile, "published": false })),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(app.get(&format!("/postmortems/{id}")).await.status(), 404);

    let published: Vec<String> =
        sqlx::query_scalar("SELECT kind FROM events WHERE subject = $1 ORDER BY id")
            .bind(format!("postmortem:{id}"))
            .fetch_all(&app.pool)
            .await
            .unwrap();
    assert_eq!(
        published,
        ["postmortem.published", "postmortem.unpublished"],
        "publishing is on the event stream (live pages, notifications)"
    );

    // Everything written is in the audit log under the token's name.
    let actions: Vec<String> =
        sqlx::query_scalar("SELECT action FROM audit_log WHERE target = $1 ORDER BY id")
            .bind(format!("postmortem:{id}"))
            .fetch_all(&app.pool)
            .await
            .unwrap();
    assert_eq!(
        actions,
        [
            "postmortem.draft",
            "postmortem.save",
            "postmortem.publish",
            "postmortem.save",
            "postmortem.unpublish"
        ]
    );

    // The OpenAPI document describes the new routes.
    let doc: Value = app.get("/api/v1/openapi.json").await.json().await.unwrap();
    assert!(doc["paths"]["/api/v1/incidents/{id}/postmortem"]["put"].is_object());
}

#[tokio::test]
async fn the_drafted_impact_is_what_users_saw_and_recovery_keeps_to_the_incident() {
    let app = spawn_app_with_toml(CONFIG).await;
    let (_, writer) = create_token(&app, &[Scope::IncidentsWrite, Scope::PostmortemsWrite]).await;
    let state = |to: MonitorStatus, from: MonitorStatus| {
        let pool = app.pool.clone();
        async move {
            let change = monitor_event("site_https", "site", from, to, "");
            events::append(&pool, "monitor:site_https", &change)
                .await
                .unwrap()
        }
    };
    let pause = || tokio::time::sleep(std::time::Duration::from_millis(1100));
    state(Down, Up).await;
    let (status, created) = send(
        &app,
        Method::POST,
        "/api/v1/incidents",
        &writer,
        Some(json!({ "name": "Website down", "impact": "minor", "component_ids": ["site"], "body": "Looking." })),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_i64().unwrap();
    pause().await;
    pause().await;
    let back = state(Up, Down).await;
    pause().await;
    let (status, _) = send(
        &app,
        Method::PATCH,
        &format!("/api/v1/incidents/{id}"),
        &writer,
        Some(json!({ "status": "resolved" })),
    )
    .await;
    assert_eq!(status, 200);
    pause().await;
    state(Down, Up).await;
    pause().await;
    let later = state(Up, Down).await;

    let (status, draft) = send(
        &app,
        Method::POST,
        &format!("/api/v1/incidents/{id}/postmortem"),
        &writer,
        None,
    )
    .await;
    assert_eq!(status, 201, "{draft}");
    let body = draft["body"].as_str().unwrap();
    let impact = &body[body.find("## Impact").unwrap()..body.find("## Detection").unwrap()];
    // Down for the first two seconds of the incident, and never "operational" (today's state)
    // nor the "degraded" a minor impact would declare.
    assert!(
        impact.contains("- Website: at worst major outage (major outage for 2 s)"),
        "{impact}"
    );
    let at = |e: &events::Event| e.at.format("%H:%M:%S UTC").to_string();
    let recovery = &body[body.find("## Recovery").unwrap()..body.find("## Five Whys").unwrap()];
    assert!(recovery.contains(&at(&back)), "{recovery}");
    assert!(
        !recovery.contains(&at(&later)),
        "a recovery after the incident was resolved is not its recovery:\n{recovery}"
    );
    let timeline = &body[body.find("## Timeline").unwrap()..];
    assert!(
        timeline.contains("(after) site\\_https down → up"),
        "{timeline}"
    );
}

#[tokio::test]
async fn snapshots_are_private_until_shown_and_then_without_addresses_or_logins() {
    let app = spawn_app_with_toml(CONFIG).await;
    let (_, writer) = create_token(
        &app,
        &[Scope::IncidentsWrite, Scope::PostmortemsWrite, Scope::Read],
    )
    .await;
    // A backend address in what Vigil recorded.
    let flapping = flapping_event("ingress", 443, "192.168.131.7:80", true);
    events::append(&app.pool, "backend:7", &flapping)
        .await
        .unwrap();
    let incident = resolved_incident(&app, &writer).await;
    let (id, _) = postmortem_commands::draft(
        &app.pool,
        incident,
        "user:ana.k",
        &Default::default(),
        None,
        &[],
    )
    .await
    .unwrap();
    postmortem_commands::publish(
        &app.pool,
        id,
        true,
        "user:ana.k",
        ReviewRules { approvals: 0 },
    )
    .await
    .unwrap();
    let page = |app: &TestApp| {
        let url = app.url(&format!("/postmortems/{id}"));
        let client = app.client.clone();
        async move { client.get(url).send().await.unwrap().text().await.unwrap() }
    };
    let html = page(&app).await;
    assert!(
        html.contains("data-testid=\"pm-body\""),
        "published: {html}"
    );
    assert!(
        !html.contains("data-testid=\"snapshot\""),
        "snapshots start private"
    );
    assert!(!html.contains("ana.k"), "no login names: {html}");

    let snap: i64 =
        sqlx::query_scalar("SELECT id FROM postmortem_snapshots WHERE postmortem_id = $1")
            .bind(id)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    let recorded = postmortems::get(&app.pool, id, false)
        .await
        .unwrap()
        .unwrap();
    let as_recorded = serde_json::to_string(&recorded.snapshots[0].stack).unwrap();
    assert!(
        as_recorded.contains("192.168.131.7"),
        "ops keep the address: {as_recorded}"
    );

    // Through the editor's form, as a person does it.
    let editor = common::access::signed_in(&app, "ed", vigil_core::model::auth::Role::Editor).await;
    let on_page = format!("/ops/postmortems/{id}");
    let share = |public: &'static str, keep: &'static str| {
        let (editor, app, on_page) = (&editor, &app, &on_page);
        let (id, snap) = (id.to_string(), snap.to_string());
        async move {
            let resp = common::access::submit(
                app,
                editor,
                "set_snapshot_visibility",
                on_page,
                &[
                    ("id", id.as_str()),
                    ("snapshot", snap.as_str()),
                    ("public", public),
                    ("keep_addresses", keep),
                ],
            )
            .await;
            common::access::assert_back_to(app, &resp, on_page);
        }
    };
    share("true", "false").await;
    // The figure as served (its hydration data carries the same, cleaned, stack).
    let figure = |html: &str| {
        let start = html
            .find("data-testid=\"snapshot\"")
            .expect("a snapshot is shown");
        html[start..start + html[start..].find("</figure>").unwrap()].to_string()
    };
    let html = page(&app).await;
    let shown = figure(&html);
    assert!(shown.contains("started flapping"), "{shown}");
    assert!(
        !shown.contains("192.168.131.7"),
        "addresses left out: {shown}"
    );
    // What the public page is built from (and carries as hydration data).
    let public = postmortems::get(&app.pool, id, true)
        .await
        .unwrap()
        .unwrap();
    let sent = serde_json::to_string(&public.snapshots).unwrap();
    assert!(!sent.contains("192.168.131.7"), "{sent}");
    assert!(!serde_json::to_string(&public.authors)
        .unwrap()
        .contains("ana.k"));

    share("true", "true").await;
    assert!(
        figure(&page(&app).await).contains("192.168.131.7"),
        "kept by choice"
    );
}
