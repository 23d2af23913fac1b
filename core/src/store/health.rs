use std::time::{Duration, Instant};

use crate::model::live::DbState;

use super::PgPool;

/// One round trip to the database, bounded so a hung server reads as unreachable rather than
/// stalling whoever asked.
pub async fn ping(pool: &PgPool, timeout: Duration) -> DbState {
    let started = Instant::now();
    let query = sqlx::query_scalar::<_, i32>("SELECT 1").fetch_one(pool);
    match tokio_timeout(timeout, query).await {
        Ok(Ok(_)) => DbState::Connected {
            latency_ms: started.elapsed().as_secs_f64() * 1000.0,
        },
        Ok(Err(e)) => DbState::Unreachable {
            error: one_line(&e.to_string()),
        },
        Err(()) => DbState::Unreachable {
            error: format!("no answer within {} ms", timeout.as_millis()),
        },
    }
}

async fn tokio_timeout<F: std::future::Future>(d: Duration, f: F) -> Result<F::Output, ()> {
    tokio::time::timeout(d, f).await.map_err(|_| ())
}

fn one_line(s: &str) -> String {
    s.lines().next().unwrap_or_default().to_string()
}
