use std::time::{Duration, Instant};

use crate::model::live::DbState;

use super::PgPool;

/// One round trip to the database, bounded so a hung server reads as unreachable rather than
/// stalling whoever asked.
pub async fn ping(pool: &PgPool, timeout: Duration) -> DbState {
    let query = sqlx::query_scalar!("SELECT 1").fetch_one(pool);
    ping_with(timeout, query).await.0
}

/// As [`ping`], with `query` as the round trip: its result comes back beside the state.
pub async fn ping_with<T, E: std::fmt::Display>(
    timeout: Duration,
    query: impl std::future::Future<Output = Result<T, E>>,
) -> (DbState, Option<T>) {
    let started = Instant::now();
    match tokio_timeout(timeout, query).await {
        Ok(Ok(v)) => (
            DbState::Connected {
                latency_ms: started.elapsed().as_secs_f64() * 1000.0,
            },
            Some(v),
        ),
        Ok(Err(e)) => (
            DbState::Unreachable {
                error: one_line(&e.to_string()),
            },
            None,
        ),
        Err(()) => (
            DbState::Unreachable {
                error: format!("no answer within {} ms", timeout.as_millis()),
            },
            None,
        ),
    }
}

async fn tokio_timeout<F: std::future::Future>(d: Duration, f: F) -> Result<F::Output, ()> {
    tokio::time::timeout(d, f).await.map_err(|_| ())
}

fn one_line(s: &str) -> String {
    s.lines().next().unwrap_or_default().to_string()
}
