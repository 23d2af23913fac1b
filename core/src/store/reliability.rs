//! The record behind the reliability figures: each incident's moments (opened, first failing
//! signal, first human update, resolved), its components, its post-mortem's follow-ups and tags.
//! The arithmetic is `model::reliability`'s.

use chrono::{DateTime, NaiveDate, Utc};

use super::{PgPool, StoreError};
use crate::model::incident::{component_status_for, Impact};
use crate::model::reliability::{
    by_component_month, figures, FollowUpCompletion, IncidentTimes, PostmortemEntry, Reliability,
};

/// A failing signal counts for an incident when it came at most this long before the opening.
pub const SIGNAL_LOOKBACK_SECS: f64 = crate::model::incident::SIGNAL_LOOKBACK.num_seconds() as f64;
/// Updates written by Vigil itself (the incident engine); every other author is a person.
pub const ENGINE_AUTHOR: &str = "Vigil";

fn midnight(d: NaiveDate) -> DateTime<Utc> {
    d.and_hms_opt(0, 0, 0).expect("midnight").and_utc()
}

/// Incidents opened in `[from, to)` (touching `component`, when given), with their moments.
pub async fn incident_times(
    pool: &PgPool,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    component: Option<&str>,
) -> Result<Vec<IncidentTimes>, StoreError> {
    let rows = sqlx::query!(
        r#"SELECT i.id, i.created_at AS opened_at, i.resolved_at, i.monitoring_at, i.impact,
             (SELECT min(u.created_at) FROM incident_updates u
              WHERE u.incident_id = i.id AND u.author <> $4) AS acknowledged_at,
             LEAST(
               (SELECT min(e.at) FROM incident_evidence ie JOIN events e ON e.id = ie.event_id
                WHERE ie.incident_id = i.id AND e.at >= i.created_at - make_interval(secs => $5)),
               (SELECT min(e.at) FROM events e
                WHERE e.kind = 'monitor.state' AND e.payload->>'to' IN ('down', 'degraded')
                  AND e.payload->>'component' IN
                    (SELECT component_id FROM incident_components WHERE incident_id = i.id)
                  AND e.at <= i.created_at
                  AND e.at >= i.created_at - make_interval(secs => $5))
             ) AS first_signal
           FROM incidents i
           WHERE i.kind = 'incident' AND i.created_at >= $1 AND i.created_at < $2
             AND ($3::text IS NULL OR EXISTS (SELECT 1 FROM incident_components ic
                  WHERE ic.incident_id = i.id AND ic.component_id = $3))
           ORDER BY i.created_at"#,
        from,
        to,
        component,
        ENGINE_AUTHOR,
        SIGNAL_LOOKBACK_SECS
    )
    .fetch_all(pool)
    .await?;
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let comps = sqlx::query!(
        "SELECT ic.incident_id, ic.component_id, c.name \
         FROM incident_components ic JOIN components c ON c.id = ic.component_id \
         WHERE ic.incident_id = ANY($1) ORDER BY c.position",
        &ids
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| IncidentTimes {
            id: r.id,
            opened_at: r.opened_at,
            first_signal: r.first_signal,
            acknowledged_at: r.acknowledged_at,
            resolved_at: r.resolved_at,
            facing_until: r.monitoring_at.or(r.resolved_at),
            // What the page showed while it was open: the state its impact gives (a component
            // row holds only its latest state, operational once the fix is in).
            components: comps
                .iter()
                .filter(|c| c.incident_id == r.id)
                .map(|c| {
                    let state =
                        component_status_for(Impact::parse(&r.impact).unwrap_or(Impact::Major));
                    (c.component_id.clone(), c.name.clone(), state.to_string())
                })
                .collect(),
        })
        .collect())
}

/// Follow-ups of the post-mortems of incidents opened in the period.
async fn follow_ups(
    pool: &PgPool,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    component: Option<&str>,
) -> Result<FollowUpCompletion, StoreError> {
    let r = sqlx::query!(
        r#"SELECT count(*) AS "total!",
             count(*) FILTER (WHERE f.status = 'done') AS "done!",
             count(*) FILTER (WHERE f.status = 'wont_do') AS "wont_do!",
             count(*) FILTER (WHERE f.status = 'open') AS "open!",
             count(*) FILTER (WHERE f.status = 'open' AND f.due_on < current_date) AS "overdue!"
           FROM follow_ups f JOIN postmortems p ON p.id = f.postmortem_id
           JOIN incidents i ON i.id = p.incident_id
           WHERE i.created_at >= $1 AND i.created_at < $2
             AND ($3::text IS NULL OR EXISTS (SELECT 1 FROM incident_components ic
                  WHERE ic.incident_id = i.id AND ic.component_id = $3))"#,
        from,
        to,
        component
    )
    .fetch_one(pool)
    .await?;
    Ok(FollowUpCompletion {
        total: r.total,
        done: r.done,
        wont_do: r.wont_do,
        open: r.open,
        overdue: r.overdue,
        completion_rate: (r.total > 0).then(|| (r.done + r.wont_do) as f64 / r.total as f64),
    })
}

/// Post-mortems of incidents opened in the period, newest first, by component and tag.
async fn postmortems(
    pool: &PgPool,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    component: Option<&str>,
    tag: Option<&str>,
) -> Result<Vec<PostmortemEntry>, StoreError> {
    Ok(sqlx::query_as!(
        PostmortemEntry,
        r#"SELECT p.id, p.incident_id, p.title, p.published_at, p.tags,
             ARRAY(SELECT component_id FROM incident_components
                   WHERE incident_id = p.incident_id ORDER BY component_id) AS "components!"
           FROM postmortems p JOIN incidents i ON i.id = p.incident_id
           WHERE i.created_at >= $1 AND i.created_at < $2
             AND ($3::text IS NULL OR EXISTS (SELECT 1 FROM incident_components ic
                  WHERE ic.incident_id = i.id AND ic.component_id = $3))
             AND ($4::text IS NULL OR $4 = ANY (p.tags))
           ORDER BY i.created_at DESC"#,
        from,
        to,
        component,
        tag
    )
    .fetch_all(pool)
    .await?)
}

/// Every figure for `[from, to)`, optionally one component's, post-mortems optionally by tag.
pub async fn report(
    pool: &PgPool,
    from: NaiveDate,
    to: NaiveDate,
    component: Option<&str>,
    tag: Option<&str>,
) -> Result<Reliability, StoreError> {
    let (start, end, now) = (midnight(from), midnight(to), Utc::now());
    let times = incident_times(pool, start, end, component).await?;
    let all: Vec<&IncidentTimes> = times.iter().collect();
    Ok(Reliability {
        from,
        to,
        component: component.map(str::to_string),
        tag: tag.map(str::to_string),
        overall: figures(&all, start, end, component, now),
        months: by_component_month(&times, start, end, component, now),
        follow_ups: follow_ups(pool, start, end, component).await?,
        postmortems: postmortems(pool, start, end, component, tag).await?,
    })
}

/// Sets a post-mortem's contributing factors (checked against the fixed set by the caller).
pub async fn set_tags(
    pool: &PgPool,
    postmortem_id: i64,
    tags: &[String],
    actor: &str,
) -> Result<(), StoreError> {
    sqlx::query!(
        "UPDATE postmortems SET tags = $2 WHERE id = $1",
        postmortem_id,
        tags
    )
    .execute(pool)
    .await?;
    super::audit::record(
        pool,
        actor,
        "postmortem.tags",
        &format!("postmortem:{postmortem_id}"),
        serde_json::json!({ "tags": tags }),
    )
    .await
}
