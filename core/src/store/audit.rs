use super::{PgPool, StoreError};
pub use crate::model::audit::AuditEntry;

/// Records who changed what. `actor` is `user:NAME`, `token:NAME` or `cli:ACCOUNT`.
pub async fn record(
    pool: &PgPool,
    actor: &str,
    action: &str,
    target: &str,
    details: serde_json::Value,
) -> Result<(), StoreError> {
    sqlx::query!(
        "INSERT INTO audit_log (actor, action, target, details) VALUES ($1, $2, $3, $4)",
        actor,
        action,
        target,
        details
    )
    .execute(pool)
    .await?;
    Ok(())
}

/// Newest first.
pub async fn recent(pool: &PgPool, limit: i64) -> Result<Vec<AuditEntry>, StoreError> {
    Ok(sqlx::query_as!(
        AuditEntry,
        "SELECT id, at, actor, action, target, details FROM audit_log ORDER BY at DESC, id DESC LIMIT $1",
        limit
    )
    .fetch_all(pool)
    .await?)
}
