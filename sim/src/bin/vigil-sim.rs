//! `vigil-sim`: the outside world of the seed incident on 127.0.0.1 — a Linode API with one
//! NodeBalancer, the public services and a Prometheus — stepping through a scenario file.

use std::{
    collections::HashMap,
    net::SocketAddr,
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
    time::Duration,
};

use axum::{extract::State, http::StatusCode, routing::get, Json, Router};
use vigil_sim::{
    linode::{seed_balancer, LinodeSim},
    scenario::Scenario,
};

const USAGE: &str = "usage: vigil-sim [--scenario FILE] [--speed N] [--port BASE] [--token TOKEN]

Serves on 127.0.0.1: the Linode API v4 at BASE (/v4/nodebalancers...), site at BASE+1, grafana at
BASE+2, bitwarden at BASE+3, Prometheus at BASE+4. Defaults: the bundled seed scenario, speed 1,
port 4100, token sim-linode-token.";

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
    let prometheus_up = Arc::new(AtomicBool::new(true));
    serve(port + 4, prometheus(prometheus_up.clone())).await;
    eprintln!(
        "vigil-sim: Linode API http://127.0.0.1:{port}/v4, services on {}–{}, Prometheus on {}",
        port + 1,
        port + 3,
        port + 4
    );

    loop {
        let start = tokio::time::Instant::now();
        for step in &scenario.steps {
            tokio::time::sleep_until(start + Duration::from_secs_f64(step.at_secs as f64 / speed))
                .await;
            for (name, state) in &step.services {
                if let Some(flag) = services.get(name) {
                    flag.store(state == "up", Ordering::SeqCst);
                }
            }
            if let Some(p) = &step.prometheus {
                prometheus_up.store(p == "up", Ordering::SeqCst);
            }
            for (id, status) in &step.backends {
                linode.set_node_status(id.parse().expect("validated"), status);
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

fn prometheus(up: Arc<AtomicBool>) -> Router {
    Router::new()
        .route(
            "/-/healthy",
            get(|State(up): State<Arc<AtomicBool>>| async move {
                if up.load(Ordering::SeqCst) {
                    (StatusCode::OK, "Prometheus Server is Healthy.\n")
                } else {
                    (StatusCode::SERVICE_UNAVAILABLE, "unavailable\n")
                }
            }),
        )
        .route(
            "/api/v1/query",
            get(|State(up): State<Arc<AtomicBool>>| async move {
                let v = if up.load(Ordering::SeqCst) { "1" } else { "0" };
                Json(serde_json::json!({
                    "status": "success",
                    "data": { "resultType": "vector", "result": [
                        { "metric": { "__name__": "up", "job": "node", "instance": "lke-node-a:9100" }, "value": [0.0, v] },
                        { "metric": { "__name__": "up", "job": "node", "instance": "lke-node-b:9100" }, "value": [0.0, v] }
                    ]}
                }))
            }),
        )
        .with_state(up)
}
