//! Subscribers and their outbox: requests (confirmed later, or at once when an admin imports),
//! confirmation and unsubscribing by token, the queue's head per subscriber and the outcome of
//! each attempt. Messages for events are queued by `events::append_in`, in the event's own
//! transaction.

use chrono::{DateTime, Utc};

use super::{audit, events::Event, incident_commands::CommandError, PgPool, StoreError};
use crate::model::subscriber::{
    NewSubscription, Subscriber, SubscriberCount, SubscriberKind, SubscriberState,
};

/// What became of a request. The public side answers every case alike, so the form cannot be
/// used to learn who subscribes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Requested {
    /// A confirmation is queued (a new request, or a repeated one past the throttle window).
    ConfirmationQueued(i64),
    /// Already asked recently: no second message, so the form cannot flood anyone.
    Throttled(i64),
    /// Already subscribed and confirmed: nothing changes (a stranger could otherwise narrow it).
    AlreadyActive(i64),
    /// Imported by an admin as already confirmed.
    Active(i64),
    /// Held back before any row was touched: this inbox (however spelled) had its confirmation
    /// lately, or the page sent its hourly share of confirmations. The public answer is the same.
    Held,
}

impl Requested {
    pub fn id(self) -> Option<i64> {
        match self {
            Requested::ConfirmationQueued(id)
            | Requested::Throttled(id)
            | Requested::AlreadyActive(id)
            | Requested::Active(id) => Some(id),
            Requested::Held => None,
        }
    }
}

/// How a request is made: by a visitor (confirmation needed) or an admin (who may skip it).
pub struct Request<'a> {
    pub new: &'a NewSubscription,
    /// The token for its links; used only when the row is new or starts over.
    pub token: &'a str,
    /// The webhook's signing key; likewise.
    pub secret: Option<&'a str>,
    /// `public`, or the admin's audit name.
    pub created_by: &'a str,
    pub confirmed: bool,
    /// Unconfirmed requests lapse after this long.
    pub confirm_within: chrono::Duration,
    /// One confirmation per target per this long.
    pub resend_after: chrono::Duration,
}

/// Every id names a component, or the error names the first that does not.
pub async fn unknown_components(pool: &PgPool, ids: &[String]) -> Result<(), CommandError> {
    let unknown = super::incidents::unknown_components(pool, ids).await?;
    match unknown.first() {
        None => Ok(()),
        Some(id) => Err(CommandError::invalid(
            "components",
            format!("no component `{id}`; GET /api/v2/components.json lists them"),
        )),
    }
}

/// Records a request to follow the page and queues what it needs (a confirmation), atomically.
pub async fn request(pool: &PgPool, r: &Request<'_>) -> Result<Requested, CommandError> {
    let n = r.new;
    unknown_components(pool, &n.components).await?;
    let mut tx = pool.begin().await.map_err(StoreError::from)?;
    let existing = sqlx::query!(
        "SELECT id, state, confirm_sent_at FROM subscribers WHERE kind = $1 AND target = $2 FOR UPDATE",
        n.kind.as_str(),
        &n.target
    )
    .fetch_optional(&mut *tx)
    .await
    .map_err(StoreError::from)?;
    let state = if r.confirmed { "active" } else { "pending" };
    let expires = (!r.confirmed).then(|| Utc::now() + r.confirm_within);
    let outcome = match existing {
        Some(row) if row.state == "active" => Requested::AlreadyActive(row.id),
        Some(row)
            if row.state == "pending"
                && !r.confirmed
                && row
                    .confirm_sent_at
                    .is_some_and(|at| Utc::now() - at < r.resend_after) =>
        {
            Requested::Throttled(row.id)
        }
        Some(row) if r.created_by == "public" => {
            // Pending past the window, or deactivated and asked for again by somebody on the
            // public side: the confirmation goes out again, for the subscription as it was. A
            // stranger never changes its link token, signing key or components.
            sqlx::query!(
                "UPDATE subscribers SET state = 'pending', state_reason = NULL, expires_at = $2, \
                 confirmed_at = NULL, confirm_sent_at = now() WHERE id = $1",
                row.id,
                expires
            )
            .execute(&mut *tx)
            .await
            .map_err(StoreError::from)?;
            queued(&mut tx, row.id, false).await?
        }
        Some(row) => {
            // Pending past the window, or deactivated and asked for again by an admin: start over.
            sqlx::query!(
                "UPDATE subscribers SET token = $2, secret = $3, components = $4, incidents = $5, \
                 maintenances = $6, state = $7, state_reason = NULL, expires_at = $8, \
                 confirmed_at = CASE WHEN $7 = 'active' THEN now() END, \
                 confirm_sent_at = CASE WHEN $7 = 'active' THEN NULL ELSE now() END WHERE id = $1",
                row.id,
                r.token,
                r.secret,
                &n.components,
                n.incidents,
                n.maintenances,
                state,
                expires
            )
            .execute(&mut *tx)
            .await
            .map_err(StoreError::from)?;
            queued(&mut tx, row.id, r.confirmed).await?
        }
        None => {
            let id = sqlx::query_scalar!(
                "INSERT INTO subscribers (kind, target, token, secret, components, incidents, \
                 maintenances, state, expires_at, created_by, confirmed_at, confirm_sent_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, \
                   CASE WHEN $8 = 'active' THEN now() END, CASE WHEN $8 = 'active' THEN NULL ELSE now() END) \
                 RETURNING id",
                n.kind.as_str(),
                &n.target,
                r.token,
                r.secret,
                &n.components,
                n.incidents,
                n.maintenances,
                state,
                expires,
                r.created_by
            )
            .fetch_one(&mut *tx)
            .await
            .map_err(StoreError::from)?;
            queued(&mut tx, id, r.confirmed).await?
        }
    };
    if let (false, Some(id)) = (r.created_by == "public", outcome.id()) {
        audit_in(
            &mut tx,
            r.created_by,
            "subscriber.add",
            id,
            n.kind,
            r.confirmed,
        )
        .await?;
    }
    tx.commit().await.map_err(StoreError::from)?;
    Ok(outcome)
}

async fn audit_in(
    tx: &mut sqlx::PgConnection,
    actor: &str,
    action: &str,
    id: i64,
    kind: SubscriberKind,
    confirmed: bool,
) -> Result<(), StoreError> {
    sqlx::query!(
        "INSERT INTO audit_log (actor, action, target, details) VALUES ($1, $2, $3, $4)",
        actor,
        action,
        format!("subscriber:{id}"),
        serde_json::json!({ "kind": kind.as_str(), "confirmed": confirmed })
    )
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// Queues the confirmation for a subscriber that needs one.
async fn queued(
    tx: &mut sqlx::PgConnection,
    id: i64,
    confirmed: bool,
) -> Result<Requested, StoreError> {
    if confirmed {
        return Ok(Requested::Active(id));
    }
    sqlx::query!(
        "INSERT INTO subscriber_deliveries (subscriber_id, purpose) VALUES ($1, 'confirm')",
        id
    )
    .execute(&mut *tx)
    .await?;
    Ok(Requested::ConfirmationQueued(id))
}

/// Follows a confirmation link: a pending, unexpired subscription becomes active. Returns its
/// kind, or None for a token that names nothing (never issued, expired, or unsubscribed).
pub async fn confirm(pool: &PgPool, token: &str) -> Result<Option<SubscriberKind>, StoreError> {
    let kind = sqlx::query_scalar!(
        "UPDATE subscribers SET state = 'active', confirmed_at = coalesce(confirmed_at, now()), \
         expires_at = NULL WHERE token = $1 \
         AND (state = 'active' OR (state = 'pending' AND expires_at > now())) RETURNING kind",
        token
    )
    .fetch_optional(pool)
    .await?;
    Ok(kind.as_deref().and_then(SubscriberKind::parse))
}

/// Unsubscribes: the subscriber and everything still queued for it are deleted (the address is
/// not kept). False when the token names nothing, which is also what a second click finds.
pub async fn unsubscribe(pool: &PgPool, token: &str) -> Result<bool, StoreError> {
    Ok(
        sqlx::query!("DELETE FROM subscribers WHERE token = $1", token)
            .execute(pool)
            .await?
            .rows_affected()
            == 1,
    )
}

/// An admin removes a subscriber (audited). False when there is no such subscriber.
pub async fn remove(pool: &PgPool, id: i64, actor: &str) -> Result<bool, StoreError> {
    let kind = sqlx::query_scalar!("DELETE FROM subscribers WHERE id = $1 RETURNING kind", id)
        .fetch_optional(pool)
        .await?;
    let Some(kind) = kind else {
        return Ok(false);
    };
    audit::record(
        pool,
        actor,
        "subscriber.remove",
        &format!("subscriber:{id}"),
        serde_json::json!({ "kind": kind }),
    )
    .await?;
    Ok(true)
}

/// Requests nobody confirmed in time are forgotten.
pub async fn expire(pool: &PgPool) -> Result<u64, StoreError> {
    Ok(
        sqlx::query!("DELETE FROM subscribers WHERE state = 'pending' AND expires_at < now()")
            .execute(pool)
            .await?
            .rows_affected(),
    )
}

/// One page of subscribers, newest first, and how many there are in all.
pub async fn list(
    pool: &PgPool,
    page: i64,
    per_page: i64,
) -> Result<(Vec<Subscriber>, i64), StoreError> {
    let rows = select(pool, None, per_page, (page.max(1) - 1) * per_page).await?;
    let total = sqlx::query_scalar!(r#"SELECT count(*) AS "n!" FROM subscribers"#)
        .fetch_one(pool)
        .await?;
    Ok((rows, total))
}

pub async fn get(pool: &PgPool, id: i64) -> Result<Option<Subscriber>, StoreError> {
    Ok(select(pool, Some(id), 1, 0).await?.pop())
}

async fn select(
    pool: &PgPool,
    id: Option<i64>,
    limit: i64,
    offset: i64,
) -> Result<Vec<Subscriber>, StoreError> {
    let rows = sqlx::query!(
        r#"SELECT s.id, s.kind, s.target, s.components, s.incidents, s.maintenances, s.state,
             s.state_reason, s.created_at, s.confirmed_at, s.created_by,
             count(d.id) FILTER (WHERE d.state = 'delivered') AS "delivered!",
             count(d.id) FILTER (WHERE d.state = 'pending') AS "pending!"
           FROM subscribers s LEFT JOIN subscriber_deliveries d ON d.subscriber_id = s.id
           WHERE $3::bigint IS NULL OR s.id = $3
           GROUP BY s.id ORDER BY s.id DESC LIMIT $1 OFFSET $2"#,
        limit,
        offset,
        id
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| Subscriber {
            id: r.id,
            kind: SubscriberKind::parse(&r.kind).unwrap_or(SubscriberKind::Email),
            target: r.target,
            components: r.components,
            incidents: r.incidents,
            maintenances: r.maintenances,
            state: SubscriberState::parse(&r.state),
            state_reason: r.state_reason,
            created_at: r.created_at,
            confirmed_at: r.confirmed_at,
            created_by: r.created_by,
            delivered: r.delivered,
            pending: r.pending,
        })
        .collect())
}

/// Subscribers of each kind by state.
pub async fn counts(pool: &PgPool) -> Result<Vec<SubscriberCount>, StoreError> {
    Ok(sqlx::query_as!(
        SubscriberCount,
        r#"SELECT k.kind AS "kind!",
             count(s.id) FILTER (WHERE s.state = 'pending') AS "pending!",
             count(s.id) FILTER (WHERE s.state = 'active') AS "active!",
             count(s.id) FILTER (WHERE s.state = 'deactivated') AS "deactivated!"
           FROM unnest(ARRAY['email', 'discord', 'webhook']) AS k(kind)
           LEFT JOIN subscribers s ON s.kind = k.kind GROUP BY k.kind ORDER BY k.kind"#
    )
    .fetch_all(pool)
    .await?)
}

/// The oldest undelivered message of one subscriber, with what rendering it needs.
#[derive(Clone, Debug)]
pub struct Due {
    pub id: i64,
    pub subscriber_id: i64,
    pub kind: SubscriberKind,
    pub target: String,
    pub token: String,
    pub secret: Option<String>,
    pub attempts: i32,
    pub created_at: DateTime<Utc>,
    /// None: the confirmation.
    pub event: Option<Event>,
}

/// Up to `limit` subscribers' next messages that are due now, oldest first. Only the head of a
/// subscriber's queue is ever sent, so one subscriber's messages arrive in order; a subscriber
/// waiting out a 429 holds back nobody else.
/// Which queue a delivery is in: confirmations of requests nobody has confirmed yet, or
/// messages to confirmed subscribers. Each lane is delivered on its own, so a crowd of
/// unconfirmed endpoints that never answer cannot delay what confirmed subscribers are owed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lane {
    Confirmations,
    Subscribers,
}

pub async fn due(pool: &PgPool, limit: i64, lane: Lane) -> Result<Vec<Due>, StoreError> {
    let confirmations = lane == Lane::Confirmations;
    let rows = sqlx::query!(
        r#"SELECT d.id, d.subscriber_id, s.kind, s.target, s.token, s.secret, d.attempts,
             d.created_at, e.id AS "event_id?", e.at AS "at?", e.kind AS "event_kind?",
             e.subject AS "subject?", e.payload AS "payload?"
           FROM (SELECT DISTINCT ON (subscriber_id) id, next_attempt_at FROM subscriber_deliveries
                 WHERE state = 'pending' ORDER BY subscriber_id, id) h
           JOIN subscriber_deliveries d ON d.id = h.id
           JOIN subscribers s ON s.id = d.subscriber_id
           LEFT JOIN events e ON e.id = d.event_id
           WHERE h.next_attempt_at <= now()
             AND CASE WHEN $2 THEN s.state = 'pending' AND d.purpose = 'confirm'
                      ELSE s.state = 'active' END
           ORDER BY d.id LIMIT $1"#,
        limit,
        confirmations
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| Due {
            id: r.id,
            subscriber_id: r.subscriber_id,
            kind: SubscriberKind::parse(&r.kind).unwrap_or(SubscriberKind::Email),
            target: r.target,
            token: r.token,
            secret: r.secret,
            attempts: r.attempts,
            created_at: r.created_at,
            event: match (r.event_id, r.at, r.event_kind, r.subject, r.payload) {
                (Some(id), Some(at), Some(kind), Some(subject), Some(payload)) => {
                    Some(Event::from(super::events::StoredEvent {
                        id,
                        at,
                        kind,
                        subject,
                        payload,
                    }))
                }
                _ => None,
            },
        })
        .collect())
}

/// When the next head waiting in `lane` falls due (for sleeping until then). Only heads count:
/// a message queued behind one that waits out a 429 is not due before it.
pub async fn next_due(pool: &PgPool, lane: Lane) -> Result<Option<DateTime<Utc>>, StoreError> {
    Ok(sqlx::query_scalar!(
        r#"SELECT min(h.next_attempt_at)
           FROM (SELECT DISTINCT ON (subscriber_id) id, next_attempt_at FROM subscriber_deliveries
                 WHERE state = 'pending' ORDER BY subscriber_id, id) h
           JOIN subscriber_deliveries d ON d.id = h.id
           JOIN subscribers s ON s.id = d.subscriber_id
           WHERE CASE WHEN $1 THEN s.state = 'pending' AND d.purpose = 'confirm'
                      ELSE s.state = 'active' END"#,
        lane == Lane::Confirmations
    )
    .fetch_one(pool)
    .await?)
}

/// Delivered. A Discord subscription is confirmed by its confirmation arriving (the person who
/// pasted the URL can read the channel), so that delivery activates it.
pub async fn delivered(
    pool: &PgPool,
    d: &Due,
    status: u16,
    activates: bool,
) -> Result<(), StoreError> {
    let mut tx = pool.begin().await?;
    super::outbox::delivered(&mut *tx, super::outbox::Queue::Subscribers, d.id, status).await?;
    if activates {
        sqlx::query!(
            "UPDATE subscribers SET state = 'active', confirmed_at = now(), expires_at = NULL \
             WHERE id = $1 AND state = 'pending'",
            d.subscriber_id
        )
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// The receiver is gone for good (Discord: the webhook was deleted): the subscription is
/// deactivated, saying why, and nothing still queued for it is tried again.
pub async fn deactivate(pool: &PgPool, subscriber_id: i64, reason: &str) -> Result<(), StoreError> {
    let mut tx = pool.begin().await?;
    sqlx::query!(
        "UPDATE subscribers SET state = 'deactivated', state_reason = $2 WHERE id = $1",
        subscriber_id,
        reason
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query!(
        "UPDATE subscriber_deliveries SET state = 'failed', last_error = $2 \
         WHERE subscriber_id = $1 AND state = 'pending'",
        subscriber_id,
        reason
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Messages by state (delivered, pending, failed), for `/metrics` and the benchmarks.
pub async fn delivery_counts(pool: &PgPool) -> Result<Vec<(String, i64)>, StoreError> {
    Ok(sqlx::query!(
        r#"SELECT state, count(*) AS "n!" FROM subscriber_deliveries GROUP BY state ORDER BY state"#
    )
    .fetch_all(pool)
    .await?
    .into_iter()
    .map(|r| (r.state, r.n))
    .collect())
}
