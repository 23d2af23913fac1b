//! Kubernetes clusters, against the simulator's API server (list + watch over real HTTP): node
//! conditions, evictions and OOM kills become events exactly once, requests against allocatable
//! become a metric alert rules fire on; dropped watches, `410 Gone` and an unreachable API
//! server are lived through and said.

use std::io::Write;

use vigil_core::{
    model::{auth::Scope, event::EventData, kubernetes::PodTroubleKind},
    store::{events, kubernetes},
};
use vigil_sim::kubernetes::KubeSim;

use crate::common::{access::create_token, eventually, spawn_app_with_toml, TestApp};

struct Cluster {
    sim: KubeSim,
    url: String,
    app: TestApp,
    _token: tempfile::NamedTempFile,
}

/// The seed cluster served by the simulator, and Vigil watching it every second; the
/// `requests_ratio` rule fires after 1 s above 100 %.
async fn watched_cluster() -> Cluster {
    let sim = KubeSim::new("k8s-test-token");
    let url = sim.serve().await.unwrap();
    let mut token = tempfile::NamedTempFile::new().unwrap();
    writeln!(token, "k8s-test-token").unwrap();
    let app = spawn_app_with_toml(&format!(
        r#"
[[kubernetes]]
name = "lke"
url = "{url}"
token_file = "{}"
interval_secs = 5
stale_after_secs = 12
timeout_ms = 1000

[[resources.alert]]
metric = "requests_ratio"
above = 1.0
for_secs = 1
"#,
        token.path().display()
    ))
    .await;
    Cluster {
        sim,
        url,
        app,
        _token: token,
    }
}

/// The `k8s.*` events so far, as their one-line messages.
async fn k8s_events(pool: &sqlx::PgPool) -> Vec<EventData> {
    events::after(pool, 0, 10_000)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.data)
        .filter(|d| matches!(d, EventData::K8sNode(_) | EventData::K8sPod(_)))
        .collect()
}

async fn count_pod_troubles(pool: &sqlx::PgPool, kind: PodTroubleKind) -> usize {
    k8s_events(pool)
        .await
        .iter()
        .filter(|d| matches!(d, EventData::K8sPod(p) if p.trouble == kind))
        .count()
}

#[tokio::test]
async fn the_seed_clusters_pressure_evictions_and_over_scheduling_are_recorded() {
    let c = watched_cluster().await;
    let pool = &c.app.pool;
    eventually(20, "both nodes are listed with their requests", || async {
        let nodes = kubernetes::nodes(pool).await.ok()?;
        (nodes.len() == 2 && nodes.iter().all(|n| n.pods > 0)).then_some(nodes)
    })
    .await;
    // A healthy cluster appearing is not news.
    assert!(k8s_events(pool).await.is_empty());

    // Over-scheduling: node b's pods now request 8.5 GiB of its 7.5 GiB.
    c.sim.schedule("batch-0", "lke-node-b", "500m", "3Gi");
    c.sim.set_memory_pressure("lke-node-b", true);
    let b = eventually(20, "node b's requests pass its allocatable", || async {
        let nodes = kubernetes::nodes(pool).await.ok()?;
        let b = nodes.into_iter().find(|n| n.node == "lke-node-b")?;
        (b.memory_requests_ratio? > 1.0).then_some(b)
    })
    .await;
    assert_eq!(b.pods, 5);
    assert_eq!(b.memory_requests_bytes, (17_i64 << 30) / 2);
    assert!(b.troubles().any(|c| c.kind == "MemoryPressure"));
    eventually(20, "the condition is an event", || async {
        k8s_events(pool)
            .await
            .iter()
            .any(|d| {
                d.message()
                    .starts_with("Kubernetes node lke-node-b memory pressure (True) — KubeletHasInsufficientMemory")
            })
            .then_some(())
    })
    .await;
    eventually(20, "the requests_ratio alert fires for node b", || async {
        events::after(pool, 0, 10_000)
            .await
            .ok()?
            .into_iter()
            .any(|e| {
                matches!(&e.data, EventData::ResourceAlert(a)
                    if a.firing && a.node == "lke-node-b" && a.metric == "requests_ratio")
            })
            .then_some(())
    })
    .await;

    // The kubelet evicts two pods (status and Event both say so), the kernel kills a container.
    c.sim.evict("batch-0");
    c.sim.evict("api-1");
    c.sim.oom_kill("api-0");
    eventually(20, "two evictions and an OOM kill are events", || async {
        (count_pod_troubles(pool, PodTroubleKind::Evicted).await == 2
            && count_pod_troubles(pool, PodTroubleKind::OomKilled).await == 1)
            .then_some(())
    })
    .await;
    let messages: Vec<String> = k8s_events(pool).await.iter().map(|d| d.message()).collect();
    assert!(
        messages.iter().any(|m| m.starts_with(
            "Pod default/api-1 on lke-node-b evicted: The node was low on resource: memory."
        )),
        "{messages:?}"
    );
    assert!(
        messages
            .iter()
            .any(|m| m.starts_with("Pod default/api-0 on lke-node-b container api OOMKilled")),
        "{messages:?}"
    );
    // Evicted pods no longer count against the node.
    eventually(20, "evicted pods stop counting", || async {
        let b = kubernetes::nodes(pool)
            .await
            .ok()?
            .into_iter()
            .find(|n| n.node == "lke-node-b")?;
        (b.pods == 3).then_some(())
    })
    .await;

    // The drain: pressure over, a transition back.
    c.sim.set_memory_pressure("lke-node-b", false);
    eventually(20, "the pressure's end is an event", || async {
        k8s_events(pool)
            .await
            .iter()
            .any(|d| {
                d.message()
                    .starts_with("Kubernetes node lke-node-b memory pressure over")
            })
            .then_some(())
    })
    .await;

    // The API says the same, and only to a caller with `read`.
    assert_eq!(c.app.get("/api/v1/kubernetes/nodes").await.status(), 401);
    let (_, token) = create_token(&c.app, &[Scope::Read]).await;
    let body = c.app.get_json("/api/v1/kubernetes/nodes", &token).await;
    let nodes = body["nodes"].as_array().unwrap();
    assert_eq!(nodes.len(), 2);
    let b = nodes.iter().find(|n| n["node"] == "lke-node-b").unwrap();
    assert_eq!(b["cluster"], "lke");
    assert_eq!(b["memory_allocatable_bytes"], 7_901_312_i64 * 1024);
    assert_eq!(b["cpu_allocatable_millis"], 3920);
    assert!(b["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["type"] == "MemoryPressure" && c["status"] == "False"));
    // /ops shows the nodes to an operator; the public page never names them.
    let public = c.app.get("/").await.text().await.unwrap();
    assert!(!public.contains("lke-node-b"));
}

#[tokio::test]
async fn watches_resume_after_a_dropped_stream_and_relist_after_410_gone() {
    let c = watched_cluster().await;
    let pool = &c.app.pool;
    eventually(20, "the nodes are listed", || async {
        (kubernetes::nodes(pool).await.ok()?.len() == 2).then_some(())
    })
    .await;
    c.sim.evict("api-1");
    eventually(20, "the eviction is recorded", || async {
        (count_pod_troubles(pool, PodTroubleKind::Evicted).await == 1).then_some(())
    })
    .await;

    // The API server drops every stream: Vigil watches again from where it was, no re-list.
    let (lists, watches) = (c.sim.lists(), c.sim.watches());
    c.sim.drop_watches();
    eventually(20, "the watches are opened again", || async {
        (c.sim.watches() >= watches + 3).then_some(())
    })
    .await;
    c.sim.set_memory_pressure("lke-node-a", true);
    eventually(20, "a change after the drop is seen", || async {
        k8s_events(pool)
            .await
            .iter()
            .any(|d| {
                d.message()
                    .starts_with("Kubernetes node lke-node-a memory pressure (True)")
            })
            .then_some(())
    })
    .await;
    assert_eq!(c.sim.lists(), lists, "a dropped stream needs no re-list");

    // History compacted: a watch from the old resourceVersion is told 410 Expired; Vigil lists
    // again and carries on, and the re-listed evicted pod is not recorded twice.
    let lists = c.sim.lists();
    c.sim.compact();
    eventually(30, "every watch lists again", || async {
        (c.sim.lists() >= lists + 3).then_some(())
    })
    .await;
    c.sim.oom_kill("api-0");
    eventually(20, "a change after the re-list is seen", || async {
        (count_pod_troubles(pool, PodTroubleKind::OomKilled).await == 1).then_some(())
    })
    .await;
    assert_eq!(count_pod_troubles(pool, PodTroubleKind::Evicted).await, 1);
    let pressure_events = k8s_events(pool)
        .await
        .iter()
        .filter(|d| matches!(d, EventData::K8sNode(n) if n.node == "lke-node-a"))
        .count();
    assert_eq!(pressure_events, 1, "a re-list repeats no condition");
}

#[tokio::test]
async fn an_unreachable_api_server_turns_the_source_stale_until_it_answers() {
    let c = watched_cluster().await;
    let pool = &c.app.pool;
    let fresh = || async {
        sqlx::query_scalar::<_, bool>(
            "SELECT last_success IS NOT NULL AND NOT stale FROM sources WHERE name = 'kubernetes:lke'",
        )
        .fetch_one(pool)
        .await
        .ok()
    };
    eventually(20, "the source is fresh", || async {
        fresh().await?.then_some(())
    })
    .await;

    let addr: std::net::SocketAddr = c.url.trim_start_matches("http://").parse().unwrap();
    c.sim.stop();
    eventually(30, "the source goes stale, saying why", || async {
        let (stale, error): (bool, Option<String>) =
            sqlx::query_as("SELECT stale, last_error FROM sources WHERE name = 'kubernetes:lke'")
                .fetch_one(pool)
                .await
                .ok()?;
        (stale && error?.contains("cannot be reached")).then_some(())
    })
    .await;
    assert!(events::after(pool, 0, 10_000)
        .await
        .unwrap()
        .iter()
        .any(|e| matches!(&e.data, EventData::SourceStale(s) if s.source == "kubernetes:lke")));

    // Back on the same address: fresh again, and the watches pick up what changed meanwhile.
    c.sim.set_memory_pressure("lke-node-b", true);
    c.sim.serve_on(addr).await.unwrap();
    eventually(40, "the source is fresh again", || async {
        fresh().await?.then_some(())
    })
    .await;
    eventually(20, "the change made while away is seen", || async {
        k8s_events(pool)
            .await
            .iter()
            .any(|d| {
                d.message()
                    .starts_with("Kubernetes node lke-node-b memory pressure (True)")
            })
            .then_some(())
    })
    .await;
}

#[tokio::test]
async fn a_wrong_token_is_said_and_the_configuration_is_checked() {
    let sim = KubeSim::new("the-right-token");
    let url = sim.serve().await.unwrap();
    let mut token = tempfile::NamedTempFile::new().unwrap();
    writeln!(token, "a-wrong-token").unwrap();
    let app = spawn_app_with_toml(&format!(
        "[[kubernetes]]\nname = \"lke\"\nurl = \"{url}\"\ntoken_file = \"{}\"\ninterval_secs = 5\n",
        token.path().display()
    ))
    .await;
    eventually(20, "the source says the API server refused", || async {
        let error: Option<String> =
            sqlx::query_scalar("SELECT last_error FROM sources WHERE name = 'kubernetes:lke'")
                .fetch_one(&app.pool)
                .await
                .ok()?;
        error.filter(|e| e.contains("401")).map(|_| ())
    })
    .await;

    // Bad configuration names the key.
    for (toml, key) in [
        ("[[kubernetes]]\nname = \"a b\"\nurl = \"https://k\"\n", "kubernetes[0].name"),
        ("[[kubernetes]]\nname = \"k\"\nurl = \"k8s.local\"\n", "kubernetes[0].url"),
        (
            "[[kubernetes]]\nname = \"k\"\nurl = \"https://k\"\nca_file = \"/nonexistent/ca.crt\"\n",
            "kubernetes[0].ca_file",
        ),
        (
            "[[kubernetes]]\nname = \"k\"\nurl = \"https://k\"\ninterval_secs = 1\n",
            "kubernetes[0].interval_secs",
        ),
    ] {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(toml.as_bytes()).unwrap();
        let err = vigil_server::config::Config::load_with_env(Some(f.path()), &[])
            .unwrap_err()
            .to_string();
        assert!(err.contains(key), "{toml}: {err}");
    }
}

#[tokio::test]
async fn annotated_ingresses_and_services_become_monitors_the_cluster_manages() {
    let sim = KubeSim::new("k8s-test-token");
    let url = sim.serve().await.unwrap();
    let mut token_file = tempfile::NamedTempFile::new().unwrap();
    writeln!(token_file, "k8s-test-token").unwrap();
    sim.put_ingress(
        "web",
        "site",
        "www.example.org",
        true,
        &[
            ("vigil.dev/monitor", "true"),
            ("vigil.dev/path", "/healthz"),
        ],
    );
    sim.put_ingress("web", "quiet", "quiet.example.org", false, &[]);
    sim.put_service(
        "data",
        "db",
        5432,
        &[
            ("vigil.dev/monitor", "true"),
            ("vigil.dev/component", "site"),
        ],
    );
    let app = spawn_app_with_toml(&format!(
        "[world]\nmanaged_by = \"database\"\n\n[[kubernetes]]\nname = \"lke\"\nurl = \"{url}\"\ntoken_file = \"{}\"\ninterval_secs = 5\ndiscover = true\n",
        token_file.path().display()
    ))
    .await;
    let (_, token) = create_token(&app, &[Scope::Read, Scope::ConfigWrite]).await;
    let monitors = |world: &serde_json::Value| -> Vec<(String, String)> {
        world["monitor"]
            .as_array()
            .map(|ms| {
                ms.iter()
                    .map(|m| {
                        (
                            m["name"].as_str().unwrap().to_string(),
                            m["url"]
                                .as_str()
                                .or(m["host"].as_str())
                                .unwrap_or_default()
                                .to_string(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    let found = eventually(30, "the annotated objects discovered", || async {
        let w = app.get_json("/api/v1/world", &token).await;
        let m = monitors(&w);
        (m.len() == 2).then_some(m.clone()).ok_or(m)
    })
    .await;
    assert_eq!(
        found,
        [
            (
                "lke/ingress/web/site".to_string(),
                "https://www.example.org/healthz".to_string()
            ),
            ("lke/service/data/db".to_string(), "db.data.svc".to_string()),
        ]
    );
    // Read-only elsewhere, naming where it comes from.
    let id: i64 = sqlx::query_scalar("SELECT id FROM monitors WHERE name = 'lke/ingress/web/site'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let (status, body) = crate::common::send(
        &app,
        reqwest::Method::PATCH,
        &format!("/api/v1/monitors/{id}"),
        &token,
        Some(serde_json::json!({"interval_secs": 10})),
    )
    .await;
    assert_eq!(status, 409, "{body}");
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("managed by kubernetes lke"),
        "{body}"
    );

    // The annotation removed: the monitor goes; the Service's stays.
    sim.put_ingress("web", "site", "www.example.org", true, &[]);
    let left = eventually(30, "the un-annotated Ingress's monitor removed", || async {
        let m = monitors(&app.get_json("/api/v1/world", &token).await);
        (m.len() == 1).then_some(m.clone()).ok_or(m)
    })
    .await;
    assert_eq!(left[0].0, "lke/service/data/db");
    let actor: String =
        sqlx::query_scalar("SELECT actor FROM world_revisions ORDER BY number DESC LIMIT 1")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(actor, "kubernetes lke");
}
