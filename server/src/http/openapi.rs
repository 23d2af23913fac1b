//! The scripts' API, `/api/v1`, and its OpenAPI document (`/api/v1/openapi.json`). Every route is
//! registered through its handler's `#[utoipa::path]` (utoipa-axum's `routes!`), so a route cannot
//! be added without being documented, and the document cannot name a route that is not there.

use std::sync::Arc;

use axum::{routing::get, Json, Router};
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

use super::{
    api_agents, api_evidence, api_follow_ups, api_incidents, api_postmortems, api_reliability,
    api_resources, api_reviews, api_subscribers, api_v1, AppState,
};

#[derive(OpenApi)]
#[openapi(
    info(title = "Vigil API", description = "Incidents, maintenances and post-mortems for scripts. Authenticate with `Authorization: Bearer vgl_…` (create a token with `vigil token create`)."),
    components(schemas(api_incidents::NewIncident, api_incidents::IncidentPatch,
                       api_incidents::NewUpdate, api_incidents::NewMaintenance,
                       api_postmortems::PostmortemSave)),
    modifiers(&Security)
)]
pub struct ApiDoc;

struct Security;

impl utoipa::Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "token",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("vgl_…")
                    .build(),
            ),
        );
    }
}

/// Every `/api/v1` route, and the document describing exactly those.
pub fn api() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    let (router, doc) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(api_v1::routes())
        .merge(api_resources::routes())
        .merge(api_incidents::routes())
        .merge(api_postmortems::routes())
        .merge(api_reviews::routes())
        .merge(api_agents::routes())
        .merge(api_evidence::routes())
        .merge(api_follow_ups::routes())
        .merge(api_subscribers::routes())
        .merge(api_reliability::routes())
        .split_for_parts();
    // Public, like any API description.
    let served = Arc::new(doc.clone());
    let router = router.route(
        "/api/v1/openapi.json",
        get(move || {
            let doc = served.clone();
            async move { Json((*doc).clone()) }
        }),
    );
    (router, doc)
}
