//! What an attempt came to, and what follows from it: 2xx is delivered; 429 waits exactly as long
//! as the receiver says (Discord's `retry_after`) without counting as a try; 5xx, 408 and no answer
//! back off exponentially; any other answer refuses this one message, or says the receiver is
//! gone for good. A message still undelivered after its lane's limit is given up on.

use std::time::Duration;

use reqwest::StatusCode;

/// What one attempt came to.
#[derive(Debug, PartialEq)]
pub enum Outcome {
    Delivered(u16),
    /// Rate limited: try again after this long; not the receiver's fault, not counted.
    Wait {
        status: u16,
        after: Duration,
    },
    /// Try again later (5xx, a timeout, no answer, a transient mail error).
    Retry {
        status: Option<u16>,
        error: String,
    },
    /// This message will never be taken (a 400 for its body): marked failed, the rest go on.
    Refused {
        status: u16,
        error: String,
    },
    /// The receiver is gone (a deleted Discord webhook, 410, a refused mailbox): the lane stops
    /// sending to it.
    Gone {
        status: Option<u16>,
        error: String,
    },
}

const MAX_BACKOFF_SECS: i64 = 300;

/// How long after the `attempts`-th failed try the next one is made: doubling to five minutes.
pub fn backoff(attempts: i32) -> chrono::Duration {
    chrono::Duration::seconds((1_i64 << attempts.clamp(0, 16)).min(MAX_BACKOFF_SECS))
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
/// retry, any other status refused (a lane may read some of those as "gone").
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
        s => Outcome::Refused {
            status: s.as_u16(),
            error: format!("HTTP {}: {}", s.as_u16(), text()),
        },
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
        assert_eq!(backoff(8).num_seconds(), 256);
        assert_eq!(backoff(9).num_seconds(), 300);
        assert_eq!(backoff(30).num_seconds(), 300);
    }
}
