//! Server functions for post-mortems: reading (published ones for everybody, drafts for ops
//! readers), Vigil's first draft, saves that never overwrite anyone, publishing, snapshots and
//! revisions. Writing needs the `postmortems:write` scope (editors).

use leptos::prelude::*;
use serde::{Deserialize, Serialize};
use vigil_core::model::{
    postmortem::{PostmortemSummary, PostmortemView, RevisionSummary, RevisionView},
    review::{Review, ReviewEvent},
};

#[cfg(feature = "ssr")]
use super::{guard, guard::command_error};

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PostmortemsPage {
    pub postmortems: Vec<PostmortemSummary>,
    /// Incidents without a post-mortem yet: (id, name, started).
    pub without: Vec<(i64, String, chrono::DateTime<chrono::Utc>)>,
}

#[cfg(feature = "ssr")]
fn editor(id: i64) {
    leptos_axum::redirect(&format!("/ops/postmortems/{id}"));
}

/// Every post-mortem, and the incidents that still need one. Ops readers.
#[server]
pub async fn get_postmortems() -> Result<PostmortemsPage, ServerFnError> {
    use vigil_core::{model::auth::Scope, store::postmortems};
    guard::require(Scope::Read).await?;
    let pool = guard::pool()?;
    Ok(PostmortemsPage {
        postmortems: postmortems::list(&pool).await.map_err(guard::fail)?,
        without: postmortems::incidents_without(&pool, 50)
            .await
            .map_err(guard::fail)?,
    })
}

/// One post-mortem. `internal` (ops readers) includes drafts; the public sees published ones.
#[server]
pub async fn get_postmortem(
    id: i64,
    internal: bool,
) -> Result<Option<PostmortemView>, ServerFnError> {
    use vigil_core::model::auth::Scope;
    if internal {
        guard::require(Scope::Read).await?;
    }
    let pool = guard::pool()?;
    let found = vigil_core::store::postmortems::get(&pool, id, !internal)
        .await
        .map_err(guard::fail)?;
    if found.is_none() {
        guard::set_status(http::StatusCode::NOT_FOUND);
    }
    Ok(found)
}

/// Vigil's first draft for an incident (or the post-mortem it already has). Editors.
#[server]
pub async fn draft_postmortem(incident_id: i64) -> Result<i64, ServerFnError> {
    use vigil_core::model::auth::Scope;
    let who = guard::require(Scope::PostmortemsWrite).await?;
    let pool = guard::pool()?;
    // The chain is a suggestion: a draft is still made when it cannot be computed.
    let causes = match use_context::<std::sync::Arc<dyn vigil_core::model::causes::Explains>>() {
        Some(e) => e.causes(incident_id).await.ok().flatten(),
        None => None,
    };
    let objectives = use_context::<std::sync::Arc<dyn vigil_core::model::objective::Judges>>()
        .map(|j| j.objectives())
        .unwrap_or_default();
    let (id, _) = vigil_core::store::postmortem_commands::draft(
        &pool,
        incident_id,
        &who.audit_name(),
        &guard::graphs(),
        causes.as_ref(),
        &objectives,
    )
    .await
    .map_err(command_error)?;
    editor(id);
    Ok(id)
}

/// Saves a revision based on `base_revision`. When somebody saved in between, the text is kept
/// as its own revision and the answer (409) says which, so nothing typed is lost. Editors.
#[server]
pub async fn save_postmortem(
    id: i64,
    base_revision: i32,
    title: String,
    body: String,
) -> Result<i32, ServerFnError> {
    use vigil_core::model::auth::Scope;
    let who = guard::require(Scope::PostmortemsWrite).await?;
    let pool = guard::pool()?;
    let outcome = vigil_core::store::postmortem_commands::save(
        &pool,
        id,
        base_revision,
        Some(&title),
        &body,
        &who.audit_name(),
        crate::api::guard::review_rules(),
    )
    .await
    .map_err(command_error)?;
    saved_or_kept(id, base_revision, outcome)
}

/// Back to the editor when saved; a 409 that says where the text went when it was kept aside.
#[cfg(feature = "ssr")]
fn saved_or_kept(
    id: i64,
    base_revision: i32,
    outcome: vigil_core::model::postmortem::SaveOutcome,
) -> Result<i32, ServerFnError> {
    use vigil_core::model::postmortem::SaveOutcome;
    match outcome {
        SaveOutcome::Saved { revision } => {
            editor(id);
            Ok(revision)
        }
        SaveOutcome::Conflict { current, kept_as } => {
            guard::set_status(http::StatusCode::CONFLICT);
            Err(ServerFnError::new(format!(
                "Not saved over revision {current}: somebody saved it while you edited revision \
                 {base_revision}. Your text is kept as revision {kept_as} — open it from the \
                 revision list, merge, and save again."
            )))
        }
    }
}

/// Puts a dated "Update" line on top of the post-mortem (for published ones amended later).
/// Editors.
#[server]
pub async fn add_postmortem_update(
    id: i64,
    base_revision: i32,
    update: String,
) -> Result<i32, ServerFnError> {
    use vigil_core::model::auth::Scope;
    let who = guard::require(Scope::PostmortemsWrite).await?;
    let pool = guard::pool()?;
    let outcome = vigil_core::store::postmortem_commands::add_update(
        &pool,
        id,
        base_revision,
        &update,
        &who.audit_name(),
        crate::api::guard::review_rules(),
    )
    .await
    .map_err(command_error)?;
    saved_or_kept(id, base_revision, outcome)
}

/// Publishes the post-mortem on the incident's public page (or takes it back). Editors.
#[server]
pub async fn publish_postmortem(id: i64, publish: String) -> Result<(), ServerFnError> {
    use vigil_core::model::auth::Scope;
    let who = guard::require(Scope::PostmortemsWrite).await?;
    let pool = guard::pool()?;
    vigil_core::store::postmortem_commands::publish(
        &pool,
        id,
        publish == "true",
        &who.audit_name(),
        guard::review_rules(),
    )
    .await
    .map_err(command_error)?;
    editor(id);
    Ok(())
}

/// Keeps the graphs of a window (UTC, from `<input type="datetime-local">`). Editors.
#[server]
pub async fn add_postmortem_snapshot(
    id: i64,
    caption: String,
    from: String,
    to: String,
) -> Result<i64, ServerFnError> {
    use vigil_core::{model::auth::Scope, store::incident_commands::CommandError};
    let who = guard::require(Scope::PostmortemsWrite).await?;
    let pool = guard::pool()?;
    let when = |field: &'static str, s: &str| {
        let s = s.trim();
        chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M")
            .or_else(|_| chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S"))
            .map(|t| t.and_utc())
            .map_err(|_| {
                command_error(CommandError::Invalid {
                    field,
                    message: format!("`{s}` is not a date and time (YYYY-MM-DDTHH:MM, UTC)"),
                })
            })
    };
    let snap = vigil_core::store::postmortem_commands::snapshot(
        &pool,
        id,
        &caption,
        when("from", &from)?,
        when("to", &to)?,
        &who.audit_name(),
        &guard::graphs(),
    )
    .await
    .map_err(command_error)?;
    editor(id);
    Ok(snap)
}

/// Shows a snapshot on the public post-mortem or keeps it private. `public` and
/// `keep_addresses` are "true" or "false" (hidden form fields, so it works without JavaScript).
/// Editors.
#[server]
pub async fn set_snapshot_visibility(
    id: i64,
    snapshot: i64,
    public: String,
    keep_addresses: String,
) -> Result<(), ServerFnError> {
    use vigil_core::model::auth::Scope;
    let who = guard::require(Scope::PostmortemsWrite).await?;
    let pool = guard::pool()?;
    vigil_core::store::postmortem_commands::set_snapshot_visibility(
        &pool,
        id,
        snapshot,
        public == "true",
        keep_addresses == "true",
        &who.audit_name(),
    )
    .await
    .map_err(command_error)?;
    editor(id);
    Ok(())
}

/// Removes a snapshot. Editors.
#[server]
pub async fn delete_postmortem_snapshot(id: i64, snapshot: i64) -> Result<(), ServerFnError> {
    use vigil_core::model::auth::Scope;
    let who = guard::require(Scope::PostmortemsWrite).await?;
    let pool = guard::pool()?;
    vigil_core::store::postmortem_commands::delete_snapshot(&pool, id, snapshot, &who.audit_name())
        .await
        .map_err(command_error)?;
    editor(id);
    Ok(())
}

/// Every revision, newest first. Ops readers.
#[server]
pub async fn get_postmortem_revisions(id: i64) -> Result<Vec<RevisionSummary>, ServerFnError> {
    use vigil_core::model::auth::Scope;
    guard::require(Scope::Read).await?;
    let pool = guard::pool()?;
    vigil_core::store::postmortems::revisions(&pool, id)
        .await
        .map_err(guard::fail)
}

/// One revision with its diff (from revision `since` when given: what changed since a reviewer
/// approved). Ops readers.
#[server]
pub async fn get_postmortem_revision(
    id: i64,
    number: i32,
    #[server(default)] since: Option<i32>,
) -> Result<Option<RevisionView>, ServerFnError> {
    use vigil_core::model::auth::Scope;
    guard::require(Scope::Read).await?;
    let pool = guard::pool()?;
    vigil_core::store::postmortems::revision(&pool, id, number, since)
        .await
        .map_err(guard::fail)
}

/// Makes an older revision current again, as a new revision. Editors.
#[server]
pub async fn restore_postmortem_revision(
    id: i64,
    number: i32,
    base_revision: i32,
) -> Result<(), ServerFnError> {
    use vigil_core::model::auth::Scope;
    let who = guard::require(Scope::PostmortemsWrite).await?;
    let pool = guard::pool()?;
    let outcome = vigil_core::store::postmortem_commands::restore(
        &pool,
        id,
        number,
        base_revision,
        &who.audit_name(),
        crate::api::guard::review_rules(),
    )
    .await
    .map_err(command_error)?;
    saved_or_kept(id, base_revision, outcome).map(|_| ())
}

/// The review of a post-mortem, its history, and who is asking (to show their own actions).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ReviewPage {
    pub review: Review,
    pub history: Vec<ReviewEvent>,
    /// The reader's audit name (`user:bob`).
    pub me: String,
}

/// Where the review stands. Ops readers.
#[server]
pub async fn get_review(id: i64) -> Result<Option<ReviewPage>, ServerFnError> {
    use vigil_core::{model::auth::Scope, store::reviews};
    let me = guard::require(Scope::Read).await?.audit_name();
    let pool = guard::pool()?;
    let Some(review) = reviews::review(&pool, id, guard::review_rules())
        .await
        .map_err(guard::fail)?
    else {
        return Ok(None);
    };
    let history = reviews::history(&pool, id).await.map_err(guard::fail)?;
    Ok(Some(ReviewPage {
        review,
        history,
        me,
    }))
}

/// Asks editors (logins, comma-separated) to review. Editors.
#[server]
pub async fn request_review(id: i64, reviewers: String) -> Result<(), ServerFnError> {
    use vigil_core::model::auth::Scope;
    let who = guard::require(Scope::PostmortemsWrite).await?;
    let pool = guard::pool()?;
    vigil_core::store::review_commands::request_review(&pool, id, &[reviewers], &who.audit_name())
        .await
        .map_err(command_error)?;
    editor(id);
    Ok(())
}

/// Comments on a section of the revision read. Editors.
#[server]
pub async fn comment_postmortem(
    id: i64,
    revision: i32,
    section: String,
    body: String,
) -> Result<(), ServerFnError> {
    comment_or_reply(id, revision, section, None, body).await
}

/// Replies to a thread. Editors.
#[server]
pub async fn reply_postmortem(
    id: i64,
    revision: i32,
    thread: i64,
    body: String,
) -> Result<(), ServerFnError> {
    comment_or_reply(id, revision, String::new(), Some(thread), body).await
}

#[cfg(feature = "ssr")]
async fn comment_or_reply(
    id: i64,
    revision: i32,
    section: String,
    reply_to: Option<i64>,
    body: String,
) -> Result<(), ServerFnError> {
    use vigil_core::{model::auth::Scope, store::review_commands};
    let who = guard::require(Scope::PostmortemsWrite).await?;
    let pool = guard::pool()?;
    review_commands::comment(
        &pool,
        id,
        review_commands::CommentInput {
            section: &section,
            reply_to,
            revision,
            body: &body,
        },
        &who.audit_name(),
    )
    .await
    .map_err(command_error)?;
    editor(id);
    Ok(())
}

/// Resolves a thread (`resolved` "true") or opens it again. Editors.
#[server]
pub async fn resolve_thread(id: i64, thread: i64, resolved: String) -> Result<(), ServerFnError> {
    use vigil_core::model::auth::Scope;
    let who = guard::require(Scope::PostmortemsWrite).await?;
    let pool = guard::pool()?;
    vigil_core::store::review_commands::resolve(
        &pool,
        id,
        thread,
        resolved == "true",
        &who.audit_name(),
    )
    .await
    .map_err(command_error)?;
    editor(id);
    Ok(())
}

/// Approves the revision read. Reviewers who were asked.
#[server]
pub async fn approve_postmortem(id: i64, revision: i32) -> Result<(), ServerFnError> {
    use vigil_core::model::auth::Scope;
    let who = guard::require(Scope::PostmortemsWrite).await?;
    let pool = guard::pool()?;
    vigil_core::store::review_commands::approve(
        &pool,
        id,
        revision,
        &who.audit_name(),
        crate::api::guard::review_rules(),
    )
    .await
    .map_err(command_error)?;
    editor(id);
    Ok(())
}

/// Says the caller has the editor of `id` open (every few seconds while it is); answers the
/// caller's audit name, so the page leaves them out of "also open". Editors.
#[server]
pub async fn mark_editing(id: i64) -> Result<String, ServerFnError> {
    use vigil_core::model::auth::Scope;
    let who = guard::require(Scope::PostmortemsWrite).await?.audit_name();
    let pool = guard::pool()?;
    vigil_core::store::reviews::mark_editing(&pool, id, &who)
        .await
        .map_err(guard::fail)?;
    Ok(who)
}

/// The editor's live preview: Markdown rendered by the sanitizer the published page uses.
/// Ops readers (it stores nothing).
#[server]
pub async fn preview_postmortem(body: String) -> Result<String, ServerFnError> {
    use vigil_core::model::{auth::Scope, postmortem::MAX_BODY};
    guard::require(Scope::Read).await?;
    if body.chars().count() > MAX_BODY {
        return Err(ServerFnError::new(format!(
            "body: at most {MAX_BODY} characters fit"
        )));
    }
    Ok(vigil_core::render::markdown_to_html(&body))
}
