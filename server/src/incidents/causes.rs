//! The chain of causes of an incident: the dependency map completed from the live world, the
//! configuration and what the sources discovered, then the evidence of the incident's window
//! walked along it (`vigil_core::model::causes::explain`). Read by `/ops/incidents/{id}`, the
//! API, the ops channels' messages and the drafted post-mortem — never by the public side.

use std::{
    collections::{BTreeMap, HashSet},
    net::IpAddr,
    time::Duration,
};

use chrono::Utc;
use sqlx::PgPool;
use vigil_core::{
    model::{
        causes::{
            explain, BackendPath, Causes, DependencyMap, Evidence, MonitorPath, NodePath,
            ProviderPath, Via,
        },
        monitor::Check,
    },
    store::{
        causes::{self as store, Discovered},
        incidents, StoreError,
    },
};

use crate::{config::Config, world::follow::Live};

/// What the chain takes from the server's configuration (the map's paths come from the live
/// world's sources).
#[derive(Clone, Debug, Default)]
pub struct CauseSettings {
    pub lag: chrono::Duration,
}

/// What the live world's sources say of the map: which provider hosts what, which node each
/// backend runs on where configured.
struct SourcePaths {
    providers: Vec<ProviderPath>,
    /// Backend address IP or label → node (`[linode] backend_nodes`).
    backend_nodes: BTreeMap<String, String>,
}

impl SourcePaths {
    fn of(world: &crate::world::World) -> SourcePaths {
        SourcePaths {
            providers: world
                .upstreams
                .iter()
                .filter(|u| !u.hosts.is_empty())
                .map(|u| ProviderPath {
                    provider: u.name.clone(),
                    hosts: u.hosts.clone(),
                })
                .collect(),
            backend_nodes: world
                .linode
                .as_ref()
                .map(|l| l.backend_nodes.clone())
                .unwrap_or_default(),
        }
    }
}

impl CauseSettings {
    pub fn from_config(c: &Config) -> CauseSettings {
        CauseSettings {
            lag: chrono::Duration::seconds(c.incidents.cause_lag_secs as i64),
        }
    }
}

/// The live world and the settings: everything computing a chain needs besides the database.
#[derive(Clone)]
pub struct Explainer {
    pub live: Live,
    pub settings: std::sync::Arc<CauseSettings>,
}

/// A host names a balancer when it is one of its addresses or its hostname; a name is looked up
/// (briefly) only for the monitors of the incident being explained.
const LOOKUP_TIMEOUT: Duration = Duration::from_millis(500);
const MAX_LOOKUPS: usize = 16;

impl Explainer {
    /// The dependency map: every monitor's path (declared, or discovered from its host when
    /// `resolve` names it), every backend's node, the providers and the nodes.
    pub async fn map(
        &self,
        pool: &PgPool,
        resolve: &HashSet<String>,
    ) -> Result<DependencyMap, StoreError> {
        let found = store::discovered(pool).await?;
        let world = self.live.borrow().clone();
        let paths = SourcePaths::of(&world.settings);
        let mut monitors = Vec::with_capacity(world.monitors.len());
        let mut lookups = 0;
        for (_, spec) in &world.monitors {
            let (via, how) = if !spec.via.is_empty() {
                (spec.via.clone(), "declared")
            } else {
                let may_resolve = resolve.contains(&spec.component) && lookups < MAX_LOOKUPS;
                let (via, looked) = discover(&spec.check, &found, may_resolve).await;
                lookups += looked as usize;
                (via, "discovered")
            };
            if via.is_empty() {
                continue;
            }
            monitors.push(MonitorPath {
                monitor: spec.name.clone(),
                component: spec.component.clone(),
                via,
                how: how.into(),
            });
        }
        monitors.sort_by(|a, b| a.monitor.cmp(&b.monitor));
        Ok(DependencyMap {
            monitors,
            backends: backends(&found, &paths.backend_nodes),
            providers: paths.providers,
            nodes: found
                .nodes
                .iter()
                .map(|n| NodePath {
                    cluster: n.cluster.clone(),
                    node: n.node.clone(),
                    memory_allocatable_bytes: n.memory_allocatable_bytes,
                    cpu_allocatable_millis: n.cpu_allocatable_millis,
                })
                .collect(),
        })
    }

    /// The chains of causes of incident `id`; None when there is no such incident.
    pub async fn of_incident(&self, pool: &PgPool, id: i64) -> Result<Option<Causes>, StoreError> {
        let Some(incident) = incidents::get(pool, id, false).await? else {
            return Ok(None);
        };
        let now = Utc::now();
        let (from, _) = incident.window(now);
        let to = incident.resolved_at.unwrap_or(now);
        let components: Vec<(String, String)> = incident
            .components
            .iter()
            .map(|c| (c.id.clone(), c.name.clone()))
            .collect();
        let resolve = components.iter().map(|(id, _)| id.clone()).collect();
        let map = self.map(pool, &resolve).await?;
        let (events, over_requests) = store::evidence(pool, from, to).await?;
        Ok(Some(explain(&Evidence {
            components: &components,
            started_at: incident.started_at,
            from,
            to,
            events: &events,
            over_requests: &over_requests,
            map: &map,
            lag: self.settings.lag,
        })))
    }
}

/// The app's way to the chains: the explainer with its pool.
pub struct Desk {
    pub pool: PgPool,
    pub explainer: Explainer,
}

impl vigil_core::model::causes::Explains for Desk {
    fn causes(
        &self,
        incident_id: i64,
    ) -> vigil_core::model::world::Pending<'_, Result<Option<Causes>, String>> {
        Box::pin(async move {
            self.explainer
                .of_incident(&self.pool, incident_id)
                .await
                .map_err(|e| e.to_string())
        })
    }

    fn map(&self) -> vigil_core::model::world::Pending<'_, Result<DependencyMap, String>> {
        Box::pin(async move {
            self.explainer
                .map(&self.pool, &HashSet::new())
                .await
                .map_err(|e| e.to_string())
        })
    }
}

/// The host (and port) a check connects to.
fn target(check: &Check) -> Option<(String, Option<u16>)> {
    match check {
        Check::Http(h) => {
            let url = reqwest::Url::parse(&h.url).ok()?;
            let host = url.host_str()?.trim_matches(['[', ']']).to_string();
            Some((host, url.port_or_known_default()))
        }
        Check::Tcp { host, port } => Some((host.clone(), Some(*port))),
        Check::Prometheus { base_url, .. } => {
            let url = reqwest::Url::parse(base_url).ok()?;
            Some((url.host_str()?.to_string(), url.port_or_known_default()))
        }
        Check::Dns { .. } | Check::Heartbeat { .. } => None,
    }
}

/// The balancers a check's host is: by hostname, by address, or (when allowed) by what the
/// name resolves to. Returns the ports it goes through and whether a lookup was made.
async fn discover(check: &Check, found: &Discovered, may_resolve: bool) -> (Vec<Via>, bool) {
    let Some((host, port)) = target(check) else {
        return (vec![], false);
    };
    if found.balancers.is_empty() {
        return (vec![], false);
    }
    let mut addresses: Vec<IpAddr> = Vec::new();
    let mut looked = false;
    match host.parse::<IpAddr>() {
        Ok(ip) => addresses.push(ip),
        Err(_) if may_resolve => {
            looked = true;
            let lookup = tokio::net::lookup_host((host.as_str(), port.unwrap_or(443)));
            if let Ok(Ok(found)) = tokio::time::timeout(LOOKUP_TIMEOUT, lookup).await {
                addresses.extend(found.map(|a| a.ip()));
            }
        }
        Err(_) => {}
    }
    let via = found
        .balancers
        .iter()
        .filter(|b| {
            b.hostname.as_deref() == Some(host.as_str())
                || b.addresses
                    .iter()
                    .filter_map(|a| a.parse::<IpAddr>().ok())
                    .any(|a| addresses.contains(&a))
        })
        .map(|b| {
            // The port when the balancer has one like it, else every port of it.
            let has_port = found
                .backends
                .iter()
                .any(|r| r.nodebalancer == b.label && Some(r.port) == port);
            Via {
                nodebalancer: b.label.clone(),
                port: port.filter(|_| has_port),
            }
        })
        .collect();
    (via, looked)
}

/// Each backend and its node: configured, else the Kubernetes node at its address, else the
/// node its label names.
fn backends(found: &Discovered, configured: &BTreeMap<String, String>) -> Vec<BackendPath> {
    found
        .backends
        .iter()
        .map(|b| {
            let ip = b
                .address
                .rsplit_once(':')
                .map_or(b.address.as_str(), |(ip, _)| ip)
                .trim_matches(['[', ']']);
            let (node, how) = if let Some(n) = configured.get(ip).or(configured.get(&b.label)) {
                (Some(n.clone()), "configured")
            } else if let Some(n) = found
                .nodes
                .iter()
                .find(|n| n.internal_ip.as_deref() == Some(ip))
            {
                (Some(n.node.clone()), "address")
            } else if let Some(n) = found.nodes.iter().find(|n| n.node == b.label) {
                (Some(n.node.clone()), "label")
            } else {
                (None, "")
            };
            BackendPath {
                nodebalancer: b.nodebalancer.clone(),
                port: b.port,
                backend: b.label.clone(),
                address: b.address.clone(),
                node,
                matched_by: how.into(),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use vigil_core::store::causes::{BackendRow, BalancerRow, NodeRow};

    fn found() -> Discovered {
        let backend = |port, label: &str, ip: &str| BackendRow {
            nodebalancer: "lke-ingress".into(),
            port,
            label: label.into(),
            address: format!("{ip}:31{port}"),
        };
        Discovered {
            backends: vec![
                backend(443, "node-x", "192.168.200.11"),
                backend(443, "lke-node-b", "10.0.0.9"),
                backend(443, "mystery", "10.0.0.10"),
            ],
            balancers: vec![BalancerRow {
                label: "lke-ingress".into(),
                hostname: Some("nb-101.eu-west.linode.com".into()),
                addresses: vec!["192.0.2.10".into()],
            }],
            nodes: ["lke-node-a", "lke-node-b"]
                .iter()
                .zip(["192.168.200.11", "192.168.200.12"])
                .map(|(n, ip)| NodeRow {
                    cluster: "lke".into(),
                    node: n.to_string(),
                    internal_ip: Some(ip.into()),
                    memory_allocatable_bytes: None,
                    cpu_allocatable_millis: None,
                })
                .collect(),
        }
    }

    #[test]
    fn backends_find_their_node_by_configuration_address_or_label() {
        let mut configured = BTreeMap::new();
        let paths = backends(&found(), &configured);
        let nodes: Vec<(Option<&str>, &str)> = paths
            .iter()
            .map(|p| (p.node.as_deref(), p.matched_by.as_str()))
            .collect();
        assert_eq!(
            nodes,
            [
                (Some("lke-node-a"), "address"),
                (Some("lke-node-b"), "label"),
                (None, "")
            ]
        );
        configured.insert("10.0.0.10".into(), "lke-node-a".into());
        let paths = backends(&found(), &configured);
        assert_eq!(paths[2].node.as_deref(), Some("lke-node-a"));
        assert_eq!(paths[2].matched_by, "configured");
    }

    #[tokio::test]
    async fn a_monitor_whose_host_is_the_balancer_goes_through_it() {
        let http = |url: &str| Check::Http(vigil_core::model::monitor::HttpCheck::get(url));
        let (via, _) = discover(&http("https://192.0.2.10/health"), &found(), false).await;
        assert_eq!(via, [Via::parse("lke-ingress:443").unwrap()]);
        // A port the balancer does not serve: every port of it.
        let (via, _) = discover(&http("http://192.0.2.10:8080/"), &found(), false).await;
        assert_eq!(via, [Via::parse("lke-ingress").unwrap()]);
        let (via, looked) =
            discover(&http("https://nb-101.eu-west.linode.com/"), &found(), false).await;
        assert_eq!(via.len(), 1);
        assert!(!looked);
        let (via, _) = discover(&http("https://198.51.100.7/"), &found(), false).await;
        assert!(via.is_empty());
        // A name that resolves to the balancer's address: `localhost` here.
        let mut local = found();
        local.balancers[0].addresses = vec!["127.0.0.1".into()];
        let (via, looked) = discover(&http("http://localhost:443/"), &local, true).await;
        assert!(looked);
        assert_eq!(via, [Via::parse("lke-ingress:443").unwrap()]);
    }
}
