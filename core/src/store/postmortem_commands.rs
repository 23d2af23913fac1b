//! Post-mortems from people's input (forms, the JSON API): Vigil's first draft, saves that never
//! overwrite anyone, publishing, snapshots of the graphs. Checked, written, audited.

use chrono::{DateTime, Duration, Utc};

use crate::model::{
    postmortem::{self, RevisionKind, SaveOutcome, MAX_BODY, MAX_CAPTION, MAX_TITLE},
    resource::GraphSettings,
};

use super::{
    audit, correlation, incident_commands::CommandError, incidents, postmortems, PgPool, StoreError,
};

fn check_title(t: &str) -> Result<String, CommandError> {
    let t = t.trim();
    if t.is_empty() {
        return Err(CommandError::invalid("title", "must not be empty"));
    }
    if t.chars().count() > MAX_TITLE {
        return Err(CommandError::invalid(
            "title",
            format!("must be at most {MAX_TITLE} characters"),
        ));
    }
    Ok(t.to_string())
}

fn check_body(b: &str) -> Result<String, CommandError> {
    if b.chars().count() > MAX_BODY {
        return Err(CommandError::invalid(
            "body",
            format!(
                "is {} characters; at most {MAX_BODY} fit — move long logs to a linked file",
                b.chars().count()
            ),
        ));
    }
    // Browsers send CRLF from a textarea; store one kind of line ending so diffs stay honest.
    Ok(b.replace("\r\n", "\n"))
}

pub(super) async fn audit_pm(
    pool: &PgPool,
    actor: &str,
    action: &str,
    id: i64,
) -> Result<(), StoreError> {
    audit::record(
        pool,
        actor,
        action,
        &format!("postmortem:{id}"),
        serde_json::json!({}),
    )
    .await
}

/// The incident's post-mortem: the one it has, or Vigil's first draft — the template filled
/// with what Vigil recorded over the incident's window, and a snapshot of the graphs.
/// Returns (id, whether it was drafted now).
pub async fn draft(
    pool: &PgPool,
    incident_id: i64,
    actor: &str,
    graphs: &GraphSettings,
    causes: Option<&crate::model::causes::Causes>,
    objectives: &[crate::model::objective::Objective],
) -> Result<(i64, bool), CommandError> {
    if let Some(id) = postmortems::id_for_incident(pool, incident_id).await? {
        return Ok((id, false));
    }
    let incident = incidents::get(pool, incident_id, false)
        .await?
        .ok_or(CommandError::NotFound(incident_id))?;
    if incident.is_maintenance() {
        return Err(CommandError::invalid(
            "incident_id",
            format!("{incident_id} is a maintenance; post-mortems are for incidents"),
        ));
    }
    let now = Utc::now();
    let (from, to) = incident.window(now);
    let stack = correlation::correlation(pool, from, to, graphs).await?;
    let first_notification = sqlx::query!(
        "SELECT n.delivered_at AS \"delivered_at!\", c.name FROM notifications n \
         JOIN events e ON e.id = n.event_id JOIN notify_channels c ON c.id = n.channel_id \
         WHERE n.delivered_at IS NOT NULL AND e.at >= $1 AND e.at <= $2 \
         ORDER BY n.delivered_at LIMIT 1",
        // A notification about an earlier outage is not this incident's detection.
        from.max(incident.started_at - crate::model::incident::SIGNAL_LOOKBACK),
        to
    )
    .fetch_optional(pool)
    .await
    .map_err(StoreError::from)?
    .map(|n| (n.delivered_at, n.name));
    let affected: Vec<String> = incident.components.iter().map(|c| c.id.clone()).collect();
    let history = postmortems::component_history(
        pool,
        &affected,
        incident.started_at,
        incident.resolved_at.unwrap_or(now),
    )
    .await?;
    let budgets = super::objectives::budget_used(
        pool,
        objectives,
        &affected,
        incident.started_at,
        incident.resolved_at.unwrap_or(now),
    )
    .await?;
    let body = postmortem::draft(&postmortem::DraftFacts {
        incident: &incident,
        stack: &stack,
        history: &history,
        first_notification,
        now,
        causes,
        budgets: &budgets,
    });
    let title = postmortem::draft_title(&incident);
    let (id, created) = postmortems::create(
        pool,
        postmortems::NewPostmortem {
            incident_id,
            title: &title,
            body: &body,
            author: actor,
        },
    )
    .await?;
    if created {
        let caption = format!(
            "What Vigil recorded, {} – {}",
            from.format("%Y-%m-%d %H:%M"),
            to.format("%H:%M UTC")
        );
        postmortems::add_snapshot(
            pool,
            postmortems::NewSnapshot {
                postmortem_id: id,
                caption: &caption,
                stack: &stack,
                author: actor,
            },
        )
        .await?;
        audit_pm(pool, actor, "postmortem.draft", id).await?;
    }
    Ok((id, created))
}

/// Saves a new revision based on `base`. A conflict is not an error: the text is kept as its
/// own revision and the outcome says so.
/// `title: None` keeps the current title.
pub async fn save(
    pool: &PgPool,
    id: i64,
    base: i32,
    title: Option<&str>,
    body: &str,
    actor: &str,
    rules: crate::model::review::ReviewRules,
) -> Result<SaveOutcome, CommandError> {
    let title = title.map(check_title).transpose()?;
    let body = check_body(body)?;
    let outcome = postmortems::save(
        pool,
        id,
        base,
        title.as_deref(),
        &body,
        actor,
        RevisionKind::Saved,
    )
    .await?
    .ok_or(CommandError::NoPostmortem(id))?;
    let action = match outcome {
        SaveOutcome::Saved { .. } => {
            // The checklist and the follow-up list never disagree: new entries become items.
            super::follow_ups::sync_checklist(pool, id, &body, actor).await?;
            // Public at once only when no approval is needed; else it waits for one.
            postmortems::advance_published(pool, id, rules.approvals).await?;
            "postmortem.save"
        }
        SaveOutcome::Conflict { .. } => "postmortem.save_conflict",
    };
    audit_pm(pool, actor, action, id).await?;
    Ok(outcome)
}

/// Adds a dated "Update" line on top of the post-mortem, as a new revision based on `base`.
pub async fn add_update(
    pool: &PgPool,
    id: i64,
    base: i32,
    text: &str,
    actor: &str,
    rules: crate::model::review::ReviewRules,
) -> Result<SaveOutcome, CommandError> {
    if text.trim().is_empty() {
        return Err(CommandError::invalid("update", "must not be empty"));
    }
    let body: String = sqlx::query_scalar!("SELECT body FROM postmortems WHERE id = $1", id)
        .fetch_optional(pool)
        .await
        .map_err(StoreError::from)?
        .ok_or(CommandError::NoPostmortem(id))?;
    save(
        pool,
        id,
        base,
        None,
        &postmortem::with_update(&body, Utc::now(), text),
        actor,
        rules,
    )
    .await
}

/// Makes an older revision current again (as a new revision, so nothing is lost).
pub async fn restore(
    pool: &PgPool,
    id: i64,
    number: i32,
    base: i32,
    actor: &str,
    rules: crate::model::review::ReviewRules,
) -> Result<SaveOutcome, CommandError> {
    let old = sqlx::query!(
        "SELECT title, body FROM postmortem_revisions WHERE postmortem_id = $1 AND number = $2",
        id,
        number
    )
    .fetch_optional(pool)
    .await
    .map_err(StoreError::from)?
    .ok_or_else(|| {
        CommandError::invalid(
            "revision",
            format!("post-mortem {id} has no revision {number}"),
        )
    })?;
    let outcome = postmortems::save(
        pool,
        id,
        base,
        Some(&old.title),
        &old.body,
        actor,
        RevisionKind::Restored,
    )
    .await?
    .ok_or(CommandError::NoPostmortem(id))?;
    if let SaveOutcome::Saved { .. } = outcome {
        postmortems::advance_published(pool, id, rules.approvals).await?;
    }
    audit_pm(pool, actor, "postmortem.restore", id).await?;
    Ok(outcome)
}

/// Whether a save of `title`/`body` followed by publishing could succeed: with approvals
/// required, the text must be the current revision's (approved as it is) and have enough
/// approvals. Checked before saving, so a refused "save and publish" keeps nothing.
pub async fn check_publishable(
    pool: &PgPool,
    id: i64,
    title: Option<&str>,
    body: &str,
    rules: crate::model::review::ReviewRules,
) -> Result<(), CommandError> {
    if rules.approvals == 0 {
        return Ok(());
    }
    let current = sqlx::query!(
        "SELECT title, body, revision, published_at FROM postmortems WHERE id = $1",
        id
    )
    .fetch_optional(pool)
    .await
    .map_err(StoreError::from)?
    .ok_or(CommandError::NoPostmortem(id))?;
    if current.published_at.is_some() {
        return Ok(());
    }
    let body = check_body(body)?;
    let title = title.map(check_title).transpose()?;
    if body != current.body || title.is_some_and(|t| t != current.title) {
        return Err(CommandError::Conflict {
            field: "approvals",
            message: format!(
                "this text differs from revision {}, which is what reviewers see: save it first (without published), have it approved, then publish",
                current.revision
            ),
        });
    }
    match waiting_for_approvals(pool, id, rules).await? {
        Some(refusal) => Err(refusal),
        None => Ok(()),
    }
}

/// The 409 naming `approvals` that says what publishing still waits for; `None` when nothing.
async fn waiting_for_approvals(
    pool: &PgPool,
    id: i64,
    rules: crate::model::review::ReviewRules,
) -> Result<Option<CommandError>, CommandError> {
    let review = super::reviews::review(pool, id, rules)
        .await?
        .ok_or(CommandError::NoPostmortem(id))?;
    Ok(review.waiting_for().map(|message| CommandError::Conflict {
        field: "approvals",
        message,
    }))
}

/// Publishes (needs `rules.approvals` approvals of the current revision) or takes back to draft.
pub async fn publish(
    pool: &PgPool,
    id: i64,
    published: bool,
    actor: &str,
    rules: crate::model::review::ReviewRules,
) -> Result<(), CommandError> {
    match postmortems::set_published(pool, id, published, rules.approvals).await? {
        postmortems::Published::Done => {}
        postmortems::Published::NoPostmortem => return Err(CommandError::NoPostmortem(id)),
        postmortems::Published::Waiting { .. } => {
            return Err(waiting_for_approvals(pool, id, rules)
                .await?
                .unwrap_or_else(|| CommandError::Conflict {
                    field: "approvals",
                    message: "a revision was saved meanwhile; it needs approving".to_string(),
                }));
        }
    }
    let action = if published {
        "postmortem.publish"
    } else {
        "postmortem.unpublish"
    };
    audit_pm(pool, actor, action, id).await?;
    Ok(())
}

/// Keeps the graphs of `[from, to)` as Vigil has them now.
pub async fn snapshot(
    pool: &PgPool,
    id: i64,
    caption: &str,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    actor: &str,
    graphs: &GraphSettings,
) -> Result<i64, CommandError> {
    let caption = caption.trim();
    if caption.is_empty() {
        return Err(CommandError::invalid("caption", "must not be empty"));
    }
    if caption.chars().count() > MAX_CAPTION {
        return Err(CommandError::invalid(
            "caption",
            format!("must be at most {MAX_CAPTION} characters"),
        ));
    }
    if from >= to {
        return Err(CommandError::invalid("to", "must be after from"));
    }
    if to - from > Duration::days(31) {
        return Err(CommandError::invalid(
            "from",
            "a snapshot covers at most 31 days",
        ));
    }
    if postmortems::id_for_incident_of(pool, id).await?.is_none() {
        return Err(CommandError::NoPostmortem(id));
    }
    let stack = correlation::correlation(pool, from, to, graphs).await?;
    let snap = postmortems::add_snapshot(
        pool,
        postmortems::NewSnapshot {
            postmortem_id: id,
            caption,
            stack: &stack,
            author: actor,
        },
    )
    .await?;
    audit_pm(pool, actor, "postmortem.snapshot", id).await?;
    Ok(snap)
}

fn no_snapshot(id: i64, snapshot: i64) -> CommandError {
    CommandError::invalid(
        "snapshot",
        format!("post-mortem {id} has no snapshot {snapshot}"),
    )
}

/// Shows a snapshot on the public post-mortem (addresses left out unless `keep_addresses`) or
/// makes it private again. Audited.
pub async fn set_snapshot_visibility(
    pool: &PgPool,
    id: i64,
    snapshot: i64,
    public: bool,
    keep_addresses: bool,
    actor: &str,
) -> Result<(), CommandError> {
    if !postmortems::set_snapshot_visibility(pool, id, snapshot, public, keep_addresses).await? {
        return Err(no_snapshot(id, snapshot));
    }
    let action = match (public, keep_addresses) {
        (false, _) => "postmortem.snapshot_private",
        (true, false) => "postmortem.snapshot_public",
        (true, true) => "postmortem.snapshot_public_with_addresses",
    };
    audit_pm(pool, actor, action, id).await?;
    Ok(())
}

pub async fn delete_snapshot(
    pool: &PgPool,
    id: i64,
    snapshot: i64,
    actor: &str,
) -> Result<(), CommandError> {
    if !postmortems::delete_snapshot(pool, id, snapshot).await? {
        return Err(no_snapshot(id, snapshot));
    }
    audit_pm(pool, actor, "postmortem.delete_snapshot", id).await?;
    Ok(())
}
