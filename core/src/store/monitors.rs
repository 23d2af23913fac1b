//! Components and monitors as the config declares them, plus each monitor's running state.

use chrono::{DateTime, Utc};

use crate::model::monitor::{MonitorSpec, MonitorState, MonitorStatus};

use super::{PgPool, StoreError};

/// A component as declared, in display order.
#[derive(Clone, Debug)]
pub struct ComponentDecl {
    pub id: String,
    pub name: String,
    pub group: Option<String>,
    pub description: Option<String>,
}

/// Makes the tables match the config: upserts what is declared, retires what is gone (its history
/// stays). Returns each spec with its database id, in the order given.
pub async fn sync(
    pool: &PgPool,
    components: &[ComponentDecl],
    specs: &[MonitorSpec],
) -> Result<Vec<(i64, MonitorSpec)>, StoreError> {
    let mut tx = pool.begin().await?;
    sqlx::query!("UPDATE components SET retired = true")
        .execute(&mut *tx)
        .await?;
    for (pos, c) in components.iter().enumerate() {
        sqlx::query!(
            "INSERT INTO components (id, name, group_name, description, position) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (id) DO UPDATE SET name = $2, group_name = $3, description = $4, position = $5, \
             retired = false, updated_at = now()",
            c.id,
            c.name,
            c.group,
            c.description,
            pos as i32,
        )
        .execute(&mut *tx)
        .await?;
    }
    sqlx::query!("UPDATE monitors SET retired = true")
        .execute(&mut *tx)
        .await?;
    let mut out = Vec::with_capacity(specs.len());
    for spec in specs {
        let json = serde_json::to_value(spec).expect("specs serialise");
        let id = sqlx::query_scalar!(
            "INSERT INTO monitors (name, component_id, kind, spec, interval_secs) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (name) DO UPDATE SET component_id = $2, kind = $3, spec = $4, interval_secs = $5, \
             retired = false, updated_at = now() RETURNING id",
            spec.name,
            spec.component,
            spec.check.kind(),
            json,
            spec.interval.as_secs() as i32,
        )
        .fetch_one(&mut *tx)
        .await?;
        out.push((id, spec.clone()));
    }
    tx.commit().await?;
    Ok(out)
}

struct StateRow {
    id: i64,
    paused: bool,
    status: Option<String>,
    since: Option<DateTime<Utc>>,
    failures_in_a_row: Option<i32>,
    successes_in_a_row: Option<i32>,
    degraded_in_a_row: Option<i32>,
    last_ok_at: Option<DateTime<Utc>>,
    last_check_at: Option<DateTime<Utc>>,
}

/// The stored state of every live monitor, and whether it is paused.
pub async fn states(pool: &PgPool) -> Result<Vec<(i64, bool, Option<StoredState>)>, StoreError> {
    let rows = sqlx::query_as!(
        StateRow,
        // sqlx cannot tell which side of an outer join a column comes from: `!` and `?` say.
        "SELECT m.id AS \"id!\", m.paused AS \"paused!\", s.status AS \"status?\", \
         s.since AS \"since?\", s.failures_in_a_row AS \"failures_in_a_row?\", \
         s.successes_in_a_row AS \"successes_in_a_row?\", \
         s.degraded_in_a_row AS \"degraded_in_a_row?\", s.last_ok_at AS \"last_ok_at?\", \
         s.last_check_at AS \"last_check_at?\" \
         FROM monitors m LEFT JOIN monitor_state s ON s.monitor_id = m.id WHERE NOT m.retired",
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let stored = r.status.zip(r.since).map(|(status, since)| StoredState {
                state: MonitorState {
                    status: MonitorStatus::parse(&status),
                    since,
                    failures_in_a_row: r.failures_in_a_row.unwrap_or(0) as u32,
                    successes_in_a_row: r.successes_in_a_row.unwrap_or(0) as u32,
                    degraded_in_a_row: r.degraded_in_a_row.unwrap_or(0) as u32,
                },
                last_ok_at: r.last_ok_at,
                last_check_at: r.last_check_at,
            });
            (r.id, r.paused, stored)
        })
        .collect())
}

pub struct StoredState {
    pub state: MonitorState,
    pub last_ok_at: Option<DateTime<Utc>>,
    /// When it was last checked, by whichever replica: a replica taking the probes over keeps
    /// to the same rhythm instead of starting a fresh one.
    pub last_check_at: Option<DateTime<Utc>>,
}

/// Sets the paused flag; returns the monitor id, or None when no live monitor has that name.
pub async fn set_paused(
    pool: &PgPool,
    name: &str,
    paused: bool,
) -> Result<Option<i64>, StoreError> {
    let id = sqlx::query_scalar!(
        "UPDATE monitors SET paused = $2, updated_at = now() WHERE name = $1 AND NOT retired RETURNING id",
        name,
        paused,
    )
    .fetch_optional(pool)
    .await?;
    if id.is_some() {
        super::events::wake_replicas(pool, "pause").await?;
    }
    Ok(id)
}
