//! People following the page, end to end: mail through a real SMTP server (aiosmtpd, started by
//! the test), Discord and webhook subscribers against the simulator's receivers, the rules that
//! keep strangers' URLs out of the private network, and a `kill -9` mid fan-out.

use std::{
    io::{BufRead, BufReader},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::Duration,
};

use reqwest::Method;
use serde_json::{json, Value};
use vigil_core::model::auth::Scope;
use vigil_sim::webhooks::{WebhookFaults, WebhookSim};

use crate::common::{
    access::create_token, eventually, fresh_database, send, spawn_app_with_toml, TestApp,
};

/// Where the links in messages point; tests follow them to the server under test.
const PUBLIC: &str = "https://status.example.org";

const COMPONENTS: &str = r#"
[server]
public_url = "https://status.example.org"

[[component]]
id = "site"
name = "Website"

[[component]]
id = "api"
name = "API"

[incidents]
automatic = false
"#;

/// aiosmtpd on a free port, writing each accepted message as a JSON line.
struct SmtpServer {
    child: Child,
    port: u16,
    out: PathBuf,
    _dir: tempfile::TempDir,
}

impl SmtpServer {
    fn start() -> SmtpServer {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("mail.jsonl");
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/smtp_sink.py");
        let mut child = Command::new("python3")
            .arg(script)
            .arg(port.to_string())
            .arg(&out)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("python3 runs (./scripts/test installs aiosmtpd)");
        let mut ready = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut ready)
            .unwrap();
        assert_eq!(ready.trim(), "ready", "the SMTP server started");
        SmtpServer {
            child,
            port,
            out,
            _dir: dir,
        }
    }

    fn mails(&self) -> Vec<Value> {
        std::fs::read_to_string(&self.out)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    fn to(&self, address: &str) -> Vec<Value> {
        self.mails()
            .into_iter()
            .filter(|m| m["to"].as_array().unwrap().iter().any(|t| t == address))
            .collect()
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The form as a browser posts it (same-origin, form-encoded).
async fn post_form(app: &TestApp, fields: &[(&str, &str)]) -> reqwest::Response {
    app.client
        .post(app.url("/subscribe"))
        .header("origin", &app.base)
        .form(fields)
        .send()
        .await
        .unwrap()
}

fn location(r: &reqwest::Response) -> String {
    r.headers()["location"].to_str().unwrap().to_string()
}

/// A link from a message, pointed at the server under test.
fn here(app: &TestApp, link: &str) -> String {
    link.replace(PUBLIC, &app.base)
}

/// The first `https?://…` in `text` that starts with `prefix`.
fn link(text: &str, prefix: &str) -> String {
    let start = text
        .find(prefix)
        .unwrap_or_else(|| panic!("no {prefix} in {text}"));
    text[start..]
        .split(|c: char| c.is_whitespace() || c == '"' || c == '<' || c == '>')
        .next()
        .unwrap()
        .to_string()
}

async fn incident(app: &TestApp, token: &str, name: &str, component: &str) -> i64 {
    let (status, body) = send(
        app,
        Method::POST,
        "/api/v1/incidents",
        token,
        Some(
            json!({ "name": name, "status": "investigating", "impact": "major",
            "body": format!("{name}: we are looking into it."), "component_ids": [component] }),
        ),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    body["id"].as_i64().unwrap()
}

async fn update(app: &TestApp, token: &str, id: i64, body: Value) {
    let (status, answer) = send(
        app,
        Method::POST,
        &format!("/api/v1/incidents/{id}/updates"),
        token,
        Some(body),
    )
    .await;
    assert_eq!(status, 201, "{answer}");
}

async fn state_of(app: &TestApp, kind: &str, target: &str) -> Option<String> {
    sqlx::query_scalar("SELECT state FROM subscribers WHERE kind = $1 AND target = $2")
        .bind(kind)
        .bind(target)
        .fetch_optional(&app.pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn email_subscribers_confirm_follow_an_incident_and_leave_in_one_click() {
    let smtp = SmtpServer::start();
    let app = spawn_app_with_toml(&format!(
        "{COMPONENTS}\n[status_page]\ntitle = \"Example Status\"\n\
         [postmortems]\napprovals = 0\n\
         [smtp]\nhost = \"127.0.0.1\"\nport = {}\nsecurity = \"none\"\nfrom = \"Example Status <status@example.org>\"\n",
        smtp.port
    ))
    .await;
    let (_, writer) = create_token(&app, &[Scope::IncidentsWrite, Scope::PostmortemsWrite]).await;
    let (_, admin) = create_token(&app, &[Scope::Admin]).await;

    // The form, as a visitor without JavaScript sends it.
    let r = post_form(
        &app,
        &[
            ("kind", "email"),
            ("email", "ada@Example.org"),
            ("incidents", "on"),
            ("maintenances", "on"),
        ],
    )
    .await;
    assert_eq!(r.status(), 303);
    assert_eq!(location(&r), "/subscribe?requested=email");
    // Someone who never confirms.
    post_form(
        &app,
        &[
            ("kind", "email"),
            ("email", "bob@example.org"),
            ("incidents", "on"),
        ],
    )
    .await;
    // An import by an admin, already confirmed, following the API only.
    let (status, imported) = send(
        &app,
        Method::POST,
        "/api/v1/subscribers",
        &admin,
        Some(json!({ "email": "cy@example.org", "components": ["api"], "confirmed": true })),
    )
    .await;
    assert_eq!(status, 201, "{imported}");
    assert_eq!(imported["state"], "active");
    assert_eq!(imported["components"], json!(["api"]));

    let confirmation = eventually(20, "two confirmation mails", || async {
        let ada = smtp.to("ada@example.org");
        (ada.len() == 1 && smtp.to("bob@example.org").len() == 1).then(|| ada[0].clone())
    })
    .await;
    assert_eq!(
        confirmation["subject"],
        "Confirm your subscription to Example Status"
    );
    assert_eq!(confirmation["content_type"], "multipart/alternative");
    assert!(
        confirmation["list_unsubscribe"].is_null(),
        "nothing to leave yet"
    );
    let confirm = link(
        confirmation["text"].as_str().unwrap(),
        &format!("{PUBLIC}/subscribe/confirm/"),
    );
    assert!(confirmation["html"].as_str().unwrap().contains(&confirm));
    let confirm = here(&app, &confirm);
    // Asking again at once sends no second mail (a form cannot flood an inbox).
    post_form(
        &app,
        &[
            ("kind", "email"),
            ("email", "ada@example.org"),
            ("incidents", "on"),
        ],
    )
    .await;

    // Following the link shows a button; only the POST confirms (mail scanners fetch links).
    let page = app.client.get(&confirm).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("Confirm subscription"));
    assert_eq!(
        state_of(&app, "email", "ada@example.org").await.as_deref(),
        Some("pending")
    );
    let r = app
        .client
        .post(&confirm)
        .header("origin", &app.base)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(location(&r), "/subscribe?confirmed=email");
    assert_eq!(
        state_of(&app, "email", "ada@example.org").await.as_deref(),
        Some("active")
    );

    // An incident on the website: opened, an internal note, an update, resolved.
    let id = incident(&app, &writer, "Website unreachable", "site").await;
    update(
        &app,
        &writer,
        id,
        json!({ "body": "node b is swapping; drain it", "internal": true }),
    )
    .await;
    update(
        &app,
        &writer,
        id,
        json!({ "body": "A fix is rolling out.", "status": "identified" }),
    )
    .await;
    update(
        &app,
        &writer,
        id,
        json!({ "body": "Sites are back.", "status": "resolved" }),
    )
    .await;
    let mails = eventually(20, "three incident mails to ada", || async {
        let m = smtp.to("ada@example.org");
        (m.len() == 4).then_some(m)
    })
    .await;
    let subjects: Vec<&str> = mails[1..]
        .iter()
        .map(|m| m["subject"].as_str().unwrap())
        .collect();
    assert_eq!(
        subjects,
        [
            "[Example Status] Incident: Website unreachable — Investigating",
            "[Example Status] Incident: Website unreachable — Identified",
            "[Example Status] Incident: Website unreachable — Resolved",
        ],
        "in order, and the internal note is not among them"
    );
    let opened = &mails[1];
    let text = opened["text"].as_str().unwrap();
    assert!(
        text.contains("Website unreachable: we are looking into it."),
        "{text}"
    );
    assert!(text.contains("Affected: Website"));
    assert!(text.contains(&format!("{PUBLIC}/incidents/{id}")), "{text}");
    assert!(!mails
        .iter()
        .any(|m| m["text"].as_str().unwrap().contains("swapping")));
    let unsubscribe = opened["list_unsubscribe"].as_str().unwrap();
    assert!(
        unsubscribe.starts_with(&format!("<{PUBLIC}/unsubscribe/")),
        "{unsubscribe}"
    );
    assert_eq!(
        opened["list_unsubscribe_post"],
        "List-Unsubscribe=One-Click"
    );
    assert!(opened["html"].as_str().unwrap().contains("Unsubscribe"));
    assert!(
        smtp.to("cy@example.org").is_empty(),
        "cy follows the API only"
    );
    assert_eq!(
        smtp.to("bob@example.org").len(),
        1,
        "bob never confirmed: only the confirmation"
    );

    // Its post-mortem, once published, is news too.
    let path = format!("/api/v1/incidents/{id}/postmortem");
    let (status, draft) = send(&app, Method::POST, &path, &writer, None).await;
    assert_eq!(status, 201, "{draft}");
    let (status, saved) = send(
        &app,
        Method::PUT,
        &path,
        &writer,
        Some(
            json!({ "base_revision": draft["revision"], "body": draft["body"],
            "title": "Website outage of today", "published": true }),
        ),
    )
    .await;
    assert_eq!(status, 200, "{saved}");
    let published = eventually(20, "the post-mortem to ada", || async {
        smtp.to("ada@example.org").get(4).cloned()
    })
    .await;
    assert_eq!(
        published["subject"],
        "[Example Status] Post-mortem: Website outage of today"
    );
    assert!(published["text"]
        .as_str()
        .unwrap()
        .contains(&format!("{PUBLIC}/postmortems/{}", draft["id"])));

    // An incident on the API reaches cy too.
    incident(&app, &writer, "API errors", "api").await;
    eventually(20, "the API incident to ada and cy", || async {
        (smtp.to("ada@example.org").len() == 6 && smtp.to("cy@example.org").len() == 1)
            .then_some(())
    })
    .await;

    // RFC 8058: the mail client POSTs `List-Unsubscribe=One-Click`, without cookies or Origin.
    let url = here(&app, unsubscribe.trim_matches(|c| c == '<' || c == '>'));
    let r = reqwest::Client::new()
        .post(url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("List-Unsubscribe=One-Click")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        state_of(&app, "email", "ada@example.org").await,
        None,
        "the address is not kept"
    );
    incident(&app, &writer, "Website slow", "site").await;
    eventually(20, "nothing more for ada", || async {
        let delivered: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM subscriber_deliveries WHERE state = 'pending'",
        )
        .fetch_one(&app.pool)
        .await
        .unwrap();
        (delivered == 0).then_some(())
    })
    .await;
    assert_eq!(smtp.to("ada@example.org").len(), 6);

    // Admins see counts and remove subscribers (audited); the public never sees addresses.
    let list = app
        .get_json("/api/v1/subscribers?per_page=10", &admin)
        .await;
    assert_eq!(list["total"], 2);
    let email = list["counts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["kind"] == "email")
        .unwrap();
    assert_eq!(
        (email["active"].as_i64(), email["pending"].as_i64()),
        (Some(1), Some(1))
    );
    let cy = imported["id"].as_i64().unwrap();
    let (status, _) = send(
        &app,
        Method::DELETE,
        &format!("/api/v1/subscribers/{cy}"),
        &admin,
        None,
    )
    .await;
    assert_eq!(status, 204);
    let (status, _) = send(
        &app,
        Method::DELETE,
        &format!("/api/v1/subscribers/{cy}"),
        &admin,
        None,
    )
    .await;
    assert_eq!(status, 404);
    let audited: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM audit_log WHERE action IN ('subscriber.add', 'subscriber.remove')",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(audited, 2);
    let (status, _) = send(&app, Method::GET, "/api/v1/subscribers", &writer, None).await;
    assert_eq!(status, 403, "addresses are for admins only");
    for path in ["/", "/subscribe", "/api/v2/summary.json"] {
        let body = app.get(path).await.text().await.unwrap();
        assert!(!body.contains("bob@example.org"), "{path} shows an address");
    }
}

/// The simulator's receivers, Vigil allowed to reach them on loopback, and a token that writes
/// incidents.
async fn receivers_and_app() -> (WebhookSim, String, TestApp, String) {
    let sim = WebhookSim::new();
    let base = sim.serve().await.unwrap();
    let app = spawn_app_with_toml(&format!(
        "{COMPONENTS}\n[subscribers]\nallow_private_targets = true\n"
    ))
    .await;
    let (_, writer) = create_token(&app, &[Scope::IncidentsWrite]).await;
    (sim, base, app, writer)
}

#[tokio::test]
async fn discord_and_webhook_subscribers_are_confirmed_signed_and_dropped_when_deleted() {
    let (sim, base, app, writer) = receivers_and_app().await;
    let subscribe = |body: Value| {
        let client = app.client.clone();
        let url = app.url("/api/v2/subscriptions.json");
        async move {
            let r = client.post(url).json(&body).send().await.unwrap();
            (r.status().as_u16(), r.json::<Value>().await.unwrap())
        }
    };

    let discord = format!("{base}/api/webhooks/42/channel-token");
    let (status, body) =
        subscribe(json!({ "subscription": { "discord_webhook_url": discord } })).await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(body["subscription"]["state"], "pending");
    let hook = format!("{base}/hook/statusbot");
    let secret = "a-key-only-the-receiver-knows";
    let (status, _) = subscribe(
        json!({ "subscription": { "endpoint": hook, "secret": secret, "components": ["site"] } }),
    )
    .await;
    assert_eq!(status, 202);

    // Discord: the confirmation message arriving confirms it.
    eventually(20, "the Discord subscription confirmed", || async {
        (state_of(&app, "discord", &discord).await.as_deref() == Some("active")).then_some(())
    })
    .await;
    let hello = sim
        .received()
        .into_iter()
        .find(|r| r.kind == "discord")
        .unwrap();
    assert!(hello.body["embeds"][0]["title"]
        .as_str()
        .unwrap()
        .starts_with("Following"));
    // The webhook: a signed verification request carrying the confirm URL.
    let verification = eventually(20, "the verification request", || async {
        sim.received().into_iter().find(|r| r.kind == "webhook")
    })
    .await;
    assert_eq!(
        verification.signature.as_deref().unwrap(),
        vigil_server::subscribers::worker::signature(secret, verification.raw.as_bytes())
    );
    assert_eq!(
        state_of(&app, "webhook", &hook).await.as_deref(),
        Some("pending")
    );
    let confirm = here(
        &app,
        verification.body["verification"]["confirm_url"]
            .as_str()
            .unwrap(),
    );
    // The receiver confirms with a POST of its own (no cookies, no Origin).
    let r = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .post(&confirm)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(
        state_of(&app, "webhook", &hook).await.as_deref(),
        Some("active")
    );

    let id = incident(&app, &writer, "Website unreachable", "site").await;
    let (embed, statuspage) = eventually(20, "the incident on both", || async {
        let got = sim.received();
        let embed = got.iter().filter(|r| r.kind == "discord").nth(1).cloned();
        let hook = got.iter().filter(|r| r.kind == "webhook").nth(1).cloned();
        embed.zip(hook)
    })
    .await;
    assert_eq!(
        embed.body["embeds"][0]["title"],
        "Incident: Website unreachable — Investigating"
    );
    assert_eq!(
        embed.body["embeds"][0]["color"], 15158332,
        "red, as the ops channel"
    );
    assert_eq!(
        embed.body["embeds"][0]["url"],
        format!("{PUBLIC}/incidents/{id}")
    );
    // Statuspage's subscriber webhook shape, signed.
    let b = &statuspage.body;
    assert_eq!(b["incident"]["id"], id.to_string());
    assert_eq!(b["incident"]["name"], "Website unreachable");
    assert_eq!(b["incident"]["status"], "investigating");
    assert_eq!(
        b["incident"]["incident_updates"][0]["body"],
        "Website unreachable: we are looking into it.\n\nAffected: Website"
    );
    assert!(b["page"]["status_indicator"].is_string());
    assert!(b["meta"]["unsubscribe"]
        .as_str()
        .unwrap()
        .starts_with(&format!("{PUBLIC}/unsubscribe/")));
    assert_eq!(
        statuspage.signature.unwrap(),
        vigil_server::subscribers::worker::signature(secret, statuspage.raw.as_bytes())
    );

    // An incident elsewhere: Discord (all components) hears, the webhook (site only) does not.
    incident(&app, &writer, "API errors", "api").await;
    eventually(20, "the API incident on Discord", || async {
        (sim.received()
            .iter()
            .filter(|r| r.kind == "discord")
            .count()
            == 3)
            .then_some(())
    })
    .await;

    // A maintenance on the website, half an hour away: announced, reminded at once (it starts
    // within the hour), started, completed — to the webhook, in that order.
    let soon = chrono::Utc::now() + chrono::Duration::minutes(30);
    let (status, m) = send(
        &app,
        Method::POST,
        "/api/v1/maintenances",
        &writer,
        Some(
            json!({ "name": "Database upgrade", "component_ids": ["site"],
            "body": "Pages may be slow for a minute.",
            "scheduled_for": soon, "scheduled_until": soon + chrono::Duration::hours(1) }),
        ),
    )
    .await;
    assert_eq!(status, 201, "{m}");
    let mid = m["id"].as_i64().unwrap();
    let maintenance_news = || {
        sim.received()
            .into_iter()
            .filter(|r| r.kind == "webhook" && r.body["incident"]["name"] == "Database upgrade")
            .map(|r| {
                let update = r.body["incident"]["incident_updates"][0]["body"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string();
                format!(
                    "{} {update}",
                    r.body["incident"]["status"].as_str().unwrap()
                )
            })
            .collect::<Vec<String>>()
    };
    eventually(20, "the announcement and the reminder", || async {
        (maintenance_news().len() == 2).then_some(())
    })
    .await;
    start_and_complete(&app, &writer, mid).await;
    let seen = eventually(20, "the maintenance's four messages", || async {
        let about = maintenance_news();
        (about.len() == 4).then_some(about)
    })
    .await;
    assert!(
        seen[0].starts_with("scheduled Pages may be slow"),
        "{seen:?}"
    );
    assert!(
        seen[1].starts_with("scheduled Scheduled maintenance \"Database upgrade\" starts soon"),
        "{seen:?}"
    );
    assert!(seen[2].starts_with("in_progress"), "{seen:?}");
    assert!(seen[3].starts_with("completed"), "{seen:?}");

    // The channel's webhook is deleted in Discord: 404 deactivates the subscription.
    sim.set_faults(WebhookFaults {
        deleted: vec!["42".into()],
        ..Default::default()
    });
    update(
        &app,
        &writer,
        id,
        json!({ "body": "Sites are back.", "status": "resolved" }),
    )
    .await;
    eventually(20, "the Discord subscription deactivated", || async {
        (state_of(&app, "discord", &discord).await.as_deref() == Some("deactivated")).then_some(())
    })
    .await;
    let reason: String =
        sqlx::query_scalar("SELECT state_reason FROM subscribers WHERE kind = 'discord'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert!(reason.contains("404"), "{reason}");
    eventually(20, "the resolution to the webhook", || async {
        sim.received()
            .into_iter()
            .find(|r| r.kind == "webhook" && r.body["incident"]["status"] == "resolved")
    })
    .await;
}

/// Statuspage's `component_update`s a webhook at `hook` has received, as "old → new" of
/// `component`.
fn component_updates(sim: &WebhookSim, hook: &str, component: &str) -> Vec<String> {
    sim.received()
        .into_iter()
        .filter(|r| hook.ends_with(&r.path) && r.body["component"]["id"] == component)
        .map(|r| {
            let u = &r.body["component_update"];
            assert_eq!(u["component_id"], component);
            assert_eq!(r.body["component"]["status"], u["new_status"]);
            format!(
                "{} → {}",
                u["old_status"].as_str().unwrap(),
                u["new_status"].as_str().unwrap()
            )
        })
        .collect()
}

#[tokio::test]
async fn webhook_subscribers_hear_each_component_change_once() {
    let (sim, base, app, writer) = receivers_and_app().await;
    // Two receivers: one follows the website, one follows maintenances only.
    let (site_hook, maint_hook) = (format!("{base}/hook/site"), format!("{base}/hook/maint"));
    for (hook, sub) in [
        (
            &site_hook,
            json!({ "endpoint": site_hook, "components": ["site"] }),
        ),
        (
            &maint_hook,
            json!({ "endpoint": maint_hook, "incidents": false, "maintenances": true }),
        ),
    ] {
        let r = app
            .client
            .post(app.url("/api/v2/subscriptions.json"))
            .json(&json!({ "subscription": sub }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 202, "{}", r.text().await.unwrap());
        let verification = eventually(20, "the verification request", || async {
            sim.received()
                .into_iter()
                .find(|r| hook.ends_with(&r.path) && r.body.get("verification").is_some())
        })
        .await;
        let confirm = verification.body["verification"]["confirm_url"]
            .as_str()
            .unwrap()
            .to_string();
        let r = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap()
            .post(here(&app, &confirm))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 303);
        assert_eq!(r.headers()["location"], "/subscribe?confirmed=webhook");
        assert_eq!(
            state_of(&app, "webhook", hook).await.as_deref(),
            Some("active")
        );
    }

    // Nothing has changed yet: components run by hand start operational, unannounced. (Looked
    // for here, not waited for: the first announcement below must be the incident's.)
    let changes = vigil_core::store::status::announce_component_changes(&app.pool)
        .await
        .unwrap();
    assert!(changes.is_empty(), "{changes:?}");
    assert!(component_updates(&sim, &site_hook, "site").is_empty());

    // An incident on the website: announced as an incident, then as the component's change.
    let id = incident(&app, &writer, "Website unreachable", "site").await;
    let seen = eventually(20, "the website's component update", || async {
        let u = component_updates(&sim, &site_hook, "site");
        (!u.is_empty()).then_some(u)
    })
    .await;
    assert_eq!(seen, ["operational → partial_outage"]);
    let to_site: Vec<_> = sim
        .received()
        .into_iter()
        .filter(|r| site_hook.ends_with(&r.path) && r.body.get("verification").is_none())
        .collect();
    assert!(
        to_site[0].body.get("incident").is_some(),
        "the incident comes first"
    );
    let update = &to_site[1].body;
    assert_eq!(update["component"]["name"], "Website");
    assert!(update["component_update"]["created_at"].is_string());
    assert!(update["page"]["status_indicator"].is_string());
    assert!(update["meta"]["unsubscribe"]
        .as_str()
        .unwrap()
        .starts_with(&format!("{PUBLIC}/unsubscribe/")));
    // Public words only: no monitor, no reason, nothing from /ops.
    let raw = &to_site[1].raw;
    assert!(!raw.contains("monitor") && !raw.contains("error"), "{raw}");

    // An incident on the API: not for a receiver following the website.
    incident(&app, &writer, "API errors", "api").await;
    self::update(
        &app,
        &writer,
        id,
        json!({ "body": "An update.", "status": "resolved" }),
    )
    .await;
    let seen = eventually(20, "the website's recovery", || async {
        let u = component_updates(&sim, &site_hook, "site");
        (u.len() == 2).then_some(u)
    })
    .await;
    assert_eq!(seen[1], "partial_outage → operational");
    assert!(component_updates(&sim, &site_hook, "api").is_empty());
    // Incidents are not for the maintenance-only receiver.
    assert!(component_updates(&sim, &maint_hook, "site").is_empty());
    assert!(component_updates(&sim, &maint_hook, "api").is_empty());

    // A maintenance on the website: into and out of maintenance, to both receivers.
    let soon = chrono::Utc::now() + chrono::Duration::hours(3);
    let (status, m) = send(
        &app,
        Method::POST,
        "/api/v1/maintenances",
        &writer,
        Some(
            json!({ "name": "Database upgrade", "component_ids": ["site"],
            "scheduled_for": soon, "scheduled_until": soon + chrono::Duration::hours(1) }),
        ),
    )
    .await;
    assert_eq!(status, 201, "{m}");
    let mid = m["id"].as_i64().unwrap();
    start_and_complete(&app, &writer, mid).await;
    let want = [
        "operational → under_maintenance",
        "under_maintenance → operational",
    ];
    for hook in [&site_hook, &maint_hook] {
        let seen = eventually(20, "in and out of maintenance", || async {
            let u = component_updates(&sim, hook, "site");
            (u.len() >= 2 && u[u.len() - 2..] == want).then_some(u)
        })
        .await;
        assert_eq!(seen[seen.len() - 2..], want, "{hook}");
    }

    // Each change was recorded once; looking again finds nothing new.
    let again = vigil_core::store::status::announce_component_changes(&app.pool)
        .await
        .unwrap();
    assert!(again.is_empty(), "{again:?}");
    let recorded: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM events WHERE kind = 'component.status' AND subject = 'site'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(recorded, 4);
    assert_eq!(component_updates(&sim, &site_hook, "site").len(), 4);
}

/// Starts maintenance `id` on the website, then completes it; after each step, waits until the
/// watcher has recorded the website's change (into maintenance, then out of it), so that the
/// time under way is seen however quickly the two steps follow.
async fn start_and_complete(app: &TestApp, token: &str, id: i64) {
    for (step, under_way) in [("in_progress", true), ("completed", false)] {
        let (status, _) = send(
            app,
            Method::PATCH,
            &format!("/api/v1/incidents/{id}"),
            token,
            Some(json!({ "status": step })),
        )
        .await;
        assert_eq!(status, 200);
        eventually(20, "the website's change recorded", || async {
            let latest: Option<String> = sqlx::query_scalar(
                "SELECT payload->>'to' FROM events WHERE kind = 'component.status' \
                 AND subject = 'site' ORDER BY id DESC LIMIT 1",
            )
            .fetch_optional(&app.pool)
            .await
            .unwrap();
            (latest
                .as_deref()
                .is_some_and(|to| (to == "under_maintenance") == under_way))
            .then_some(())
            .ok_or(latest)
        })
        .await;
    }
}

#[tokio::test]
async fn strangers_urls_stay_out_of_the_private_network_and_the_form_is_throttled() {
    let app = spawn_app_with_toml(&format!(
        "{COMPONENTS}\n[subscribers]\nper_ip_per_hour = 8\n"
    ))
    .await;
    let subscribe = |sub: Value| {
        let client = app.client.clone();
        let url = app.url("/api/v2/subscriptions.json");
        async move {
            let r = client
                .post(url)
                .json(&json!({ "subscription": sub }))
                .send()
                .await
                .unwrap();
            let retry = r.headers().get("retry-after").cloned();
            (r.status().as_u16(), retry, r.json::<Value>().await.unwrap())
        }
    };
    for (sub, field, says) in [
        (
            json!({ "endpoint": "http://hooks.example.org/x" }),
            "endpoint",
            "https",
        ),
        (
            json!({ "endpoint": "https://127.0.0.1:8080/x" }),
            "endpoint",
            "loopback",
        ),
        (
            json!({ "endpoint": "https://169.254.169.254/latest/meta-data" }),
            "endpoint",
            "link-local",
        ),
        // A name that resolves to loopback (through /etc/hosts).
        (
            json!({ "endpoint": format!("https://{}/hook", loopback_name()) }),
            "endpoint",
            "resolves to",
        ),
        (
            json!({ "discord_webhook_url": "https://hooks.example.org/api/webhooks/1/a" }),
            "discord_webhook_url",
            "not Discord",
        ),
        (
            json!({ "email": "ada@example.org" }),
            "kind",
            "does not send email",
        ),
    ] {
        let (status, _, body) = subscribe(sub.clone()).await;
        assert_eq!(status, 400, "{sub}: {body}");
        assert_eq!(body["field"], field, "{sub}: {body}");
        assert!(
            body["error"].as_str().unwrap().contains(says),
            "{sub}: {body}"
        );
    }
    let (status, _, body) = subscribe(json!({ "discord_webhook_url": "https://discord.com/api/webhooks/1/a", "components": ["nope"] })).await;
    assert_eq!(
        (status, body["field"].as_str()),
        (400, Some("components")),
        "{body}"
    );
    // Seven requests so far; the eighth is allowed, the ninth refused.
    let (status, _, body) =
        subscribe(json!({ "endpoint": "https://hooks.example.org/x", "surprise": 1 })).await;
    assert_eq!(status, 400, "{body}");
    let (status, retry, body) =
        subscribe(json!({ "endpoint": "https://hooks.example.org/x" })).await;
    assert_eq!(status, 429, "{body}");
    assert!(retry.is_some(), "says when to come back");
    // The form says the same on the page.
    let r = post_form(
        &app,
        &[
            ("kind", "discord"),
            (
                "discord_webhook_url",
                "https://discord.com/api/webhooks/1/a",
            ),
            ("incidents", "on"),
        ],
    )
    .await;
    assert!(location(&r).contains("error=too_many"), "{}", location(&r));
    let none: i64 = sqlx::query_scalar("SELECT count(*) FROM subscribers")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(none, 0, "nothing refused was kept");

    // At delivery, the resolver itself refuses private addresses (a name that changed since).
    let guarded = vigil_server::subscribers::target::client(false);
    let err = guarded
        .post(format!("https://{}:9/x", loopback_name()))
        .send()
        .await
        .unwrap_err();
    assert!(format!("{err:?}").contains("private"), "{err:?}");
}

/// A host name other than `localhost` that /etc/hosts maps to a loopback address (Debian maps the
/// machine's own name so): what a rebinding name looks like to Vigil.
fn loopback_name() -> String {
    std::fs::read_to_string("/etc/hosts")
        .unwrap_or_default()
        .lines()
        .filter(|l| l.trim_start().starts_with("127."))
        .flat_map(|l| {
            l.split_whitespace()
                .skip(1)
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .find(|name| !name.starts_with('#') && !name.to_ascii_lowercase().contains("localhost"))
        .expect(
            "/etc/hosts maps a name besides localhost to 127.x (Debian maps the host's own name)",
        )
}

/// Starts the real binary (the caller waits for what it does: it listens on a port of its own).
fn start_vigil(config: &Path, db_url: &str) -> Child {
    Command::new(env!("CARGO_BIN_EXE_vigil"))
        .args(["--config", config.to_str().unwrap(), "serve"])
        .env("DATABASE_URL", db_url)
        .env("VIGIL_SERVER__ADDR", "127.0.0.1:0")
        .env("VIGIL_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

#[tokio::test]
async fn kill_9_during_a_fan_out_to_5000_loses_nothing_and_repeats_nothing_acknowledged() {
    const N: i64 = 5000;
    let sim = WebhookSim::new();
    sim.set_faults(WebhookFaults {
        delay_ms: 5,
        ..Default::default()
    });
    let base = sim.serve().await.unwrap();
    let (_, db_url) = fresh_database().await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("vigil.toml");
    std::fs::write(
        &config,
        format!("{COMPONENTS}\n[subscribers]\nallow_private_targets = true\nconcurrency = 32\n"),
    )
    .unwrap();
    let pool = sqlx::PgPool::connect(&db_url).await.unwrap();
    let mut first = start_vigil(&config, &db_url);
    eventually(60, "the schema", || async {
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM components")
            .fetch_one(&pool)
            .await
            .ok()
            .filter(|n| *n == 2)
    })
    .await;
    // 5000 confirmed webhook subscribers (an import), then one incident for all of them.
    sqlx::query(
        "INSERT INTO subscribers (kind, target, token, secret, state, created_by, confirmed_at) \
         SELECT 'webhook', $1 || '/hook/s' || n, md5(random()::text) || n, 'k', 'active', 'test', now() \
         FROM generate_series(1, $2) n",
    )
    .bind(&base)
    .bind(N)
    .execute(&pool)
    .await
    .unwrap();
    let news = vigil_core::model::event::EventData::IncidentOpened(
        vigil_core::model::event::IncidentNews {
            id: 0,
            kind: "incident".into(),
            name: "Website unreachable".into(),
            status: "investigating".into(),
            impact: "major".into(),
            body: "Looking into it.".into(),
            components: vec![],
        },
    );
    vigil_core::store::events::append(&pool, "incident:0", &news)
        .await
        .unwrap();
    let queued: i64 = sqlx::query_scalar("SELECT count(*) FROM subscriber_deliveries")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(
        queued, N,
        "one message per subscriber, queued with the event"
    );
    let delivered = || async {
        sqlx::query_scalar::<_, i64>(
            "SELECT count(*) FROM subscriber_deliveries WHERE state = 'delivered'",
        )
        .fetch_one(&pool)
        .await
        .unwrap()
    };
    eventually(60, "the fan-out under way", || async {
        (delivered().await >= 300).then_some(())
    })
    .await;
    first.kill().unwrap(); // SIGKILL: no chance to finish anything
    first.wait().unwrap();
    let acknowledged: Vec<i64> =
        sqlx::query_scalar("SELECT id FROM subscriber_deliveries WHERE state = 'delivered'")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert!((acknowledged.len() as i64) < N, "killed mid-way");

    let mut second = start_vigil(&config, &db_url);
    eventually(120, "every message delivered after the restart", || async {
        (delivered().await == N).then_some(())
    })
    .await;
    second.kill().unwrap();
    second.wait().unwrap();

    let all: Vec<i64> = sqlx::query_scalar("SELECT id FROM subscriber_deliveries")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert_eq!(all.len() as i64, N);
    // Only messages in flight at the kill (at most `concurrency` of them) may arrive twice.
    crate::common::assert_at_least_once(
        sim.received()
            .into_iter()
            .map(|r| r.delivery.unwrap().parse().unwrap()),
        &all,
        &acknowledged,
        32,
    );
}

#[tokio::test]
async fn many_addresses_asking_for_one_inbox_send_it_one_confirmation_and_the_page_has_a_ceiling() {
    let smtp = SmtpServer::start();
    let app = spawn_app_with_toml(&format!(
        "{COMPONENTS}\n[auth]\ntrusted_proxies = [\"127.0.0.1\"]\n\n\
         [subscribers]\nmax_confirmations_per_hour = 5\n\n\
         [smtp]\nhost = \"127.0.0.1\"\nport = {}\nsecurity = \"none\"\nfrom = \"Example Status <status@example.org>\"\n",
        smtp.port
    ))
    .await;
    let ask = |from: String, email: String, components: &'static [&'static str]| {
        let (client, url) = (app.client.clone(), app.url("/api/v2/subscriptions.json"));
        async move {
            let r = client
                .post(url)
                .header("x-forwarded-for", from)
                .json(&json!({ "subscription": { "email": email, "components": components } }))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 202, "{}", r.text().await.unwrap());
        }
    };
    // 60 addresses, 60 spellings of one inbox.
    for i in 0..60 {
        let email = if i % 2 == 0 {
            format!("victim+{i}@example.org")
        } else {
            format!("Victim+{i}@Example.org")
        };
        ask(format!("203.0.113.{i}"), email, &[]).await;
    }
    let inbox = |smtp: &SmtpServer| {
        smtp.mails()
            .into_iter()
            .filter(|m| {
                m["to"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|t| t.as_str().unwrap().to_lowercase().starts_with("victim"))
            })
            .count()
    };
    eventually(20, "the first confirmation arrives", || async {
        (inbox(&smtp) >= 1).then_some(())
    })
    .await;
    // Every confirmation the 60 requests queued has been sent (or there was only ever one).
    let nothing_pending = || async {
        let pending: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM subscriber_deliveries WHERE purpose = 'confirm' AND state = 'pending'",
        )
        .fetch_one(&app.pool)
        .await
        .unwrap();
        (pending == 0)
            .then_some(())
            .ok_or(format!("{pending} confirmations pending"))
    };
    eventually(20, "the confirmation queue drained", nothing_pending).await;
    assert_eq!(inbox(&smtp), 1, "one inbox, one confirmation");

    // Ten more inboxes from ten more addresses: the page's ceiling (5 an hour) holds.
    for i in 0..10 {
        ask(
            format!("198.51.100.{i}"),
            format!("reader{i}@example.org"),
            &[],
        )
        .await;
    }
    eventually(20, "the confirmation queue drained", nothing_pending).await;
    assert!(
        smtp.mails().len() <= 5,
        "{} confirmations",
        smtp.mails().len()
    );
    let held: i64 = sqlx::query_scalar("SELECT count(*) FROM subscribers")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert!(held <= 5, "held-back requests keep nothing ({held} rows)");
}

#[tokio::test]
async fn asking_again_from_the_public_side_changes_nothing_of_a_subscription() {
    let (_sim, base, app, _) = receivers_and_app().await;
    let hook = format!("{base}/hook/statusbot");
    let ask = |secret: &'static str, components: Vec<&'static str>| {
        let (client, url, hook) = (
            app.client.clone(),
            app.url("/api/v2/subscriptions.json"),
            hook.clone(),
        );
        async move {
            let r = client
                .post(url)
                .json(&json!({ "subscription": { "endpoint": hook, "secret": secret, "components": components } }))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 202, "{}", r.text().await.unwrap());
        }
    };
    ask("the-owners-signing-key-0001", vec!["site"]).await;
    let before: (String, Option<String>, Vec<String>) =
        sqlx::query_as("SELECT token, secret, components FROM subscribers")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    // Past every window, a stranger asks for the same endpoint with their own key and components.
    sqlx::query("UPDATE subscribers SET confirm_sent_at = now() - interval '2 hours'")
        .execute(&app.pool)
        .await
        .unwrap();
    sqlx::query("DELETE FROM request_windows")
        .execute(&app.pool)
        .await
        .unwrap();
    ask("a-strangers-signing-key-0002", vec!["api"]).await;
    let after: (String, Option<String>, Vec<String>) =
        sqlx::query_as("SELECT token, secret, components FROM subscribers")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(before, after);
}

/// A receiver that takes connections and never answers.
async fn black_hole() -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((s, _)) = listener.accept().await {
            held.push(s);
        }
    });
    addr
}

#[tokio::test]
async fn two_thousand_endpoints_that_never_answer_do_not_delay_a_confirmed_subscribers_mail() {
    let smtp = SmtpServer::start();
    let app = spawn_app_with_toml(&format!(
        "{COMPONENTS}\n[subscribers]\nallow_private_targets = true\n\n\
         [smtp]\nhost = \"127.0.0.1\"\nport = {}\nsecurity = \"none\"\nfrom = \"Example Status <status@example.org>\"\n",
        smtp.port
    ))
    .await;
    let (_, admin) = create_token(&app, &[Scope::Admin]).await;
    let (_, writer) = create_token(&app, &[Scope::IncidentsWrite]).await;
    let (status, body) = send(
        &app,
        Method::POST,
        "/api/v1/subscribers",
        &admin,
        Some(json!({ "email": "reader@example.org", "confirmed": true })),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    // 2,000 requests from strangers, each naming an endpoint that never answers, queued before
    // the incident (older, so first in a single oldest-first queue).
    let hole = black_hole().await;
    sqlx::query(
        "WITH s AS (INSERT INTO subscribers (kind, target, token, secret, state, expires_at, created_by, confirm_sent_at) \
           SELECT 'webhook', 'http://' || $1 || '/hole/' || i, md5(random()::text || i), 'a-signing-key-0123456789', \
                  'pending', now() + interval '1 day', 'public', now() \
           FROM generate_series(1, 2000) i RETURNING id) \
         INSERT INTO subscriber_deliveries (subscriber_id, purpose) SELECT id, 'confirm' FROM s",
    )
    .bind(hole.to_string())
    .execute(&app.pool)
    .await
    .unwrap();
    // The worker is busy with them before the incident comes.
    eventually(20, "the first tries at the black holes", || async {
        let tried: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM subscriber_deliveries WHERE purpose = 'confirm' AND attempts > 0",
        )
        .fetch_one(&app.pool)
        .await
        .unwrap();
        (tried > 0).then_some(()).ok_or(tried)
    })
    .await;

    let opened = std::time::Instant::now();
    incident(&app, &writer, "Checkout failing", "site").await;
    eventually(30, "the confirmed subscriber's mail", || async {
        (!smtp.to("reader@example.org").is_empty()).then_some(())
    })
    .await;
    let waited = opened.elapsed();
    assert!(
        waited < Duration::from_secs(10),
        "the incident mail waited {waited:?} behind unconfirmed endpoints"
    );
    // The black holes get few tries each, briefly.
    let tries: Option<i32> = sqlx::query_scalar(
        "SELECT max(attempts) FROM subscriber_deliveries WHERE purpose = 'confirm'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert!(tries.unwrap_or(0) <= 3, "{tries:?}");
}

/// Counts every connection it takes (and answers 200).
async fn counting_receiver() -> (u16, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    };
    let hits = Arc::new(AtomicUsize::new(0));
    let listener = tokio::net::TcpListener::bind("0.0.0.0:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let counted = hits.clone();
    tokio::spawn(async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        while let Ok((mut s, _)) = listener.accept().await {
            counted.fetch_add(1, Ordering::SeqCst);
            let mut buf = vec![0u8; 8192];
            let _ = s.read(&mut buf).await;
            let _ = s
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                .await;
        }
    });
    (port, hits)
}

#[tokio::test]
async fn deliveries_into_the_private_network_are_refused_however_the_row_got_there() {
    let app = spawn_app_with_toml(COMPONENTS).await;
    let (_, writer) = create_token(&app, &[Scope::IncidentsWrite]).await;
    let (port, hits) = counting_receiver().await;
    // Written straight into the database: a private address, and a name that resolves to
    // loopback (what a rebinding name looks like once it has turned).
    let targets = [
        format!("https://127.0.0.1:{port}/hook"),
        format!("https://10.0.0.7:{port}/hook"),
        format!("https://{}:{port}/hook", loopback_name()),
    ];
    for (i, t) in targets.iter().enumerate() {
        sqlx::query(
            "INSERT INTO subscribers (kind, target, token, secret, state, created_by, confirmed_at) \
             VALUES ('webhook', $1, $2, 'a-signing-key-0123456789', 'active', 'test', now())",
        )
        .bind(t)
        .bind(format!("token-{i}"))
        .execute(&app.pool)
        .await
        .unwrap();
    }
    incident(&app, &writer, "Checkout failing", "site").await;
    // Bounded generously: under the whole suite's load the lane's lease and a name's lookup
    // can take a while; alone it is under a second.
    eventually(60, "every delivery ends as refused", || async {
        let subscribers: Vec<(String, String, Option<String>)> =
            sqlx::query_as("SELECT target, state, state_reason FROM subscribers ORDER BY id")
                .fetch_all(&app.pool)
                .await
                .map_err(|e| e.to_string())?;
        let deliveries: Vec<(i64, String, i32)> = sqlx::query_as(
            "SELECT subscriber_id, state, attempts FROM subscriber_deliveries ORDER BY id",
        )
        .fetch_all(&app.pool)
        .await
        .map_err(|e| e.to_string())?;
        let refused = subscribers.iter().all(|(_, state, reason)| {
            state == "deactivated"
                && reason
                    .as_deref()
                    .is_some_and(|r| r.contains("no longer allowed"))
        });
        let pending = deliveries.iter().any(|(_, state, _)| state == "pending");
        if refused && !pending && subscribers.len() == 3 {
            Ok(())
        } else {
            Err(format!(
                "subscribers {subscribers:?}; deliveries {deliveries:?}"
            ))
        }
    })
    .await;
    assert_eq!(
        hits.load(std::sync::atomic::Ordering::SeqCst),
        0,
        "nothing reached the receiver"
    );
}

#[tokio::test]
async fn a_message_queued_behind_a_waiting_head_is_not_due_before_it() {
    use vigil_core::store::subscribers::{due, next_due, Lane};
    let (_db, url) = crate::common::fresh_database().await;
    let pool = sqlx::PgPool::connect(&url).await.unwrap();
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO subscribers (kind, target, token, state, created_by) \
         VALUES ('webhook', 'https://hooks.example/1', 'token-1', 'active', 'test') RETURNING id",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    // The head waits out a 429 for a minute; the message behind it was queued just now.
    for wait in [60, 0] {
        sqlx::query(
            "INSERT INTO subscriber_deliveries (subscriber_id, purpose, next_attempt_at) \
             VALUES ($1, 'event', now() + make_interval(secs => $2))",
        )
        .bind(id)
        .bind(wait as f64)
        .execute(&pool)
        .await
        .unwrap();
    }
    assert!(due(&pool, 10, Lane::Subscribers).await.unwrap().is_empty());
    // Nothing is due before the head: a worker sleeping until "now" would spin meanwhile.
    let next = next_due(&pool, Lane::Subscribers).await.unwrap().unwrap();
    let ahead = next - chrono::Utc::now();
    assert!(ahead > chrono::Duration::seconds(50), "due in {ahead}");
    assert_eq!(next_due(&pool, Lane::Confirmations).await.unwrap(), None);
}
