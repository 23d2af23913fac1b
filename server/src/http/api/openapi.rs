//! The scripts' API, `/api/v1`, and its OpenAPI document (`/api/v1/openapi.json`). Every route is
//! registered through its handler's `#[utoipa::path]` (utoipa-axum's `routes!`), so a route cannot
//! be added without being documented, and the document cannot name a route that is not there.

use axum::{
    body::Bytes,
    http::{header, Method},
    routing::get,
    Router,
};
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

use crate::http::{
    api::agents, api::evidence, api::follow_ups, api::incidents, api::postmortems,
    api::reliability, api::resources, api::reviews, api::settings, api::slos, api::subscribers,
    api::v1, api::world, state::AppState,
};

#[derive(OpenApi)]
#[openapi(
    info(title = "Vigil API", description = "Incidents, maintenances and post-mortems for scripts. Authenticate with `Authorization: Bearer vgl_…` (create a token with `vigil token create`)."),
    components(schemas(incidents::NewIncident, incidents::IncidentPatch,
                       incidents::NewUpdate, incidents::NewMaintenance,
                       postmortems::PostmortemSave)),
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

/// The `/api/v1` routes in two route groups: scripts' and agents'.
pub struct Api {
    pub scripts: Router<AppState>,
    pub agents: Router<AppState>,
    /// The document describing exactly those routes.
    pub doc: utoipa::openapi::OpenApi,
    pub scripts_table: Vec<(Method, String)>,
    pub agents_table: Vec<(Method, String)>,
}

/// Every `/api/v1` route, and the document describing exactly those.
pub fn api() -> Api {
    let (scripts, mut doc) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(v1::routes())
        .merge(resources::routes())
        .merge(incidents::routes())
        .merge(postmortems::routes())
        .merge(reviews::routes())
        .merge(evidence::routes())
        .merge(follow_ups::routes())
        .merge(subscribers::routes())
        .merge(reliability::routes())
        .merge(world::routes())
        .merge(settings::routes())
        .merge(slos::routes())
        .split_for_parts();
    let (agents, agents_doc) = agents::routes().split_for_parts();
    let mut scripts_table = table_of(&doc);
    let agents_table = table_of(&agents_doc);
    doc.merge(agents_doc);
    // Public, like any API description. Served as the JSON it is written as once: the document
    // itself (maps of schemas, operations and their clones) held 2 MB of an idle Vigil's 4.3 MB
    // heap; its text is a tenth of that.
    let served = Bytes::from(serde_json::to_vec(&doc).expect("the OpenAPI document serializes"));
    let scripts = scripts.route(
        OPENAPI_PATH,
        get(move || {
            let body = served.clone();
            async move { ([(header::CONTENT_TYPE, "application/json")], body) }
        }),
    );
    scripts_table.push((Method::GET, OPENAPI_PATH.into()));
    Api {
        scripts,
        agents,
        doc,
        scripts_table,
        agents_table,
    }
}

const OPENAPI_PATH: &str = "/api/v1/openapi.json";

/// Each documented operation's method and path.
fn table_of(doc: &utoipa::openapi::OpenApi) -> Vec<(Method, String)> {
    let mut out = Vec::new();
    for (path, item) in &doc.paths.paths {
        for (method, op) in [
            (Method::GET, &item.get),
            (Method::POST, &item.post),
            (Method::PUT, &item.put),
            (Method::PATCH, &item.patch),
            (Method::DELETE, &item.delete),
        ] {
            if op.is_some() {
                out.push((method, path.clone()));
            }
        }
    }
    out
}
