//! The world beside components and monitors: the data sources Vigil reads (Prometheus,
//! node_exporter, Kubernetes, Linode, upstream providers), the channels it notifies, the alert
//! rules it judges node resources by, and the public page's own settings. They are written with
//! the same section names as `vigil.toml` (`[[prometheus]]`, `[[notify]]`, `[[alert]]`,
//! `[page]`…), so an export reads like a configuration file; the API and the store see each as
//! one object of a kind, with an id, through [`Setting`].

use std::collections::{HashMap, HashSet};

use serde_json::Value;

pub use super::objects::{
    alert_id, is_secret_field, read_doc, PageConfig, PageLink, Setting, Source, KINDS, LINODE_ID,
    PAGE_ID,
};
use super::{objects::ObjectKind, World};
use crate::config::{notify::NotifyConfig, problem::Problem, resources::AlertConfig, LinodeConfig};
use vigil_core::model::objective::{ObjectiveSpec, Scope};

impl World {
    /// Every setting, each kind in its order.
    pub fn settings(&self) -> Vec<Setting> {
        let value = |v: Result<Value, serde_json::Error>| v.expect("settings serialise");
        let mut out = Vec::new();
        for s in self.sources() {
            out.push(Setting {
                kind: ObjectKind::Source,
                id: s.id(),
                doc: value(serde_json::to_value(&s)),
            });
        }
        for c in &self.notify {
            out.push(Setting {
                kind: ObjectKind::Channel,
                id: c.name.clone(),
                doc: value(serde_json::to_value(c)),
            });
        }
        for a in &self.alerts {
            out.push(Setting {
                kind: ObjectKind::AlertRule,
                id: alert_id(a),
                doc: value(serde_json::to_value(a)),
            });
        }
        if let Some(p) = &self.page {
            out.push(Setting {
                kind: ObjectKind::Page,
                id: PAGE_ID.into(),
                doc: value(serde_json::to_value(p)),
            });
        }
        for o in &self.objectives {
            out.push(Setting {
                kind: ObjectKind::Objective,
                id: o.id.clone(),
                doc: value(serde_json::to_value(o)),
            });
        }
        out
    }

    /// The sources, in the order they are listed.
    pub fn sources(&self) -> Vec<Source> {
        let mut out: Vec<Source> = Vec::new();
        out.extend(self.prometheus.iter().cloned().map(Source::Prometheus));
        out.extend(
            self.node_exporters
                .iter()
                .cloned()
                .map(Source::NodeExporter),
        );
        out.extend(self.kubernetes.iter().cloned().map(Source::Kubernetes));
        out.extend(self.linode.iter().cloned().map(Source::Linode));
        out.extend(self.upstreams.iter().cloned().map(Source::Upstream));
        out
    }

    /// Each source's id and the URL it is read from (Linode's API URL).
    pub fn source_urls_mut(&mut self) -> Vec<(String, &mut String)> {
        let mut out: Vec<(String, &mut String)> = Vec::new();
        for p in &mut self.prometheus {
            out.push((Source::id_of("prometheus", &p.name), &mut p.url));
        }
        for e in &mut self.node_exporters {
            out.push((Source::id_of("node_exporter", &e.node), &mut e.url));
        }
        for k in &mut self.kubernetes {
            out.push((Source::id_of("kubernetes", &k.name), &mut k.url));
        }
        for u in &mut self.upstreams {
            out.push((Source::id_of("upstream", &u.name), &mut u.url));
        }
        if let Some(l) = self.linode.as_mut() {
            out.push((LINODE_ID.to_string(), &mut l.api_url));
        }
        out
    }

    /// One setting's document, secrets as written.
    pub fn setting(&self, kind: ObjectKind, id: &str) -> Option<Value> {
        self.settings()
            .into_iter()
            .find(|s| s.kind == kind && s.id == id)
            .map(|s| s.doc)
    }

    /// Adds a setting from its document, or replaces the one with its id. The problems name
    /// the object and the field.
    pub fn put_setting(&mut self, kind: ObjectKind, doc: Value) -> Result<String, Problem> {
        // How a problem names the object: by the id it would have.
        let field = |key: &str| {
            doc.get(key)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        let name = match kind {
            ObjectKind::Source => {
                let source_kind = field("kind");
                let name = field(if source_kind == "node_exporter" {
                    "node"
                } else {
                    "name"
                });
                Source::id_of(&source_kind, &name)
            }
            _ => field("name"),
        };
        let what = format!("{} `{name}`", kind.name());
        // Read once to find the problems in the caller's words; kept as written.
        let id = match kind {
            ObjectKind::Source => read_doc::<Source>(&what, doc.clone())?.id(),
            ObjectKind::Channel => read_doc::<NotifyConfig>(&what, doc.clone())?.name,
            ObjectKind::AlertRule => alert_id(&read_doc::<AlertConfig>(&what, doc.clone())?),
            ObjectKind::Page => {
                read_doc::<PageConfig>(&what, doc.clone())?;
                PAGE_ID.into()
            }
            ObjectKind::Objective => read_doc::<ObjectiveSpec>(&what, doc.clone())?.id,
            ObjectKind::Component | ObjectKind::Monitor => unreachable!("not a setting"),
        };
        let new = Setting { kind, id, doc };
        let id = new.id.clone();
        let mut all = self.settings();
        match all.iter_mut().find(|s| s.kind == kind && s.id == id) {
            Some(slot) => *slot = new,
            None => all.push(new),
        }
        self.set_settings(all).map_err(|mut p| p.remove(0))?;
        Ok(id)
    }

    /// Removes a setting; false when there is none.
    pub fn remove_setting(&mut self, kind: ObjectKind, id: &str) -> bool {
        let mut all = self.settings();
        let before = all.len();
        all.retain(|s| !(s.kind == kind && s.id == id));
        let removed = all.len() != before;
        self.set_settings(all).expect("what was read reads again");
        removed
    }

    /// Replaces every setting with `settings` (each kind in the order given). Documents that do
    /// not read are the problems returned, and left out.
    pub fn set_settings(&mut self, settings: Vec<Setting>) -> Result<(), Vec<Problem>> {
        self.prometheus.clear();
        self.node_exporters.clear();
        self.kubernetes.clear();
        self.linode = None;
        self.upstreams.clear();
        self.notify.clear();
        self.alerts.clear();
        self.page = None;
        self.objectives.clear();
        let mut problems = Vec::new();
        for s in settings {
            let what = format!("{} `{}`", s.kind.name(), s.id);
            let bad = |e: serde_json::Error| Problem::new(what.clone(), e.to_string());
            let read = match s.kind {
                ObjectKind::Source => {
                    serde_json::from_value::<Source>(s.doc).map(|src| match src {
                        Source::Prometheus(p) => self.prometheus.push(p),
                        Source::NodeExporter(e) => self.node_exporters.push(e),
                        Source::Kubernetes(k) => self.kubernetes.push(k),
                        Source::Linode(l) => self.linode = Some(l),
                        Source::Upstream(u) => self.upstreams.push(u),
                    })
                }
                ObjectKind::Channel => serde_json::from_value(s.doc).map(|c| self.notify.push(c)),
                ObjectKind::AlertRule => serde_json::from_value(s.doc).map(|a| self.alerts.push(a)),
                ObjectKind::Page => serde_json::from_value(s.doc).map(|p| self.page = Some(p)),
                ObjectKind::Objective => {
                    serde_json::from_value(s.doc).map(|o| self.objectives.push(o))
                }
                ObjectKind::Component | ObjectKind::Monitor => continue,
            };
            if let Err(e) = read {
                problems.push(bad(e));
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems)
        }
    }
}

/// Everything wrong with the world's settings, each problem naming its object and field: the
/// checks `vigil serve` runs on its file, run object by object so that every object's first
/// problem is said at once.
///
/// `floor` is the server's `probes.min_interval_secs`: an operator who lowered it (a lab, the
/// tests' simulator) may poll sources that often too; otherwise each kind's own minimum holds.
pub fn validate(world: &World, floor: u64) -> Vec<Problem> {
    // Lifted to the kind's minimum when at or above the operator's floor, so only an interval
    // below both is refused.
    let lift = |interval: &mut u64, minimum: u64| {
        if *interval >= floor && *interval < minimum {
            *interval = minimum;
        }
    };
    let mut problems = Vec::new();
    // The checks' keys name a position in the file (`notify[0].url`); here, the object.
    let mut said = |kind: ObjectKind, id: &str, found: Result<(), Problem>| {
        if let Err(p) = found {
            let field = match p.key.split_once("].") {
                Some((_, f)) => Some(f.to_string()),
                None => p.key.split_once('.').map(|(_, f)| f.to_string()),
            }
            .filter(|f| !f.is_empty());
            let key = match field {
                Some(f) => format!("{} `{id}`: {f}", kind.name()),
                None => format!("{} `{id}`", kind.name()),
            };
            problems.push(Problem::new(key, p.message));
        }
    };
    let mut ids = HashSet::new();
    for s in world.sources() {
        let id = s.id();
        if !ids.insert(id.clone()) {
            said(
                ObjectKind::Source,
                &id,
                Err(Problem::new(
                    "source.name",
                    "another source of this kind has this name",
                )),
            );
        }
        let resources = crate::config::resources::ResourcesConfig {
            alerts: Vec::new(),
            ..Default::default()
        };
        let mut s = s;
        match &mut s {
            Source::Prometheus(p) => lift(&mut p.interval_secs, 5),
            Source::Kubernetes(k) => lift(&mut k.interval_secs, 5),
            Source::Linode(l) => lift(&mut l.poll_secs, 5),
            Source::NodeExporter(_) | Source::Upstream(_) => {}
        }
        let found = match &s {
            Source::Prometheus(p) => {
                crate::config::resources::validate(&resources, std::slice::from_ref(p), &[])
            }
            Source::NodeExporter(e) => {
                crate::config::resources::validate(&resources, &[], std::slice::from_ref(e))
            }
            Source::Kubernetes(k) => crate::config::kubernetes::validate(std::slice::from_ref(k)),
            Source::Upstream(u) => crate::config::upstream::validate(std::slice::from_ref(u)),
            Source::Linode(l) => validate_linode(l),
        };
        said(ObjectKind::Source, &id, found);
    }
    let mut names = HashSet::new();
    for c in &world.notify {
        if !names.insert(c.name.clone()) {
            said(
                ObjectKind::Channel,
                &c.name,
                Err(Problem::new("notify.name", "another channel has this name")),
            );
        }
        said(
            ObjectKind::Channel,
            &c.name,
            crate::config::notify::validate(std::slice::from_ref(c)),
        );
    }
    let mut rules = HashMap::new();
    for a in &world.alerts {
        let id = alert_id(a);
        if rules.insert(id.clone(), ()).is_some() {
            said(
                ObjectKind::AlertRule,
                &id,
                Err(Problem::new(
                    "alert.name",
                    "another rule has this name; name one of them",
                )),
            );
        }
        let resources = crate::config::resources::ResourcesConfig {
            alerts: vec![a.clone()],
            ..Default::default()
        };
        said(
            ObjectKind::AlertRule,
            &id,
            crate::config::resources::validate(&resources, &[], &[]),
        );
    }
    if let Some(p) = &world.page {
        if p.title.trim().is_empty() || p.title.chars().count() > 80 {
            said(
                ObjectKind::Page,
                PAGE_ID,
                Err(Problem::new(
                    "page.title",
                    "give a title of 1 to 80 characters",
                )),
            );
        }
        if p.description
            .as_ref()
            .is_some_and(|d| d.chars().count() > 500)
        {
            said(
                ObjectKind::Page,
                PAGE_ID,
                Err(Problem::new("page.description", "at most 500 characters")),
            );
        }
        for (i, l) in p.links.iter().enumerate() {
            let ok = reqwest::Url::parse(&l.url)
                .is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some());
            if !ok || l.name.trim().is_empty() {
                said(
                    ObjectKind::Page,
                    PAGE_ID,
                    Err(Problem::new(
                        format!("page.links[{i}]"),
                        format!(
                            "link {} needs a name and an http(s) URL, e.g. https://example.com/support",
                            i + 1
                        ),
                    )),
                );
            }
        }
    }
    let mut objectives = HashSet::new();
    for o in &world.objectives {
        if !objectives.insert(o.id.clone()) {
            said(
                ObjectKind::Objective,
                &o.id,
                Err(Problem::new(
                    "objective.id",
                    "another objective has this id",
                )),
            );
        }
        for (field, message) in o.check().err().unwrap_or_default() {
            said(
                ObjectKind::Objective,
                &o.id,
                Err(Problem::new(format!("objective.{field}"), message)),
            );
        }
        // What it counts must exist, or its budget would silently read as untouched.
        match o.scope() {
            Some(Scope::Component(c)) if world.component(&c).is_none() => said(
                ObjectKind::Objective,
                &o.id,
                Err(Problem::new(
                    "objective.component",
                    format!("there is no component `{c}`: name one of the page's components"),
                )),
            ),
            Some(Scope::Monitor(m)) if world.monitor(&m).is_none() => said(
                ObjectKind::Objective,
                &o.id,
                Err(Problem::new(
                    "objective.monitor",
                    format!("there is no monitor `{m}`: name one by its name"),
                )),
            ),
            _ => {}
        }
        if let Some(source) = &o.prometheus {
            if !world.prometheus.iter().any(|p| p.name == *source) {
                said(
                    ObjectKind::Objective,
                    &o.id,
                    Err(Problem::new(
                        "objective.prometheus",
                        format!("there is no [[prometheus]] source named `{source}`: add it, or name one of those there are"),
                    )),
                );
            }
        }
    }
    problems
}

/// Linode's checks, without requiring the token here: the replica that polls reads it, and
/// says so as a failing source when it cannot.
fn validate_linode(l: &LinodeConfig) -> Result<(), Problem> {
    if l.poll_secs < 5 {
        return Err(Problem::new("linode.poll_secs", "must be at least 5"));
    }
    if l.flap_changes < 2 {
        return Err(Problem::new("linode.flap_changes", "must be at least 2"));
    }
    let ok = reqwest::Url::parse(&l.api_url)
        .is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some());
    if !ok {
        return Err(Problem::new(
            "linode.api_url",
            "must be an http(s) URL, e.g. https://api.linode.com/v4",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_read_back_as_written_and_problems_name_the_object() {
        let mut w = World::default();
        w.put_setting(
            ObjectKind::Source,
            serde_json::json!({"kind": "prometheus", "name": "prom", "url": "http://127.0.0.1:9090"}),
        )
        .unwrap();
        w.put_setting(
            ObjectKind::Source,
            serde_json::json!({"kind": "node_exporter", "node": "node-a", "url": "http://127.0.0.1:9100/metrics"}),
        )
        .unwrap();
        w.put_setting(
            ObjectKind::Channel,
            serde_json::json!({"name": "ops", "kind": "discord", "url": "https://discord.example/api/webhooks/1/tok"}),
        )
        .unwrap();
        assert_eq!(w.prometheus.len(), 1);
        assert_eq!(w.node_exporters[0].node, "node-a");
        let ids: Vec<String> = w.settings().into_iter().map(|s| s.id).collect();
        assert_eq!(ids, ["prometheus:prom", "node_exporter:node-a", "ops"]);
        let mut copy = World::default();
        copy.set_settings(w.settings()).unwrap();
        assert_eq!(copy, w);

        let bad = w
            .put_setting(
                ObjectKind::Source,
                serde_json::json!({"kind": "prometheus", "name": "p2", "url": "http://x", "intervl_secs": 5}),
            )
            .unwrap_err();
        assert_eq!(bad.key, "source `prometheus:p2`");
        assert!(bad.message.contains("intervl_secs"), "{}", bad.message);

        w.notify.push(w.notify[0].clone());
        w.prometheus[0].url = "ftp://nope".into();
        w.alerts.push(AlertConfig {
            name: None,
            metric: "disk".into(),
            above: 0.5,
            for_secs: 0,
        });
        let problems = validate(&w, 30);
        let keys: Vec<&str> = problems.iter().map(|p| p.key.as_str()).collect();
        assert!(keys.contains(&"source `prometheus:prom`: url"), "{keys:?}");
        assert!(keys.contains(&"channel `ops`: name"), "{keys:?}");
        assert!(
            keys.contains(&"alert_rule `disk-above-0.5`: metric"),
            "{keys:?}"
        );
        // A cluster may share a Prometheus' name.
        w.put_setting(
            ObjectKind::Source,
            serde_json::json!({"kind": "kubernetes", "name": "prom", "url": "https://127.0.0.1:6443"}),
        )
        .unwrap();
        assert!(!validate(&w, 30)
            .iter()
            .any(|p| p.key.starts_with("source `kubernetes:prom`")));
        assert!(w.remove_setting(ObjectKind::Source, "node_exporter:node-a"));
        assert!(!w.remove_setting(ObjectKind::Source, "node_exporter:node-a"));
        assert!(w.node_exporters.is_empty());
    }
}

#[cfg(test)]
mod shipped {
    use super::*;

    /// The configuration files Vigil ships declare worlds their settings pass as they are: a
    /// source refused here would leave the demo (or the browser tests) with no world at all.
    #[test]
    fn the_demo_and_e2e_files_declare_valid_settings() {
        let token = std::env::temp_dir().join(format!("vigil-token-{}", std::process::id()));
        std::fs::write(&token, "t0ken\n").unwrap();
        let env = vec![(
            "VIGIL_LINODE__TOKEN_FILE".to_string(),
            token.display().to_string(),
        )];
        for file in ["../demo.toml", "../end2end/vigil-e2e.toml"] {
            let config =
                crate::config::Config::load_with_env(Some(std::path::Path::new(file)), &env)
                    .unwrap_or_else(|e| panic!("{file}: {e}"));
            let world = crate::world::file::declared(&config);
            assert!(!world.sources().is_empty(), "{file} declares sources");
            let problems = validate(&world, config.probes.min_interval_secs);
            assert!(problems.is_empty(), "{file}: {problems:?}");
        }
        let _ = std::fs::remove_file(token);
    }
}
