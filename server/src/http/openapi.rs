//! `/api/v1/openapi.json`: the OpenAPI document of the scripts' API, generated from the
//! handlers' `#[utoipa::path]` annotations.

use axum::{routing::get, Json, Router};
use utoipa::OpenApi;

use super::{api_incidents, api_postmortems, AppState};

#[derive(OpenApi)]
#[openapi(
    info(title = "Vigil API", description = "Incidents, maintenances and post-mortems for scripts. Authenticate with `Authorization: Bearer vgl_…` (create a token with `vigil token create`)."),
    paths(api_incidents::create, api_incidents::create_maintenance, api_incidents::patch,
          api_incidents::post_update, api_incidents::list, api_incidents::get_one,
          api_postmortems::get_postmortem, api_postmortems::draft,
          api_postmortems::save, api_postmortems::revisions),
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

/// `GET /api/v1/openapi.json`: public, like any API description.
pub async fn openapi() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}

pub fn router() -> Router<AppState> {
    Router::new().route("/api/v1/openapi.json", get(openapi))
}
