//! Follow-up tasks: created (from the API, the list page or a post-mortem's checklist), changed,
//! listed across incidents; every change audited.

use chrono::{NaiveDate, Utc};

use super::{audit, incident_commands::CommandError, PgPool, StoreError};
use crate::model::follow_up::{
    checklist, link, new_due, title, FieldError, FollowUp, FollowUpFilter, FollowUpStatus,
    GithubIssue,
};

impl From<FieldError> for CommandError {
    fn from(e: FieldError) -> Self {
        CommandError::Invalid {
            field: e.field,
            message: e.message,
        }
    }
}

/// What a new item or a change says; `None` leaves a field as it is (on a change).
#[derive(Clone, Debug, Default)]
pub struct Fields<'a> {
    pub title: Option<&'a str>,
    /// `Some(None)` clears the owner.
    pub owner: Option<Option<&'a str>>,
    pub due_on: Option<Option<NaiveDate>>,
    pub status: Option<FollowUpStatus>,
    pub link: Option<Option<&'a str>>,
    /// On a new item: open a GitHub issue for it (`[github]`); `None` leaves it to
    /// `open_by_default`.
    pub github: Option<bool>,
}

async fn owner_id(pool: &PgPool, owner: Option<&str>) -> Result<Option<i64>, CommandError> {
    let Some(name) = owner.map(str::trim).filter(|n| !n.is_empty()) else {
        return Ok(None);
    };
    let id = sqlx::query_scalar!(
        "SELECT id FROM users WHERE username = $1 AND NOT disabled",
        name
    )
    .fetch_optional(pool)
    .await
    .map_err(StoreError::from)?;
    id.map(Some).ok_or_else(|| CommandError::Invalid {
        field: "owner",
        message: format!("no Vigil user `{name}`; /ops/users lists them"),
    })
}

/// Adds an item to the post-mortem of `incident_id`.
pub async fn create(
    pool: &PgPool,
    incident_id: i64,
    f: &Fields<'_>,
    actor: &str,
) -> Result<i64, CommandError> {
    let postmortem = super::postmortems::id_for_incident(pool, incident_id)
        .await?
        .ok_or(CommandError::NoPostmortem(incident_id))?;
    let title = title(f.title.unwrap_or_default())?;
    let owner = owner_id(pool, f.owner.flatten()).await?;
    let due = new_due(f.due_on.flatten(), Utc::now().date_naive())?;
    let link = link(f.link.flatten())?;
    let status = f.status.unwrap_or(FollowUpStatus::Open);
    let id = sqlx::query_scalar!(
        "INSERT INTO follow_ups (postmortem_id, title, owner_id, due_on, status, link, created_by, \
         github_wanted) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (postmortem_id, title) DO NOTHING \
         RETURNING id",
        postmortem,
        &title,
        owner,
        due,
        status.as_str(),
        link,
        actor,
        f.github
    )
    .fetch_optional(pool)
    .await
    .map_err(StoreError::from)?
    .ok_or_else(|| CommandError::Invalid {
        field: "title",
        message: format!("this post-mortem already has a follow-up `{title}`"),
    })?;
    audit::record(
        pool,
        actor,
        "follow_up.create",
        &format!("follow-up:{id}"),
        serde_json::json!({ "incident": incident_id, "title": title }),
    )
    .await?;
    Ok(id)
}

/// Changes an item; `NotFound` when there is none.
pub async fn update(
    pool: &PgPool,
    id: i64,
    f: &Fields<'_>,
    actor: &str,
) -> Result<(), CommandError> {
    let title = f.title.map(title).transpose()?;
    let owner = match f.owner {
        Some(o) => Some(owner_id(pool, o).await?),
        None => None,
    };
    let link = f.link.map(link).transpose()?;
    // A date in the past is allowed on a change: moving an overdue item is how it is handled.
    let changed = sqlx::query!(
        "UPDATE follow_ups SET title = coalesce($2, title), \
         owner_id = CASE WHEN $3 THEN $4 ELSE owner_id END, \
         due_on = CASE WHEN $5 THEN $6 ELSE due_on END, \
         status = coalesce($7, status), \
         link = CASE WHEN $8 THEN $9 ELSE link END, updated_at = now() WHERE id = $1",
        id,
        title,
        owner.is_some(),
        owner.flatten(),
        f.due_on.is_some(),
        f.due_on.flatten(),
        f.status.map(FollowUpStatus::as_str),
        link.is_some(),
        link.flatten()
    )
    .execute(pool)
    .await
    .map_err(|e| match &e {
        sqlx::Error::Database(d) if d.is_unique_violation() => CommandError::Invalid {
            field: "title",
            message: "this post-mortem already has a follow-up with that title".into(),
        },
        _ => CommandError::Store(e.into()),
    })?
    .rows_affected();
    if changed == 0 {
        return Err(CommandError::Invalid {
            field: "id",
            message: format!("no follow-up {id}; GET /api/v1/follow-ups lists them"),
        });
    }
    audit::record(
        pool,
        actor,
        "follow_up.update",
        &format!("follow-up:{id}"),
        serde_json::json!({
            "status": f.status.map(FollowUpStatus::as_str),
            "title": f.title, "owner": f.owner, "due_on": f.due_on, "link": f.link,
        }),
    )
    .await?;
    Ok(())
}

/// Makes an item of each entry of the post-mortem's "Follow-up tasks" checklist that is not one
/// yet (checked entries as done), so the document and the list agree. Returns how many were
/// added.
pub async fn sync_checklist(
    pool: &PgPool,
    postmortem_id: i64,
    body: &str,
    actor: &str,
) -> Result<u64, StoreError> {
    let items = checklist(body);
    if items.is_empty() {
        return Ok(0);
    }
    let titles: Vec<String> = items.iter().map(|(t, _)| t.clone()).collect();
    let statuses: Vec<String> = items
        .iter()
        .map(|(_, done)| {
            if *done {
                FollowUpStatus::Done
            } else {
                FollowUpStatus::Open
            }
            .as_str()
            .to_string()
        })
        .collect();
    Ok(sqlx::query!(
        "INSERT INTO follow_ups (postmortem_id, title, status, created_by) \
         SELECT $1, t, s, $4 FROM unnest($2::text[], $3::text[]) AS i(t, s) \
         ON CONFLICT (postmortem_id, title) DO NOTHING",
        postmortem_id,
        &titles,
        &statuses,
        actor
    )
    .execute(pool)
    .await?
    .rows_affected())
}

/// Follow-ups across incidents: open ones first, soonest due first, then newest.
pub async fn list(pool: &PgPool, filter: &FollowUpFilter) -> Result<Vec<FollowUp>, StoreError> {
    let today = Utc::now().date_naive();
    let rows = sqlx::query!(
        r#"SELECT f.id, p.incident_id, p.title AS postmortem, f.title, u.username AS "owner?",
           f.due_on, f.status, f.link, f.created_by, f.created_at, f.updated_at,
           f.github_wanted, f.github_number, f.github_url, f.github_state, f.github_error,
           f.github_checked_at
           FROM follow_ups f JOIN postmortems p ON p.id = f.postmortem_id
           LEFT JOIN users u ON u.id = f.owner_id
           WHERE ($1::text IS NULL OR u.username = $1)
             AND ($2::text IS NULL OR f.status = $2)
             AND (NOT $3 OR (f.status = 'open' AND f.due_on < $4))
           ORDER BY f.status <> 'open', f.due_on NULLS LAST, f.id DESC
           LIMIT 1000"#,
        filter.owner.as_deref(),
        filter.status.map(FollowUpStatus::as_str),
        filter.overdue,
        today
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let status = FollowUpStatus::parse(&r.status).unwrap_or(FollowUpStatus::Open);
            let tracked = r.github_wanted == Some(true)
                || r.github_number.is_some()
                || r.github_error.is_some();
            FollowUp {
                github: tracked.then_some(GithubIssue {
                    number: r.github_number,
                    url: r.github_url,
                    state: r.github_state,
                    error: r.github_error,
                    checked_at: r.github_checked_at,
                }),
                overdue: status == FollowUpStatus::Open && r.due_on.is_some_and(|d| d < today),
                id: r.id,
                incident_id: r.incident_id,
                postmortem: r.postmortem,
                title: r.title,
                owner: r.owner,
                due_on: r.due_on,
                status,
                link: r.link,
                created_by: r.created_by,
                created_at: r.created_at,
                updated_at: r.updated_at,
            }
        })
        .collect())
}

/// Announces every open follow-up past its due date that has not been announced on `today`: one
/// `followup.overdue` event each (so the ops channels hear through the outbox), once a day until
/// it is done, decided against or moved. `today` is the caller's clock. Returns how many.
pub async fn remind_overdue(pool: &PgPool, today: NaiveDate) -> Result<usize, StoreError> {
    use crate::model::event::{EventData, FollowUpOverdue};
    let mut tx = pool.begin().await?;
    // Claimed and announced in one transaction: two replicas never announce one item twice.
    let due = sqlx::query!(
        "UPDATE follow_ups f SET reminded_on = $1 FROM postmortems p \
         WHERE p.id = f.postmortem_id AND f.status = 'open' AND f.due_on < $1 \
           AND (f.reminded_on IS NULL OR f.reminded_on < $1) \
         RETURNING f.id, p.incident_id, f.title, f.due_on AS \"due_on!\", \
           (SELECT username FROM users WHERE id = f.owner_id) AS owner",
        today
    )
    .fetch_all(&mut *tx)
    .await?;
    for r in &due {
        let data = EventData::FollowUpOverdue(FollowUpOverdue {
            id: r.id,
            incident_id: r.incident_id,
            title: r.title.clone(),
            owner: r.owner.clone(),
            due_on: r.due_on,
            days_overdue: (today - r.due_on).num_days(),
        });
        super::events::append_in(&mut tx, &format!("follow-up:{}", r.id), &data).await?;
    }
    tx.commit().await?;
    Ok(due.len())
}
