//! Monitors discovered in Kubernetes (`[[kubernetes]] discover = true`): Ingresses and Services
//! annotated `vigil.dev/monitor: "true"` become monitors — an Ingress an HTTP check of its
//! first host (https when its TLS covers the host), a Service a TCP check of its first port —
//! with `vigil.dev/component`, `vigil.dev/path` and `vigil.dev/interval` when given. They are
//! managed by the cluster ("managed by kubernetes lke"): read-only elsewhere, and removed when
//! the annotation or the object goes. A component they name that does not exist is created.

use std::collections::BTreeMap;

use k8s_openapi::api::{core::v1::Service, networking::v1::Ingress};
use sqlx::PgPool;

use super::{
    apply::{self, Applied, Edit, WorldError},
    plan::ObjectKind,
    Actor, World,
};
use crate::config::monitors::{ComponentConfig, MonitorConfig, MonitorKind, ProbesConfig};

pub const MONITOR: &str = "vigil.dev/monitor";
pub const COMPONENT: &str = "vigil.dev/component";
pub const PATH: &str = "vigil.dev/path";
pub const INTERVAL: &str = "vigil.dev/interval";

fn annotations(
    meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta,
) -> BTreeMap<String, String> {
    meta.annotations.clone().unwrap_or_default()
}

fn blank(name: String, component: String, kind: MonitorKind, interval_secs: u64) -> MonitorConfig {
    serde_json::from_value(serde_json::json!({
        "name": name, "component": component, "kind": kind, "interval_secs": interval_secs,
    }))
    .expect("a minimal monitor reads")
}

/// A component id from a Kubernetes name: lowercase letters, digits and dashes already.
fn component_of(a: &BTreeMap<String, String>, fallback: &str) -> String {
    a.get(COMPONENT)
        .map(|c| c.trim().to_string())
        .filter(|c| !c.is_empty())
        .unwrap_or_else(|| fallback.to_string())
}

/// The world the annotated objects describe.
pub fn discovered(cluster: &str, ingresses: &[Ingress], services: &[Service]) -> World {
    let mut world = World::default();
    let component = |id: String, world: &mut World| {
        if world.component(&id).is_none() {
            world.components.push(ComponentConfig {
                name: id.clone(),
                id,
                group: Some(format!("Kubernetes {cluster}")),
                description: None,
            });
        }
    };
    for i in ingresses {
        let a = annotations(&i.metadata);
        if a.get(MONITOR).map(String::as_str) != Some("true") {
            continue;
        }
        let (Some(name), ns) = (
            i.metadata.name.clone(),
            i.metadata.namespace.clone().unwrap_or_default(),
        ) else {
            continue;
        };
        let Some(host) = i
            .spec
            .as_ref()
            .and_then(|s| s.rules.as_ref())
            .and_then(|r| r.iter().find_map(|r| r.host.clone()))
        else {
            continue;
        };
        let tls = i
            .spec
            .as_ref()
            .and_then(|s| s.tls.as_ref())
            .is_some_and(|t| {
                t.iter()
                    .any(|t| t.hosts.as_ref().is_some_and(|h| h.contains(&host)))
            });
        let path = a.get(PATH).cloned().unwrap_or_else(|| "/".into());
        let path = if path.starts_with('/') {
            path
        } else {
            format!("/{path}")
        };
        let interval = a
            .get(INTERVAL)
            .and_then(|v| v.trim().trim_end_matches('s').parse().ok())
            .unwrap_or(60);
        let c = component_of(&a, &name);
        component(c.clone(), &mut world);
        let mut m = blank(
            format!("{cluster}/ingress/{ns}/{name}"),
            c,
            MonitorKind::Http,
            interval,
        );
        m.url = Some(format!(
            "{}://{host}{path}",
            if tls { "https" } else { "http" }
        ));
        world.monitors.push(m);
    }
    for s in services {
        let a = annotations(&s.metadata);
        if a.get(MONITOR).map(String::as_str) != Some("true") {
            continue;
        }
        let (Some(name), ns) = (
            s.metadata.name.clone(),
            s.metadata.namespace.clone().unwrap_or_default(),
        ) else {
            continue;
        };
        let Some(port) = s
            .spec
            .as_ref()
            .and_then(|s| s.ports.as_ref())
            .and_then(|p| p.first())
            .map(|p| p.port)
        else {
            continue;
        };
        let interval = a
            .get(INTERVAL)
            .and_then(|v| v.trim().trim_end_matches('s').parse().ok())
            .unwrap_or(60);
        let c = component_of(&a, &name);
        component(c.clone(), &mut world);
        let mut m = blank(
            format!("{cluster}/service/{ns}/{name}"),
            c,
            MonitorKind::Tcp,
            interval,
        );
        m.host = Some(format!("{name}.{ns}.svc"));
        m.port = u16::try_from(port).ok();
        world.monitors.push(m);
    }
    world
}

/// Makes what the cluster manages in the world what it now describes: its monitors as
/// discovered, what is no longer annotated removed; components it names created when missing,
/// never taken from whoever made them.
pub async fn apply_discovered(
    pool: &PgPool,
    probes: &ProbesConfig,
    cluster: &str,
    found: World,
) -> Result<Applied, WorldError> {
    let actor = Actor::Discovered(cluster.to_string());
    let mark = actor.manages();
    apply::change(pool, probes, Edit::by(actor), move |current, wanted| {
        let ours = |kind: ObjectKind, id: &str| {
            current.managed.get(&(kind, id.to_string())) == mark.as_ref()
        };
        let mut monitors: Vec<MonitorConfig> = current
            .world
            .monitors
            .iter()
            .filter(|m| !ours(ObjectKind::Monitor, &m.name) && found.monitor(&m.name).is_none())
            .cloned()
            .collect();
        monitors.extend(found.monitors.iter().cloned());
        let still_named: std::collections::HashSet<&str> =
            monitors.iter().map(|m| m.component.as_str()).collect();
        let mut components: Vec<ComponentConfig> = current
            .world
            .components
            .iter()
            .filter(|c| !ours(ObjectKind::Component, &c.id) || still_named.contains(c.id.as_str()))
            .cloned()
            .collect();
        for c in &found.components {
            if !components.iter().any(|o| o.id == c.id) {
                components.push(c.clone());
            }
        }
        wanted.components = components;
        wanted.monitors = monitors;
        Ok(())
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn annotated_ingresses_and_services_become_monitors() {
        let ingress: Ingress = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "site", "namespace": "web", "annotations": {
                "vigil.dev/monitor": "true", "vigil.dev/path": "healthz", "vigil.dev/interval": "30"}},
            "spec": {"tls": [{"hosts": ["www.example.org"]}], "rules": [{"host": "www.example.org"}]}
        })).unwrap();
        let quiet: Ingress = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "other", "namespace": "web"}, "spec": {"rules": [{"host": "x.example.org"}]}
        })).unwrap();
        let service: Service = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "db", "namespace": "data", "annotations": {
                "vigil.dev/monitor": "true", "vigil.dev/component": "site"}},
            "spec": {"ports": [{"port": 5432}]}
        }))
        .unwrap();
        let w = discovered("lke", &[ingress, quiet], &[service]);
        assert_eq!(w.monitors.len(), 2);
        assert_eq!(w.monitors[0].name, "lke/ingress/web/site");
        assert_eq!(
            w.monitors[0].url.as_deref(),
            Some("https://www.example.org/healthz")
        );
        assert_eq!(w.monitors[0].interval_secs, 30);
        assert_eq!(
            (w.monitors[1].host.as_deref(), w.monitors[1].port),
            (Some("db.data.svc"), Some(5432))
        );
        assert_eq!(w.monitors[1].component, "site");
        assert_eq!(w.components.len(), 1, "one component, named by both");
    }
}
