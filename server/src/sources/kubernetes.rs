//! Watches `[[kubernetes]]` clusters with `kube`'s watcher (list, then watch from the list's
//! resourceVersion; after a dropped stream it watches on, after `410 Gone` it lists again):
//! node conditions become `k8s.node` events, evicted pods and OOM-killed containers `k8s.pod`
//! events, and every `interval_secs` each node's pod requests are summed against its
//! allocatable, stored, and handed to the resource sink as `requests_ratio` (so alert rules can
//! fire on over-scheduling). The cluster is a data source: stale when the API server stops
//! answering. Runs on the replica holding the `resources` lease.

use std::{
    collections::HashMap,
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc, Mutex,
    },
    time::Duration,
};

use chrono::{DateTime, Utc};
use futures::{Stream, StreamExt};
use k8s_openapi::api::core::v1::{Event as K8sEvent, Node, Pod};
use kube::{
    runtime::{reflector, watcher, WatchStreamExt},
    Api, Client,
};
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;
use vigil_core::{
    model::{
        event::K8sPodTrouble,
        kubernetes::{self as k8s, NodeCondition, PodTroubleKind, Requests},
        resource::Metric,
    },
    store::kubernetes as store,
};

use crate::{
    config::kubernetes::KubernetesConfig,
    resources::sink::{Reading, Sink},
    sources::registry as sources,
};

const UNREACHABLE: &str = "the API server cannot be reached";

/// Troubles older than this when first seen predate Vigil's watch: not news.
const NEWS_HORIZON: chrono::Duration = chrono::Duration::hours(1);

/// Builds the client: the API server's URL, the CA (re-read as it rotates), the bearer token
/// (a file is re-read as it rotates).
pub fn client(cfg: &KubernetesConfig) -> Result<Client, String> {
    let uri: axum::http::Uri = cfg
        .url
        .parse()
        .map_err(|e| format!("kubernetes `{}`: url: {e}", cfg.name))?;
    let mut kc = kube::Config::new(uri);
    kc.root_cert_file = cfg.ca_file.clone();
    kc.connect_timeout = Some(Duration::from_millis(cfg.timeout_ms));
    // kube re-reads a token file as it rotates, but sends it untrimmed: a file written with a
    // final newline (as editors and `echo` do) is read here once instead.
    let raw = cfg
        .token_file
        .as_ref()
        .and_then(|p| std::fs::read_to_string(p).ok());
    match (&cfg.token_file, cfg.token()?) {
        (Some(path), Some(token)) if raw.as_deref() == Some(token.as_str()) => {
            kc.auth_info.token_file = Some(path.display().to_string())
        }
        (_, Some(token)) => kc.auth_info.token = Some(token.into()),
        (_, None) => {}
    }
    Client::try_from(kc).map_err(|e| format!("kubernetes `{}`: {e}", cfg.name))
}

/// What the watches last said: an error per watch until it delivers again (or, for "cannot be
/// reached", until the API server answers again: a watch resumed without a re-list delivers
/// nothing until something changes).
#[derive(Default)]
struct Health {
    errors: Mutex<HashMap<&'static str, String>>,
    nodes_listed: AtomicBool,
    pods_listed: AtomicBool,
}

impl Health {
    fn set(&self, watch: &'static str, outcome: Result<(), String>) {
        let mut errors = self.errors.lock().expect("health poisoned");
        match outcome {
            Ok(()) => {
                errors.remove(watch);
            }
            Err(e) => {
                errors.insert(watch, e);
            }
        }
    }

    /// The API server answers: the watches that could not reach it retry by themselves.
    fn reached(&self) {
        let mut errors = self.errors.lock().expect("health poisoned");
        errors.retain(|_, e| !e.contains(UNREACHABLE));
    }

    fn error(&self) -> Option<String> {
        let errors = self.errors.lock().expect("health poisoned");
        let mut all: Vec<String> = errors.iter().map(|(w, e)| format!("{w}: {e}")).collect();
        all.sort();
        (!all.is_empty()).then(|| all.join("; "))
    }
}

/// Watches one cluster until `held` is cancelled.
pub async fn run(
    cfg: KubernetesConfig,
    probes: crate::config::monitors::ProbesConfig,
    sink: Arc<Sink>,
    pool: PgPool,
    held: CancellationToken,
) {
    let source = cfg.source_name();
    let client = loop {
        match client(&cfg) {
            Ok(c) => break c,
            Err(e) => {
                tracing::warn!(cluster = %cfg.name, error = %e, "cannot set up the Kubernetes client");
                sources::report(&pool, &source, Err(e)).await;
                tokio::select! {
                    _ = held.cancelled() => return,
                    _ = tokio::time::sleep(Duration::from_secs(cfg.interval_secs)) => {}
                }
            }
        }
    };
    let health = Arc::new(Health::default());
    let (nodes, nodes_writer) = reflector::store::<Node>();
    let (pods, pods_writer) = reflector::store::<Pod>();
    let c = Ctx {
        cluster: cfg.name.clone(),
        pool: pool.clone(),
        health: health.clone(),
    };
    let node_watch = watcher(Api::<Node>::all(client.clone()), watcher::Config::default())
        .default_backoff()
        .reflect(nodes_writer);
    let pod_watch = watcher(Api::<Pod>::all(client.clone()), watcher::Config::default())
        .default_backoff()
        .reflect(pods_writer);
    let event_watch = watcher(
        Api::<K8sEvent>::all(client.clone()),
        watcher::Config::default(),
    )
    .default_backoff();
    let mut every = crate::workers::ticker(Duration::from_secs(cfg.interval_secs));
    let sample = async {
        while crate::workers::next_tick(&mut every, &held).await {
            let outcome = sample(&cfg, &client, &c, &nodes, &pods, &sink).await;
            if let Err(e) = &outcome {
                tracing::warn!(cluster = %cfg.name, error = %e, "Kubernetes source unhealthy");
            }
            sources::report(&pool, &source, outcome).await;
        }
    };
    let discovering = async {
        if cfg.discover {
            discover(&cfg.name, &client, &probes, &pool).await;
        } else {
            std::future::pending::<()>().await;
        }
    };
    tokio::select! {
        _ = held.cancelled() => {}
        _ = discovering => {}
        _ = follow(node_watch, "nodes", &c, on_node) => {}
        _ = follow(pod_watch, "pods", &c, on_pod) => {}
        _ = follow(event_watch, "events", &c, on_event) => {}
        _ = sample => {}
    }
}

/// Keeps the world's discovered monitors in step with the annotated Ingresses and Services:
/// after each change (a burst of them settles for half a second), the whole annotated set is
/// applied — one revision when it changes anything, none otherwise.
async fn discover(
    cluster: &str,
    client: &Client,
    probes: &crate::config::monitors::ProbesConfig,
    pool: &PgPool,
) {
    use k8s_openapi::api::{core::v1::Service, networking::v1::Ingress};
    let (ingresses, ingress_writer) = reflector::store::<Ingress>();
    let (services, service_writer) = reflector::store::<Service>();
    let ingress_watch = watcher(
        Api::<Ingress>::all(client.clone()),
        watcher::Config::default(),
    )
    .default_backoff()
    .reflect(ingress_writer);
    let service_watch = watcher(
        Api::<Service>::all(client.clone()),
        watcher::Config::default(),
    )
    .default_backoff()
    .reflect(service_writer);
    let changed = tokio::sync::Notify::new();
    let forward = |name: &'static str| {
        let changed = &changed;
        move |item: Result<(), watcher::Error>| match item {
            Ok(()) => changed.notify_one(),
            Err(e) => {
                tracing::warn!(%cluster, watch = name, error = %describe(&e), "Kubernetes discovery watch failed; retrying")
            }
        }
    };
    let ingress_side = async {
        let mut s = std::pin::pin!(ingress_watch);
        let on = forward("ingresses");
        while let Some(item) = s.next().await {
            on(item.map(|_| ()));
        }
    };
    let service_side = async {
        let mut s = std::pin::pin!(service_watch);
        let on = forward("services");
        while let Some(item) = s.next().await {
            on(item.map(|_| ()));
        }
    };
    let applying = async {
        // Both lists first: an Ingress listed before the Services must not look like the
        // Services' monitors were removed.
        let _ = tokio::join!(ingresses.wait_until_ready(), services.wait_until_ready());
        loop {
            changed.notified().await;
            tokio::time::sleep(Duration::from_millis(500)).await;
            let (i, s): (Vec<Ingress>, Vec<Service>) = (
                ingresses.state().iter().map(|o| (**o).clone()).collect(),
                services.state().iter().map(|o| (**o).clone()).collect(),
            );
            let found = crate::world::discover::discovered(cluster, &i, &s);
            match crate::world::discover::apply_discovered(pool, probes, cluster, found).await {
                Ok(a) if a.revised => {
                    tracing::info!(%cluster, revision = a.revision, "discovered monitors applied")
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(%cluster, error = %e, "discovered monitors were refused"),
            }
        }
    };
    tokio::join!(ingress_side, service_side, applying);
}

struct Ctx {
    cluster: String,
    pool: PgPool,
    health: Arc<Health>,
}

/// Feeds each item of a watch to `handle`, recording the watch's health. Never ends by itself
/// (the watcher retries with backoff).
async fn follow<K, S, F>(stream: S, name: &'static str, c: &Ctx, handle: F)
where
    S: Stream<Item = Result<watcher::Event<K>, watcher::Error>>,
    F: AsyncFn(&Ctx, watcher::Event<K>) -> Result<(), vigil_core::store::StoreError>,
{
    let mut stream = std::pin::pin!(stream);
    while let Some(item) = stream.next().await {
        match item {
            Ok(event) => {
                c.health.set(name, Ok(()));
                if let Err(e) = handle(c, event).await {
                    tracing::warn!(cluster = %c.cluster, watch = name, error = %e, "cannot store what the cluster said");
                }
            }
            Err(e) => {
                tracing::warn!(cluster = %c.cluster, watch = name, error = %e, "Kubernetes watch failed; retrying");
                metrics::counter!("kubernetes_watch_errors_total", "cluster" => c.cluster.clone(), "watch" => name)
                    .increment(1);
                c.health.set(name, Err(describe(&e)));
            }
        }
    }
}

/// The watcher's error in one line, without the Rust type names.
fn describe(e: &watcher::Error) -> String {
    match e {
        watcher::Error::InitialListFailed(e)
        | watcher::Error::WatchStartFailed(e)
        | watcher::Error::WatchFailed(e) => api_error(e),
        watcher::Error::WatchError(s) => format!("the API server said {} {}", s.code, s.message),
        other => other.to_string(),
    }
}

fn api_error(e: &kube::Error) -> String {
    match e {
        kube::Error::Api(s) => format!("the API server answered {} {}", s.code, s.message),
        kube::Error::HyperError(e) => format!("{UNREACHABLE} ({e})"),
        kube::Error::Service(e) if e.to_string().contains("Connect") => {
            format!("{UNREACHABLE} ({e})")
        }
        other => other.to_string(),
    }
}

async fn on_node(
    c: &Ctx,
    event: watcher::Event<Node>,
) -> Result<(), vigil_core::store::StoreError> {
    match event {
        watcher::Event::Apply(n) | watcher::Event::InitApply(n) => {
            let Some(name) = n.metadata.name.clone() else {
                return Ok(());
            };
            let ip = internal_ip(&n);
            let changes = store::observe_node(
                &c.pool,
                &c.cluster,
                &name,
                &conditions(&n),
                allocatable(&n),
                ip.as_deref(),
            )
            .await?;
            for ch in changes {
                tracing::info!(cluster = %c.cluster, node = %name, condition = %ch.kind, status = %ch.status, "node condition changed");
            }
        }
        watcher::Event::Delete(n) => {
            if let Some(name) = &n.metadata.name {
                store::node_gone(&c.pool, &c.cluster, name).await?;
            }
        }
        watcher::Event::InitDone => c.health.nodes_listed.store(true, Ordering::SeqCst),
        watcher::Event::Init => {}
    }
    Ok(())
}

async fn on_pod(c: &Ctx, event: watcher::Event<Pod>) -> Result<(), vigil_core::store::StoreError> {
    match event {
        watcher::Event::Apply(p) | watcher::Event::InitApply(p) => {
            for (key, trouble) in pod_troubles(&c.cluster, &p, Utc::now()) {
                if store::record_pod_trouble(&c.pool, &key, &trouble).await? {
                    tracing::info!(cluster = %c.cluster, pod = %trouble.pod, "pod trouble recorded");
                }
            }
        }
        watcher::Event::InitDone => c.health.pods_listed.store(true, Ordering::SeqCst),
        watcher::Event::Delete(_) | watcher::Event::Init => {}
    }
    Ok(())
}

/// The kubelet's `Evicted` events carry the richest words ("The node was low on resource:
/// memory…"); they share the pod's key, so an eviction is recorded once whichever comes first.
async fn on_event(
    c: &Ctx,
    event: watcher::Event<K8sEvent>,
) -> Result<(), vigil_core::store::StoreError> {
    let (watcher::Event::Apply(e) | watcher::Event::InitApply(e)) = event else {
        return Ok(());
    };
    let o = &e.involved_object;
    if e.reason.as_deref() != Some("Evicted") || o.kind.as_deref() != Some("Pod") {
        return Ok(());
    }
    let happened = e
        .last_timestamp
        .as_ref()
        .or(e.first_timestamp.as_ref())
        .and_then(time);
    if happened.is_some_and(|t| t < Utc::now() - NEWS_HORIZON) {
        return Ok(());
    }
    let (Some(uid), Some(pod)) = (&o.uid, &o.name) else {
        return Ok(());
    };
    let trouble = K8sPodTrouble {
        cluster: c.cluster.clone(),
        namespace: o.namespace.clone().unwrap_or_default(),
        pod: pod.clone(),
        node: e
            .source
            .as_ref()
            .and_then(|s| s.host.clone())
            .unwrap_or_default(),
        trouble: PodTroubleKind::Evicted,
        container: None,
        message: e.message.clone().unwrap_or_default(),
        happened_at: happened,
    };
    store::record_pod_trouble(&c.pool, &format!("evicted:{uid}"), &trouble).await?;
    Ok(())
}

/// Checks that the API server answers, sums the requests per node, stores them and hands the
/// ratios to the sink. Errs (the source goes stale) when the API server does not answer or a
/// watch keeps failing.
async fn sample(
    cfg: &KubernetesConfig,
    client: &Client,
    c: &Ctx,
    nodes: &reflector::Store<Node>,
    pods: &reflector::Store<Pod>,
    sink: &Sink,
) -> Result<(), String> {
    match tokio::time::timeout(
        Duration::from_millis(cfg.timeout_ms),
        client.apiserver_version(),
    )
    .await
    {
        Err(_) => {
            return Err(format!(
                "{UNREACHABLE} (no answer in {} ms)",
                cfg.timeout_ms
            ))
        }
        Ok(Err(e)) => return Err(api_error(&e)),
        Ok(Ok(_)) => c.health.reached(),
    }
    if let Some(e) = c.health.error() {
        return Err(e);
    }
    if !(c.health.nodes_listed.load(Ordering::SeqCst)
        && c.health.pods_listed.load(Ordering::SeqCst))
    {
        // Connected, still listing: nothing to sum yet, and nothing wrong.
        return Ok(());
    }
    let nodes = nodes.state();
    let pods = pods.state();
    let per_node = requests_per_node(
        nodes.iter().map(|n| n.as_ref()),
        pods.iter().map(|p| p.as_ref()),
    );
    store::set_requests(&c.pool, &c.cluster, &per_node)
        .await
        .map_err(|e| e.to_string())?;
    let now = Utc::now();
    let readings: Vec<Reading> = nodes
        .iter()
        .filter_map(|n| {
            let name = n.metadata.name.clone()?;
            let (cpu_alloc, mem_alloc) = allocatable(n);
            let r = per_node
                .iter()
                .find(|(node, _)| *node == name)
                .map(|(_, r)| r)?;
            let value = k8s::requests_ratio(
                k8s::ratio(r.cpu_millis, cpu_alloc),
                k8s::ratio(r.memory_bytes, mem_alloc),
            )?;
            Some(Reading {
                node: name,
                metric: Metric::RequestsRatio,
                at: now,
                value,
            })
        })
        .collect();
    sink.submit(&cfg.source_name(), readings)
        .await
        .map_err(|e| e.to_string())?;
    if let Err(e) = store::expire_seen(&c.pool, now - chrono::Duration::days(30)).await {
        tracing::warn!(error = %e, "cannot expire old Kubernetes keys");
    }
    Ok(())
}

/// A Kubernetes time (jiff) as chrono's.
fn time(t: &k8s_openapi::apimachinery::pkg::apis::meta::v1::Time) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(t.0.as_second(), t.0.subsec_nanosecond().max(0) as u32)
}

/// The followed conditions of a node.
pub fn conditions(n: &Node) -> Vec<NodeCondition> {
    n.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .into_iter()
        .flatten()
        .filter(|c| k8s::CONDITIONS.contains(&c.type_.as_str()))
        .map(|c| NodeCondition {
            kind: c.type_.clone(),
            status: c.status.clone(),
            reason: c.reason.clone().unwrap_or_default(),
            message: c.message.clone().unwrap_or_default(),
            since: c.last_transition_time.as_ref().and_then(time),
        })
        .collect()
}

/// (CPU millicores, memory bytes) the node can give pods.
/// The node's `InternalIP`: a load-balancer backend at that address runs on it.
pub fn internal_ip(n: &Node) -> Option<String> {
    n.status
        .as_ref()?
        .addresses
        .as_ref()?
        .iter()
        .find(|a| a.type_ == "InternalIP")
        .map(|a| a.address.clone())
}

pub fn allocatable(n: &Node) -> (Option<i64>, Option<i64>) {
    let a = n.status.as_ref().and_then(|s| s.allocatable.as_ref());
    let get = |k: &str| a.and_then(|a| a.get(k)).map(|q| q.0.as_str());
    (
        get("cpu").and_then(k8s::cpu_millis),
        get("memory").and_then(k8s::bytes),
    )
}

/// A pod's effective requests, as the scheduler counts them: the containers' sum or the largest
/// init container, whichever is more, plus the pod's overhead.
pub fn pod_requests(p: &Pod) -> (i64, i64) {
    let Some(spec) = &p.spec else {
        return (0, 0);
    };
    let of = |c: &k8s_openapi::api::core::v1::Container| {
        let r = c.resources.as_ref().and_then(|r| r.requests.as_ref());
        let get = |k: &str, f: fn(&str) -> Option<i64>| {
            r.and_then(|r| r.get(k)).and_then(|q| f(&q.0)).unwrap_or(0)
        };
        (get("cpu", k8s::cpu_millis), get("memory", k8s::bytes))
    };
    let sum = spec
        .containers
        .iter()
        .map(of)
        .fold((0, 0), |a, b| (a.0 + b.0, a.1 + b.1));
    let init = spec
        .init_containers
        .iter()
        .flatten()
        .map(of)
        .fold((0, 0), |a, b| (a.0.max(b.0), a.1.max(b.1)));
    let overhead = spec.overhead.as_ref();
    let extra = |k: &str, f: fn(&str) -> Option<i64>| {
        overhead
            .and_then(|o| o.get(k))
            .and_then(|q| f(&q.0))
            .unwrap_or(0)
    };
    (
        sum.0.max(init.0) + extra("cpu", k8s::cpu_millis),
        sum.1.max(init.1) + extra("memory", k8s::bytes),
    )
}

/// Requests per node, over the pods bound there that have not finished (like `kubectl describe
/// node`); every node is listed, those without pods at zero.
pub fn requests_per_node<'a>(
    nodes: impl Iterator<Item = &'a Node>,
    pods: impl Iterator<Item = &'a Pod>,
) -> Vec<(String, Requests)> {
    let mut per: HashMap<String, Requests> = nodes
        .filter_map(|n| n.metadata.name.clone())
        .map(|n| (n, Requests::default()))
        .collect();
    for p in pods {
        let phase = p.status.as_ref().and_then(|s| s.phase.as_deref());
        if matches!(phase, Some("Succeeded" | "Failed")) {
            continue;
        }
        let Some(node) = p.spec.as_ref().and_then(|s| s.node_name.as_ref()) else {
            continue;
        };
        let Some(r) = per.get_mut(node) else {
            continue;
        };
        let (cpu, memory) = pod_requests(p);
        r.cpu_millis += cpu;
        r.memory_bytes += memory;
        r.pods += 1;
    }
    let mut out: Vec<_> = per.into_iter().collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// What went wrong with a pod, each with the key it is recorded once under: its eviction, and
/// each OOM kill of a container (by when it ended). Troubles older than an hour when first seen
/// are left out.
pub fn pod_troubles(cluster: &str, p: &Pod, now: DateTime<Utc>) -> Vec<(String, K8sPodTrouble)> {
    let (Some(uid), Some(name)) = (&p.metadata.uid, &p.metadata.name) else {
        return Vec::new();
    };
    let Some(status) = &p.status else {
        return Vec::new();
    };
    let base = K8sPodTrouble {
        cluster: cluster.to_string(),
        namespace: p.metadata.namespace.clone().unwrap_or_default(),
        pod: name.clone(),
        node: p
            .spec
            .as_ref()
            .and_then(|s| s.node_name.clone())
            .unwrap_or_default(),
        trouble: PodTroubleKind::Evicted,
        container: None,
        message: String::new(),
        happened_at: None,
    };
    let mut out = Vec::new();
    if status.reason.as_deref() == Some("Evicted") {
        out.push((
            format!("evicted:{uid}"),
            K8sPodTrouble {
                message: status.message.clone().unwrap_or_default(),
                ..base.clone()
            },
        ));
    }
    for cs in status.container_statuses.iter().flatten() {
        let ended = [
            cs.state.as_ref().and_then(|s| s.terminated.as_ref()),
            cs.last_state.as_ref().and_then(|s| s.terminated.as_ref()),
        ];
        for t in ended.into_iter().flatten() {
            if t.reason.as_deref() != Some("OOMKilled") {
                continue;
            }
            let at = t.finished_at.as_ref().and_then(time);
            if at.is_some_and(|at| at < now - NEWS_HORIZON) {
                continue;
            }
            let when = at.map_or_else(|| cs.restart_count.to_string(), |t| t.to_rfc3339());
            let key = format!("oom:{uid}:{}:{when}", cs.name);
            if out.iter().any(|(k, _)| *k == key) {
                continue;
            }
            out.push((
                key,
                K8sPodTrouble {
                    trouble: PodTroubleKind::OomKilled,
                    container: Some(cs.name.clone()),
                    message: format!(
                        "exit code {}, restarted {} times",
                        t.exit_code, cs.restart_count
                    ),
                    happened_at: at,
                    ..base.clone()
                },
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(json: serde_json::Value) -> Pod {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn requests_count_running_pods_and_the_larger_of_init_and_containers() {
        let node: Node = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "n1"},
            "status": {"allocatable": {"cpu": "2", "memory": "1Gi"}}
        }))
        .unwrap();
        let web = pod(serde_json::json!({
            "metadata": {"name": "web", "uid": "u1"},
            "spec": {"nodeName": "n1",
                "containers": [
                    {"name": "a", "resources": {"requests": {"cpu": "250m", "memory": "256Mi"}}},
                    {"name": "b", "resources": {"requests": {"cpu": "0.5", "memory": "512Mi"}}}],
                "initContainers": [
                    {"name": "i", "resources": {"requests": {"cpu": "1", "memory": "64Mi"}}}]},
            "status": {"phase": "Running"}
        }));
        let done = pod(serde_json::json!({
            "metadata": {"name": "job", "uid": "u2"},
            "spec": {"nodeName": "n1", "containers": [
                {"name": "a", "resources": {"requests": {"cpu": "1", "memory": "1Gi"}}}]},
            "status": {"phase": "Succeeded"}
        }));
        assert_eq!(pod_requests(&web), (1000, 768 << 20));
        let per = requests_per_node([&node].into_iter(), [&web, &done].into_iter());
        assert_eq!(per.len(), 1);
        assert_eq!(per[0].1.pods, 1);
        assert_eq!(per[0].1.memory_bytes, 768 << 20);
        assert_eq!(allocatable(&node), (Some(2000), Some(1 << 30)));
    }

    #[test]
    fn an_evicted_pod_and_an_oom_kill_are_troubles_once_each() {
        let now = Utc::now();
        let finished = (now - chrono::Duration::minutes(2)).to_rfc3339();
        let p = pod(serde_json::json!({
            "metadata": {"name": "api-1", "namespace": "prod", "uid": "u9"},
            "spec": {"nodeName": "lke-node-b", "containers": []},
            "status": {"phase": "Failed", "reason": "Evicted",
                "message": "The node was low on resource: memory.",
                "containerStatuses": [{"name": "api", "restartCount": 3, "ready": false, "image": "x", "imageID": "",
                    "state": {"terminated": {"reason": "OOMKilled", "exitCode": 137, "finishedAt": finished}},
                    "lastState": {"terminated": {"reason": "OOMKilled", "exitCode": 137, "finishedAt": finished}}}]}
        }));
        let t = pod_troubles("lke", &p, now);
        assert_eq!(t.len(), 2, "{t:?}");
        assert_eq!(t[0].0, "evicted:u9");
        assert_eq!(t[0].1.message, "The node was low on resource: memory.");
        assert_eq!(t[1].1.trouble, PodTroubleKind::OomKilled);
        assert_eq!(t[1].1.container.as_deref(), Some("api"));
        assert_eq!(t[1].1.node, "lke-node-b");
        // An hour later the same kill is history, not news.
        assert_eq!(
            pod_troubles("lke", &p, now + chrono::Duration::hours(2)).len(),
            1
        );
    }
}
