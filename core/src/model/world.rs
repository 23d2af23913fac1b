//! What the settings pages show of the world and ask of it. The pages (the app crate) cannot
//! reach the server's write path directly — the server depends on them, not the reverse — so
//! the server hands them a [`WorldDesk`] in the rendering context, and every change from a form
//! goes through the same validated write path as the API's.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::auth::Principal;

/// A component as the settings page lists it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ComponentRow {
    pub id: String,
    pub name: String,
    pub group: Option<String>,
    pub description: Option<String>,
    pub revision: i64,
    /// `file PATH` when a configuration file declares it: read-only here.
    pub managed_by: Option<String>,
    /// The monitors that belong to it, by name.
    pub monitors: Vec<String>,
}

/// A monitor as the settings page lists and edits it: its fields with the TOML's names, secrets
/// shown as "(secret)".
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MonitorRow {
    pub id: i64,
    pub name: String,
    pub component: String,
    pub kind: String,
    pub interval_secs: u64,
    pub revision: i64,
    pub managed_by: Option<String>,
    pub doc: Value,
}

/// A data source, channel, alert rule or the page's settings, as the settings page lists and
/// edits it: its document with the TOML's field names, credentials shown as "(secret)".
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SettingRow {
    /// `source`, `channel`, `alert_rule` or `page`.
    pub kind: String,
    pub id: String,
    pub revision: i64,
    pub managed_by: Option<String>,
    pub doc: Value,
    /// The document as TOML, as the form edits it.
    pub text: String,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SettingsView {
    pub revision: i64,
    pub components: Vec<ComponentRow>,
    pub monitors: Vec<MonitorRow>,
    pub settings: Vec<SettingRow>,
}

/// One field of a change in the history, as text.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FieldView {
    pub field: String,
    pub before: Option<String>,
    pub after: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ChangeView {
    /// `component` or `monitor`.
    pub object: String,
    pub id: String,
    /// `create`, `update` or `delete`.
    pub op: String,
    pub fields: Vec<FieldView>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RevisionView {
    pub number: i64,
    pub at: DateTime<Utc>,
    pub actor: String,
    pub message: Option<String>,
    pub changes: Vec<ChangeView>,
}

/// What one check run from the server found ("Check now").
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CheckOutcomeView {
    /// `up`, `degraded` or `down`.
    pub outcome: String,
    pub latency_ms: Option<f64>,
    pub error: Option<String>,
}

/// A change a settings form asks for. Documents use the TOML's field names.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum WorldOp {
    /// Creates (`original` none) or changes the component `original`.
    PutComponent {
        original: Option<String>,
        doc: Value,
        expected_revision: Option<i64>,
    },
    DeleteComponent {
        id: String,
    },
    /// One place up (`up`) or down on the page.
    MoveComponent {
        id: String,
        up: bool,
    },
    /// Creates (`original` none) or changes the monitor named `original`.
    PutMonitor {
        original: Option<String>,
        doc: Value,
        expected_revision: Option<i64>,
    },
    DeleteMonitor {
        name: String,
    },
    /// Creates (`original` none) or changes a setting: `kind` is `source`, `channel`,
    /// `alert_rule` or `page`.
    PutSetting {
        kind: String,
        original: Option<String>,
        doc: Value,
        expected_revision: Option<i64>,
    },
    DeleteSetting {
        kind: String,
        id: String,
    },
    Restore {
        revision: i64,
    },
}

/// A boxed future, so the desk can be a trait object.
pub type Pending<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'a>>;

/// The server's world, as the settings pages use it. Refusals are the write path's own words
/// (every problem, naming object and field).
pub trait WorldDesk: Send + Sync {
    fn settings(&self) -> Pending<'_, Result<SettingsView, String>>;
    /// Applies `op` as `who`; the new revision (or the unchanged one).
    fn change(&self, who: Principal, op: WorldOp) -> Pending<'_, Result<i64, String>>;
    /// Runs the monitor `doc` once from this server, without saving it.
    fn check_now(&self, doc: Value) -> Pending<'_, Result<CheckOutcomeView, String>>;
    fn history(&self, limit: i64) -> Pending<'_, Result<Vec<RevisionView>, String>>;
}
