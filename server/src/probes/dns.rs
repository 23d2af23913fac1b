use std::{
    collections::HashMap,
    net::SocketAddr,
    sync::Mutex,
    time::{Duration, Instant},
};

use chrono::Utc;
use hickory_resolver::{
    config::{NameServerConfig, ResolverConfig},
    name_server::TokioConnectionProvider,
    proto::{rr::RecordType, xfer::Protocol},
    TokioResolver,
};
use vigil_core::model::monitor::{CheckResult, ErrorClass};

/// DNS checks through hickory, one resolver per configured server (or the system's), without a
/// cache: every check asks the server afresh.
#[derive(Default)]
pub struct DnsProber {
    resolvers: Mutex<HashMap<(Option<SocketAddr>, u128), TokioResolver>>,
}

impl DnsProber {
    fn resolver(
        &self,
        server: Option<SocketAddr>,
        timeout: Duration,
    ) -> Result<TokioResolver, String> {
        let mut map = self.resolvers.lock().expect("resolver map poisoned");
        if let Some(r) = map.get(&(server, timeout.as_millis())) {
            return Ok(r.clone());
        }
        let mut builder = match server {
            Some(addr) => {
                let mut config = ResolverConfig::new();
                config.add_name_server(NameServerConfig::new(addr, Protocol::Udp));
                TokioResolver::builder_with_config(config, TokioConnectionProvider::default())
            }
            None => {
                TokioResolver::builder_tokio().map_err(|e| format!("no system resolver: {e}"))?
            }
        };
        let opts = builder.options_mut();
        opts.cache_size = 0;
        opts.attempts = 1;
        opts.timeout = timeout;
        let resolver = builder.build();
        map.insert((server, timeout.as_millis()), resolver.clone());
        Ok(resolver)
    }

    pub async fn check(
        &self,
        name: &str,
        record_type: &str,
        expect: Option<&str>,
        server: Option<SocketAddr>,
        timeout: Duration,
    ) -> CheckResult {
        let started = Instant::now();
        let fail =
            |class, msg: String| CheckResult::failed(Utc::now(), started.elapsed(), class, msg);
        let rtype: RecordType = match record_type.parse() {
            Ok(t) => t,
            Err(_) => {
                return fail(
                    ErrorClass::Protocol,
                    format!("unknown record type {record_type}"),
                )
            }
        };
        let resolver = match self.resolver(server, timeout) {
            Ok(r) => r,
            Err(e) => return fail(ErrorClass::Dns, e),
        };
        let lookup = match resolver.lookup(name, rtype).await {
            Ok(l) => l,
            Err(e) => return fail(ErrorClass::Dns, format!("{name} {record_type}: {e}")),
        };
        let answers: Vec<String> = lookup
            .iter()
            .map(|r| r.to_string().trim_end_matches('.').to_ascii_lowercase())
            .collect();
        if answers.is_empty() {
            return fail(ErrorClass::Dns, format!("{name} {record_type}: no answer"));
        }
        if let Some(want) = expect {
            let want = want.trim_end_matches('.').to_ascii_lowercase();
            if !answers.iter().any(|a| a.contains(&want)) {
                return fail(
                    ErrorClass::Dns,
                    format!(
                        "{name} {record_type}: expected {want}, got {}",
                        answers.join(", ")
                    ),
                );
            }
        }
        CheckResult::ok(Utc::now(), started.elapsed())
    }
}
