//! The ops channels' lane of the outbox (`[[notify]]`): each channel's queue in order, rendered
//! for its kind (Discord, Slack, a signed-less JSON webhook), delivered by `outbox::worker`.

use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::PgPool;
use vigil_core::store::{
    notifications::{self, Due},
    outbox::{self, Queue},
    StoreError,
};

use super::render;
use crate::outbox::{
    policy::{answered, Outcome},
    worker::{Head, Lane, Policy},
};

/// A notification still undelivered after this long is given up on (and shown as failed).
const GIVE_UP_AFTER: chrono::Duration = chrono::Duration::hours(24);

pub struct Channels {
    pool: PgPool,
    http: reqwest::Client,
    public_url: String,
    policy: Policy,
    causes: Option<crate::incidents::causes::Explainer>,
}

impl Channels {
    pub fn new(
        pool: PgPool,
        public_url: String,
        causes: Option<crate::incidents::causes::Explainer>,
    ) -> Self {
        Channels {
            causes,
            pool,
            http: reqwest::Client::builder()
                .user_agent(concat!("Vigil/", env!("CARGO_PKG_VERSION")))
                .timeout(Duration::from_secs(10))
                // Nothing is read beyond an excerpt; an inflated bomb is never built.
                .no_gzip()
                .build()
                .expect("the HTTP client builds"),
            public_url,
            policy: Policy {
                concurrency: 16,
                timeout: None,
                max_tries: None,
                give_up_after: GIVE_UP_AFTER,
                idle: crate::wake::FALLBACK,
                // Overdue follow-ups are looked for every half minute; each is said once a day.
                housekeeping: Some(crate::wake::FALLBACK),
            },
        }
    }
}

impl Channels {
    /// An incident's news leads with the first line of its chain of causes, as the evidence
    /// reads when it is sent. A chain that cannot be computed never holds a message back.
    async fn likely_cause(&self, e: &vigil_core::store::events::Event) -> Option<String> {
        use vigil_core::model::event::EventData;
        let causes = self.causes.as_ref()?;
        let news = match &e.data {
            EventData::IncidentOpened(n) | EventData::IncidentUpdated(n) => n,
            _ => return None,
        };
        if news.kind != "incident" {
            return None;
        }
        match causes.of_incident(&self.pool, news.id).await {
            Ok(c) => c?.likely(),
            Err(err) => {
                tracing::warn!(incident = news.id, error = %err, "chain of causes not computed");
                None
            }
        }
    }
}

#[async_trait::async_trait]
impl Lane for Channels {
    type Message = Due;

    fn name(&self) -> &'static str {
        "channels"
    }

    fn queue(&self) -> Queue {
        Queue::Channels
    }

    fn pool(&self) -> &PgPool {
        &self.pool
    }

    fn policy(&self) -> &Policy {
        &self.policy
    }

    fn head(&self, d: &Due) -> Head {
        Head {
            id: d.id,
            attempts: d.attempts,
            created_at: d.created_at,
        }
    }

    async fn due(&self) -> Result<Vec<Due>, StoreError> {
        let now = Utc::now();
        let mut heads = notifications::heads(&self.pool).await?;
        heads.retain(|d| d.next_attempt_at <= now);
        Ok(heads)
    }

    async fn next_due(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        notifications::next_due(&self.pool).await
    }

    async fn send(&self, d: &Due) -> Outcome {
        // Stored sealed: a webhook URL carries its token.
        let url = match crate::world::seal::sealer().open_text(&d.url) {
            Ok(url) => url,
            Err(e) => {
                let error = format!("cannot open the channel's URL ({e}); check the sealing key");
                return Outcome::Retry {
                    status: None,
                    error,
                };
            }
        };
        let likely = self.likely_cause(&d.event).await;
        let body = render::body(&d.kind, &d.event, &self.public_url, likely.as_deref());
        let resp = self
            .http
            .post(&url)
            .header("x-vigil-delivery", d.id.to_string())
            .json(&body)
            .send()
            .await;
        answered(resp).await
    }

    async fn delivered(&self, d: &Due, status: u16) -> Result<(), StoreError> {
        outbox::delivered(&self.pool, Queue::Channels, d.id, status).await
    }

    async fn housekeeping(&self) -> Result<(), StoreError> {
        let today = Utc::now().date_naive();
        let n = vigil_core::store::follow_ups::remind_overdue(&self.pool, today).await?;
        if n > 0 {
            tracing::info!(n, "overdue follow-ups announced");
        }
        Ok(())
    }
}
