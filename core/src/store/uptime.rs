//! Monthly uptime from the hourly rollups, maintenance hours left out.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};

use super::{PgPool, StoreError};
use crate::model::uptime::{last_months, ComponentUptime, MonthUptime};

/// Every live component's uptime for the `months` months ending now.
pub async fn monthly(pool: &PgPool, months: u32) -> Result<Vec<ComponentUptime>, StoreError> {
    let firsts = last_months(Utc::now().date_naive(), months.max(1));
    let from: DateTime<Utc> = firsts[0].and_hms_opt(0, 0, 0).expect("midnight").and_utc();
    // An hour counts unless a maintenance of the component (one that started) overlaps it.
    let rows = sqlx::query!(
        "SELECT m.component_id, date_trunc('month', r.bucket) AS \"month!\", \
           sum(r.checks) FILTER (WHERE NOT w.in_maintenance)::int8 AS \"checks!\", \
           sum(r.failures) FILTER (WHERE NOT w.in_maintenance)::int8 AS \"failures!\", \
           count(DISTINCT r.bucket) FILTER (WHERE w.in_maintenance) AS \"maintenance_hours!\" \
         FROM check_rollups r JOIN monitors m ON m.id = r.monitor_id \
         CROSS JOIN LATERAL (SELECT EXISTS ( \
           SELECT 1 FROM incidents i JOIN incident_components ic ON ic.incident_id = i.id \
           WHERE i.kind = 'maintenance' AND ic.component_id = m.component_id \
             AND i.status IN ('in_progress', 'verifying', 'completed') \
             AND i.started_at < r.bucket + interval '1 hour' \
             AND COALESCE(i.resolved_at, now()) > r.bucket) AS in_maintenance) w \
         WHERE r.resolution = 'h' AND r.bucket >= $1 AND NOT m.retired \
         GROUP BY 1, 2",
        from
    )
    .fetch_all(pool)
    .await?;
    let incidents = sqlx::query!(
        "SELECT ic.component_id, i.id, i.name, date_trunc('month', i.started_at) AS \"month!\" \
         FROM incidents i JOIN incident_components ic ON ic.incident_id = i.id \
         WHERE i.kind = 'incident' AND i.started_at >= $1 ORDER BY i.started_at",
        from
    )
    .fetch_all(pool)
    .await?;
    let components =
        sqlx::query!("SELECT id, name FROM components WHERE NOT retired ORDER BY position")
            .fetch_all(pool)
            .await?;
    let key = |c: &str, m: DateTime<Utc>| (c.to_string(), m.date_naive());
    let mut checks: HashMap<(String, NaiveDate), (i64, i64, i64)> = HashMap::new();
    for r in rows {
        checks.insert(
            key(&r.component_id, r.month),
            (r.checks, r.failures, r.maintenance_hours),
        );
    }
    let mut by_month: HashMap<(String, NaiveDate), Vec<(i64, String)>> = HashMap::new();
    for i in incidents {
        by_month
            .entry(key(&i.component_id, i.month))
            .or_default()
            .push((i.id, i.name));
    }
    Ok(components
        .into_iter()
        .map(|c| ComponentUptime {
            months: firsts
                .iter()
                .map(|first| {
                    let k = (c.id.clone(), *first);
                    let (n, failed, maintenance_hours) =
                        checks.get(&k).copied().unwrap_or((0, 0, 0));
                    MonthUptime {
                        month: *first,
                        uptime: (n > 0).then(|| (n - failed) as f64 / n as f64),
                        maintenance_hours,
                        incidents: by_month.remove(&k).unwrap_or_default(),
                    }
                })
                .collect(),
            id: c.id,
            name: c.name,
        })
        .collect())
}
