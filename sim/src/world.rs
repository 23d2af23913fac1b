//! The seed incident's outside world as one value: a Linode API with one NodeBalancer, the
//! public services behind it, a Prometheus, two nodes' node_exporters, a webhook receiver, the
//! provider's status page and a Kubernetes API server — each a real HTTP server on 127.0.0.1 —
//! and the player that steps them through a scenario. `vigil-sim` serves it on fixed ports; the
//! tests start it on free ones and play a scenario faster.

use std::{
    collections::HashMap,
    net::SocketAddr,
    sync::{
        atomic::{AtomicU8, Ordering},
        Arc,
    },
    time::Duration,
};

use axum::{extract::State, http::StatusCode, Router};

use crate::{
    kubernetes::KubeSim,
    linode::{seed_balancer, LinodeSim},
    nodes::{unix_now, NodesSim},
    provider::ProviderSim,
    scenario::{Scenario, Step},
    webhooks::WebhookSim,
};

/// The public services, in port order after the Linode API.
pub const SERVICES: [&str; 3] = ["site", "grafana", "bitwarden"];
pub const NODES: [&str; 2] = ["lke-node-a", "lke-node-b"];

/// A public service's state: answering, unreachable through the balancer (502), or answering
/// with its own error (500) while everything under it is healthy.
const UP: u8 = 0;
const DOWN: u8 = 1;
const ERROR: u8 = 2;

/// Where each part listens.
#[derive(Clone, Debug)]
pub struct Ports {
    pub linode: u16,
    /// site, grafana, bitwarden.
    pub services: [u16; 3],
    pub prometheus: u16,
    /// lke-node-a, lke-node-b.
    pub exporters: [u16; 2],
    pub webhooks: u16,
    pub provider: u16,
    pub kubernetes: u16,
}

#[derive(Clone)]
pub struct SimWorld {
    pub linode: LinodeSim,
    pub nodes: NodesSim,
    pub webhooks: WebhookSim,
    pub provider: ProviderSim,
    pub kube: KubeSim,
    services: HashMap<String, Arc<AtomicU8>>,
    pub ports: Ports,
}

async fn serve(port: u16, app: Router) -> std::io::Result<u16> {
    let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], port))).await?;
    let port = listener.local_addr()?.port();
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(port)
}

fn service(name: &'static str, state: Arc<AtomicU8>) -> Router {
    Router::new()
        .fallback(move |State(state): State<Arc<AtomicU8>>| async move {
            match state.load(Ordering::SeqCst) {
                UP => (StatusCode::OK, format!("{name} is up\n")),
                ERROR => (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "500 Internal Server Error\n".to_string(),
                ),
                _ => (StatusCode::BAD_GATEWAY, "502 Bad Gateway\n".to_string()),
            }
        })
        .with_state(state)
}

impl SimWorld {
    /// Starts every part: on `base`, `base + 1`, … (see `vigil-sim --help`), or on free ports
    /// when `base` is None. `history_secs` of node samples are there from the start.
    pub async fn start(
        base: Option<u16>,
        token: &str,
        history_secs: u64,
    ) -> std::io::Result<SimWorld> {
        let at = |i: u16| base.map_or(0, |b| b + i);
        let linode = LinodeSim::new(token, vec![seed_balancer()]);
        let linode_port = serve(at(0), linode.router()).await?;
        let mut services = HashMap::new();
        let mut service_ports = [0; 3];
        for (i, name) in SERVICES.iter().enumerate() {
            let state = Arc::new(AtomicU8::new(UP));
            service_ports[i] = serve(at(1 + i as u16), service(name, state.clone())).await?;
            services.insert(name.to_string(), state);
        }
        let nodes = NodesSim::new(&NODES, history_secs);
        let prometheus = serve(at(4), nodes.prometheus_router()).await?;
        let mut exporters = [0; 2];
        for (i, name) in NODES.iter().enumerate() {
            exporters[i] = serve(at(5 + i as u16), nodes.exporter_router(name)).await?;
        }
        let webhooks = WebhookSim::new();
        let webhooks_port = serve(at(7), webhooks.router()).await?;
        let provider = ProviderSim::new();
        let provider_port = serve(at(8), provider.router()).await?;
        let kube = KubeSim::new(token);
        let kube_port = serve(at(9), kube.router()).await?;
        Ok(SimWorld {
            linode,
            nodes,
            webhooks,
            provider,
            kube,
            services,
            ports: Ports {
                linode: linode_port,
                services: service_ports,
                prometheus,
                exporters,
                webhooks: webhooks_port,
                provider: provider_port,
                kubernetes: kube_port,
            },
        })
    }

    /// Keeps what a real world records by itself: Prometheus' scrapes every 15 s, and the
    /// NodeBalancer's connection counts (5-minute averages) sampled every 30 s.
    pub fn spawn_recorders(&self) {
        self.nodes.spawn_recorder(Duration::from_secs(15));
        let linode = self.linode.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(30));
            loop {
                tick.tick().await;
                linode.record_connections(unix_now() as i64);
            }
        });
    }

    /// Applies one step of a scenario.
    pub fn apply(&self, step: &Step) {
        for (name, state) in &step.services {
            if let Some(flag) = self.services.get(name) {
                let v = match state.as_str() {
                    "up" => UP,
                    "error" => ERROR,
                    _ => DOWN,
                };
                flag.store(v, Ordering::SeqCst);
            }
        }
        if let Some(p) = &step.prometheus {
            self.nodes.set_prometheus_down(p != "up");
        }
        for (name, n) in &step.nodes {
            if let Some(load) = self.nodes.load(name) {
                self.nodes.set_load(name, n.apply(load));
            }
            if let Some(present) = n.present {
                self.nodes.set_present(name, present);
            }
            if let Some(nan) = n.nan {
                self.nodes.set_nan(name, nan);
            }
            if n.restart_exporter {
                self.nodes.restart_exporter(name);
            }
            if let Some(on) = n.k8s_memory_pressure {
                self.kube.set_memory_pressure(name, on);
            }
            if let Some(ready) = n.k8s_ready {
                self.kube.set_ready(name, ready);
            }
        }
        for p in &step.schedule {
            self.kube.schedule(&p.pod, &p.node, &p.cpu, &p.memory);
        }
        for pod in &step.evict {
            self.kube.evict(pod);
        }
        for pod in &step.oom_kill {
            self.kube.oom_kill(pod);
        }
        for pod in &step.delete_pods {
            self.kube.delete_pod(pod);
        }
        for (id, status) in &step.backends {
            self.linode
                .set_node_status(id.parse().expect("validated"), status);
        }
        if step.reapply {
            self.linode.reapply(chrono::Utc::now());
        }
        match step.provider.as_deref() {
            Some("open") => self.provider.open_incident(
                "Connectivity issue affecting NodeBalancers in eu-west",
                "NodeBalancers",
                "partial_outage",
                "We are investigating reports of intermittent connectivity to NodeBalancer backends.",
            ),
            Some("resolved") => self.provider.resolve(),
            _ => {}
        }
    }

    /// Plays one pass of `scenario` at `speed` times real time, up to scenario second `until`
    /// (the whole pass when None); each step is applied when its time comes.
    pub async fn play(&self, scenario: &Scenario, speed: f64, until: Option<u64>) {
        let start = tokio::time::Instant::now();
        self.kube.reset();
        for step in &scenario.steps {
            if until.is_some_and(|u| step.at_secs > u) {
                return;
            }
            tokio::time::sleep_until(start + Duration::from_secs_f64(step.at_secs as f64 / speed))
                .await;
            self.apply(step);
            tracing_free_log(step.at_secs);
        }
        if until.is_none() {
            tokio::time::sleep_until(
                start + Duration::from_secs_f64(scenario.length_secs as f64 / speed),
            )
            .await;
        }
    }
}

/// The simulator says where it is on standard error (it has no logger of its own).
fn tracing_free_log(at_secs: u64) {
    eprintln!("vigil-sim: t={at_secs}s applied");
}
