//! `/api/v1/incidents/{id}/postmortem/review`: the review before publishing, for scripts — ask
//! editors to review, comment on a section or reply, resolve a thread, approve the revision read.
//! Writing needs `postmortems:write`; approving needs to be one of the reviewers asked (a user:
//! tokens cannot be asked). Publishing stays `PUT …/postmortem` with `"published": true`, which
//! answers 409 naming `approvals` until the current revision has enough.

use axum::{
    extract::{Path, State},
    http::StatusCode,
    Json,
};
use serde::Deserialize;
use utoipa::ToSchema;
use vigil_core::{
    model::review::Review,
    store::{review_commands, reviews},
};

use crate::http::api::{
    extract::{ApiJson, Require},
    scope,
};
use crate::http::{api::error::ApiError, api::postmortems::id_of, state::AppState};

async fn review_of(state: &AppState, id: i64) -> Result<Json<Review>, ApiError> {
    reviews::review(&state.pool, id, state.review)
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::NotFound(format!("no post-mortem {id}")))
}

#[utoipa::path(get, path = "/api/v1/incidents/{id}/postmortem/review",
    params(("id" = i64, Path, description = "incident id")),
    responses((status = 200, body = Review, description = "state (draft, in_review, approved, published), reviewers and what each approved, comment threads, the sections comments may be about"), (status = 404)),
    security(("token" = ["read"]), ("token" = ["postmortems:write"])))]
pub async fn get_review(
    State(state): State<AppState>,
    _: Require<scope::ReadsPostmortems>,
    Path(incident): Path<i64>,
) -> Result<Json<Review>, ApiError> {
    let id = id_of(&state, incident).await?;
    review_of(&state, id).await
}

/// Editors asked to review.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReviewRequest {
    /// Logins of editors (or admins); not the one asking.
    reviewers: Vec<String>,
}

#[utoipa::path(post, path = "/api/v1/incidents/{id}/postmortem/review/reviewers", request_body = ReviewRequest,
    params(("id" = i64, Path, description = "incident id")),
    responses((status = 200, body = Review, description = "asked; the post-mortem is in review"),
              (status = 400, description = "a reviewer who is no editor, or the one asking"), (status = 404)),
    security(("token" = ["postmortems:write"])))]
pub async fn request_review(
    State(state): State<AppState>,
    caller: Require<scope::PostmortemsWrite>,
    Path(incident): Path<i64>,
    ApiJson(input): ApiJson<ReviewRequest>,
) -> Result<Json<Review>, ApiError> {
    let (who, id) = (caller.audit_name(), id_of(&state, incident).await?);
    review_commands::request_review(&state.pool, id, &input.reviewers, &who).await?;
    review_of(&state, id).await
}

/// A comment on a section, or a reply to a thread.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewComment {
    /// A `##` heading of the current text, or `General`. Not needed for a reply.
    #[serde(default)]
    section: String,
    /// The thread (its first comment's id) this replies to.
    reply_to: Option<i64>,
    /// The revision read.
    revision: i32,
    /// Plain text, at most 5,000 characters.
    body: String,
}

#[utoipa::path(post, path = "/api/v1/incidents/{id}/postmortem/review/comments", request_body = NewComment,
    params(("id" = i64, Path, description = "incident id")),
    responses((status = 201, body = Review, description = "the comment is in its thread"),
              (status = 400, description = "an unknown section, an empty body, a reply to a reply"), (status = 404)),
    security(("token" = ["postmortems:write"])))]
pub async fn comment(
    State(state): State<AppState>,
    caller: Require<scope::PostmortemsWrite>,
    Path(incident): Path<i64>,
    ApiJson(input): ApiJson<NewComment>,
) -> Result<(StatusCode, Json<Review>), ApiError> {
    let (who, id) = (caller.audit_name(), id_of(&state, incident).await?);
    review_commands::comment(
        &state.pool,
        id,
        review_commands::CommentInput {
            section: &input.section,
            reply_to: input.reply_to,
            revision: input.revision,
            body: &input.body,
        },
        &who,
    )
    .await?;
    Ok((StatusCode::CREATED, review_of(&state, id).await?))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ThreadPatch {
    /// true resolves the thread; false opens it again.
    resolved: bool,
}

#[utoipa::path(put, path = "/api/v1/incidents/{id}/postmortem/review/comments/{thread}", request_body = ThreadPatch,
    params(("id" = i64, Path, description = "incident id"), ("thread" = i64, Path, description = "the thread's first comment")),
    responses((status = 200, body = Review), (status = 400, description = "no such thread"), (status = 404)),
    security(("token" = ["postmortems:write"])))]
pub async fn resolve(
    State(state): State<AppState>,
    caller: Require<scope::PostmortemsWrite>,
    Path((incident, thread)): Path<(i64, i64)>,
    ApiJson(input): ApiJson<ThreadPatch>,
) -> Result<Json<Review>, ApiError> {
    let (who, id) = (caller.audit_name(), id_of(&state, incident).await?);
    review_commands::resolve(&state.pool, id, thread, input.resolved, &who).await?;
    review_of(&state, id).await
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Approval {
    /// The revision read and approved; it must still be the current one.
    revision: i32,
}

#[utoipa::path(post, path = "/api/v1/incidents/{id}/postmortem/review/approvals", request_body = Approval,
    params(("id" = i64, Path, description = "incident id")),
    responses((status = 200, body = Review, description = "approved"),
              (status = 400, description = "the caller was not asked to review"),
              (status = 409, description = "a newer revision was saved since the one read: read it and approve that"), (status = 404)),
    security(("token" = ["postmortems:write"])))]
pub async fn approve(
    State(state): State<AppState>,
    caller: Require<scope::PostmortemsWrite>,
    Path(incident): Path<i64>,
    ApiJson(input): ApiJson<Approval>,
) -> Result<Json<Review>, ApiError> {
    let (who, id) = (caller.audit_name(), id_of(&state, incident).await?);
    review_commands::approve(&state.pool, id, input.revision, &who, state.review).await?;
    review_of(&state, id).await
}

pub fn routes() -> utoipa_axum::router::OpenApiRouter<AppState> {
    use utoipa_axum::routes;
    utoipa_axum::router::OpenApiRouter::new()
        .routes(routes!(get_review))
        .routes(routes!(request_review))
        .routes(routes!(comment))
        .routes(routes!(resolve))
        .routes(routes!(approve))
}
