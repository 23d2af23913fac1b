//! Delivers subscribers' queue: many subscribers at once (a fan-out to thousands), each one's
//! messages strictly in order (only the head of a queue is tried). 2xx is delivered; 429 waits as
//! long as asked; 5xx, timeouts and transient mail errors back off; a receiver that is gone (Discord
//! 404/401, webhook 410, a mailbox the server refuses) deactivates the subscription. A crash
//! between sending and recording repeats that one message; nothing recorded as delivered is sent
//! again.

use std::{sync::Arc, time::Duration};

use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use sqlx::PgPool;
use vigil_core::{
    model::{status::StatusSummary, subscriber::SubscriberKind},
    store::{
        incidents,
        outbox::Queue,
        status,
        subscribers::{self, Lane as StoreLane},
        StoreError,
    },
};

use super::{
    mail::Mailer,
    render::{self, Links},
    target,
};
use crate::outbox::{
    policy::{answered, Outcome},
    worker::{Head, Lane, Policy},
};

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

/// `sha256=<hex>` of the body under `secret`.
pub fn signature(secret: &str, body: &[u8]) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// What both lanes share: the clients, the mailer and the settings.
struct Shared {
    pool: PgPool,
    http: reqwest::Client,
    mailer: Option<Arc<Mailer>>,
    settings: Arc<Settings>,
}

/// One of the subscribers' two lanes of the outbox.
#[derive(Clone)]
pub struct Deliveries {
    shared: Arc<Shared>,
    lane: StoreLane,
    batch: i64,
    policy: Policy,
}

/// The subscribers' two lanes: confirmed subscribers' messages, and confirmations of requests
/// nobody has confirmed yet (strangers' endpoints: a short answer time, few tries, few at once), so
/// a crowd of endpoints that never answer cannot delay what confirmed subscribers are owed.
pub fn lanes(
    pool: PgPool,
    mailer: Option<Arc<Mailer>>,
    settings: Arc<Settings>,
) -> [Deliveries; 2] {
    let shared = Arc::new(Shared {
        http: target::client(settings.allow_private),
        pool,
        mailer,
        settings: settings.clone(),
    });
    let subscribers = Deliveries {
        shared: shared.clone(),
        lane: StoreLane::Subscribers,
        batch: BATCH,
        policy: Policy {
            concurrency: settings.concurrency,
            timeout: None,
            max_tries: None,
            give_up_after: GIVE_UP_AFTER,
            idle: HOUSEKEEPING,
            housekeeping: Some(HOUSEKEEPING_MIN),
        },
    };
    let confirmations = Deliveries {
        shared,
        lane: StoreLane::Confirmations,
        batch: CONFIRM_BATCH,
        policy: Policy {
            concurrency: CONFIRM_CONCURRENCY,
            timeout: Some(CONFIRM_TIMEOUT),
            max_tries: Some(CONFIRM_TRIES),
            give_up_after: GIVE_UP_AFTER,
            idle: HOUSEKEEPING,
            housekeeping: None,
        },
    };
    [subscribers, confirmations]
}

#[async_trait::async_trait]
impl Lane for Deliveries {
    /// A head, with the status summary of its round (webhooks carry it).
    type Message = (subscribers::Due, Arc<StatusSummary>);

    fn name(&self) -> &'static str {
        match self.lane {
            StoreLane::Subscribers => "subscribers",
            StoreLane::Confirmations => "confirmations",
        }
    }

    fn queue(&self) -> Queue {
        Queue::Subscribers
    }

    fn pool(&self) -> &PgPool {
        &self.shared.pool
    }

    fn policy(&self) -> &Policy {
        &self.policy
    }

    fn head(&self, (d, _): &Self::Message) -> Head {
        Head {
            id: d.id,
            attempts: d.attempts,
            created_at: d.created_at,
        }
    }

    async fn due(&self) -> Result<Vec<Self::Message>, StoreError> {
        let s = &self.shared;
        let due = subscribers::due(&s.pool, self.batch, self.lane).await?;
        if due.is_empty() {
            return Ok(Vec::new());
        }
        let summary = Arc::new(status::summary(&s.pool, &s.settings.title).await?);
        Ok(due.into_iter().map(|d| (d, summary.clone())).collect())
    }

    async fn next_due(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        subscribers::next_due(&self.shared.pool, self.lane).await
    }

    async fn send(&self, (d, summary): &Self::Message) -> Outcome {
        self.attempt(d, summary).await
    }

    /// A Discord subscription is confirmed by its confirmation arriving (the person who pasted
    /// the URL can read the channel).
    async fn delivered(&self, (d, _): &Self::Message, status: u16) -> Result<(), StoreError> {
        let activates = d.event.is_none() && d.kind == SubscriberKind::Discord;
        subscribers::delivered(&self.shared.pool, d, status, activates).await
    }

    async fn gone(&self, (d, _): &Self::Message, error: &str) -> Result<(), StoreError> {
        tracing::info!(subscriber = d.subscriber_id, %error, "subscriber deactivated");
        subscribers::deactivate(&self.shared.pool, d.subscriber_id, error).await
    }

    /// Maintenance reminders fall due; unconfirmed requests lapse; old throttle windows go.
    async fn housekeeping(&self) -> Result<(), StoreError> {
        let s = &self.shared;
        let sent = incidents::send_maintenance_reminders(&s.pool, s.settings.reminder).await?;
        if sent > 0 {
            tracing::info!(sent, "maintenance reminders queued for subscribers");
        }
        subscribers::expire(&s.pool).await?;
        vigil_core::store::throttle::sweep_windows(&s.pool, s.settings.throttle_window).await?;
        Ok(())
    }
}

impl Deliveries {
    async fn attempt(&self, d: &subscribers::Due, summary: &StatusSummary) -> Outcome {
        let s = &self.shared.settings;
        let links = Links::new(&s.public_url, &d.token);
        match d.kind {
            SubscriberKind::Email => {
                let Some(mailer) = &self.shared.mailer else {
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
            match target::check_resolving(d.kind, &d.target, self.shared.settings.allow_private)
                .await
            {
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
            .shared
            .http
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header("x-vigil-delivery", d.id.to_string());
        if let Some(secret) = &d.secret {
            req = req.header(SIGNATURE_HEADER, signature(secret, &bytes));
        }
        match answered(req.body(bytes).send().await).await {
            // Discord says a deleted webhook (or a changed token) this way.
            Outcome::Refused { status, .. }
                if d.kind == SubscriberKind::Discord && matches!(status, 401 | 403 | 404) =>
            {
                Outcome::Gone {
                    status: Some(status),
                    error: format!(
                        "Discord answered {status}: the webhook was deleted or its token changed"
                    ),
                }
            }
            Outcome::Refused { status: 410, .. } => Outcome::Gone {
                status: Some(410),
                error: "the receiver answered 410 Gone".into(),
            },
            other => other,
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
