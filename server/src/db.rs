//! Reaching the database the same way from `vigil serve` and from every CLI command: the server
//! named by `DATABASE_URL`/`database.url`, or else the embedded cluster.

use std::{str::FromStr, time::Duration};

use sqlx::{
    postgres::{PgConnectOptions, PgPoolOptions},
    PgPool,
};

use crate::{
    config::DatabaseConfig,
    pg_embedded::{EmbeddedPg, PgError},
};

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("database.url is not a valid PostgreSQL URL: {0}")]
    BadUrl(sqlx::Error),
    #[error("cannot connect to PostgreSQL at {target}: {source}\n  check that the server runs and DATABASE_URL is right")]
    Connect { target: String, source: sqlx::Error },
    #[error(transparent)]
    Embedded(#[from] PgError),
    #[error(transparent)]
    Store(#[from] vigil_core::store::StoreError),
}

/// An open pool, and the embedded cluster behind it if there is one.
pub struct Database {
    pub pool: PgPool,
    pub embedded: Option<EmbeddedPg>,
}

impl Database {
    pub async fn open(cfg: &DatabaseConfig) -> Result<Database, DbError> {
        let (options, embedded, target) = match &cfg.url {
            Some(url) => {
                let opts = PgConnectOptions::from_str(url).map_err(DbError::BadUrl)?;
                create_if_missing(url).await;
                (opts, None, redact(url))
            }
            None => {
                let pg = EmbeddedPg::ensure_running(&cfg.data_dir, &cfg.run_as).await?;
                let target = format!("the embedded cluster in {}", pg.data_dir().display());
                (pg.connect_options(), Some(pg), target)
            }
        };
        // PostgreSQL compiles a statement it estimates as costly (an objective's window over
        // a thousand monitors) before running it: 380 ms of compiling measured for a query
        // that then ran in less. Vigil's statements are short and run often; they run as is.
        let options = options.options([("jit", "off")]);
        let pool = PgPoolOptions::new()
            .max_connections(cfg.max_connections)
            .acquire_timeout(Duration::from_secs(5))
            // Start-up opens every connection at once (migrations, each worker's first round);
            // idle, one or two are used. The rest close after a while instead of keeping their
            // buffers and statement caches for the ten minutes sqlx would.
            .idle_timeout(Duration::from_secs(30))
            .connect_with(options)
            .await
            .map_err(|source| DbError::Connect { target, source })?;
        Ok(Database { pool, embedded })
    }

    pub async fn migrate(&self) -> Result<(), DbError> {
        vigil_core::store::migrate(&self.pool).await?;
        Ok(())
    }

    /// Closes the pool, then stops the embedded cluster if this process started it.
    pub async fn close(self) -> Result<(), DbError> {
        self.pool.close().await;
        if let Some(pg) = self.embedded.filter(|pg| pg.started_here) {
            tokio::task::spawn_blocking(move || pg.stop())
                .await
                .expect("stop task panicked")?;
        }
        Ok(())
    }
}

/// A first start against an empty server creates Vigil's database. When the check itself fails
/// (no rights on the `postgres` database, say), the connection that follows reports the problem.
async fn create_if_missing(url: &str) {
    use sqlx::migrate::MigrateDatabase;
    if let Ok(false) = sqlx::Postgres::database_exists(url).await {
        match sqlx::Postgres::create_database(url).await {
            Ok(()) => tracing::info!(url = %redact(url), "created the database"),
            Err(e) => {
                tracing::warn!(url = %redact(url), error = %e, "could not create the database")
            }
        }
    }
}

/// The URL without its password, fit for logs and error messages.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let userinfo = &url[scheme_end + 3..at];
            let user = userinfo.split(':').next().unwrap_or_default();
            format!("{}{}@{}", &url[..scheme_end + 3], user, &url[at + 1..])
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn passwords_never_reach_logs() {
        assert_eq!(
            redact("postgres://app:s3cret@db:5432/vigil"),
            "postgres://app@db:5432/vigil"
        );
        assert_eq!(redact("postgres://db/vigil"), "postgres://db/vigil");
    }
}
