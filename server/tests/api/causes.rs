//! The chain of causes, over the simulator's whole world playing a scenario five times faster
//! than real time: Vigil watches it as the demo does (probes through the balancer, Linode,
//! node_exporters, Kubernetes, the provider's page, a Discord channel), opens its incident, and
//! the chain it proposes is asserted link by link — the seed's down to the over-scheduled node,
//! a provider's outage ending at the provider, and an application's own error explained by
//! nothing.

use std::io::Write;

use serde_json::Value;
use vigil_core::model::auth::Scope;
use vigil_sim::{scenario::Scenario, world::SimWorld};

use vigil_core::model::auth::Role;

use crate::common::{
    access::{create_token, signed_in},
    config_from_toml, eventually, fresh_database, spawn_with, TestApp,
};

/// Scenario seconds per real second.
const SPEED: f64 = 5.0;

/// One replay at a time: each polls a whole simulated world every second, and three at once
/// load the machine the rest of the suite shares.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

struct Replay {
    _turn: tokio::sync::MutexGuard<'static, ()>,
    sim: SimWorld,
    app: TestApp,
    token: String,
    _token_file: tempfile::NamedTempFile,
}

/// Vigil watching a fresh simulated world, the scenario played up to `until` (scenario seconds).
async fn replay(scenario: &str, until: u64) -> Replay {
    let turn = ONE_AT_A_TIME.lock().await;
    let sim = SimWorld::start(None, "causes-token", 600).await.unwrap();
    let mut token_file = tempfile::NamedTempFile::new().unwrap();
    writeln!(token_file, "causes-token").unwrap();
    let p = &sim.ports;
    let token_path = token_file.path().display();
    let monitor = |name: &str, component: &str, port: u16| {
        format!(
            "[[monitor]]\nname = \"{name}\"\ncomponent = \"{component}\"\nkind = \"http\"\n\
             url = \"http://127.0.0.1:{port}/\"\ninterval_secs = 1\ntimeout_ms = 800\n\
             via = \"lke-ingress\"\n"
        )
    };
    let config = format!(
        r#"
[probes]
min_interval_secs = 1
down_after = 2
up_after = 2

[incidents]
correlation_window_secs = 600
quiet_period_secs = 600
# The scenario runs five times faster: four seconds here are twenty of the seed's.
cause_lag_secs = 4

[linode]
enabled = true
api_url = "http://127.0.0.1:{linode}/v4"
token_file = "{token_path}"
poll_secs = 5
flap_changes = 3
flap_window_secs = 120
stats_secs = 3600

[[node_exporter]]
node = "lke-node-a"
url = "http://127.0.0.1:{a}/metrics"
interval_secs = 1

[[node_exporter]]
node = "lke-node-b"
url = "http://127.0.0.1:{b}/metrics"
interval_secs = 1

[[resources.alert]]
metric = "memory"
above = 0.9
for_secs = 2

[[kubernetes]]
name = "lke"
url = "http://127.0.0.1:{kube}"
token_file = "{token_path}"
interval_secs = 5

[[upstream]]
name = "Linode"
url = "http://127.0.0.1:{provider}"
components = ["NodeBalancers"]
interval_secs = 60
hosts = ["lke-ingress", "lke"]

[[notify]]
name = "team-discord"
kind = "discord"
url = "http://127.0.0.1:{hooks}/api/webhooks/1/causes"

[[component]]
id = "site"
name = "Website"

[[component]]
id = "bitwarden"
name = "Bitwarden"

[[component]]
id = "grafana"
name = "Grafana"

{site}
{bitwarden}
{grafana}
"#,
        linode = p.linode,
        a = p.exporters[0],
        b = p.exporters[1],
        kube = p.kubernetes,
        provider = p.provider,
        hooks = p.webhooks,
        site = monitor("site-http", "site", p.services[0]),
        grafana = monitor("grafana-http", "grafana", p.services[1]),
        bitwarden = monitor("bitwarden-http", "bitwarden", p.services[2]),
    );
    // Validated as an operator's file would be, then polled faster than real APIs allow: the
    // scenario itself runs five times faster.
    let (db_name, url) = fresh_database().await;
    let mut config = config_from_toml(&config, &url);
    config.linode.poll_secs = 1;
    config.upstreams[0].interval_secs = 1;
    config.kubernetes[0].interval_secs = 1;
    let app = spawn_with(config, db_name).await;
    let (_, token) = create_token(&app, &[Scope::Read, Scope::PostmortemsWrite]).await;
    let scenario = Scenario::parse(scenario).unwrap();
    // Vigil has seen the healthy world (backends, nodes, the provider) before it begins.
    eventually(30, "Vigil to see the balancer's four backends", || async {
        let n: i64 = sqlx::query_scalar("SELECT count(*) FROM lb_backends")
            .fetch_one(&app.pool)
            .await
            .unwrap();
        (n == 4).then_some(()).ok_or(n)
    })
    .await;
    sim.play(&scenario, SPEED, Some(until)).await;
    Replay {
        _turn: turn,
        sim,
        app,
        token,
        _token_file: token_file,
    }
}

impl Replay {
    async fn incident(&self) -> i64 {
        eventually(30, "an automatic incident", || async {
            sqlx::query_scalar::<_, i64>("SELECT id FROM incidents ORDER BY id LIMIT 1")
                .fetch_optional(&self.app.pool)
                .await
                .unwrap()
        })
        .await
    }

    async fn causes(&self, id: i64) -> Value {
        self.app
            .get_json(&format!("/api/v1/incidents/{id}/causes"), &self.token)
            .await
    }

    /// The chains, once `ready` holds of them (the evidence arrives poll by poll).
    async fn causes_when(&self, id: i64, what: &str, ready: impl Fn(&Value) -> bool) -> Value {
        eventually(20, what, || async {
            let c = self.causes(id).await;
            if ready(&c) {
                Ok(c)
            } else {
                Err(c)
            }
        })
        .await
    }
}

fn elements(chain: &Value) -> Vec<&str> {
    chain["links"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["element"].as_str().unwrap())
        .collect()
}

fn says(chain: &Value, i: usize) -> &str {
    chain["links"][i]["says"].as_str().unwrap()
}

#[tokio::test]
async fn the_seed_replay_yields_the_chain_down_to_the_over_scheduled_node() {
    let r = replay(include_str!("../../../sim/scenarios/seed.toml"), 250).await;
    let id = r.incident().await;
    // Linode's incident is read within a second or two of being posted.
    let causes = r
        .causes_when(id, "Linode's incident among what is not the cause", |c| {
            c["also"]
                .as_array()
                .is_some_and(|a| a.iter().any(|l| l["subject"] == "Linode"))
        })
        .await;
    let best = &causes["chains"][0];
    assert_eq!(
        elements(best),
        [
            "components",
            "load_balancer",
            "backends",
            "node",
            "requests"
        ],
        "{causes:#}"
    );
    assert!(
        best["links"]
            .as_array()
            .unwrap()
            .iter()
            .all(|l| l["strength"] == "precedes"),
        "{causes:#}"
    );
    let symptoms = says(best, 0);
    for name in ["Website", "Bitwarden", "Grafana"] {
        assert!(symptoms.contains(name), "{symptoms}");
    }
    assert_eq!(
        says(best, 1),
        "the load balancer lke-ingress had no backend steadily up on :80 and :443"
    );
    assert_eq!(
        says(best, 2),
        "both backends on lke-node-b were flapping (:80, :443)"
    );
    assert_eq!(says(best, 3), "lke-node-b memory pressure");
    let node_evidence = best["links"][3]["evidence"].to_string();
    for word in ["MemoryPressure", "memory > 90 %", "api-0 OOM-killed"] {
        assert!(node_evidence.contains(word), "{word}: {node_evidence}");
    }
    // The simulator's node b: 5.5 GiB of pods, then batch-0's 3 GiB, against 7.5 GiB.
    let requests = says(best, 4);
    assert!(
        requests.starts_with("pods on lke-node-b requested ")
            && requests.contains("of its 7.5 GiB allocatable"),
        "{requests}"
    );
    // Each link began no later than the one it explains (within the configured lag).
    let began: Vec<chrono::DateTime<chrono::Utc>> = best["links"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["began_at"].as_str().unwrap().parse().unwrap())
        .collect();
    for w in began.windows(2) {
        assert!(w[1] <= w[0] + chrono::Duration::seconds(4), "{began:?}");
    }
    let linode = causes["also"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["subject"] == "Linode")
        .unwrap();
    assert_eq!(linode["strength"], "coincident", "{causes:#}");
    assert!(causes["summary"]
        .as_str()
        .unwrap()
        .starts_with("Vigil's evidence points to lke-node-b memory pressure"));

    // The map it walked: the monitors as declared, each backend on the node whose InternalIP
    // its address is (as the simulated Kubernetes API reports it), and ops can see it drawn.
    let deps = r.app.get_json("/api/v1/dependencies", &r.token).await;
    let monitors: Vec<&str> = deps["monitors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["monitor"].as_str().unwrap())
        .collect();
    assert_eq!(monitors, ["bitwarden-http", "grafana-http", "site-http"]);
    for b in deps["backends"].as_array().unwrap() {
        let ip = if b["address"].as_str().unwrap().starts_with("192.168.200.11") {
            "lke-node-a"
        } else {
            "lke-node-b"
        };
        assert_eq!(b["node"], ip, "{b}");
        assert_eq!(b["matched_by"], "address", "{b}");
    }
    let viewer = signed_in(&r.app, "vera", Role::Viewer).await;
    let page = r.app.text_as(&viewer, "/ops/dependencies").await;
    assert!(page.contains("lke-node-b (address)"), "{page}");
    assert!(page.contains("hosted by Linode"), "{page}");

    // The team's channel heard the likely cause with the incident's news.
    eventually(30, "a Discord message with the likely cause", || async {
        let messages: Vec<String> = r
            .sim
            .webhooks
            .received()
            .iter()
            .map(|m| m.body["embeds"][0]["description"].to_string())
            .collect();
        messages
            .iter()
            .any(|m| m.contains("likely cause: lke-node-b memory pressure (requests "))
            .then_some(())
            .ok_or(messages)
    })
    .await;

    // The drafted post-mortem: Five Whys from the chain with cited times, a short lead-up.
    let resp = reqwest::Client::new()
        .post(r.app.url(&format!("/api/v1/incidents/{id}/postmortem")))
        .bearer_auth(&r.token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let pm: Value = resp.json().await.unwrap();
    let body = pm["body"].as_str().unwrap();
    let section = |name: &str| -> String {
        let start = body.find(&format!("## {name}\n")).unwrap();
        let rest = &body[start + 4..];
        rest[..rest.find("\n## ").unwrap_or(rest.len())].to_string()
    };
    let whys = section("Five Whys");
    assert!(whys.contains("_Vigil's suggestion"), "{whys}");
    assert!(
        whys.contains("1. Why? the load balancer lke-ingress had no backend steadily up"),
        "{whys}"
    );
    assert!(
        whys.contains("2. Why? both backends on lke-node-b were flapping"),
        "{whys}"
    );
    assert!(
        whys.contains("3. Why? lke-node-b memory pressure — "),
        "{whys}"
    );
    assert!(
        whys.contains("4. Why? pods on lke-node-b requested"),
        "{whys}"
    );
    assert!(whys.contains("Not the cause (coincident"), "{whys}");
    // Each why cites when its evidence began: (HH:MM:SS).
    let cited = regex_lite_times(&whys);
    assert!(cited >= 4, "{whys}");
    let root = section("Blameless root cause");
    assert!(
        root.contains("lke-node-b memory pressure (requests"),
        "{root}"
    );
    assert!(root.contains("capacity"), "{root}");
    let leadup = section("Leadup");
    let lines: Vec<&str> = leadup.lines().filter(|l| !l.trim().is_empty()).collect();
    assert!(lines.len() < 20, "{leadup}");
    // A link to the full timeline, which the rendered post-mortem anchors.
    assert!(leadup.contains("[Timeline](#section-timeline)"), "{leadup}");
    assert!(
        vigil_core::render::markdown_to_html(body).contains("id=\"section-timeline\""),
        "the timeline's heading is the link's anchor"
    );
    // The chain's ends are in it: the requests that over-scheduled the node, the sites failing.
    assert!(
        leadup.contains("pod requests / allocatable on lke-node-b"),
        "{leadup}"
    );
    assert!(leadup.contains("up → down"), "{leadup}");
}

/// How many `(HH:MM:SS UTC)` times a text cites.
fn regex_lite_times(text: &str) -> usize {
    text.match_indices('(')
        .filter(|(i, _)| {
            let t = &text[i + 1..];
            t.len() >= 13
                && t.as_bytes()[2] == b':'
                && t.as_bytes()[5] == b':'
                && &t[8..13] == " UTC)"
                && t[..8].chars().filter(|c| c.is_ascii_digit()).count() == 6
        })
        .count()
}

#[tokio::test]
async fn a_providers_balancer_failing_on_healthy_nodes_ends_the_chain_at_its_incident() {
    let r = replay(
        include_str!("../../../sim/scenarios/provider-outage.toml"),
        130,
    )
    .await;
    let id = r.incident().await;
    let causes = r
        .causes_when(id, "a chain through the balancer", |c| {
            c["chains"][0]["links"][1]["element"] == "load_balancer"
        })
        .await;
    let best = &causes["chains"][0];
    assert_eq!(
        elements(best),
        ["components", "load_balancer", "provider"],
        "{causes:#}"
    );
    assert_eq!(
        says(best, 2),
        "Linode reported \"Connectivity issue affecting NodeBalancers in eu-west\""
    );
    assert_eq!(best["links"][2]["strength"], "precedes");
    // The nodes recorded nothing: no chain reaches a node.
    assert!(causes["chains"]
        .as_array()
        .unwrap()
        .iter()
        .all(|c| !elements(c).contains(&"node")));
}

#[tokio::test]
async fn an_application_failing_on_healthy_infrastructure_gets_no_invented_chain() {
    let r = replay(include_str!("../../../sim/scenarios/app-error.toml"), 60).await;
    let id = r.incident().await;
    // Wait until the failure itself is recorded, then for a few more polls of every source.
    eventually(20, "the site's failure to be recorded", || async {
        let c = r.causes(id).await;
        let n: i64 = sqlx::query_scalar("SELECT count(*) FROM events WHERE kind = 'monitor.state'")
            .fetch_one(&r.app.pool)
            .await
            .unwrap();
        (n > 0).then_some(c).ok_or(n)
    })
    .await;
    let since = chrono::Utc::now();
    eventually(
        20,
        "Linode to be polled again after the failure",
        || async {
            let seen: Option<chrono::DateTime<chrono::Utc>> =
                sqlx::query_scalar("SELECT min(seen_at) FROM lb_backends")
                    .fetch_one(&r.app.pool)
                    .await
                    .unwrap();
            seen.filter(|s| *s > since).ok_or(seen)
        },
    )
    .await;
    let causes = r.causes(id).await;
    assert_eq!(causes["chains"], serde_json::json!([]), "{causes:#}");
    assert!(causes["summary"]
        .as_str()
        .unwrap()
        .starts_with("No infrastructure cause in Vigil's evidence"));
}
