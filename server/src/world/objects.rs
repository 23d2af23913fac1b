//! The kinds of objects a world holds, and the settings' own types: a leaf the rest of
//! `world` reads from (the plan, the seal, the store's rows), importing nothing of it.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use crate::config::{
    kubernetes::KubernetesConfig,
    problem::Problem,
    resources::{AlertConfig, NodeExporterConfig, PrometheusConfig},
    upstream::UpstreamConfig,
    LinodeConfig,
};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ObjectKind {
    Component,
    Monitor,
    /// A data source: Prometheus, node_exporter, Kubernetes, Linode or an upstream provider.
    Source,
    /// A notification channel (`[[notify]]`).
    Channel,
    AlertRule,
    /// The public page's settings.
    Page,
    /// An objective and its error budget (`[[objective]]`).
    Objective,
}

impl ObjectKind {
    /// As a plan, a problem and the store name it.
    pub fn name(self) -> &'static str {
        match self {
            ObjectKind::Component => "component",
            ObjectKind::Monitor => "monitor",
            ObjectKind::Source => "source",
            ObjectKind::Channel => "channel",
            ObjectKind::AlertRule => "alert_rule",
            ObjectKind::Page => "page",
            ObjectKind::Objective => "objective",
        }
    }

    pub fn parse(name: &str) -> Option<ObjectKind> {
        [
            ObjectKind::Component,
            ObjectKind::Monitor,
            ObjectKind::Source,
            ObjectKind::Channel,
            ObjectKind::AlertRule,
            ObjectKind::Page,
            ObjectKind::Objective,
        ]
        .into_iter()
        .find(|k| k.name() == name)
    }
}

/// What the public page says of its owner besides the components.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PageConfig {
    /// The page's title (the company or product), e.g. "Example Status".
    pub title: String,
    /// A sentence under the title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Links in the page's header, e.g. the company's site or support.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub links: Vec<PageLink>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PageLink {
    pub name: String,
    pub url: String,
}

/// A data source as the API speaks of it: its kind beside the fields of its TOML section.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Source {
    Prometheus(PrometheusConfig),
    NodeExporter(NodeExporterConfig),
    Kubernetes(KubernetesConfig),
    Linode(LinodeConfig),
    Upstream(UpstreamConfig),
}

/// The one Linode account's id among the sources (its name in the sources' registry).
pub const LINODE_ID: &str = "linode:api";
/// The page's settings' id.
pub const PAGE_ID: &str = "page";

impl Source {
    /// Its id among the sources: `KIND:NAME` (a node_exporter's node; the Linode account is
    /// `linode:api`), as the sources' registry and `/ops` name it. A Prometheus and a cluster
    /// may share a name; two sources of one kind may not.
    pub fn id(&self) -> String {
        Self::id_of(self.kind(), &self.name())
    }

    /// The id of a source of `kind` named `name`.
    pub fn id_of(kind: &str, name: &str) -> String {
        if kind == "linode" {
            LINODE_ID.into()
        } else {
            format!("{kind}:{name}")
        }
    }

    /// Its name within its kind.
    pub fn name(&self) -> String {
        match self {
            Source::Prometheus(p) => p.name.clone(),
            Source::NodeExporter(e) => e.node.clone(),
            Source::Kubernetes(k) => k.name.clone(),
            Source::Linode(_) => "api".into(),
            Source::Upstream(u) => u.name.clone(),
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            Source::Prometheus(_) => "prometheus",
            Source::NodeExporter(_) => "node_exporter",
            Source::Kubernetes(_) => "kubernetes",
            Source::Linode(_) => "linode",
            Source::Upstream(_) => "upstream",
        }
    }
}

/// An alert rule's id: its name, or `memory-above-0.9`.
pub fn alert_id(a: &AlertConfig) -> String {
    a.name
        .clone()
        .unwrap_or_else(|| format!("{}-above-{}", a.metric, a.above))
}

/// One setting: its kind, its id, and its document as written (a source's with its `kind`).
#[derive(Clone, Debug, PartialEq)]
pub struct Setting {
    pub kind: ObjectKind,
    pub id: String,
    pub doc: Value,
}

/// The kinds that are settings (not components or monitors), in the order they are listed.
pub const KINDS: [ObjectKind; 5] = [
    ObjectKind::Source,
    ObjectKind::Channel,
    ObjectKind::AlertRule,
    ObjectKind::Page,
    ObjectKind::Objective,
];

/// The fields of a setting that hold a credential: a channel's webhook URL carries its token
/// (Discord's and Slack's do).
pub fn is_secret_field(kind: ObjectKind, field: &str) -> bool {
    kind == ObjectKind::Channel && field == "url"
}

/// `doc` read as a `T`, or the problem naming the field (`monitor `home`: interval_secs`; an
/// unknown field is named in the message).
pub fn read_doc<T: serde::de::DeserializeOwned>(what: &str, doc: Value) -> Result<T, Problem> {
    serde_path_to_error::deserialize(doc).map_err(|e| {
        let path = e.path().to_string();
        let key = if path == "." {
            what.to_string()
        } else {
            format!("{what}: {path}")
        };
        Problem::new(key, e.into_inner().to_string())
    })
}
