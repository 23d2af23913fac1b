//! The JSON bodies of incidents, maintenances and post-mortems, typed once: what the Statuspage v2
//! endpoints and the `/api/v1` API answer, and what the OpenAPI document describes.
//!
//! Times in the Statuspage shapes are RFC 3339 with an explicit offset (`+00:00`), as
//! Statuspage writes them; the v1-only fields use chrono's form (`Z`), as they always have.

use chrono::{DateTime, Utc};
use serde::{Serialize, Serializer};
use utoipa::ToSchema;
use vigil_core::model::{
    incident::{Impact, IncidentKind, IncidentView, Progress, UpdateView},
    postmortem::{PostmortemView, RevisionSummary, Snapshot},
};

/// A time as Statuspage writes it: RFC 3339 with an explicit offset (`2026-11-20T14:06:00+00:00`).
#[derive(Clone, Copy, ToSchema)]
#[schema(value_type = String, format = DateTime)]
pub struct Rfc3339(DateTime<Utc>);

impl Serialize for Rfc3339 {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0.to_rfc3339())
    }
}

fn rfc3339(t: DateTime<Utc>) -> Rfc3339 {
    Rfc3339(t)
}

/// The page every Statuspage object belongs to: Vigil serves one.
pub const PAGE_ID: &str = "vigil";

/// What an incident says in both APIs.
#[derive(Serialize, ToSchema)]
pub struct IncidentFields {
    pub name: String,
    /// investigating, identified, monitoring, resolved; for maintenances scheduled,
    /// in_progress, verifying, completed.
    #[schema(value_type = String)]
    pub status: Progress,
    pub impact: Impact,
    pub created_at: Rfc3339,
    pub updated_at: Rfc3339,
    pub started_at: Rfc3339,
    pub monitoring_at: Option<Rfc3339>,
    pub resolved_at: Option<Rfc3339>,
    /// The incident's public page.
    pub shortlink: String,
    pub page_id: String,
    /// Markdown, and only once published: a draft never leaves the ops dashboard.
    pub postmortem_body: Option<String>,
    pub postmortem_published_at: Option<Rfc3339>,
    pub components: Vec<ComponentRef>,
    /// Maintenances only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scheduled_for: Option<Rfc3339>,
    /// Maintenances only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scheduled_until: Option<Rfc3339>,
}

impl IncidentFields {
    fn of(i: &IncidentView, public_url: &str) -> IncidentFields {
        let maintenance = i.is_maintenance();
        IncidentFields {
            name: i.name.clone(),
            status: i.status,
            impact: i.impact,
            created_at: rfc3339(i.created_at),
            updated_at: rfc3339(i.updated_at),
            started_at: rfc3339(i.started_at),
            monitoring_at: i.monitoring_at.map(rfc3339),
            resolved_at: i.resolved_at.map(rfc3339),
            shortlink: format!("{}/incidents/{}", public_url.trim_end_matches('/'), i.id),
            page_id: PAGE_ID.into(),
            postmortem_body: i.postmortem.as_ref().and_then(|p| p.body.clone()),
            postmortem_published_at: i
                .postmortem
                .as_ref()
                .and_then(|p| p.published_at)
                .map(rfc3339),
            components: i
                .components
                .iter()
                .map(|c| ComponentRef {
                    id: c.id.clone(),
                    name: c.name.clone(),
                    status: c.status.clone(),
                    page_id: PAGE_ID.into(),
                })
                .collect(),
            scheduled_for: i.scheduled_for.filter(|_| maintenance).map(rfc3339),
            scheduled_until: i.scheduled_until.filter(|_| maintenance).map(rfc3339),
        }
    }
}

/// A component an incident affects, and the state the incident gives it.
#[derive(Serialize, ToSchema)]
pub struct ComponentRef {
    pub id: String,
    pub name: String,
    pub status: String,
    pub page_id: String,
}

/// An incident or maintenance as Statuspage's v2 API gives it: public updates only.
#[derive(Serialize, ToSchema)]
pub struct StatuspageIncident {
    pub id: String,
    #[serde(flatten)]
    pub fields: IncidentFields,
    pub incident_updates: Vec<StatuspageUpdate>,
}

impl StatuspageIncident {
    pub fn of(i: &IncidentView, public_url: &str) -> StatuspageIncident {
        StatuspageIncident {
            id: i.id.to_string(),
            fields: IncidentFields::of(i, public_url),
            incident_updates: i
                .updates
                .iter()
                .filter(|u| !u.internal)
                .map(|u| StatuspageUpdate::of(i.id, u))
                .collect(),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct StatuspageUpdate {
    pub id: String,
    pub status: String,
    pub body: String,
    pub incident_id: String,
    pub created_at: Rfc3339,
    pub updated_at: Rfc3339,
    pub display_at: Rfc3339,
}

impl StatuspageUpdate {
    fn of(incident: i64, u: &UpdateView) -> StatuspageUpdate {
        StatuspageUpdate {
            id: u.id.to_string(),
            status: u.status.clone(),
            body: u.body.clone(),
            incident_id: incident.to_string(),
            created_at: rfc3339(u.created_at),
            updated_at: rfc3339(u.created_at),
            display_at: rfc3339(u.created_at),
        }
    }
}

/// An incident or maintenance for scripts (`/api/v1`): every update, internal notes included,
/// with its author.
#[derive(Serialize, ToSchema)]
pub struct Incident {
    pub id: i64,
    pub kind: IncidentKind,
    /// Opened by Vigil from failing checks.
    pub automatic: bool,
    /// A person has taken over an automatic incident; Vigil no longer changes it.
    pub taken_over: bool,
    #[serde(flatten)]
    pub fields: IncidentFields,
    /// Newest first, internal notes included.
    pub incident_updates: Vec<UpdateView>,
}

impl Incident {
    pub fn of(i: &IncidentView, public_url: &str) -> Incident {
        Incident {
            id: i.id,
            kind: i.kind,
            automatic: i.automatic,
            taken_over: i.taken_over,
            fields: IncidentFields::of(i, public_url),
            incident_updates: i.updates.clone(),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct IncidentList {
    /// Newest first.
    pub incidents: Vec<Incident>,
}

/// A post-mortem, draft or published.
#[derive(Serialize, ToSchema)]
pub struct Postmortem {
    pub id: i64,
    pub incident_id: i64,
    pub title: String,
    /// Markdown.
    pub body: String,
    /// Send it back as `base_revision` when saving.
    pub revision: i32,
    pub published_at: Option<DateTime<Utc>>,
    /// Everyone who saved a revision, first author first.
    pub authors: Vec<String>,
    pub updated_by: String,
    pub updated_at: DateTime<Utc>,
    pub snapshots: Vec<SnapshotRef>,
    /// Contributing factors.
    pub tags: Vec<String>,
}

impl Postmortem {
    pub fn of(p: &PostmortemView) -> Postmortem {
        Postmortem {
            id: p.id,
            incident_id: p.incident_id,
            title: p.title.clone(),
            body: p.body.clone(),
            revision: p.revision,
            published_at: p.published_at,
            authors: p.authors.clone(),
            updated_by: p.updated_by.clone(),
            updated_at: p.updated_at,
            snapshots: p.snapshots.iter().map(SnapshotRef::of).collect(),
            tags: p.tags.clone(),
        }
    }
}

/// A frozen correlation view in a post-mortem (its graphs are served to the ops pages).
#[derive(Serialize, ToSchema)]
pub struct SnapshotRef {
    pub id: i64,
    pub caption: String,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    /// Shown on the public post-mortem.
    pub public: bool,
    /// Shown publicly with backend addresses and ports.
    pub keep_addresses: bool,
}

impl SnapshotRef {
    fn of(s: &Snapshot) -> SnapshotRef {
        SnapshotRef {
            id: s.id,
            caption: s.caption.clone(),
            from: s.stack.from,
            to: s.stack.to,
            created_by: s.created_by.clone(),
            created_at: s.created_at,
            public: s.public,
            keep_addresses: s.keep_addresses,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct RevisionList {
    /// Newest first.
    pub revisions: Vec<RevisionSummary>,
    /// Review requests, comments, resolutions and approvals, oldest first, each with the
    /// revision it was about.
    pub review: Vec<vigil_core::model::review::ReviewEvent>,
}

/// A save that started from an older revision: nothing is lost, the text is its own revision.
#[derive(Debug, Serialize, ToSchema)]
pub struct SaveConflict {
    pub error: String,
    /// Merge with this one and save with it as `base_revision`.
    pub current_revision: i32,
    /// The revision your text was kept as.
    pub kept_as: i32,
}
