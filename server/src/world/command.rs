//! One command per object: create, change, move and delete components and monitors. Each
//! returns the closure `apply::change` runs under the world's lock, so the API's handlers and
//! the settings forms refuse the same things in the same words (a taken id, a rename, a stale
//! revision) before the whole world is validated.

use serde_json::Value;
use vigil_core::model::world::WorldOp;

use super::{
    apply::{Current, WorldError},
    plan::ObjectKind,
    World,
};
use crate::config::{
    monitors::{ComponentConfig, MonitorConfig},
    problem::Problem,
};

/// `doc` read as a `T`, or the problem naming the field, as a refusal of the change.
pub fn read_doc<T: serde::de::DeserializeOwned>(what: &str, doc: Value) -> Result<T, WorldError> {
    super::objects::read_doc(what, doc).map_err(|p| WorldError::Invalid(vec![p]))
}

/// RFC 7396 JSON Merge Patch: `null` removes a field, an object merges, anything else replaces.
pub fn merge(target: &mut Value, patch: &Value) {
    let Value::Object(fields) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(Default::default());
    }
    let object = target.as_object_mut().expect("made an object");
    for (k, v) in fields {
        if v.is_null() {
            object.remove(k);
        } else {
            merge(object.entry(k.clone()).or_insert(Value::Null), v);
        }
    }
}

/// A JSON merge patch of one object, as the command that writes the patched object; refused
/// when the object moved on since `expected`.
pub fn patch(
    current: &Current,
    kind: ObjectKind,
    id: &str,
    patch: &Value,
    expected: Option<i64>,
) -> Result<WorldOp, WorldError> {
    let doc = match kind {
        ObjectKind::Component => current.world.component(id).map(serde_json::to_value),
        ObjectKind::Monitor => current.world.monitor(id).map(serde_json::to_value),
        setting => current.world.setting(setting, id).map(Ok),
    };
    let mut doc = doc
        .transpose()
        .expect("objects serialise")
        .ok_or_else(|| WorldError::NotFound(format!("no {} `{id}`", kind.name())))?;
    refuse_stale(current, kind, id, expected)?;
    merge(&mut doc, patch);
    let original = Some(id.to_string());
    Ok(match kind {
        ObjectKind::Component => WorldOp::PutComponent {
            original,
            doc,
            expected_revision: None,
        },
        ObjectKind::Monitor => WorldOp::PutMonitor {
            original,
            doc,
            expected_revision: None,
        },
        setting => WorldOp::PutSetting {
            kind: setting.name().into(),
            original,
            doc,
            expected_revision: None,
        },
    })
}

/// Refuses a change made from revision `expected` of an object that has moved on since
/// (`If-Match`, a form filled earlier); the refusal carries the object as it is now.
pub fn refuse_stale(
    current: &Current,
    kind: ObjectKind,
    id: &str,
    expected: Option<i64>,
) -> Result<(), WorldError> {
    let (Some(expected), Some(revision)) = (expected, current.revision_of(kind, id)) else {
        return Ok(());
    };
    if expected == revision {
        return Ok(());
    }
    let shown = match kind {
        ObjectKind::Component => current
            .world
            .component(id)
            .and_then(|c| serde_json::to_value(c).ok()),
        ObjectKind::Monitor => current
            .world
            .monitor(id)
            .map(|m| {
                super::plan::without_secrets(&World {
                    monitors: vec![m.clone()],
                    ..Default::default()
                })
            })
            .and_then(|w| serde_json::to_value(&w.monitors[0]).ok()),
        setting => super::plan::without_secrets(&current.world).setting(setting, id),
    };
    Err(WorldError::Stale {
        kind: kind.name(),
        id: id.to_string(),
        expected,
        revision,
        current: shown.unwrap_or(Value::Null),
    })
}

/// A settings kind named by a form or a path.
pub fn setting_kind(name: &str) -> Result<ObjectKind, WorldError> {
    ObjectKind::parse(name)
        .filter(|k| super::settings::KINDS.contains(k))
        .ok_or_else(|| {
            WorldError::NotFound(format!(
                "`{name}` is not a kind of setting: source, channel, alert_rule, page or objective"
            ))
        })
}

fn taken(key: String, what: &str) -> WorldError {
    WorldError::Invalid(vec![Problem::new(
        key,
        format!("a {what} has this name already; pick another or change that one"),
    )])
}

/// The change one command makes, as the closure `apply::change` runs under the lock: the API's
/// handlers and the settings forms both go through these.
pub fn edit_for(op: WorldOp) -> impl FnOnce(&Current, &mut World) -> Result<(), WorldError> {
    move |current, w| match op {
        WorldOp::PutComponent {
            original,
            doc,
            expected_revision,
        } => {
            let new: ComponentConfig = read_doc("component", doc)?;
            match original {
                None => {
                    if w.component(&new.id).is_some() {
                        return Err(taken(format!("component `{}`: id", new.id), "component"));
                    }
                    w.components.push(new);
                }
                Some(id) => {
                    refuse_stale(current, ObjectKind::Component, &id, expected_revision)?;
                    if new.id != id {
                        return Err(WorldError::Invalid(vec![Problem::new(
                            format!("component `{id}`: id"),
                            "a component's id is in its URLs and badges and cannot change",
                        )]));
                    }
                    let slot = w
                        .components
                        .iter_mut()
                        .find(|c| c.id == id)
                        .ok_or_else(|| WorldError::NotFound(format!("no component `{id}`")))?;
                    *slot = new;
                }
            }
            Ok(())
        }
        WorldOp::DeleteComponent { id } => {
            if w.component(&id).is_none() {
                return Err(WorldError::NotFound(format!("no component has id `{id}`")));
            }
            w.components.retain(|c| c.id != id);
            Ok(())
        }
        WorldOp::MoveComponent { id, up } => {
            let i = w
                .components
                .iter()
                .position(|c| c.id == id)
                .ok_or_else(|| WorldError::NotFound(format!("no component `{id}`")))?;
            let j = if up { i.checked_sub(1) } else { Some(i + 1) };
            if let Some(j) = j.filter(|j| *j < w.components.len()) {
                w.components.swap(i, j);
            }
            Ok(())
        }
        WorldOp::PutMonitor {
            original,
            doc,
            expected_revision,
        } => {
            let name = doc["name"].as_str().unwrap_or_default().to_string();
            let new: MonitorConfig = read_doc(&format!("monitor `{name}`"), doc)?;
            match original {
                None => {
                    if w.monitor(&new.name).is_some() {
                        return Err(taken(format!("monitor `{}`: name", new.name), "monitor"));
                    }
                    w.monitors.push(new);
                }
                Some(original) => {
                    refuse_stale(current, ObjectKind::Monitor, &original, expected_revision)?;
                    if new.name != original {
                        return Err(WorldError::Invalid(vec![Problem::new(
                            format!("monitor `{original}`: name"),
                            "a monitor's name cannot change; duplicate it under the new name and delete this one",
                        )]));
                    }
                    let slot = w
                        .monitors
                        .iter_mut()
                        .find(|m| m.name == original)
                        .ok_or_else(|| WorldError::NotFound(format!("no monitor `{original}`")))?;
                    *slot = new;
                }
            }
            Ok(())
        }
        WorldOp::DeleteMonitor { name } => {
            if w.monitor(&name).is_none() {
                return Err(WorldError::NotFound(format!("no monitor `{name}`")));
            }
            w.monitors.retain(|m| m.name != name);
            Ok(())
        }
        WorldOp::PutSetting {
            kind,
            original,
            doc,
            expected_revision,
        } => {
            let kind = setting_kind(&kind)?;
            // The page is one object: writing it replaces the one there is, under this lock,
            // its revision checked as any change's.
            let original = match original {
                None if kind == ObjectKind::Page && w.page.is_some() => {
                    Some(super::settings::PAGE_ID.to_string())
                }
                given => given,
            };
            if let Some(original) = &original {
                refuse_stale(current, kind, original, expected_revision)?;
                if w.setting(kind, original).is_none() {
                    return Err(WorldError::NotFound(format!(
                        "no {} `{original}`",
                        kind.name()
                    )));
                }
            }
            let before: std::collections::HashSet<String> = w
                .settings()
                .into_iter()
                .filter(|s| s.kind == kind)
                .map(|s| s.id)
                .collect();
            let id = w
                .put_setting(kind, doc)
                .map_err(|p| WorldError::Invalid(vec![p]))?;
            match original {
                None if before.contains(&id) => {
                    Err(taken(format!("{} `{id}`: name", kind.name()), kind.name()))
                }
                Some(original) if original != id => Err(WorldError::Invalid(vec![Problem::new(
                    format!("{} `{original}`: name", kind.name()),
                    "the name is its id (in URLs and the history) and cannot change; create one under the new name and delete this one",
                )])),
                _ => Ok(()),
            }
        }
        WorldOp::DeleteSetting { kind, id } => {
            let kind = setting_kind(&kind)?;
            if !w.remove_setting(kind, &id) {
                return Err(WorldError::NotFound(format!("no {} `{id}`", kind.name())));
            }
            Ok(())
        }
        WorldOp::Restore { .. } => unreachable!("restored by its own path"),
    }
}
