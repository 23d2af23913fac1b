//! Connectors to the systems Vigil reads: Prometheus and node_exporter (node graphs), the Linode
//! API (load balancers), Kubernetes (nodes, pods, events), upstream status pages, GitHub (follow-up
//! issues); and the registry of data sources, which records when each was last heard from and
//! says when one has gone stale. (Probe agents report over the API: `http::api::agents`.)
//!
//! Whatever a connector reads comes from outside: it is read through `capped`, never followed into
//! the private network unless configured, and never shown to the public as it came.

pub mod github;
pub mod kubernetes;
pub mod linode;
pub mod node_exporter;
pub mod prometheus;
pub mod registry;
pub mod upstream;

use std::time::Duration;

use crate::config::resources::stale_after;

/// Interval, stale-after and timeout of one collector, from its config.
pub(crate) fn timing(
    interval_secs: u64,
    stale: Option<u64>,
    timeout_ms: u64,
) -> (Duration, u64, Duration) {
    (
        Duration::from_secs(interval_secs),
        stale_after(stale, interval_secs),
        Duration::from_millis(timeout_ms),
    )
}
