//! `vigil-sim`: the outside world of the seed incident on 127.0.0.1 — a Linode API with one
//! NodeBalancer, the public services, a Prometheus, two nodes' node_exporters and a webhook
//! receiver — stepping through a scenario file.

use std::{
    collections::HashMap,
    net::SocketAddr,
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
    time::Duration,
};

use axum::{extract::State, http::StatusCode, Router};
use vigil_sim::{
    kubernetes::KubeSim,
    linode::{seed_balancer, LinodeSim},
    nodes::{unix_now, NodesSim},
    provider::ProviderSim,
    scenario::Scenario,
    webhooks::WebhookSim,
};

const USAGE: &str = "usage: vigil-sim [--scenario FILE] [--speed N] [--port BASE] [--token TOKEN]

Serves on 127.0.0.1:
  BASE      Linode API v4 (/v4/nodebalancers...; Bearer TOKEN)
  BASE+1..3 the public services: site, grafana, bitwarden (502 while down)
  BASE+4    Prometheus (/api/v1/query, /api/v1/query_range, /-/healthy)
  BASE+5    node_exporter of lke-node-a (/metrics)
  BASE+6    node_exporter of lke-node-b (/metrics)
  BASE+7    webhook receiver: Discord /api/webhooks/{id}/{token}, Slack /services/..., JSON
            /hook/{name}; GET /_sim/messages lists what arrived, POST /_sim/faults misbehaves
  BASE+8    the provider's status page (Statuspage v2: /api/v2/summary.json)
  BASE+9    Kubernetes API server (/version, list + watch /api/v1/{nodes,pods,events};
            Bearer TOKEN)
Defaults: the bundled seed scenario, speed 1, port 4100, token sim-linode-token.";

#[tokio::main]
async fn main() {
    let mut scenario_path = None;
    let mut speed = 1.0_f64;
    let mut port = 4100_u16;
    let mut token = "sim-linode-token".to_string();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = || {
            args.next()
                .unwrap_or_else(|| die(&format!("{a} needs a value")))
        };
        match a.as_str() {
            "--scenario" => scenario_path = Some(value()),
            "--speed" => {
                speed = value()
                    .parse()
                    .unwrap_or_else(|_| die("--speed takes a number"))
            }
            "--port" => {
                port = value()
                    .parse()
                    .unwrap_or_else(|_| die("--port takes a port number"))
            }
            "--token" => token = value(),
            "-h" | "--help" => {
                println!("{USAGE}");
                return;
            }
            other => die(&format!("unknown argument {other}")),
        }
    }
    let text = match &scenario_path {
        Some(p) => {
            std::fs::read_to_string(p).unwrap_or_else(|e| die(&format!("cannot read {p}: {e}")))
        }
        None => include_str!("../../scenarios/seed.toml").to_string(),
    };
    let scenario = Scenario::parse(&text).unwrap_or_else(|e| die(&format!("bad scenario: {e}")));

    let linode = LinodeSim::new(&token, vec![seed_balancer()]);
    serve(port, linode.router()).await;
    let mut services = HashMap::new();
    for (i, name) in ["site", "grafana", "bitwarden"].iter().enumerate() {
        let up = Arc::new(AtomicBool::new(true));
        serve(port + 1 + i as u16, service(name, up.clone())).await;
        services.insert(name.to_string(), up);
    }
    let node_names = ["lke-node-a", "lke-node-b"];
    // An hour of history, so graphs drawn from Prometheus have a past from the first minute.
    let nodes = NodesSim::new(&node_names, 3600);
    serve(port + 4, nodes.prometheus_router()).await;
    for (i, name) in node_names.iter().enumerate() {
        serve(port + 5 + i as u16, nodes.exporter_router(name)).await;
    }
    let webhooks = WebhookSim::new();
    serve(port + 7, webhooks.router()).await;
    let provider = ProviderSim::new();
    serve(port + 8, provider.router()).await;
    let kube = KubeSim::new(&token);
    serve(port + 9, kube.router()).await;
    eprintln!(
        "vigil-sim: Linode API http://127.0.0.1:{port}/v4, services on {}–{}, Prometheus on {}, \
         node_exporters on {} and {}, webhooks on {}, status page on {}, Kubernetes on {}",
        port + 1,
        port + 3,
        port + 4,
        port + 5,
        port + 6,
        port + 7,
        port + 8,
        port + 9
    );
    // Prometheus scrapes every 15 s; the NodeBalancer's stats are 5-minute averages, sampled
    // here every 30 s so a sped-up scenario shows its dips.
    nodes.spawn_recorder(Duration::from_secs(15));
    {
        let linode = linode.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(30));
            loop {
                tick.tick().await;
                linode.record_connections(unix_now() as i64);
            }
        });
    }

    loop {
        let start = tokio::time::Instant::now();
        kube.reset();
        for step in &scenario.steps {
            tokio::time::sleep_until(start + Duration::from_secs_f64(step.at_secs as f64 / speed))
                .await;
            for (name, state) in &step.services {
                if let Some(flag) = services.get(name) {
                    flag.store(state == "up", Ordering::SeqCst);
                }
            }
            if let Some(p) = &step.prometheus {
                nodes.set_prometheus_down(p != "up");
            }
            for (name, n) in &step.nodes {
                if let Some(load) = nodes.load(name) {
                    nodes.set_load(name, n.apply(load));
                }
                if let Some(present) = n.present {
                    nodes.set_present(name, present);
                }
                if let Some(nan) = n.nan {
                    nodes.set_nan(name, nan);
                }
                if n.restart_exporter {
                    nodes.restart_exporter(name);
                }
                if let Some(on) = n.k8s_memory_pressure {
                    kube.set_memory_pressure(name, on);
                }
                if let Some(ready) = n.k8s_ready {
                    kube.set_ready(name, ready);
                }
            }
            for p in &step.schedule {
                kube.schedule(&p.pod, &p.node, &p.cpu, &p.memory);
            }
            for pod in &step.evict {
                kube.evict(pod);
            }
            for pod in &step.oom_kill {
                kube.oom_kill(pod);
            }
            for pod in &step.delete_pods {
                kube.delete_pod(pod);
            }
            for (id, status) in &step.backends {
                linode.set_node_status(id.parse().expect("validated"), status);
            }
            if step.reapply {
                linode.reapply(chrono::Utc::now());
            }
            match step.provider.as_deref() {
                Some("open") => provider.open_incident(
                    "Connectivity issue affecting NodeBalancers in eu-west",
                    "NodeBalancers",
                    "partial_outage",
                    "We are investigating reports of intermittent connectivity to NodeBalancer backends.",
                ),
                Some("resolved") => provider.resolve(),
                _ => {}
            }
            eprintln!("vigil-sim: t={}s applied", step.at_secs);
        }
        tokio::time::sleep_until(
            start + Duration::from_secs_f64(scenario.length_secs as f64 / speed),
        )
        .await;
        if !scenario.repeat {
            break;
        }
    }
    std::future::pending::<()>().await;
}

fn die(msg: &str) -> ! {
    eprintln!("vigil-sim: {msg}\n\n{USAGE}");
    std::process::exit(2)
}

async fn serve(port: u16, app: Router) {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .unwrap_or_else(|e| die(&format!("cannot listen on {addr}: {e}")));
    tokio::spawn(async move { axum::serve(listener, app).await });
}

fn service(name: &'static str, up: Arc<AtomicBool>) -> Router {
    Router::new()
        .fallback(move |State(up): State<Arc<AtomicBool>>| async move {
            if up.load(Ordering::SeqCst) {
                (StatusCode::OK, format!("{name} is up\n"))
            } else {
                (StatusCode::BAD_GATEWAY, "502 Bad Gateway\n".to_string())
            }
        })
        .with_state(up)
}
