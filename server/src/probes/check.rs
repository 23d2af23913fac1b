//! Running one check of any kind.

use std::{sync::Arc, time::Instant};

use chrono::Utc;
use vigil_core::model::monitor::{Check, CheckResult, ErrorClass, MonitorSpec};

use super::{dns::DnsProber, heartbeats, http::HttpProber, prometheus, tcp};

/// Everything needed to run any check; shared by all in-flight checks.
pub struct Probers {
    pub http: HttpProber,
    pub dns: DnsProber,
    /// Last heartbeat per monitor id, kept by the heartbeat endpoint.
    pub heartbeats: Arc<heartbeats::Heartbeats>,
}

impl Probers {
    pub fn new(max_body_bytes: usize, heartbeats: Arc<heartbeats::Heartbeats>) -> Self {
        Probers {
            http: HttpProber::new(max_body_bytes),
            dns: DnsProber::default(),
            heartbeats,
        }
    }

    /// Runs one check. Never takes (much) longer than the monitor's timeout and never panics on
    /// what a target sends.
    pub async fn check(&self, monitor_id: i64, spec: &MonitorSpec) -> CheckResult {
        let started = Instant::now();
        let at = Utc::now();
        let run = async {
            match &spec.check {
                Check::Http(c) => self.http.check(c, spec.timeout).await,
                Check::Tcp { host, port } => tcp::check(host, *port).await,
                Check::Dns {
                    name,
                    record_type,
                    expect,
                    resolver,
                } => {
                    self.dns
                        .check(
                            name,
                            record_type,
                            expect.as_deref(),
                            *resolver,
                            spec.timeout,
                        )
                        .await
                }
                Check::Prometheus { base_url, up_query } => {
                    prometheus::check(&self.http, base_url, up_query.as_deref(), spec.timeout).await
                }
                Check::Heartbeat { window, .. } => self.heartbeats.check(monitor_id, *window, at),
            }
        };
        let mut result = match tokio::time::timeout(spec.timeout, run).await {
            Ok(r) => r,
            Err(_) => CheckResult::failed(
                at,
                spec.timeout,
                ErrorClass::Timeout,
                format!("no answer within {} ms", spec.timeout.as_millis()),
            ),
        };
        result.at = at;
        if result.latency.is_zero() {
            result.latency = started.elapsed();
        }
        result
    }
}
