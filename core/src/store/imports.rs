//! Incident history brought over from another status page, kept as it happened: its times, its
//! updates, the components it affected. Written once per source incident (`imported_from`), and
//! never announced: nobody is paged or mailed about an outage that ended last year.

use chrono::{DateTime, Utc};

use crate::model::event::{EventData, IncidentsImported};

use super::{PgPool, StoreError};

/// One incident as the other page recorded it.
#[derive(Clone, Debug, PartialEq)]
pub struct HistoricalIncident {
    /// Where it came from, unique: `statuspage:PAGE/INCIDENT`.
    pub source: String,
    pub name: String,
    /// investigating, identified, monitoring or resolved.
    pub status: String,
    /// none, minor, major or critical.
    pub impact: String,
    pub started_at: DateTime<Utc>,
    pub monitoring_at: Option<DateTime<Utc>>,
    pub resolved_at: Option<DateTime<Utc>>,
    /// (component id, its status during the incident).
    pub components: Vec<(String, String)>,
    /// (status, body, when), oldest first.
    pub updates: Vec<(String, String, DateTime<Utc>)>,
}

/// Writes the incidents not imported before; returns how many were new.
pub async fn import_incidents(
    pool: &PgPool,
    incidents: &[HistoricalIncident],
    by: &str,
) -> Result<u32, StoreError> {
    let mut tx = pool.begin().await?;
    let mut added = 0u32;
    for i in incidents {
        let Some(id) = sqlx::query_scalar!(
            "INSERT INTO incidents (kind, name, status, impact, started_at, monitoring_at, resolved_at, \
             created_by, created_at, updated_at, imported_from) \
             VALUES ('incident', $1, $2, $3, $4::timestamptz, $5, $6::timestamptz, $7, $4, COALESCE($6, $4), $8) \
             ON CONFLICT (imported_from) WHERE imported_from IS NOT NULL DO NOTHING RETURNING id",
            i.name,
            i.status,
            i.impact,
            i.started_at,
            i.monitoring_at,
            i.resolved_at,
            by,
            i.source,
        )
        .fetch_optional(&mut *tx)
        .await?
        else {
            continue;
        };
        added += 1;
        for (component, status) in &i.components {
            sqlx::query!(
                "INSERT INTO incident_components (incident_id, component_id, status) VALUES ($1, $2, $3) \
                 ON CONFLICT DO NOTHING",
                id,
                component,
                status
            )
            .execute(&mut *tx)
            .await?;
        }
        for (status, body, at) in &i.updates {
            sqlx::query!(
                "INSERT INTO incident_updates (incident_id, status, body, author, created_at) \
                 VALUES ($1, $2, $3, $4, $5)",
                id,
                status,
                body,
                by,
                at
            )
            .execute(&mut *tx)
            .await?;
        }
    }
    if added > 0 {
        // Pages showing the history render it anew on every replica.
        super::events::append_in(
            &mut tx,
            "incidents",
            &EventData::IncidentsImported(IncidentsImported {
                count: added,
                by: by.to_string(),
            }),
        )
        .await?;
    }
    tx.commit().await?;
    Ok(added)
}
