//! Follow-ups tracked as GitHub issues, against the simulator's GitHub REST API over real HTTP:
//! issues opened for the follow-ups that want one, their state followed (conditional reads that
//! GitHub answers 304), a deleted issue, a revoked then rotated token, and the signed `issues`
//! webhook.

use reqwest::Method;
use serde_json::{json, Value};
use vigil_core::model::auth::Scope;
use vigil_sim::github::GithubSim;

use crate::common::{access::create_token, eventually, send, spawn_app_with_toml, TestApp};

const REPO: &str = "example/infra";

struct World {
    app: TestApp,
    sim: GithubSim,
    writer: String,
    incident: i64,
    token_file: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

/// Vigil with `[github]` on the simulator, an incident and its post-mortem drafted.
async fn world(poll_secs: u64, extra: &str) -> World {
    let sim = GithubSim::new(REPO, "good-token");
    let api = sim.serve().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("github-token");
    std::fs::write(&token_file, "good-token\n").unwrap();
    let secret_file = dir.path().join("github-webhook-secret");
    std::fs::write(&secret_file, "hook-secret\n").unwrap();
    let app = spawn_app_with_toml(&format!(
        "[[component]]\nid = \"site\"\nname = \"Website\"\n\n[incidents]\nautomatic = false\n\n\
         [server]\npublic_url = \"https://status.example.org\"\n\n\
         [github]\nrepository = \"{REPO}\"\napi_url = \"{api}\"\ntoken_file = \"{}\"\n\
         webhook_secret_file = \"{}\"\npoll_secs = {poll_secs}\n{extra}\n",
        token_file.display(),
        secret_file.display()
    ))
    .await;
    let (_, writer) = create_token(
        &app,
        &[Scope::IncidentsWrite, Scope::PostmortemsWrite, Scope::Read],
    )
    .await;
    let (status, created) = send(&app, Method::POST, "/api/v1/incidents", &writer,
        Some(json!({ "name": "Website unreachable", "impact": "major", "component_ids": ["site"], "body": "Down." }))).await;
    assert_eq!(status, 201, "{created}");
    let incident = created["id"].as_i64().unwrap();
    let (status, _) = send(
        &app,
        Method::POST,
        &format!("/api/v1/incidents/{incident}/postmortem"),
        &writer,
        None,
    )
    .await;
    assert_eq!(status, 201);
    World {
        app,
        sim,
        writer,
        incident,
        token_file,
        _dir: dir,
    }
}

impl World {
    async fn add(&self, title: &str, github_issue: Option<bool>) -> (u16, Value) {
        let mut body = json!({ "title": title });
        if let Some(g) = github_issue {
            body["github_issue"] = json!(g);
        }
        send(
            &self.app,
            Method::POST,
            &format!("/api/v1/incidents/{}/postmortem/follow-ups", self.incident),
            &self.writer,
            Some(body),
        )
        .await
    }

    async fn item(&self, title: &str) -> Value {
        let (_, list) = send(
            &self.app,
            Method::GET,
            "/api/v1/follow-ups?status=all",
            &self.writer,
            None,
        )
        .await;
        list["follow_ups"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["title"] == title)
            .cloned()
            .unwrap_or_else(|| panic!("no follow-up {title}: {list}"))
    }

    /// Waits until `title`'s item satisfies `ok`.
    async fn until(&self, what: &str, title: &str, ok: impl Fn(&Value) -> bool) -> Value {
        eventually(20, what, || async {
            let f = self.item(title).await;
            ok(&f).then_some(f)
        })
        .await
    }

    fn reads_of(&self, number: u64) -> Vec<String> {
        let path = format!("GET /repos/{REPO}/issues/{number} ");
        self.sim
            .log()
            .into_iter()
            .filter(|l| l.starts_with(&path))
            .collect()
    }

    async fn webhook(&self, event: &str, body: &Value, secret: Option<&str>) -> (u16, Value) {
        let delivery = uuid::Uuid::new_v4().to_string();
        self.webhook_delivery(event, body, secret, &delivery).await
    }

    /// A delivery with the id GitHub gave it (`X-GitHub-Delivery`).
    async fn webhook_delivery(
        &self,
        event: &str,
        body: &Value,
        secret: Option<&str>,
        delivery: &str,
    ) -> (u16, Value) {
        let raw = serde_json::to_vec(body).unwrap();
        let mut req = self
            .app
            .client
            .post(self.app.url("/api/v1/github/webhook"))
            .header("x-github-event", event)
            .header("x-github-delivery", delivery)
            .header("content-type", "application/json");
        if let Some(secret) = secret {
            req = req.header(
                "x-hub-signature-256",
                vigil_server::subscribers::worker::signature(secret, &raw),
            );
        }
        let r = req.body(raw).send().await.unwrap();
        let status = r.status().as_u16();
        let text = r.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }
}

#[tokio::test]
async fn follow_ups_open_issues_and_follow_their_state() {
    let w = world(1, "open_by_default = true").await;
    // The checklist's item (nobody said: open_by_default), one asked for, one declined.
    let pm = format!("/api/v1/incidents/{}/postmortem", w.incident);
    let (_, draft) = send(&w.app, Method::GET, &pm, &w.writer, None).await;
    let text = draft["body"].as_str().unwrap().replace(
        "## Follow-up tasks",
        "## Follow-up tasks\n\n- [ ] Monitor for follow up from Linode",
    );
    let (status, saved) = send(
        &w.app,
        Method::PUT,
        &pm,
        &w.writer,
        Some(json!({ "base_revision": draft["revision"], "body": text })),
    )
    .await;
    assert_eq!(status, 200, "{saved}");
    let (status, _) = w.add("Cap requests below allocatable", Some(true)).await;
    assert_eq!(status, 201);
    let (status, declined) = w.add("Tell the team", Some(false)).await;
    assert_eq!(status, 201);
    assert!(declined["github"].is_null(), "{declined}");

    let linode = w
        .until(
            "the checklist's issue",
            "Monitor for follow up from Linode",
            |f| f["github"]["number"].is_i64(),
        )
        .await;
    let cap = w
        .until(
            "the asked-for issue",
            "Cap requests below allocatable",
            |f| f["github"]["number"].is_i64(),
        )
        .await;
    let (n_linode, n_cap) = (
        linode["github"]["number"].as_u64().unwrap(),
        cap["github"]["number"].as_u64().unwrap(),
    );
    assert_eq!(linode["github"]["state"], "open");
    assert_eq!(
        linode["link"], linode["github"]["url"],
        "the issue is the link"
    );
    assert!(linode["github"]["url"]
        .as_str()
        .unwrap()
        .starts_with("https://github.com/example/infra/issues/"));
    let issues = w.sim.issues();
    assert_eq!(issues.len(), 2, "nothing opened for the declined item");
    let opened = issues.iter().find(|i| i.number == n_linode).unwrap();
    assert_eq!(opened.labels, ["follow-up"]);
    assert!(
        opened.body.contains(&format!(
            "https://status.example.org/ops/incidents/{}",
            w.incident
        )),
        "{}",
        opened.body
    );

    // Conditional reads: while nothing changes GitHub answers 304.
    eventually(20, "a 304 for an unchanged issue", || async {
        w.reads_of(n_linode)
            .iter()
            .any(|l| l.ends_with(" 304"))
            .then_some(())
    })
    .await;

    // Closed as completed: done. Closed as not planned: won't do. Reopened: open.
    w.sim.close(n_linode, "completed");
    w.until("done", "Monitor for follow up from Linode", |f| {
        f["status"] == "done"
    })
    .await;
    w.sim.close(n_cap, "not_planned");
    w.until("won't do", "Cap requests below allocatable", |f| {
        f["status"] == "wont_do"
    })
    .await;
    w.sim.reopen(n_cap);
    let cap = w
        .until("open again", "Cap requests below allocatable", |f| {
            f["status"] == "open"
        })
        .await;
    assert_eq!(cap["github"]["state"], "open");
    let audited: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM audit_log WHERE actor = 'github' AND action = 'follow_up.update'",
    )
    .fetch_one(&w.app.pool)
    .await
    .unwrap();
    assert_eq!(audited, 3);

    // A deleted issue: said, no longer read, and the follow-up keeps its status.
    w.sim.delete(n_linode);
    let gone = w
        .until(
            "the deleted issue noticed",
            "Monitor for follow up from Linode",
            |f| f["github"]["state"] == "deleted",
        )
        .await;
    assert_eq!(gone["status"], "done");
    assert!(
        gone["github"]["error"].as_str().unwrap().contains("404"),
        "{gone}"
    );
    // Two more readings of an issue still linked show that the poller went on; the deleted one
    // was not among what they read.
    let reads = w.reads_of(n_linode).len();
    let live = w.reads_of(n_cap).len();
    eventually(20, "two more readings of the linked issues", || async {
        let now = w.reads_of(n_cap).len();
        (now >= live + 2).then_some(()).ok_or(now)
    })
    .await;
    assert_eq!(
        w.reads_of(n_linode).len(),
        reads,
        "a deleted issue is not read again"
    );

    // The token is revoked: 401, said on the item and on the data source; a rotated token in
    // the file is picked up without a restart.
    w.sim.set_token("rotated-token");
    let (status, _) = w
        .add("Alert on requests above allocatable", Some(true))
        .await;
    assert_eq!(status, 201);
    let refused = w
        .until("the 401 said", "Alert on requests above allocatable", |f| {
            f["github"]["error"].is_string()
        })
        .await;
    assert!(refused["github"]["number"].is_null());
    assert!(
        refused["github"]["error"].as_str().unwrap().contains("401"),
        "{refused}"
    );
    let source_error: Option<String> =
        sqlx::query_scalar("SELECT last_error FROM sources WHERE name = 'github'")
            .fetch_one(&w.app.pool)
            .await
            .unwrap();
    assert!(source_error.unwrap().contains("401"));
    std::fs::write(&w.token_file, "rotated-token\n").unwrap();
    let fixed = w
        .until(
            "opened with the new token",
            "Alert on requests above allocatable",
            |f| f["github"]["number"].is_i64(),
        )
        .await;
    assert!(fixed["github"]["error"].is_null(), "{fixed}");
    assert_eq!(w.sim.issues().len(), 3);
}

#[tokio::test]
async fn the_issues_webhook_is_taken_only_when_signed() {
    // Polling once an hour: what changes here is the webhook's doing.
    let w = world(3600, "").await;
    let (status, _) = w.add("Cap requests below allocatable", None).await;
    assert_eq!(status, 201);
    let (status, body) = w.add("Alert on requests", Some(true)).await;
    assert_eq!(status, 201, "{body}");
    let item = w
        .until("the issue opened", "Alert on requests", |f| {
            f["github"]["number"].is_i64()
        })
        .await;
    // The worker has taken up the later follow-up, so it has seen the earlier one too.
    let titles: Vec<String> = w.sim.issues().iter().map(|i| i.title.clone()).collect();
    assert_eq!(
        titles,
        ["Alert on requests"],
        "only the one asked for: open_by_default is off"
    );
    let number = item["github"]["number"].as_i64().unwrap();
    let closed = json!({ "action": "closed",
        "issue": { "number": number, "state": "closed", "state_reason": "completed" },
        "repository": { "full_name": REPO } });

    // Unsigned, or signed with another secret: refused, naming the header; nothing changes.
    for secret in [None, Some("not-the-secret")] {
        let (status, body) = w.webhook("issues", &closed, secret).await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(body["field"], "X-Hub-Signature-256", "{body}");
    }
    assert_eq!(w.item("Alert on requests").await["status"], "open");
    // A ping, and news of another repository: taken, nothing to do.
    let (status, _) = w
        .webhook(
            "ping",
            &json!({ "zen": "Keep it logically awesome." }),
            Some("hook-secret"),
        )
        .await;
    assert_eq!(status, 204);
    let mut elsewhere = closed.clone();
    elsewhere["repository"]["full_name"] = json!("someone/else");
    let (status, _) = w.webhook("issues", &elsewhere, Some("hook-secret")).await;
    assert_eq!(status, 204);
    assert_eq!(w.item("Alert on requests").await["status"], "open");

    // Signed: the follow-up is done at once, long before the next reading.
    let (status, _) = w.webhook("issues", &closed, Some("hook-secret")).await;
    assert_eq!(status, 204);
    let done = w.item("Alert on requests").await;
    assert_eq!(done["status"], "done");
    assert_eq!(done["github"]["state"], "closed");

    // A captured signed delivery sent again is answered 200 and changes nothing.
    let reopened = json!({ "action": "reopened",
        "issue": { "number": number, "state": "open", "state_reason": "reopened" },
        "repository": { "full_name": REPO } });
    let (status, _) = w
        .webhook_delivery(
            "issues",
            &reopened,
            Some("hook-secret"),
            "delivery-reopen-1",
        )
        .await;
    assert_eq!(status, 204);
    assert_eq!(w.item("Alert on requests").await["status"], "open");
    let (status, _) = w.webhook("issues", &closed, Some("hook-secret")).await;
    assert_eq!(status, 204);
    assert_eq!(w.item("Alert on requests").await["status"], "done");
    let (status, _) = w
        .webhook_delivery(
            "issues",
            &reopened,
            Some("hook-secret"),
            "delivery-reopen-1",
        )
        .await;
    assert_eq!(status, 200, "a replay is taken without effect");
    assert_eq!(w.item("Alert on requests").await["status"], "done");

    let deleted = json!({ "action": "deleted",
        "issue": { "number": number, "state": "closed", "state_reason": "completed" },
        "repository": { "full_name": REPO } });
    let (status, _) = w.webhook("issues", &deleted, Some("hook-secret")).await;
    assert_eq!(status, 204);
    let gone = w.item("Alert on requests").await;
    assert_eq!(gone["github"]["state"], "deleted");
    assert_eq!(gone["status"], "done");

    // Where GitHub webhooks are not taken, the answer is a plain 404.
    let plain = spawn_app_with_toml(
        "[[component]]\nid = \"site\"\nname = \"Website\"\n\n[incidents]\nautomatic = false\n",
    )
    .await;
    let (status, body) = plain
        .client
        .post(plain.url("/api/v1/github/webhook"))
        .header("x-github-event", "issues")
        .body("{}")
        .send()
        .await
        .map(|r| (r.status().as_u16(), r))
        .unwrap();
    assert_eq!(status, 404);
    // A plain 404: nothing of the configuration (settings, files, errors) for strangers.
    let said = body.text().await.unwrap();
    assert!(
        !said.contains("github") && !said.contains("secret") && said.len() < 80,
        "{said}"
    );
}
