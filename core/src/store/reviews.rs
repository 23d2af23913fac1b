//! Post-mortem reviews: reviewers, threaded section comments, approvals of one revision, and who
//! has an editor open. Review rows never touch `postmortem_revisions`: no review action can lose
//! a revision.

use crate::model::event::{EventData, ReviewNews};
use crate::model::review::{
    self, Comment, Editing, Review, ReviewEvent, ReviewRules, ReviewState, Reviewer, Thread,
};

use super::{PgPool, StoreError};

/// Where the review of post-mortem `id` stands; `None` when there is no such post-mortem.
pub async fn review(
    pool: &PgPool,
    id: i64,
    rules: ReviewRules,
) -> Result<Option<Review>, StoreError> {
    let Some(pm) = sqlx::query!(
        "SELECT revision, body, published_at, review_requested_at FROM postmortems WHERE id = $1",
        id
    )
    .fetch_optional(pool)
    .await?
    else {
        return Ok(None);
    };
    let reviewers: Vec<Reviewer> = sqlx::query!(
        "SELECT r.reviewer, r.requested_by, r.requested_at, max(a.revision) AS approved \
         FROM postmortem_reviewers r LEFT JOIN postmortem_approvals a \
           ON a.postmortem_id = r.postmortem_id AND a.reviewer = r.reviewer \
         WHERE r.postmortem_id = $1 GROUP BY r.reviewer, r.requested_by, r.requested_at \
         ORDER BY r.requested_at, r.reviewer",
        id
    )
    .fetch_all(pool)
    .await?
    .into_iter()
    .map(|r| Reviewer {
        name: r.reviewer,
        requested_by: r.requested_by,
        requested_at: r.requested_at,
        approves_current: r.approved == Some(pm.revision),
        approved_revision: r.approved,
    })
    .collect();
    let rows = sqlx::query!(
        "SELECT id, parent_id, section, revision, author, body, created_at, resolved_at, resolved_by \
         FROM postmortem_comments WHERE postmortem_id = $1 ORDER BY id",
        id
    )
    .fetch_all(pool)
    .await?;
    let mut threads: Vec<Thread> = Vec::new();
    for r in rows {
        let comment = Comment {
            id: r.id,
            author: r.author,
            body: r.body,
            revision: r.revision,
            created_at: r.created_at,
        };
        match r.parent_id {
            None => threads.push(Thread {
                section: r.section,
                comment,
                replies: Vec::new(),
                resolved_at: r.resolved_at,
                resolved_by: r.resolved_by,
            }),
            Some(parent) => {
                if let Some(t) = threads.iter_mut().find(|t| t.comment.id == parent) {
                    t.replies.push(comment);
                }
            }
        }
    }
    let approvals = reviewers.iter().filter(|r| r.approves_current).count();
    Ok(Some(Review {
        state: ReviewState::of(
            pm.published_at.is_some(),
            pm.review_requested_at.is_some(),
            approvals,
            rules,
        ),
        approvals_required: rules.approvals,
        approvals: approvals as u32,
        revision: pm.revision,
        reviewers,
        threads,
        sections: review::sections(&pm.body),
    }))
}

/// Adds reviewers (audit names) and marks the post-mortem in review. Returns the ones newly
/// asked.
pub async fn request(
    pool: &PgPool,
    id: i64,
    reviewers: &[String],
    by: &str,
) -> Result<Vec<String>, StoreError> {
    let mut tx = pool.begin().await?;
    let added: Vec<String> = sqlx::query_scalar!(
        "INSERT INTO postmortem_reviewers (postmortem_id, reviewer, requested_by) \
         SELECT $1, unnest($2::text[]), $3 ON CONFLICT DO NOTHING RETURNING reviewer",
        id,
        reviewers,
        by
    )
    .fetch_all(&mut *tx)
    .await?;
    let pm = sqlx::query!(
        "UPDATE postmortems SET review_requested_at = COALESCE(review_requested_at, now()) \
         WHERE id = $1 RETURNING incident_id, title, revision",
        id
    )
    .fetch_one(&mut *tx)
    .await?;
    if !added.is_empty() {
        // The team's channels hear who was asked (`postmortem.*`).
        let news = EventData::PostmortemReview(ReviewNews {
            id,
            incident_id: pm.incident_id,
            name: pm.title,
            action: "requested".into(),
            who: by.to_string(),
            reviewers: added.clone(),
            revision: pm.revision,
        });
        super::events::append_in(&mut tx, &format!("postmortem:{id}"), &news).await?;
    }
    tx.commit().await?;
    Ok(added)
}

pub struct NewComment<'a> {
    pub postmortem_id: i64,
    pub parent_id: Option<i64>,
    pub section: &'a str,
    pub revision: i32,
    pub author: &'a str,
    pub body: &'a str,
}

/// The thread a comment opened: (section, whether it is a top-level comment), if it is on
/// post-mortem `id`.
pub async fn thread_of(
    pool: &PgPool,
    id: i64,
    comment: i64,
) -> Result<Option<(String, bool)>, StoreError> {
    Ok(sqlx::query!(
        "SELECT section, parent_id FROM postmortem_comments WHERE postmortem_id = $1 AND id = $2",
        id,
        comment
    )
    .fetch_optional(pool)
    .await?
    .map(|r| (r.section, r.parent_id.is_none())))
}

pub async fn add_comment(pool: &PgPool, c: NewComment<'_>) -> Result<i64, StoreError> {
    Ok(sqlx::query_scalar!(
        "INSERT INTO postmortem_comments (postmortem_id, parent_id, section, revision, author, body) \
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        c.postmortem_id,
        c.parent_id,
        c.section,
        c.revision,
        c.author,
        c.body
    )
    .fetch_one(pool)
    .await?)
}

/// Resolves (or reopens) a thread; false when `thread` is no thread of post-mortem `id`.
pub async fn resolve(
    pool: &PgPool,
    id: i64,
    thread: i64,
    resolved: bool,
    by: &str,
) -> Result<bool, StoreError> {
    let done = sqlx::query!(
        "UPDATE postmortem_comments SET resolved_at = CASE WHEN $3 THEN COALESCE(resolved_at, now()) END, \
         resolved_by = CASE WHEN $3 THEN COALESCE(resolved_by, $4) END \
         WHERE postmortem_id = $1 AND id = $2 AND parent_id IS NULL",
        id,
        thread,
        resolved,
        by
    )
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn is_reviewer(pool: &PgPool, id: i64, who: &str) -> Result<bool, StoreError> {
    Ok(sqlx::query_scalar!(
        "SELECT EXISTS (SELECT 1 FROM postmortem_reviewers WHERE postmortem_id = $1 AND reviewer = $2) AS \"is!\"",
        id,
        who
    )
    .fetch_one(pool)
    .await?)
}

/// What an approval did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Approved {
    Done,
    /// The reviewer read `read`; `current` was saved since. Nothing is approved.
    Stale {
        current: i32,
    },
    /// The reviewer wrote this revision: an approval is a second pair of eyes.
    OwnText,
    NoPostmortem,
}

/// Approves revision `revision` if it is still the current one (checked under the row lock a
/// save takes, so an approval never lands on text the reviewer did not read).
pub async fn approve(
    pool: &PgPool,
    id: i64,
    reviewer: &str,
    revision: i32,
) -> Result<Approved, StoreError> {
    let mut tx = pool.begin().await?;
    let Some(pm) = sqlx::query!(
        "SELECT p.revision, p.incident_id, p.title, r.author FROM postmortems p \
         JOIN postmortem_revisions r ON r.postmortem_id = p.id AND r.number = p.revision \
         WHERE p.id = $1 FOR UPDATE OF p",
        id
    )
    .fetch_optional(&mut *tx)
    .await?
    else {
        return Ok(Approved::NoPostmortem);
    };
    if pm.revision != revision {
        return Ok(Approved::Stale {
            current: pm.revision,
        });
    }
    if pm.author == reviewer {
        return Ok(Approved::OwnText);
    }
    let new = sqlx::query!(
        "INSERT INTO postmortem_approvals (postmortem_id, reviewer, revision) VALUES ($1, $2, $3) \
         ON CONFLICT DO NOTHING",
        id,
        reviewer,
        revision
    )
    .execute(&mut *tx)
    .await?
    .rows_affected()
        == 1;
    if new {
        let news = EventData::PostmortemReview(ReviewNews {
            id,
            incident_id: pm.incident_id,
            name: pm.title,
            action: "approved".into(),
            who: reviewer.to_string(),
            reviewers: Vec::new(),
            revision,
        });
        super::events::append_in(&mut tx, &format!("postmortem:{id}"), &news).await?;
    }
    tx.commit().await?;
    Ok(Approved::Done)
}

/// Approvals of the current revision, counted inside the caller's transaction (publishing locks
/// the post-mortem's row first, so no save slips in between).
pub async fn approvals_of_current(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    id: i64,
) -> Result<i64, StoreError> {
    Ok(sqlx::query_scalar!(
        "SELECT count(*) AS \"n!\" FROM postmortem_approvals a JOIN postmortems p ON p.id = a.postmortem_id \
         JOIN postmortem_revisions r ON r.postmortem_id = p.id AND r.number = p.revision \
         WHERE a.postmortem_id = $1 AND a.revision = p.revision AND a.reviewer <> r.author",
        id
    )
    .fetch_one(&mut **tx)
    .await?)
}

/// Every review action, oldest first, for the revision history.
pub async fn history(pool: &PgPool, id: i64) -> Result<Vec<ReviewEvent>, StoreError> {
    // The revision current when a reviewer was asked is the newest one saved before.
    let rows = sqlx::query!(
        "SELECT at AS \"at!\", revision AS \"revision!\", who AS \"who!\", action AS \"action!\", detail AS \"detail!\" FROM ( \
           SELECT r.requested_at AS at, \
                  COALESCE((SELECT max(number) FROM postmortem_revisions v WHERE v.postmortem_id = r.postmortem_id \
                            AND v.created_at <= r.requested_at AND v.kind <> 'conflict'), 1) AS revision, \
                  r.requested_by AS who, 'requested' AS action, r.reviewer AS detail \
           FROM postmortem_reviewers r WHERE r.postmortem_id = $1 \
           UNION ALL \
           SELECT c.created_at, c.revision, c.author, \
                  CASE WHEN c.parent_id IS NULL THEN 'commented' ELSE 'replied' END, c.section \
           FROM postmortem_comments c WHERE c.postmortem_id = $1 \
           UNION ALL \
           SELECT c.resolved_at, c.revision, c.resolved_by, 'resolved', c.section \
           FROM postmortem_comments c WHERE c.postmortem_id = $1 AND c.resolved_at IS NOT NULL \
           UNION ALL \
           SELECT a.created_at, a.revision, a.reviewer, 'approved', '' \
           FROM postmortem_approvals a WHERE a.postmortem_id = $1 \
         ) h ORDER BY at",
        id
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| ReviewEvent {
            at: r.at,
            revision: r.revision,
            who: r.who,
            action: r.action,
            detail: r.detail,
        })
        .collect())
}

/// Says `who` has post-mortem `id` open in an editor now. Rows nobody renewed for ten minutes
/// are swept here, on the write side, so the live feed's per-second read stays a read.
pub async fn mark_editing(pool: &PgPool, id: i64, who: &str) -> Result<(), StoreError> {
    sqlx::query!("DELETE FROM postmortem_presence WHERE seen_at < now() - interval '10 minutes'")
        .execute(pool)
        .await?;
    sqlx::query!(
        "INSERT INTO postmortem_presence (postmortem_id, who) \
         SELECT $1, $2 WHERE EXISTS (SELECT 1 FROM postmortems WHERE id = $1) \
         ON CONFLICT (postmortem_id, who) DO UPDATE SET seen_at = now()",
        id,
        who
    )
    .execute(pool)
    .await?;
    Ok(())
}

/// Who has which post-mortem open: seen within `fresh_secs`.
pub async fn editing(pool: &PgPool, fresh_secs: f64) -> Result<Vec<Editing>, StoreError> {
    let rows = sqlx::query!(
        "SELECT postmortem_id, array_agg(who ORDER BY who) AS \"who!\" FROM postmortem_presence \
         WHERE seen_at > now() - make_interval(secs => $1) GROUP BY postmortem_id ORDER BY postmortem_id",
        fresh_secs
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| Editing {
            postmortem_id: r.postmortem_id,
            who: r.who,
        })
        .collect())
}
