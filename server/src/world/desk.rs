//! The settings pages' way into the world ([`WorldDesk`]): the same write path as the API, and a
//! "Check now" that runs a monitor once from this server before it is saved.

use std::{collections::HashMap, sync::Arc};

use serde_json::Value;
use vigil_core::model::{
    auth::Principal,
    monitor::Outcome,
    world::{
        ChangeView, CheckOutcomeView, ComponentRow, FieldView, MonitorRow, Pending, RevisionView,
        SettingRow, SettingsView, WorldDesk, WorldOp,
    },
};

use super::{
    apply::{self, Edit, WorldError},
    command,
    plan::{self, ObjectKind, Op},
    Actor,
};
use crate::{
    config::monitors::{self, ComponentConfig, MonitorConfig, ProbesConfig},
    probes::check::Probers,
};

pub struct Desk {
    pub pool: sqlx::PgPool,
    pub probes: ProbesConfig,
    pub probers: Arc<Probers>,
}

impl Desk {
    pub fn new(pool: sqlx::PgPool, probes: ProbesConfig) -> Desk {
        let probers = Arc::new(Probers::new(probes.max_body_kb * 1024, Default::default()));
        Desk {
            pool,
            probes,
            probers,
        }
    }
}

/// A setting's document as the form shows it: TOML, unset fields left out (TOML has no null).
fn toml_text(doc: &Value) -> String {
    fn without_nulls(v: &Value) -> Value {
        match v {
            Value::Object(m) => Value::Object(
                m.iter()
                    .filter(|(_, v)| !v.is_null())
                    .map(|(k, v)| (k.clone(), without_nulls(v)))
                    .collect(),
            ),
            Value::Array(items) => Value::Array(items.iter().map(without_nulls).collect()),
            other => other.clone(),
        }
    }
    toml::to_string_pretty(&without_nulls(doc))
        .unwrap_or_else(|e| format!("# cannot be shown as TOML: {e}"))
}

fn text(v: &Option<Value>) -> Option<String> {
    v.as_ref().map(|v| match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    })
}

impl WorldDesk for Desk {
    fn settings(&self) -> Pending<'_, Result<SettingsView, String>> {
        Box::pin(async move {
            let stored = vigil_core::store::world::monitors(&self.pool)
                .await
                .map_err(|e| e.to_string())?;
            let current = super::apply::stored(&self.pool)
                .await
                .map_err(|e| e.to_string())?;
            let head = current.head;
            let world = plan::without_secrets(&current.world);
            let by_name: HashMap<&str, &vigil_core::store::world::StoredMonitor> =
                stored.iter().map(|m| (m.name.as_str(), m)).collect();
            let mut monitors: Vec<MonitorRow> = world
                .monitors
                .iter()
                .filter_map(|m| {
                    let s = by_name.get(m.name.as_str())?;
                    Some(MonitorRow {
                        id: s.id,
                        name: m.name.clone(),
                        component: m.component.clone(),
                        kind: serde_json::to_value(m.kind).ok()?.as_str()?.to_string(),
                        interval_secs: m.interval_secs,
                        revision: s.revision,
                        managed_by: s.managed_by.clone(),
                        doc: serde_json::to_value(m).ok()?,
                    })
                })
                .collect();
            monitors.sort_by(|a, b| a.name.cmp(&b.name));
            Ok(SettingsView {
                revision: head,
                settings: world
                    .settings()
                    .into_iter()
                    .map(|s| {
                        let key = (s.kind, s.id.clone());
                        SettingRow {
                            text: toml_text(&s.doc),
                            kind: s.kind.name().into(),
                            revision: current.revisions.get(&key).copied().unwrap_or_default(),
                            managed_by: current.managed.get(&key).cloned(),
                            id: s.id,
                            doc: s.doc,
                        }
                    })
                    .collect(),
                components: world
                    .components
                    .iter()
                    .map(|c| ComponentRow {
                        id: c.id.clone(),
                        name: c.name.clone(),
                        group: c.group.clone(),
                        description: c.description.clone(),
                        revision: current
                            .revision_of(ObjectKind::Component, &c.id)
                            .unwrap_or_default(),
                        managed_by: current
                            .managed
                            .get(&(ObjectKind::Component, c.id.clone()))
                            .cloned(),
                        monitors: monitors
                            .iter()
                            .filter(|m| m.component == c.id)
                            .map(|m| m.name.clone())
                            .collect(),
                    })
                    .collect(),
                monitors,
            })
        })
    }

    fn change(&self, who: Principal, op: WorldOp) -> Pending<'_, Result<i64, String>> {
        Box::pin(async move {
            let actor = Actor::of(&who);
            if let WorldOp::Restore { revision } = op {
                return crate::http::api::world::restore_revision(
                    &self.pool,
                    &self.probes,
                    actor,
                    revision,
                )
                .await
                .map(|o| o.revision)
                .map_err(|e| e.to_string());
            }
            apply::change(
                &self.pool,
                &self.probes,
                Edit::by(actor),
                command::edit_for(op),
            )
            .await
            .map(|a| a.revision)
            .map_err(|e| match e {
                WorldError::Invalid(p) | WorldError::Managed(p) if p.len() > 1 => {
                    format!("{} problems: {}", p.len(), WorldError::Invalid(p))
                }
                other => other.to_string(),
            })
        })
    }

    fn check_now(&self, doc: Value) -> Pending<'_, Result<CheckOutcomeView, String>> {
        Box::pin(async move {
            let name = doc["name"].as_str().unwrap_or("new monitor").to_string();
            let m: MonitorConfig =
                command::read_doc(&format!("monitor `{name}`"), doc).map_err(|e| e.to_string())?;
            // Checked as it would be saved, against the components there are.
            let components = vigil_core::store::world::components(&self.pool)
                .await
                .map_err(|e| e.to_string())?;
            let components: Vec<ComponentConfig> = components
                .into_iter()
                .map(|c| ComponentConfig {
                    id: c.id,
                    name: c.name,
                    group: c.group,
                    description: c.description,
                })
                .collect();
            let spec = monitors::validate(&HashMap::new(), &components, &[m], &self.probes)
                .map_err(|p| WorldError::Invalid(p).to_string())?
                .remove(0);
            if matches!(
                spec.check,
                vigil_core::model::monitor::Check::Heartbeat { .. }
            ) {
                return Err(
                    "a heartbeat is received from the job it watches, not checked from here".into(),
                );
            }
            let result = self.probers.check(0, &spec).await;
            Ok(CheckOutcomeView {
                outcome: match result.outcome {
                    Outcome::Ok => "up",
                    Outcome::Degraded => "degraded",
                    Outcome::Failed => "down",
                }
                .into(),
                latency_ms: Some(result.latency.as_secs_f64() * 1000.0),
                error: result.error.map(|(_, text)| text),
            })
        })
    }

    fn history(&self, limit: i64) -> Pending<'_, Result<Vec<RevisionView>, String>> {
        Box::pin(async move {
            let revisions = vigil_core::store::world::revisions(&self.pool, limit.clamp(1, 500))
                .await
                .map_err(|e| e.to_string())?;
            Ok(revisions
                .into_iter()
                .map(|r| {
                    let plan: plan::Plan = serde_json::from_value(r.changes).unwrap_or_default();
                    RevisionView {
                        number: r.number,
                        at: r.at,
                        actor: r.actor,
                        message: r.message,
                        changes: plan
                            .changes
                            .into_iter()
                            .map(|c| ChangeView {
                                object: c.object.name().into(),
                                id: c.id,
                                op: match c.op {
                                    Op::Create => "create",
                                    Op::Update => "update",
                                    Op::Delete => "delete",
                                }
                                .into(),
                                fields: c
                                    .fields
                                    .into_iter()
                                    .map(|f| FieldView {
                                        before: text(&f.before),
                                        after: text(&f.after),
                                        field: f.field,
                                    })
                                    .collect(),
                            })
                            .collect(),
                    }
                })
                .collect())
        })
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_setting_with_unset_fields_is_shown_as_toml() {
        let doc = serde_json::json!({"name": "ops", "kind": "webhook", "url": "(secret)",
                                     "url_env": null, "events": ["incident.*"]});
        let text = super::toml_text(&doc);
        assert!(text.contains("name = \"ops\""), "{text}");
        assert!(text.contains("url = \"(secret)\""), "{text}");
        assert!(!text.contains("url_env"), "{text}");
    }
}
