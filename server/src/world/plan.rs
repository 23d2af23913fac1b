//! What a change of the world does, object by object and field by field: what `vigil world plan`
//! prints, what a revision records and what the history shows. Secrets (a heartbeat's secret,
//! credentials in request headers) never appear in a plan: their fields say "(secret)".

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use super::{seal::is_secret, World};
use crate::config::monitors::MonitorConfig;

/// What a secret's value is replaced with wherever the world is shown or exported. Applying a
/// world whose secret says this keeps the secret the object already has.
pub const HIDDEN: &str = "(secret)";

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Op {
    Create,
    Update,
    Delete,
}

pub use super::objects::ObjectKind;

/// One field's value before and after (absent: not set).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct FieldChange {
    pub field: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<Value>,
}

/// One object created, changed or removed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Change {
    pub object: ObjectKind,
    /// The component's id or the monitor's name.
    pub id: String,
    pub op: Op,
    pub fields: Vec<FieldChange>,
}

/// Everything a change does, components first, in page order.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Plan {
    pub changes: Vec<Change>,
}

impl Plan {
    /// What turns `old` into `new`.
    pub fn between(old: &World, new: &World) -> Plan {
        let mut changes = Vec::new();
        let survivors = |from: &World, other: &World| -> Vec<String> {
            from.components
                .iter()
                .filter(|c| other.component(&c.id).is_some())
                .map(|c| c.id.clone())
                .collect()
        };
        let (old_order, new_order) = (survivors(old, new), survivors(new, old));
        for (i, c) in new.components.iter().enumerate() {
            let after = fields(
                ObjectKind::Component,
                &serde_json::to_value(c).expect("components serialise"),
            );
            match old.component(&c.id) {
                None => changes.push(created(ObjectKind::Component, &c.id, after)),
                Some(before) => {
                    let mut diff = differences(
                        &fields(
                            ObjectKind::Component,
                            &serde_json::to_value(before).expect("serialises"),
                        ),
                        &after,
                    );
                    // Moved among the components both worlds have (not merely shifted by an
                    // insertion or a removal before it).
                    let was = old_order.iter().position(|id| *id == c.id);
                    let is = new_order.iter().position(|id| *id == c.id);
                    if was != is {
                        let old_index = old.components.iter().position(|o| o.id == c.id);
                        diff.push(FieldChange {
                            field: "position".into(),
                            before: old_index.map(|p| Value::from(p as u64)),
                            after: Some(Value::from(i as u64)),
                        });
                    }
                    if !diff.is_empty() {
                        changes.push(Change {
                            object: ObjectKind::Component,
                            id: c.id.clone(),
                            op: Op::Update,
                            fields: diff,
                        });
                    }
                }
            }
        }
        for c in &old.components {
            if new.component(&c.id).is_none() {
                let before = fields(
                    ObjectKind::Component,
                    &serde_json::to_value(c).expect("serialises"),
                );
                changes.push(removed(ObjectKind::Component, &c.id, before));
            }
        }
        // Indexed by name: a world of ten thousand monitors is planned in linear time.
        let old_monitors: HashMap<&str, &MonitorConfig> =
            old.monitors.iter().map(|m| (m.name.as_str(), m)).collect();
        let new_monitors: HashMap<&str, &MonitorConfig> =
            new.monitors.iter().map(|m| (m.name.as_str(), m)).collect();
        let mut names: Vec<&str> = new_monitors.keys().copied().collect();
        names.sort_unstable();
        for name in names {
            let m = new_monitors[name];
            if old_monitors.get(name) == Some(&m) {
                continue;
            }
            let after = fields(
                ObjectKind::Monitor,
                &serde_json::to_value(m).expect("monitors serialise"),
            );
            match old_monitors.get(name) {
                None => changes.push(created(ObjectKind::Monitor, name, after)),
                Some(before) => {
                    let diff = differences(
                        &fields(
                            ObjectKind::Monitor,
                            &serde_json::to_value(before).expect("serialises"),
                        ),
                        &after,
                    );
                    if !diff.is_empty() {
                        changes.push(Change {
                            object: ObjectKind::Monitor,
                            id: name.to_string(),
                            op: Op::Update,
                            fields: diff,
                        });
                    }
                }
            }
        }
        let mut gone: Vec<&str> = old_monitors
            .keys()
            .filter(|name| !new_monitors.contains_key(*name))
            .copied()
            .collect();
        gone.sort_unstable();
        for name in gone {
            let m = old_monitors[name];
            let before = fields(
                ObjectKind::Monitor,
                &serde_json::to_value(m).expect("serialises"),
            );
            changes.push(removed(ObjectKind::Monitor, name, before));
        }
        changes.extend(settings_between(old, new));
        Plan { changes }
    }

    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }

    /// How many objects are created, changed and removed.
    pub fn counts(&self) -> (u32, u32, u32) {
        let n = |op| self.changes.iter().filter(|c| c.op == op).count() as u32;
        (n(Op::Create), n(Op::Update), n(Op::Delete))
    }

    /// As `vigil world plan` prints it: `+` created, `~` changed, `-` removed, then a count.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        for c in &self.changes {
            let (sign, kind) = (
                match c.op {
                    Op::Create => '+',
                    Op::Update => '~',
                    Op::Delete => '-',
                },
                c.object.name(),
            );
            out.push_str(&format!("{sign} {kind} {:?}\n", c.id));
            if c.op == Op::Update {
                for f in &c.fields {
                    out.push_str(&format!(
                        "    {}: {} → {}\n",
                        f.field,
                        shown(&f.before),
                        shown(&f.after)
                    ));
                }
            }
        }
        let (created, changed, removed) = self.counts();
        if self.is_empty() {
            out.push_str("No changes: the live world already matches.\n");
        } else {
            out.push_str(&format!(
                "{created} to create, {changed} to change, {removed} to remove.\n"
            ));
        }
        out
    }
}

/// What changes among the settings (sources, channels, alert rules, the page): by kind and id,
/// in the order they are listed. A setting moved among its kind is not a change.
fn settings_between(old: &World, new: &World) -> Vec<Change> {
    let before: HashMap<(ObjectKind, String), Value> = old
        .settings()
        .into_iter()
        .map(|s| ((s.kind, s.id), s.doc))
        .collect();
    let after = new.settings();
    let mut changes = Vec::new();
    for s in &after {
        let now = fields(s.kind, &s.doc);
        match before.get(&(s.kind, s.id.clone())) {
            None => changes.push(created(s.kind, &s.id, now)),
            Some(doc) if doc == &s.doc => {}
            Some(doc) => {
                let diff = differences(&fields(s.kind, doc), &now);
                if !diff.is_empty() {
                    changes.push(Change {
                        object: s.kind,
                        id: s.id.clone(),
                        op: Op::Update,
                        fields: diff,
                    });
                }
            }
        }
    }
    let kept: std::collections::HashSet<(ObjectKind, &str)> =
        after.iter().map(|s| (s.kind, s.id.as_str())).collect();
    for s in old.settings() {
        if !kept.contains(&(s.kind, s.id.as_str())) {
            changes.push(removed(s.kind, &s.id, fields(s.kind, &s.doc)));
        }
    }
    changes
}

fn shown(v: &Option<Value>) -> String {
    match v {
        None => "(not set)".into(),
        Some(Value::String(s)) => format!("{s:?}"),
        Some(other) => other.to_string(),
    }
}

fn created(object: ObjectKind, id: &str, after: BTreeMap<String, Value>) -> Change {
    Change {
        object,
        id: id.to_string(),
        op: Op::Create,
        fields: after
            .into_iter()
            .map(|(field, v)| FieldChange {
                field,
                before: None,
                after: Some(v),
            })
            .collect(),
    }
}

fn removed(object: ObjectKind, id: &str, before: BTreeMap<String, Value>) -> Change {
    Change {
        object,
        id: id.to_string(),
        op: Op::Delete,
        fields: before
            .into_iter()
            .map(|(field, v)| FieldChange {
                field,
                before: Some(v),
                after: None,
            })
            .collect(),
    }
}

fn differences(
    before: &BTreeMap<String, Value>,
    after: &BTreeMap<String, Value>,
) -> Vec<FieldChange> {
    let mut keys: Vec<&String> = before.keys().chain(after.keys()).collect();
    keys.sort_unstable();
    keys.dedup();
    keys.into_iter()
        .filter(|k| before.get(*k) != after.get(*k))
        .map(|k| FieldChange {
            field: k.clone(),
            before: before.get(k).cloned(),
            after: after.get(k).cloned(),
        })
        .collect()
}

/// An object's fields as a plan shows them: one per key, each request header its own field
/// (`headers.Authorization`), secrets hidden — but a changed secret still differs from the old
/// one, since its fingerprint is kept beside the placeholder.
fn fields(kind: ObjectKind, object: &Value) -> BTreeMap<String, Value> {
    let mut out = BTreeMap::new();
    let Value::Object(map) = object else {
        return out;
    };
    for (k, v) in map {
        match (k.as_str(), v) {
            ("headers", Value::Object(headers)) if kind == ObjectKind::Monitor => {
                for (name, value) in headers {
                    let field = format!("headers.{name}");
                    out.insert(field.clone(), hidden_if_secret(kind, &field, value));
                }
            }
            _ => {
                out.insert(k.clone(), hidden_if_secret(kind, k, v));
            }
        }
    }
    out
}

/// A field's value as shown: a credential as "(secret)", credentials in a source's URL cut,
/// each with a fingerprint so that a change still shows.
fn hidden_if_secret(kind: ObjectKind, field: &str, v: &Value) -> Value {
    let secret = match kind {
        ObjectKind::Component | ObjectKind::Monitor => is_secret(field),
        setting => super::objects::is_secret_field(setting, field),
    };
    match v {
        Value::String(s) if secret && s != HIDDEN => {
            Value::String(format!("{HIDDEN} {}", fingerprint(s)))
        }
        Value::String(s)
            if kind == ObjectKind::Source
                && (field == "url" || field == "api_url")
                && shown_url(s) != *s =>
        {
            Value::String(format!("{} {}", shown_url(s), fingerprint(s)))
        }
        other => other.clone(),
    }
}

/// Eight hex digits of a secret's SHA-256: enough to tell that it changed, nothing to guess it
/// from.
fn fingerprint(secret: &str) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(secret.as_bytes());
    format!("sha256:{}", &hex::encode(digest)[..8])
}

/// The world with every secret replaced by [`HIDDEN`]: what is exported and what a revision
/// keeps.
pub fn without_secrets(world: &World) -> World {
    let mut world = world.clone();
    world.monitors.iter_mut().for_each(hide_monitor_secrets);
    hide_setting_secrets(&mut world);
    world
}

/// A monitor's secret and credential headers replaced by [`HIDDEN`].
pub fn hide_monitor_secrets(m: &mut MonitorConfig) {
    if m.secret.is_some() {
        m.secret = Some(HIDDEN.into());
    }
    for (name, value) in m.headers.iter_mut() {
        if is_secret(&format!("headers.{name}")) {
            *value = HIDDEN.into();
        }
    }
}

/// The settings' secrets replaced by [`HIDDEN`], credentials cut from source URLs.
pub fn hide_setting_secrets(world: &mut World) {
    for c in &mut world.notify {
        if c.url.is_some() {
            c.url = Some(HIDDEN.into());
        }
    }
    // A source's URL may carry credentials (user:password@, ?token=): shown without them.
    let redact = |url: &mut String| *url = shown_url(url);
    world.prometheus.iter_mut().for_each(|p| redact(&mut p.url));
    world
        .node_exporters
        .iter_mut()
        .for_each(|e| redact(&mut e.url));
    world.kubernetes.iter_mut().for_each(|k| redact(&mut k.url));
    world.upstreams.iter_mut().for_each(|u| redact(&mut u.url));
    if let Some(l) = world.linode.as_mut() {
        redact(&mut l.api_url);
    }
}

/// A source's URL as shown: as written when it carries nothing secret, else without its
/// credentials and query. Applying the shown value back keeps the URL as it is.
pub fn shown_url(url: &str) -> String {
    let parsed = reqwest::Url::parse(url);
    let secret = parsed
        .as_ref()
        .is_ok_and(|u| !u.username().is_empty() || u.password().is_some() || u.query().is_some());
    if secret {
        crate::redact::url(url)
    } else {
        url.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::monitors::{ComponentConfig, MonitorConfig};

    fn component(id: &str) -> ComponentConfig {
        ComponentConfig {
            id: id.into(),
            name: id.to_uppercase(),
            group: None,
            description: None,
        }
    }

    fn monitor(name: &str, component: &str) -> MonitorConfig {
        serde_json::from_value(serde_json::json!({
            "name": name, "component": component, "kind": "http",
            "url": "https://example.org/", "headers": {"Authorization": "Bearer s3cret", "Accept": "text/html"}
        }))
        .unwrap()
    }

    #[test]
    fn a_plan_names_each_field_that_changes_and_hides_credentials() {
        let old = World {
            components: vec![component("site"), component("api")],
            monitors: vec![monitor("home", "site"), monitor("gone", "site")],
            ..Default::default()
        };
        let mut new = old.clone();
        new.components.push(component("db"));
        new.monitors.retain(|m| m.name != "gone");
        new.monitors[0].interval_secs = 10;
        new.monitors[0]
            .headers
            .insert("Authorization".into(), "Bearer other".into());
        let plan = Plan::between(&old, &new);
        assert_eq!(plan.counts(), (1, 1, 1), "{plan:#?}");
        let home = plan.changes.iter().find(|c| c.id == "home").unwrap();
        let names: Vec<&str> = home.fields.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(names, ["headers.Authorization", "interval_secs"]);
        let text = plan.to_text();
        assert!(text.contains("interval_secs: 30 → 10"), "{text}");
        assert!(
            !text.contains("s3cret") && !text.contains("other"),
            "{text}"
        );
        assert!(text.contains("(secret) sha256:"), "{text}");
        assert!(text.contains("+ component \"db\""), "{text}");
        assert!(text.contains("- monitor \"gone\""), "{text}");
        let json = serde_json::to_string(&plan).unwrap();
        assert!(!json.contains("s3cret"), "{json}");
        // Accept is not a credential.
        assert!(!is_secret("headers.Accept") && is_secret("headers.X-Api-Key"));
    }

    #[test]
    fn the_same_world_plans_nothing_and_a_move_is_a_position() {
        let old = World {
            components: vec![component("a"), component("b"), component("c")],
            ..Default::default()
        };
        assert!(Plan::between(&old, &old).is_empty());
        assert_eq!(
            Plan::between(&old, &old).to_text(),
            "No changes: the live world already matches.\n"
        );
        // Inserting before others does not move them.
        let mut inserted = old.clone();
        inserted.components.insert(0, component("z"));
        assert_eq!(Plan::between(&old, &inserted).counts(), (1, 0, 0));
        let mut swapped = old.clone();
        swapped.components.swap(0, 2);
        let plan = Plan::between(&old, &swapped);
        assert_eq!(plan.counts(), (0, 2, 0), "{plan:#?}");
        assert!(plan.changes.iter().all(|c| c.fields[0].field == "position"));
    }

    #[test]
    fn an_export_hides_secrets() {
        let mut w = World {
            components: vec![component("site")],
            monitors: vec![monitor("home", "site")],
            ..Default::default()
        };
        w.monitors[0].secret = Some("abcdefghijklmnopq".into());
        let out = without_secrets(&w);
        let text = toml::to_string(&out).unwrap();
        assert!(
            !text.contains("s3cret") && !text.contains("abcdefghij"),
            "{text}"
        );
        assert!(text.contains("Accept = \"text/html\""), "{text}");
    }
}
