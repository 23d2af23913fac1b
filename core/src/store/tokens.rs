use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::model::auth::Scope;

use super::{PgPool, StoreError};

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ApiToken {
    pub id: i64,
    pub name: String,
    pub prefix: String,
    pub scopes: Vec<Scope>,
    /// The one region an agent token speaks for.
    pub region: Option<String>,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

struct Row {
    id: i64,
    name: String,
    prefix: String,
    scopes: Vec<String>,
    region: Option<String>,
    created_by: String,
    created_at: DateTime<Utc>,
    last_used_at: Option<DateTime<Utc>>,
    revoked_at: Option<DateTime<Utc>>,
}

impl From<Row> for ApiToken {
    fn from(r: Row) -> Self {
        ApiToken {
            id: r.id,
            name: r.name,
            prefix: r.prefix,
            // Unknown names (from a newer Vigil) grant nothing rather than failing the lookup.
            scopes: r.scopes.iter().filter_map(|s| s.parse().ok()).collect(),
            region: r.region,
            created_by: r.created_by,
            created_at: r.created_at,
            last_used_at: r.last_used_at,
            revoked_at: r.revoked_at,
        }
    }
}

pub async fn create(
    pool: &PgPool,
    name: &str,
    token_hash: &[u8],
    prefix: &str,
    scopes: &[Scope],
    region: Option<&str>,
    created_by: &str,
) -> Result<ApiToken, StoreError> {
    let scopes: Vec<String> = scopes.iter().map(|s| s.as_str().to_string()).collect();
    let row: Row = sqlx::query_as!(
        Row,
        "INSERT INTO api_tokens (name, token_hash, prefix, scopes, created_by, region) \
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id, name, prefix, scopes, region, created_by, created_at, last_used_at, revoked_at",
        name,
        token_hash,
        prefix,
        &scopes,
        created_by,
        region
    )
    .fetch_one(pool)
    .await?;
    Ok(row.into())
}

/// The live (not revoked) token with this hash, marking it used.
pub async fn use_by_hash(pool: &PgPool, token_hash: &[u8]) -> Result<Option<ApiToken>, StoreError> {
    let row: Option<Row> = sqlx::query_as!(
        Row,
        "UPDATE api_tokens SET last_used_at = now() \
         WHERE token_hash = $1 AND revoked_at IS NULL RETURNING id, name, prefix, scopes, region, created_by, created_at, last_used_at, revoked_at",
        token_hash
    )
    .fetch_optional(pool)
    .await?;
    Ok(row.map(Into::into))
}

pub async fn list(pool: &PgPool) -> Result<Vec<ApiToken>, StoreError> {
    let rows: Vec<Row> = sqlx::query_as!(
        Row,
        "SELECT id, name, prefix, scopes, region, created_by, created_at, last_used_at, revoked_at FROM api_tokens ORDER BY id"
    )
        .fetch_all(pool)
        .await?;
    Ok(rows.into_iter().map(Into::into).collect())
}

/// Returns the token, or None when no live token has this id.
pub async fn revoke(pool: &PgPool, id: i64) -> Result<Option<ApiToken>, StoreError> {
    let row: Option<Row> = sqlx::query_as!(
        Row,
        "UPDATE api_tokens SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL \
         RETURNING id, name, prefix, scopes, region, created_by, created_at, last_used_at, revoked_at",
        id
    )
    .fetch_optional(pool)
    .await?;
    Ok(row.map(Into::into))
}
