use std::time::Instant;

use chrono::Utc;
use tokio::net::TcpStream;
use vigil_core::model::monitor::{CheckResult, ErrorClass};

/// Connects and hangs up: the port accepts connections. (The caller bounds the time.)
pub async fn check(host: &str, port: u16) -> CheckResult {
    let started = Instant::now();
    match TcpStream::connect((host, port)).await {
        Ok(_) => CheckResult::ok(Utc::now(), started.elapsed()),
        Err(e) => CheckResult::failed(
            Utc::now(),
            started.elapsed(),
            ErrorClass::Connect,
            format!("{host}:{port}: {e}"),
        ),
    }
}
