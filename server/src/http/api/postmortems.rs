//! `/api/v1/incidents/{id}/postmortem`: draft, read, save and publish an incident's post-mortem
//! from scripts (scope `postmortems:write`; reading needs `read`). Saves carry the revision they
//! were based on; a stale one answers 409 and keeps the text as its own revision.

use axum::{
    extract::{Path, State},
    http::StatusCode,
    Json,
};
use serde::Deserialize;
use utoipa::ToSchema;
use vigil_core::{
    model::postmortem::SaveOutcome,
    store::{postmortem_commands, postmortems},
};

use crate::http::api::{
    extract::{ApiJson, Require},
    scope,
};
use crate::http::{
    api::bodies::{Postmortem, RevisionList, SaveConflict},
    api::error::ApiError,
    state::AppState,
};

/// A new revision of the post-mortem.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PostmortemSave {
    /// The revision this text was written from (`revision` from the last GET).
    base_revision: i32,
    /// Markdown.
    body: String,
    /// Unchanged when left out.
    title: Option<String>,
    /// true publishes it on the incident's public page and in its JSON (with `[postmortems]
    /// approvals` above 0, once the current revision has that many: 409 naming `approvals`
    /// otherwise); false takes it back.
    published: Option<bool>,
    /// Contributing factors, from: capacity, config, deploy, upstream-provider, network,
    /// hardware, software-bug, dependency, monitoring-gap, human-error. Unchanged when left out.
    tags: Option<Vec<String>>,
}

/// The incident's post-mortem, or a 404 that says how to draft one.
pub(super) async fn id_of(state: &AppState, incident: i64) -> Result<i64, ApiError> {
    postmortems::id_for_incident(&state.pool, incident)
        .await?
        .ok_or_else(|| {
            ApiError::NotFound(format!(
                "incident {incident} has no post-mortem; POST /api/v1/incidents/{incident}/postmortem drafts one"
            ))
        })
}

async fn current(state: &AppState, id: i64) -> Result<Postmortem, ApiError> {
    let p = postmortems::get(&state.pool, id, false)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no post-mortem {id}")))?;
    Ok(Postmortem::of(&p))
}

#[utoipa::path(get, path = "/api/v1/incidents/{id}/postmortem",
    params(("id" = i64, Path, description = "incident id")),
    responses((status = 200, body = Postmortem, description = "the post-mortem, draft or published"), (status = 404)),
    security(("token" = ["read"]), ("token" = ["postmortems:write"])))]
pub async fn get_postmortem(
    State(state): State<AppState>,
    _: Require<scope::ReadsPostmortems>,
    Path(incident): Path<i64>,
) -> Result<Json<Postmortem>, ApiError> {
    let id = id_of(&state, incident).await?;
    Ok(Json(current(&state, id).await?))
}

#[utoipa::path(post, path = "/api/v1/incidents/{id}/postmortem",
    params(("id" = i64, Path, description = "incident id")),
    responses((status = 201, body = Postmortem, description = "Vigil's first draft, from what it recorded"),
              (status = 200, body = Postmortem, description = "the incident already had one: that one"), (status = 404)),
    security(("token" = ["postmortems:write"])))]
pub async fn draft(
    State(state): State<AppState>,
    caller: Require<scope::PostmortemsWrite>,
    Path(incident): Path<i64>,
) -> Result<(StatusCode, Json<Postmortem>), ApiError> {
    let who = caller.audit_name();
    // The chain is a suggestion: a draft is still made when it cannot be computed.
    let causes = match state.causes.of_incident(&state.pool, incident).await {
        Ok(c) => c,
        Err(e) => {
            tracing::warn!(incident, error = %e, "chain of causes not computed for the draft");
            None
        }
    };
    let objectives = crate::objectives::objectives_of(&state.world.live.borrow().settings);
    let (id, created) = postmortem_commands::draft(
        &state.pool,
        incident,
        &who,
        &state.graph_settings(),
        causes.as_ref(),
        &objectives,
    )
    .await?;
    let code = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((code, Json(current(&state, id).await?)))
}

#[utoipa::path(put, path = "/api/v1/incidents/{id}/postmortem", request_body = PostmortemSave,
    params(("id" = i64, Path, description = "incident id")),
    responses((status = 200, body = Postmortem, description = "saved: the post-mortem with its new `revision`"),
              (status = 409, body = SaveConflict, description = "`base_revision` is not the current revision: the text was kept as revision `kept_as`; merge and save again from `current_revision`"),
              (status = 400), (status = 404)),
    security(("token" = ["postmortems:write"])))]
pub async fn save(
    State(state): State<AppState>,
    caller: Require<scope::PostmortemsWrite>,
    Path(incident): Path<i64>,
    ApiJson(input): ApiJson<PostmortemSave>,
) -> Result<Json<Postmortem>, ApiError> {
    let who = caller.audit_name();
    // Checked before anything is saved: a refused request keeps nothing.
    let tags = input
        .tags
        .as_deref()
        .map(vigil_core::model::reliability::tags)
        .transpose()
        .map_err(|e| ApiError::invalid("tags", e))?;
    let id = id_of(&state, incident).await?;
    if input.published == Some(true) {
        // Publishing needs approvals of the text as it stands: text that changes with this very
        // request was never approved, so the request is refused before anything is saved.
        postmortem_commands::check_publishable(
            &state.pool,
            id,
            input.title.as_deref(),
            &input.body,
            state.review,
        )
        .await?;
    }
    let outcome = postmortem_commands::save(
        &state.pool,
        id,
        input.base_revision,
        input.title.as_deref(),
        &input.body,
        &who,
        state.review,
    )
    .await?;
    if let SaveOutcome::Conflict { current, kept_as } = outcome {
        return Err(ApiError::Conflict(SaveConflict {
            error: format!(
                "revision {current} was saved since revision {} you started from; your text is kept as revision {kept_as} — merge it and save with base_revision {current}",
                input.base_revision
            ),
            current_revision: current,
            kept_as,
        }));
    }
    if let Some(tags) = tags {
        vigil_core::store::reliability::set_tags(&state.pool, id, &tags, &who).await?;
    }
    if let Some(published) = input.published {
        postmortem_commands::publish(&state.pool, id, published, &who, state.review).await?;
    }
    Ok(Json(current(&state, id).await?))
}

#[utoipa::path(get, path = "/api/v1/incidents/{id}/postmortem/revisions",
    params(("id" = i64, Path, description = "incident id")),
    responses((status = 200, body = RevisionList, description = "every revision, newest first"), (status = 404)),
    security(("token" = ["read"]), ("token" = ["postmortems:write"])))]
pub async fn revisions(
    State(state): State<AppState>,
    _: Require<scope::ReadsPostmortems>,
    Path(incident): Path<i64>,
) -> Result<Json<RevisionList>, ApiError> {
    let id = id_of(&state, incident).await?;
    let revisions = postmortems::revisions(&state.pool, id).await?;
    let review = vigil_core::store::reviews::history(&state.pool, id).await?;
    Ok(Json(RevisionList { revisions, review }))
}

/// A zip: `postmortem.md` and each snapshot as `snapshots/snapshot-N.svg`.
#[derive(ToSchema)]
#[schema(value_type = String, format = Binary)]
pub struct ExportZip(#[allow(dead_code)] Vec<u8>);

#[utoipa::path(get, path = "/api/v1/incidents/{id}/postmortem/export",
    params(("id" = i64, Path, description = "incident id")),
    responses((status = 200, body = ExportZip, content_type = "application/zip",
               description = "the post-mortem as Markdown with its snapshots as SVG files, zipped; every snapshot, private ones included (this is the team's copy)"),
              (status = 404)),
    security(("token" = ["read"]), ("token" = ["postmortems:write"])))]
pub async fn export(
    State(state): State<AppState>,
    _: Require<scope::ReadsPostmortems>,
    Path(incident): Path<i64>,
) -> Result<axum::response::Response, ApiError> {
    use axum::response::IntoResponse;
    use std::io::Write;
    use vigil_core::{model::postmortem, render::svg::stack_svg};
    let id = id_of(&state, incident).await?;
    let p = postmortems::get(&state.pool, id, false)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no post-mortem {id}")))?;
    let shown = postmortems::shown_body(&state.pool, id, &p.body).await?;
    let md = postmortem::export_markdown(&p, &shown, chrono::Utc::now());
    let folder = format!("postmortem-incident-{incident}");
    let zipped = (|| -> zip::result::ZipResult<Vec<u8>> {
        let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        zip.start_file(format!("{folder}/postmortem.md"), options)?;
        zip.write_all(md.as_bytes())?;
        for s in &p.snapshots {
            zip.start_file(
                format!("{folder}/{}", postmortem::snapshot_file(s.id)),
                options,
            )?;
            zip.write_all(stack_svg(&s.stack, &s.caption).as_bytes())?;
        }
        Ok(zip.finish()?.into_inner())
    })()
    .map_err(|e| ApiError::Internal(format!("could not write the zip: {e}")))?;
    Ok((
        [
            (
                axum::http::header::CONTENT_TYPE,
                "application/zip".to_string(),
            ),
            (
                axum::http::header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{folder}.zip\""),
            ),
            (
                axum::http::header::CACHE_CONTROL,
                "private, no-store".to_string(),
            ),
        ],
        zipped,
    )
        .into_response())
}

pub fn routes() -> utoipa_axum::router::OpenApiRouter<AppState> {
    use utoipa_axum::routes;
    utoipa_axum::router::OpenApiRouter::new()
        .routes(routes!(get_postmortem, draft, save))
        .routes(routes!(revisions))
        .routes(routes!(export))
}
