//! Delivers subscribers' queue: many subscribers at once (a fan-out to thousands), each one's
//! messages strictly in order (only the head of a queue is tried). 2xx is delivered; 429 waits as
//! long as asked; 5xx, timeouts and transient mail errors back off; a receiver that is gone (Discord
//! 404/401, webhook 410, a mailbox the server refuses) deactivates the subscription. A crash
//! between sending and recording repeats that one message; nothing recorded as delivered is sent
//! again.

use std::{sync::Arc, time::Duration};

use chrono::{DateTime, Utc};
use futures::StreamExt;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;
use vigil_core::{
    model::{status::StatusSummary, subscriber::SubscriberKind},
    store::{
        incidents, status,
        subscribers::{self, Lane},
        StoreError,
    },
};

use super::{
    mail::Mailer,
    outcome::Outcome,
    render::{self, Links},
    target,
};
use crate::notify::worker::{answered, backoff, Outcome as Sent};

/// A message still undelivered after this long is given up on.
const GIVE_UP_AFTER: chrono::Duration = chrono::Duration::hours(24);
/// Heads taken per pass: bounded so a pass's bookkeeping stays small.
const BATCH: i64 = 1000;
/// Reminders and lapsed requests are looked for at every wake-up (a new maintenance may start
/// within the reminder's lead), at most this often, and at least every [`HOUSEKEEPING`].
const HOUSEKEEPING_MIN: Duration = Duration::from_secs(1);
const HOUSEKEEPING: Duration = Duration::from_secs(15);
/// The confirmations lane: requests nobody has confirmed yet are strangers' endpoints, so each
/// attempt gets a short answer time, few tries and few at once; confirmed subscribers' messages
/// are delivered in their own lane and never wait behind them.
const CONFIRM_CONCURRENCY: usize = 8;
const CONFIRM_TIMEOUT: Duration = Duration::from_secs(3);
const CONFIRM_TRIES: i32 = 3;
const CONFIRM_BATCH: i64 = 64;
/// The header carrying a webhook's HMAC-SHA256 signature.
pub const SIGNATURE_HEADER: &str = "x-vigil-signature-256";

pub struct Settings {
    pub public_url: String,
    pub title: String,
    pub allow_private: bool,
    pub concurrency: usize,
    pub reminder: chrono::Duration,
    /// The longest window the subscribe throttles count over: their rows are kept that long.
    pub throttle_window: chrono::Duration,
}

pub struct Worker {
    pool: PgPool,
    http: reqwest::Client,
    mailer: Option<Arc<Mailer>>,
    settings: Arc<Settings>,
}

/// `sha256=<hex>` of the body under `secret`.
pub fn signature(secret: &str, body: &[u8]) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

impl Worker {
    pub fn new(pool: PgPool, mailer: Option<Arc<Mailer>>, settings: Arc<Settings>) -> Worker {
        Worker {
            http: target::client(settings.allow_private),
            pool,
            mailer,
            settings,
        }
    }

    pub async fn run(self, events: crate::wake::Events, shutdown: CancellationToken) {
        tokio::join!(
            self.lane(Lane::Subscribers, events.clone(), &shutdown),
            self.lane(Lane::Confirmations, events, &shutdown),
        );
    }

    /// Delivers one lane until shutdown; the subscribers' lane also keeps house.
    async fn lane(
        &self,
        lane: Lane,
        mut events: crate::wake::Events,
        shutdown: &CancellationToken,
    ) {
        let mut last_housekeeping: Option<tokio::time::Instant> = None;
        loop {
            let due_for_housekeeping =
                last_housekeeping.is_none_or(|t| t.elapsed() >= HOUSEKEEPING_MIN);
            if lane == Lane::Subscribers && due_for_housekeeping {
                if let Err(e) = self.housekeeping().await {
                    tracing::warn!(error = %e, "subscriber housekeeping failed; retrying");
                }
                last_housekeeping = Some(tokio::time::Instant::now());
            }
            let wait = match self.round(lane).await {
                Ok(0) => match subscribers::next_due(&self.pool).await {
                    Ok(next) => {
                        next.map_or(HOUSEKEEPING, |at| crate::wake::until(at, HOUSEKEEPING))
                    }
                    Err(_) => Duration::from_secs(1),
                },
                Ok(_) => Duration::ZERO,
                Err(e) => {
                    tracing::warn!(error = %e, "subscriber delivery round failed; retrying");
                    Duration::from_secs(1)
                }
            };
            if !events.rest(shutdown, wait).await {
                return;
            }
        }
    }

    /// Maintenance reminders fall due; unconfirmed requests lapse.
    pub async fn housekeeping(&self) -> Result<(), StoreError> {
        let sent =
            incidents::send_maintenance_reminders(&self.pool, self.settings.reminder).await?;
        if sent > 0 {
            tracing::info!(sent, "maintenance reminders queued for subscribers");
        }
        subscribers::expire(&self.pool).await?;
        vigil_core::store::throttle::sweep_windows(&self.pool, self.settings.throttle_window)
            .await?;
        Ok(())
    }

    /// One pass over the heads due in `lane`; returns how many were tried.
    async fn round(&self, lane: Lane) -> Result<usize, StoreError> {
        let confirming = lane == Lane::Confirmations;
        let batch = if confirming { CONFIRM_BATCH } else { BATCH };
        let due = subscribers::due(&self.pool, batch, lane).await?;
        if due.is_empty() {
            return Ok(0);
        }
        let summary = Arc::new(status::summary(&self.pool, &self.settings.title).await?);
        let n = due.len();
        let concurrency = if confirming {
            CONFIRM_CONCURRENCY
        } else {
            self.settings.concurrency
        };
        let results: Vec<Result<(), StoreError>> = futures::stream::iter(due)
            .map(|d| {
                let summary = summary.clone();
                async move {
                    let outcome = if confirming {
                        tokio::time::timeout(CONFIRM_TIMEOUT, self.attempt(&d, &summary))
                            .await
                            .unwrap_or_else(|_| Outcome::Retry {
                                status: None,
                                error: format!("no answer within {} s", CONFIRM_TIMEOUT.as_secs()),
                            })
                    } else {
                        self.attempt(&d, &summary).await
                    };
                    self.record(&d, outcome, confirming).await
                }
            })
            .buffer_unordered(concurrency)
            .collect()
            .await;
        results.into_iter().collect::<Result<(), _>>()?;
        Ok(n)
    }

    async fn attempt(&self, d: &subscribers::Due, summary: &StatusSummary) -> Outcome {
        let s = &self.settings;
        let links = Links::new(&s.public_url, &d.token);
        match d.kind {
            SubscriberKind::Email => {
                let Some(mailer) = &self.mailer else {
                    return Outcome::Retry {
                        status: None,
                        error: "no mail server: configure [smtp]".into(),
                    };
                };
                match &d.event {
                    None => {
                        mailer
                            .send(&d.target, render::confirmation_mail(&s.title, &links), None)
                            .await
                    }
                    Some(e) => {
                        mailer
                            .send(
                                &d.target,
                                render::event_mail(&s.title, e, &links),
                                Some(&links.unsubscribe),
                            )
                            .await
                    }
                }
            }
            SubscriberKind::Discord => {
                let body = render::discord(&s.title, d.event.as_ref(), &links);
                self.post(d, &body).await
            }
            SubscriberKind::Webhook => {
                let body = match &d.event {
                    None => render::webhook_verification(
                        summary,
                        &links,
                        d.secret.as_deref().unwrap_or_default(),
                    ),
                    Some(e) => render::webhook(summary, e, &links),
                };
                self.post(d, &body).await
            }
        }
    }

    async fn post(&self, d: &subscribers::Due, body: &serde_json::Value) -> Outcome {
        // Checked again at each delivery, resolving the name: the rules may have tightened, or the
        // name moved into the private network, since it was typed (and a row may have been
        // written by other means). The client's resolver refuses again at connection time.
        let url =
            match target::check_resolving(d.kind, &d.target, self.settings.allow_private).await {
                Ok(u) => u,
                Err(e) => {
                    return Outcome::Gone {
                        status: None,
                        error: format!("the URL is no longer allowed: {e}"),
                    }
                }
            };
        let bytes = serde_json::to_vec(body).expect("JSON values serialise");
        let mut req = self
            .http
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header("x-vigil-delivery", d.id.to_string());
        if let Some(secret) = &d.secret {
            req = req.header(SIGNATURE_HEADER, signature(secret, &bytes));
        }
        match answered(req.body(bytes).send().await).await {
            Sent::Delivered(code) => Outcome::Delivered(code),
            Sent::Wait { status, after } => Outcome::Wait { status, after },
            Sent::Retry { status, error } => Outcome::Retry { status, error },
            // Discord says a deleted webhook (or a changed token) this way.
            Sent::Permanent { status, .. }
                if d.kind == SubscriberKind::Discord && matches!(status, 401 | 403 | 404) =>
            {
                Outcome::Gone {
                    status: Some(status),
                    error: format!(
                        "Discord answered {status}: the webhook was deleted or its token changed"
                    ),
                }
            }
            Sent::Permanent { status: 410, .. } => Outcome::Gone {
                status: Some(410),
                error: "the receiver answered 410 Gone".into(),
            },
            Sent::Permanent { status, error } => Outcome::Refused { status, error },
        }
    }

    async fn record(
        &self,
        d: &subscribers::Due,
        outcome: Outcome,
        confirming: bool,
    ) -> Result<(), StoreError> {
        let now = Utc::now();
        // A confirmation gets CONFIRM_TRIES; anything else a day.
        let give_up = |at: DateTime<Utc>| {
            at - d.created_at > GIVE_UP_AFTER || (confirming && d.attempts + 1 >= CONFIRM_TRIES)
        };
        let kind = d.kind.as_str();
        match outcome {
            Outcome::Delivered(status) => {
                metrics::counter!("subscriber_messages_delivered_total", "kind" => kind)
                    .increment(1);
                let activates = d.event.is_none() && d.kind == SubscriberKind::Discord;
                subscribers::delivered(&self.pool, d, status, activates).await
            }
            Outcome::Wait { status, after } => {
                metrics::counter!("subscriber_messages_rate_limited_total", "kind" => kind)
                    .increment(1);
                let next = now + chrono::Duration::from_std(after).unwrap_or_default();
                subscribers::attempt_failed(
                    &self.pool,
                    d.id,
                    Some(status),
                    "rate limited (429)",
                    next,
                    give_up(next),
                    false,
                )
                .await
            }
            Outcome::Retry { status, error } => {
                let next = now + backoff(d.attempts);
                subscribers::attempt_failed(
                    &self.pool,
                    d.id,
                    status,
                    &error,
                    next,
                    give_up(next),
                    true,
                )
                .await
            }
            Outcome::Refused { status, error } => {
                metrics::counter!("subscriber_messages_failed_total", "kind" => kind).increment(1);
                subscribers::attempt_failed(&self.pool, d.id, Some(status), &error, now, true, true)
                    .await
            }
            Outcome::Gone { status, error } => {
                metrics::counter!("subscriber_messages_failed_total", "kind" => kind).increment(1);
                tracing::info!(subscriber = d.subscriber_id, %error, "subscriber deactivated");
                subscribers::attempt_failed(&self.pool, d.id, status, &error, now, true, true)
                    .await?;
                subscribers::deactivate(&self.pool, d.subscriber_id, &error).await
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_are_hmac_sha256_in_hex() {
        // RFC 4231 test case 2.
        assert_eq!(
            signature("Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
