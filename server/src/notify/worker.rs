//! Delivers the head of every channel's queue: 2xx is delivered; 429 waits exactly as long as
//! the receiver says (Discord's `retry_after`) without counting as a failure; 5xx and network
//! errors back off exponentially; other 4xx are permanent and marked failed for admins to see.
//! A crash between sending and recording repeats that one message; nothing recorded as
//! delivered is ever sent again.

use std::time::Duration;

use chrono::{DateTime, Utc};
use reqwest::StatusCode;
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;
use vigil_core::store::notifications::{self, Due};

use super::render;

/// A notification still undelivered after this long is given up on (and shown as failed).
const GIVE_UP_AFTER: chrono::Duration = chrono::Duration::hours(24);
const MAX_BACKOFF_SECS: i64 = 300;

pub struct Worker {
    pool: PgPool,
    http: reqwest::Client,
    public_url: String,
}

/// What one pass did, and when the next retry falls due.
pub struct Round {
    pub attempts: usize,
    pub next_due: Option<DateTime<Utc>>,
}

/// What one attempt came to.
#[derive(Debug, PartialEq)]
pub enum Outcome {
    Delivered(u16),
    /// Rate limited: try again after this long; not the receiver's fault, not counted.
    Wait {
        status: u16,
        after: Duration,
    },
    Retry {
        status: Option<u16>,
        error: String,
    },
    Permanent {
        status: u16,
        error: String,
    },
}

/// Seconds to wait from a 429: the JSON `retry_after` (Discord, float seconds), else the
/// `Retry-After` header, else a second.
pub fn retry_after(body: &[u8], header: Option<&str>) -> Duration {
    let from_body = serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v["retry_after"].as_f64());
    let from_header = header.and_then(|h| h.trim().parse::<f64>().ok());
    Duration::from_secs_f64(from_body.or(from_header).unwrap_or(1.0).clamp(0.05, 3600.0))
}

/// What an HTTP delivery attempt came to: 2xx delivered, 429 wait as told, 5xx/408/no answer
/// retry, any other status permanent. Shared by the ops channels and subscribers' webhooks.
pub async fn answered(resp: reqwest::Result<reqwest::Response>) -> Outcome {
    let resp = match resp {
        Ok(r) => r,
        Err(e) => {
            return Outcome::Retry {
                status: None,
                error: if e.is_timeout() {
                    "no answer within 10 s".into()
                } else {
                    // Never the URL: a webhook's URL is its secret.
                    format!(
                        "cannot reach the receiver: {}",
                        crate::redact::transport_error(&e)
                    )
                },
            };
        }
    };
    let status = resp.status();
    let header = resp
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    // A receiver's answer is a stranger's bytes: only its start is read, never inflated.
    let bytes = crate::capped::read(resp, crate::capped::ANSWER_EXCERPT)
        .await
        .map(|c| c.bytes)
        .unwrap_or_default();
    let text = || {
        String::from_utf8_lossy(&bytes)
            .chars()
            .take(300)
            .collect::<String>()
    };
    match status {
        s if s.is_success() => Outcome::Delivered(s.as_u16()),
        StatusCode::TOO_MANY_REQUESTS => Outcome::Wait {
            status: 429,
            after: retry_after(&bytes, header.as_deref()),
        },
        s if s.is_server_error() || s == StatusCode::REQUEST_TIMEOUT => Outcome::Retry {
            status: Some(s.as_u16()),
            error: format!("HTTP {}: {}", s.as_u16(), text()),
        },
        s => Outcome::Permanent {
            status: s.as_u16(),
            error: format!("HTTP {}: {}", s.as_u16(), text()),
        },
    }
}

pub fn backoff(attempts: i32) -> chrono::Duration {
    chrono::Duration::seconds((1_i64 << attempts.clamp(0, 16)).min(MAX_BACKOFF_SECS))
}

impl Worker {
    pub fn new(pool: PgPool, public_url: String) -> Self {
        Worker {
            pool,
            http: reqwest::Client::builder()
                .user_agent(concat!("Vigil/", env!("CARGO_PKG_VERSION")))
                .timeout(Duration::from_secs(10))
                // Nothing is read beyond an excerpt; an inflated bomb is never built.
                .no_gzip()
                .build()
                .expect("the HTTP client builds"),
            public_url,
        }
    }

    /// Delivers until shutdown. Between passes it sleeps until new events commit (a new
    /// notification is written with its event), the next retry falls due, or the fallback
    /// timer ends; it never polls the queue on an idle system.
    pub async fn run(self, mut events: crate::wake::Events, shutdown: CancellationToken) {
        let mut reminded: Option<tokio::time::Instant> = None;
        loop {
            // Overdue follow-ups are looked for every half minute; each is said once a day.
            if reminded.is_none_or(|t| t.elapsed() >= crate::wake::FALLBACK) {
                let today = Utc::now().date_naive();
                match vigil_core::store::follow_ups::remind_overdue(&self.pool, today).await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(n, "overdue follow-ups announced"),
                    Err(e) => {
                        tracing::warn!(error = %e, "overdue follow-ups not checked; retrying")
                    }
                }
                reminded = Some(tokio::time::Instant::now());
            }
            let wait = match self.round().await {
                Ok(r) if r.attempts > 0 => Duration::ZERO,
                Ok(r) => r.next_due.map_or(crate::wake::FALLBACK, |at| {
                    crate::wake::until(at, crate::wake::FALLBACK)
                }),
                Err(e) => {
                    tracing::warn!(error = %e, "notification round failed; retrying");
                    Duration::from_secs(1)
                }
            };
            if !events.rest(&shutdown, wait).await {
                return;
            }
        }
    }

    /// One pass: every channel whose head is due gets one attempt.
    pub async fn round(&self) -> Result<Round, vigil_core::store::StoreError> {
        let now = Utc::now();
        let (due, later): (Vec<Due>, Vec<Due>) = notifications::heads(&self.pool)
            .await?
            .into_iter()
            .partition(|d| d.next_attempt_at <= now);
        let next_due = later.iter().map(|d| d.next_attempt_at).min();
        let attempts = due.iter().map(|d| self.attempt(d.clone()));
        let outcomes = futures::future::join_all(attempts).await;
        for (d, outcome) in due.iter().zip(outcomes) {
            self.record(d, outcome).await?;
        }
        Ok(Round {
            attempts: due.len(),
            next_due,
        })
    }

    async fn attempt(&self, d: Due) -> Outcome {
        let body = render::body(&d.kind, &d.event, &self.public_url);
        let resp = self
            .http
            .post(&d.url)
            .header("x-vigil-delivery", d.id.to_string())
            .json(&body)
            .send()
            .await;
        answered(resp).await
    }

    async fn record(&self, d: &Due, outcome: Outcome) -> Result<(), vigil_core::store::StoreError> {
        let now = Utc::now();
        let give_up = |at: DateTime<Utc>| at - d.created_at > GIVE_UP_AFTER;
        match outcome {
            Outcome::Delivered(status) => {
                metrics::counter!("notifications_delivered_total", "channel" => d.channel.clone())
                    .increment(1);
                notifications::delivered(&self.pool, d.id, status).await
            }
            Outcome::Wait { status, after } => {
                metrics::counter!("notifications_rate_limited_total", "channel" => d.channel.clone()).increment(1);
                tracing::info!(channel = %d.channel, wait_ms = after.as_millis() as u64, "rate limited; waiting as asked");
                let next = now + chrono::Duration::from_std(after).unwrap_or_default();
                notifications::attempt_failed(
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
                tracing::warn!(channel = %d.channel, %error, "notification not delivered; will retry");
                notifications::attempt_failed(
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
            Outcome::Permanent { status, error } => {
                metrics::counter!("notifications_failed_total", "channel" => d.channel.clone())
                    .increment(1);
                tracing::error!(channel = %d.channel, %error, "the receiver refused a notification; giving up on it");
                notifications::attempt_failed(
                    &self.pool,
                    d.id,
                    Some(status),
                    &error,
                    now,
                    true,
                    true,
                )
                .await
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_prefers_discords_body() {
        assert_eq!(
            retry_after(br#"{"retry_after": 0.5}"#, Some("3")),
            Duration::from_millis(500)
        );
        assert_eq!(retry_after(b"", Some("3")), Duration::from_secs(3));
        assert_eq!(retry_after(b"", None), Duration::from_secs(1));
    }

    #[test]
    fn backoff_doubles_to_a_cap() {
        assert_eq!(backoff(0).num_seconds(), 1);
        assert_eq!(backoff(3).num_seconds(), 8);
        assert_eq!(backoff(30).num_seconds(), 300);
    }
}
