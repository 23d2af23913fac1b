//! The world as data: components and monitors changed live through the API and `vigil world`,
//! as numbered revisions, on every replica, with what a configuration file manages left to it.

use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use vigil_core::model::auth::Scope;

use crate::common::{
    access::create_token, config_from_toml, eventually, fresh_database, send, site_monitor,
    spawn_app_with_toml, spawn_with, Target, TestApp,
};

/// The site and its monitor from the file, the database deciding from then on.
fn database_managed(addr: std::net::SocketAddr) -> String {
    site_monitor(addr, 1, "", "[world]\nmanaged_by = \"database\"\n")
}

async fn writer(app: &TestApp) -> String {
    create_token(app, &[Scope::Read, Scope::ConfigWrite])
        .await
        .1
}

async fn checks_of(pool: &sqlx::PgPool, monitor: i64) -> Vec<DateTime<Utc>> {
    sqlx::query_scalar("SELECT at FROM check_results WHERE monitor_id = $1 ORDER BY at")
        .bind(monitor)
        .fetch_all(pool)
        .await
        .unwrap()
}

async fn monitor_id(pool: &sqlx::PgPool, name: &str) -> i64 {
    sqlx::query_scalar("SELECT id FROM monitors WHERE name = $1")
        .bind(name)
        .fetch_one(pool)
        .await
        .unwrap()
}

/// Waits until `monitor` has `more` checks beyond those it has now: the probes ran (a positive
/// signal that what was or was not checked meanwhile was decided).
async fn more_checks(app: &TestApp, monitor: i64, more: usize) -> Vec<DateTime<Utc>> {
    let now = checks_of(&app.pool, monitor).await.len();
    eventually(30, "more checks of the untouched monitor", || async {
        let all = checks_of(&app.pool, monitor).await;
        (all.len() >= now + more)
            .then_some(all.clone())
            .ok_or(all.len())
    })
    .await
}

fn etag(resp: &reqwest::Response) -> String {
    resp.headers()[reqwest::header::ETAG]
        .to_str()
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn a_monitor_created_on_one_replica_is_probed_shown_on_the_other_re_timed_and_deleted() {
    let target = Target::start().await;
    let text = database_managed(target.addr);
    let (db, url) = fresh_database().await;
    let a = spawn_with(config_from_toml(&text, &url), db.clone()).await;
    let b = spawn_with(config_from_toml(&text, &url), db.clone()).await;
    let token = writer(&a).await;
    let site_home = monitor_id(&a.pool, "site-home").await;
    more_checks(&a, site_home, 2).await;

    // A component and a monitor created through replica a.
    let (status, component) = send(
        &a,
        reqwest::Method::POST,
        "/api/v1/components",
        &token,
        Some(json!({"id": "api", "name": "Public API", "group": "Backend"})),
    )
    .await;
    assert_eq!(status, 201, "{component}");
    assert_eq!(component["revision"], 2, "the file's world was revision 1");
    let created = a
        .client
        .post(a.url("/api/v1/monitors"))
        .bearer_auth(&token)
        .json(&json!({"name": "api-health", "component": "api", "kind": "http",
                      "url": format!("http://{}/", target.addr), "interval_secs": 1, "timeout_ms": 500}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    assert_eq!(etag(&created), "\"3\"");
    let monitor: Value = created.json().await.unwrap();
    let id = monitor["id"].as_i64().unwrap();
    assert_eq!(monitor["url"], format!("http://{}/", target.addr));

    // Probed by whichever replica runs the probes, and the component shows on b's public page.
    eventually(10, "the new monitor checked", || async {
        (!checks_of(&a.pool, id).await.is_empty()).then_some(())
    })
    .await;
    eventually(
        20,
        "the component on the other replica's public JSON",
        || async {
            let body: Value = b
                .get("/api/v2/components.json")
                .await
                .json()
                .await
                .unwrap_or_default();
            let c = body["components"]
                .as_array()
                .and_then(|all| all.iter().find(|c| c["name"] == "Public API"))
                .cloned();
            c.filter(|c| c["status"] == "operational")
                .map(|_| ())
                .ok_or(body)
        },
    )
    .await;

    // A stale If-Match is refused with the monitor as it is now.
    let (status, stale) = {
        let r = a
            .client
            .patch(a.url(&format!("/api/v1/monitors/{id}")))
            .bearer_auth(&token)
            .header("If-Match", "\"2\"")
            .json(&json!({"interval_secs": 3}))
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.json::<Value>().await.unwrap())
    };
    assert_eq!(status, 412, "{stale}");
    assert_eq!(stale["revision"], 3);
    assert_eq!(stale["current"]["interval_secs"], 1);

    // Re-timed on b: only that monitor changes rhythm; site-home keeps its own.
    let before = checks_of(&a.pool, site_home).await.len();
    let patched = b
        .client
        .patch(b.url(&format!("/api/v1/monitors/{id}")))
        .bearer_auth(&token)
        .header("If-Match", "\"3\"")
        .json(&json!({"interval_secs": 3}))
        .send()
        .await
        .unwrap();
    assert_eq!(patched.status(), 200);
    assert_eq!(etag(&patched), "\"4\"");
    let patched_at = Utc::now();
    let home = more_checks(&a, site_home, 8).await;
    let after: Vec<DateTime<Utc>> = checks_of(&a.pool, id)
        .await
        .into_iter()
        .filter(|t| *t > patched_at + chrono::Duration::milliseconds(1500))
        .collect();
    assert!(after.len() >= 2, "checked at the new interval: {after:?}");
    for pair in after.windows(2) {
        let gap = (pair[1] - pair[0]).num_milliseconds();
        assert!(gap >= 2500, "every 3 s now, not every second: {after:?}");
    }
    // The untouched monitor: no check added, none missed, across the change.
    for pair in home[before.saturating_sub(1)..].windows(2) {
        let gap = (pair[1] - pair[0]).num_milliseconds();
        assert!(
            (500..=2500).contains(&gap),
            "site-home stays on its 1 s rhythm across the change (gap {gap} ms): {home:?}"
        );
    }

    // Deleted: no further checks, its history kept.
    let (status, _) = send(
        &a,
        reqwest::Method::DELETE,
        &format!("/api/v1/monitors/{id}"),
        &token,
        None,
    )
    .await;
    assert_eq!(status, 204);
    more_checks(&a, site_home, 3).await;
    let kept = checks_of(&a.pool, id).await.len();
    assert!(kept > 0, "its results stay");
    more_checks(&a, site_home, 4).await;
    assert_eq!(
        checks_of(&a.pool, id).await.len(),
        kept,
        "not checked after its deletion"
    );
    let (status, _) = send(
        &a,
        reqwest::Method::GET,
        &format!("/api/v1/monitors/{id}"),
        &token,
        None,
    )
    .await;
    assert_eq!(status, 404);

    // A component with monitors cannot go; the answer names them.
    let (status, body) = send(
        &b,
        reqwest::Method::DELETE,
        "/api/v1/components/site",
        &token,
        None,
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["error"].as_str().unwrap().contains("`site-home`"),
        "{body}"
    );
}

#[tokio::test]
async fn every_problem_of_a_bad_monitor_is_named_at_once_and_nothing_is_written() {
    let target = Target::start().await;
    let app = spawn_app_with_toml(&database_managed(target.addr)).await;
    let token = writer(&app).await;
    let (status, body) = send(
        &app,
        reqwest::Method::POST,
        "/api/v1/world/apply",
        &token,
        Some(json!({
            "component": [{"id": "Bad Id", "name": ""}],
            "monitor": [
                {"name": "a", "component": "nowhere", "kind": "http", "url": "ftp://x"},
                {"name": "b", "component": "site", "kind": "tcp", "host": "db", "interval_secs": 1},
            ]
        })),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    let keys: Vec<&str> = body["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["key"].as_str().unwrap())
        .collect();
    for expected in [
        "component `Bad Id`: id",
        "component `Bad Id`: name",
        "monitor `a`: component",
        "monitor `b`: port",
    ] {
        assert!(keys.contains(&expected), "{expected} in {keys:?}");
    }
    // The http monitor's URL is a problem too, found beside its component's.
    let texts = body["error"].as_str().unwrap();
    assert!(texts.contains("nowhere"), "{texts}");
    // A field that does not exist is named with its path.
    let (status, body) = send(
        &app,
        reqwest::Method::POST,
        "/api/v1/monitors",
        &token,
        Some(json!({"name": "c", "component": "site", "kind": "http", "url": "http://x/", "intervl_secs": 5})),
    )
    .await;
    assert_eq!(status, 400);
    assert!(
        body["field"].as_str().unwrap().starts_with("monitor `c`"),
        "{body}"
    );
    assert!(
        body["error"].as_str().unwrap().contains("intervl_secs"),
        "{body}"
    );
    let revisions: i64 = sqlx::query_scalar("SELECT count(*) FROM world_revisions")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(revisions, 1, "only the file's first revision");
    // Editors read; only config:write changes.
    let (_, reader) = create_token(&app, &[Scope::Read, Scope::IncidentsWrite]).await;
    let (status, _) = send(
        &app,
        reqwest::Method::POST,
        "/api/v1/components",
        &reader,
        Some(json!({"id": "x", "name": "X"})),
    )
    .await;
    assert_eq!(status, 403);
}

#[tokio::test]
async fn plan_and_apply_are_idempotent_guarded_by_revision_and_restorable() {
    let target = Target::start().await;
    let app = spawn_app_with_toml(&database_managed(target.addr)).await;
    let token = writer(&app).await;
    let world = json!({
        "component": [{"id": "db", "name": "Database"}],
        "monitor": [{"name": "db-port", "component": "db", "kind": "tcp",
                     "host": "127.0.0.1", "port": target.addr.port(), "interval_secs": 5}],
        "message": "add the database"
    });
    let (status, plan) = send(
        &app,
        reqwest::Method::POST,
        "/api/v1/world/plan",
        &token,
        Some(world.clone()),
    )
    .await;
    assert_eq!(status, 200, "{plan}");
    assert_eq!(plan["revised"], false);
    assert_eq!(plan["revision"], 1);
    assert!(
        plan["text"]
            .as_str()
            .unwrap()
            .contains("+ monitor \"db-port\""),
        "{plan}"
    );
    let (_, applied) = send(
        &app,
        reqwest::Method::POST,
        "/api/v1/world/apply",
        &token,
        Some(world.clone()),
    )
    .await;
    assert_eq!(applied["revised"], true);
    assert_eq!(applied["revision"], 2);
    let after_two = app.get_json("/api/v1/world", &token).await;
    // Again: nothing to do, no revision.
    let (_, again) = send(
        &app,
        reqwest::Method::POST,
        "/api/v1/world/apply",
        &token,
        Some(world.clone()),
    )
    .await;
    assert_eq!(again["revised"], false, "{again}");
    assert_eq!(again["revision"], 2);

    // Planned against revision 2, applied after someone else moved the world: refused.
    send(
        &app,
        reqwest::Method::PATCH,
        "/api/v1/components/db",
        &token,
        Some(json!({"description": "Primary PostgreSQL"})),
    )
    .await;
    let mut guarded = world.clone();
    guarded["expect_revision"] = json!(2);
    guarded["monitor"][0]["interval_secs"] = json!(10);
    let (status, refused) = send(
        &app,
        reqwest::Method::POST,
        "/api/v1/world/apply",
        &token,
        Some(guarded),
    )
    .await;
    assert_eq!(status, 409, "{refused}");
    assert!(
        refused["error"]
            .as_str()
            .unwrap()
            .contains("revision 3, not 2"),
        "{refused}"
    );

    // History lists each revision with who and what; restoring 1 is a new revision equal to it.
    let history = app.get_json("/api/v1/world/revisions", &token).await;
    let numbers: Vec<i64> = history["revisions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["number"].as_i64().unwrap())
        .collect();
    assert_eq!(numbers, [3, 2, 1]);
    assert_eq!(history["revisions"][1]["message"], "add the database");
    assert!(history["revisions"][1]["actor"]
        .as_str()
        .unwrap()
        .starts_with("token "));
    let change = &history["revisions"][0]["changes"]["changes"][0];
    assert_eq!(change["id"], "db");
    assert_eq!(change["fields"][0]["field"], "description");
    assert_eq!(change["fields"][0]["after"], "Primary PostgreSQL");
    let (status, restored) = send(
        &app,
        reqwest::Method::POST,
        "/api/v1/world/revisions/1/restore",
        &token,
        None,
    )
    .await;
    assert_eq!(status, 200, "{restored}");
    assert_eq!(restored["revision"], 4);
    let export = app.get_json("/api/v1/world", &token).await;
    assert_eq!(export["revision"], 4);
    let ids: Vec<&str> = export["component"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["site"]);
    assert!(export["monitor"]
        .as_array()
        .unwrap()
        .iter()
        .all(|m| m["name"] != "db-port"));

    // Revision 2's world is rebuilt from the versions of what each revision changed (not a
    // copy of the whole world per revision): restored, it is what the export said then.
    let (status, restored) = send(
        &app,
        reqwest::Method::POST,
        "/api/v1/world/revisions/2/restore",
        &token,
        None,
    )
    .await;
    assert_eq!(status, 200, "{restored}");
    let mut export = app.get_json("/api/v1/world", &token).await;
    assert_eq!(export["revision"], 5);
    export["revision"] = after_two["revision"].clone();
    assert_eq!(export, after_two);
    let (status, missing) = send(
        &app,
        reqwest::Method::POST,
        "/api/v1/world/revisions/99/restore",
        &token,
        None,
    )
    .await;
    assert_eq!(status, 404, "{missing}");
}

#[tokio::test]
async fn what_a_file_manages_is_refused_in_the_api_naming_the_file_and_follows_the_file() {
    let target = Target::start().await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("vigil.toml");
    std::fs::write(&file, site_monitor(target.addr, 1, "", "")).unwrap();
    let (db, url) = fresh_database().await;
    let mut config = vigil_server::config::Config::load_with_env(Some(&file), &[]).unwrap();
    config.server.addr = "127.0.0.1:0".parse().unwrap();
    config.database.url = Some(url);
    config.database.max_connections = 5;
    let app = spawn_with(config, db).await;
    let token = writer(&app).await;

    let (status, body) = send(
        &app,
        reqwest::Method::PATCH,
        "/api/v1/components/site",
        &token,
        Some(json!({"name": "Renamed"})),
    )
    .await;
    assert_eq!(status, 409, "{body}");
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains(&format!("managed by {}", file.display())),
        "{body}"
    );
    // What the API creates beside the file is the API's.
    let (status, _) = send(
        &app,
        reqwest::Method::POST,
        "/api/v1/components",
        &token,
        Some(json!({"id": "docs", "name": "Docs"})),
    )
    .await;
    assert_eq!(status, 201);

    // The file changes: re-applied without a restart, what the API made left alone.
    std::fs::write(
        &file,
        site_monitor(target.addr, 2, "", "").replace("name = \"Website\"", "name = \"Web site\""),
    )
    .unwrap();
    let summary = eventually(30, "the file's change applied", || async {
        let export = app.get_json("/api/v1/world", &token).await;
        (export["component"][0]["name"] == "Web site")
            .then(|| export.clone())
            .ok_or(export)
    })
    .await;
    assert_eq!(summary["monitor"][0]["interval_secs"], 2);
    assert!(summary["component"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["id"] == "docs"));
    let actor: String =
        sqlx::query_scalar("SELECT actor FROM world_revisions ORDER BY number DESC LIMIT 1")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(actor, format!("file {}", file.display()));
}

#[tokio::test]
async fn secrets_appear_in_no_export_revision_answer_or_event() {
    let target = Target::start().await;
    let app = spawn_app_with_toml(&database_managed(target.addr)).await;
    let token = writer(&app).await;
    let secret = "hb-0123456789abcdefXYZ";
    let bearer = "Bearer tok-very-private-42";
    let (status, created) = send(
        &app,
        reqwest::Method::POST,
        "/api/v1/world/apply",
        &token,
        Some(json!({"monitor": [
            {"name": "nightly", "component": "site", "kind": "heartbeat", "secret": secret, "interval_secs": 60},
            {"name": "api-auth", "component": "site", "kind": "http", "url": format!("http://{}/", target.addr),
             "headers": {"Authorization": bearer, "Accept": "application/json"}, "interval_secs": 30}
        ]})),
    )
    .await;
    assert_eq!(status, 200, "{created}");
    // The heartbeat works with its secret once the replica applied the revision (it is
    // stored, where the probes need it)...
    eventually(10, "the heartbeat accepted", || async {
        let ping = app
            .client
            .post(app.url(&format!("/heartbeat/{secret}")))
            .send()
            .await
            .unwrap();
        ping.status()
            .is_success()
            .then_some(())
            .ok_or(ping.status().as_u16())
    })
    .await;
    // ...and is shown nowhere.
    let export = app.get_json("/api/v1/world", &token).await.to_string();
    let history = app
        .get_json("/api/v1/world/revisions", &token)
        .await
        .to_string();
    let id = monitor_id(&app.pool, "api-auth").await;
    let one = app
        .get_json(&format!("/api/v1/monitors/{id}"), &token)
        .await
        .to_string();
    // Not even the monitors' own rows hold them in clear: sealed at rest.
    let stored: Vec<String> = sqlx::query_scalar(
        "SELECT changes::text || coalesce(world::text, '') FROM world_revisions \
         UNION ALL SELECT doc::text FROM world_versions UNION ALL SELECT payload::text FROM events \
         UNION ALL SELECT spec::text || coalesce(doc::text, '') FROM monitors",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    for (what, text) in [
        ("export", &export),
        ("history", &history),
        ("monitor", &one),
    ]
    .into_iter()
    .chain(stored.iter().map(|s| ("stored", s)))
    {
        assert!(
            !text.contains(secret) && !text.contains("very-private"),
            "{what}: {text}"
        );
    }
    assert!(
        one.contains("application/json"),
        "what is not a credential is shown: {one}"
    );
    // An export applied back keeps the secrets it hides: nothing changes.
    let mut back: Value = serde_json::from_str(&export).unwrap();
    back.as_object_mut().unwrap().remove("revision");
    let (_, again) = send(
        &app,
        reqwest::Method::POST,
        "/api/v1/world/apply",
        &token,
        Some(back),
    )
    .await;
    assert_eq!(again["revised"], false, "{again}");
    let ping = app
        .client
        .post(app.url(&format!("/heartbeat/{secret}")))
        .send()
        .await
        .unwrap();
    assert!(ping.status().is_success());
}

#[tokio::test]
async fn sealed_credentials_are_sent_opened_by_the_probes() {
    use axum::{http::HeaderMap, http::StatusCode, Router};
    // A service that answers only the right credential.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let guarded = Router::new().fallback(|headers: HeaderMap| async move {
        if headers.get("authorization").and_then(|v| v.to_str().ok())
            == Some("Bearer opened-at-the-probe")
        {
            StatusCode::OK
        } else {
            StatusCode::UNAUTHORIZED
        }
    });
    tokio::spawn(async move { axum::serve(listener, guarded).await });
    let target = Target::start().await;
    let app = spawn_app_with_toml(&database_managed(target.addr)).await;
    let token = writer(&app).await;
    let (status, body) = send(
        &app,
        reqwest::Method::POST,
        "/api/v1/monitors",
        &token,
        Some(
            json!({"name": "guarded", "component": "site", "kind": "http",
                    "url": format!("http://{addr}/"), "interval_secs": 1,
                    "regions": ["local", "eu-west"],
                    "headers": {"Authorization": "Bearer opened-at-the-probe"}}),
        ),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let stored: String =
        sqlx::query_scalar("SELECT spec::text || doc::text FROM monitors WHERE name = 'guarded'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert!(!stored.contains("opened-at-the-probe"), "{stored}");
    assert!(stored.contains("sealed:v1:"), "{stored}");
    // The agents of its region are given it opened, over their authenticated connection.
    let (_, agent) = crate::common::access::create_agent_token(&app, "eu-west").await;
    let assigned = app
        .get_json("/api/v1/agent/monitors?region=eu-west", &agent)
        .await;
    let guarded = assigned["monitors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["spec"]["name"] == "guarded")
        .unwrap_or_else(|| panic!("{assigned} {stored}"));
    assert_eq!(
        guarded["spec"]["check"]["headers"][0],
        json!(["Authorization", "Bearer opened-at-the-probe"]),
        "{guarded}"
    );
    eventually(20, "the guarded service seen up", || async {
        let state: Option<String> = sqlx::query_scalar(
            "SELECT s.status FROM monitor_state s JOIN monitors m ON m.id = s.monitor_id \
             WHERE m.name = 'guarded'",
        )
        .fetch_optional(&app.pool)
        .await
        .unwrap();
        (state.as_deref() == Some("up")).then_some(()).ok_or(state)
    })
    .await;
}

/// `vigil …` against the test's database, as an operator or a CI job runs it.
fn vigil(url: &str, args: &[&str]) -> (i32, String, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_vigil"))
        .args(args)
        .env("DATABASE_URL", url)
        .env_remove("VIGIL_CONFIG")
        .env("VIGIL_LOG", "warn")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test]
async fn the_cli_plans_applies_guards_exports_and_imports() {
    let (_db, url) = fresh_database().await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("world.toml");
    let path = file.to_str().unwrap();
    std::fs::write(
        &file,
        "[[component]]\nid = \"site\"\nname = \"Website\"\n\n[[monitor]]\nname = \"home\"\ncomponent = \"site\"\nkind = \"heartbeat\"\nsecret = \"cli-heartbeat-secret-0001\"\ninterval_secs = 60\n",
    )
    .unwrap();

    let (code, out, err) = vigil(&url, &["world", "plan", path]);
    assert_eq!(code, 2, "changes planned: {out}{err}");
    assert!(
        out.contains("+ component \"site\"") && out.contains("+ monitor \"home\""),
        "{out}"
    );
    let (code, out, _) = vigil(&url, &["world", "apply", path, "-m", "first"]);
    assert_eq!(code, 0);
    assert!(out.contains("Applied as revision 1"), "{out}");
    let (code, out, _) = vigil(&url, &["world", "plan", path]);
    assert_eq!(code, 0, "nothing left to do: {out}");
    assert!(out.contains("No changes"), "{out}");
    let (code, out, _) = vigil(&url, &["world", "apply", path]);
    assert_eq!((code, out.contains("Nothing to apply")), (0, true), "{out}");
    let (code, _, err) = vigil(&url, &["world", "apply", path, "--expect-revision", "0"]);
    assert_eq!(code, 1);
    assert!(err.contains("at revision 1, not 0"), "{err}");

    // Every problem of a bad file at once, nothing written.
    let bad = dir.path().join("bad.toml");
    std::fs::write(
        &bad,
        "[[monitor]]\nname = \"x\"\ncomponent = \"nowhere\"\nkind = \"tcp\"\nhost = \"db\"\n",
    )
    .unwrap();
    let (code, _, err) = vigil(&url, &["world", "plan", bad.to_str().unwrap()]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("2 problems"), "{err}");
    assert!(
        err.contains("monitor `x`: component") && err.contains("monitor `x`: port"),
        "{err}"
    );

    // The export hides the secret, and reads back as no change.
    let (_, exported, _) = vigil(&url, &["world", "export"]);
    assert!(!exported.contains("cli-heartbeat-secret"), "{exported}");
    assert!(exported.contains("secret = \"(secret)\""), "{exported}");
    let back = dir.path().join("back.toml");
    std::fs::write(&back, &exported).unwrap();
    let (code, out, _) = vigil(&url, &["world", "plan", back.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}");

    // Importers: the plan and what is not imported, then --apply.
    let fixtures = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/import");
    let gatus = format!("{fixtures}/gatus-config.yaml");
    let (code, out, _) = vigil(&url, &["import", "gatus", &gatus]);
    assert_eq!(code, 2, "{out}");
    assert!(
        out.contains("icmp-ping") && out.contains("Nothing was written"),
        "{out}"
    );
    let (code, out, _) = vigil(&url, &["import", "gatus", &gatus, "--apply"]);
    assert_eq!(code, 0, "{out}");
    let kuma = format!("{fixtures}/uptime-kuma-1.23-backup.json");
    let (code, out, _) = vigil(&url, &["import", "uptime-kuma", &kuma, "--apply"]);
    assert_eq!(code, 0, "{out}");
    let line = out
        .lines()
        .find(|l| l.contains("Nightly backup:"))
        .unwrap_or_else(|| panic!("the new heartbeat URL is printed: {out}"));
    let secret = line.rsplit('/').next().unwrap().trim().to_string();
    let pool = sqlx::PgPool::connect(&url).await.unwrap();
    let stored: String = sqlx::query_scalar(
        "SELECT spec->'check'->>'secret' FROM monitors WHERE name = 'Nightly backup'",
    )
    .fetch_one(&pool)
    .await
    .unwrap_or_default();
    let live: i64 = sqlx::query_scalar("SELECT count(*) FROM monitors WHERE NOT retired")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(
        live,
        1 + 6 + 6,
        "home, six from Gatus, six from Uptime Kuma"
    );
    // Stored sealed; opened with the key the CLI used (this directory's), it is the printed one.
    assert!(!stored.contains(&secret), "{stored}");
    let sealer = vigil_server::world::seal::Sealer::from_env_or_file(std::path::Path::new(
        vigil_server::world::seal::DEFAULT_KEY_FILE,
    ))
    .unwrap();
    assert_eq!(
        sealer.open_str(&stored).unwrap(),
        secret,
        "the printed URL is the stored one"
    );
    let actors: Vec<String> =
        sqlx::query_scalar("SELECT actor FROM world_revisions ORDER BY number")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(actors.len(), 3);
    assert!(actors[1].starts_with("import gatus "), "{actors:?}");
}

/// [`vigil`] while this test's own servers go on answering (the simulator runs in-process).
async fn vigil_beside(url: &str, args: &[&str]) -> (i32, String, String) {
    let url = url.to_string();
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        vigil(&url, &args)
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn a_statuspage_page_brings_its_components_and_public_history_once() {
    let provider = vigil_sim::provider::ProviderSim::new();
    provider.open_incident(
        "Ongoing trouble",
        "NodeBalancers",
        "partial_outage",
        "Looking.",
    );
    let page = provider.serve().await.unwrap();
    let (db, url) = fresh_database().await;

    let (code, out, err) = vigil_beside(&url, &["import", "statuspage", &page]).await;
    assert_eq!(code, 2, "{out}{err}");
    assert!(out.contains("+ component \"nodebalancers\""), "{out}");
    assert!(out.contains("2 past incidents with 6 updates"), "{out}");
    assert!(
        out.contains("incident `Ongoing trouble`: is still investigating"),
        "{out}"
    );
    let (code, out, err) = vigil_beside(&url, &["import", "statuspage", &page, "--apply"]).await;
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("Imported 2 incidents (0 were imported before)"),
        "{out}"
    );
    let (code, out, _) = vigil_beside(&url, &["import", "statuspage", &page, "--apply"]).await;
    assert_eq!(code, 0);
    assert!(
        out.contains("Imported 0 incidents (2 were imported before)"),
        "{out}"
    );

    // Served: the components in their group, the history with its times and every update.
    let app = spawn_with(crate::common::test_config(&url), db).await;
    let components: Value = app
        .get("/api/v2/components.json")
        .await
        .json()
        .await
        .unwrap();
    let names: Vec<&str> = components["components"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    for expected in ["NodeBalancers", "Linode Kubernetes Engine", "Block Storage"] {
        assert!(names.contains(&expected), "{names:?}");
    }
    let incidents: Value = app
        .get("/api/v2/incidents.json")
        .await
        .json()
        .await
        .unwrap();
    let newark = incidents["incidents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["name"] == "Connectivity issue in Newark")
        .expect("the past incident is public history")
        .clone();
    assert_eq!(newark["status"], "resolved");
    assert_eq!(newark["impact"], "major");
    assert!(
        newark["started_at"]
            .as_str()
            .unwrap()
            .starts_with("2026-11-20T08:00:00"),
        "{newark}"
    );
    assert!(
        newark["resolved_at"]
            .as_str()
            .unwrap()
            .starts_with("2026-11-20T09:40:00"),
        "{newark}"
    );
    let bodies: Vec<&str> = newark["incident_updates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["body"].as_str().unwrap())
        .collect();
    assert_eq!(bodies.len(), 3, "{bodies:?}");
    assert!(
        bodies.contains(&"A fix is in place; we are monitoring."),
        "{bodies:?}"
    );
    // History is not news: no channel or subscriber was told.
    let queued: i64 = sqlx::query_scalar("SELECT count(*) FROM notifications")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(queued, 0);
}

#[tokio::test]
async fn the_settings_pages_render_whole_forms_for_admins_and_none_for_editors() {
    use crate::common::access::signed_in;
    use vigil_core::model::auth::Role;
    let target = Target::start().await;
    let app = spawn_app_with_toml(&database_managed(target.addr)).await;
    let admin = signed_in(&app, "ada", Role::Admin).await;
    let editor = signed_in(&app, "eve", Role::Editor).await;
    let id = monitor_id(&app.pool, "site-home").await;
    // A page that runs a check waits for it: generous under a loaded machine (the full suite on
    // two cores), bounded by the check's own timeout below.
    let page = |c: reqwest::Client, path: String| {
        let url = app.url(&path);
        async move {
            let r = c
                .get(url)
                .timeout(std::time::Duration::from_secs(90))
                .send()
                .await
                .unwrap();
            (r.status().as_u16(), r.text().await.unwrap())
        }
    };
    for path in [
        "/ops/settings".to_string(),
        "/ops/settings/monitors/new".into(),
        format!("/ops/settings/monitors/{id}"),
        "/ops/settings/history".into(),
    ] {
        let (status, html) = page(admin.clone(), path.clone()).await;
        assert_eq!(status, 200, "{path}");
        assert!(
            !html.contains("data-testid=\"read-only\""),
            "{path}: admins edit"
        );
        let (status, html) = page(editor.clone(), path.clone()).await;
        assert_eq!(status, 200, "{path}");
        if path != "/ops/settings/history" {
            assert!(
                html.contains("data-testid=\"read-only\""),
                "{path}: editors read"
            );
            assert!(!html.contains("data-testid=\"save-monitor\""), "{path}");
        }
    }
    // "Check now" from the query: the check runs on the server, the values stay in the form.
    let (_, html) = page(
        admin.clone(),
        format!(
            "/ops/settings/monitors/new?check=1&form%5Bname%5D=probe-x&form%5Bkind%5D=http&form%5Bcomponent%5D=site&form%5Burl%5D=http%3A%2F%2F{}%2F&form%5Binterval_secs%5D=5&form%5Btimeout_ms%5D=3000",
            target.addr
        ),
    )
    .await;
    assert!(html.contains("Checked now: up"), "{html}");
    assert!(html.contains("value=\"probe-x\""), "the typed name stays");
    target.set_healthy(false);
    let (_, html) = page(
        admin,
        format!(
            "/ops/settings/monitors/new?check=1&form%5Bname%5D=probe-x&form%5Bkind%5D=http&form%5Bcomponent%5D=site&form%5Burl%5D=http%3A%2F%2F{}%2F&form%5Btimeout_ms%5D=3000",
            target.addr
        ),
    )
    .await;
    assert!(
        html.contains("Checked now: down"),
        "the outcome is the check's: {html}"
    );
}

#[tokio::test]
async fn monitors_added_in_one_revision_are_checked_at_once_then_each_in_its_own_place() {
    let target = Target::start().await;
    let app = spawn_app_with_toml(&database_managed(target.addr)).await;
    let token = writer(&app).await;
    // Forty monitors at once, as an import brings them: each is checked at once...
    let monitors: Vec<Value> = (0..40)
        .map(|i| json!({"name": format!("bulk-{i}"), "component": "site", "kind": "http",
                        "url": format!("http://{}/", target.addr), "interval_secs": 2, "timeout_ms": 1000}))
        .collect();
    let (status, applied) = send(
        &app,
        reqwest::Method::POST,
        "/api/v1/world/apply",
        &token,
        Some(json!({ "monitor": monitors })),
    )
    .await;
    assert_eq!(status, 200, "{applied}");
    // ...then runs at its own place in the 2 s interval: the third checks of the forty spread
    // over the interval instead of coming together every 2 s for ever after.
    let third: Vec<DateTime<Utc>> = eventually(30, "three checks of every bulk monitor", || async {
        let third: Vec<DateTime<Utc>> = sqlx::query_scalar(
            "SELECT at FROM (SELECT c.at, row_number() OVER (PARTITION BY c.monitor_id ORDER BY c.at) AS n \
             FROM check_results c JOIN monitors m ON m.id = c.monitor_id WHERE m.name LIKE 'bulk-%') r \
             WHERE n = 3 ORDER BY at",
        )
        .fetch_all(&app.pool)
        .await
        .unwrap();
        (third.len() == 40).then_some(third.clone()).ok_or(third.len())
    })
    .await;
    let spread = (third[39] - third[0]).num_milliseconds();
    assert!(
        spread >= 1000,
        "third checks within {spread} ms of each other: {third:?}"
    );
    let busiest = third
        .iter()
        .map(|t| {
            third
                .iter()
                .filter(|u| **u >= *t && **u < *t + chrono::Duration::milliseconds(200))
                .count()
        })
        .max()
        .unwrap_or_default();
    assert!(busiest <= 20, "{busiest} of 40 in one 200 ms: {third:?}");
}
