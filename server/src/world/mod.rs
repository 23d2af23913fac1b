//! The world Vigil watches — components and monitors — held in the database, not in a file read
//! once. The browser, the API, `vigil world apply`, the importers and a configuration file that
//! declares `[[component]]`/`[[monitor]]` all change it through one validated write path
//! ([`apply::change`]); each change is a numbered revision, and every replica applies it live
//! ([`follow`]).

pub mod apply;
pub mod cli;
pub mod command;
pub mod desk;
pub mod discover;
pub mod file;
pub mod follow;
pub mod history;
pub mod import;
pub mod objects;
mod parsed;
pub mod plan;
pub mod seal;
pub mod settings;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use vigil_core::store::world::{StoredComponent, StoredSetting};

use crate::config::{
    kubernetes::KubernetesConfig,
    monitors::{ComponentConfig, MonitorConfig},
    notify::NotifyConfig,
    resources::{AlertConfig, NodeExporterConfig, PrometheusConfig},
    upstream::UpstreamConfig,
    LinodeConfig,
};

/// The sections of a world document.
pub const WORLD_KEYS: [&str; 11] = [
    "component",
    "monitor",
    "prometheus",
    "node_exporter",
    "kubernetes",
    "linode",
    "upstream",
    "notify",
    "alert",
    "page",
    "objective",
];

/// The whole world as people write it: the TOML's `[[component]]` and `[[monitor]]` tables in
/// page order, and the sources, channels, alert rules and page settings with the sections'
/// names `vigil.toml` gives them (see [`settings`]). The same document is what
/// `vigil world export` prints and `apply` reads.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct World {
    #[serde(default, rename = "component")]
    pub components: Vec<ComponentConfig>,
    #[serde(default, rename = "monitor")]
    pub monitors: Vec<MonitorConfig>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schema(value_type = Vec<Object>)]
    pub prometheus: Vec<PrometheusConfig>,
    #[serde(
        default,
        rename = "node_exporter",
        skip_serializing_if = "Vec::is_empty"
    )]
    #[schema(value_type = Vec<Object>)]
    pub node_exporters: Vec<NodeExporterConfig>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schema(value_type = Vec<Object>)]
    pub kubernetes: Vec<KubernetesConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub linode: Option<LinodeConfig>,
    #[serde(default, rename = "upstream", skip_serializing_if = "Vec::is_empty")]
    #[schema(value_type = Vec<Object>)]
    pub upstreams: Vec<UpstreamConfig>,
    /// Notification channels.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schema(value_type = Vec<Object>)]
    pub notify: Vec<NotifyConfig>,
    /// Alert rules on node resources.
    #[serde(default, rename = "alert", skip_serializing_if = "Vec::is_empty")]
    #[schema(value_type = Vec<Object>)]
    pub alerts: Vec<AlertConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page: Option<objects::PageConfig>,
    /// Objectives and their error budgets.
    #[serde(default, rename = "objective", skip_serializing_if = "Vec::is_empty")]
    #[schema(value_type = Vec<Object>)]
    pub objectives: Vec<vigil_core::model::objective::ObjectiveSpec>,
}

impl World {
    pub fn component(&self, id: &str) -> Option<&ComponentConfig> {
        self.components.iter().find(|c| c.id == id)
    }

    pub fn monitor(&self, name: &str) -> Option<&MonitorConfig> {
        self.monitors.iter().find(|m| m.name == name)
    }

    /// The world as stored, its monitors read ([`World::read_monitor`]).
    pub fn from_stored(
        components: &[StoredComponent],
        monitors: Vec<MonitorConfig>,
        stored_settings: &[StoredSetting],
    ) -> World {
        let mut world = World {
            components: components
                .iter()
                .map(|c| ComponentConfig {
                    id: c.id.clone(),
                    name: c.name.clone(),
                    group: c.group.clone(),
                    description: c.description.clone(),
                })
                .collect(),
            monitors,
            ..Default::default()
        };
        let read: Vec<objects::Setting> = stored_settings
            .iter()
            .filter_map(|s| {
                let kind = objects::ObjectKind::parse(&s.kind)?;
                let mut doc = s.doc.clone();
                if let Err(e) = seal::sealer().open(&mut doc) {
                    tracing::error!(kind = %s.kind, id = %s.id, error = %e, "cannot open a stored setting's secrets");
                    return None;
                }
                Some(objects::Setting { kind, id: s.id.clone(), doc })
            })
            .collect();
        if let Err(problems) = world.set_settings(read) {
            for p in problems {
                tracing::error!(setting = %p.key, error = %p.message, "cannot read a stored setting; it is left out");
            }
        }
        world
    }

    /// A stored monitor's document, its secrets opened. A monitor written before worlds were
    /// revisions has none; it is left out (the first revision, from the configuration file,
    /// writes every one).
    pub fn read_monitor(name: &str, doc: Option<serde_json::Value>) -> Option<MonitorConfig> {
        let mut doc = doc?;
        if let Err(e) = seal::sealer().open(&mut doc) {
            tracing::error!(monitor = %name, error = %e, "cannot open a stored monitor's secrets");
            return None;
        }
        serde_json::from_value(doc).ok()
    }

    /// Components in page order, then monitors by name: two worlds that differ only in the
    /// order monitors were written in export the same.
    pub fn sorted(mut self) -> World {
        self.monitors.sort_by(|a, b| a.name.cmp(&b.name));
        self
    }
}

/// Who made a revision, as the history shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Actor {
    /// A signed-in person (`admin alice`).
    Person { role: String, name: String },
    /// An API token, by its name.
    Token(String),
    /// The configuration file that is authoritative for what it declares (`[world] managed_by`).
    File(String),
    /// `vigil world apply` or an importer, run on a server.
    Cli(String),
    /// A Kubernetes cluster's annotated Ingresses and Services (`discover = true`).
    Discovered(String),
}

impl std::fmt::Display for Actor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Actor::Person { role, name } => write!(f, "{role} {name}"),
            Actor::Token(name) => write!(f, "token {name}"),
            Actor::File(path) => write!(f, "file {path}"),
            Actor::Cli(what) => write!(f, "{what}"),
            Actor::Discovered(cluster) => write!(f, "kubernetes {cluster}"),
        }
    }
}

impl Actor {
    /// What an object is marked with when this actor is authoritative for it: a managing
    /// configuration file, or a cluster whose objects were discovered.
    pub fn manages(&self) -> Option<String> {
        match self {
            Actor::File(path) => Some(format!("file {path}")),
            Actor::Discovered(cluster) => Some(format!("kubernetes {cluster}")),
            _ => None,
        }
    }

    /// The actor behind an API or browser request.
    pub fn of(principal: &vigil_core::model::auth::Principal) -> Actor {
        use vigil_core::model::auth::Principal;
        match principal {
            Principal::User { name, role, .. } => Actor::Person {
                role: role.to_string(),
                name: name.clone(),
            },
            Principal::Token { name, .. } => Actor::Token(name.clone()),
        }
    }
}
