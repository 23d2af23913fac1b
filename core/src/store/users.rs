use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::model::auth::Role;

use super::{PgPool, StoreError};

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct User {
    pub id: i64,
    pub username: String,
    pub role: Role,
    pub disabled: bool,
    pub created_at: DateTime<Utc>,
    /// Sessions begun before this are ended (`vigil user passwd`).
    pub password_changed_at: DateTime<Utc>,
    /// How public pages name this person; never the login name.
    pub display_name: Option<String>,
}

/// A user with the password hash, for sign-in only.
pub struct Credentials {
    pub user: User,
    pub password_hash: String,
}

struct Row {
    id: i64,
    username: String,
    role: String,
    disabled: bool,
    created_at: DateTime<Utc>,
    password_changed_at: DateTime<Utc>,
    display_name: Option<String>,
    password_hash: String,
}

impl Row {
    fn into_credentials(self) -> Credentials {
        Credentials {
            user: User {
                id: self.id,
                username: self.username,
                // The CHECK constraint admits only the three names Role parses.
                role: self.role.parse().unwrap_or(Role::Viewer),
                disabled: self.disabled,
                created_at: self.created_at,
                password_changed_at: self.password_changed_at,
                display_name: self.display_name,
            },
            password_hash: self.password_hash,
        }
    }
}

pub async fn create(
    pool: &PgPool,
    username: &str,
    password_hash: &str,
    role: Role,
) -> Result<User, StoreError> {
    let row: Row = sqlx::query_as!(
        Row,
        "INSERT INTO users (username, password_hash, role) VALUES ($1, $2, $3) RETURNING id, username, role, disabled, created_at, password_changed_at, display_name, password_hash",
        username,
        password_hash,
        role.as_str()
    )
    .fetch_one(pool)
    .await?;
    Ok(row.into_credentials().user)
}

pub async fn by_name(pool: &PgPool, username: &str) -> Result<Option<Credentials>, StoreError> {
    let row: Option<Row> =
        sqlx::query_as!(
            Row,
            "SELECT id, username, role, disabled, created_at, password_changed_at, display_name, password_hash FROM users WHERE username = $1",
            username
        )
            .fetch_optional(pool)
            .await?;
    Ok(row.map(Row::into_credentials))
}

pub async fn by_id(pool: &PgPool, id: i64) -> Result<Option<User>, StoreError> {
    let row: Option<Row> = sqlx::query_as!(
        Row,
        "SELECT id, username, role, disabled, created_at, password_changed_at, display_name, password_hash FROM users WHERE id = $1",
        id
    )
        .fetch_optional(pool)
        .await?;
    Ok(row.map(|r| r.into_credentials().user))
}

pub async fn list(pool: &PgPool) -> Result<Vec<User>, StoreError> {
    let rows: Vec<Row> = sqlx::query_as!(
        Row,
        "SELECT id, username, role, disabled, created_at, password_changed_at, display_name, password_hash FROM users ORDER BY username"
    )
        .fetch_all(pool)
        .await?;
    Ok(rows
        .into_iter()
        .map(|r| r.into_credentials().user)
        .collect())
}

/// Returns false when no such user exists.
pub async fn set_role(pool: &PgPool, username: &str, role: Role) -> Result<bool, StoreError> {
    let done = sqlx::query!(
        "UPDATE users SET role = $2, updated_at = now() WHERE username = $1",
        username,
        role.as_str()
    )
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Returns false when no such user exists.
pub async fn set_disabled(
    pool: &PgPool,
    username: &str,
    disabled: bool,
) -> Result<bool, StoreError> {
    let done = sqlx::query!(
        "UPDATE users SET disabled = $2, updated_at = now() WHERE username = $1",
        username,
        disabled
    )
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn set_password(pool: &PgPool, username: &str, hash: &str) -> Result<bool, StoreError> {
    let done = sqlx::query!(
        "UPDATE users SET password_hash = $2, password_changed_at = now(), updated_at = now() \
         WHERE username = $1",
        username,
        hash
    )
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Sets (or with `None` clears) the name public pages show for this person.
pub async fn set_display_name(
    pool: &PgPool,
    username: &str,
    display_name: Option<&str>,
) -> Result<bool, StoreError> {
    let done = sqlx::query!(
        "UPDATE users SET display_name = $2, updated_at = now() WHERE username = $1",
        username,
        display_name
    )
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The public name of an update's or a post-mortem's author, as stored ("user:NAME", "token:…",
/// "Vigil"): the person's display name when they have one, otherwise "Vigil".
pub async fn public_names(
    db: impl sqlx::PgExecutor<'_>,
    authors: &[String],
) -> Result<std::collections::HashMap<String, String>, StoreError> {
    let logins: Vec<String> = authors
        .iter()
        .filter_map(|a| a.strip_prefix("user:").map(str::to_string))
        .collect();
    let rows = sqlx::query!(
        "SELECT username, display_name FROM users WHERE username = ANY($1)",
        &logins
    )
    .fetch_all(db)
    .await?;
    Ok(authors
        .iter()
        .map(|a| {
            let shown = a
                .strip_prefix("user:")
                .and_then(|login| rows.iter().find(|r| r.username == login))
                .and_then(|r| r.display_name.clone())
                .unwrap_or_else(|| crate::model::auth::PUBLIC_AUTHOR.to_string());
            (a.clone(), shown)
        })
        .collect())
}
