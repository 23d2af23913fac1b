//! Follow-up tasks as items: the post-mortem's checklist becomes items when saved; items are
//! added, owned, dated, linked and closed through the API with every bad field named; the list
//! filters by owner, status and overdue; reading and writing need their scopes.

use reqwest::Method;
use serde_json::{json, Value};
use vigil_core::model::{
    auth::{Role, Scope},
    follow_up::FollowUpStatus,
};

use crate::common::{
    access::{create_token, create_user},
    send, spawn_app_with_toml,
};

#[tokio::test]
async fn the_checklist_becomes_items_that_are_owned_dated_and_closed() {
    let app = spawn_app_with_toml(
        "[[component]]\nid = \"site\"\nname = \"Website\"\n\n[incidents]\nautomatic = false\n",
    )
    .await;
    create_user(&app, "alice", Role::Editor).await;
    let (_, writer) = create_token(
        &app,
        &[Scope::IncidentsWrite, Scope::PostmortemsWrite, Scope::Read],
    )
    .await;
    let (_, reader) = create_token(&app, &[Scope::Read]).await;
    let (status, created) = send(&app, Method::POST, "/api/v1/incidents", &writer,
        Some(json!({ "name": "Website unreachable", "impact": "major", "component_ids": ["site"], "body": "Down." }))).await;
    assert_eq!(status, 201, "{created}");
    let incident = created["id"].as_i64().unwrap();
    let path = format!("/api/v1/incidents/{incident}/postmortem/follow-ups");
    let (status, body) = send(
        &app,
        Method::POST,
        &path,
        &writer,
        Some(json!({"title": "x"})),
    )
    .await;
    assert_eq!(status, 404, "no post-mortem yet: {body}");

    let pm = format!("/api/v1/incidents/{incident}/postmortem");
    let (status, draft) = send(&app, Method::POST, &pm, &writer, None).await;
    assert_eq!(status, 201);
    let text = draft["body"].as_str().unwrap().replace(
        "## Follow-up tasks",
        "## Follow-up tasks\n\n- [ ] Monitor for follow up from Linode\n- [x] Carefully monitor the allocation rules for our services",
    );
    let (status, saved) = send(
        &app,
        Method::PUT,
        &pm,
        &writer,
        Some(json!({ "base_revision": draft["revision"], "body": text })),
    )
    .await;
    assert_eq!(status, 200, "{saved}");
    let (_, list) = send(
        &app,
        Method::GET,
        "/api/v1/follow-ups?status=all",
        &reader,
        None,
    )
    .await;
    let items = list["follow_ups"].as_array().unwrap();
    assert_eq!(items.len(), 2, "{list}");
    assert_eq!(items[0]["title"], "Monitor for follow up from Linode");
    assert_eq!(items[0]["status"], "open");
    assert_eq!(items[1]["status"], "done");
    assert_eq!(items[0]["incident_id"], incident);
    // Saving the same checklist again adds nothing.
    let (_, saved2) = send(
        &app,
        Method::PUT,
        &pm,
        &writer,
        Some(json!({ "base_revision": saved["revision"], "body": format!("{text}\n") })),
    )
    .await;
    assert!(saved2["revision"].as_i64().is_some(), "{saved2}");
    let (_, list) = send(
        &app,
        Method::GET,
        "/api/v1/follow-ups?status=all",
        &reader,
        None,
    )
    .await;
    assert_eq!(list["follow_ups"].as_array().unwrap().len(), 2);

    // A new item with an owner, a due date and the issue tracking it.
    let due = (chrono::Utc::now().date_naive() + chrono::Duration::days(7)).to_string();
    let (status, item) = send(
        &app,
        Method::POST,
        &path,
        &writer,
        Some(json!({
        "title": "Cap requests per node below allocatable", "owner": "alice", "due_on": due,
        "link": "https://github.com/example/infra/issues/42" })),
    )
    .await;
    assert_eq!(status, 201, "{item}");
    assert_eq!(item["owner"], "alice");
    assert_eq!(item["due_on"], due);
    assert_eq!(item["overdue"], false);
    let id = item["id"].as_i64().unwrap();

    // Every bad field is named.
    let yesterday = (chrono::Utc::now().date_naive() - chrono::Duration::days(1)).to_string();
    for (body, field) in [
        (json!({"title": "a", "owner": "nobody-here"}), "owner"),
        (json!({"title": "b", "due_on": yesterday}), "due_on"),
        (json!({"title": "c", "due_on": "next week"}), "due_on"),
        (json!({"title": "d", "link": "javascript:alert(1)"}), "link"),
        (json!({"title": "  "}), "title"),
        (
            json!({"title": "Cap requests per node below allocatable"}),
            "title",
        ),
        (json!({"title": "e", "colour": "red"}), "colour"),
    ] {
        let (status, answer) = send(&app, Method::POST, &path, &writer, Some(body.clone())).await;
        assert_eq!(status, 400, "{body}: {answer}");
        assert!(
            answer["error"].as_str().unwrap().contains(field),
            "{body}: {answer}"
        );
    }
    let (status, _) = send(
        &app,
        Method::POST,
        &path,
        &reader,
        Some(json!({"title": "f"})),
    )
    .await;
    assert_eq!(status, 403, "reading is not writing");

    // Moved into the past, it is overdue; the filters find it.
    let item_path = format!("/api/v1/follow-ups/{id}");
    let (status, moved) = send(
        &app,
        Method::PATCH,
        &item_path,
        &writer,
        Some(json!({"due_on": yesterday})),
    )
    .await;
    assert_eq!(status, 200, "{moved}");
    assert_eq!(moved["overdue"], true);
    let (_, overdue) = send(
        &app,
        Method::GET,
        "/api/v1/follow-ups?overdue=true",
        &reader,
        None,
    )
    .await;
    let overdue: Vec<i64> = overdue["follow_ups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_i64().unwrap())
        .collect();
    assert_eq!(overdue, [id]);
    let (_, mine) = send(
        &app,
        Method::GET,
        "/api/v1/follow-ups?owner=alice",
        &reader,
        None,
    )
    .await;
    assert_eq!(mine["follow_ups"].as_array().unwrap().len(), 1);
    let (status, bad) = send(
        &app,
        Method::GET,
        "/api/v1/follow-ups?status=closed",
        &reader,
        None,
    )
    .await;
    assert_eq!(status, 400, "{bad}");

    // Done: no longer overdue, no longer open; unknown items and statuses are refused.
    let (status, done) = send(
        &app,
        Method::PATCH,
        &item_path,
        &writer,
        Some(json!({"status": "done", "owner": ""})),
    )
    .await;
    assert_eq!(status, 200, "{done}");
    assert_eq!(done["status"], "done");
    assert_eq!(done["owner"], Value::Null);
    assert_eq!(done["overdue"], false);
    let (_, open) = send(
        &app,
        Method::GET,
        "/api/v1/follow-ups?status=open",
        &reader,
        None,
    )
    .await;
    assert!(open["follow_ups"]
        .as_array()
        .unwrap()
        .iter()
        .all(|f| f["status"] == FollowUpStatus::Open.as_str()));
    let (status, _) = send(
        &app,
        Method::PATCH,
        "/api/v1/follow-ups/999999",
        &writer,
        Some(json!({"status": "done"})),
    )
    .await;
    assert_eq!(status, 404);
    let (status, _) = send(
        &app,
        Method::PATCH,
        &item_path,
        &writer,
        Some(json!({"status": "finished"})),
    )
    .await;
    assert_eq!(status, 400);

    // Every change is in the audit log.
    let audited: i64 =
        sqlx::query_scalar("SELECT count(*) FROM audit_log WHERE action LIKE 'follow_up.%'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(
        audited, 3,
        "one create, two changes (refused ones change nothing)"
    );

    // The ops list shows them to a viewer, without JavaScript.
    let viewer = crate::common::access::signed_in(&app, "vera", Role::Viewer).await;
    let html = app.text_as(&viewer, "/ops/follow-ups?status=all").await;
    assert!(
        html.contains("Cap requests per node below allocatable"),
        "{html}"
    );
    assert!(html.contains("Monitor for follow up from Linode"));
    assert!(html.contains("https://github.com/example/infra/issues/42"));
}

#[tokio::test]
async fn overdue_follow_ups_are_announced_once_a_day_until_handled() {
    let sim = vigil_sim::webhooks::WebhookSim::new();
    let hook = sim.serve().await.unwrap();
    let app = spawn_app_with_toml(&format!(
        "[[component]]\nid = \"site\"\nname = \"Website\"\n\n[incidents]\nautomatic = false\n\n\
         [[notify]]\nname = \"ops\"\nkind = \"webhook\"\nurl = \"{hook}/hook/ops\"\nevents = [\"followup.*\"]\n"
    ))
    .await;
    create_user(&app, "alice", Role::Editor).await;
    let (_, writer) = create_token(
        &app,
        &[Scope::IncidentsWrite, Scope::PostmortemsWrite, Scope::Read],
    )
    .await;
    let (_, created) = send(
        &app,
        Method::POST,
        "/api/v1/incidents",
        &writer,
        Some(
            json!({ "name": "Website down", "status": "investigating", "component_ids": ["site"] }),
        ),
    )
    .await;
    let incident = created["id"].as_i64().unwrap();
    let path = format!("/api/v1/incidents/{incident}/postmortem");
    send(&app, Method::POST, &path, &writer, None).await;
    let today = chrono::Utc::now().date_naive();
    let (status, item) = send(&app, Method::POST, &format!("{path}/follow-ups"), &writer,
        Some(json!({ "title": "Watch the allocation rules", "owner": "alice", "due_on": today.to_string() }))).await;
    assert_eq!(status, 201, "{item}");
    let id = item["id"].as_i64().unwrap();

    // The clock is the caller's: the days are chosen here.
    let day = |n: i64| today + chrono::Duration::days(n);
    let remind = |n: i64| vigil_core::store::follow_ups::remind_overdue(&app.pool, day(n));
    assert_eq!(remind(0).await.unwrap(), 0, "not overdue on its due day");
    assert_eq!(remind(1).await.unwrap(), 1, "overdue the day after");
    assert_eq!(remind(1).await.unwrap(), 0, "once a day");
    assert_eq!(remind(2).await.unwrap(), 1, "and again the next day");
    let (status, _) = send(
        &app,
        Method::PATCH,
        &format!("/api/v1/follow-ups/{id}"),
        &writer,
        Some(json!({ "status": "done" })),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(remind(3).await.unwrap(), 0, "handled: no more reminders");
    // The post-mortem's section follows the item: ticked now, though nobody edited the text.
    let pm = vigil_core::store::postmortems::id_for_incident(&app.pool, incident)
        .await
        .unwrap()
        .unwrap();
    let view = vigil_core::store::postmortems::get(&app.pool, pm, false)
        .await
        .unwrap()
        .unwrap();
    let at = view
        .html
        .find("Watch the allocation rules")
        .expect("the item is in the section");
    assert!(
        view.html[at.saturating_sub(80)..at].contains("checked"),
        "{}",
        view.html
    );
    assert!(!view.html.contains("alice"), "owners stay off the document");

    // Both went out through the outbox to the ops channel, in order.
    let got = crate::common::eventually(20, "two reminders delivered", || async {
        let got = sim.received();
        (got.len() == 2).then_some(got)
    })
    .await;
    assert_eq!(got[0].body["kind"], "followup.overdue");
    assert_eq!(got[0].body["payload"]["days_overdue"], 1);
    assert_eq!(got[1].body["payload"]["days_overdue"], 2);
    assert_eq!(got[1].body["payload"]["owner"], "alice");
    assert!(
        got[1].body["title"]
            .as_str()
            .unwrap()
            .contains("Watch the allocation rules"),
        "{}",
        got[1].body
    );
}
