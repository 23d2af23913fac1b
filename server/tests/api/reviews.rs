//! The review before publishing, over the API as people (signed-in editors) use it: asking a
//! reviewer, section threads with replies and resolution, approving one revision, re-approval
//! after a save, publishing gated on approvals of the current revision — and that no review
//! action creates, changes or loses a revision. Also the Markdown export and editor presence.

use std::io::Read;

use reqwest::Method;
use serde_json::{json, Value};
use vigil_core::model::auth::{Role, Scope};

use crate::common::{
    access::{create_token, signed_in},
    send, spawn_app_with_toml, TestApp,
};

const CONFIG: &str = r#"
[[component]]
id = "site"
name = "Website"

[incidents]
automatic = false
"#;

/// A JSON request as a signed-in person's browser sends it (session cookie, Origin).
async fn call(
    app: &TestApp,
    who: &reqwest::Client,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut req = who.request(method, app.url(path));
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

async fn drafted(app: &TestApp, token: &str) -> (i64, Value) {
    let (status, created) = send(
        app,
        Method::POST,
        "/api/v1/incidents",
        token,
        Some(
            json!({ "name": "Website unreachable", "impact": "major", "component_ids": ["site"],
                     "status": "resolved", "body": "Both backends were DOWN." }),
        ),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let incident = created["id"].as_i64().unwrap();
    let (status, draft) = send(
        app,
        Method::POST,
        &format!("/api/v1/incidents/{incident}/postmortem"),
        token,
        None,
    )
    .await;
    assert_eq!(status, 201, "{draft}");
    (incident, draft)
}

#[tokio::test]
async fn publishing_waits_for_an_approval_of_the_current_revision() {
    let app = spawn_app_with_toml(CONFIG).await;
    let (_, token) = create_token(&app, &[Scope::IncidentsWrite, Scope::PostmortemsWrite]).await;
    let ana = signed_in(&app, "ana", Role::Editor).await;
    let bob = signed_in(&app, "bob", Role::Editor).await;
    let vic = signed_in(&app, "vic", Role::Viewer).await;
    let (incident, draft) = drafted(&app, &token).await;
    let pm = format!("/api/v1/incidents/{incident}/postmortem");
    let review = format!("{pm}/review");
    let first = draft["revision"].as_i64().unwrap();

    let (status, r) = call(&app, &ana, Method::GET, &review, None).await;
    assert_eq!(status, 200, "{r}");
    assert_eq!(r["state"], "draft");
    assert_eq!(r["approvals_required"], 1, "one approval by default");
    assert!(r["sections"]
        .as_array()
        .unwrap()
        .iter()
        .any(|s| s == "Impact"));

    // Publishing before anyone approved: refused, saying what is missing, nothing changes.
    let publish =
        |base: i64, body: &Value| json!({ "base_revision": base, "body": body, "published": true });
    let (status, err) = call(
        &app,
        &ana,
        Method::PUT,
        &pm,
        Some(publish(first, &draft["body"])),
    )
    .await;
    assert_eq!(status, 409, "{err}");
    assert_eq!(err["field"], "approvals", "{err}");
    assert!(
        err["error"].as_str().unwrap().contains("request a review"),
        "{err}"
    );

    // Who may be asked.
    for (reviewers, says) in [
        (json!(["nobody"]), "no user `nobody`"),
        (json!(["vic"]), "reviewers must be editors"),
        (json!(["ana"]), "ask somebody else"),
        (json!([]), "at least one editor"),
    ] {
        let (status, err) = call(
            &app,
            &ana,
            Method::POST,
            &format!("{review}/reviewers"),
            Some(json!({ "reviewers": reviewers })),
        )
        .await;
        assert_eq!(status, 400, "{reviewers}: {err}");
        assert_eq!(err["field"], "reviewers");
        assert!(err["error"].as_str().unwrap().contains(says), "{err}");
    }
    let (status, r) = call(
        &app,
        &ana,
        Method::POST,
        &format!("{review}/reviewers"),
        Some(json!({ "reviewers": ["bob"] })),
    )
    .await;
    assert_eq!(status, 200, "{r}");
    assert_eq!(r["state"], "in_review");
    assert_eq!(r["reviewers"][0]["name"], "user:bob");
    assert_eq!(r["reviewers"][0]["requested_by"], "user:ana");

    // Comments: on a section of the text, escaped when shown; bad ones name the field.
    let comments = format!("{review}/comments");
    let (status, err) = call(
        &app,
        &bob,
        Method::POST,
        &comments,
        Some(json!({ "section": "Nope", "revision": first, "body": "x" })),
    )
    .await;
    assert_eq!(status, 400, "{err}");
    assert_eq!(err["field"], "section");
    assert!(err["error"].as_str().unwrap().contains("Impact"), "{err}");
    let (status, err) = call(
        &app,
        &bob,
        Method::POST,
        &comments,
        Some(json!({ "section": "Impact", "revision": first, "body": "  " })),
    )
    .await;
    assert_eq!(
        (status, err["field"].as_str()),
        (400, Some("body")),
        "{err}"
    );
    let (status, r) = call(
        &app,
        &bob,
        Method::POST,
        &comments,
        Some(json!({ "section": "impact", "revision": first,
                     "body": "Say how long <script>alert(1)</script> the sites were dark." })),
    )
    .await;
    assert_eq!(status, 201, "{r}");
    let thread = &r["threads"][0];
    assert_eq!(thread["section"], "Impact", "the heading as written");
    assert_eq!(thread["comment"]["author"], "user:bob");
    let thread_id = thread["comment"]["id"].as_i64().unwrap();
    let (status, r) = call(
        &app,
        &ana,
        Method::POST,
        &comments,
        Some(json!({ "reply_to": thread_id, "revision": first, "body": "Added: 47 minutes." })),
    )
    .await;
    assert_eq!(status, 201, "{r}");
    let reply_id = r["threads"][0]["replies"][0]["id"].as_i64().unwrap();
    assert_eq!(r["threads"][0]["replies"][0]["author"], "user:ana");
    let (status, err) = call(
        &app,
        &bob,
        Method::POST,
        &comments,
        Some(json!({ "reply_to": reply_id, "revision": first, "body": "x" })),
    )
    .await;
    assert_eq!(
        (status, err["field"].as_str()),
        (400, Some("reply_to")),
        "{err}"
    );

    // Approving: reviewers only, of the revision they read.
    let approvals = format!("{review}/approvals");
    let (status, err) = call(
        &app,
        &ana,
        Method::POST,
        &approvals,
        Some(json!({ "revision": first })),
    )
    .await;
    assert_eq!(status, 400, "{err}");
    assert_eq!(err["field"], "reviewer", "the author was not asked: {err}");
    let (status, _) = call(
        &app,
        &vic,
        Method::POST,
        &approvals,
        Some(json!({ "revision": first })),
    )
    .await;
    assert_eq!(status, 403, "a viewer may not review");
    let (status, r) = call(
        &app,
        &bob,
        Method::POST,
        &approvals,
        Some(json!({ "revision": first })),
    )
    .await;
    assert_eq!(status, 200, "{r}");
    assert_eq!(r["state"], "approved");
    assert_eq!(r["approvals"], 1);

    // Changed text with "published": the change was never approved, so nothing is kept.
    let (status, err) = call(
        &app,
        &ana,
        Method::PUT,
        &pm,
        Some(publish(first, &json!("An unreviewed rewrite."))),
    )
    .await;
    assert_eq!(
        (status, err["field"].as_str()),
        (409, Some("approvals")),
        "{err}"
    );
    assert!(
        err["error"].as_str().unwrap().contains("save it first"),
        "{err}"
    );
    let (_, current) = call(&app, &ana, Method::GET, &pm, None).await;
    assert_eq!(
        current["revision"], first,
        "a refused request keeps nothing"
    );

    // A save after the approval asks for the change to be approved.
    let edited = format!(
        "{}\n\nThe sites were dark for 47 minutes.\n",
        draft["body"].as_str().unwrap()
    );
    let (status, saved) = call(
        &app,
        &ana,
        Method::PUT,
        &pm,
        Some(json!({ "base_revision": first, "body": edited })),
    )
    .await;
    assert_eq!(status, 200, "{saved}");
    let second = saved["revision"].as_i64().unwrap();
    assert!(second > first);
    let (_, r) = call(&app, &ana, Method::GET, &review, None).await;
    assert_eq!(r["state"], "in_review", "{r}");
    assert_eq!(r["reviewers"][0]["approved_revision"], first);
    assert_eq!(r["reviewers"][0]["approves_current"], false);
    let (status, err) = call(
        &app,
        &ana,
        Method::PUT,
        &pm,
        Some(publish(second, &json!(edited))),
    )
    .await;
    assert_eq!(status, 409, "{err}");
    assert!(
        err["error"].as_str().unwrap().contains(&format!(
            "user:bob approved revision {first}, changed since"
        )),
        "{err}"
    );
    // Approving what was read before the save is refused: it is not what would be published.
    let (status, err) = call(
        &app,
        &bob,
        Method::POST,
        &approvals,
        Some(json!({ "revision": first })),
    )
    .await;
    assert_eq!(status, 409, "{err}");
    assert_eq!(err["field"], "revision");
    assert!(
        err["error"]
            .as_str()
            .unwrap()
            .contains(&format!("approve revision {second}")),
        "{err}"
    );
    let (status, r) = call(
        &app,
        &bob,
        Method::POST,
        &approvals,
        Some(json!({ "revision": second })),
    )
    .await;
    assert_eq!(
        (status, r["state"].as_str()),
        (200, Some("approved")),
        "{r}"
    );

    // Resolving the thread, then publishing; a token may publish what people approved.
    let (status, r) = call(
        &app,
        &ana,
        Method::PUT,
        &format!("{comments}/{thread_id}"),
        Some(json!({ "resolved": true })),
    )
    .await;
    assert_eq!(status, 200, "{r}");
    assert_eq!(r["threads"][0]["resolved_by"], "user:ana");
    let (status, err) = call(
        &app,
        &ana,
        Method::PUT,
        &format!("{comments}/{reply_id}"),
        Some(json!({ "resolved": true })),
    )
    .await;
    assert_eq!(
        (status, err["field"].as_str()),
        (400, Some("thread")),
        "{err}"
    );
    let (status, published) = send(
        &app,
        Method::PUT,
        &pm,
        &token,
        Some(json!({ "base_revision": second, "body": edited, "published": true })),
    )
    .await;
    assert_eq!(status, 200, "{published}");
    assert!(published["published_at"].is_string());
    let (_, r) = call(&app, &bob, Method::GET, &review, None).await;
    assert_eq!(r["state"], "published");

    // The review is in the revision history; it made no revision of its own.
    let (status, list) = send(&app, Method::GET, &format!("{pm}/revisions"), &token, None).await;
    assert_eq!(status, 200, "{list}");
    let numbers: Vec<i64> = list["revisions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["number"].as_i64().unwrap())
        .collect();
    assert_eq!(numbers, [second, first], "only the two saves are revisions");
    let history: Vec<(String, i64)> = list["review"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                format!(
                    "{} {}",
                    e["who"].as_str().unwrap(),
                    e["action"].as_str().unwrap()
                ),
                e["revision"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        history,
        [
            ("user:ana requested".to_string(), first),
            ("user:bob commented".to_string(), first),
            ("user:ana replied".to_string(), first),
            ("user:bob approved".to_string(), first),
            ("user:bob approved".to_string(), second),
            ("user:ana resolved".to_string(), first),
        ]
    );

    // The team's channels hear who was asked and each approval (`postmortem.review`).
    let said: Vec<String> = sqlx::query_scalar(
        "SELECT payload->>'action' || ' by ' || (payload->>'who') || ' r' || (payload->>'revision') \
         FROM events WHERE kind = 'postmortem.review' ORDER BY id",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(
        said,
        [
            format!("requested by user:ana r{first}"),
            format!("approved by user:bob r{first}"),
            format!("approved by user:bob r{second}"),
        ]
    );

    // The ops page shows the thread as text, never as markup.
    let page = bob
        .get(app.url(&format!("/ops/postmortems/{}", draft["id"])))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "escaped"
    );
    assert!(!page.contains("<script>alert(1)"));
    assert!(page.contains("data-testid=\"pm-review-state\""), "{page}");
}

#[tokio::test]
async fn a_post_mortem_exports_as_markdown_with_its_snapshots_as_svg() {
    let app = spawn_app_with_toml(CONFIG).await;
    let (_, token) = create_token(&app, &[Scope::IncidentsWrite, Scope::PostmortemsWrite]).await;
    let (incident, draft) = drafted(&app, &token).await;
    let pm = format!("/api/v1/incidents/{incident}/postmortem");
    let snap = draft["snapshots"][0]["id"].as_i64().unwrap();
    // The text places the drafted snapshot under Impact.
    let body = draft["body"].as_str().unwrap().replacen(
        "## Impact\n",
        &format!("## Impact\n\n{{{{snapshot:{snap}}}}}\n"),
        1,
    );
    let (status, saved) = send(
        &app,
        Method::PUT,
        &pm,
        &token,
        Some(json!({ "base_revision": draft["revision"], "body": body, "title": "The night the ingress flapped" })),
    )
    .await;
    assert_eq!(status, 200, "{saved}");

    let resp = app.get_with_token(&format!("{pm}/export"), &token).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "application/zip");
    assert!(resp.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .contains(&format!("postmortem-incident-{incident}.zip")));
    let bytes = resp.bytes().await.unwrap();
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes.to_vec())).unwrap();
    let folder = format!("postmortem-incident-{incident}");
    let mut names: Vec<String> = zip.file_names().map(String::from).collect();
    names.sort();
    assert_eq!(
        names,
        [
            format!("{folder}/postmortem.md"),
            format!("{folder}/snapshots/snapshot-{snap}.svg")
        ]
    );
    let mut md = String::new();
    zip.by_name(&format!("{folder}/postmortem.md"))
        .unwrap()
        .read_to_string(&mut md)
        .unwrap();
    assert!(md.starts_with("# The night the ingress flapped\n"), "{md}");
    assert!(md.contains("Draft (not published)"), "{md}");
    let image = format!("](snapshots/snapshot-{snap}.svg)");
    let impact = md.find("## Impact").unwrap();
    let placed = md.find(&image).expect("the snapshot as an image");
    assert!(
        placed > impact && placed < md.find("## Detection").unwrap(),
        "in place: {md}"
    );
    assert!(!md.contains("{{snapshot:"), "{md}");
    assert!(!md.contains("## Graphs"), "every snapshot is placed: {md}");
    let mut svg = String::new();
    zip.by_name(&format!("{folder}/snapshots/snapshot-{snap}.svg"))
        .unwrap()
        .read_to_string(&mut svg)
        .unwrap();
    assert!(svg.starts_with("<?xml"), "{svg}");
    assert!(svg.contains("<svg xmlns=\"http://www.w3.org/2000/svg\""));
    assert!(svg.contains("What Vigil recorded"), "captioned");

    // Readers only; the public never gets a draft's export.
    assert_eq!(app.get(&format!("{pm}/export")).await.status(), 401);
}

#[tokio::test]
async fn an_open_editor_is_announced_to_operators_over_the_live_feed() {
    let app = spawn_app_with_toml(CONFIG).await;
    let (_, token) = create_token(&app, &[Scope::IncidentsWrite, Scope::PostmortemsWrite]).await;
    let ana = signed_in(&app, "ana", Role::Editor).await;
    let bob = signed_in(&app, "bob", Role::Editor).await;
    let (_, draft) = drafted(&app, &token).await;
    let id = draft["id"].as_i64().unwrap();
    let path = leptos::server_fn::axum::server_fn_paths()
        .map(|(p, _)| p.to_string())
        .find(|p| p.rsplit('/').next().unwrap().starts_with("mark_editing"))
        .expect("the presence server function");
    let resp = ana
        .post(app.url(&path))
        .form(&[("id", id.to_string())])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert!(resp.text().await.unwrap().contains("user:ana"));

    let mut stream = bob
        .get(app.url("/events/live"))
        .send()
        .await
        .unwrap()
        .bytes_stream();
    let mut buf = String::new();
    let mut seen = None;
    for _ in 0..5 {
        let status =
            crate::http::next_status(&mut stream, &mut buf, std::time::Duration::from_secs(3))
                .await
                .expect("operators get a tick each second");
        if let Some(e) = status.editing.iter().find(|e| e.postmortem_id == id) {
            seen = Some(e.who.clone());
            break;
        }
    }
    assert_eq!(seen, Some(vec!["user:ana".to_string()]));

    // The public feed never says who is editing.
    let mut public = app.get("/events/live").await.bytes_stream();
    let mut buf = String::new();
    let status = crate::http::next_status(&mut public, &mut buf, std::time::Duration::from_secs(5))
        .await
        .unwrap();
    assert!(status.editing.is_empty(), "{status:?}");
}

#[tokio::test]
async fn nobody_approves_their_own_text_and_a_later_save_waits_for_an_approval() {
    let app = spawn_app_with_toml(CONFIG).await;
    let (_, token) = create_token(&app, &[Scope::IncidentsWrite, Scope::PostmortemsWrite]).await;
    let ana = signed_in(&app, "ana", Role::Editor).await;
    let bob = signed_in(&app, "bob", Role::Editor).await;
    let (incident, draft) = drafted(&app, &token).await;
    let pm = format!("/api/v1/incidents/{incident}/postmortem");
    let review = format!("{pm}/review");
    let approvals = format!("{review}/approvals");
    let public = format!("/postmortems/{}", draft["id"].as_i64().unwrap());
    let save = |who: &reqwest::Client, base: i64, body: &str| {
        let (app, who, pm) = (&app, who.clone(), pm.clone());
        let body = json!({ "base_revision": base, "body": body });
        async move {
            let (status, saved) = call(app, &who, Method::PUT, &pm, Some(body)).await;
            assert_eq!(status, 200, "{saved}");
            saved["revision"].as_i64().unwrap()
        }
    };
    let approve = |who: &reqwest::Client, revision: i64| {
        let (app, who, approvals) = (&app, who.clone(), approvals.clone());
        async move {
            call(
                app,
                &who,
                Method::POST,
                &approvals,
                Some(json!({ "revision": revision })),
            )
            .await
        }
    };
    let public_page = || async {
        let r = reqwest::Client::new()
            .get(app.url(&public))
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.text().await.unwrap())
    };

    let first = save(
        &ana,
        draft["revision"].as_i64().unwrap(),
        "# Summary\n\nThe first account.",
    )
    .await;
    // Bob names the author, Ana, as a reviewer; Ana names Bob.
    for (who, whom) in [(&bob, "ana"), (&ana, "bob")] {
        let (status, r) = call(
            &app,
            who,
            Method::POST,
            &format!("{review}/reviewers"),
            Some(json!({ "reviewers": [whom] })),
        )
        .await;
        assert_eq!(status, 200, "{r}");
    }
    // Ana wrote it: her approval is refused, and publishing still waits.
    let (status, err) = approve(&ana, first).await;
    assert_eq!(status, 409, "{err}");
    assert!(
        err["error"]
            .as_str()
            .unwrap()
            .contains("you wrote revision"),
        "{err}"
    );
    let (status, err) = call(&app, &ana, Method::PUT, &pm, Some(json!({ "base_revision": first, "body": "# Summary\n\nThe first account.", "published": true }))).await;
    assert_eq!(
        (status, err["field"].as_str()),
        (409, Some("approvals")),
        "{err}"
    );
    let (status, r) = approve(&bob, first).await;
    assert_eq!(status, 200, "{r}");
    let (status, r) = call(&app, &ana, Method::PUT, &pm, Some(json!({ "base_revision": first, "body": "# Summary\n\nThe first account.", "published": true }))).await;
    assert_eq!(status, 200, "{r}");
    let (status, page) = public_page().await;
    assert_eq!(status, 200);
    assert!(page.contains("The first account."), "{page}");

    // Published: Bob, a reviewer, rewrites it and approves his own rewrite. Refused, and the
    // public keeps reading the approved revision.
    let rewrite = save(&bob, first, "# Summary\n\nA rewrite nobody else read.").await;
    let (status, err) = approve(&bob, rewrite).await;
    assert_eq!(status, 409, "{err}");
    let (_, page) = public_page().await;
    assert!(page.contains("The first account."), "{page}");
    assert!(!page.contains("A rewrite nobody else read."), "{page}");
    let (_, r) = call(&app, &bob, Method::GET, &review, None).await;
    assert_eq!(r["revision"], rewrite);

    // Ana, who did not write it, approves: now it is public.
    let (status, r) = approve(&ana, rewrite).await;
    assert_eq!(status, 200, "{r}");
    let (_, page) = public_page().await;
    assert!(page.contains("A rewrite nobody else read."), "{page}");
    let said: Vec<String> = sqlx::query_scalar(
        "SELECT payload->>'action' FROM events WHERE kind = 'postmortem.review' ORDER BY id",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(
        said.last().map(String::as_str),
        Some("revision_public"),
        "{said:?}"
    );
}
