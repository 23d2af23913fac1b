//! Post-mortems, their numbered revisions and their graph snapshots.
//!
//! No edit is ever lost: every save becomes a revision, and a save based on anything but the
//! current revision is kept as a `conflict` revision for its author to merge instead of
//! overwriting whoever saved first.

use chrono::{DateTime, Utc};

use crate::{
    model::{
        event::EventData,
        postmortem::{
            DiffLine, PostmortemSummary, PostmortemView, RevisionKind, RevisionSummary,
            RevisionView, SaveOutcome, Snapshot,
        },
        stack::Stack,
    },
    render,
};

use super::{PgPool, StoreError};

pub struct NewPostmortem<'a> {
    pub incident_id: i64,
    pub title: &'a str,
    pub body: &'a str,
    pub author: &'a str,
}

/// Creates the incident's post-mortem with its first revision, or finds the one it has.
/// Returns (id, created).
pub async fn create(pool: &PgPool, new: NewPostmortem<'_>) -> Result<(i64, bool), StoreError> {
    let mut tx = pool.begin().await?;
    let id: Option<i64> = sqlx::query_scalar!(
        "INSERT INTO postmortems (incident_id, title, body, revision, created_by, updated_by) \
         VALUES ($1, $2, $3, 1, $4, $4) ON CONFLICT (incident_id) DO NOTHING RETURNING id",
        new.incident_id,
        new.title,
        new.body,
        new.author
    )
    .fetch_optional(&mut *tx)
    .await?;
    let Some(id) = id else {
        tx.rollback().await?;
        let existing = id_for_incident(pool, new.incident_id).await?;
        return Ok((existing.unwrap_or_default(), false));
    };
    sqlx::query!(
        "INSERT INTO postmortem_revisions (postmortem_id, number, kind, title, body, author) \
         VALUES ($1, 1, 'drafted', $2, $3, $4)",
        id,
        new.title,
        new.body,
        new.author
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok((id, true))
}

pub async fn id_for_incident(pool: &PgPool, incident_id: i64) -> Result<Option<i64>, StoreError> {
    Ok(sqlx::query_scalar!(
        "SELECT id FROM postmortems WHERE incident_id = $1",
        incident_id
    )
    .fetch_optional(pool)
    .await?)
}

/// The incident a post-mortem belongs to; `None` when there is no such post-mortem.
pub async fn id_for_incident_of(pool: &PgPool, id: i64) -> Result<Option<i64>, StoreError> {
    Ok(
        sqlx::query_scalar!("SELECT incident_id FROM postmortems WHERE id = $1", id)
            .fetch_optional(pool)
            .await?,
    )
}

/// Saves `title` (the current one when `None`) and `body` as a new revision, if `base` is still
/// the current one; otherwise keeps them as a conflict revision. Saving what is already current
/// changes nothing. `None` when there is no such post-mortem.
pub async fn save(
    pool: &PgPool,
    id: i64,
    base: i32,
    title: Option<&str>,
    body: &str,
    author: &str,
    kind: RevisionKind,
) -> Result<Option<SaveOutcome>, StoreError> {
    let mut tx = pool.begin().await?;
    let current = sqlx::query!(
        "SELECT revision, title, body FROM postmortems WHERE id = $1 FOR UPDATE",
        id
    )
    .fetch_optional(&mut *tx)
    .await?;
    let Some(current) = current else {
        return Ok(None);
    };
    let (current, cur_title, cur_body) = (current.revision, current.title, current.body);
    let title: &str = title.unwrap_or(&cur_title);
    if base == current && cur_title == title && cur_body == body {
        return Ok(Some(SaveOutcome::Saved { revision: current }));
    }
    let number: i32 = sqlx::query_scalar!(
        "SELECT COALESCE(max(number), 0) + 1 AS \"next!\" FROM postmortem_revisions WHERE postmortem_id = $1",
        id
    )
    .fetch_one(&mut *tx)
    .await?;
    let kind = if base == current {
        kind
    } else {
        RevisionKind::Conflict
    };
    sqlx::query!(
        "INSERT INTO postmortem_revisions (postmortem_id, number, kind, based_on, title, body, author) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
        id,
        number,
        kind.as_str(),
        base,
        title,
        body,
        author
    )
    .execute(&mut *tx)
    .await?;
    let outcome = if kind == RevisionKind::Conflict {
        SaveOutcome::Conflict {
            current,
            kept_as: number,
        }
    } else {
        sqlx::query!(
            "UPDATE postmortems SET title = $2, body = $3, revision = $4, updated_by = $5, \
             updated_at = now() WHERE id = $1",
            id,
            title,
            body,
            number,
            author
        )
        .execute(&mut *tx)
        .await?;
        SaveOutcome::Saved { revision: number }
    };
    tx.commit().await?;
    Ok(Some(outcome))
}

/// What publishing did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Published {
    Done,
    /// Publishing needs more approvals of the current revision than the `approvals` it has.
    Waiting {
        approvals: i64,
    },
    NoPostmortem,
}

/// Publishes (or takes back to draft). Publishing needs `approvals_needed` approvals of the
/// current revision, counted under the row lock a save takes, so what is published is what was
/// approved. Publishing is an event like any other change people see: live pages refresh, and
/// channels that want `postmortem.*` are told.
pub async fn set_published(
    pool: &PgPool,
    id: i64,
    published: bool,
    approvals_needed: u32,
) -> Result<Published, StoreError> {
    let mut tx = pool.begin().await?;
    let row = sqlx::query!(
        "SELECT incident_id, title, published_at FROM postmortems WHERE id = $1 FOR UPDATE",
        id
    )
    .fetch_optional(&mut *tx)
    .await?;
    let Some(row) = row else {
        return Ok(Published::NoPostmortem);
    };
    let (incident, title, was) = (row.incident_id, row.title, row.published_at);
    if was.is_some() == published {
        return Ok(Published::Done);
    }
    if published && approvals_needed > 0 {
        let approvals = super::reviews::approvals_of_current(&mut tx, id).await?;
        if approvals < i64::from(approvals_needed) {
            return Ok(Published::Waiting { approvals });
        }
    }
    sqlx::query!(
        "UPDATE postmortems SET published_at = CASE WHEN $2 THEN now() END, \
         published_revision = CASE WHEN $2 THEN revision END, updated_at = now() WHERE id = $1",
        id,
        published
    )
    .execute(&mut *tx)
    .await?;
    let news = crate::model::event::PostmortemNews {
        id,
        incident_id: incident,
        name: title,
    };
    let data = if published {
        EventData::PostmortemPublished(news)
    } else {
        EventData::PostmortemUnpublished(news)
    };
    super::events::append_in(&mut tx, &format!("postmortem:{id}"), &data).await?;
    tx.commit().await?;
    Ok(Published::Done)
}

/// Makes the current revision of a published post-mortem the one the public reads, once it has
/// `approvals_needed` approvals by people who did not write it (at once when none are needed).
/// Returns whether it moved; the move is an event, so public pages and channels hear of it.
pub async fn advance_published(
    pool: &PgPool,
    id: i64,
    approvals_needed: u32,
) -> Result<bool, StoreError> {
    let mut tx = pool.begin().await?;
    let moved = sqlx::query!(
        "UPDATE postmortems p SET published_revision = p.revision \
         WHERE p.id = $1 AND p.published_at IS NOT NULL \
           AND p.published_revision IS DISTINCT FROM p.revision \
           AND (SELECT count(*) FROM postmortem_approvals a \
                JOIN postmortem_revisions r ON r.postmortem_id = a.postmortem_id AND r.number = a.revision \
                WHERE a.postmortem_id = p.id AND a.revision = p.revision AND a.reviewer <> r.author) >= $2 \
         RETURNING p.incident_id, p.title, p.revision, p.updated_by",
        id,
        i64::from(approvals_needed)
    )
    .fetch_optional(&mut *tx)
    .await?;
    let Some(m) = moved else {
        return Ok(false);
    };
    let news = EventData::PostmortemReview(crate::model::event::ReviewNews {
        id,
        incident_id: m.incident_id,
        name: m.title,
        action: "revision_public".into(),
        who: m.updated_by,
        reviewers: Vec::new(),
        revision: m.revision,
    });
    super::events::append_in(&mut tx, &format!("postmortem:{id}"), &news).await?;
    tx.commit().await?;
    Ok(true)
}

pub struct NewSnapshot<'a> {
    pub postmortem_id: i64,
    pub caption: &'a str,
    pub stack: &'a Stack,
    pub author: &'a str,
}

pub async fn add_snapshot(pool: &PgPool, s: NewSnapshot<'_>) -> Result<i64, StoreError> {
    let stack = serde_json::to_value(s.stack).unwrap_or_default();
    Ok(sqlx::query_scalar!(
        "INSERT INTO postmortem_snapshots (postmortem_id, caption, window_from, window_to, stack, created_by) \
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        s.postmortem_id,
        s.caption,
        s.stack.from,
        s.stack.to,
        stack,
        s.author
    )
    .fetch_one(pool)
    .await?)
}

pub async fn delete_snapshot(pool: &PgPool, id: i64, snapshot: i64) -> Result<bool, StoreError> {
    let done = sqlx::query!(
        "DELETE FROM postmortem_snapshots WHERE postmortem_id = $1 AND id = $2",
        id,
        snapshot
    )
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

struct Row {
    id: i64,
    incident_id: i64,
    incident_name: String,
    title: String,
    body: String,
    revision: i32,
    published_at: Option<DateTime<Utc>>,
    updated_by: String,
    updated_at: DateTime<Utc>,
    tags: Vec<String>,
}

/// One post-mortem with its rendered body, authors and snapshots; `published_only` for public
/// readers.
pub async fn get(
    pool: &PgPool,
    id: i64,
    published_only: bool,
) -> Result<Option<PostmortemView>, StoreError> {
    let row = sqlx::query_as!(
        Row,
        "SELECT p.id, p.incident_id, i.name AS incident_name, p.title, p.body, p.revision, \
           p.published_at, p.updated_by, p.updated_at, p.tags \
         FROM postmortems p JOIN incidents i ON i.id = p.incident_id \
         WHERE p.id = $1 AND (p.published_at IS NOT NULL OR NOT $2)",
        id,
        published_only
    )
    .fetch_optional(pool)
    .await?;
    let Some(mut r) = row else { return Ok(None) };
    if published_only {
        // The public reads the revision that was approved for it, whatever was saved since.
        let shown = sqlx::query!(
            "SELECT v.number, v.title, v.body FROM postmortems p JOIN postmortem_revisions v \
             ON v.postmortem_id = p.id AND v.number = p.published_revision WHERE p.id = $1",
            id
        )
        .fetch_optional(pool)
        .await?;
        if let Some(v) = shown {
            (r.revision, r.title, r.body) = (v.number, v.title, v.body);
        }
    }
    let authors: Vec<String> = sqlx::query_scalar!(
        "SELECT author FROM postmortem_revisions WHERE postmortem_id = $1 AND kind <> 'conflict' \
         GROUP BY author ORDER BY min(number)",
        id
    )
    .fetch_all(pool)
    .await?;
    // Public readers get only the snapshots their authors made public.
    #[derive(sqlx::FromRow)]
    struct SnapshotRow {
        id: i64,
        caption: String,
        stack: serde_json::Value,
        created_by: String,
        created_at: DateTime<Utc>,
        public: bool,
        keep_addresses: bool,
    }
    let snaps: Vec<SnapshotRow> = sqlx::query_as!(
        SnapshotRow,
        "SELECT id, caption, stack, created_by, created_at, public, keep_addresses \
             FROM postmortem_snapshots WHERE postmortem_id = $1 AND (public OR NOT $2) ORDER BY id",
        id,
        published_only
    )
    .fetch_all(pool)
    .await?;
    let mut view = PostmortemView {
        html: render::markdown_to_html(&shown_body(pool, id, &r.body).await?),
        id: r.id,
        incident_id: r.incident_id,
        incident_name: r.incident_name,
        title: r.title,
        body: r.body,
        revision: r.revision,
        published_at: r.published_at,
        authors,
        updated_by: r.updated_by,
        updated_at: r.updated_at,
        tags: r.tags,
        snapshots: snaps
            .into_iter()
            .filter_map(
                |SnapshotRow {
                     id,
                     caption,
                     stack,
                     created_by,
                     created_at,
                     public,
                     keep_addresses,
                 }| {
                    Some(Snapshot {
                        id,
                        caption,
                        stack: serde_json::from_value(stack).ok()?,
                        created_by,
                        created_at,
                        public,
                        keep_addresses,
                    })
                },
            )
            .collect(),
    };
    if published_only {
        // People by display name (or "Vigil"), never by login; addresses out of the graphs
        // unless the snapshot's author kept them.
        let mut names = view.authors.clone();
        names.push(view.updated_by.clone());
        names.extend(view.snapshots.iter().map(|s| s.created_by.clone()));
        let shown = super::users::public_names(pool, &names).await?;
        let public = |a: &String| shown.get(a).cloned().unwrap_or_else(|| a.clone());
        let mut authors: Vec<String> = Vec::new();
        for a in view.authors.iter().map(public) {
            if !authors.contains(&a) {
                authors.push(a);
            }
        }
        view.authors = authors;
        view.updated_by = public(&view.updated_by);
        for s in &mut view.snapshots {
            s.created_by = public(&s.created_by);
            if !s.keep_addresses {
                s.stack = render::public_stack(&s.stack);
            }
        }
    }
    Ok(Some(view))
}

/// The text as readers get it: the follow-up section as the items say (done, won't do, added
/// since), so the document and the list never disagree.
pub async fn shown_body(pool: &PgPool, id: i64, body: &str) -> Result<String, StoreError> {
    let items: Vec<(String, crate::model::follow_up::FollowUpStatus)> = sqlx::query!(
        "SELECT title, status FROM follow_ups WHERE postmortem_id = $1 ORDER BY id",
        id
    )
    .fetch_all(pool)
    .await?
    .into_iter()
    .filter_map(|r| crate::model::follow_up::FollowUpStatus::parse(&r.status).map(|s| (r.title, s)))
    .collect();
    Ok(crate::model::follow_up::with_items(body, &items))
}

/// Shows a snapshot on the public post-mortem or keeps it private; false when there is no such
/// snapshot.
pub async fn set_snapshot_visibility(
    pool: &PgPool,
    id: i64,
    snapshot: i64,
    public: bool,
    keep_addresses: bool,
) -> Result<bool, StoreError> {
    let done = sqlx::query!(
        "UPDATE postmortem_snapshots SET public = $3, keep_addresses = $4 \
         WHERE postmortem_id = $1 AND id = $2",
        id,
        snapshot,
        public,
        keep_addresses && public
    )
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Every post-mortem, most recently changed first.
pub async fn list(pool: &PgPool) -> Result<Vec<PostmortemSummary>, StoreError> {
    let rows = sqlx::query_as!(
        Row,
        "SELECT p.id, p.incident_id, i.name AS incident_name, p.title, p.body, p.revision, \
           p.published_at, p.updated_by, p.updated_at, p.tags \
         FROM postmortems p JOIN incidents i ON i.id = p.incident_id \
         ORDER BY p.updated_at DESC"
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| PostmortemSummary {
            id: r.id,
            incident_id: r.incident_id,
            incident_name: r.incident_name,
            title: r.title,
            revision: r.revision,
            published_at: r.published_at,
            updated_by: r.updated_by,
            updated_at: r.updated_at,
        })
        .collect())
}

/// Incidents (not maintenances) that have no post-mortem yet, newest first: (id, name, started).
pub async fn incidents_without(
    pool: &PgPool,
    limit: i64,
) -> Result<Vec<(i64, String, DateTime<Utc>)>, StoreError> {
    Ok(sqlx::query!(
        "SELECT i.id, i.name, i.started_at FROM incidents i \
         WHERE i.kind = 'incident' AND NOT EXISTS (SELECT 1 FROM postmortems p WHERE p.incident_id = i.id) \
         ORDER BY i.started_at DESC LIMIT $1",
        limit
    )
    .fetch_all(pool)
    .await?
    .into_iter()
    .map(|r| (r.id, r.name, r.started_at))
    .collect())
}

/// Every revision, newest first.
pub async fn revisions(pool: &PgPool, id: i64) -> Result<Vec<RevisionSummary>, StoreError> {
    summaries(pool, id, None).await
}

/// Revision summaries, newest first: every one, or only `number`.
async fn summaries(
    pool: &PgPool,
    id: i64,
    number: Option<i32>,
) -> Result<Vec<RevisionSummary>, StoreError> {
    #[derive(sqlx::FromRow)]
    struct Row {
        number: i32,
        kind: String,
        based_on: Option<i32>,
        title: String,
        author: String,
        created_at: DateTime<Utc>,
    }
    let rows: Vec<Row> = sqlx::query_as!(
        Row,
        "SELECT number, kind, based_on, title, author, created_at FROM postmortem_revisions \
         WHERE postmortem_id = $1 AND ($2::int IS NULL OR number = $2) ORDER BY number DESC",
        id,
        number
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| RevisionSummary {
            number: r.number,
            kind: RevisionKind::parse(&r.kind).unwrap_or(RevisionKind::Saved),
            based_on: r.based_on,
            title: r.title,
            author: r.author,
            created_at: r.created_at,
        })
        .collect())
}

/// One revision's text and what changed: from `since` when given (a reviewer's last approved
/// revision), else from the revision its author started from.
pub async fn revision(
    pool: &PgPool,
    id: i64,
    number: i32,
    since: Option<i32>,
) -> Result<Option<RevisionView>, StoreError> {
    let body_of = |n: i32| {
        sqlx::query_scalar!(
            "SELECT body FROM postmortem_revisions WHERE postmortem_id = $1 AND number = $2",
            id,
            n
        )
        .fetch_optional(pool)
    };
    let Some(summary) = summaries(pool, id, Some(number)).await?.into_iter().next() else {
        return Ok(None);
    };
    let body = body_of(number).await?.unwrap_or_default();
    let compared_with = since.filter(|s| *s != number).or(summary
        .based_on
        .or_else(|| (number > 1).then_some(number - 1)));
    let diff: Vec<DiffLine> = match compared_with {
        Some(n) => render::diff(&body_of(n).await?.unwrap_or_default(), &body),
        None => render::diff("", &body),
    };
    let current: i32 = sqlx::query_scalar!("SELECT revision FROM postmortems WHERE id = $1", id)
        .fetch_one(pool)
        .await?;
    Ok(Some(RevisionView {
        postmortem_id: id,
        summary,
        body,
        compared_with,
        diff,
        current,
    }))
}

/// An incident's post-mortem, as the incident's page links it.
pub struct PostmortemLink {
    pub incident_id: i64,
    pub id: i64,
    pub published_at: Option<DateTime<Utc>>,
    /// The Markdown, once published.
    pub body: Option<String>,
}

/// The post-mortems of `incidents`; drafts only when `drafts`.
pub async fn for_incidents(
    db: impl sqlx::PgExecutor<'_>,
    incidents: &[i64],
    drafts: bool,
) -> Result<Vec<PostmortemLink>, StoreError> {
    Ok(sqlx::query_as!(
        PostmortemLink,
        "SELECT incident_id, id, published_at, \
         CASE WHEN published_at IS NOT NULL THEN body END AS body \
         FROM postmortems WHERE incident_id = ANY($1) AND (published_at IS NOT NULL OR $2)",
        incidents,
        drafts
    )
    .fetch_all(db)
    .await?)
}

/// What each component's monitors recorded from `start` to `end`: their states at `start` (a
/// monitor with no verdict yet counts as up) and every change after, for the draft's Impact.
pub async fn component_history(
    pool: &PgPool,
    components: &[String],
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> Result<Vec<crate::model::postmortem::ComponentHistory>, StoreError> {
    use crate::model::{monitor::MonitorStatus, postmortem::ComponentHistory};
    let mut out = Vec::new();
    for component in components {
        // Every monitor of the component, and any that reported for it in the week before
        // (monitors since removed from the config still tell what users saw).
        let initial = sqlx::query!(
            "WITH reported AS ( \
                 SELECT DISTINCT ON (payload->>'monitor') payload->>'monitor' AS name, \
                        payload->>'to' AS state \
                 FROM events WHERE kind = 'monitor.state' AND payload->>'component' = $1 \
                   AND at <= $2 AND at > $2 - interval '7 days' \
                 ORDER BY payload->>'monitor', at DESC, id DESC) \
             SELECT m.name AS \"name!\", r.state FROM monitors m LEFT JOIN reported r ON r.name = m.name \
             WHERE m.component_id = $1 AND NOT m.retired AND NOT m.paused \
             UNION \
             SELECT r.name, r.state FROM reported r WHERE NOT EXISTS \
                 (SELECT 1 FROM monitors m WHERE m.name = r.name)",
            component,
            start
        )
        .fetch_all(pool)
        .await?;
        let changes = sqlx::query!(
            "SELECT at, payload->>'monitor' AS \"monitor!\", payload->>'to' AS \"to!\" FROM events \
             WHERE kind = 'monitor.state' AND payload->>'component' = $1 AND at > $2 AND at <= $3 \
             ORDER BY at, id",
            component,
            start,
            end
        )
        .fetch_all(pool)
        .await?;
        out.push(ComponentHistory {
            component: component.clone(),
            initial: initial
                .into_iter()
                .map(|r| {
                    let state = r.state.as_deref();
                    (
                        r.name,
                        state.map_or(MonitorStatus::Up, MonitorStatus::parse),
                    )
                })
                .collect(),
            changes: changes
                .into_iter()
                .map(|c| (c.at, c.monitor, MonitorStatus::parse(&c.to)))
                .collect(),
        });
    }
    Ok(out)
}
