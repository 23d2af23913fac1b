//! Incidents and maintenances as operators see and change them, and the deliveries to channels.

use leptos::prelude::*;

#[cfg(feature = "ssr")]
use super::guard;
#[cfg(feature = "ssr")]
use super::guard::command_error;

/// One incident. Internal notes and evidence only for signed-in readers who ask for them.
#[server]
pub async fn get_incident(
    id: i64,
    internal: bool,
) -> Result<Option<vigil_core::model::incident::IncidentView>, ServerFnError> {
    use vigil_core::model::auth::Scope;
    if internal {
        guard::require(Scope::Read).await?;
    }
    let pool = guard::pool()?;
    let found = vigil_core::store::incidents::get(&pool, id, internal)
        .await
        .map_err(guard::fail)?;
    if found.is_none() {
        guard::set_status(http::StatusCode::NOT_FOUND);
    }
    Ok(found)
}

/// The chains of causes Vigil's evidence points to for one incident. Signed-in readers only:
/// they name nodes, balancers and monitors.
#[server]
pub async fn get_incident_causes(
    id: i64,
) -> Result<Option<vigil_core::model::causes::Causes>, ServerFnError> {
    use vigil_core::model::auth::Scope;
    guard::require(Scope::Read).await?;
    let explains = use_context::<std::sync::Arc<dyn vigil_core::model::causes::Explains>>()
        .ok_or_else(|| ServerFnError::new("the chain of causes is not available here"))?;
    explains.causes(id).await.map_err(ServerFnError::new)
}

/// The dependency map the chains are walked along. Signed-in readers only.
#[server]
pub async fn get_dependencies() -> Result<vigil_core::model::causes::DependencyMap, ServerFnError> {
    use vigil_core::model::auth::Scope;
    guard::require(Scope::Read).await?;
    let explains = use_context::<std::sync::Arc<dyn vigil_core::model::causes::Explains>>()
        .ok_or_else(|| ServerFnError::new("the dependency map is not available here"))?;
    explains.map().await.map_err(ServerFnError::new)
}

/// Every incident and maintenance for the ops list, with the components a form can pick.
#[server]
pub async fn get_ops_incidents() -> Result<OpsIncidents, ServerFnError> {
    use vigil_core::{
        model::auth::Scope,
        store::incidents::{list, Filter},
    };
    guard::require(Scope::Read).await?;
    let pool = guard::pool()?;
    let components = vigil_core::store::incidents::component_choices(&pool)
        .await
        .map_err(guard::fail)?;
    Ok(OpsIncidents {
        incidents: list(&pool, Filter::Everything(200), true)
            .await
            .map_err(guard::fail)?,
        components,
    })
}

#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct OpsIncidents {
    pub incidents: Vec<vigil_core::model::incident::IncidentView>,
    /// (id, name)
    pub components: Vec<(String, String)>,
}

/// Opens an incident. Editors.
#[server]
pub async fn create_incident(
    name: String,
    status: String,
    impact: String,
    body: String,
    #[server(default)] components: Vec<String>,
) -> Result<i64, ServerFnError> {
    use vigil_core::{
        model::auth::Scope,
        store::incident_commands::{impact_typed, status_typed, IncidentInput},
    };
    let who = guard::require(Scope::IncidentsWrite).await?;
    let input = IncidentInput {
        name: Some(name),
        status: status_typed(&status).map_err(command_error)?,
        impact: impact_typed(&impact).map_err(command_error)?,
        body: Some(body),
        component_ids: Some(components),
        ..Default::default()
    };
    create_as(
        who,
        vigil_core::model::incident::IncidentKind::Incident,
        input,
    )
    .await
}

/// Schedules a maintenance; times are UTC from `<input type="datetime-local">`. Editors.
#[server]
pub async fn schedule_maintenance(
    name: String,
    body: String,
    #[server(default)] components: Vec<String>,
    scheduled_for: String,
    scheduled_until: String,
) -> Result<i64, ServerFnError> {
    use vigil_core::{
        model::auth::Scope,
        store::incident_commands::{CommandError, IncidentInput},
    };
    let who = guard::require(Scope::IncidentsWrite).await?;
    let when = |field: &'static str, s: &str| {
        chrono::NaiveDateTime::parse_from_str(s.trim(), "%Y-%m-%dT%H:%M")
            .map(|t| Some(t.and_utc()))
            .map_err(|_| {
                command_error(CommandError::Invalid {
                    field,
                    message: format!("`{s}` is not a date and time (YYYY-MM-DDTHH:MM, UTC)"),
                })
            })
    };
    let input = IncidentInput {
        name: Some(name),
        body: Some(body),
        component_ids: Some(components),
        scheduled_for: when("scheduled_for", &scheduled_for)?,
        scheduled_until: when("scheduled_until", &scheduled_until)?,
        ..Default::default()
    };
    create_as(
        who,
        vigil_core::model::incident::IncidentKind::Maintenance,
        input,
    )
    .await
}

#[cfg(feature = "ssr")]
async fn create_as(
    who: vigil_core::model::auth::Principal,
    kind: vigil_core::model::incident::IncidentKind,
    input: vigil_core::store::incident_commands::IncidentInput,
) -> Result<i64, ServerFnError> {
    let pool = guard::pool()?;
    let id = vigil_core::store::incident_commands::create(&pool, kind, &input, &who.audit_name())
        .await
        .map_err(command_error)?;
    leptos_axum::redirect(&format!("/ops/incidents/{id}"));
    Ok(id)
}

/// Posts an update or an internal note, optionally with a new status. Editors.
#[server]
pub async fn post_incident_update(
    id: i64,
    body: String,
    #[server(default)] status: String,
    #[server(default)] internal: Option<String>,
) -> Result<(), ServerFnError> {
    use vigil_core::{
        model::auth::Scope,
        store::incident_commands::{post_update, status_typed, UpdateInput},
    };
    let who = guard::require(Scope::IncidentsWrite).await?;
    let pool = guard::pool()?;
    let input = UpdateInput {
        body,
        status: status_typed(&status).map_err(command_error)?,
        internal: internal.is_some(),
    };
    post_update(&pool, id, &input, &who.audit_name())
        .await
        .map_err(command_error)?;
    leptos_axum::redirect(&format!("/ops/incidents/{id}"));
    Ok(())
}

/// Changes an incident's name, impact or components. Editors.
#[server]
pub async fn change_incident(
    id: i64,
    name: String,
    impact: String,
    #[server(default)] components: Vec<String>,
) -> Result<(), ServerFnError> {
    use vigil_core::{
        model::auth::Scope,
        store::incident_commands::{impact_typed, patch, IncidentInput},
    };
    let who = guard::require(Scope::IncidentsWrite).await?;
    let pool = guard::pool()?;
    let input = IncidentInput {
        name: Some(name),
        impact: impact_typed(&impact).map_err(command_error)?,
        component_ids: Some(components),
        ..Default::default()
    };
    patch(&pool, id, &input, &who.audit_name())
        .await
        .map_err(command_error)?;
    leptos_axum::redirect(&format!("/ops/incidents/{id}"));
    Ok(())
}

/// The newest notification deliveries. Admins only.
#[server]
pub async fn get_deliveries(
) -> Result<Vec<vigil_core::model::notification::Delivery>, ServerFnError> {
    use vigil_core::model::auth::Scope;
    guard::require(Scope::Admin).await?;
    let pool = guard::pool()?;
    vigil_core::store::notifications::recent(&pool, 200)
        .await
        .map_err(guard::fail)
}
