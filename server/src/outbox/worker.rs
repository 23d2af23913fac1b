//! The outbox's one worker: for a lane, takes the heads that are due (only the head of each
//! receiver's queue, so a receiver's messages arrive in order), sends them a bounded number at a
//! time, and records each attempt by one policy. A crash between sending and recording repeats that
//! one message; nothing recorded as delivered is sent again. Between rounds it sleeps until new
//! events commit, the next retry falls due, or the lane's idle timer ends; it never polls an idle
//! queue.

use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::StreamExt;
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;
use vigil_core::store::{
    outbox::{self, Failure, Queue},
    StoreError,
};

use super::policy::{backoff, Outcome};

/// What the worker needs to know of a queued message.
#[derive(Clone, Debug)]
pub struct Head {
    pub id: i64,
    pub attempts: i32,
    pub created_at: DateTime<Utc>,
}

/// How a lane is delivered.
#[derive(Clone, Debug)]
pub struct Policy {
    /// Messages in flight at once.
    pub concurrency: usize,
    /// The longest one attempt may take (beyond the client's own timeout).
    pub timeout: Option<Duration>,
    /// Tries before a message is given up on, when fewer than `give_up_after` allows.
    pub max_tries: Option<i32>,
    /// A message still undelivered this long after it was queued is given up on.
    pub give_up_after: chrono::Duration,
    /// The longest sleep between rounds when nothing is due.
    pub idle: Duration,
    /// How often the lane's housekeeping runs (at a wake-up, at most this often).
    pub housekeeping: Option<Duration>,
}

/// One lane of the outbox: where its messages are queued, how to find the due ones, how to send
/// one and what follows a delivery.
#[async_trait::async_trait]
pub trait Lane: Send + Sync {
    type Message: Send + Sync;

    /// For logs and metrics.
    fn name(&self) -> &'static str;
    fn queue(&self) -> Queue;
    /// Where its queue is stored.
    fn pool(&self) -> &PgPool;
    fn policy(&self) -> &Policy;
    fn head(&self, m: &Self::Message) -> Head;

    /// The heads due now, oldest first.
    async fn due(&self) -> Result<Vec<Self::Message>, StoreError>;
    /// When the next waiting message falls due.
    async fn next_due(&self) -> Result<Option<DateTime<Utc>>, StoreError>;
    /// Prepares, sends and classifies one attempt.
    async fn send(&self, m: &Self::Message) -> Outcome;
    /// Marks a delivered message (a lane may change more in the same transaction).
    async fn delivered(&self, m: &Self::Message, status: u16) -> Result<(), StoreError>;
    /// The receiver is gone for good: stop sending to it.
    async fn gone(&self, _m: &Self::Message, _error: &str) -> Result<(), StoreError> {
        Ok(())
    }
    /// Work besides delivering (reminders falling due, lapsed requests).
    async fn housekeeping(&self) -> Result<(), StoreError> {
        Ok(())
    }
}

/// Delivers `lane` until shutdown.
pub async fn run<L: Lane>(lane: L, mut events: crate::wake::Events, shutdown: CancellationToken) {
    let policy = lane.policy().clone();
    let mut kept_house: Option<tokio::time::Instant> = None;
    loop {
        if let Some(every) = policy.housekeeping {
            if kept_house.is_none_or(|t| t.elapsed() >= every) {
                if let Err(e) = lane.housekeeping().await {
                    tracing::warn!(lane = lane.name(), error = %e, "outbox housekeeping failed; retrying");
                }
                kept_house = Some(tokio::time::Instant::now());
            }
        }
        let wait = match round(&lane).await {
            Ok(0) => match lane.next_due().await {
                Ok(next) => next.map_or(policy.idle, |at| crate::wake::until(at, policy.idle)),
                Err(_) => Duration::from_secs(1),
            },
            Ok(_) => Duration::ZERO,
            Err(e) => {
                tracing::warn!(lane = lane.name(), error = %e, "outbox round failed; retrying");
                Duration::from_secs(1)
            }
        };
        if !events.rest(&shutdown, wait).await {
            return;
        }
    }
}

/// One pass over the heads due in `lane`; returns how many were tried.
pub async fn round<L: Lane>(lane: &L) -> Result<usize, StoreError> {
    let due = lane.due().await?;
    let n = due.len();
    let policy = lane.policy();
    let results: Vec<Result<(), StoreError>> = futures::stream::iter(due)
        .map(|m| async move {
            let outcome = match policy.timeout {
                Some(limit) => tokio::time::timeout(limit, lane.send(&m))
                    .await
                    .unwrap_or_else(|_| Outcome::Retry {
                        status: None,
                        error: format!("no answer within {} s", limit.as_secs()),
                    }),
                None => lane.send(&m).await,
            };
            record(lane, &m, outcome).await
        })
        .buffer_unordered(policy.concurrency.max(1))
        .collect()
        .await;
    results.into_iter().collect::<Result<(), _>>()?;
    Ok(n)
}

/// Records one attempt, by the one policy every lane follows.
async fn record<L: Lane>(lane: &L, m: &L::Message, outcome: Outcome) -> Result<(), StoreError> {
    let head = lane.head(m);
    let policy = lane.policy();
    let now = Utc::now();
    let give_up = |at: DateTime<Utc>| {
        at - head.created_at > policy.give_up_after
            || policy.max_tries.is_some_and(|n| head.attempts + 1 >= n)
    };
    let count = |result: &'static str| {
        metrics::counter!("outbox_attempts_total", "lane" => lane.name(), "result" => result)
            .increment(1);
    };
    // Every answer but a delivery is a failed attempt: when to try next, and whether to stop.
    let (result, status, error, next, counts) = match outcome {
        Outcome::Delivered(status) => {
            count("delivered");
            return lane.delivered(m, status).await;
        }
        Outcome::Wait { status, after } => {
            tracing::info!(
                lane = lane.name(),
                id = head.id,
                wait_ms = after.as_millis() as u64,
                "rate limited; waiting as asked"
            );
            let next = now + chrono::Duration::from_std(after).unwrap_or_default();
            (
                "rate_limited",
                Some(status),
                "rate limited (429)".to_string(),
                Some(next),
                false,
            )
        }
        Outcome::Retry { status, error } => {
            tracing::warn!(lane = lane.name(), id = head.id, %error, "not delivered; will retry");
            (
                "retry",
                status,
                error,
                Some(now + backoff(head.attempts)),
                true,
            )
        }
        Outcome::Refused { status, error } => {
            tracing::error!(lane = lane.name(), id = head.id, %error, "the receiver refused a message; giving up on it");
            ("refused", Some(status), error, None, true)
        }
        Outcome::Gone { status, error } => {
            tracing::info!(lane = lane.name(), id = head.id, %error, "the receiver is gone");
            ("gone", status, error, None, true)
        }
    };
    count(result);
    let failure = Failure {
        status,
        error: &error,
        next: next.unwrap_or(now),
        // Refused and gone: never again; the others while the lane's limits allow.
        give_up: next.is_none_or(give_up),
        counts,
    };
    outbox::attempt_failed(lane.pool(), lane.queue(), head.id, &failure).await?;
    if result == "gone" {
        lane.gone(m, &error).await?;
    }
    Ok(())
}
