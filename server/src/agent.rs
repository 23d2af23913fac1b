//! `vigil agent`: a probe agent in another region. It asks a Vigil server which monitors list its
//! region, checks them with the same probes the server runs, and pushes what it saw in batches.
//! While the server cannot be reached it keeps checking and buffers (bounded: the oldest results
//! go first, and how many is reported with the next push that gets through).
//!
//! It needs no database and keeps nothing on disk: a restarted agent starts with an empty buffer.

use std::{
    collections::VecDeque,
    sync::{Arc, Mutex},
    time::Duration,
};

use anyhow::Context;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use vigil_core::model::monitor::{CheckResult, MonitorSpec};

use crate::{
    cli::AgentArgs,
    http::api::agents::{Assignment, Observed, Push, MAX_BATCH},
    probes::{check::Probers, scheduler::Scheduler},
    world::follow::LiveWorld,
};

/// Results waiting to be pushed, and how many were dropped since the last push that got through.
#[derive(Default)]
struct Buffer {
    /// (sequence number, monitor, result), oldest first.
    results: VecDeque<(u64, i64, CheckResult)>,
    next: u64,
    dropped: u64,
}

struct Agent {
    args: AgentArgs,
    client: reqwest::Client,
    buffer: Arc<Mutex<Buffer>>,
}

/// Runs until `shutdown` is cancelled; the last results are pushed before returning.
pub async fn run(args: AgentArgs, shutdown: CancellationToken) -> anyhow::Result<()> {
    let client = reqwest::Client::builder()
        .user_agent(concat!("Vigil-agent/", env!("CARGO_PKG_VERSION")))
        .timeout(Duration::from_secs(20))
        .build()
        .context("building the HTTP client")?;
    let agent = Arc::new(Agent {
        args,
        client,
        buffer: Default::default(),
    });
    tracing::info!(server = %agent.args.server, region = %agent.args.region, "probe agent starting");
    let pushing = tokio::spawn(agent.clone().push_until(shutdown.clone()));
    let mut assigned: Option<Vec<(i64, Arc<MonitorSpec>)>> = None;
    // The scheduler follows the assignment as the server's scheduler follows the world: a
    // changed list re-times only the monitors that changed.
    let mut probing: Option<tokio::sync::watch::Sender<Arc<LiveWorld>>> = None;
    let mut every = crate::workers::ticker(Duration::from_secs(agent.args.refresh_secs.max(1)));
    while crate::workers::next_tick(&mut every, &shutdown).await {
        match agent.assignment().await {
            Ok(monitors) if assigned.as_ref() != Some(&monitors) => {
                tracing::info!(
                    monitors = monitors.len(),
                    "checking the monitors of this region"
                );
                let world = Arc::new(LiveWorld {
                    by_id: monitors.iter().cloned().collect(),
                    monitors: monitors.clone(),
                    ..Default::default()
                });
                match &probing {
                    Some(tx) => {
                        tx.send_replace(world);
                    }
                    None => {
                        let (tx, rx) = tokio::sync::watch::channel(world);
                        agent.clone().probe(rx, shutdown.clone());
                        probing = Some(tx);
                    }
                }
                assigned = Some(monitors);
            }
            Ok(_) => {}
            // Keep checking what was assigned last: the server being away is when this matters.
            Err(e) => {
                tracing::warn!(error = %e, "cannot fetch this region's monitors; keeping the last list")
            }
        }
    }
    let _ = pushing.await;
    Ok(())
}

impl Agent {
    async fn assignment(&self) -> anyhow::Result<Vec<(i64, Arc<MonitorSpec>)>> {
        let url = format!(
            "{}/api/v1/agent/monitors",
            self.args.server.trim_end_matches('/')
        );
        let resp = self
            .client
            .get(&url)
            .query(&[("region", &self.args.region)])
            .bearer_auth(&self.args.token)
            .send()
            .await
            .map_err(|e| anyhow::anyhow!(crate::redact::transport_error(&e)))?;
        let assignment: Assignment = crate::capped::json(accepted(resp).await?, 16 << 20)
            .await
            .context("reading the monitor list")?;
        Ok(assignment
            .monitors
            .into_iter()
            .map(|m| (m.id, Arc::new(m.spec)))
            .collect())
    }

    /// Checks the assigned monitors until `token` is cancelled, into the buffer.
    fn probe(self: Arc<Self>, assigned: crate::world::follow::Live, token: CancellationToken) {
        let (tx, mut rx) = mpsc::channel::<(i64, CheckResult)>(4_096);
        let scheduler = Scheduler {
            live: assigned,
            region: self.args.region.clone(),
            probers: Arc::new(Probers::new(1 << 20, Default::default())),
            paused: Default::default(),
            max_concurrency: 256,
            last_checked: Default::default(),
        };
        // Runs until `token`; nothing waits for it to stop.
        drop(scheduler.start(tx, token));
        tokio::spawn(async move {
            while let Some(r) = rx.recv().await {
                let mut b = self.buffer.lock().expect("buffer poisoned");
                if b.results.len() >= self.args.buffer.max(1) {
                    b.results.pop_front();
                    b.dropped += 1;
                }
                let seq = b.next;
                b.next += 1;
                b.results.push_back((seq, r.0, r.1));
            }
        });
    }

    /// Pushes the buffer every `push_ms` until shutdown, then once more.
    async fn push_until(self: Arc<Self>, shutdown: CancellationToken) {
        let mut every = crate::workers::ticker(Duration::from_millis(self.args.push_ms.max(50)));
        let mut failing = false;
        while crate::workers::next_tick(&mut every, &shutdown).await {
            match self.push_all().await {
                Ok(()) if failing => {
                    tracing::info!("the server takes results again");
                    failing = false;
                }
                Ok(()) => {}
                Err(e) => {
                    if !failing {
                        tracing::warn!(error = %e, "cannot push results; buffering them");
                    }
                    failing = true;
                }
            }
        }
        if let Err(e) = tokio::time::timeout(Duration::from_secs(5), self.push_all()).await {
            tracing::warn!(error = %e, "results left unsent at shutdown");
        }
    }

    /// Sends everything buffered, in batches, oldest first.
    async fn push_all(&self) -> anyhow::Result<()> {
        loop {
            let (batch, last, dropped) = {
                let mut b = self.buffer.lock().expect("buffer poisoned");
                // The server refuses results older than this; they count as dropped instead.
                let oldest = chrono::Utc::now() - crate::http::api::agents::MAX_RESULT_AGE;
                while b.results.front().is_some_and(|(_, _, r)| r.at < oldest) {
                    b.results.pop_front();
                    b.dropped += 1;
                }
                if b.results.is_empty() && b.dropped == 0 {
                    return Ok(());
                }
                let n = b.results.len().min(MAX_BATCH);
                let batch: Vec<(i64, CheckResult)> = b
                    .results
                    .iter()
                    .take(n)
                    .map(|(_, id, r)| (*id, r.clone()))
                    .collect();
                let last = b.results.get(n.saturating_sub(1)).map(|(seq, ..)| *seq);
                (batch, last, b.dropped)
            };
            let sent = batch.len();
            self.push(batch, dropped).await?;
            let mut b = self.buffer.lock().expect("buffer poisoned");
            // Forget what was sent (some of it may have been dropped meanwhile to make room).
            if let Some(last) = last {
                while b.results.front().is_some_and(|(seq, ..)| *seq <= last) {
                    b.results.pop_front();
                }
            }
            b.dropped -= dropped.min(b.dropped);
            if sent < MAX_BATCH {
                return Ok(());
            }
        }
    }

    async fn push(&self, batch: Vec<(i64, CheckResult)>, dropped: u64) -> anyhow::Result<()> {
        let url = format!(
            "{}/api/v1/agent/results",
            self.args.server.trim_end_matches('/')
        );
        let body = Push {
            region: self.args.region.clone(),
            dropped,
            results: batch
                .into_iter()
                .map(|(monitor_id, result)| Observed { monitor_id, result })
                .collect(),
        };
        let resp = self
            .client
            .post(&url)
            .bearer_auth(&self.args.token)
            .json(&body)
            .send()
            .await
            .map_err(|e| anyhow::anyhow!(crate::redact::transport_error(&e)))?;
        accepted(resp).await.map(drop)
    }
}

/// The answer when the server took the request; otherwise what it said.
async fn accepted(resp: reqwest::Response) -> anyhow::Result<reqwest::Response> {
    let status = resp.status();
    if status.is_success() {
        return Ok(resp);
    }
    anyhow::bail!(
        "the server answered {status}: {}",
        crate::capped::read(resp, crate::capped::ANSWER_EXCERPT)
            .await
            .map(|c| c.excerpt(300))
            .unwrap_or_default()
    )
}
