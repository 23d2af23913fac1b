//! Server functions: thin wrappers that authorize, call `vigil_core::store`, and map errors.

use leptos::prelude::*;
use vigil_core::model::{audit::AuditEntry, live::LiveStatus};

pub mod postmortems;

/// The status: components, uptime, latency. Public; monitors (names, kinds, errors) only for ops
/// readers, since this is the hydration data of the public page too.
#[server]
pub async fn get_status_summary() -> Result<vigil_core::model::status::StatusSummary, ServerFnError>
{
    use vigil_core::{model::status::PageTitle, store::status::StatusCache};
    let cache = use_context::<std::sync::Arc<StatusCache>>()
        .ok_or_else(|| ServerFnError::new("status is not available"))?;
    let title = use_context::<PageTitle>()
        .map(|t| t.0)
        .unwrap_or_else(|| "Vigil".into());
    let version = use_context::<tokio::sync::watch::Receiver<LiveStatus>>()
        .map(|l| l.borrow().status_version)
        .unwrap_or_default();
    let pool = guard::pool()?;
    let summary = cache
        .get(&pool, &title, version)
        .await
        .map_err(guard::fail)?;
    let ops = guard::auth()
        .await
        .require(vigil_core::model::auth::Scope::Read)
        .is_ok();
    Ok(if ops {
        (*summary).clone()
    } else {
        summary.public()
    })
}

/// Pauses or resumes a monitor. Admins only; audited.
#[server]
pub async fn set_monitor_paused(name: String, paused: bool) -> Result<(), ServerFnError> {
    use vigil_core::{
        model::{auth::Scope, monitor::PauseRequest},
        store::{audit, monitors},
    };
    let who = guard::require(Scope::Admin).await?;
    let pool = guard::pool()?;
    let Some(id) = monitors::set_paused(&pool, &name, paused)
        .await
        .map_err(guard::fail)?
    else {
        return Err(ServerFnError::new(format!("no monitor named `{name}`")));
    };
    let action = if paused {
        "monitor.pause"
    } else {
        "monitor.resume"
    };
    audit::record(
        &pool,
        &who.audit_name(),
        action,
        &format!("monitor:{name}"),
        serde_json::json!({}),
    )
    .await
    .map_err(guard::fail)?;
    if let Some(tx) = use_context::<tokio::sync::mpsc::UnboundedSender<PauseRequest>>() {
        let _ = tx.send(PauseRequest {
            monitor_id: id,
            paused,
        });
    }
    Ok(())
}

/// Load-balancer backends with their UP/DOWN history over the last `hours`. Viewers and up.
#[server]
pub async fn get_load_balancers(
    hours: i64,
) -> Result<Vec<vigil_core::model::backend::BackendView>, ServerFnError> {
    use vigil_core::model::auth::Scope;
    guard::require(Scope::Read).await?;
    let pool = guard::pool()?;
    let hours = hours.clamp(1, 24 * 7);
    let end = chrono::Utc::now();
    vigil_core::store::backends::views(&pool, end - chrono::Duration::hours(hours), end)
        .await
        .map_err(guard::fail)
}

/// The upstream providers as their status pages last said. Viewers and up.
#[server]
pub async fn get_upstreams() -> Result<Vec<vigil_core::model::upstream::UpstreamView>, ServerFnError>
{
    use vigil_core::model::auth::Scope;
    guard::require(Scope::Read).await?;
    let pool = guard::pool()?;
    vigil_core::store::upstream::all(&pool)
        .await
        .map_err(guard::fail)
}

/// Follow-ups across post-mortems; `status` "all" shows every status. Viewers and up.
#[server]
pub async fn get_follow_ups(
    owner: Option<String>,
    status: Option<String>,
    overdue: bool,
) -> Result<Vec<vigil_core::model::follow_up::FollowUp>, ServerFnError> {
    use vigil_core::model::{
        auth::Scope,
        follow_up::{FollowUpFilter, FollowUpStatus},
    };
    guard::require(Scope::Read).await?;
    let pool = guard::pool()?;
    let status = match status.as_deref() {
        None | Some("all") | Some("") => None,
        Some(s) => Some(FollowUpStatus::parse(s).ok_or_else(|| {
            ServerFnError::new(format!("status: `{s}` is not open, done, wont_do or all"))
        })?),
    };
    let filter = FollowUpFilter {
        owner: owner.filter(|o| !o.is_empty()),
        status,
        overdue,
    };
    vigil_core::store::follow_ups::list(&pool, &filter)
        .await
        .map_err(guard::fail)
}

/// The newest 200 NodeBalancer configuration readings (changes, re-applies). Viewers and up.
#[server]
pub async fn get_lb_config_history(
) -> Result<Vec<vigil_core::model::lb_config::HistoryEntry>, ServerFnError> {
    use vigil_core::model::auth::Scope;
    guard::require(Scope::Read).await?;
    let pool = guard::pool()?;
    vigil_core::store::lb_configs::history(&pool, 200)
        .await
        .map_err(guard::fail)
}

/// Every signal over one window on one time axis: probes, backends, node graphs, events. The
/// window is a named range (`1h` … `30d`) or explicit `from`/`to`. Viewers and up.
#[server]
pub async fn get_correlation(
    range: Option<String>,
    from: Option<String>,
    to: Option<String>,
) -> Result<vigil_core::model::stack::Stack, ServerFnError> {
    use vigil_core::model::auth::Scope;
    guard::require(Scope::Read).await?;
    let pool = guard::pool()?;
    let (from, to) = guard::window(range, from, to)?;
    vigil_core::store::correlation::correlation(&pool, from, to, &guard::graphs())
        .await
        .map_err(guard::fail)
}

/// The node page: nodes with their newest values, every data source's freshness, and graphs of
/// every resource metric over the range. Viewers and up.
#[server]
pub async fn get_nodes(range: Option<String>) -> Result<NodesPage, ServerFnError> {
    use vigil_core::{
        model::{
            auth::Scope,
            resource::Metric,
            stack::{Section, Stack},
        },
        store::{correlation, resources, sources},
    };
    guard::require(Scope::Read).await?;
    let pool = guard::pool()?;
    let graphs = guard::graphs();
    let (from, to) = guard::window(range, None, None)?;
    let nodes = resources::nodes(
        &pool,
        chrono::Utc::now(),
        chrono::Duration::seconds(graphs.node_stale_secs as i64),
    )
    .await
    .map_err(guard::fail)?;
    let rows = correlation::metric_rows(&pool, from, to, &graphs, &Metric::ALL)
        .await
        .map_err(guard::fail)?;
    Ok(NodesPage {
        nodes,
        kubernetes: vigil_core::store::kubernetes::nodes(&pool)
            .await
            .map_err(guard::fail)?,
        sources: sources::all(&pool).await.map_err(guard::fail)?,
        stack: Stack {
            from,
            to,
            sections: vec![Section {
                title: "Resources".into(),
                rows,
            }],
            marks: Vec::new(),
        },
    })
}

#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct NodesPage {
    pub nodes: Vec<vigil_core::model::resource::NodeSummary>,
    /// Nodes of the `[[kubernetes]]` clusters: conditions, requests against allocatable.
    pub kubernetes: Vec<vigil_core::model::kubernetes::NodeView>,
    pub sources: Vec<vigil_core::model::resource::SourceView>,
    pub stack: vigil_core::model::stack::Stack,
}

/// Each NodeBalancer's connection count over the last `hours`, as a stack of graphs. Viewers.
#[server]
pub async fn get_lb_connections(
    hours: i64,
) -> Result<vigil_core::model::stack::Stack, ServerFnError> {
    use vigil_core::{
        model::{
            auth::Scope,
            stack::{Section, Stack},
        },
        store::correlation,
    };
    guard::require(Scope::Read).await?;
    let pool = guard::pool()?;
    let to = chrono::Utc::now();
    let from = to - chrono::Duration::hours(hours.clamp(1, 24 * 7));
    let rows = correlation::connection_rows(&pool, from, to)
        .await
        .map_err(guard::fail)?;
    Ok(Stack {
        from,
        to,
        sections: vec![Section {
            title: "Connections".into(),
            rows,
        }],
        marks: Vec::new(),
    })
}

/// The latest tick of the live feed. Rendered into the first HTML so the page is complete without
/// JavaScript; after hydration the page follows the SSE stream instead. Ops readers only: it
/// carries the database's state and error text.
#[server]
pub async fn get_live_status() -> Result<LiveStatus, ServerFnError> {
    guard::require(vigil_core::model::auth::Scope::Read).await?;
    let feed = use_context::<tokio::sync::watch::Receiver<LiveStatus>>()
        .ok_or_else(|| ServerFnError::new("the live feed is not running"))?;
    let status = feed.borrow().clone();
    Ok(status)
}

#[server]
pub async fn whoami() -> Result<vigil_core::model::auth::Me, ServerFnError> {
    use vigil_core::model::auth::Scope;
    Ok(guard::require(Scope::Read).await?.me())
}

/// The newest 200 audit entries. Admins only.
#[server]
pub async fn audit_entries() -> Result<Vec<AuditEntry>, ServerFnError> {
    use vigil_core::model::auth::Scope;
    guard::require(Scope::Admin).await?;
    let pool = guard::pool()?;
    vigil_core::store::audit::recent(&pool, 200)
        .await
        .map_err(guard::fail)
}

/// The replicas heard from in the last minute, and what each holds. Readers of `/ops`.
#[server]
pub async fn get_replicas() -> Result<Vec<vigil_core::model::cluster::ReplicaView>, ServerFnError> {
    use vigil_core::model::auth::Scope;
    guard::require(Scope::Read).await?;
    let pool = guard::pool()?;
    vigil_core::store::cluster::replicas(&pool, 60.0)
        .await
        .map_err(guard::fail)
}

/// The server side of every server function's authorization: the same `Auth::require` the HTTP
/// routes use, on the `Auth` the server resolved for this request.
#[cfg(feature = "ssr")]
pub mod guard {
    use leptos::prelude::*;
    use vigil_core::model::{
        answer::Answer,
        auth::{Auth, Principal, Scope},
    };

    /// The caller, as the server's resolver saw them. A request that did not pass the resolver
    /// (there is none) counts as anonymous.
    pub async fn auth() -> Auth {
        leptos_axum::extract::<axum::Extension<Auth>>()
            .await
            .map(|axum::Extension(a)| a)
            .unwrap_or_default()
    }

    pub async fn require(scope: Scope) -> Result<Principal, ServerFnError> {
        let auth = auth().await;
        auth.require(scope).cloned().map_err(fail)
    }

    /// A server function's failure: the status and words the error's [`Answer`] gives (the
    /// same as the JSON API's), the real cause of a 5xx in the log.
    pub fn fail(e: impl Answer) -> ServerFnError {
        if e.status() >= 500 {
            leptos::logging::error!("server function failed: {e}");
        }
        set_status(
            http::StatusCode::from_u16(e.status())
                .unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR),
        );
        ServerFnError::new(e.public_message())
    }

    /// Sets the answer's status — except for a plain HTML form posting to a server function (no
    /// JavaScript): that one is answered with a redirect back to the form's page carrying the
    /// error, which the page shows, and a status here would replace the redirect with a bare
    /// error text.
    pub fn set_status(code: http::StatusCode) {
        let form_post = use_context::<http::request::Parts>().is_some_and(|p| {
            p.method == http::Method::POST
                && p.headers
                    .get(http::header::ACCEPT)
                    .and_then(|a| a.to_str().ok())
                    .is_some_and(|a| a.contains("text/html"))
        });
        if form_post {
            return;
        }
        if let Some(resp) = use_context::<leptos_axum::ResponseOptions>() {
            resp.set_status(code);
        }
    }

    /// How many approvals publishing a post-mortem needs, as the server was configured.
    pub fn review_rules() -> vigil_core::model::review::ReviewRules {
        use_context::<vigil_core::model::review::ReviewRules>().unwrap_or_default()
    }

    /// The graph settings the server provided (defaults when it did not).
    pub fn graphs() -> vigil_core::model::resource::GraphSettings {
        use_context::<std::sync::Arc<vigil_core::model::resource::GraphSettings>>()
            .map(|g| (*g).clone())
            .unwrap_or_default()
    }

    /// A window from the page's query, or a 400 naming what to fix.
    pub fn window(
        range: Option<String>,
        from: Option<String>,
        to: Option<String>,
    ) -> Result<(chrono::DateTime<chrono::Utc>, chrono::DateTime<chrono::Utc>), ServerFnError> {
        vigil_core::model::window::resolve(
            range.as_deref(),
            from.as_deref(),
            to.as_deref(),
            chrono::Utc::now(),
        )
        .map_err(fail)
    }

    pub fn pool() -> Result<vigil_core::store::PgPool, ServerFnError> {
        use_context::<vigil_core::store::PgPool>()
            .ok_or_else(|| ServerFnError::new("no database pool"))
    }
}

/// Every component's uptime, month by month over the last year, maintenance hours left out.
/// Public: component names and percentages only.
#[server]
pub async fn get_uptime() -> Result<Vec<vigil_core::model::uptime::ComponentUptime>, ServerFnError>
{
    let pool = guard::pool()?;
    vigil_core::store::uptime::monthly(&pool, 12)
        .await
        .map_err(guard::fail)
}

/// Incidents of the last year, newest first, public updates only. Public.
#[server]
pub async fn get_history() -> Result<Vec<vigil_core::model::incident::IncidentView>, ServerFnError>
{
    use vigil_core::store::incidents::{list, Filter};
    let pool = guard::pool()?;
    let now = chrono::Utc::now();
    list(
        &pool,
        Filter::Between(
            now - chrono::Duration::days(365),
            now + chrono::Duration::days(1),
        ),
        false,
    )
    .await
    .map_err(guard::fail)
}

/// Incidents that started in the last `days` days (at most 30), newest first, public updates
/// only: the status page's "past incidents". Public.
#[server]
pub async fn get_recent_incidents(
    days: i64,
) -> Result<Vec<vigil_core::model::incident::IncidentView>, ServerFnError> {
    use vigil_core::store::incidents::{list, Filter};
    let pool = guard::pool()?;
    let now = chrono::Utc::now();
    list(
        &pool,
        Filter::Between(now - chrono::Duration::days(days.clamp(1, 30)), now),
        false,
    )
    .await
    // A part of the status page, not the page: when the database is away the page still
    // answers 200 with the last state held (`get_status_summary`), and says this part is missing.
    .map_err(|e| {
        use vigil_core::model::answer::Answer;
        leptos::logging::error!("past incidents unavailable: {e}");
        ServerFnError::new(e.public_message())
    })
}

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

#[cfg(feature = "ssr")]
pub(crate) fn command_error(
    e: vigil_core::store::incident_commands::CommandError,
) -> ServerFnError {
    guard::fail(e)
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
    use vigil_core::{model::auth::Scope, store::incident_commands::IncidentInput};
    let who = guard::require(Scope::IncidentsWrite).await?;
    let input = IncidentInput {
        name: Some(name),
        status: (!status.is_empty()).then_some(status),
        impact: (!impact.is_empty()).then_some(impact),
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
        store::incident_commands::{post_update, UpdateInput},
    };
    let who = guard::require(Scope::IncidentsWrite).await?;
    let pool = guard::pool()?;
    let input = UpdateInput {
        body,
        status: (!status.is_empty()).then_some(status),
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
        store::incident_commands::{patch, IncidentInput},
    };
    let who = guard::require(Scope::IncidentsWrite).await?;
    let pool = guard::pool()?;
    let input = IncidentInput {
        name: Some(name),
        impact: (!impact.is_empty()).then_some(impact),
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

/// What the subscribe form offers (channels, components). Public.
#[server]
pub async fn get_subscribe_offer(
) -> Result<vigil_core::model::subscriber::SubscribeOffer, ServerFnError> {
    use vigil_core::model::subscriber::SubscribeOffer;
    let offer = use_context::<SubscribeOffer>().unwrap_or_default();
    let pool = guard::pool()?;
    let components = vigil_core::store::incidents::component_choices(&pool)
        .await
        .map_err(guard::fail)?;
    Ok(SubscribeOffer {
        components,
        ..offer
    })
}

/// One page of subscribers with counts. Admins only: addresses are personal data.
#[server]
pub async fn get_subscribers(
    page: i64,
) -> Result<vigil_core::model::subscriber::SubscriberPage, ServerFnError> {
    use vigil_core::model::{auth::Scope, subscriber::SubscriberPage};
    guard::require(Scope::Admin).await?;
    let pool = guard::pool()?;
    let per_page = 100;
    let page = page.max(1);
    let (subscribers, total) = vigil_core::store::subscribers::list(&pool, page, per_page)
        .await
        .map_err(guard::fail)?;
    let counts = vigil_core::store::subscribers::counts(&pool)
        .await
        .map_err(guard::fail)?;
    Ok(SubscriberPage {
        subscribers,
        total,
        page,
        per_page,
        counts,
    })
}

/// Removes a subscriber and what is queued for it. Admins only; audited.
#[server]
pub async fn remove_subscriber(id: i64) -> Result<(), ServerFnError> {
    use vigil_core::model::auth::Scope;
    let who = guard::require(Scope::Admin).await?;
    let pool = guard::pool()?;
    if vigil_core::store::subscribers::remove(&pool, id, &who.audit_name())
        .await
        .map_err(guard::fail)?
    {
        Ok(())
    } else {
        Err(ServerFnError::new(format!("no subscriber {id}")))
    }
}

/// Reliability figures for a period (`YYYY-MM-DD`, defaults: the last twelve months), one
/// component's or all, post-mortems by contributing factor. Viewers and up.
#[server]
pub async fn get_reliability(
    from: Option<String>,
    to: Option<String>,
    component: Option<String>,
    tag: Option<String>,
) -> Result<vigil_core::model::reliability::Reliability, ServerFnError> {
    use chrono::NaiveDate;
    use vigil_core::model::{auth::Scope, reliability::FACTORS};
    guard::require(Scope::Read).await?;
    let pool = guard::pool()?;
    let day = |field: &str, s: Option<String>| -> Result<Option<NaiveDate>, ServerFnError> {
        match s.filter(|s| !s.trim().is_empty()) {
            None => Ok(None),
            Some(s) => NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
                .map(Some)
                .map_err(|_| {
                    ServerFnError::new(format!("{field}: `{s}` is not a date like 2026-01-31"))
                }),
        }
    };
    let today = chrono::Utc::now().date_naive();
    let first = chrono::Datelike::with_day(&today, 1).expect("the first exists");
    let from = day("from", from)?.unwrap_or(first - chrono::Months::new(11));
    let to = day("to", to)?.unwrap_or(today + chrono::Duration::days(1));
    if to <= from {
        return Err(ServerFnError::new("to: must be after from"));
    }
    let tag = tag.filter(|t| !t.is_empty());
    if let Some(t) = &tag {
        if !FACTORS.contains(&t.as_str()) {
            return Err(ServerFnError::new(format!(
                "tag: `{t}` is not a contributing factor"
            )));
        }
    }
    let component = component.filter(|c| !c.is_empty());
    vigil_core::store::reliability::report(&pool, from, to, component.as_deref(), tag.as_deref())
        .await
        .map_err(guard::fail)
}
