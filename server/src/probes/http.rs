use std::time::{Duration, Instant};

use chrono::Utc;
use reqwest::{redirect, Client, Method};
use vigil_core::model::monitor::{CheckResult, ErrorClass, HttpCheck};

/// HTTP(S) checks. Two clients (following redirects or not), each with its own connection pool,
/// so ten thousand monitors do not open ten thousand pools.
pub struct HttpProber {
    follow: Client,
    no_follow: Client,
    max_body: usize,
}

impl HttpProber {
    pub fn new(max_body: usize) -> Self {
        let build = |policy| {
            Client::builder()
                .redirect(policy)
                .user_agent(concat!(
                    "Vigil/",
                    env!("CARGO_PKG_VERSION"),
                    " (status probe)"
                ))
                .tls_info(true)
                .pool_idle_timeout(Duration::from_secs(60))
                .build()
                .expect("the HTTP client builds")
        };
        HttpProber {
            follow: build(redirect::Policy::limited(10)),
            no_follow: build(redirect::Policy::none()),
            max_body,
        }
    }

    pub fn client(&self) -> &Client {
        &self.no_follow
    }

    pub async fn check(&self, c: &HttpCheck, timeout: Duration) -> CheckResult {
        let started = Instant::now();
        let fail =
            |class, msg: String| CheckResult::failed(Utc::now(), started.elapsed(), class, msg);
        let client = if c.follow_redirects {
            &self.follow
        } else {
            &self.no_follow
        };
        let method = Method::from_bytes(c.method.as_bytes()).unwrap_or(Method::GET);
        let mut req = client.request(method, &c.url).timeout(timeout);
        for (k, v) in &c.headers {
            req = req.header(k, v);
        }
        let resp = match req.send().await {
            Ok(r) => r,
            Err(e) => {
                let (class, msg) = classify(&e);
                return fail(class, msg);
            }
        };
        let status = resp.status().as_u16();
        let cert_days = resp
            .extensions()
            .get::<reqwest::tls::TlsInfo>()
            .and_then(|info| info.peer_certificate())
            .and_then(days_left);
        let needs_body =
            c.body_contains.is_some() || c.body_not_contains.is_some() || c.body_regex.is_some();
        let body = match crate::capped::read(resp, if needs_body { self.max_body } else { 0 }).await
        {
            Ok(b) => b.bytes,
            Err(e) => {
                let (class, msg) = classify(&e);
                return fail(class, msg);
            }
        };
        let latency = started.elapsed();
        if !c.status_accepted(status) {
            let detail = if status / 100 == 3 {
                " (redirect not followed)"
            } else {
                ""
            };
            return fail(ErrorClass::Status, format!("HTTP {status}{detail}"));
        }
        let text = String::from_utf8_lossy(&body);
        if let Some(needle) = &c.body_contains {
            if !text.contains(needle.as_str()) {
                return fail(
                    ErrorClass::Body,
                    format!("body does not contain {needle:?}"),
                );
            }
        }
        if let Some(needle) = &c.body_not_contains {
            if text.contains(needle.as_str()) {
                return fail(ErrorClass::Body, format!("body contains {needle:?}"));
            }
        }
        if let Some(re) = &c.body_regex {
            // Validated at start-up; an invalid one here cannot happen, and fails the check if it does.
            match regex::Regex::new(re) {
                Ok(re) if re.is_match(&text) => {}
                Ok(_) => return fail(ErrorClass::Body, format!("body does not match /{re}/")),
                Err(e) => return fail(ErrorClass::Body, e.to_string()),
            }
        }
        if let (Some(min), Some(days)) = (c.cert_min_days, cert_days) {
            if days < i64::from(min) {
                return CheckResult::degraded(
                    Utc::now(),
                    latency,
                    ErrorClass::Certificate,
                    format!("certificate expires in {days} days (minimum {min})"),
                );
            }
        }
        if let Some(max) = c.max_response {
            if latency > max {
                return CheckResult::degraded(
                    Utc::now(),
                    latency,
                    ErrorClass::Slow,
                    format!(
                        "answered in {} ms (limit {} ms)",
                        latency.as_millis(),
                        max.as_millis()
                    ),
                );
            }
        }
        CheckResult::ok(Utc::now(), latency)
    }
}

fn classify(e: &reqwest::Error) -> (ErrorClass, String) {
    let mut chain = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        chain.push_str(": ");
        chain.push_str(&s.to_string());
        source = s.source();
    }
    let lower = chain.to_ascii_lowercase();
    let class = if e.is_timeout() {
        ErrorClass::Timeout
    } else if e.is_redirect() {
        ErrorClass::Protocol
    } else if lower.contains("certificate") || lower.contains("tls") || lower.contains("handshake")
    {
        ErrorClass::Tls
    } else if lower.contains("dns error") || lower.contains("failed to lookup") {
        ErrorClass::Dns
    } else if e.is_connect() {
        ErrorClass::Connect
    } else {
        ErrorClass::Protocol
    };
    (class, chain)
}

fn days_left(der: &[u8]) -> Option<i64> {
    let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
    let not_after = cert.validity().not_after.timestamp();
    Some((not_after - Utc::now().timestamp()).div_euclid(86_400))
}
