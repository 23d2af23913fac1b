//! `vigil-sim`: the outside world of the seed incident on 127.0.0.1 — a Linode API with one
//! NodeBalancer, the public services, a Prometheus, two nodes' node_exporters and a webhook
//! receiver — stepping through a scenario file.

use vigil_sim::{scenario::Scenario, world::SimWorld};

const USAGE: &str = "usage: vigil-sim [--scenario FILE] [--speed N] [--port BASE] [--token TOKEN]

Serves on 127.0.0.1:
  BASE      Linode API v4 (/v4/nodebalancers...; Bearer TOKEN)
  BASE+1..3 the public services: site, grafana, bitwarden (502 while down, 500 on error)
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

    let world = SimWorld::start(Some(port), &token, 3600)
        .await
        .unwrap_or_else(|e| {
            die(&format!(
                "cannot listen on 127.0.0.1:{port}–{}: {e}",
                port + 9
            ))
        });
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
    world.spawn_recorders();
    loop {
        world.play(&scenario, speed, None).await;
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
