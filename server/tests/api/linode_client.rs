//! The Linode client against the simulator: paging, 429, 5xx, malformed JSON, a wrong token and a
//! slow API, over real HTTP on 127.0.0.1.

use std::time::{Duration, Instant};

use vigil_server::sources::linode::client::{LinodeClient, LinodeError};
use vigil_sim::linode::{seed_balancer, Faults, LinodeSim, NodeBalancer};

const TOKEN: &str = "sim-token-0123456789";

fn many(n: u64) -> Vec<NodeBalancer> {
    (0..n)
        .map(|i| {
            let mut nb = seed_balancer();
            nb.id = 1000 + i;
            nb.label = format!("nb-{i}");
            nb
        })
        .collect()
}

async fn client_for(sim: &LinodeSim, timeout_ms: u64) -> LinodeClient {
    let (_, base) = sim.serve().await.unwrap();
    let mut c = LinodeClient::new(&base, TOKEN, Duration::from_millis(timeout_ms));
    c.backoff = Duration::from_millis(20);
    c
}

#[tokio::test]
async fn every_page_is_read() {
    // The client asks for 500 a page; 1,200 balancers take three.
    let sim = LinodeSim::new(TOKEN, many(1200));
    let c = client_for(&sim, 2000).await;
    let list = c.nodebalancers().await.unwrap();
    assert_eq!(list.len(), 1200);
    assert_eq!(list[1199].label, "nb-1199");
    assert_eq!(sim.requests(), 3);

    let configs = c.configs(1000).await.unwrap();
    assert_eq!(
        configs.iter().map(|c| c.port).collect::<Vec<_>>(),
        vec![80, 443]
    );
    assert_eq!(
        (configs[0].nodes_status.up, configs[0].nodes_status.down),
        (2, 0)
    );
    sim.set_node_status(8002, "DOWN");
    let nodes = c.nodes(1000, 80).await.unwrap();
    assert_eq!(nodes.len(), 2);
    assert_eq!(nodes[1].status, "DOWN");
    assert_eq!(nodes[1].address, "192.168.200.12:31080");
}

#[tokio::test]
async fn rate_limits_are_waited_out_as_the_api_asks() {
    let sim = LinodeSim::new(TOKEN, many(1));
    let c = client_for(&sim, 2000).await;
    sim.set_faults(Faults {
        throttle_next: 1,
        retry_after_secs: 1,
        ..Default::default()
    });
    let started = Instant::now();
    assert_eq!(c.nodebalancers().await.unwrap().len(), 1);
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "waited for Retry-After"
    );
    assert_eq!(sim.requests(), 2);

    sim.set_faults(Faults {
        throttle_next: 10,
        retry_after_secs: 0,
        ..Default::default()
    });
    match c.nodebalancers().await {
        Err(LinodeError::RateLimited { attempts, .. }) => assert_eq!(attempts, 4),
        other => panic!("expected RateLimited, got {other:?}"),
    }
}

#[tokio::test]
async fn server_errors_are_retried_then_reported() {
    let sim = LinodeSim::new(TOKEN, many(1));
    let c = client_for(&sim, 2000).await;
    sim.set_faults(Faults {
        fail_next: 2,
        ..Default::default()
    });
    assert_eq!(c.nodebalancers().await.unwrap().len(), 1);
    sim.set_faults(Faults {
        fail_next: 10,
        ..Default::default()
    });
    let err = c.nodebalancers().await.unwrap_err();
    assert!(
        matches!(err, LinodeError::Status { status: 500, .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("Please try again later"), "{err}");
}

#[tokio::test]
async fn malformed_json_is_an_error_that_names_the_endpoint() {
    let sim = LinodeSim::new(TOKEN, many(1));
    let c = client_for(&sim, 2000).await;
    sim.set_faults(Faults {
        malformed: true,
        ..Default::default()
    });
    let err = c.nodebalancers().await.unwrap_err();
    assert!(matches!(err, LinodeError::Malformed { .. }), "{err:?}");
    assert!(err.to_string().contains("/nodebalancers"), "{err}");
}

#[tokio::test]
async fn a_wrong_token_is_refused_clearly_and_never_printed() {
    let sim = LinodeSim::new(TOKEN, many(1));
    let (_, base) = sim.serve().await.unwrap();
    let c = LinodeClient::new(&base, "wrong-secret-token", Duration::from_secs(2));
    let err = c.nodebalancers().await.unwrap_err();
    assert!(
        matches!(err, LinodeError::Unauthorized { status: 401, .. }),
        "{err:?}"
    );
    let msg = err.to_string();
    assert!(
        msg.contains("Invalid Token") && msg.contains("nodebalancers:read_only"),
        "{msg}"
    );
    assert!(!format!("{c:?}").contains("wrong-secret-token"));
    assert!(!msg.contains("wrong-secret-token"));
}

#[tokio::test]
async fn a_slow_api_times_out() {
    let sim = LinodeSim::new(TOKEN, many(1));
    let c = client_for(&sim, 300).await;
    sim.set_faults(Faults {
        delay: Duration::from_secs(2),
        ..Default::default()
    });
    let started = Instant::now();
    let err = c.nodebalancers().await.unwrap_err();
    assert!(
        matches!(
            err,
            LinodeError::Timeout {
                timeout_ms: 300,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(2));
}
