//! A NodeBalancer port's configuration as Linode reports it, and what changed between two
//! readings: the evidence the seed team gathered by hand ("the configuration looked correct").

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One port's settings (protocol, algorithm, stickiness, health checks) and its backends
/// (address → weight and mode), as flat fields so that two readings compare field by field.
pub type Settings = BTreeMap<String, Value>;

/// What a reading shows against the one before.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    strum::IntoStaticStr,
    strum::EnumString,
    strum::VariantArray,
)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum ConfigChange {
    /// The first reading of this port.
    Initial,
    /// Some settings differ.
    Changed,
    /// The NodeBalancer was updated (the cluster posted its configuration) with the very same
    /// settings: re-applied, no change.
    Reapplied,
}

impl ConfigChange {
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    pub fn parse(s: &str) -> ConfigChange {
        s.parse().unwrap_or(ConfigChange::Initial)
    }
}

/// One field that differs; `None` on a side where the field is absent (a backend added or
/// removed).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FieldChange {
    pub field: String,
    pub from: Option<Value>,
    pub to: Option<Value>,
}

impl FieldChange {
    pub fn describe(&self) -> String {
        let show = |v: &Option<Value>| match v {
            None => "—".to_string(),
            Some(Value::String(s)) => s.clone(),
            Some(v) => v.to_string(),
        };
        format!("{} {} → {}", self.field, show(&self.from), show(&self.to))
    }
}

/// Every field whose value differs between `old` and `new`, in field order.
pub fn diff(old: &Settings, new: &Settings) -> Vec<FieldChange> {
    let mut fields: Vec<&String> = old.keys().chain(new.keys()).collect();
    fields.sort();
    fields.dedup();
    fields
        .into_iter()
        .filter(|f| old.get(*f) != new.get(*f))
        .map(|f| FieldChange {
            field: f.clone(),
            from: old.get(f).cloned(),
            to: new.get(f).cloned(),
        })
        .collect()
}

/// What a reading says, decided against the previous reading (its settings and the
/// NodeBalancer's `updated` then).
pub fn classify(
    previous: Option<(&Settings, Option<&str>)>,
    now: &Settings,
    updated: Option<&str>,
) -> Option<(ConfigChange, Vec<FieldChange>)> {
    let Some((before, was_updated)) = previous else {
        return Some((ConfigChange::Initial, Vec::new()));
    };
    let changes = diff(before, now);
    if !changes.is_empty() {
        Some((ConfigChange::Changed, changes))
    } else if updated.is_some() && updated != was_updated {
        Some((ConfigChange::Reapplied, Vec::new()))
    } else {
        None
    }
}

/// One entry of the history, for `/ops/load-balancers`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HistoryEntry {
    pub nodebalancer: String,
    pub port: i32,
    pub at: chrono::DateTime<chrono::Utc>,
    pub change: ConfigChange,
    pub changes: Vec<FieldChange>,
    /// Field → value, e.g. `check_interval` → 5, `node 192.168.255.10:80 mode` → "accept".
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub settings: Settings,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn settings(interval: u32, weight: u32) -> Settings {
        [
            ("check", json!("connection")),
            ("check_interval", json!(interval)),
            (
                "node 192.168.200.11:31080",
                json!(format!("weight {weight}, accept")),
            ),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect()
    }

    #[test]
    fn a_changed_field_is_named_with_both_values() {
        let d = diff(&settings(5, 100), &settings(10, 100));
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].describe(), "check_interval 5 → 10");
    }

    #[test]
    fn the_same_payload_posted_again_is_a_reapply_and_nothing_else_is_news() {
        let s = settings(5, 100);
        let first = classify(None, &s, Some("2021-01-30T14:30:00"));
        assert_eq!(first.unwrap().0, ConfigChange::Initial);
        let again = classify(
            Some((&s, Some("2021-01-30T14:30:00"))),
            &s,
            Some("2021-01-30T14:35:00"),
        );
        assert_eq!(again, Some((ConfigChange::Reapplied, vec![])));
        assert_eq!(
            classify(
                Some((&s, Some("2021-01-30T14:35:00"))),
                &s,
                Some("2021-01-30T14:35:00")
            ),
            None
        );
        let changed = classify(Some((&s, Some("x"))), &settings(5, 50), Some("y")).unwrap();
        assert_eq!(changed.0, ConfigChange::Changed);
        assert_eq!(
            changed.1[0].describe(),
            "node 192.168.200.11:31080 weight 100, accept → weight 50, accept"
        );
    }
}
