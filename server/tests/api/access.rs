//! The access model, from outside: who is refused where, sessions, throttling, cross-site
//! protection and tokens.

use crate::common;

use crate::common::{
    access::{browser, create_agent_token, create_token, create_user, login, signed_in, PASSWORD},
    spawn_app,
};
use vigil_core::{
    model::auth::{Role, Scope},
    store::{tokens, users},
};

fn location(resp: &reqwest::Response) -> String {
    resp.headers()["location"].to_str().unwrap().to_string()
}

#[tokio::test]
async fn ops_sends_anonymous_visitors_to_login() {
    let app = spawn_app().await;
    for path in ["/ops", "/ops/audit", "/ops/anything"] {
        let resp = app.get(path).await;
        assert_eq!(resp.status(), 303, "{path}");
        assert_eq!(location(&resp), format!("/login?next={path}"), "{path}");
    }
    // The public side stays public.
    assert_eq!(app.get("/").await.status(), 200);
    assert_eq!(app.get("/login").await.status(), 200);
}

#[tokio::test]
async fn roles_decide_what_a_signed_in_person_sees() {
    let app = spawn_app().await;
    let viewer = signed_in(&app, "vera", Role::Viewer).await;
    let resp = viewer.get(app.url("/ops")).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert!(resp.text().await.unwrap().contains("vera (viewer)"));
    let resp = viewer.get(app.url("/ops/audit")).send().await.unwrap();
    assert_eq!(resp.status(), 403, "the audit log is for admins");

    let admin = signed_in(&app, "ada", Role::Admin).await;
    let resp = admin.get(app.url("/ops/audit")).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let html = resp.text().await.unwrap();
    assert!(html.contains("data-testid=\"audit-table\""), "{html}");
    assert!(html.contains("user:vera"), "sign-ins are audited: {html}");
}

#[tokio::test]
async fn wrong_password_and_unknown_user_get_the_same_answer() {
    let app = spawn_app().await;
    create_user(&app, "joe", Role::Editor).await;
    let client = browser(&app);
    let wrong = login(&app, &client, "joe", "not the password").await;
    let unknown = login(&app, &client, "nobody", "not the password").await;
    assert_eq!(wrong, "/login?error=invalid&next=/ops");
    assert_eq!(wrong, unknown);
    // And a disabled account answers the same, even with the right password.
    users::set_disabled(&app.pool, "joe", true).await.unwrap();
    assert_eq!(login(&app, &client, "joe", PASSWORD).await, wrong);
}

#[tokio::test]
async fn repeated_failures_slow_down_further_attempts() {
    let app = spawn_app().await;
    create_user(&app, "joe", Role::Viewer).await;
    let client = browser(&app);
    for _ in 0..vigil_core::model::throttle::FREE_FAILURES {
        assert!(login(&app, &client, "joe", "guess")
            .await
            .contains("error=invalid"));
    }
    // The fifth failure starts the delay; within it even the right password is not checked.
    assert!(login(&app, &client, "joe", "guess")
        .await
        .contains("error=invalid"));
    let throttled = login(&app, &client, "joe", PASSWORD).await;
    assert!(throttled.contains("error=throttled"), "{throttled}");
    assert!(throttled.contains("&wait="), "{throttled}");
    // The page turns that into words.
    let page = client
        .get(app.url(&throttled))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("Too many failed sign-in attempts. Try again in"),
        "{page}"
    );
    // Another account from the same address is held back too (per-address counting).
    create_user(&app, "ann", Role::Viewer).await;
    assert!(login(&app, &client, "ann", PASSWORD)
        .await
        .contains("error=throttled"));
}

#[tokio::test]
async fn the_session_cookie_is_http_only_same_site_and_renewed_at_login() {
    let app = spawn_app().await;
    create_user(&app, "joe", Role::Viewer).await;
    let client = browser(&app);
    let mut ids = Vec::new();
    for _ in 0..2 {
        let resp = client
            .post(app.url("/login"))
            .form(&[("username", "joe"), ("password", PASSWORD)])
            .send()
            .await
            .unwrap();
        let cookie = resp
            .headers()
            .get_all("set-cookie")
            .iter()
            .map(|v| v.to_str().unwrap().to_string())
            .find(|c| c.starts_with("vigil_session="))
            .expect("a session cookie");
        assert!(cookie.contains("HttpOnly"), "{cookie}");
        assert!(cookie.contains("SameSite=Lax"), "{cookie}");
        assert!(cookie.contains("Path=/"), "{cookie}");
        assert!(!cookie.contains("Secure"), "plain http in tests: {cookie}");
        ids.push(cookie.split(';').next().unwrap().to_string());
    }
    assert_ne!(ids[0], ids[1], "a new session id at every sign-in");
}

#[tokio::test]
async fn logout_ends_the_session_and_disabling_ends_it_too() {
    let app = spawn_app().await;
    let client = signed_in(&app, "joe", Role::Viewer).await;
    assert_eq!(
        client.get(app.url("/ops")).send().await.unwrap().status(),
        200
    );
    let resp = client.post(app.url("/logout")).send().await.unwrap();
    assert_eq!(resp.status(), 303);
    assert_eq!(
        client.get(app.url("/ops")).send().await.unwrap().status(),
        303
    );

    let client = signed_in(&app, "kim", Role::Viewer).await;
    assert_eq!(
        client.get(app.url("/ops")).send().await.unwrap().status(),
        200
    );
    users::set_disabled(&app.pool, "kim", true).await.unwrap();
    assert_eq!(
        client.get(app.url("/ops")).send().await.unwrap().status(),
        303
    );
}

#[tokio::test]
async fn cross_site_posts_are_refused() {
    let app = spawn_app().await;
    create_user(&app, "joe", Role::Viewer).await;
    let form = [("username", "joe"), ("password", PASSWORD)];
    let plain = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let cases: [(&str, Option<(&str, &str)>); 4] = [
        ("no origin", None),
        ("other origin", Some(("origin", "http://evil.example"))),
        ("cross-site fetch", Some(("sec-fetch-site", "cross-site"))),
        (
            "other referer",
            Some(("referer", "http://evil.example/page")),
        ),
    ];
    for (what, header) in cases {
        let mut req = plain.post(app.url("/login")).form(&form);
        if let Some((k, v)) = header {
            req = req.header(k, v);
        }
        let resp = req.send().await.unwrap();
        assert_eq!(resp.status(), 403, "{what}");
        assert!(resp
            .text()
            .await
            .unwrap()
            .contains("cross-site request refused"));
    }
    // Same-site requests from the page itself pass.
    let resp = plain
        .post(app.url("/login"))
        .header("sec-fetch-site", "same-origin")
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 303);
    assert_eq!(location(&resp), "/ops");
    // Logging out is state-changing too.
    assert_eq!(
        plain
            .post(app.url("/logout"))
            .send()
            .await
            .unwrap()
            .status(),
        403
    );
    // And GET never changes state: there is no GET /logout.
    assert_ne!(
        plain.get(app.url("/logout")).send().await.unwrap().status(),
        303
    );
}

#[tokio::test]
async fn api_tokens_identify_machines_and_can_be_revoked() {
    let app = spawn_app().await;
    let resp = app.get("/api/v1/me").await;
    assert_eq!(resp.status(), 401);
    assert!(resp.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .starts_with("Bearer"));

    let (id, secret) = create_token(&app, &[Scope::Read, Scope::Agent]).await;
    let resp = app
        .client
        .get(app.url("/api/v1/me"))
        .bearer_auth(&secret)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let me: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(me["kind"], "token");
    assert_eq!(me["scopes"], serde_json::json!(["read", "agent"]));

    for bad in [format!("{secret}x"), "vgl_".to_string()] {
        let resp = app
            .client
            .get(app.url("/api/v1/me"))
            .bearer_auth(bad)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 401);
    }
    let resp = app
        .client
        .get(app.url("/api/v1/me"))
        .header("authorization", "Basic Zm9vOmJhcg==")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401, "only bearer tokens are accepted");

    tokens::revoke(&app.pool, id).await.unwrap().unwrap();
    let resp = app
        .client
        .get(app.url("/api/v1/me"))
        .bearer_auth(&secret)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401, "revoked");

    // A signed-in person is identified the same way.
    let client = signed_in(&app, "joe", Role::Editor).await;
    let me: serde_json::Value = client
        .get(app.url("/api/v1/me"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["kind"], "user");
    assert_eq!(me["role"], "editor");
    assert_eq!(
        me["scopes"],
        serde_json::json!(["read", "incidents:write", "postmortems:write"])
    );
}

/// The scope each server function needs; `None` marks the public ones. A server function missing
/// from this table fails the test, so none is ever added without a decision about who may call it.
type FnAccess = (
    &'static str,
    Option<Scope>,
    &'static [(&'static str, &'static str)],
);
const SERVER_FN_ACCESS: &[FnAccess] = &[
    ("get_live_status", Some(Scope::Read), &[]),
    // The world: read by anyone signed in, changed with config:write (admins).
    ("get_settings", Some(Scope::Read), &[]),
    ("get_world_history", Some(Scope::Read), &[]),
    (
        "save_component",
        Some(Scope::ConfigWrite),
        &[("id", "docs"), ("name", "Docs")],
    ),
    (
        "delete_component",
        Some(Scope::ConfigWrite),
        &[("id", "nope")],
    ),
    (
        "save_page",
        Some(Scope::ConfigWrite),
        &[("title", "Defaced")],
    ),
    (
        "save_setting",
        Some(Scope::ConfigWrite),
        &[
            ("kind", "channel"),
            (
                "text",
                "name = \"x\"\nkind = \"webhook\"\nurl = \"http://127.0.0.1:9/\"",
            ),
        ],
    ),
    (
        "delete_setting",
        Some(Scope::ConfigWrite),
        &[("kind", "channel"), ("id", "nope")],
    ),
    (
        "move_component",
        Some(Scope::ConfigWrite),
        &[("id", "nope"), ("direction", "up")],
    ),
    (
        "save_monitor",
        Some(Scope::ConfigWrite),
        &[
            ("form[name]", "m"),
            ("form[kind]", "tcp"),
            ("form[component]", "nope"),
        ],
    ),
    (
        "delete_monitor",
        Some(Scope::ConfigWrite),
        &[("name", "nope")],
    ),
    (
        "check_monitor",
        Some(Scope::ConfigWrite),
        &[
            ("form[name]", "m"),
            ("form[kind]", "tcp"),
            ("form[component]", "nope"),
        ],
    ),
    (
        "restore_world",
        Some(Scope::ConfigWrite),
        &[("revision", "999")],
    ),
    ("get_status_summary", None, &[]),
    ("whoami", Some(Scope::Read), &[]),
    ("audit_entries", Some(Scope::Admin), &[]),
    ("get_load_balancers", Some(Scope::Read), &[("hours", "6")]),
    (
        "set_monitor_paused",
        Some(Scope::Admin),
        &[("name", "no-such-monitor"), ("paused", "true")],
    ),
    ("get_correlation", Some(Scope::Read), &[("range", "1h")]),
    ("get_lb_connections", Some(Scope::Read), &[("hours", "6")]),
    ("get_nodes", Some(Scope::Read), &[("range", "1h")]),
    ("get_history", None, &[]),
    ("get_uptime", None, &[]),
    ("get_subscribe_offer", None, &[]),
    ("get_reliability", Some(Scope::Read), &[]),
    ("get_slos", Some(Scope::Read), &[]),
    ("get_slo_reports", Some(Scope::Read), &[]),
    ("get_public_slas", None, &[]),
    ("get_subscribers", Some(Scope::Admin), &[("page", "1")]),
    ("remove_subscriber", Some(Scope::Admin), &[("id", "999999")]),
    ("get_recent_incidents", None, &[("days", "7")]),
    // Longer names first: a path matches the first entry it starts with.
    (
        "get_postmortem_revisions",
        Some(Scope::Read),
        &[("id", "1")],
    ),
    (
        "get_postmortem_revision",
        Some(Scope::Read),
        &[("id", "1"), ("number", "1")],
    ),
    ("get_postmortems", Some(Scope::Read), &[]),
    (
        "get_postmortem",
        None,
        &[("id", "1"), ("internal", "false")],
    ),
    (
        "draft_postmortem",
        Some(Scope::PostmortemsWrite),
        &[("incident_id", "999999")],
    ),
    (
        "save_postmortem",
        Some(Scope::PostmortemsWrite),
        &[
            ("id", "999999"),
            ("base_revision", "1"),
            ("title", "x"),
            ("body", "x"),
        ],
    ),
    (
        "publish_postmortem",
        Some(Scope::PostmortemsWrite),
        &[("id", "999999"), ("publish", "true")],
    ),
    (
        "add_postmortem_update",
        Some(Scope::PostmortemsWrite),
        &[("id", "999999"), ("base_revision", "1"), ("update", "x")],
    ),
    (
        "add_postmortem_snapshot",
        Some(Scope::PostmortemsWrite),
        &[
            ("id", "999999"),
            ("caption", "x"),
            ("from", "x"),
            ("to", "x"),
        ],
    ),
    (
        "delete_postmortem_snapshot",
        Some(Scope::PostmortemsWrite),
        &[("id", "999999"), ("snapshot", "1")],
    ),
    (
        "set_snapshot_visibility",
        Some(Scope::PostmortemsWrite),
        &[
            ("id", "999999"),
            ("snapshot", "1"),
            ("public", "true"),
            ("keep_addresses", "false"),
        ],
    ),
    (
        "restore_postmortem_revision",
        Some(Scope::PostmortemsWrite),
        &[("id", "999999"), ("number", "1"), ("base_revision", "1")],
    ),
    ("get_review", Some(Scope::Read), &[("id", "999999")]),
    (
        "request_review",
        Some(Scope::PostmortemsWrite),
        &[("id", "999999"), ("reviewers", "x")],
    ),
    (
        "comment_postmortem",
        Some(Scope::PostmortemsWrite),
        &[
            ("id", "999999"),
            ("revision", "1"),
            ("section", "General"),
            ("body", "x"),
        ],
    ),
    (
        "reply_postmortem",
        Some(Scope::PostmortemsWrite),
        &[
            ("id", "999999"),
            ("revision", "1"),
            ("thread", "1"),
            ("body", "x"),
        ],
    ),
    (
        "resolve_thread",
        Some(Scope::PostmortemsWrite),
        &[("id", "999999"), ("thread", "1"), ("resolved", "true")],
    ),
    (
        "approve_postmortem",
        Some(Scope::PostmortemsWrite),
        &[("id", "999999"), ("revision", "1")],
    ),
    (
        "mark_editing",
        Some(Scope::PostmortemsWrite),
        &[("id", "999999")],
    ),
    ("preview_postmortem", Some(Scope::Read), &[("body", "x")]),
    ("get_incident", None, &[("id", "1"), ("internal", "false")]),
    ("get_ops_incidents", Some(Scope::Read), &[]),
    ("get_incident_causes", Some(Scope::Read), &[("id", "1")]),
    ("get_dependencies", Some(Scope::Read), &[]),
    ("get_replicas", Some(Scope::Read), &[]),
    ("get_lb_config_history", Some(Scope::Read), &[]),
    ("get_upstreams", Some(Scope::Read), &[]),
    ("get_follow_ups", Some(Scope::Read), &[("overdue", "false")]),
    ("get_deliveries", Some(Scope::Admin), &[]),
    (
        "create_incident",
        Some(Scope::IncidentsWrite),
        &[("name", ""), ("status", ""), ("impact", ""), ("body", "")],
    ),
    (
        "schedule_maintenance",
        Some(Scope::IncidentsWrite),
        &[
            ("name", ""),
            ("body", ""),
            ("scheduled_for", "x"),
            ("scheduled_until", "x"),
        ],
    ),
    (
        "post_incident_update",
        Some(Scope::IncidentsWrite),
        &[("id", "999999"), ("body", "x")],
    ),
    (
        "change_incident",
        Some(Scope::IncidentsWrite),
        &[("id", "999999"), ("name", "x"), ("impact", "")],
    ),
];

#[tokio::test]
async fn every_server_function_refuses_callers_without_its_scope() {
    let app = spawn_app().await;
    let viewer = signed_in(&app, "vera", Role::Viewer).await;
    let admin = signed_in(&app, "ada", Role::Admin).await;
    let anonymous = browser(&app);
    let (_, agent_token) = create_agent_token(&app, "eu-west").await;

    let paths: Vec<String> = leptos::server_fn::axum::server_fn_paths()
        .map(|(path, _)| path.to_string())
        .collect();
    assert!(!paths.is_empty());
    for path in &paths {
        // Paths are a name and a hash: the longest name that begins it (`get_incident_causes`,
        // not `get_incident`).
        let (name, need, args) = SERVER_FN_ACCESS
            .iter()
            .filter(|(name, _, _)| path.rsplit('/').next().unwrap().starts_with(name))
            .max_by_key(|(name, _, _)| name.len())
            .unwrap_or_else(|| panic!("{path} has no entry in SERVER_FN_ACCESS"));
        let call = |c: &reqwest::Client| c.post(app.url(path)).form(args).send();
        let refused = |s: reqwest::StatusCode| s == 401 || s == 403;
        let anon = call(&anonymous).await.unwrap().status();
        let as_admin = call(&admin).await.unwrap().status();
        assert!(
            !refused(as_admin),
            "{name}: an admin may call it ({as_admin})"
        );
        match need {
            None => assert!(!refused(anon), "{name} is public ({anon})"),
            Some(scope) => {
                assert_eq!(anon, 401, "{name}: anonymous");
                let token = app
                    .client
                    .post(app.url(path))
                    .bearer_auth(&agent_token)
                    .form(args)
                    .send()
                    .await
                    .unwrap()
                    .status();
                assert_eq!(token, 403, "{name}: an agent token lacks {scope}");
                let as_viewer = call(&viewer).await.unwrap().status();
                let expect = if Role::Viewer.scopes().contains(scope) {
                    200
                } else {
                    403
                };
                assert_eq!(as_viewer, expect, "{name} as viewer");
            }
        }
    }
}

/// Public server functions that can also read internal data refuse strangers who ask for it.
#[tokio::test]
async fn anonymous_calls_asking_for_internal_data_are_refused() {
    let app = spawn_app().await;
    let viewer = signed_in(&app, "vera", Role::Viewer).await;
    let anonymous = browser(&app);
    let paths: Vec<String> = leptos::server_fn::axum::server_fn_paths()
        .map(|(path, _)| path.to_string())
        .collect();
    for name in ["get_incident", "get_postmortem"] {
        // This function's path, not `get_postmortems`' or `get_postmortem_revision`'s: the name
        // is followed by digits only.
        let path = paths
            .iter()
            .find(|p| {
                p.rsplit('/')
                    .next()
                    .unwrap()
                    .strip_prefix(name)
                    .is_some_and(|rest| rest.bytes().all(|b| b.is_ascii_digit()))
            })
            .unwrap_or_else(|| panic!("{name} is served"));
        let internal = [("id", "1"), ("internal", "true")];
        let call = |c: &reqwest::Client| c.post(app.url(path)).form(&internal).send();
        let anon = call(&anonymous).await.unwrap().status();
        assert_eq!(anon, 401, "{name}(internal = true), anonymous");
        let as_viewer = call(&viewer).await.unwrap().status();
        assert_ne!(as_viewer, 401, "{name}(internal = true) as a viewer");
        assert_ne!(as_viewer, 403, "{name}(internal = true) as a viewer");
    }
}

/// The README's first steps: create the first admin and a token from the command line, against
/// the same database the server uses, then use both.
#[tokio::test]
async fn the_cli_creates_an_admin_and_a_token_that_the_server_accepts() {
    use std::io::Write;
    use std::process::{Command, Stdio};

    let (db_name, url) = common::fresh_database().await;
    let vigil = |args: &[&str], stdin: Option<&str>| {
        let mut child = Command::new(env!("CARGO_BIN_EXE_vigil"))
            .args(args)
            .env("DATABASE_URL", &url)
            .env_remove("VIGIL_CONFIG")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut input = child.stdin.take().unwrap();
        if let Some(text) = stdin {
            input.write_all(text.as_bytes()).unwrap();
        }
        drop(input);
        let out = child.wait_with_output().unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };

    let (code, _, err) = vigil(
        &["user", "add", "joe", "--role", "admin"],
        Some(&format!("{PASSWORD}\n")),
    );
    assert_eq!(code, Some(0), "{err}");
    let (code, _, err) = vigil(&["user", "add", "joe"], Some(&format!("{PASSWORD}\n")));
    assert_eq!(code, Some(1));
    assert!(err.contains("already exists"), "{err}");
    let (code, _, err) = vigil(&["user", "add", "kim"], Some("short\n"));
    assert_eq!(code, Some(1));
    assert!(err.contains("at least 10 characters"), "{err}");
    let (code, _, err) = vigil(&["user", "set-role", "nobody", "editor"], None);
    assert_eq!(code, Some(1));
    assert!(err.contains("no user named `nobody`"), "{err}");
    let (code, _, err) = vigil(
        &["token", "create", "--name", "ci", "--scope", "root"],
        None,
    );
    assert_ne!(code, Some(0));
    assert!(
        err.contains("incidents:write"),
        "names the valid scopes: {err}"
    );

    let (code, token, err) = vigil(
        &[
            "token",
            "create",
            "--name",
            "ci",
            "--scope",
            "read",
            "--scope",
            "incidents:write",
        ],
        None,
    );
    assert_eq!(code, Some(0), "{err}");
    let token = token.trim_end_matches('\n');
    assert!(
        token.starts_with("vgl_") && !token.contains(char::is_whitespace),
        "the token alone: {token:?}"
    );

    let (_, list, _) = vigil(&["token", "list"], None);
    assert!(
        list.contains("ci") && list.contains("read,incidents:write"),
        "{list}"
    );
    assert!(!list.contains(token), "secrets are never listed");
    let (_, users_out, _) = vigil(&["user", "list"], None);
    assert!(
        users_out.contains("joe") && users_out.contains("admin"),
        "{users_out}"
    );

    let app = common::spawn_with(common::test_config(&url), db_name).await;
    let me: serde_json::Value = app.get_json("/api/v1/me", token).await;
    assert_eq!(me["name"], "ci");
    let client = browser(&app);
    assert_eq!(login(&app, &client, "joe", PASSWORD).await, "/ops");
    let audit = client
        .get(app.url("/ops/audit"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for action in ["user.add", "token.create", "login"] {
        assert!(audit.contains(action), "{action} audited: {audit}");
    }
}

/// Posts the login form as if from `address` (the app trusts 127.0.0.1 as its proxy).
async fn login_from(
    app: &common::TestApp,
    client: &reqwest::Client,
    address: &str,
    name: &str,
    pw: &str,
    next: &str,
) -> String {
    let resp = client
        .post(app.url("/login"))
        .header("x-forwarded-for", address)
        .form(&[("username", name), ("password", pw), ("next", next)])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 303);
    location(&resp)
}

fn behind_proxy() -> &'static str {
    "[auth]\ntrusted_proxies = [\"127.0.0.1\"]\n"
}

#[tokio::test]
async fn sign_in_never_redirects_to_another_site() {
    let app = spawn_app().await;
    create_user(&app, "joe", Role::Viewer).await;
    // Browsers strip tabs and newlines and read backslashes as slashes: each of these is
    // `//evil.example`, another site.
    for next in [
        "/\t/evil.example",
        "/\n/evil.example",
        "/\\evil.example",
        "\t//evil.example",
        "//evil.example",
    ] {
        let client = browser(&app);
        let resp = client
            .post(app.url("/login"))
            .form(&[("username", "joe"), ("password", PASSWORD), ("next", next)])
            .send()
            .await
            .unwrap();
        assert_eq!(location(&resp), "/ops", "next={next:?}");
    }
    let client = browser(&app);
    let resp = client
        .post(app.url("/login"))
        .form(&[
            ("username", "joe"),
            ("password", PASSWORD),
            ("next", "/ops/incidents?x=1"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(location(&resp), "/ops/incidents?x=1");
}

#[tokio::test]
async fn a_strangers_parallel_failures_neither_pass_the_throttle_nor_lock_the_owner_out() {
    let app = common::spawn_app_with_toml(behind_proxy()).await;
    create_user(&app, "joe", Role::Admin).await;
    // 30 parallel wrong passwords from one address.
    let attempts = (0..30).map(|_| {
        let app = &app;
        async move {
            let client = browser(app);
            login_from(app, &client, "203.0.113.9", "joe", "wrong guess!", "/ops").await
        }
    });
    let answers = futures::future::join_all(attempts).await;
    let checked = answers
        .iter()
        .filter(|a| a.contains("error=invalid"))
        .count();
    let throttled = answers
        .iter()
        .filter(|a| a.contains("error=throttled"))
        .count();
    assert_eq!(checked + throttled, 30, "{answers:?}");
    assert!(
        checked <= vigil_core::model::throttle::FREE_FAILURES as usize + 1,
        "parallel guesses all passed the check: {checked} were verified"
    );
    // The stranger's own next try waits…
    let again = login_from(&app, &browser(&app), "203.0.113.9", "joe", PASSWORD, "/ops").await;
    assert!(again.contains("error=throttled"), "{again}");
    // …but the operator, elsewhere, signs in at once.
    let operator = browser(&app);
    assert_eq!(
        login_from(&app, &operator, "198.51.100.7", "joe", PASSWORD, "/ops").await,
        "/ops"
    );
}

#[tokio::test]
async fn a_browser_that_signed_in_before_is_not_held_back_by_failures_from_its_own_address() {
    let app = common::spawn_app_with_toml(behind_proxy()).await;
    create_user(&app, "joe", Role::Admin).await;
    let operator = browser(&app);
    assert_eq!(
        login_from(&app, &operator, "192.0.2.44", "joe", PASSWORD, "/ops").await,
        "/ops"
    );
    // Someone behind the same address (a café, an office NAT) hammers the account.
    for _ in 0..8 {
        login_from(
            &app,
            &browser(&app),
            "192.0.2.44",
            "joe",
            "wrong guess!",
            "/ops",
        )
        .await;
    }
    let stranger = login_from(&app, &browser(&app), "192.0.2.44", "joe", PASSWORD, "/ops").await;
    assert!(stranger.contains("error=throttled"), "{stranger}");
    // The operator's browser carries its device cookie and gets in.
    assert_eq!(
        login_from(&app, &operator, "192.0.2.44", "joe", PASSWORD, "/ops").await,
        "/ops"
    );
}

#[tokio::test]
async fn forwarded_for_is_ignored_unless_the_peer_is_a_trusted_proxy() {
    let app = spawn_app().await;
    create_user(&app, "joe", Role::Viewer).await;
    // Each attempt claims another address; none is believed, so they all count against 127.0.0.1.
    for n in 0..6 {
        login_from(
            &app,
            &browser(&app),
            &format!("198.51.100.{n}"),
            "joe",
            "wrong guess!",
            "/ops",
        )
        .await;
    }
    let last = login_from(
        &app,
        &browser(&app),
        "198.51.100.99",
        "joe",
        PASSWORD,
        "/ops",
    )
    .await;
    assert!(last.contains("error=throttled"), "{last}");
}

#[tokio::test]
async fn oversized_credentials_are_refused_before_any_hashing() {
    let app = spawn_app().await;
    create_user(&app, "joe", Role::Viewer).await;
    let huge = "x".repeat(200_000);
    let long_name = "j".repeat(500);
    for (name, pw) in [("joe", huge.as_str()), (long_name.as_str(), PASSWORD)] {
        let resp = browser(&app)
            .post(app.url("/login"))
            .form(&[("username", name), ("password", pw)])
            .send()
            .await
            .unwrap();
        assert!(location(&resp).contains("error=invalid"));
    }
    let counted: i64 = sqlx::query_scalar("SELECT count(*) FROM login_failures")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(counted, 0, "refused before the throttle and the hash");
}

#[tokio::test]
async fn a_new_password_ends_the_users_sessions() {
    let app = spawn_app().await;
    let client = signed_in(&app, "joe", Role::Viewer).await;
    assert_eq!(
        client.get(app.url("/ops")).send().await.unwrap().status(),
        200
    );
    let hash = vigil_server::auth::password::hash("another long password").unwrap();
    users::set_password(&app.pool, "joe", &hash).await.unwrap();
    let resp = client.get(app.url("/ops")).send().await.unwrap();
    assert_eq!(resp.status(), 303, "the old session no longer works");
    assert_eq!(
        login(&app, &client, "joe", "another long password").await,
        "/ops"
    );
    assert_eq!(
        client.get(app.url("/ops")).send().await.unwrap().status(),
        200
    );
}

#[tokio::test]
async fn a_write_scope_reads_what_it_writes() {
    let app = spawn_app().await;
    let (_, incidents) = create_token(&app, &[Scope::IncidentsWrite]).await;
    let (_, postmortems) = create_token(&app, &[Scope::PostmortemsWrite]).await;
    let (_, agent) = create_agent_token(&app, "eu-west").await;
    let get = |path: &'static str, token: String| {
        let app = &app;
        async move { app.get_with_token(path, &token).await.status().as_u16() }
    };
    assert_eq!(get("/api/v1/incidents", incidents.clone()).await, 200);
    assert_eq!(get("/api/v1/incidents", postmortems.clone()).await, 200);
    assert_eq!(get("/api/v1/incidents", agent.clone()).await, 403);
    // Not a way into everything: monitors and nodes still need `read`.
    assert_eq!(get("/api/v1/monitors", incidents.clone()).await, 403);
    assert_eq!(get("/api/v1/nodes", postmortems.clone()).await, 403);
    // A post-mortem writer reads the revision it must base its save on.
    let resp = app
        .client
        .post(app.url("/api/v1/incidents"))
        .bearer_auth(&incidents)
        .json(&serde_json::json!({ "name": "Down", "status": "resolved", "impact": "major", "body": "Back." }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let id = resp.json::<serde_json::Value>().await.unwrap()["id"]
        .as_i64()
        .unwrap();
    let path = format!("/api/v1/incidents/{id}/postmortem");
    let drafted = app
        .client
        .post(app.url(&path))
        .bearer_auth(&postmortems)
        .send()
        .await
        .unwrap();
    assert!(drafted.status().is_success(), "{}", drafted.status());
    let resp = app.get_with_token(&path, &postmortems).await;
    assert_eq!(resp.status(), 200);
    let pm: serde_json::Value = resp.json().await.unwrap();
    assert!(pm["revision"].as_i64().is_some(), "{pm}");
    let resp = app.get_with_token(&path, &incidents).await;
    assert_eq!(
        resp.status(),
        403,
        "incidents:write does not read post-mortems"
    );
}
