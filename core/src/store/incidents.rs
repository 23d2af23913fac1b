//! Incidents and maintenances: every change writes its row, its timeline entry and its event
//! (which the outbox turns into notifications) in one transaction.

use crate::model::{
    event::{incident_event, EventData, IncidentNews, NoteAdded},
    incident::{
        component_status_for, is_final, AffectedComponent, EvidenceView, Impact, IncidentKind,
        IncidentView, PostmortemRef, Progress, UpdateView,
    },
};
use chrono::{DateTime, Utc};

use super::{events, PgPool, StoreError};

pub struct NewIncident {
    pub kind: IncidentKind,
    pub name: String,
    pub status: String,
    pub impact: Impact,
    pub body: String,
    pub components: Vec<String>,
    pub automatic: bool,
    pub author: String,
    pub scheduled_for: Option<DateTime<Utc>>,
    pub scheduled_until: Option<DateTime<Utc>>,
}

#[derive(Default)]
pub struct Patch {
    pub name: Option<String>,
    pub status: Option<String>,
    pub impact: Option<Impact>,
    pub components: Option<Vec<String>>,
}

/// Whether `id` is an incident or a maintenance (as stored); None when there is no such row.
pub async fn kind_of(pool: &PgPool, id: i64) -> Result<Option<String>, StoreError> {
    Ok(
        sqlx::query_scalar!("SELECT kind FROM incidents WHERE id = $1", id)
            .fetch_optional(pool)
            .await?,
    )
}

/// The ids among `ids` that name no component (for a clear 400 before writing anything).
pub async fn unknown_components(pool: &PgPool, ids: &[String]) -> Result<Vec<String>, StoreError> {
    let known: Vec<String> =
        sqlx::query_scalar!("SELECT id FROM components WHERE id = ANY($1)", ids)
            .fetch_all(pool)
            .await?;
    Ok(ids.iter().filter(|i| !known.contains(i)).cloned().collect())
}

fn component_state(kind: IncidentKind, status: &str, impact: Impact) -> &'static str {
    if kind == IncidentKind::Maintenance {
        if matches!(status, "in_progress" | "verifying") {
            "under_maintenance"
        } else {
            "operational"
        }
    } else if matches!(status, "monitoring" | "resolved") {
        // The fix is in: the components are back, the incident stays open while it is watched.
        "operational"
    } else {
        component_status_for(impact)
    }
}

/// What an incident's event announces.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Announce {
    Opened,
    StatusChanged,
    /// Words or components changed, the status did not.
    Updated,
    /// A scheduled maintenance starts soon.
    Reminder,
}

pub async fn create(pool: &PgPool, new: NewIncident) -> Result<i64, StoreError> {
    let mut tx = pool.begin().await?;
    let final_ = is_final(&new.status);
    let id: i64 = sqlx::query_scalar!(
        "INSERT INTO incidents (kind, name, status, impact, automatic, created_by, scheduled_for, scheduled_until, \
           started_at, monitoring_at, resolved_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, COALESCE($7, now()), \
           CASE WHEN $3 = 'monitoring' THEN now() END, CASE WHEN $9 THEN now() END) RETURNING id",
        new.kind.as_str(),
        &new.name,
        &new.status,
        new.impact.as_str(),
        new.automatic,
        &new.author,
        new.scheduled_for,
        new.scheduled_until,
        final_
    )
    .fetch_one(&mut *tx)
    .await?;
    set_components(
        &mut tx,
        id,
        &new.components,
        component_state(new.kind, &new.status, new.impact),
    )
    .await?;
    // The first update names them.
    sqlx::query!(
        "UPDATE incident_components SET announced = status WHERE incident_id = $1",
        id
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query!(
        "INSERT INTO incident_updates (incident_id, status, body, author) VALUES ($1, $2, $3, $4)",
        id,
        &new.status,
        &new.body,
        &new.author
    )
    .execute(&mut *tx)
    .await?;
    emit(&mut tx, id, Announce::Opened, &new.body).await?;
    tx.commit().await?;
    Ok(id)
}

async fn set_components(
    tx: &mut sqlx::PgConnection,
    id: i64,
    components: &[String],
    state: &str,
) -> Result<(), StoreError> {
    sqlx::query!(
        "DELETE FROM incident_components WHERE incident_id = $1 AND NOT (component_id = ANY($2))",
        id,
        components
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query!(
        "INSERT INTO incident_components (incident_id, component_id, status) SELECT $1, c, $3 FROM unnest($2::text[]) c \
         ON CONFLICT (incident_id, component_id) DO UPDATE SET status = EXCLUDED.status, \
           status_since = CASE WHEN incident_components.status = EXCLUDED.status \
             THEN incident_components.status_since ELSE now() END",
        id,
        components,
        state
    )
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// Appends the incident's event, with what a notification needs to say.
async fn emit(
    tx: &mut sqlx::PgConnection,
    id: i64,
    announce: Announce,
    body: &str,
) -> Result<(), StoreError> {
    let row = sqlx::query!(
        "SELECT name, status, impact, kind FROM incidents WHERE id = $1",
        id
    )
    .fetch_one(&mut *tx)
    .await?;
    let (name, status, impact, kind) = (row.name, row.status, row.impact, row.kind);
    let components: Vec<String> = sqlx::query_scalar!(
        "SELECT c.name FROM incident_components ic JOIN components c ON c.id = ic.component_id \
         WHERE ic.incident_id = $1 ORDER BY c.position",
        id
    )
    .fetch_all(&mut *tx)
    .await?;
    let news = IncidentNews {
        id,
        kind,
        name,
        status,
        impact,
        body: body.to_string(),
        components,
    };
    let data = match announce {
        Announce::Opened => incident_event(true, news),
        Announce::StatusChanged => incident_event(false, news),
        Announce::Reminder => EventData::MaintenanceReminder(news),
        Announce::Updated if news.kind == "maintenance" => EventData::MaintenanceUpdated(news),
        Announce::Updated => EventData::IncidentUpdated(news),
    };
    events::append_in(tx, &format!("incident:{id}"), &data).await?;
    Ok(())
}

/// Applies a change; `take_over` marks an automatic incident as a person's. Returns false when
/// there is no such incident.
pub async fn patch(pool: &PgPool, id: i64, p: Patch, take_over: bool) -> Result<bool, StoreError> {
    let mut tx = pool.begin().await?;
    let changed = patch_in(&mut tx, id, &p, take_over).await?;
    let Some(status_changed) = changed else {
        return Ok(false);
    };
    let announce = if status_changed {
        Announce::StatusChanged
    } else {
        Announce::Updated
    };
    emit(&mut tx, id, announce, "").await?;
    tx.commit().await?;
    Ok(true)
}

/// Some(whether the status changed) when the incident exists.
async fn patch_in(
    tx: &mut sqlx::PgConnection,
    id: i64,
    p: &Patch,
    take_over: bool,
) -> Result<Option<bool>, StoreError> {
    let row = sqlx::query!(
        "SELECT kind, status, impact FROM incidents WHERE id = $1 FOR UPDATE",
        id
    )
    .fetch_optional(&mut *tx)
    .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let (kind, old_status, old_impact) = (row.kind, row.status, row.impact);
    let status = p.status.clone().unwrap_or(old_status.clone());
    let impact = p
        .impact
        .unwrap_or_else(|| Impact::parse(&old_impact).unwrap_or(Impact::None));
    sqlx::query!(
        "UPDATE incidents SET name = COALESCE($2, name), status = $3, impact = $4, updated_at = now(), \
           taken_over = taken_over OR $5, \
           monitoring_at = CASE WHEN $3 IN ('monitoring', 'verifying') THEN COALESCE(monitoring_at, now()) ELSE monitoring_at END, \
           resolved_at = CASE WHEN $3 IN ('resolved', 'completed') THEN COALESCE(resolved_at, now()) ELSE NULL END, \
           started_at = CASE WHEN kind = 'maintenance' AND $3 = 'in_progress' AND status = 'scheduled' THEN now() ELSE started_at END \
         WHERE id = $1",
        id,
        p.name.as_deref() as Option<&str>,
        status,
        impact.as_str(),
        take_over
    )
    .execute(&mut *tx)
    .await?;
    let kind = IncidentKind::parse(&kind).unwrap_or(IncidentKind::Incident);
    let state = component_state(kind, &status, impact);
    match &p.components {
        Some(c) => set_components(tx, id, c, state).await?,
        // Words alone leave each component as it is: one that recovered while the incident
        // goes on for others stays operational.
        None if status == old_status && impact.as_str() == old_impact => {}
        None => {
            sqlx::query!(
                "UPDATE incident_components SET status = $2, status_since = now() \
                 WHERE incident_id = $1 AND status <> $2",
                id,
                state
            )
            .execute(&mut *tx)
            .await?;
        }
    }
    Ok(Some(status != old_status))
}

/// Posts to the timeline, optionally changing the status. Internal notes change nothing public
/// and notify nobody outside (their event kind, `note.added`, is not a public one).
pub async fn add_update(
    pool: &PgPool,
    id: i64,
    body: &str,
    status: Option<String>,
    internal: bool,
    author: &str,
    take_over: bool,
) -> Result<bool, StoreError> {
    let mut tx = pool.begin().await?;
    if !add_update_in(&mut tx, id, body, status, internal, author, take_over).await? {
        return Ok(false);
    }
    tx.commit().await?;
    Ok(true)
}

async fn add_update_in(
    tx: &mut sqlx::PgConnection,
    id: i64,
    body: &str,
    status: Option<String>,
    internal: bool,
    author: &str,
    take_over: bool,
) -> Result<bool, StoreError> {
    let patch = Patch {
        status: if internal { None } else { status },
        ..Default::default()
    };
    let Some(status_changed) = patch_in(tx, id, &patch, take_over).await? else {
        return Ok(false);
    };
    let current: String = sqlx::query_scalar!("SELECT status FROM incidents WHERE id = $1", id)
        .fetch_one(&mut *tx)
        .await?;
    sqlx::query!(
        "INSERT INTO incident_updates (incident_id, status, body, internal, author) VALUES ($1, $2, $3, $4, $5)",
        id,
        &current,
        body,
        internal,
        author
    )
    .execute(&mut *tx)
    .await?;
    if internal {
        let note = EventData::NoteAdded(NoteAdded {
            id,
            author: author.to_string(),
        });
        events::append_in(tx, &format!("incident:{id}"), &note).await?;
    } else {
        let announce = if status_changed {
            Announce::StatusChanged
        } else {
            Announce::Updated
        };
        emit(tx, id, announce, body).await?;
    }
    Ok(true)
}

pub async fn attach_evidence(pool: &PgPool, incident: i64, event: i64) -> Result<(), StoreError> {
    sqlx::query!(
        "INSERT INTO incident_evidence (incident_id, event_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        incident,
        event
    )
        .execute(pool)
        .await?;
    Ok(())
}

/// Which incidents a list shows.
pub enum Filter {
    /// Open incidents (not maintenances).
    Unresolved,
    /// The newest incidents, open or not.
    Latest(i64),
    /// Maintenances not completed: upcoming and active.
    OpenMaintenances,
    /// Maintenances, newest first.
    Maintenances(i64),
    /// Incidents that started in `[from, to)`.
    Between(DateTime<Utc>, DateTime<Utc>),
    /// Everything, newest first (the ops list).
    Everything(i64),
}

struct Row {
    id: i64,
    kind: String,
    name: String,
    status: String,
    impact: String,
    automatic: bool,
    taken_over: bool,
    started_at: DateTime<Utc>,
    monitoring_at: Option<DateTime<Utc>>,
    resolved_at: Option<DateTime<Utc>>,
    scheduled_for: Option<DateTime<Utc>>,
    scheduled_until: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

/// Lists incidents; `internal` includes internal notes (ops readers only).
pub async fn list(
    pool: &PgPool,
    filter: Filter,
    internal: bool,
) -> Result<Vec<IncidentView>, StoreError> {
    // One snapshot: an incident's name, components and updates are read by separate queries,
    // and a change committed between them would show a title that lists other components.
    let mut tx = pool.begin().await?;
    super::read_only_snapshot(&mut tx).await?;
    list_in(&mut tx, filter, internal).await
}

/// [`list`] inside a caller's snapshot.
pub async fn list_in(
    tx: &mut sqlx::PgConnection,
    filter: Filter,
    internal: bool,
) -> Result<Vec<IncidentView>, StoreError> {
    // One literal query per filter, so that each is checked against the schema at build time.
    let rows: Vec<Row> = match filter {
        Filter::Unresolved => {
            sqlx::query_as!(
                Row,
                "SELECT id, kind, name, status, impact, automatic, taken_over, started_at, monitoring_at, \
             resolved_at, scheduled_for, scheduled_until, created_at, updated_at FROM incidents WHERE kind = 'incident' AND resolved_at IS NULL ORDER BY started_at DESC"
            )
            .fetch_all(&mut *tx)
            .await?
        }
        Filter::Latest(n) => {
            sqlx::query_as!(
                Row,
                "SELECT id, kind, name, status, impact, automatic, taken_over, started_at, monitoring_at, \
             resolved_at, scheduled_for, scheduled_until, created_at, updated_at FROM incidents WHERE kind = 'incident' ORDER BY started_at DESC LIMIT $1",
                n
            )
            .fetch_all(&mut *tx)
            .await?
        }
        Filter::OpenMaintenances => {
            sqlx::query_as!(
                Row,
                "SELECT id, kind, name, status, impact, automatic, taken_over, started_at, monitoring_at, \
             resolved_at, scheduled_for, scheduled_until, created_at, updated_at FROM incidents WHERE kind = 'maintenance' AND resolved_at IS NULL ORDER BY scheduled_for"
            )
            .fetch_all(&mut *tx)
            .await?
        }
        Filter::Maintenances(n) => {
            sqlx::query_as!(
                Row,
                "SELECT id, kind, name, status, impact, automatic, taken_over, started_at, monitoring_at, \
             resolved_at, scheduled_for, scheduled_until, created_at, updated_at FROM incidents WHERE kind = 'maintenance' ORDER BY scheduled_for DESC LIMIT $1",
                n
            )
            .fetch_all(&mut *tx)
            .await?
        }
        Filter::Between(from, to) => {
            sqlx::query_as!(
                Row,
                "SELECT id, kind, name, status, impact, automatic, taken_over, started_at, monitoring_at, \
             resolved_at, scheduled_for, scheduled_until, created_at, updated_at FROM incidents WHERE kind = 'incident' AND started_at >= $1 AND started_at < $2 ORDER BY started_at DESC",
                from,
                to
            )
            .fetch_all(&mut *tx)
            .await?
        }
        Filter::Everything(n) => {
            sqlx::query_as!(
                Row,
                "SELECT id, kind, name, status, impact, automatic, taken_over, started_at, monitoring_at, \
             resolved_at, scheduled_for, scheduled_until, created_at, updated_at FROM incidents WHERE true ORDER BY created_at DESC LIMIT $1",
                n
            )
            .fetch_all(&mut *tx)
            .await?
        }
    };
    load(tx, rows, internal).await
}

pub async fn get(
    pool: &PgPool,
    id: i64,
    internal: bool,
) -> Result<Option<IncidentView>, StoreError> {
    let mut tx = pool.begin().await?;
    super::read_only_snapshot(&mut tx).await?;
    let rows = sqlx::query_as!(
                Row,
                "SELECT id, kind, name, status, impact, automatic, taken_over, started_at, monitoring_at, \
             resolved_at, scheduled_for, scheduled_until, created_at, updated_at FROM incidents WHERE id = $1 ",
                id
            )
            .fetch_all(&mut *tx)
            .await?;
    Ok(load(&mut tx, rows, internal).await?.into_iter().next())
}

/// An event attached to an incident as evidence.
struct Evidence {
    incident_id: i64,
    at: DateTime<Utc>,
    kind: String,
    subject: String,
    payload: serde_json::Value,
}

async fn load(
    tx: &mut sqlx::PgConnection,
    rows: Vec<Row>,
    internal: bool,
) -> Result<Vec<IncidentView>, StoreError> {
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let comps = sqlx::query!(
        "SELECT ic.incident_id, c.id, c.name, ic.status FROM incident_components ic \
         JOIN components c ON c.id = ic.component_id WHERE ic.incident_id = ANY($1) ORDER BY c.position",
        &ids
    )
    .fetch_all(&mut *tx)
    .await?;
    struct Update {
        incident_id: i64,
        id: i64,
        status: String,
        body: String,
        internal: bool,
        author: String,
        created_at: DateTime<Utc>,
    }
    let updates: Vec<Update> = sqlx::query_as!(
        Update,
        "SELECT incident_id, id, status, body, internal, author, created_at FROM incident_updates \
         WHERE incident_id = ANY($1) AND (NOT internal OR $2) ORDER BY created_at DESC, id DESC",
        &ids,
        internal
    )
    .fetch_all(&mut *tx)
    .await?;
    // Public readers see a display name or "Vigil", never a login name or a token's name.
    let shown_as = if internal {
        std::collections::HashMap::new()
    } else {
        let authors: Vec<String> = updates.iter().map(|u| u.author.clone()).collect();
        super::users::public_names(&mut *tx, &authors).await?
    };
    let evidence = if internal {
        sqlx::query_as!(
            Evidence,
            "SELECT ie.incident_id, e.at, e.kind, e.subject, e.payload FROM incident_evidence ie \
             JOIN events e ON e.id = ie.event_id WHERE ie.incident_id = ANY($1) ORDER BY e.at",
            &ids
        )
        .fetch_all(&mut *tx)
        .await?
    } else {
        Vec::new()
    };
    let postmortems = super::postmortems::for_incidents(&mut *tx, &ids, internal).await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            // The columns hold only what the commands validated; the fallbacks are for rows a
            // person edited by hand.
            let kind = IncidentKind::parse(&r.kind).unwrap_or(IncidentKind::Incident);
            let status = Progress::parse(kind, &r.status).unwrap_or(Progress::initial(kind));
            IncidentView {
                postmortem: postmortems.iter().find(|p| p.incident_id == r.id).map(|p| {
                    PostmortemRef {
                        id: p.id,
                        published_at: p.published_at,
                        body: p.body.clone(),
                    }
                }),
                components: comps
                    .iter()
                    .filter(|c| c.incident_id == r.id)
                    .map(|c| AffectedComponent {
                        id: c.id.clone(),
                        name: c.name.clone(),
                        status: c.status.clone(),
                    })
                    .collect(),
                updates: updates
                    .iter()
                    .filter(|u| u.incident_id == r.id)
                    .map(|u| UpdateView {
                        id: u.id,
                        status: u.status.clone(),
                        body: u.body.clone(),
                        internal: u.internal,
                        author: shown_as
                            .get(&u.author)
                            .cloned()
                            .unwrap_or_else(|| u.author.clone()),
                        created_at: u.created_at,
                    })
                    .collect(),
                evidence: evidence
                    .iter()
                    .filter(|e| e.incident_id == r.id)
                    .map(|e| EvidenceView {
                        at: e.at,
                        kind: e.kind.clone(),
                        subject: e.subject.clone(),
                        message: EventData::parse(&e.kind, e.payload.clone()).message(),
                    })
                    .collect(),
                id: r.id,
                kind,
                status,
                impact: Impact::parse(&r.impact).unwrap_or(Impact::Major),
                name: r.name,
                automatic: r.automatic,
                taken_over: r.taken_over,
                started_at: r.started_at,
                monitoring_at: r.monitoring_at,
                resolved_at: r.resolved_at,
                scheduled_for: r.scheduled_for,
                scheduled_until: r.scheduled_until,
                created_at: r.created_at,
                updated_at: r.updated_at,
            }
        })
        .collect())
}

/// Scheduled maintenances starting within `lead` whose reminder has not gone out: each gets its
/// `maintenance.reminder` event exactly once (the row in `maintenance_reminders` commits with it,
/// so two replicas racing send one). Returns how many were sent.
pub async fn send_maintenance_reminders(
    pool: &PgPool,
    lead: chrono::Duration,
) -> Result<usize, StoreError> {
    let due = sqlx::query_scalar!(
        "SELECT id FROM incidents WHERE kind = 'maintenance' AND status = 'scheduled' \
         AND resolved_at IS NULL AND scheduled_for > now() AND scheduled_for <= now() + make_interval(secs => $1) \
         AND NOT EXISTS (SELECT 1 FROM maintenance_reminders r WHERE r.incident_id = incidents.id)",
        lead.num_seconds() as f64
    )
    .fetch_all(pool)
    .await?;
    let mut sent = 0;
    for id in due {
        let mut tx = pool.begin().await?;
        let claimed = sqlx::query!(
            "INSERT INTO maintenance_reminders (incident_id) VALUES ($1) ON CONFLICT DO NOTHING",
            id
        )
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if claimed == 1 {
            emit(&mut tx, id, Announce::Reminder, "").await?;
            sent += 1;
        }
        tx.commit().await?;
    }
    Ok(sent)
}

/// Components in a maintenance now: their monitors' alerts are held back.
pub async fn components_in_maintenance(pool: &PgPool) -> Result<Vec<String>, StoreError> {
    Ok(sqlx::query_scalar!(
        "SELECT DISTINCT ic.component_id FROM incident_components ic JOIN incidents i ON i.id = ic.incident_id \
         WHERE i.kind = 'maintenance' AND i.status IN ('in_progress', 'verifying')"
    )
    .fetch_all(pool)
    .await?)
}

/// Component states that open incidents and active maintenances declare: (component, status).
pub async fn declared_component_states(
    db: impl sqlx::PgExecutor<'_>,
) -> Result<Vec<(String, String)>, StoreError> {
    Ok(sqlx::query!(
        "SELECT ic.component_id, ic.status FROM incident_components ic JOIN incidents i ON i.id = ic.incident_id \
         WHERE i.resolved_at IS NULL AND (i.kind = 'incident' OR i.status IN ('in_progress', 'verifying'))"
    )
    .fetch_all(db)
    .await?
    .into_iter()
    .map(|r| (r.component_id, r.status))
    .collect())
}

/// The newest open automatic incident.
pub struct OpenAutomatic {
    pub id: i64,
    pub status: String,
    pub taken_over: bool,
    pub updated_at: DateTime<Utc>,
}

pub async fn open_automatic(pool: &PgPool) -> Result<Option<OpenAutomatic>, StoreError> {
    Ok(sqlx::query_as!(
        OpenAutomatic,
        "SELECT id, status, taken_over, updated_at FROM incidents \
         WHERE automatic AND kind = 'incident' AND resolved_at IS NULL ORDER BY id DESC LIMIT 1"
    )
    .fetch_optional(pool)
    .await?)
}

/// Where the engine left off in the event stream.
pub async fn cursor(pool: &PgPool, name: &str) -> Result<Option<i64>, StoreError> {
    Ok(sqlx::query_scalar!(
        "SELECT last_event_id FROM engine_cursors WHERE name = $1",
        name
    )
    .fetch_optional(pool)
    .await?)
}

pub async fn set_cursor(pool: &PgPool, name: &str, id: i64) -> Result<(), StoreError> {
    sqlx::query!(
        "INSERT INTO engine_cursors (name, last_event_id) VALUES ($1, $2) \
         ON CONFLICT (name) DO UPDATE SET last_event_id = GREATEST(engine_cursors.last_event_id, $2)",
        name,
        id
    )
    .execute(pool)
    .await?;
    Ok(())
}

/// Components a form can pick: (id, name) in page order.
pub async fn component_choices(pool: &PgPool) -> Result<Vec<(String, String)>, StoreError> {
    Ok(
        sqlx::query!("SELECT id, name FROM components WHERE NOT retired ORDER BY position")
            .fetch_all(pool)
            .await?
            .into_iter()
            .map(|r| (r.id, r.name))
            .collect(),
    )
}

/// Sets the state one incident gives one component (the engine: a component whose checks pass
/// again is operational while the incident goes on for others).
pub async fn set_component_state(
    pool: &PgPool,
    incident: i64,
    component: &str,
    state: &str,
) -> Result<(), StoreError> {
    sqlx::query!(
        "UPDATE incident_components SET status = $3, status_since = now() \
         WHERE incident_id = $1 AND component_id = $2 AND status <> $3",
        incident,
        component,
        state
    )
    .execute(pool)
    .await?;
    Ok(())
}

// What the incident engine asks, by name.

/// Monitors that are down (and not paused) on the components of incident `id`.
pub async fn failing_monitors(pool: &PgPool, id: i64) -> Result<Vec<String>, StoreError> {
    Ok(sqlx::query_scalar!(
        "SELECT m.name FROM monitors m JOIN monitor_state s ON s.monitor_id = m.id \
         JOIN incident_components ic ON ic.component_id = m.component_id AND ic.incident_id = $1 \
         WHERE s.status = 'down' AND NOT m.paused",
        id
    )
    .fetch_all(pool)
    .await?)
}

/// How many monitors of `component` are down (not paused, not retired).
pub async fn monitors_down(pool: &PgPool, component: &str) -> Result<i64, StoreError> {
    Ok(sqlx::query_scalar!(
        "SELECT count(*) AS \"count!\" FROM monitors m JOIN monitor_state s ON s.monitor_id = m.id \
         WHERE m.component_id = $1 AND s.status = 'down' AND NOT m.paused AND NOT m.retired",
        component
    )
    .fetch_one(pool)
    .await?)
}

/// A component's name, or its id when there is no such component.
pub async fn component_name(pool: &PgPool, component: &str) -> Result<String, StoreError> {
    Ok(
        sqlx::query_scalar!("SELECT name FROM components WHERE id = $1", component)
            .fetch_optional(pool)
            .await?
            .unwrap_or_else(|| component.to_string()),
    )
}

/// The names of `components`, in page order.
pub async fn component_names(
    pool: &PgPool,
    components: &[String],
) -> Result<Vec<String>, StoreError> {
    Ok(sqlx::query_scalar!(
        "SELECT name FROM components WHERE id = ANY($1) ORDER BY position",
        components
    )
    .fetch_all(pool)
    .await?)
}

/// The components incident `id` affects.
pub async fn affected_components(pool: &PgPool, id: i64) -> Result<Vec<String>, StoreError> {
    Ok(sqlx::query_scalar!(
        "SELECT component_id FROM incident_components WHERE incident_id = $1",
        id
    )
    .fetch_all(pool)
    .await?)
}

/// Incident `id`'s impact.
pub async fn impact_of(pool: &PgPool, id: i64) -> Result<Impact, StoreError> {
    let impact: String = sqlx::query_scalar!("SELECT impact FROM incidents WHERE id = $1", id)
        .fetch_one(pool)
        .await?;
    Ok(Impact::parse(&impact).unwrap_or(Impact::Major))
}

/// A component of incident `id` whose state is not what the incident's updates last said.
pub struct Unannounced {
    pub component: String,
    pub name: String,
    pub status: String,
    pub announced: Option<String>,
    pub since: DateTime<Utc>,
}

/// The components of incident `id` whose state changed since its updates last named them, in
/// page order.
pub async fn unannounced(pool: &PgPool, id: i64) -> Result<Vec<Unannounced>, StoreError> {
    Ok(sqlx::query_as!(
        Unannounced,
        "SELECT ic.component_id AS component, c.name, ic.status, ic.announced, \
           ic.status_since AS since \
         FROM incident_components ic JOIN components c ON c.id = ic.component_id \
         WHERE ic.incident_id = $1 AND ic.announced IS DISTINCT FROM ic.status \
         ORDER BY c.position",
        id
    )
    .fetch_all(pool)
    .await?)
}

/// Posts `body` (when there is something to say) to incident `id` as Vigil, and records that
/// `said` — (component, state) — has been said, in one transaction: a failure neither repeats
/// the update nor loses it. A component whose state moved on since it was read stays to say.
pub async fn announce_components(
    pool: &PgPool,
    id: i64,
    body: Option<&str>,
    author: &str,
    said: &[(String, String)],
) -> Result<(), StoreError> {
    let mut tx = pool.begin().await?;
    if let Some(body) = body {
        add_update_in(&mut tx, id, body, None, false, author, false).await?;
    }
    let (components, states): (Vec<String>, Vec<String>) = said.iter().cloned().unzip();
    sqlx::query!(
        "UPDATE incident_components ic SET announced = x.status \
         FROM unnest($2::text[], $3::text[]) AS x(component_id, status) \
         WHERE ic.incident_id = $1 AND ic.component_id = x.component_id AND ic.status = x.status",
        id,
        &components,
        &states
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}
