//! A Kubernetes API server, the read-only subset Vigil uses: `GET /version`, and list + watch of
//! `/api/v1/nodes`, `/api/v1/pods` and `/api/v1/events` (all namespaces), with resourceVersions,
//! newline-delimited watch events, `timeoutSeconds`, bearer-token auth and the real `Status`
//! bodies. Faults on cue: drop every open watch, compact history (a watch from an older
//! resourceVersion gets `ERROR 410 Expired`), stop listening altogether.
//!
//! The seed cluster: two nodes (`lke-node-a`, `lke-node-b`) with the pods of the seed's services.
//! The scenario over-schedules node b, raises its `MemoryPressure`, evicts and OOM-kills pods,
//! then drains it.

use std::{
    collections::BTreeMap,
    convert::Infallible,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc, Mutex,
    },
    time::Duration,
};

use axum::{
    body::{Body, Bytes},
    extract::{Path, Query, State},
    http::{header, HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::get,
    Json, Router,
};
use serde::Deserialize;
use serde_json::{json, Value};
use tokio::sync::{broadcast, mpsc};

const KINDS: [&str; 5] = ["nodes", "pods", "events", "ingresses", "services"];
/// Each node's allocatable, like a Linode 8 GB plan after system reservations.
const ALLOC_CPU: &str = "3920m";
const ALLOC_MEMORY: &str = "7901312Ki";

/// One stored change: (resourceVersion, kind, watch type, object).
type Change = (u64, &'static str, &'static str, Value);

struct Cluster {
    rv: u64,
    /// kind → name (namespace/name for pods and events) → object.
    objects: BTreeMap<&'static str, BTreeMap<String, Value>>,
    history: Vec<Change>,
    /// Watches starting before this resourceVersion are told 410 Expired.
    compacted: u64,
    uid: u64,
}

/// A handle on the simulated API server: change the cluster while it serves.
#[derive(Clone)]
pub struct KubeSim {
    token: Arc<String>,
    cluster: Arc<Mutex<Cluster>>,
    live: broadcast::Sender<Change>,
    /// Bumped to close every open watch.
    drops: Arc<tokio::sync::watch::Sender<u64>>,
    lists: Arc<AtomicU64>,
    watches: Arc<AtomicU64>,
    /// Stops the running server (graceful: idle keep-alive connections close too).
    server: Arc<Mutex<Option<tokio::sync::oneshot::Sender<()>>>>,
}

#[derive(Deserialize)]
struct ListQuery {
    watch: Option<String>,
    #[serde(rename = "resourceVersion")]
    resource_version: Option<String>,
    #[serde(rename = "timeoutSeconds")]
    timeout_seconds: Option<u64>,
}

/// A seed pod: name, node, CPU and memory requests.
const SEED_PODS: [(&str, &str, &str, &str); 7] = [
    ("site-7d9f-a", "lke-node-a", "500m", "1Gi"),
    ("grafana-0", "lke-node-a", "250m", "1Gi"),
    ("prometheus-0", "lke-node-a", "500m", "2Gi"),
    ("site-7d9f-b", "lke-node-b", "500m", "1Gi"),
    ("bitwarden-0", "lke-node-b", "250m", "512Mi"),
    ("api-0", "lke-node-b", "1", "2Gi"),
    ("api-1", "lke-node-b", "1", "2Gi"),
];

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

impl KubeSim {
    /// The seed cluster, healthy; requests need `Authorization: Bearer {token}`.
    pub fn new(token: &str) -> Self {
        let (live, _) = broadcast::channel(1024);
        let sim = KubeSim {
            token: Arc::new(token.to_string()),
            cluster: Arc::new(Mutex::new(Cluster {
                rv: 1000,
                objects: KINDS.iter().map(|k| (*k, BTreeMap::new())).collect(),
                history: Vec::new(),
                compacted: 0,
                uid: 0,
            })),
            live,
            drops: Arc::new(tokio::sync::watch::channel(0).0),
            lists: Arc::new(AtomicU64::new(0)),
            watches: Arc::new(AtomicU64::new(0)),
            server: Arc::new(Mutex::new(None)),
        };
        sim.reset();
        sim
    }

    /// Back to the seed's start: both nodes healthy, the seed's pods running, no events.
    pub fn reset(&self) {
        let names: Vec<(&'static str, String)> = {
            let c = self.cluster.lock().expect("cluster poisoned");
            c.objects
                .iter()
                .flat_map(|(k, objs)| objs.keys().map(|n| (*k, n.clone())))
                .collect()
        };
        for (kind, name) in names {
            self.delete(kind, &name);
        }
        for node in ["lke-node-a", "lke-node-b"] {
            self.put("nodes", node.to_string(), node_json(node, false, true));
        }
        for (pod, node, cpu, memory) in SEED_PODS {
            self.schedule(pod, node, cpu, memory);
        }
    }

    fn next_uid(&self) -> String {
        let mut c = self.cluster.lock().expect("cluster poisoned");
        c.uid += 1;
        format!("00000000-0000-4000-8000-{:012}", c.uid)
    }

    /// Adds or replaces an object, stamping its resourceVersion, and tells the watches.
    fn put(&self, kind: &'static str, key: String, mut obj: Value) {
        let mut c = self.cluster.lock().expect("cluster poisoned");
        c.rv += 1;
        let rv = c.rv;
        obj["metadata"]["resourceVersion"] = json!(rv.to_string());
        let kind_map = c.objects.get_mut(kind).expect("known kind");
        let t = if kind_map.insert(key, obj.clone()).is_some() {
            "MODIFIED"
        } else {
            "ADDED"
        };
        c.history.push((rv, kind, t, obj.clone()));
        let _ = self.live.send((rv, kind, t, obj));
    }

    fn delete(&self, kind: &'static str, key: &str) {
        let mut c = self.cluster.lock().expect("cluster poisoned");
        let Some(mut obj) = c.objects.get_mut(kind).and_then(|m| m.remove(key)) else {
            return;
        };
        c.rv += 1;
        let rv = c.rv;
        obj["metadata"]["resourceVersion"] = json!(rv.to_string());
        c.history.push((rv, kind, "DELETED", obj.clone()));
        let _ = self.live.send((rv, kind, "DELETED", obj));
    }

    fn get(&self, kind: &str, key: &str) -> Option<Value> {
        let c = self.cluster.lock().expect("cluster poisoned");
        c.objects.get(kind).and_then(|m| m.get(key)).cloned()
    }

    /// Adds or changes an Ingress for `host` (TLS when `tls`), with these annotations.
    pub fn put_ingress(
        &self,
        namespace: &str,
        name: &str,
        host: &str,
        tls: bool,
        annotations: &[(&str, &str)],
    ) {
        let uid = self.next_uid();
        let annotations: serde_json::Map<String, Value> = annotations
            .iter()
            .map(|(k, v)| (k.to_string(), json!(v)))
            .collect();
        let obj = json!({
            "apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
            "metadata": { "name": name, "namespace": namespace, "uid": uid,
                          "creationTimestamp": now(), "annotations": annotations },
            "spec": {
                "tls": if tls { json!([{ "hosts": [host], "secretName": format!("{name}-tls") }]) } else { json!([]) },
                "rules": [{ "host": host, "http": { "paths": [{ "path": "/", "pathType": "Prefix",
                    "backend": { "service": { "name": name, "port": { "number": 80 } } } }] } }]
            },
            "status": { "loadBalancer": {} }
        });
        self.put("ingresses", format!("{namespace}/{name}"), obj);
    }

    pub fn delete_ingress(&self, namespace: &str, name: &str) {
        self.delete("ingresses", &format!("{namespace}/{name}"));
    }

    /// Adds or changes a Service listening on `port`, with these annotations.
    pub fn put_service(
        &self,
        namespace: &str,
        name: &str,
        port: u16,
        annotations: &[(&str, &str)],
    ) {
        let uid = self.next_uid();
        let annotations: serde_json::Map<String, Value> = annotations
            .iter()
            .map(|(k, v)| (k.to_string(), json!(v)))
            .collect();
        let obj = json!({
            "apiVersion": "v1", "kind": "Service",
            "metadata": { "name": name, "namespace": namespace, "uid": uid,
                          "creationTimestamp": now(), "annotations": annotations },
            "spec": { "type": "ClusterIP", "clusterIP": "10.128.0.10",
                      "ports": [{ "name": "tcp", "port": port, "protocol": "TCP", "targetPort": port }] },
            "status": { "loadBalancer": {} }
        });
        self.put("services", format!("{namespace}/{name}"), obj);
    }

    /// Binds a running pod with these requests to `node`.
    pub fn schedule(&self, pod: &str, node: &str, cpu: &str, memory: &str) {
        let uid = self.next_uid();
        let container = pod.split('-').next().unwrap_or(pod);
        let obj = json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": pod, "namespace": "default", "uid": uid,
                "creationTimestamp": now()},
            "spec": {"nodeName": node, "containers": [{"name": container, "image": format!("registry.example/{container}:1"),
                "resources": {"requests": {"cpu": cpu, "memory": memory}, "limits": {"memory": memory}}}]},
            "status": {"phase": "Running", "startTime": now(),
                "containerStatuses": [{"name": container, "ready": true, "restartCount": 0,
                    "image": format!("registry.example/{container}:1"), "imageID": "",
                    "state": {"running": {"startedAt": now()}}}]}
        });
        self.put("pods", format!("default/{pod}"), obj);
    }

    /// Sets a node's `MemoryPressure` (and the kubelet's words for it).
    pub fn set_memory_pressure(&self, node: &str, on: bool) {
        let Some(mut n) = self.get("nodes", node) else {
            return;
        };
        for c in n["status"]["conditions"]
            .as_array_mut()
            .into_iter()
            .flatten()
        {
            if c["type"] == "MemoryPressure" {
                let status = if on { "True" } else { "False" };
                if c["status"] != status {
                    c["status"] = json!(status);
                    c["lastTransitionTime"] = json!(now());
                }
                c["reason"] = json!(if on {
                    "KubeletHasInsufficientMemory"
                } else {
                    "KubeletHasSufficientMemory"
                });
                c["message"] = json!(if on {
                    "kubelet has insufficient memory available"
                } else {
                    "kubelet has sufficient memory available"
                });
                c["lastHeartbeatTime"] = json!(now());
            }
        }
        self.put("nodes", node.to_string(), n);
    }

    /// Sets a node's `Ready` condition.
    pub fn set_ready(&self, node: &str, ready: bool) {
        let Some(mut n) = self.get("nodes", node) else {
            return;
        };
        for c in n["status"]["conditions"]
            .as_array_mut()
            .into_iter()
            .flatten()
        {
            if c["type"] == "Ready" {
                c["status"] = json!(if ready { "True" } else { "Unknown" });
                c["reason"] = json!(if ready {
                    "KubeletReady"
                } else {
                    "NodeStatusUnknown"
                });
                c["message"] = json!(if ready {
                    "kubelet is posting ready status"
                } else {
                    "Kubelet stopped posting node status."
                });
                c["lastTransitionTime"] = json!(now());
            }
        }
        self.put("nodes", node.to_string(), n);
    }

    /// The kubelet evicts a pod for memory: the pod fails with reason Evicted and an `Evicted`
    /// event is posted.
    pub fn evict(&self, pod: &str) {
        let key = format!("default/{pod}");
        let Some(mut p) = self.get("pods", &key) else {
            return;
        };
        let node = p["spec"]["nodeName"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let memory = p["spec"]["containers"][0]["resources"]["requests"]["memory"].clone();
        let message = format!(
            "The node was low on resource: memory. Threshold quantity: 100Mi, available: 84Mi. \
             Container was using more than its request of {}.",
            memory.as_str().unwrap_or("?")
        );
        p["status"]["phase"] = json!("Failed");
        p["status"]["reason"] = json!("Evicted");
        p["status"]["message"] = json!(message);
        let uid = p["metadata"]["uid"].clone();
        self.put("pods", key, p);
        let event_uid = self.next_uid();
        let name = format!("{pod}.{:x}", rand_suffix(&event_uid));
        let event = json!({
            "apiVersion": "v1", "kind": "Event",
            "metadata": {"name": name, "namespace": "default", "uid": event_uid, "creationTimestamp": now()},
            "involvedObject": {"kind": "Pod", "namespace": "default", "name": pod, "uid": uid, "apiVersion": "v1"},
            "reason": "Evicted", "type": "Warning", "message": message,
            "source": {"component": "kubelet", "host": node},
            "count": 1, "firstTimestamp": now(), "lastTimestamp": now()
        });
        self.put("events", format!("default/{name}"), event);
    }

    /// A pod's first container is killed for running out of memory and restarted.
    pub fn oom_kill(&self, pod: &str) {
        let key = format!("default/{pod}");
        let Some(mut p) = self.get("pods", &key) else {
            return;
        };
        let cs = &mut p["status"]["containerStatuses"][0];
        let restarts = cs["restartCount"].as_u64().unwrap_or(0) + 1;
        cs["restartCount"] = json!(restarts);
        cs["lastState"] = json!({"terminated": {"reason": "OOMKilled", "exitCode": 137,
            "startedAt": now(), "finishedAt": now()}});
        self.put("pods", key, p);
    }

    /// Removes a pod (a drain, or the garbage collector taking an evicted one).
    pub fn delete_pod(&self, pod: &str) {
        self.delete("pods", &format!("default/{pod}"));
    }

    /// Closes every open watch stream (as an API server restarting or a load balancer timing
    /// out does); clients watch again from their last resourceVersion.
    pub fn drop_watches(&self) {
        self.drops.send_modify(|n| *n += 1);
    }

    /// Forgets history: a watch from a resourceVersion before now gets `410 Expired`, then the
    /// open watches are dropped so clients find out.
    pub fn compact(&self) {
        {
            let mut c = self.cluster.lock().expect("cluster poisoned");
            // Lists from now on start at the new version; anything older is expired.
            c.rv += 1;
            c.compacted = c.rv;
            c.history.clear();
        }
        self.drop_watches();
    }

    /// How many lists and watches were served (a re-list shows as one more list).
    pub fn lists(&self) -> u64 {
        self.lists.load(Ordering::SeqCst)
    }

    pub fn watches(&self) -> u64 {
        self.watches.load(Ordering::SeqCst)
    }

    pub fn router(&self) -> Router {
        Router::new()
            .route("/version", get(version))
            .route("/api/v1/{kind}", get(list_or_watch))
            .route(
                "/apis/networking.k8s.io/v1/ingresses",
                get(list_or_watch_ingresses),
            )
            .with_state(self.clone())
    }

    /// Serves on `addr` (port 0: an ephemeral one); returns the base URL.
    pub async fn serve_on(&self, addr: std::net::SocketAddr) -> std::io::Result<String> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let app = self.router();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await;
        });
        *self.server.lock().expect("server poisoned") = Some(stop);
        Ok(format!("http://{addr}"))
    }

    /// Serves on an ephemeral 127.0.0.1 port; returns the base URL.
    pub async fn serve(&self) -> std::io::Result<String> {
        self.serve_on(([127, 0, 0, 1], 0).into()).await
    }

    /// Stops listening and closes the open watches: the API server is unreachable (connections
    /// refused) until `serve_on` is called again.
    pub fn stop(&self) {
        self.drop_watches();
        if let Some(stop) = self.server.lock().expect("server poisoned").take() {
            let _ = stop.send(());
        }
    }
}

fn rand_suffix(uid: &str) -> u64 {
    uid.bytes().fold(1469598103934665603u64, |h, b| {
        (h ^ b as u64).wrapping_mul(1099511628211)
    })
}

/// The seed's nodes sit at the addresses their NodeBalancer backends name (see
/// `linode::seed_balancer`); any other node gets one of its own.
fn internal_ip(name: &str) -> String {
    match name {
        "lke-node-a" => "192.168.200.11".into(),
        "lke-node-b" => "192.168.200.12".into(),
        other => format!("192.168.201.{}", rand_suffix(other) % 250 + 2),
    }
}

fn node_json(name: &str, memory_pressure: bool, ready: bool) -> Value {
    let t = now();
    let cond = |kind: &str, status: &str, reason: &str, message: &str| {
        json!({"type": kind, "status": status, "reason": reason, "message": message,
            "lastHeartbeatTime": t, "lastTransitionTime": t})
    };
    json!({
        "apiVersion": "v1", "kind": "Node",
        "metadata": {"name": name, "uid": format!("node-{name}"), "creationTimestamp": t,
            "labels": {"kubernetes.io/hostname": name, "lke.linode.com/pool-id": "4242"}},
        "spec": {"providerID": format!("linode://{}", 20_000 + name.len())},
        "status": {
            "addresses": [{"type": "InternalIP", "address": internal_ip(name)},
                {"type": "Hostname", "address": name}],
            "capacity": {"cpu": "4", "memory": "8152960Ki", "pods": "110"},
            "allocatable": {"cpu": ALLOC_CPU, "memory": ALLOC_MEMORY, "pods": "110"},
            "conditions": [
                cond("MemoryPressure", if memory_pressure { "True" } else { "False" },
                    "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
                cond("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
                cond("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
                cond("Ready", if ready { "True" } else { "Unknown" }, "KubeletReady", "kubelet is posting ready status"),
            ],
            "nodeInfo": {"kubeletVersion": "v1.33.2", "osImage": "Debian GNU/Linux 12 (bookworm)",
                "architecture": "amd64", "bootID": "", "containerRuntimeVersion": "containerd://1.7.27",
                "kernelVersion": "6.1.0-37-cloud-amd64", "kubeProxyVersion": "", "machineID": "",
                "operatingSystem": "linux", "systemUUID": ""}
        }
    })
}

fn status(code: u16, reason: &str, message: &str) -> Value {
    json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": message, "reason": reason, "code": code})
}

fn refuse(code: StatusCode, reason: &str, message: &str) -> Response {
    (code, Json(status(code.as_u16(), reason, message))).into_response()
}

fn authorized(sim: &KubeSim, headers: &HeaderMap) -> bool {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        == Some(sim.token.as_str())
}

async fn version(State(sim): State<KubeSim>, headers: HeaderMap) -> Response {
    if !authorized(&sim, &headers) {
        return refuse(StatusCode::UNAUTHORIZED, "Unauthorized", "Unauthorized");
    }
    Json(
        json!({"major": "1", "minor": "33", "gitVersion": "v1.33.2-vigil-sim",
        "gitCommit": "0000000", "gitTreeState": "clean", "buildDate": "2026-06-01T00:00:00Z",
        "goVersion": "go1.24.4", "compiler": "gc", "platform": "linux/amd64"}),
    )
    .into_response()
}

fn list_kind(kind: &str) -> &'static str {
    match kind {
        "nodes" => "NodeList",
        "pods" => "PodList",
        "ingresses" => "IngressList",
        "services" => "ServiceList",
        _ => "EventList",
    }
}

fn api_version(kind: &str) -> &'static str {
    match kind {
        "ingresses" => "networking.k8s.io/v1",
        _ => "v1",
    }
}

/// `GET /apis/networking.k8s.io/v1/ingresses`: as the core kinds, for Ingresses.
async fn list_or_watch_ingresses(
    state: State<KubeSim>,
    q: Query<ListQuery>,
    headers: HeaderMap,
) -> Response {
    list_or_watch(state, Path("ingresses".to_string()), q, headers).await
}

async fn list_or_watch(
    State(sim): State<KubeSim>,
    Path(kind): Path<String>,
    Query(q): Query<ListQuery>,
    headers: HeaderMap,
) -> Response {
    if !authorized(&sim, &headers) {
        return refuse(StatusCode::UNAUTHORIZED, "Unauthorized", "Unauthorized");
    }
    let Some(kind) = KINDS.into_iter().find(|k| *k == kind) else {
        return refuse(
            StatusCode::NOT_FOUND,
            "NotFound",
            "the server could not find the requested resource",
        );
    };
    if matches!(q.watch.as_deref(), Some("true" | "1")) {
        return watch(sim, kind, q).await;
    }
    sim.lists.fetch_add(1, Ordering::SeqCst);
    let c = sim.cluster.lock().expect("cluster poisoned");
    let items: Vec<&Value> = c.objects[kind].values().collect();
    Json(json!({
        "kind": list_kind(kind), "apiVersion": api_version(kind),
        "metadata": {"resourceVersion": c.rv.to_string()},
        "items": items,
    }))
    .into_response()
}

async fn watch(sim: KubeSim, kind: &'static str, q: ListQuery) -> Response {
    sim.watches.fetch_add(1, Ordering::SeqCst);
    let from: u64 = q
        .resource_version
        .as_deref()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let (tx, rx) = mpsc::channel::<Result<Bytes, Infallible>>(256);
    let line = |t: &str, obj: &Value| {
        let mut s = json!({"type": t, "object": obj}).to_string();
        s.push('\n');
        Ok(Bytes::from(s))
    };
    // Under the lock: what a watch from `from` missed, and a subscription for what follows.
    let (backlog, mut live, expired) = {
        let c = sim.cluster.lock().expect("cluster poisoned");
        if from != 0 && from < c.compacted {
            (Vec::new(), sim.live.subscribe(), true)
        } else {
            let backlog: Vec<Change> = c
                .history
                .iter()
                .filter(|ch| ch.0 > from && ch.1 == kind)
                .cloned()
                .collect();
            (backlog, sim.live.subscribe(), false)
        }
    };
    let mut drops = sim.drops.subscribe();
    drops.borrow_and_update();
    let timeout = Duration::from_secs(q.timeout_seconds.unwrap_or(1800).min(3600));
    tokio::spawn(async move {
        if expired {
            let msg = format!("too old resource version: {from}");
            let _ = tx.send(line("ERROR", &status(410, "Expired", &msg))).await;
            return;
        }
        let mut last = from;
        for ch in backlog {
            last = ch.0;
            if tx.send(line(ch.2, &ch.3)).await.is_err() {
                return;
            }
        }
        let deadline = tokio::time::sleep(timeout);
        tokio::pin!(deadline);
        loop {
            tokio::select! {
                _ = &mut deadline => return,
                _ = drops.changed() => return,
                _ = tx.closed() => return,
                got = live.recv() => match got {
                    Ok(ch) if ch.1 == kind && ch.0 > last => {
                        last = ch.0;
                        if tx.send(line(ch.2, &ch.3)).await.is_err() {
                            return;
                        }
                    }
                    Ok(_) => {}
                    // Fell too far behind: end the stream, as a real server would; the client
                    // watches again from its last resourceVersion.
                    Err(_) => return,
                },
            }
        }
    });
    (
        [(header::CONTENT_TYPE, "application/json")],
        Body::from_stream(tokio_stream::wrappers::ReceiverStream::new(rx)),
    )
        .into_response()
}
