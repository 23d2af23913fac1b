//! "Is Prometheus answering?": the alert the seed incident's team added afterwards, since a
//! silent Prometheus was the tell-tale sign of their ingress failing.

use std::time::{Duration, Instant};

use chrono::Utc;
use serde::Deserialize;
use vigil_core::model::monitor::{CheckResult, ErrorClass};

use super::http::HttpProber;

#[derive(Deserialize)]
struct Envelope {
    status: String,
    #[serde(default)]
    data: Option<Data>,
    #[serde(default)]
    error: Option<String>,
}

#[derive(Deserialize)]
struct Data {
    #[serde(rename = "resultType")]
    result_type: String,
    result: Vec<Series>,
}

#[derive(Deserialize)]
struct Series {
    #[serde(default)]
    metric: std::collections::BTreeMap<String, String>,
    value: (f64, String),
}

pub async fn check(
    http: &HttpProber,
    base: &str,
    up_query: Option<&str>,
    timeout: Duration,
) -> CheckResult {
    let started = Instant::now();
    let fail = |class, msg: String| CheckResult::failed(Utc::now(), started.elapsed(), class, msg);
    let healthy = http
        .client()
        .get(format!("{base}/-/healthy"))
        .timeout(timeout)
        .send()
        .await;
    match healthy {
        Ok(r) if r.status().is_success() => {}
        Ok(r) => {
            return fail(
                ErrorClass::Status,
                format!("/-/healthy answered HTTP {}", r.status().as_u16()),
            )
        }
        Err(e) => {
            return fail(
                if e.is_timeout() {
                    ErrorClass::Timeout
                } else {
                    ErrorClass::Connect
                },
                format!("/-/healthy: {e}"),
            )
        }
    }
    let Some(query) = up_query else {
        return CheckResult::ok(Utc::now(), started.elapsed());
    };
    let resp = match http
        .client()
        .get(format!("{base}/api/v1/query"))
        .query(&[("query", query)])
        .timeout(timeout)
        .send()
        .await
    {
        Ok(r) => r,
        Err(e) => return fail(ErrorClass::Connect, format!("query: {e}")),
    };
    let code = resp.status().as_u16();
    let body = match crate::capped::read(resp, 4 << 20).await {
        Ok(b) => b.bytes,
        Err(e) => return fail(ErrorClass::Protocol, format!("query: {e}")),
    };
    let env: Envelope = match serde_json::from_slice(&body) {
        Ok(e) => e,
        Err(e) => {
            return fail(
                ErrorClass::Protocol,
                format!("query answered HTTP {code} with unreadable JSON: {e}"),
            )
        }
    };
    if env.status != "success" {
        return fail(
            ErrorClass::Protocol,
            format!(
                "query failed: {}",
                env.error.unwrap_or_else(|| format!("HTTP {code}"))
            ),
        );
    }
    let Some(data) = env.data.filter(|d| d.result_type == "vector") else {
        return fail(
            ErrorClass::Protocol,
            "query did not return an instant vector".into(),
        );
    };
    if data.result.is_empty() {
        return fail(ErrorClass::Body, format!("`{query}` matched no series"));
    }
    let down: Vec<String> = data
        .result
        .iter()
        .filter(|s| s.value.1.parse::<f64>().map(|v| v != 1.0).unwrap_or(true))
        .map(|s| {
            s.metric
                .get("instance")
                .or(s.metric.get("job"))
                .cloned()
                .unwrap_or_else(|| "?".into())
        })
        .collect();
    if down.is_empty() {
        CheckResult::ok(Utc::now(), started.elapsed())
    } else {
        fail(
            ErrorClass::Body,
            format!("targets down: {}", down.join(", ")),
        )
    }
}
