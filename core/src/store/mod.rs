//! The only place SQL lives. Grouped by aggregate; every function takes the pool or a transaction.

pub mod agents;
pub mod audit;
pub mod backends;
pub mod causes;
pub mod checks;
pub mod cluster;
pub mod correlation;
pub mod events;
pub mod follow_up_issues;
pub mod follow_ups;
pub mod health;
pub mod imports;
pub mod incident_commands;
pub mod incidents;
pub mod kubernetes;
pub mod lb_configs;
pub mod monitors;
pub mod notifications;
pub mod objectives;
pub mod outbox;
pub mod postmortem_commands;
pub mod postmortems;
pub mod reliability;
pub mod resources;
pub mod review_commands;
pub mod reviews;
pub mod sessions;
pub mod sources;
pub mod status;
pub mod subscribers;
pub mod throttle;
pub mod tokens;
pub mod upstream;
pub mod uptime;
pub mod users;
pub mod world;

pub use sqlx::PgPool;

/// The schema, embedded at compile time so a single `vigil` binary can migrate any database.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations");

/// Errors from the storage layer. Callers map these to their own layer's error type.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

/// Makes `tx` read one snapshot: whatever it reads after this agrees with everything else it
/// reads, though writers commit in between (a view assembled from several queries is not torn).
pub async fn read_only_snapshot(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
) -> Result<(), StoreError> {
    sqlx::query!("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Whatever went wrong in the database, callers get a 503 and the same words; the details go to
/// the log.
impl crate::model::answer::Answer for StoreError {
    fn status(&self) -> u16 {
        503
    }

    fn public_message(&self) -> String {
        crate::model::answer::UNAVAILABLE.into()
    }
}

pub async fn migrate(pool: &PgPool) -> Result<(), StoreError> {
    MIGRATOR.run(pool).await?;
    Ok(())
}
