//! Server-side sessions in PostgreSQL (tower-sessions with its sqlx store).

use crate::auth::session_store::PgSessions;
use chrono::Utc;
use tower_sessions::{cookie::SameSite, Expiry, Session, SessionManagerLayer};

use crate::config::AuthConfig;

pub const COOKIE: &str = "vigil_session";
const USER_ID: &str = "user_id";
/// Milliseconds, so a password change a moment after signing in still ends the session.
const LOGIN_AT: &str = "login_at_ms";

pub fn layer(store: PgSessions, cfg: &AuthConfig) -> SessionManagerLayer<PgSessions> {
    SessionManagerLayer::new(store)
        .with_name(COOKIE)
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_secure(cfg.secure())
        .with_path("/")
        .with_expiry(Expiry::OnInactivity(time::Duration::minutes(
            cfg.session_idle_minutes as i64,
        )))
}

/// Signs a user in: a fresh session id (no fixation), the user and the sign-in time.
pub async fn begin(session: &Session, user_id: i64) -> Result<(), tower_sessions::session::Error> {
    session.cycle_id().await?;
    session.insert(USER_ID, user_id).await?;
    session
        .insert(LOGIN_AT, Utc::now().timestamp_millis())
        .await?;
    Ok(())
}

/// The signed-in user's id and when they signed in, unless the session has outlived its absolute
/// lifetime (then it is ended here).
pub async fn user_id(
    session: &Session,
    absolute_hours: u64,
) -> Option<(i64, chrono::DateTime<Utc>)> {
    let user_id: i64 = session.get(USER_ID).await.ok()??;
    let login_at: i64 = session.get(LOGIN_AT).await.ok()??;
    let age_ms = Utc::now().timestamp_millis() - login_at;
    if age_ms < 0 || age_ms as u64 > absolute_hours * 3_600_000 {
        let _ = session.flush().await;
        return None;
    }
    Some((user_id, chrono::DateTime::from_timestamp_millis(login_at)?))
}

pub async fn end(session: &Session) {
    let _ = session.flush().await;
}
