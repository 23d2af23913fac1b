//! The one outbox: the queue state both delivery lanes share (`migrations/…_outbox.sql`). What a
//! lane's head carries, and what a delivery changes beyond the queue (a subscriber confirmed by its
//! first message, one deactivated when its receiver is gone), stay with the lane's store
//! (`notifications`, `subscribers`).

use chrono::{DateTime, Utc};

use super::{PgPool, StoreError};

/// Which table a message is queued in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Queue {
    /// Ops channels (`[[notify]]`): `notifications`.
    Channels,
    /// Subscribers, confirmations included: `subscriber_deliveries`.
    Subscribers,
}

impl Queue {
    fn table(self) -> &'static str {
        match self {
            Queue::Channels => "notifications",
            Queue::Subscribers => "subscriber_deliveries",
        }
    }
}

/// What one failed attempt comes to.
#[derive(Clone, Debug, PartialEq)]
pub struct Failure<'a> {
    pub status: Option<u16>,
    pub error: &'a str,
    /// When to try again.
    pub next: DateTime<Utc>,
    /// No more tries: the message is `failed`, shown to admins.
    pub give_up: bool,
    /// Whether the attempt counts toward the tries (a 429 does not: waiting was asked for).
    pub counts: bool,
}

/// Delivered, with the receiver's status.
pub async fn delivered(
    conn: impl sqlx::PgExecutor<'_>,
    queue: Queue,
    id: i64,
    status: u16,
) -> Result<(), StoreError> {
    sqlx::query!(
        "UPDATE outbox SET state = 'delivered', attempts = attempts + 1, last_status = $2, \
         last_error = NULL, delivered_at = now() WHERE tableoid = $3::text::regclass AND id = $1",
        id,
        i32::from(status),
        queue.table()
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// A failed attempt: try again at `next`, or give up.
pub async fn attempt_failed(
    pool: &PgPool,
    queue: Queue,
    id: i64,
    f: &Failure<'_>,
) -> Result<(), StoreError> {
    sqlx::query!(
        "UPDATE outbox SET attempts = attempts + $6::int, last_status = $2, last_error = $3, \
         next_attempt_at = $4, state = CASE WHEN $5 THEN 'failed' ELSE state END \
         WHERE tableoid = $7::text::regclass AND id = $1",
        id,
        f.status.map(i32::from),
        f.error,
        f.next,
        f.give_up,
        i32::from(f.counts),
        queue.table()
    )
    .execute(pool)
    .await?;
    Ok(())
}
