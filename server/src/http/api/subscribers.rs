//! `/api/v1/subscribers` (scope `admin`): who follows the page — listed a page at a time with
//! counts, added (an import may skip the confirmation), removed. Every change is audited.

use axum::{
    extract::{Path, Query, State},
    http::StatusCode,
    Json,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};
use vigil_core::{
    model::subscriber::{Subscriber, SubscriberCount, SubscriptionInput},
    store::subscribers,
};

use crate::http::api::{
    extract::{ApiJson, Require},
    scope,
};
use crate::http::{api::error::ApiError, public::subscriptions, state::AppState};

pub const MAX_PER_PAGE: i64 = 500;

#[derive(Deserialize, IntoParams)]
pub struct PageQuery {
    /// From 1.
    pub page: Option<i64>,
    /// 1–500; 100 when left out.
    pub per_page: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct SubscriberList {
    /// Newest first.
    pub subscribers: Vec<Subscriber>,
    pub page: i64,
    pub per_page: i64,
    /// Subscribers in all.
    pub total: i64,
    pub counts: Vec<SubscriberCount>,
}

/// `GET /api/v1/subscribers` (scope `admin`).
#[utoipa::path(get, path = "/api/v1/subscribers", params(PageQuery),
    responses((status = 200, body = SubscriberList), (status = 400), (status = 401), (status = 403)),
    security(("token" = ["admin"])))]
pub async fn list(
    State(state): State<AppState>,
    _: Require<scope::Admin>,
    Query(q): Query<PageQuery>,
) -> Result<Json<SubscriberList>, ApiError> {
    let page = q.page.unwrap_or(1);
    if page < 1 {
        return Err(ApiError::invalid("page", "pages are numbered from 1"));
    }
    let per_page = q.per_page.unwrap_or(100);
    if !(1..=MAX_PER_PAGE).contains(&per_page) {
        return Err(ApiError::invalid(
            "per_page",
            format!("must be 1 to {MAX_PER_PAGE}"),
        ));
    }
    let (subscribers, total) = subscribers::list(&state.pool, page, per_page).await?;
    Ok(Json(SubscriberList {
        subscribers,
        page,
        per_page,
        total,
        counts: subscribers::counts(&state.pool).await?,
    }))
}

/// A subscriber added by an admin. (Unknown fields are refused by the flattened part.)
#[derive(Deserialize, ToSchema)]
pub struct NewSubscriber {
    #[serde(flatten)]
    pub subscription: subscriptions::SubscriptionRequest,
    /// Already confirmed elsewhere (an import): no confirmation is sent. Default false.
    #[serde(default)]
    pub confirmed: bool,
}

/// `POST /api/v1/subscribers` (scope `admin`).
#[utoipa::path(post, path = "/api/v1/subscribers", request_body = NewSubscriber,
    responses((status = 201, body = Subscriber),
        (status = 400, description = "a field is wrong: the answer names it"),
        (status = 401), (status = 403)),
    security(("token" = ["admin"])))]
pub async fn create(
    State(state): State<AppState>,
    caller: Require<scope::Admin>,
    ApiJson(input): ApiJson<NewSubscriber>,
) -> Result<(StatusCode, Json<Subscriber>), ApiError> {
    let who = caller.audit_name();
    let sub: SubscriptionInput = input.subscription.input()?;
    let id = state
        .subscriptions
        .request(
            &sub,
            input.subscription.secret.as_deref(),
            &who,
            input.confirmed,
        )
        .await
        .map_err(subscriptions::api_error)?
        .id()
        // Admins' requests are never held back.
        .ok_or_else(|| ApiError::Internal("the request was held back".into()))?;
    let found = subscribers::get(&state.pool, id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no subscriber {id}")))?;
    Ok((StatusCode::CREATED, Json(found)))
}

/// `DELETE /api/v1/subscribers/{id}` (scope `admin`): the subscriber and its queued messages.
#[utoipa::path(delete, path = "/api/v1/subscribers/{id}",
    params(("id" = i64, Path, description = "subscriber id")),
    responses((status = 204), (status = 401), (status = 403), (status = 404)),
    security(("token" = ["admin"])))]
pub async fn remove(
    State(state): State<AppState>,
    caller: Require<scope::Admin>,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    let who = caller.audit_name();
    if subscribers::remove(&state.pool, id, &who).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound(format!(
            "no subscriber {id}; GET /api/v1/subscribers lists them"
        )))
    }
}

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(remove))
        .routes(routes!(subscriptions::subscribe_json))
}
