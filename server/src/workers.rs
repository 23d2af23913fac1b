//! What every background worker shares: a steady tick that stops at shutdown, and the HTTP client
//! that names Vigil to the systems it calls.

use std::time::Duration;

use tokio::time::{Interval, MissedTickBehavior};
use tokio_util::sync::CancellationToken;

/// Ticks every `period`, starting now; a late tick is not made up for with a burst.
pub fn ticker(period: Duration) -> Interval {
    let mut every = tokio::time::interval(period);
    every.set_missed_tick_behavior(MissedTickBehavior::Delay);
    every
}

/// Waits for the next tick: true to work, false once shutdown has begun.
pub async fn next_tick(every: &mut Interval, shutdown: &CancellationToken) -> bool {
    tokio::select! {
        _ = shutdown.cancelled() => false,
        _ = every.tick() => true,
    }
}

/// An HTTP client for calling out (Linode, Prometheus, node_exporter, webhooks).
pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .user_agent(concat!("Vigil/", env!("CARGO_PKG_VERSION")))
        .build()
        .expect("the HTTP client builds")
}

/// Runs CPU work where it does not hold up other tasks: on a multi-threaded runtime the worker
/// hands its other tasks to the rest first (`block_in_place`); on a single-threaded one (tests,
/// the CLI) there is nothing to hand over. (Running it on a thread of the lowest priority was
/// measured and did not change the probes' lag while a world changes.)
pub fn off_the_runtime<R>(work: impl FnOnce() -> R) -> R {
    match tokio::runtime::Handle::try_current().map(|h| h.runtime_flavor()) {
        Ok(tokio::runtime::RuntimeFlavor::MultiThread) => tokio::task::block_in_place(work),
        _ => work(),
    }
}
