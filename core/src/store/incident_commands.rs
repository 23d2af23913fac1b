//! Creating and changing incidents from people's input (forms, the JSON API): every field
//! checked with a message naming it, then written through `incidents`, then audited.

use chrono::{DateTime, Utc};
use serde::Deserialize;

use crate::model::incident::{statuses_for, Impact, IncidentKind, Progress, StatusName};

use super::{audit, incidents, PgPool, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    #[error("{field}: {message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
    /// The request was made from a state that has moved on (a revision saved since it was
    /// read, approvals still missing); nothing was changed. HTTP 409.
    #[error("{field}: {message}")]
    Conflict {
        field: &'static str,
        message: String,
    },
    #[error("no incident {0}")]
    NotFound(i64),
    #[error("no post-mortem {0}")]
    NoPostmortem(i64),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl crate::model::answer::Answer for CommandError {
    fn status(&self) -> u16 {
        match self {
            CommandError::Invalid { .. } => 400,
            CommandError::Conflict { .. } => 409,
            CommandError::NotFound(_) | CommandError::NoPostmortem(_) => 404,
            CommandError::Store(e) => e.status(),
        }
    }

    fn public_message(&self) -> String {
        match self {
            CommandError::Store(e) => e.public_message(),
            other => other.to_string(),
        }
    }

    fn field(&self) -> Option<&str> {
        match self {
            CommandError::Invalid { field, .. } | CommandError::Conflict { field, .. } => {
                Some(field)
            }
            _ => None,
        }
    }
}

impl CommandError {
    pub fn invalid(field: &'static str, message: impl Into<String>) -> CommandError {
        CommandError::Invalid {
            field,
            message: message.into(),
        }
    }
}

/// Statuspage's field names, as the API takes them.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IncidentInput {
    pub name: Option<String>,
    pub status: Option<StatusName>,
    pub impact: Option<Impact>,
    pub body: Option<String>,
    pub component_ids: Option<Vec<String>>,
    pub scheduled_for: Option<DateTime<Utc>>,
    pub scheduled_until: Option<DateTime<Utc>>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateInput {
    pub body: String,
    pub status: Option<StatusName>,
    #[serde(default)]
    pub internal: bool,
}

const MAX_NAME: usize = 200;
const MAX_BODY: usize = 20_000;

fn name(n: Option<&str>) -> Result<Option<String>, CommandError> {
    match n.map(str::trim) {
        None => Ok(None),
        Some("") => Err(CommandError::invalid("name", "must not be empty")),
        Some(n) if n.chars().count() > MAX_NAME => Err(CommandError::invalid(
            "name",
            format!("must be at most {MAX_NAME} characters"),
        )),
        Some(n) => Ok(Some(n.to_string())),
    }
}

fn body(b: &str) -> Result<String, CommandError> {
    if b.chars().count() > MAX_BODY {
        return Err(CommandError::invalid(
            "body",
            format!("must be at most {MAX_BODY} characters"),
        ));
    }
    Ok(b.trim().to_string())
}

/// An impact typed into a form (empty: none), read where it arrives.
pub fn impact_typed(i: &str) -> Result<Option<Impact>, CommandError> {
    let i = i.trim();
    if i.is_empty() {
        return Ok(None);
    }
    Impact::parse(i).map(Some).ok_or_else(|| {
        CommandError::invalid(
            "impact",
            format!("`{i}` is not one of {}", Impact::choices()),
        )
    })
}

/// A status typed into a form (empty: none), read where it arrives.
pub fn status_typed(s: &str) -> Result<Option<StatusName>, CommandError> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    StatusName::parse(s)
        .map(Some)
        .ok_or_else(|| CommandError::invalid("status", StatusName::unknown(s)))
}

/// The status, if it is one of `kind`'s.
fn status(kind: IncidentKind, s: Option<StatusName>) -> Result<Option<String>, CommandError> {
    s.map(|s| {
        s.progress(kind)
            .map(|p| p.as_str().to_string())
            .ok_or_else(|| {
                CommandError::invalid(
                    "status",
                    format!("`{}` is not one of {}", s.as_str(), statuses_for(kind)),
                )
            })
    })
    .transpose()
}

async fn components(
    pool: &PgPool,
    ids: Option<&Vec<String>>,
) -> Result<Option<Vec<String>>, CommandError> {
    let Some(ids) = ids else { return Ok(None) };
    let unknown = incidents::unknown_components(pool, ids).await?;
    if !unknown.is_empty() {
        return Err(CommandError::invalid(
            "component_ids",
            format!(
                "no component {}; GET /api/v2/components.json lists them",
                unknown.join(", ")
            ),
        ));
    }
    let mut ids = ids.clone();
    ids.dedup();
    Ok(Some(ids))
}

/// Opens an incident or schedules a maintenance. Returns its id.
pub async fn create(
    pool: &PgPool,
    kind: IncidentKind,
    input: &IncidentInput,
    actor: &str,
) -> Result<i64, CommandError> {
    let name =
        name(input.name.as_deref())?.ok_or_else(|| CommandError::invalid("name", "is required"))?;
    let status =
        status(kind, input.status)?.unwrap_or_else(|| Progress::initial(kind).as_str().into());
    let impact = input.impact.unwrap_or(match kind {
        IncidentKind::Maintenance => Impact::None,
        IncidentKind::Incident => Impact::Minor,
    });
    let body = body(input.body.as_deref().unwrap_or_default())?;
    let components = components(pool, input.component_ids.as_ref())
        .await?
        .unwrap_or_default();
    if kind == IncidentKind::Maintenance {
        match (input.scheduled_for, input.scheduled_until) {
            (Some(from), Some(until)) if from < until => {}
            (Some(_), Some(_)) => {
                return Err(CommandError::invalid(
                    "scheduled_until",
                    "must be after scheduled_for",
                ))
            }
            _ => {
                return Err(CommandError::invalid(
                    "scheduled_for",
                    "a maintenance needs scheduled_for and scheduled_until",
                ))
            }
        }
    }
    let id = incidents::create(
        pool,
        incidents::NewIncident {
            kind,
            name,
            status,
            impact,
            body,
            components,
            automatic: false,
            author: actor.into(),
            scheduled_for: input.scheduled_for,
            scheduled_until: input.scheduled_until,
        },
    )
    .await?;
    audit::record(
        pool,
        actor,
        &format!("{kind}.create"),
        &format!("incident:{id}"),
        serde_json::json!({}),
    )
    .await?;
    Ok(id)
}

async fn kind_of(pool: &PgPool, id: i64) -> Result<IncidentKind, CommandError> {
    let kind = incidents::kind_of(pool, id)
        .await?
        .ok_or(CommandError::NotFound(id))?;
    Ok(IncidentKind::parse(&kind).unwrap_or(IncidentKind::Incident))
}

/// Changes name, status, impact or components. A person's change takes over an automatic
/// incident: the engine stops moving it.
pub async fn patch(
    pool: &PgPool,
    id: i64,
    input: &IncidentInput,
    actor: &str,
) -> Result<(), CommandError> {
    let kind = kind_of(pool, id).await?;
    let p = incidents::Patch {
        name: name(input.name.as_deref())?,
        status: status(kind, input.status)?,
        impact: input.impact,
        components: components(pool, input.component_ids.as_ref()).await?,
    };
    if input.body.is_some() {
        return Err(CommandError::invalid(
            "body",
            "post text as an update: POST /api/v1/incidents/{id}/updates",
        ));
    }
    if !incidents::patch(pool, id, p, true).await? {
        return Err(CommandError::NotFound(id));
    }
    audit::record(
        pool,
        actor,
        &format!("{kind}.update"),
        &format!("incident:{id}"),
        serde_json::json!({}),
    )
    .await?;
    Ok(())
}

/// Posts an update (public) or an internal note, optionally changing the status.
pub async fn post_update(
    pool: &PgPool,
    id: i64,
    input: &UpdateInput,
    actor: &str,
) -> Result<(), CommandError> {
    let kind = kind_of(pool, id).await?;
    let text = body(&input.body)?;
    if text.is_empty() {
        return Err(CommandError::invalid("body", "must not be empty"));
    }
    let status = status(kind, input.status)?;
    if input.internal && status.is_some() {
        return Err(CommandError::invalid(
            "status",
            "an internal note cannot change the public status",
        ));
    }
    if !incidents::add_update(pool, id, &text, status, input.internal, actor, true).await? {
        return Err(CommandError::NotFound(id));
    }
    let action = if input.internal {
        "incident.note"
    } else {
        "incident.post_update"
    };
    audit::record(
        pool,
        actor,
        action,
        &format!("incident:{id}"),
        serde_json::json!({}),
    )
    .await?;
    Ok(())
}
