//! A small Linode API v4 client for the NodeBalancer endpoints: Bearer token (never logged),
//! pagination, timeouts, and backoff on 429 and 5xx that honours `Retry-After`.

use std::time::Duration;

/// The largest answer read from the Linode API (a page of 100 objects is a few dozen KB).
const MAX_ANSWER: usize = 4 << 20;

use reqwest::{header, StatusCode};
use serde::{de::DeserializeOwned, Deserialize};

#[derive(Debug, thiserror::Error)]
pub enum LinodeError {
    #[error("Linode refused the token ({status}): {reason}. Check the token and that it has the nodebalancers:read_only scope")]
    Unauthorized { status: u16, reason: String },
    #[error("Linode kept answering 429 Too Many Requests for {path} after {attempts} attempts")]
    RateLimited { path: String, attempts: u32 },
    #[error("Linode answered HTTP {status} for {path}: {reason}")]
    Status {
        status: u16,
        path: String,
        reason: String,
    },
    #[error("Linode's answer for {path} is not the JSON expected: {detail}")]
    Malformed { path: String, detail: String },
    #[error("no answer from Linode for {path} within {timeout_ms} ms")]
    Timeout { path: String, timeout_ms: u128 },
    #[error("cannot reach Linode for {path}: {detail}")]
    Transport { path: String, detail: String },
}

#[derive(Debug, Clone, Deserialize)]
pub struct NodeBalancer {
    pub id: u64,
    pub label: String,
    pub region: String,
    /// Moves whenever the configuration is posted (changed or not).
    #[serde(default)]
    pub updated: Option<String>,
    /// Its own addresses: a monitor whose host is one of them goes through it.
    #[serde(default)]
    pub hostname: Option<String>,
    #[serde(default)]
    pub ipv4: Option<String>,
    #[serde(default)]
    pub ipv6: Option<String>,
}

impl NodeBalancer {
    pub fn addresses(&self) -> Vec<String> {
        self.ipv4.iter().chain(self.ipv6.iter()).cloned().collect()
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct NodesStatus {
    pub up: u32,
    pub down: u32,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Config {
    pub id: u64,
    pub port: u16,
    pub protocol: String,
    pub nodes_status: NodesStatus,
    /// The settings Vigil keeps a history of, as Linode reports them; absent ones stay absent
    /// (an unexpected type is kept as it came, not refused).
    #[serde(flatten)]
    pub settings: std::collections::BTreeMap<String, serde_json::Value>,
}

/// The configuration fields whose history is kept (`GET …/configs`).
pub const CONFIG_FIELDS: [&str; 10] = [
    "algorithm",
    "stickiness",
    "check",
    "check_path",
    "check_body",
    "check_interval",
    "check_timeout",
    "check_attempts",
    "check_passive",
    "cipher_suite",
];

impl Config {
    /// This port's settings and its backends, flat, for the configuration history.
    pub fn history_settings(&self, nodes: &[Node]) -> vigil_core::model::lb_config::Settings {
        let mut out: vigil_core::model::lb_config::Settings = CONFIG_FIELDS
            .iter()
            .filter_map(|f| Some((f.to_string(), self.settings.get(*f)?.clone())))
            .collect();
        out.insert("protocol".into(), self.protocol.clone().into());
        for n in nodes {
            out.insert(
                format!("node {}", n.address),
                format!("{} weight {}, {}", n.label, n.weight, n.mode).into(),
            );
        }
        out
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct Node {
    pub id: u64,
    pub label: String,
    pub address: String,
    pub status: String,
    pub mode: String,
    pub weight: u16,
}

/// `/nodebalancers/{id}/stats`: 5-minute averages over the last day.
#[derive(Debug, Clone, Deserialize)]
pub struct Stats {
    pub data: StatsData,
}

#[derive(Debug, Clone, Deserialize)]
pub struct StatsData {
    /// (timestamp, connections); the timestamp is in milliseconds (seconds are accepted too).
    pub connections: Vec<(f64, f64)>,
}

impl Stats {
    /// Connection counts with their times.
    pub fn connections(&self) -> Vec<(chrono::DateTime<chrono::Utc>, f64)> {
        self.data
            .connections
            .iter()
            .filter(|(_, v)| v.is_finite())
            .filter_map(|(t, v)| {
                let ms = if *t > 1e11 { *t } else { t * 1000.0 };
                Some((chrono::DateTime::from_timestamp_millis(ms as i64)?, *v))
            })
            .collect()
    }
}

#[derive(Deserialize)]
struct Page<T> {
    data: Vec<T>,
    page: u32,
    pages: u32,
}

#[derive(Deserialize)]
struct Errors {
    errors: Vec<ErrorItem>,
}

#[derive(Deserialize)]
struct ErrorItem {
    reason: String,
}

pub struct LinodeClient {
    http: reqwest::Client,
    base: String,
    token: String,
    timeout: Duration,
    /// Attempts per request, counting the first.
    pub max_attempts: u32,
    /// First backoff after a 5xx; doubles each time.
    pub backoff: Duration,
}

impl std::fmt::Debug for LinodeClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LinodeClient")
            .field("base", &self.base)
            .field("token", &"<redacted>")
            .finish()
    }
}

/// The longest `Retry-After` the client waits out; longer ones fail the poll instead.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);

impl LinodeClient {
    /// `base` is e.g. `https://api.linode.com/v4`.
    pub fn new(base: &str, token: &str, timeout: Duration) -> Self {
        LinodeClient {
            http: reqwest::Client::builder()
                .user_agent(concat!("Vigil/", env!("CARGO_PKG_VERSION")))
                .build()
                .expect("the HTTP client builds"),
            base: base.trim_end_matches('/').to_string(),
            token: token.to_string(),
            timeout,
            max_attempts: 4,
            backoff: Duration::from_millis(250),
        }
    }

    pub async fn nodebalancers(&self) -> Result<Vec<NodeBalancer>, LinodeError> {
        self.all("/nodebalancers").await
    }

    pub async fn configs(&self, nodebalancer: u64) -> Result<Vec<Config>, LinodeError> {
        self.all(&format!("/nodebalancers/{nodebalancer}/configs"))
            .await
    }

    pub async fn nodes(&self, nodebalancer: u64, config: u64) -> Result<Vec<Node>, LinodeError> {
        self.all(&format!(
            "/nodebalancers/{nodebalancer}/configs/{config}/nodes"
        ))
        .await
    }

    pub async fn stats(&self, nodebalancer: u64) -> Result<Stats, LinodeError> {
        self.get(&format!("/nodebalancers/{nodebalancer}/stats"))
            .await
    }

    /// Every page of a list endpoint.
    async fn all<T: DeserializeOwned>(&self, path: &str) -> Result<Vec<T>, LinodeError> {
        let mut out = Vec::new();
        let mut page = 1;
        loop {
            let p: Page<T> = self
                .get(&format!("{path}?page={page}&page_size=500"))
                .await?;
            out.extend(p.data);
            if p.page >= p.pages {
                return Ok(out);
            }
            page = p.page + 1;
        }
    }

    fn transport_error(&self, path: &str, e: reqwest::Error) -> LinodeError {
        if e.is_timeout() {
            LinodeError::Timeout {
                path: path.into(),
                timeout_ms: self.timeout.as_millis(),
            }
        } else {
            LinodeError::Transport {
                path: path.into(),
                detail: crate::redact::transport_error(&e),
            }
        }
    }

    async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, LinodeError> {
        let url = format!("{}{path}", self.base);
        let mut attempt = 0;
        let mut backoff = self.backoff;
        loop {
            attempt += 1;
            let resp = self
                .http
                .get(&url)
                .header(header::AUTHORIZATION, format!("Bearer {}", self.token))
                .timeout(self.timeout)
                .send()
                .await
                .map_err(|e| self.transport_error(path, e))?;
            let status = resp.status();
            let retry_after = resp
                .headers()
                .get(header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map(Duration::from_secs);
            let body = crate::capped::read(resp, MAX_ANSWER)
                .await
                .map_err(|e| self.transport_error(path, e))?;
            if body.truncated {
                return Err(LinodeError::Malformed {
                    path: path.into(),
                    detail: format!("the answer is larger than {MAX_ANSWER} bytes"),
                });
            }
            let body = body.bytes;
            let reason = || {
                serde_json::from_slice::<Errors>(&body)
                    .ok()
                    .and_then(|e| e.errors.into_iter().next())
                    .map(|e| e.reason)
                    .unwrap_or_else(|| String::from_utf8_lossy(&body).chars().take(200).collect())
            };
            match status {
                s if s.is_success() => {
                    return serde_json::from_slice(&body).map_err(|e| LinodeError::Malformed {
                        path: path.into(),
                        detail: e.to_string(),
                    });
                }
                StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
                    return Err(LinodeError::Unauthorized {
                        status: status.as_u16(),
                        reason: reason(),
                    });
                }
                StatusCode::TOO_MANY_REQUESTS => {
                    let wait = retry_after.unwrap_or(backoff);
                    if attempt >= self.max_attempts || wait > MAX_RETRY_AFTER {
                        return Err(LinodeError::RateLimited {
                            path: path.into(),
                            attempts: attempt,
                        });
                    }
                    tracing::warn!(
                        path,
                        wait_ms = wait.as_millis() as u64,
                        "Linode rate limit; waiting"
                    );
                    tokio::time::sleep(wait).await;
                }
                s if s.is_server_error() && attempt < self.max_attempts => {
                    tracing::warn!(path, status = s.as_u16(), "Linode server error; retrying");
                    tokio::time::sleep(retry_after.unwrap_or(backoff)).await;
                    backoff = (backoff * 2).min(Duration::from_secs(10));
                }
                s => {
                    return Err(LinodeError::Status {
                        status: s.as_u16(),
                        path: path.into(),
                        reason: reason(),
                    });
                }
            }
        }
    }
}
