//! People following the status page: taking requests (the public form, the Statuspage-style JSON
//! endpoint, the admin API), and delivering their queue on whichever replica holds the
//! `subscribers` lease — a lease of its own, so a fan-out never delays the ops channels.

pub mod mail;

pub mod render;
pub mod target;
pub mod worker;

use std::{net::IpAddr, sync::Arc};

use sqlx::PgPool;
use tokio_util::sync::CancellationToken;
use vigil_core::{
    model::subscriber::{NewSubscription, SubscriberKind, SubscriptionInput},
    store::{
        incident_commands::CommandError,
        subscribers::{self, Request, Requested},
        StoreError,
    },
};

use crate::config::Config;

/// What the per-address and page-wide throttles count over (`per_ip_per_hour`,
/// `max_confirmations_per_hour`); the per-inbox one counts over `resend_minutes`.
const HOUR: chrono::Duration = chrono::Duration::hours(1);

/// Refusals of a subscription request, in the API's one error shape.
#[derive(Debug, thiserror::Error)]
pub enum RequestError {
    #[error(transparent)]
    Command(#[from] CommandError),
    /// This client has asked too often; try again after this many seconds.
    #[error("too many subscription requests from this address; try again in {0} s")]
    TooMany(u64),
}

impl From<StoreError> for RequestError {
    fn from(e: StoreError) -> Self {
        RequestError::Command(e.into())
    }
}

/// Takes requests to follow the page.
pub struct Subscriptions {
    pool: PgPool,
    email: bool,
    allow_private: bool,
    confirm_within: chrono::Duration,
    resend_after: chrono::Duration,
    per_ip_per_hour: u32,
    confirmations_per_hour: u32,
    pub enabled: bool,
}

/// 32 random bytes in hex: a link token or a signing key nobody can guess.
pub fn random_hex() -> String {
    use argon2::password_hash::rand_core::{OsRng, RngCore};
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

impl Subscriptions {
    pub fn new(config: &Config, pool: PgPool) -> Subscriptions {
        let s = &config.subscribers;
        Subscriptions {
            pool,
            email: config.smtp.enabled(),
            allow_private: s.allow_private_targets,
            confirm_within: chrono::Duration::hours(s.confirm_hours as i64),
            resend_after: chrono::Duration::minutes(s.resend_minutes as i64),
            per_ip_per_hour: s.per_ip_per_hour,
            confirmations_per_hour: s.max_confirmations_per_hour,
            enabled: s.enabled,
        }
    }

    /// Whether email is offered (a mail server is configured).
    pub fn offers_email(&self) -> bool {
        self.email
    }

    /// One request from a client address (an IPv6 /64) on the public form or JSON endpoint:
    /// counted against its hourly allowance, in PostgreSQL so every replica shares it, before
    /// anything else is done.
    pub async fn admit(&self, ip: IpAddr) -> Result<(), RequestError> {
        let key = format!("subscribe-ip:{}", crate::limits::client_key(ip));
        held(&self.pool, &key, self.per_ip_per_hour, HOUR).await
    }

    /// Checks and records a request. `created_by` is `public` or an admin's audit name;
    /// `confirmed` (admins only) skips the confirmation.
    pub async fn request(
        &self,
        input: &SubscriptionInput,
        secret: Option<&str>,
        created_by: &str,
        confirmed: bool,
    ) -> Result<Requested, RequestError> {
        if !self.enabled && created_by == "public" {
            return Err(CommandError::invalid(
                "kind",
                "this status page does not take subscriptions; follow /history.atom instead",
            )
            .into());
        }
        let new = NewSubscription::parse(input).map_err(CommandError::from)?;
        // Cheap checks before the one that needs DNS.
        subscribers::unknown_components(&self.pool, &new.components).await?;
        match new.kind {
            SubscriberKind::Email if !self.email => {
                return Err(CommandError::invalid(
                    "kind",
                    "this status page does not send email (no mail server is configured): choose Discord, a webhook or the feeds",
                )
                .into())
            }
            SubscriberKind::Email => {}
            kind => {
                target::check_resolving(kind, &new.target, self.allow_private)
                    .await
                    .map_err(|e| CommandError::invalid(kind.target_field(), e))?;
            }
        }
        let secret = match (new.kind, secret.map(str::trim).filter(|s| !s.is_empty())) {
            (SubscriberKind::Webhook, Some(s)) if s.len() < 16 || s.len() > 200 => {
                return Err(CommandError::invalid(
                    "webhook_secret",
                    "a signing key is 16 to 200 characters; leave it empty to have one made",
                )
                .into())
            }
            (SubscriberKind::Webhook, Some(s)) => Some(s.to_string()),
            (SubscriberKind::Webhook, None) => Some(random_hex()),
            _ => None,
        };
        if created_by == "public" && !confirmed {
            // One inbox however it is spelled, and a ceiling for the whole page: a stranger with
            // many addresses still sends a victim one confirmation per window, and all of them
            // together at most `max_confirmations_per_hour`.
            let inbox = vigil_core::model::subscriber::throttle_key(new.kind, &new.target);
            for (key, limit, window) in [
                (format!("subscribe-target:{inbox}"), 1, self.resend_after),
                (
                    "subscribe-confirmations".to_string(),
                    self.confirmations_per_hour,
                    HOUR,
                ),
            ] {
                if held(&self.pool, &key, limit, window).await.is_err() {
                    metrics::counter!("subscriber_requests_held_total").increment(1);
                    return Ok(Requested::Held);
                }
            }
        }
        let token = random_hex();
        Ok(subscribers::request(
            &self.pool,
            &Request {
                new: &new,
                token: &token,
                secret: secret.as_deref(),
                created_by,
                confirmed,
                confirm_within: self.confirm_within,
                resend_after: self.resend_after,
            },
        )
        .await?)
    }
}

/// Counts a request under `key`; `TooMany` with the wait when its window is full.
async fn held(
    pool: &PgPool,
    key: &str,
    limit: u32,
    window: chrono::Duration,
) -> Result<(), RequestError> {
    vigil_core::store::throttle::admit_window(pool, key, limit, window)
        .await?
        .map_err(|wait| RequestError::TooMany(wait.num_seconds().max(1) as u64))
}

/// Delivers subscribers' messages on the replica holding the `subscribers` lease.
pub fn start(
    config: &Config,
    pool: PgPool,
    events: crate::wake::Events,
    cluster: &crate::cluster::Cluster,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let mailer = if config.smtp.enabled() {
        Some(Arc::new(mail::Mailer::new(&config.smtp)?))
    } else {
        None
    };
    let settings = Arc::new(worker::Settings {
        public_url: config.server.public_url.clone(),
        title: config.status_page.title.clone(),
        allow_private: config.subscribers.allow_private_targets,
        concurrency: config.subscribers.concurrency,
        reminder: chrono::Duration::minutes(config.subscribers.reminder_minutes as i64),
        throttle_window: chrono::Duration::minutes(config.subscribers.resend_minutes as i64)
            .max(HOUR),
    });
    // Each lane under a lease of its own: one replica delivers a lane at a time, so each
    // subscriber's queue stays in order.
    for lane in worker::lanes(pool.clone(), mailer, settings) {
        let events = events.clone();
        let name = format!("outbox:{}", crate::outbox::worker::Lane::name(&lane));
        cluster.run_exclusive(name, shutdown.clone(), move |held| {
            crate::outbox::worker::run(lane.clone(), events.clone(), held)
        });
    }
    Ok(())
}
