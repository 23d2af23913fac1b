//! From evidence to explanation: the chains of causes Vigil proposes for an incident, walked
//! from the symptoms (components whose monitors failed) along the dependency map — the load
//! balancer the monitors are served through, the backends behind it, the nodes those run on,
//! the requests scheduled onto them, the providers hosting it all — and back in time, each link
//! citing the recorded events that support it.
//!
//! Nothing here is stated as certain: chains are ranked, each link says how strong it is, and
//! when the evidence holds no infrastructure cause the answer says so instead of inventing one.
//! Pure: the store gathers the evidence, this decides (and is what the benchmark times).

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use super::{
    backend::BackendStatus, event::EventData, kubernetes::PodTroubleKind, lb_config::ConfigChange,
    monitor::MonitorStatus, upstream::IncidentChange,
};

/// A load-balancer port a monitor's traffic goes through (`via = "lke-ingress:443"`); no port
/// means every port of that balancer.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Via {
    pub nodebalancer: String,
    pub port: Option<u16>,
}

impl Via {
    /// `"lke-ingress:443"` or `"lke-ingress"`.
    pub fn parse(s: &str) -> Result<Via, String> {
        let s = s.trim();
        let (name, port) = match s.rsplit_once(':') {
            Some((name, port)) => {
                let port = port.parse::<u16>().map_err(|_| {
                    format!(
                        "`{s}`: the part after `:` must be a port number (e.g. lke-ingress:443)"
                    )
                })?;
                (name, Some(port))
            }
            None => (s, None),
        };
        if name.is_empty() {
            return Err(format!(
                "`{s}` names no load balancer; write its label, e.g. lke-ingress:443"
            ));
        }
        Ok(Via {
            nodebalancer: name.to_string(),
            port,
        })
    }

    fn covers(&self, nodebalancer: &str, port: u16) -> bool {
        self.nodebalancer == nodebalancer && self.port.is_none_or(|p| p == port)
    }
}

impl std::fmt::Display for Via {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.port {
            Some(p) => write!(f, "{}:{p}", self.nodebalancer),
            None => f.write_str(&self.nodebalancer),
        }
    }
}

/// One monitor: the component it speaks for and what its traffic goes through.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MonitorPath {
    pub monitor: String,
    pub component: String,
    pub via: Vec<Via>,
    /// `declared` (the monitor's `via`) or `discovered` (its host is the balancer's address).
    pub how: String,
}

/// One load-balancer backend and the node it runs on.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BackendPath {
    pub nodebalancer: String,
    pub port: u16,
    /// The backend's label at the balancer.
    pub backend: String,
    pub address: String,
    pub node: Option<String>,
    /// How the node was found: `configured`, `address` (a Kubernetes node's InternalIP),
    /// `label` (the backend is labelled with the node's name), or empty when it was not.
    pub matched_by: String,
}

/// A provider (`[[upstream]]`) and what it hosts: NodeBalancer labels, cluster names.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProviderPath {
    pub provider: String,
    pub hosts: Vec<String>,
}

/// A Kubernetes node and what it can allocate (to say how far over it was scheduled).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NodePath {
    pub cluster: String,
    pub node: String,
    pub memory_allocatable_bytes: Option<i64>,
    pub cpu_allocatable_millis: Option<i64>,
}

/// What is served through what and what runs where: declared in the world, discovered from the
/// sources, overridable in the configuration.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DependencyMap {
    pub monitors: Vec<MonitorPath>,
    pub backends: Vec<BackendPath>,
    pub providers: Vec<ProviderPath>,
    pub nodes: Vec<NodePath>,
}

impl DependencyMap {
    fn cluster_of(&self, node: &str) -> Option<&str> {
        self.nodes
            .iter()
            .find(|n| n.node == node)
            .map(|n| n.cluster.as_str())
    }
}

/// A recorded event as the chain reads it.
#[derive(Clone, Debug)]
pub struct Seen {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub data: EventData,
}

/// A node's pods requesting more than it can allocate: a reading above 1 of `requests_ratio`.
#[derive(Clone, Debug)]
pub struct OverRequest {
    pub node: String,
    pub at: DateTime<Utc>,
    pub ratio: f64,
}

/// Everything the chain is walked over.
pub struct Evidence<'a> {
    /// The incident's components: (id, name).
    pub components: &'a [(String, String)],
    pub started_at: DateTime<Utc>,
    /// Where the evidence starts (the incident's window) and where it ends (resolved or now).
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    /// Oldest first.
    pub events: &'a [Seen],
    pub over_requests: &'a [OverRequest],
    pub map: &'a DependencyMap,
    /// How far a cause's evidence may trail its effect's and still count as before it: the
    /// sources' polling lag (`[incidents] cause_lag_secs`).
    pub lag: Duration,
}

/// How strongly a link is supported.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Strength {
    /// Began before the effect (within the sources' lag) and lies on its path in the map.
    Precedes,
    /// Happened in the window, but began after the effect: it did not cause it.
    Coincident,
    /// Began before and lies on the path, but other evidence on the path explains the effect.
    Contradicted,
}

/// What a link is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Element {
    Components,
    LoadBalancer,
    Backends,
    Node,
    Requests,
    Provider,
    Configuration,
}

/// One piece of evidence a link cites.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Cited {
    /// The event's id (none for a metric reading).
    pub event_id: Option<i64>,
    pub at: DateTime<Utc>,
    /// The event's kind (`lb.ingress`, `k8s.node`, …) or the metric's name.
    pub source: String,
    pub text: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Link {
    pub element: Element,
    /// What the link is about: `lke-ingress`, `lke-node-b`, `Linode`.
    pub subject: String,
    /// One sentence: "both backends on lke-node-b were flapping".
    pub says: String,
    /// When its evidence began.
    pub began_at: DateTime<Utc>,
    pub strength: Strength,
    pub evidence: Vec<Cited>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Chain {
    /// From the symptoms to the deepest cause found.
    pub links: Vec<Link>,
    /// Higher is better supported; chains come best first.
    pub score: u32,
    /// The deepest link in a few words, for a notification's first line.
    pub cause: String,
    /// Contributing-factor tags the post-mortem may use: `capacity`, `dependency`, `change`,
    /// `load-balancer`.
    pub factors: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Causes {
    /// "Vigil's evidence points to …", or that it holds no infrastructure cause.
    pub summary: String,
    /// Best first; empty when the evidence explains nothing.
    pub chains: Vec<Chain>,
    /// In the window and on the map, but not a cause: a provider's incident that began after
    /// the outage, a configuration posted again unchanged.
    pub also: Vec<Link>,
}

impl Causes {
    /// `likely cause: lke-node-b memory pressure (requests 113 % of allocatable)`, for the ops
    /// channels; none when there is no chain.
    pub fn likely(&self) -> Option<String> {
        self.chains
            .first()
            .map(|c| format!("likely cause: {}", c.cause))
    }
}

/// The server's chains of causes, as the app's pages and server functions ask for them.
pub trait Explains: Send + Sync {
    /// The chains of incident `id`; None when there is no such incident.
    fn causes(&self, incident_id: i64)
        -> super::world::Pending<'_, Result<Option<Causes>, String>>;
    /// What Vigil knows is served through what and runs where.
    fn map(&self) -> super::world::Pending<'_, Result<DependencyMap, String>>;
}

/// No infrastructure cause: the words used when the map and the evidence explain nothing.
pub const NO_CAUSE: &str = "No infrastructure cause in Vigil's evidence: the load balancers, \
     nodes and providers these components depend on recorded no trouble before they failed.";

fn clock(t: DateTime<Utc>) -> String {
    t.format("%H:%M:%S").to_string()
}

fn cite(e: &Seen) -> Cited {
    Cited {
        event_id: Some(e.id),
        at: e.at,
        source: e.data.kind(),
        text: e.data.message(),
    }
}

fn percent(x: f64) -> String {
    format!("{:.0} %", x * 100.0)
}

fn join_words(words: &[String]) -> String {
    match words {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// A failure seen by a monitor: down or degraded.
fn failing(to: MonitorStatus) -> bool {
    matches!(to, MonitorStatus::Down | MonitorStatus::Degraded)
}

/// The chains of causes for an incident, best first.
pub fn explain(ev: &Evidence) -> Causes {
    let failures = failures(ev);
    let mut chains: Vec<Chain> = Vec::new();
    let mut also: Vec<Link> = Vec::new();
    // Each balancer is weighed against the failures of the monitors that go through it: a
    // component that failed earlier for a reason of its own (its own deploy, a test stopping
    // it) does not move the onset the balancer must precede.
    let mut paths: BTreeMap<&str, (BTreeSet<&Via>, Vec<&Failure>)> = BTreeMap::new();
    for f in &failures {
        for m in ev.map.monitors.iter().filter(|m| m.monitor == f.monitor) {
            for v in &m.via {
                let path = paths.entry(v.nodebalancer.as_str()).or_default();
                path.0.insert(v);
                if !path.1.iter().any(|g| g.monitor == f.monitor) {
                    path.1.push(f);
                }
            }
        }
    }
    for (vias, through) in paths.values() {
        let symptom = symptom_link(ev, through);
        let onset = symptom.began_at;
        explain_path(ev, &symptom, vias, onset, &mut chains, &mut also);
    }
    chains.sort_by(|a, b| {
        b.score
            .cmp(&a.score)
            .then_with(|| deepest(a).began_at.cmp(&deepest(b).began_at))
    });
    also.sort_by_key(|l| l.began_at);
    also.dedup_by(|a, b| a.says == b.says);
    let summary = match chains.first() {
        Some(best) => format!(
            "Vigil's evidence points to {} ({} — not certain: check the cited events).",
            best.cause,
            best.links
                .iter()
                .skip(1)
                .map(|l| l.subject.as_str())
                .collect::<Vec<_>>()
                .join(" ← ")
        ),
        None => NO_CAUSE.into(),
    };
    Causes {
        summary,
        chains,
        also,
    }
}

/// The chains below one balancer path, for the failures that went through it.
fn explain_path(
    ev: &Evidence,
    symptom: &Link,
    vias: &BTreeSet<&Via>,
    onset: DateTime<Utc>,
    chains: &mut Vec<Chain>,
    also: &mut Vec<Link>,
) {
    for lb in load_balancers(ev, vias, onset) {
        let lb_onset = lb.link.began_at;
        let before = chains.len();
        // Below the balancer: each node's backends, and what the node itself recorded.
        let mut node_chains: Vec<Vec<Link>> = Vec::new();
        for (node, backends) in backend_groups(ev, &lb.ports, lb_onset) {
            let mut links = vec![backends.clone()];
            if let Some(node) = node.as_deref() {
                if let Some(trouble) = node_trouble(ev, node, backends.began_at) {
                    let t = trouble.began_at;
                    links.push(trouble);
                    if let Some(req) = over_requested(ev, node, t) {
                        links.push(req);
                    }
                }
            }
            node_chains.push(links);
        }
        let explained_by_node = node_chains.iter().any(|l| l.len() > 1);
        for links in node_chains {
            let mut all = vec![symptom.clone(), lb.link.clone()];
            all.extend(links);
            chains.push(chain(all));
        }
        // What the balancer's provider said, and what the balancer was told.
        for mut p in providers(ev, &lb.nodebalancer, &lb.clusters) {
            if p.began_at > lb_onset + ev.lag {
                p.strength = Strength::Coincident;
                also.push(p);
            } else if explained_by_node {
                p.strength = Strength::Contradicted;
                also.push(p);
            } else {
                chains.push(chain(vec![symptom.clone(), lb.link.clone(), p]));
            }
        }
        for c in configuration(ev, &lb.ports, lb_onset) {
            if c.strength == Strength::Precedes {
                chains.push(chain(vec![symptom.clone(), lb.link.clone(), c]));
            } else {
                also.push(c);
            }
        }
        if chains.len() == before {
            // Nothing recorded below the balancer: the chain stops at it.
            chains.push(chain(vec![symptom.clone(), lb.link.clone()]));
        }
    }
}

fn deepest(c: &Chain) -> &Link {
    c.links.last().expect("a chain has its symptom link")
}

/// Scores a chain: each link that precedes counts, and a chain that reaches a cause the team can
/// act on (a node's trouble, its requests, a provider, a change) counts more than one that stops
/// at "the backends flapped".
fn chain(links: Vec<Link>) -> Chain {
    let mut score = 0;
    for l in &links[1..] {
        score += match l.strength {
            Strength::Precedes => 2,
            Strength::Coincident => 1,
            Strength::Contradicted => 0,
        };
    }
    let last = links.last().expect("non-empty");
    let rooted = matches!(
        last.element,
        Element::Node | Element::Requests | Element::Provider | Element::Configuration
    );
    if rooted && last.strength == Strength::Precedes {
        score += 3;
    }
    let mut factors: Vec<String> = Vec::new();
    for l in &links {
        let f = match l.element {
            Element::Node | Element::Requests => "capacity",
            Element::Provider => "dependency",
            Element::Configuration => "change",
            Element::LoadBalancer | Element::Backends => "load-balancer",
            Element::Components => continue,
        };
        if !factors.iter().any(|x| x == f) {
            factors.push(f.to_string());
        }
    }
    let cause = cause_words(&links);
    Chain {
        links,
        score,
        cause,
        factors,
    }
}

/// The deepest link in a few words; with its node's requests when those were over.
fn cause_words(links: &[Link]) -> String {
    let last = links.last().expect("non-empty");
    match last.element {
        Element::Requests => {
            let node = links
                .iter()
                .rev()
                .find(|l| l.element == Element::Node)
                .map(|l| l.says.clone())
                .unwrap_or_default();
            format!("{node} ({})", last.subject)
        }
        _ => last.says.clone(),
    }
}

/// A monitor of the incident's components failing: its first failing check from the incident's
/// lookback on.
struct Failure<'a> {
    monitor: &'a str,
    component: &'a str,
    seen: &'a Seen,
}

fn failures<'a>(ev: &'a Evidence) -> Vec<Failure<'a>> {
    let since = ev.started_at - super::incident::SIGNAL_LOOKBACK;
    let mut out: Vec<Failure> = Vec::new();
    for e in ev.events.iter().filter(|e| e.at >= since && e.at <= ev.to) {
        if let EventData::MonitorState(m) = &e.data {
            if failing(m.to)
                && ev.components.iter().any(|(id, _)| *id == m.component)
                && !out.iter().any(|f| f.monitor == m.monitor)
            {
                out.push(Failure {
                    monitor: &m.monitor,
                    component: &m.component,
                    seen: e,
                });
            }
        }
    }
    out
}

/// "Website, Bitwarden and Grafana failed at 10:24:24": the components of these failures, from
/// the first of them.
fn symptom_link(ev: &Evidence, failures: &[&Failure]) -> Link {
    let first = failures
        .iter()
        .map(|f| f.seen.at)
        .min()
        .expect("a path has its failures");
    let names: Vec<String> = ev
        .components
        .iter()
        .filter(|(id, _)| failures.iter().any(|f| f.component == id))
        .map(|(_, name)| name.clone())
        .collect();
    // The first failure of each component, oldest first.
    let mut ordered: Vec<&&Failure> = failures.iter().collect();
    ordered.sort_by_key(|f| f.seen.at);
    let mut seen = BTreeSet::new();
    let evidence: Vec<Cited> = ordered
        .into_iter()
        .filter(|f| seen.insert(f.component))
        .map(|f| cite(f.seen))
        .collect();
    Link {
        element: Element::Components,
        subject: join_words(&names),
        says: format!("{} failed at {}", join_words(&names), clock(first)),
        began_at: first,
        strength: Strength::Precedes,
        evidence,
    }
}

struct Balancer {
    nodebalancer: String,
    ports: Vec<u16>,
    /// The clusters whose nodes back it (a provider hosting the cluster hosts the balancer).
    clusters: Vec<String>,
    link: Link,
}

/// The balancers the failed monitors go through that had no backend steadily up when they
/// failed: still broken at the symptoms' onset (within the lag).
fn load_balancers(ev: &Evidence, vias: &BTreeSet<&Via>, onset: DateTime<Utc>) -> Vec<Balancer> {
    let mut broken: BTreeMap<(&str, u16), &Seen> = BTreeMap::new();
    for e in ev
        .events
        .iter()
        .filter(|e| e.at >= ev.from && e.at <= onset + ev.lag)
    {
        if let EventData::Ingress(i) = &e.data {
            if !vias.iter().any(|v| v.covers(&i.nodebalancer, i.port)) {
                continue;
            }
            let key = (i.nodebalancer.as_str(), i.port);
            if i.broken {
                broken.entry(key).or_insert(e);
            } else if e.at <= onset {
                // Recovered before the symptoms: not why they failed.
                broken.remove(&key);
            }
        }
    }
    let mut by_lb: BTreeMap<&str, Vec<(u16, &Seen)>> = BTreeMap::new();
    for ((nb, port), e) in broken {
        by_lb.entry(nb).or_default().push((port, e));
    }
    by_lb
        .into_iter()
        .map(|(nb, ports)| {
            let began = ports.iter().map(|(_, e)| e.at).min().expect("non-empty");
            let list = ports
                .iter()
                .map(|(p, _)| format!(":{p}"))
                .collect::<Vec<_>>();
            let clusters: BTreeSet<String> = ev
                .map
                .backends
                .iter()
                .filter(|b| b.nodebalancer == nb)
                .filter_map(|b| b.node.as_deref())
                .filter_map(|n| ev.map.cluster_of(n))
                .map(str::to_string)
                .collect();
            Balancer {
                nodebalancer: nb.to_string(),
                ports: ports.iter().map(|(p, _)| *p).collect(),
                clusters: clusters.into_iter().collect(),
                link: Link {
                    element: Element::LoadBalancer,
                    subject: nb.to_string(),
                    says: format!(
                        "the load balancer {nb} had no backend steadily up on {}",
                        join_words(&list)
                    ),
                    began_at: began,
                    strength: strength(began, onset, ev.lag),
                    evidence: ports.iter().map(|(_, e)| cite(e)).collect(),
                },
            }
        })
        .collect()
}

fn strength(began: DateTime<Utc>, effect: DateTime<Utc>, lag: Duration) -> Strength {
    if began <= effect + lag {
        Strength::Precedes
    } else {
        Strength::Coincident
    }
}

/// The balancer's backends that failed before it broke, grouped by the node they run on (None:
/// no node known). A node's backends began when the first of them started flapping (or, when
/// none flapped, went down).
fn backend_groups(
    ev: &Evidence,
    ports: &[u16],
    lb_onset: DateTime<Utc>,
) -> Vec<(Option<String>, Link)> {
    let nb_of = |b: &BackendPath| ports.contains(&b.port);
    let mut groups: BTreeMap<Option<&str>, Vec<&BackendPath>> = BTreeMap::new();
    for b in ev.map.backends.iter().filter(|b| nb_of(b)) {
        groups.entry(b.node.as_deref()).or_default().push(b);
    }
    let mut out = Vec::new();
    for (node, backends) in groups {
        let nb = &backends[0].nodebalancer;
        let mut flapping: Vec<&Seen> = Vec::new();
        let mut down: Vec<&Seen> = Vec::new();
        let mut failed: BTreeSet<(&str, u16)> = BTreeSet::new();
        for e in ev
            .events
            .iter()
            .filter(|e| e.at >= ev.from && e.at <= lb_onset + ev.lag)
        {
            let (backend, port, list) = match &e.data {
                EventData::BackendFlapping(f) if f.flapping && &f.nodebalancer == nb => {
                    (&f.backend, f.port, &mut flapping)
                }
                EventData::BackendChanged(c)
                    if c.to == BackendStatus::Down && &c.nodebalancer == nb =>
                {
                    (&c.backend, c.port, &mut down)
                }
                _ => continue,
            };
            if backends
                .iter()
                .any(|b| &b.backend == backend && b.port == port)
            {
                list.push(e);
                failed.insert((backend.as_str(), port));
            }
        }
        let (word, cited) = if !flapping.is_empty() {
            ("flapping", flapping)
        } else if !down.is_empty() {
            ("down", down)
        } else {
            continue;
        };
        let began = cited.iter().map(|e| e.at).min().expect("non-empty");
        let on = node.map_or("an unknown node".to_string(), str::to_string);
        let count = match (failed.len(), backends.len()) {
            (1, 1) => "its backend".to_string(),
            (2, 2) => "both backends".to_string(),
            (n, m) if n == m => format!("all {n} backends"),
            (n, m) => format!("{n} of {m} backends"),
        };
        let ports: BTreeSet<u16> = failed.iter().map(|(_, p)| *p).collect();
        let ports = ports
            .iter()
            .map(|p| format!(":{p}"))
            .collect::<Vec<_>>()
            .join(", ");
        out.push((
            node.map(str::to_string),
            Link {
                element: Element::Backends,
                subject: format!("{nb} backends on {on}"),
                says: format!("{count} on {on} were {word} ({ports})"),
                began_at: began,
                strength: strength(began, lb_onset, ev.lag),
                evidence: cited.iter().take(8).map(|e| cite(e)).collect(),
            },
        ));
    }
    out
}

/// What the node itself recorded before its backends failed: pressure or not-ready conditions,
/// firing resource alerts, pods evicted or OOM-killed there.
fn node_trouble(ev: &Evidence, node: &str, effect: DateTime<Utc>) -> Option<Link> {
    let mut cited: Vec<(DateTime<Utc>, &Seen)> = Vec::new();
    let mut words: Vec<String> = Vec::new();
    let mut headline: Option<String> = None;
    for e in ev
        .events
        .iter()
        .filter(|e| e.at >= ev.from && e.at <= effect + ev.lag)
    {
        let (at, word) = match &e.data {
            EventData::K8sNode(k) if k.node == node && k.condition.is_bad() => {
                let at = k.condition.since.map_or(e.at, |s| s.min(e.at));
                let label = if k.condition.kind == "Ready" {
                    "not ready".to_string()
                } else {
                    k.condition.label()
                };
                headline.get_or_insert_with(|| format!("{node} {label}"));
                (at, k.condition.kind.clone())
            }
            EventData::ResourceAlert(a) if a.node == node && a.firing => {
                let at = a.since.map_or(e.at, |s| s.min(e.at));
                (
                    at,
                    format!("{} > {}", a.metric.replace('_', " "), percent(a.above)),
                )
            }
            // The node's own exporter going silent: the node stopped answering at all.
            EventData::SourceStale(st) if st.source == format!("node_exporter:{node}") => {
                let at = st.last_success.map_or(e.at, |s| s.min(e.at).max(ev.from));
                headline.get_or_insert_with(|| format!("{node} stopped answering"));
                (at, "node_exporter silent".to_string())
            }
            EventData::K8sPod(p) if p.node == node => {
                let at = p.happened_at.map_or(e.at, |h| h.min(e.at));
                let what = match p.trouble {
                    PodTroubleKind::Evicted => "evicted",
                    PodTroubleKind::OomKilled => "OOM-killed",
                };
                (at, format!("{} {what}", p.pod))
            }
            _ => continue,
        };
        if !words.contains(&word) {
            words.push(word);
        }
        cited.push((at, e));
    }
    let began = cited.iter().map(|(at, _)| *at).min()?;
    let headline = headline.unwrap_or_else(|| format!("{node} in trouble"));
    Some(Link {
        element: Element::Node,
        subject: node.to_string(),
        says: headline,
        began_at: began,
        strength: strength(began, effect, ev.lag),
        evidence: cited
            .iter()
            .take(12)
            .map(|(at, e)| Cited { at: *at, ..cite(e) })
            .chain(std::iter::once(Cited {
                event_id: None,
                at: began,
                source: "summary".into(),
                text: words.join(", "),
            }))
            .collect(),
    })
}

/// The node's pods requesting more than it can allocate, before its trouble began.
fn over_requested(ev: &Evidence, node: &str, effect: DateTime<Utc>) -> Option<Link> {
    let readings: Vec<&OverRequest> = ev
        .over_requests
        .iter()
        .filter(|r| r.node == node && r.ratio > 1.0 && r.at >= ev.from && r.at <= effect + ev.lag)
        .collect();
    let first = readings.iter().min_by_key(|r| r.at)?;
    let peak = readings.iter().map(|r| r.ratio).fold(f64::MIN, f64::max);
    let allocatable = ev
        .map
        .nodes
        .iter()
        .find(|n| n.node == node)
        .and_then(|n| n.memory_allocatable_bytes);
    let gib = |b: f64| format!("{:.1} GiB", b / (1u64 << 30) as f64);
    let says = match allocatable {
        Some(a) => format!(
            "pods on {node} requested {} of its {} allocatable",
            gib(a as f64 * peak),
            gib(a as f64)
        ),
        None => format!("pods on {node} requested more than it can allocate"),
    };
    Some(Link {
        element: Element::Requests,
        subject: format!("requests {} of allocatable", percent(peak)),
        says: format!("{says} ({})", percent(peak)),
        began_at: first.at,
        strength: strength(first.at, effect, ev.lag),
        evidence: vec![Cited {
            event_id: None,
            at: first.at,
            source: "requests_ratio".into(),
            text: format!(
                "pod requests / allocatable on {node}: {:.2} at {}, at most {:.2}",
                first.ratio,
                clock(first.at),
                peak
            ),
        }],
    })
}

/// What each provider hosting the balancer (or its cluster) said: one link per provider, in the
/// words of its incident when it posted one (else of the component it marked), citing both.
fn providers(ev: &Evidence, nodebalancer: &str, clusters: &[String]) -> Vec<Link> {
    let mut out = Vec::new();
    for p in ev.map.providers.iter().filter(|p| {
        p.hosts
            .iter()
            .any(|h| h == nodebalancer || clusters.contains(h))
    }) {
        let mut incident: Option<String> = None;
        let mut component: Option<String> = None;
        let mut cited: Vec<&Seen> = Vec::new();
        for e in ev
            .events
            .iter()
            .filter(|e| e.at >= ev.from && e.at <= ev.to)
        {
            match &e.data {
                EventData::UpstreamIncident(u)
                    if u.provider == p.provider && u.change != IncidentChange::Resolved =>
                {
                    incident.get_or_insert_with(|| {
                        format!("{} reported \"{}\"", p.provider, u.incident.name)
                    });
                }
                EventData::UpstreamComponent(c)
                    if c.provider == p.provider && c.to != "operational" =>
                {
                    component.get_or_insert_with(|| {
                        format!(
                            "{} marked {} {}",
                            p.provider,
                            c.component,
                            c.to.replace('_', " ")
                        )
                    });
                }
                _ => continue,
            }
            cited.push(e);
        }
        let (Some(first), Some(says)) = (cited.first(), incident.or(component)) else {
            continue;
        };
        out.push(Link {
            element: Element::Provider,
            subject: p.provider.clone(),
            says,
            began_at: first.at,
            strength: Strength::Precedes,
            evidence: cited.iter().take(6).map(|e| cite(e)).collect(),
        });
    }
    out
}

/// What the balancer's ports were told: a change before it broke is a candidate cause; posting
/// the same configuration again is noted, never blamed.
fn configuration(ev: &Evidence, ports: &[u16], lb_onset: DateTime<Utc>) -> Vec<Link> {
    let mut out = Vec::new();
    let mut reapplied: Vec<&Seen> = Vec::new();
    for e in ev
        .events
        .iter()
        .filter(|e| e.at >= ev.from && e.at <= ev.to)
    {
        let EventData::LbConfig(c) = &e.data else {
            continue;
        };
        if !ports.contains(&c.port) {
            continue;
        }
        match c.change {
            ConfigChange::Changed => out.push(Link {
                element: Element::Configuration,
                subject: format!("{} :{}", c.nodebalancer, c.port),
                says: format!(
                    "the configuration of {} :{} changed",
                    c.nodebalancer, c.port
                ),
                began_at: e.at,
                strength: strength(e.at, lb_onset, ev.lag),
                evidence: vec![cite(e)],
            }),
            ConfigChange::Reapplied => reapplied.push(e),
            ConfigChange::Initial => {}
        }
    }
    if let Some(first) = reapplied.first() {
        if let EventData::LbConfig(c) = &first.data {
            out.push(Link {
                element: Element::Configuration,
                subject: c.nodebalancer.clone(),
                says: format!(
                    "the configuration of {} was posted again unchanged {} time{}",
                    c.nodebalancer,
                    reapplied.len(),
                    if reapplied.len() == 1 { "" } else { "s" }
                ),
                began_at: first.at,
                strength: Strength::Coincident,
                evidence: reapplied.iter().take(6).map(|e| cite(e)).collect(),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{
        event::*,
        kubernetes::NodeCondition,
        upstream::{IncidentChange, ProviderIncident},
    };

    /// The seed's world: three components through lke-ingress :80/:443, two nodes with a
    /// backend each on both ports, Linode hosting the balancer and the cluster.
    fn map() -> DependencyMap {
        let via = vec![Via::parse("lke-ingress").unwrap()];
        let backend = |port: u16, node: &str| BackendPath {
            nodebalancer: "lke-ingress".into(),
            port,
            backend: node.into(),
            address: format!(
                "192.168.200.{}:31{port}",
                if node.ends_with('a') { 11 } else { 12 }
            ),
            node: Some(node.into()),
            matched_by: "address".into(),
        };
        DependencyMap {
            monitors: ["site", "bitwarden", "grafana"]
                .iter()
                .map(|c| MonitorPath {
                    monitor: format!("{c}-http"),
                    component: c.to_string(),
                    via: via.clone(),
                    how: "declared".into(),
                })
                .collect(),
            backends: vec![
                backend(80, "lke-node-a"),
                backend(80, "lke-node-b"),
                backend(443, "lke-node-a"),
                backend(443, "lke-node-b"),
            ],
            providers: vec![ProviderPath {
                provider: "Linode".into(),
                hosts: vec!["lke-ingress".into(), "lke".into()],
            }],
            nodes: ["lke-node-a", "lke-node-b"]
                .iter()
                .map(|n| NodePath {
                    cluster: "lke".into(),
                    node: n.to_string(),
                    memory_allocatable_bytes: Some(7_901_312 * 1024),
                    cpu_allocatable_millis: Some(3920),
                })
                .collect(),
        }
    }

    fn t(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_612_002_000 + secs, 0).unwrap()
    }

    struct Story(Vec<Seen>);

    impl Story {
        fn at(&mut self, secs: i64, data: EventData) -> &mut Self {
            let id = self.0.len() as i64 + 1;
            self.0.push(Seen {
                id,
                at: t(secs),
                data,
            });
            self
        }
        fn monitor(&mut self, secs: i64, component: &str) -> &mut Self {
            self.at(
                secs,
                EventData::MonitorState(MonitorChanged {
                    monitor_id: 1,
                    monitor: format!("{component}-http"),
                    component: component.into(),
                    from: MonitorStatus::Up,
                    to: MonitorStatus::Down,
                    cause: "HTTP 502".into(),
                    at: t(secs),
                }),
            )
        }
        fn backend(&mut self, secs: i64, port: u16, node: &str, down: bool) -> &mut Self {
            let (from, to) = if down {
                (BackendStatus::Up, BackendStatus::Down)
            } else {
                (BackendStatus::Down, BackendStatus::Up)
            };
            self.at(
                secs,
                EventData::BackendChanged(BackendChanged {
                    nodebalancer: "lke-ingress".into(),
                    port,
                    backend: node.into(),
                    address: String::new(),
                    from,
                    to,
                }),
            )
        }
        fn flapping(&mut self, secs: i64, port: u16, node: &str) -> &mut Self {
            self.at(
                secs,
                EventData::BackendFlapping(BackendFlapping {
                    nodebalancer: "lke-ingress".into(),
                    port,
                    backend: node.into(),
                    flapping: true,
                }),
            )
        }
        fn ingress(&mut self, secs: i64, port: u16, broken: bool) -> &mut Self {
            self.at(
                secs,
                EventData::Ingress(IngressChanged {
                    nodebalancer: "lke-ingress".into(),
                    port,
                    broken,
                    message: "no backend steadily up".into(),
                }),
            )
        }
        fn provider(&mut self, secs: i64) -> &mut Self {
            self.at(
                secs,
                EventData::UpstreamIncident(UpstreamIncident {
                    provider: "Linode".into(),
                    change: IncidentChange::Opened,
                    incident: ProviderIncident {
                        id: "p1".into(),
                        name: "Connectivity issue affecting NodeBalancers".into(),
                        status: "investigating".into(),
                        impact: "major".into(),
                        shortlink: None,
                        body: String::new(),
                    },
                }),
            )
        }
        fn pressure(&mut self, secs: i64, node: &str) -> &mut Self {
            self.at(
                secs,
                EventData::K8sNode(K8sNodeCondition {
                    cluster: "lke".into(),
                    node: node.into(),
                    condition: NodeCondition {
                        kind: "MemoryPressure".into(),
                        status: "True".into(),
                        reason: "KubeletHasInsufficientMemory".into(),
                        message: String::new(),
                        since: Some(t(secs)),
                    },
                }),
            )
        }
        fn oom(&mut self, secs: i64, pod: &str, node: &str) -> &mut Self {
            self.at(
                secs,
                EventData::K8sPod(K8sPodTrouble {
                    cluster: "lke".into(),
                    namespace: "default".into(),
                    pod: pod.into(),
                    node: node.into(),
                    trouble: PodTroubleKind::OomKilled,
                    container: Some("api".into()),
                    message: String::new(),
                    happened_at: Some(t(secs)),
                }),
            )
        }
        fn memory_alert(&mut self, secs: i64, node: &str) -> &mut Self {
            self.at(
                secs,
                EventData::ResourceAlert(ResourceAlert {
                    node: node.into(),
                    metric: "memory".into(),
                    value: 0.93,
                    above: 0.9,
                    for_secs: 20,
                    firing: true,
                    since: Some(t(secs - 20)),
                    message: format!("{node} memory 93 % above 90 % for 20 s"),
                }),
            )
        }
    }

    fn explain_story(story: &Story, over: &[OverRequest], map: &DependencyMap) -> Causes {
        let components: Vec<(String, String)> = [
            ("site", "Website"),
            ("bitwarden", "Bitwarden"),
            ("grafana", "Grafana"),
        ]
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
        explain(&Evidence {
            components: &components,
            started_at: t(190),
            from: t(-1800),
            to: t(600),
            events: &story.0,
            over_requests: over,
            map,
            lag: Duration::seconds(10),
        })
    }

    /// The seed, in scenario seconds: requests over at 60, pressure at 100, node b's backends
    /// down at 120 and flapping at 180 when the balancer breaks, the sites fail at 185, and
    /// Linode posts at 240.
    fn seed() -> (Story, Vec<OverRequest>) {
        let mut s = Story(vec![]);
        s.pressure(100, "lke-node-b")
            .memory_alert(125, "lke-node-b")
            .backend(120, 80, "lke-node-b", true)
            .backend(120, 443, "lke-node-b", true)
            .backend(150, 80, "lke-node-b", false)
            .backend(150, 443, "lke-node-b", false)
            .backend(180, 80, "lke-node-b", true)
            .backend(180, 443, "lke-node-b", true)
            .flapping(180, 80, "lke-node-b")
            .flapping(180, 443, "lke-node-b")
            .backend(180, 80, "lke-node-a", true)
            .backend(180, 443, "lke-node-a", true)
            .oom(181, "api-0", "lke-node-b")
            .ingress(181, 80, true)
            .ingress(181, 443, true)
            .monitor(185, "site")
            .monitor(185, "bitwarden")
            .monitor(186, "grafana")
            .flapping(240, 80, "lke-node-a")
            .provider(240);
        let over = vec![
            OverRequest {
                node: "lke-node-b".into(),
                at: t(62),
                ratio: 1.13,
            },
            OverRequest {
                node: "lke-node-b".into(),
                at: t(300),
                ratio: 1.40,
            },
        ];
        (s, over)
    }

    #[test]
    fn the_seed_yields_the_chain_down_to_the_over_scheduled_node_and_linode_coincident() {
        let (story, over) = seed();
        let causes = explain_story(&story, &over, &map());
        let best = &causes.chains[0];
        let elements: Vec<Element> = best.links.iter().map(|l| l.element).collect();
        assert_eq!(
            elements,
            [
                Element::Components,
                Element::LoadBalancer,
                Element::Backends,
                Element::Node,
                Element::Requests
            ]
        );
        assert!(best.links.iter().all(|l| l.strength == Strength::Precedes));
        assert_eq!(
            best.links[0].says,
            "Website, Bitwarden and Grafana failed at 10:23:05"
        );
        assert_eq!(
            best.links[1].says,
            "the load balancer lke-ingress had no backend steadily up on :80 and :443"
        );
        assert_eq!(
            best.links[2].says,
            "both backends on lke-node-b were flapping (:80, :443)"
        );
        assert_eq!(best.links[3].says, "lke-node-b memory pressure");
        assert_eq!(best.links[3].began_at, t(100));
        let node_summary = best.links[3].evidence.last().unwrap();
        assert_eq!(
            node_summary.text,
            "MemoryPressure, memory > 90 %, api-0 OOM-killed"
        );
        // Only the reading before the pressure counts: 113 %, not the 140 % seen later.
        assert_eq!(
            best.links[4].says,
            "pods on lke-node-b requested 8.5 GiB of its 7.5 GiB allocatable (113 %)"
        );
        assert_eq!(
            causes.likely().unwrap(),
            "likely cause: lke-node-b memory pressure (requests 113 % of allocatable)"
        );
        assert_eq!(best.factors, ["load-balancer", "capacity"]);
        // Node a's backends went down with the balancer, and nothing explains them: weaker.
        let a = causes
            .chains
            .iter()
            .find(|c| c.links.iter().any(|l| l.subject.contains("lke-node-a")))
            .unwrap();
        assert!(a.score < best.score);
        // Linode posted after the outage began: coincident, never a link of a chain.
        let linode = causes.also.iter().find(|l| l.subject == "Linode").unwrap();
        assert_eq!(linode.strength, Strength::Coincident);
        assert!(causes
            .chains
            .iter()
            .all(|c| c.links.iter().all(|l| l.element != Element::Provider)));
        assert!(causes
            .summary
            .starts_with("Vigil's evidence points to lke-node-b"));
    }

    #[test]
    fn a_component_that_failed_earlier_on_its_own_does_not_hide_the_balancers_chain() {
        let (mut story, over) = seed();
        // A component outside the map (no `via`) failed two minutes before, for its own reasons.
        story.at(
            60,
            EventData::MonitorState(MonitorChanged {
                monitor_id: 9,
                monitor: "docs-http".into(),
                component: "docs".into(),
                from: MonitorStatus::Up,
                to: MonitorStatus::Down,
                cause: "HTTP 500".into(),
                at: t(60),
            }),
        );
        story.0.sort_by_key(|e| e.at);
        let components: Vec<(String, String)> = [("docs", "Docs"), ("site", "Website")]
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect();
        let map = map();
        let causes = explain(&Evidence {
            components: &components,
            started_at: t(62),
            from: t(-1800),
            to: t(600),
            events: &story.0,
            over_requests: &over,
            map: &map,
            lag: Duration::seconds(10),
        });
        let best = &causes.chains[0];
        assert_eq!(best.links[0].says, "Website failed at 10:23:05");
        assert_eq!(best.links.last().unwrap().element, Element::Requests);
    }

    #[test]
    fn a_provider_incident_before_the_outage_is_contradicted_when_the_node_explains_it() {
        let (mut story, over) = seed();
        story.provider(90);
        story.0.sort_by_key(|e| e.at);
        let causes = explain_story(&story, &over, &map());
        assert_eq!(
            causes.chains[0].links.last().unwrap().element,
            Element::Requests
        );
        let linode = causes.also.iter().find(|l| l.subject == "Linode").unwrap();
        assert_eq!(linode.strength, Strength::Contradicted);
    }

    #[test]
    fn a_provider_degrading_with_every_node_healthy_ends_the_chain_at_its_incident() {
        let mut s = Story(vec![]);
        s.provider(30);
        for (at, down) in [(60, true), (90, false), (120, true)] {
            for node in ["lke-node-a", "lke-node-b"] {
                s.backend(at, 443, node, down).backend(at, 80, node, down);
            }
        }
        s.flapping(120, 80, "lke-node-a")
            .flapping(120, 80, "lke-node-b")
            .ingress(121, 80, true)
            .ingress(121, 443, true)
            .monitor(124, "site")
            .monitor(124, "bitwarden");
        let causes = explain_story(&s, &[], &map());
        let best = &causes.chains[0];
        let elements: Vec<Element> = best.links.iter().map(|l| l.element).collect();
        assert_eq!(
            elements,
            [
                Element::Components,
                Element::LoadBalancer,
                Element::Provider
            ]
        );
        assert_eq!(
            best.cause,
            "Linode reported \"Connectivity issue affecting NodeBalancers\""
        );
        assert_eq!(best.factors, ["load-balancer", "dependency"]);
        assert!(causes.chains.iter().skip(1).all(|c| c.score < best.score));
    }

    #[test]
    fn an_application_failing_on_healthy_infrastructure_gets_no_invented_chain() {
        let mut s = Story(vec![]);
        // Healthy infrastructure; even a node's trouble long after is not on the path.
        s.monitor(100, "site").pressure(400, "lke-node-b");
        let causes = explain_story(&s, &[], &map());
        assert!(causes.chains.is_empty());
        assert_eq!(causes.summary, NO_CAUSE);
        assert_eq!(causes.likely(), None);
        // Without a map, the seed's evidence explains nothing either: no path, no chain.
        let (story, over) = seed();
        let causes = explain_story(&story, &over, &DependencyMap::default());
        assert!(causes.chains.is_empty());
    }

    #[test]
    fn a_balancer_that_recovered_before_the_failure_is_not_its_cause() {
        let mut s = Story(vec![]);
        s.ingress(10, 443, true)
            .ingress(40, 443, false)
            .monitor(100, "site");
        assert!(explain_story(&s, &[], &map()).chains.is_empty());
        // Still broken when the site failed: the chain stops at the balancer.
        let mut s = Story(vec![]);
        s.ingress(10, 443, true).monitor(100, "site");
        let causes = explain_story(&s, &[], &map());
        assert_eq!(causes.chains.len(), 1);
        assert_eq!(causes.chains[0].links.len(), 2);
    }

    #[test]
    fn a_node_whose_exporter_went_silent_is_the_cause_of_its_backends_failing() {
        let mut s = Story(vec![]);
        s.at(
            50,
            EventData::SourceStale(SourceStale {
                source: "node_exporter:lke-node-b".into(),
                kind: "node_exporter".into(),
                last_success: Some(t(40)),
                last_error: Some("connection refused".into()),
                message: "node_exporter:lke-node-b stale".into(),
            }),
        )
        .backend(60, 443, "lke-node-b", true)
        .ingress(61, 443, true)
        .monitor(63, "site");
        let causes = explain_story(&s, &[], &map());
        let best = &causes.chains[0];
        assert_eq!(best.cause, "lke-node-b stopped answering");
        assert_eq!(best.links.last().unwrap().began_at, t(40));
    }

    #[test]
    fn via_reads_a_label_and_an_optional_port() {
        assert_eq!(
            Via::parse("lke-ingress:443").unwrap(),
            Via {
                nodebalancer: "lke-ingress".into(),
                port: Some(443)
            }
        );
        assert_eq!(Via::parse("lke-ingress").unwrap().port, None);
        assert!(Via::parse("lke-ingress:https")
            .unwrap_err()
            .contains("port number"));
        assert!(Via::parse(":443").is_err());
    }
}
