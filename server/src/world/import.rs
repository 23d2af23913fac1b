//! Bringing monitors over from the tools teams leave: a Gatus configuration and an Uptime Kuma
//! 1.x backup become a [`World`] (each endpoint or monitor a component and a monitor); whatever
//! has no equivalent in Vigil is listed with why, never dropped silently. `vigil import` prints
//! the plan and the list, and applies only with `--apply`.

use std::collections::{BTreeMap, HashSet};

use serde::Deserialize;
use serde_json::Value;

use super::World;
use crate::config::monitors::{ComponentConfig, MonitorConfig, MonitorKind};

/// What an import made, and what it could not.
#[derive(Debug, Default)]
pub struct Imported {
    pub world: World,
    /// What was not imported (or only partly), and why.
    pub not_imported: Vec<String>,
    /// Secrets made for the import (new heartbeat URLs), to print once: (monitor, secret).
    pub new_secrets: Vec<(String, String)>,
}

impl Imported {
    /// Leaves out what the live world has already (a monitor of the same name is not
    /// overwritten), and gives new components ids nothing else uses.
    pub fn beside(mut self, current: &World) -> Imported {
        let mut kept = Vec::new();
        let mut dropped_components = HashSet::new();
        for m in std::mem::take(&mut self.world.monitors) {
            if current.monitor(&m.name).is_some() {
                self.skip(
                    format!("monitor `{}`", m.name),
                    "Vigil has a monitor of this name already; it is left as it is",
                );
                dropped_components.insert(m.component.clone());
            } else {
                kept.push(m);
            }
        }
        self.world.monitors = kept;
        self.world
            .components
            .retain(|c| !dropped_components.contains(&c.id));
        let mut taken: HashSet<String> = current.components.iter().map(|c| c.id.clone()).collect();
        let mut renamed = BTreeMap::new();
        for c in &mut self.world.components {
            let id = unique(c.id.clone(), &mut taken);
            if id != c.id {
                renamed.insert(c.id.clone(), id.clone());
                c.id = id;
            }
        }
        for m in &mut self.world.monitors {
            if let Some(id) = renamed.get(&m.component) {
                m.component = id.clone();
            }
        }
        let names: HashSet<&str> = self
            .world
            .monitors
            .iter()
            .map(|m| m.name.as_str())
            .collect();
        self.new_secrets
            .retain(|(name, _)| names.contains(name.as_str()));
        self
    }

    fn skip(&mut self, what: impl std::fmt::Display, why: impl std::fmt::Display) {
        self.not_imported.push(format!("{what}: {why}"));
    }

    /// A component for `name` (its id made from the name, unique), and its id.
    fn component(
        &mut self,
        name: &str,
        group: Option<String>,
        taken: &mut HashSet<String>,
    ) -> String {
        let id = unique(slug(name), taken);
        self.world.components.push(ComponentConfig {
            id: id.clone(),
            name: name.to_string(),
            group,
            description: None,
        });
        id
    }
}

/// Lowercase letters, digits and dashes: what a component id may hold.
fn slug(name: &str) -> String {
    let mut out = String::new();
    for ch in name.chars() {
        if ch.is_ascii_alphanumeric() {
            out.push(ch.to_ascii_lowercase());
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    let out = out.trim_matches('-').chars().take(56).collect::<String>();
    if out.is_empty() {
        "component".into()
    } else {
        out
    }
}

fn unique(base: String, taken: &mut HashSet<String>) -> String {
    let mut id = base.clone();
    let mut n = 2;
    while !taken.insert(id.clone()) {
        id = format!("{base}-{n}");
        n += 1;
    }
    id
}

fn monitor(name: &str, component: &str, kind: MonitorKind, interval_secs: u64) -> MonitorConfig {
    MonitorConfig {
        name: name.to_string(),
        component: component.to_string(),
        kind,
        interval_secs,
        timeout_ms: None,
        url: None,
        method: "GET".into(),
        headers: BTreeMap::new(),
        expect_status: Vec::new(),
        body_contains: None,
        body_not_contains: None,
        body_regex: None,
        max_response_ms: None,
        follow_redirects: true,
        cert_min_days: None,
        host: None,
        port: None,
        record_type: None,
        expect: None,
        resolver: None,
        secret: None,
        window_secs: None,
        up_query: None,
        regions: None,
        quorum: None,
        via: vec![],
    }
}

/// A Go duration as Gatus writes them (`30s`, `5m`, `1h30m`, `500ms`), in whole seconds.
fn go_duration(text: &str) -> Option<u64> {
    let mut ms: u64 = 0;
    let mut number = String::new();
    let mut chars = text.trim().chars().peekable();
    while let Some(c) = chars.next() {
        if c.is_ascii_digit() || c == '.' {
            number.push(c);
            continue;
        }
        let mut unit = c.to_string();
        if c == 'm' && chars.peek() == Some(&'s') {
            unit.push(chars.next()?);
        }
        let n: f64 = number.parse().ok()?;
        number.clear();
        ms += (n * match unit.as_str() {
            "h" => 3_600_000.0,
            "m" => 60_000.0,
            "s" => 1_000.0,
            "ms" => 1.0,
            _ => return None,
        }) as u64;
    }
    (number.is_empty() && ms > 0).then(|| (ms / 1000).max(1))
}

#[derive(Deserialize)]
struct GatusConfig {
    #[serde(default)]
    endpoints: Vec<GatusEndpoint>,
    #[serde(default, rename = "external-endpoints")]
    external_endpoints: Vec<serde_norway::Value>,
    alerting: Option<serde_norway::Value>,
}

#[derive(Deserialize)]
struct GatusEndpoint {
    name: String,
    group: Option<String>,
    url: String,
    #[serde(default = "gatus_enabled")]
    enabled: bool,
    interval: Option<String>,
    #[serde(default)]
    conditions: Vec<String>,
    method: Option<String>,
    body: Option<String>,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    dns: Option<GatusDns>,
    #[serde(default)]
    alerts: Vec<serde_norway::Value>,
    client: Option<serde_norway::Value>,
}

fn gatus_enabled() -> bool {
    true
}

#[derive(Deserialize)]
struct GatusDns {
    #[serde(rename = "query-name")]
    query_name: String,
    #[serde(rename = "query-type")]
    query_type: String,
}

/// A Gatus configuration (YAML): endpoints become components (grouped as in Gatus) and monitors.
pub fn gatus(text: &str) -> Result<Imported, String> {
    let config: GatusConfig =
        serde_norway::from_str(text).map_err(|e| format!("not a Gatus configuration: {e}"))?;
    let mut out = Imported::default();
    let mut taken = HashSet::new();
    if config.alerting.is_some() {
        out.skip(
            "alerting",
            "Gatus' alert providers are not imported; add channels with [[notify]] in Vigil",
        );
    }
    for e in &config.external_endpoints {
        let name = e.get("name").and_then(|n| n.as_str()).unwrap_or("?");
        out.skip(
            format!("external endpoint `{name}`"),
            "results pushed by an outside job: create a heartbeat monitor for it in Vigil",
        );
    }
    for e in config.endpoints {
        let what = format!("endpoint `{}`", e.name);
        if !e.enabled {
            out.skip(&what, "disabled in Gatus");
            continue;
        }
        let interval = match e.interval.as_deref() {
            None => 60,
            Some(i) => match go_duration(i) {
                Some(s) => s,
                None => {
                    out.skip(&what, format!("interval `{i}` is not a duration"));
                    continue;
                }
            },
        };
        let url = e.url.trim();
        let scheme = url
            .split("://")
            .next()
            .unwrap_or_default()
            .to_ascii_lowercase();
        let mut m;
        if let Some(dns) = &e.dns {
            m = monitor(&e.name, "", MonitorKind::Dns, interval);
            m.host = Some(dns.query_name.clone());
            m.record_type = Some(dns.query_type.to_ascii_uppercase());
            let resolver = url
                .trim_start_matches("udp://")
                .trim_start_matches("tcp://");
            m.resolver = Some(if resolver.contains(':') {
                resolver.to_string()
            } else {
                format!("{resolver}:53")
            });
        } else if scheme == "http" || scheme == "https" {
            m = monitor(&e.name, "", MonitorKind::Http, interval);
            m.url = Some(url.to_string());
            if let Some(method) = &e.method {
                m.method = method.to_ascii_uppercase();
            }
            m.headers = e.headers.clone();
            if e.body.is_some() {
                out.skip(
                    &what,
                    "its request body is not sent (Vigil's HTTP checks send none)",
                );
            }
        } else if scheme == "tcp" {
            let hostport = url.trim_start_matches("tcp://");
            let Some((host, port)) = hostport
                .rsplit_once(':')
                .and_then(|(h, p)| Some((h, p.parse::<u16>().ok()?)))
            else {
                out.skip(&what, format!("`{url}` names no port"));
                continue;
            };
            m = monitor(&e.name, "", MonitorKind::Tcp, interval);
            m.host = Some(host.to_string());
            m.port = Some(port);
        } else {
            out.skip(&what, format!("`{scheme}://` checks have no equivalent in Vigil (HTTP, TCP, DNS and heartbeats do)"));
            continue;
        }
        for c in &e.conditions {
            if let Err(why) = gatus_condition(c, &mut m) {
                out.skip(format!("{what}: condition `{c}`"), why);
            }
        }
        if !e.alerts.is_empty() {
            out.skip(&what, "its alerts are not imported; Vigil's incidents and [[notify]] channels take their place");
        }
        if e.client.is_some() {
            out.skip(
                &what,
                "its client settings (timeouts, TLS, DNS resolver) are not imported",
            );
        }
        let component = out.component(&e.name, e.group.clone(), &mut taken);
        m.component = component;
        out.world.monitors.push(m);
    }
    Ok(out)
}

/// One Gatus condition, onto the monitor; `Err(why)` when Vigil has no equivalent.
fn gatus_condition(c: &str, m: &mut MonitorConfig) -> Result<(), String> {
    let c = c.trim();
    let (left, op, right) = ["==", "!=", "<=", ">=", "<", ">"]
        .iter()
        .find_map(|op| c.split_once(op).map(|(l, r)| (l.trim(), *op, r.trim())))
        .ok_or("not a comparison")?;
    match (left, op) {
        ("[STATUS]", "==") => {
            let code: u16 = right
                .parse()
                .map_err(|_| "only a single status code maps")?;
            m.expect_status.push(code);
            Ok(())
        }
        ("[STATUS]", "<") if right == "300" || right == "400" => Ok(()), // Vigil's default: 2xx/3xx
        ("[RESPONSE_TIME]", "<") | ("[RESPONSE_TIME]", "<=") => {
            m.max_response_ms = Some(right.parse().map_err(|_| "not a number of milliseconds")?);
            // Imported, with the difference said: Gatus calls a slow answer down.
            Err(format!("imported as max_response_ms = {right}: slower answers are degraded in Vigil, not down"))
        }
        ("[CERTIFICATE_EXPIRATION]", ">") => {
            let secs = go_duration(right).ok_or("not a duration")?;
            m.cert_min_days = Some(secs.div_ceil(86_400) as u32);
            Ok(())
        }
        ("[CONNECTED]", "==") if right == "true" => Ok(()),
        ("[DNS_RCODE]", "==") if right == "NOERROR" => Ok(()),
        ("[BODY]", "==")
            if right.starts_with("pat(*")
                && right.ends_with("*)")
                && !right[5..right.len() - 2].contains('*') =>
        {
            m.body_contains = Some(right[5..right.len() - 2].to_string());
            Ok(())
        }
        ("[BODY]", _) => Err("body conditions other than pat(*text*) have no equivalent".into()),
        (l, _) if l.starts_with("[BODY].") => Err(
            "JSON path conditions have no equivalent; a body_contains on the value may do".into(),
        ),
        ("[DOMAIN_EXPIRATION]", _) => Err("domain expiry is not checked by Vigil".into()),
        _ => Err("no equivalent in Vigil".into()),
    }
}

/// An Uptime Kuma 1.x backup ("Settings → Backup → Export", JSON).
pub fn uptime_kuma(text: &str) -> Result<Imported, String> {
    let backup: Value =
        serde_json::from_str(text).map_err(|e| format!("not an Uptime Kuma backup: {e}"))?;
    let monitors = backup["monitorList"]
        .as_array()
        .ok_or("not an Uptime Kuma backup: it has no monitorList")?;
    let mut out = Imported::default();
    let mut taken = HashSet::new();
    if let Some(n) = backup["notificationList"]
        .as_array()
        .filter(|n| !n.is_empty())
    {
        let names: Vec<&str> = n.iter().filter_map(|n| n["name"].as_str()).collect();
        out.skip(
            format!("notifications ({})", names.join(", ")),
            "not imported; add channels with [[notify]] in Vigil",
        );
    }
    // Kuma's groups are monitors of type "group": their names become components' groups.
    let groups: BTreeMap<i64, String> = monitors
        .iter()
        .filter(|m| m["type"] == "group")
        .filter_map(|m| Some((m["id"].as_i64()?, m["name"].as_str()?.to_string())))
        .collect();
    for k in monitors {
        let name = k["name"].as_str().unwrap_or("unnamed").to_string();
        let what = format!("monitor `{name}`");
        let kind = k["type"].as_str().unwrap_or_default();
        if kind == "group" {
            continue;
        }
        let interval = k["interval"].as_u64().unwrap_or(60).max(1);
        let mut m;
        match kind {
            "http" | "keyword" => {
                m = monitor(&name, "", MonitorKind::Http, interval);
                m.url = k["url"].as_str().map(str::to_string);
                if let Some(method) = k["method"].as_str() {
                    m.method = method.to_ascii_uppercase();
                }
                if let Some(h) = k["headers"].as_str().filter(|h| !h.trim().is_empty()) {
                    match serde_json::from_str::<BTreeMap<String, Value>>(h) {
                        Ok(h) => {
                            m.headers = h
                                .into_iter()
                                .map(|(k, v)| {
                                    (k, v.as_str().map_or_else(|| v.to_string(), str::to_string))
                                })
                                .collect()
                        }
                        Err(_) => out.skip(&what, "its headers are not JSON and were left out"),
                    }
                }
                if k["body"].as_str().is_some_and(|b| !b.is_empty()) {
                    out.skip(
                        &what,
                        "its request body is not sent (Vigil's HTTP checks send none)",
                    );
                }
                if k["authMethod"]
                    .as_str()
                    .is_some_and(|a| !a.is_empty() && a != "null")
                    || k["basic_auth_user"].as_str().is_some_and(|u| !u.is_empty())
                {
                    out.skip(
                        &what,
                        "its authentication is not imported; add an Authorization header",
                    );
                }
                if kind == "keyword" {
                    let keyword = k["keyword"].as_str().unwrap_or_default().to_string();
                    if k["invertKeyword"] == true {
                        m.body_not_contains = Some(keyword);
                    } else {
                        m.body_contains = Some(keyword);
                    }
                }
                if k["maxredirects"].as_u64() == Some(0) {
                    m.follow_redirects = false;
                }
                if k["ignoreTls"] == true {
                    out.skip(
                        &what,
                        "ignores TLS errors in Uptime Kuma; Vigil checks certificates",
                    );
                }
                match status_codes(&k["accepted_statuscodes"]) {
                    Ok(codes) => m.expect_status = codes,
                    Err(why) => out.skip(&what, why),
                }
            }
            "port" => {
                m = monitor(&name, "", MonitorKind::Tcp, interval);
                m.host = k["hostname"].as_str().map(str::to_string);
                m.port = k["port"].as_u64().and_then(|p| u16::try_from(p).ok());
            }
            "dns" => {
                m = monitor(&name, "", MonitorKind::Dns, interval);
                m.host = k["hostname"].as_str().map(str::to_string);
                m.record_type = k["dns_resolve_type"].as_str().map(str::to_string);
                let port = k["port"].as_u64().filter(|p| *p != 0).unwrap_or(53);
                m.resolver = k["dns_resolve_server"]
                    .as_str()
                    .map(|s| format!("{s}:{port}"));
            }
            "push" => {
                m = monitor(&name, "", MonitorKind::Heartbeat, interval);
                // Kuma's push token is a URL on the old server: the job must call Vigil's anew.
                let secret = new_secret();
                out.new_secrets.push((name.clone(), secret.clone()));
                m.secret = Some(secret);
            }
            other => {
                out.skip(&what, format!("`{other}` monitors have no equivalent in Vigil (HTTP, keyword, TCP port, DNS and push do)"));
                continue;
            }
        }
        if let Some(t) = k["timeout"].as_f64().filter(|t| *t > 0.0) {
            m.timeout_ms = Some(((t * 1000.0) as u64).min(interval * 1000));
        }
        if k["upsideDown"] == true {
            out.skip(&what, "is upside down in Uptime Kuma (up when failing); Vigil has no such mode — imported as a normal check");
        }
        if k["active"] == false {
            out.skip(&what, "was paused in Uptime Kuma; it is imported running — pause it at /ops/monitors if it should stay paused");
        }
        let group = k["parent"].as_i64().and_then(|p| groups.get(&p).cloned());
        m.component = out.component(&name, group, &mut taken);
        out.world.monitors.push(m);
    }
    Ok(out)
}

/// A Statuspage page (`components.json` and `incidents.json` of its public API): its
/// components with their groups — one of the same name in Vigil already is used, not
/// duplicated — and its resolved incidents with every update and their times.
pub fn statuspage(
    components: &Value,
    incidents: &Value,
    live: &World,
) -> Result<
    (
        Imported,
        Vec<vigil_core::store::imports::HistoricalIncident>,
    ),
    String,
> {
    let list = components["components"]
        .as_array()
        .ok_or("components.json has no `components` list")?;
    let page = components["page"]["id"]
        .as_str()
        .unwrap_or("page")
        .to_string();
    let mut out = Imported::default();
    let mut taken: HashSet<String> = live.components.iter().map(|c| c.id.clone()).collect();
    let groups: BTreeMap<&str, &str> = list
        .iter()
        .filter(|c| c["group"] == true)
        .filter_map(|c| Some((c["id"].as_str()?, c["name"].as_str()?)))
        .collect();
    // Statuspage's component id → Vigil's.
    let mut ids: BTreeMap<String, String> = BTreeMap::new();
    let mut sorted: Vec<&Value> = list.iter().filter(|c| c["group"] != true).collect();
    sorted.sort_by_key(|c| c["position"].as_i64().unwrap_or(0));
    for c in sorted {
        let (Some(sp_id), Some(name)) = (c["id"].as_str(), c["name"].as_str()) else {
            continue;
        };
        let id = match live.components.iter().find(|l| l.name == name) {
            Some(existing) => existing.id.clone(),
            None => {
                let group = c["group_id"]
                    .as_str()
                    .and_then(|g| groups.get(g))
                    .map(|g| g.to_string());
                let id = out.component(name, group, &mut taken);
                if let Some(d) = c["description"].as_str().filter(|d| !d.is_empty()) {
                    if let Some(last) = out.world.components.last_mut() {
                        last.description = Some(d.chars().take(500).collect());
                    }
                }
                id
            }
        };
        ids.insert(sp_id.to_string(), id);
    }
    let mut history = Vec::new();
    for i in incidents["incidents"]
        .as_array()
        .ok_or("incidents.json has no `incidents` list")?
    {
        let name = i["name"].as_str().unwrap_or("untitled").to_string();
        let what = format!("incident `{name}`");
        let status = match i["status"].as_str().unwrap_or_default() {
            "resolved" | "postmortem" => "resolved",
            other => {
                out.skip(&what, format!("is still {other} on the old page; open it in Vigil if it is still going on"));
                continue;
            }
        };
        let time = |k: &str| {
            i[k].as_str()
                .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
                .map(|t| t.with_timezone(&chrono::Utc))
        };
        let Some(started_at) = time("started_at").or_else(|| time("created_at")) else {
            out.skip(&what, "has no start time");
            continue;
        };
        let impact = match i["impact"].as_str().unwrap_or("none") {
            i @ ("none" | "minor" | "major" | "critical") => i.to_string(),
            "maintenance" => {
                out.skip(&what, "is a maintenance");
                continue;
            }
            _ => "minor".to_string(),
        };
        let component_status = match impact.as_str() {
            "critical" => "major_outage",
            "major" => "partial_outage",
            "minor" => "degraded_performance",
            _ => "operational",
        };
        let mut components: Vec<(String, String)> = i["components"]
            .as_array()
            .map(|cs| {
                cs.iter()
                    .filter_map(|c| ids.get(c["id"].as_str()?))
                    .map(|id| (id.clone(), component_status.to_string()))
                    .collect()
            })
            .unwrap_or_default();
        components.dedup();
        let mut updates: Vec<(String, String, chrono::DateTime<chrono::Utc>)> = i
            ["incident_updates"]
            .as_array()
            .map(|us| {
                us.iter()
                    .filter_map(|u| {
                        let at =
                            chrono::DateTime::parse_from_rfc3339(u["created_at"].as_str()?).ok()?;
                        let status = match u["status"].as_str()? {
                            "postmortem" => "resolved",
                            s => s,
                        };
                        Some((
                            status.to_string(),
                            u["body"].as_str().unwrap_or_default().to_string(),
                            at.with_timezone(&chrono::Utc),
                        ))
                    })
                    .collect()
            })
            .unwrap_or_default();
        updates.sort_by_key(|u| u.2);
        history.push(vigil_core::store::imports::HistoricalIncident {
            source: format!("statuspage:{page}/{}", i["id"].as_str().unwrap_or(&name)),
            name,
            status: status.into(),
            impact,
            started_at,
            monitoring_at: time("monitoring_at"),
            resolved_at: time("resolved_at").or_else(|| updates.last().map(|u| u.2)),
            components,
            updates,
        });
    }
    Ok((out, history))
}

/// Kuma's accepted status codes (`["200-299"]`, `["200", "301-302"]`) as a list Vigil checks;
/// empty means Vigil's default (any 2xx or 3xx).
fn status_codes(v: &Value) -> Result<Vec<u16>, String> {
    let Some(list) = v.as_array() else {
        return Ok(Vec::new());
    };
    let ranges: Vec<&str> = list.iter().filter_map(Value::as_str).collect();
    if ranges == ["200-299"] || ranges.is_empty() {
        return Ok(Vec::new());
    }
    let mut codes = Vec::new();
    for r in ranges {
        let (from, to) = match r.split_once('-') {
            Some((a, b)) => (a.trim().parse::<u16>(), b.trim().parse::<u16>()),
            None => (r.trim().parse::<u16>(), r.trim().parse::<u16>()),
        };
        let (Ok(from), Ok(to)) = (from, to) else {
            return Err(format!(
                "accepted status `{r}` does not read; Vigil's default (2xx, 3xx) applies"
            ));
        };
        if to < from || to - from > 50 {
            return Err(format!(
                "accepted statuses `{r}` are too wide to list; Vigil's default (2xx, 3xx) applies"
            ));
        }
        codes.extend(from..=to);
    }
    Ok(codes)
}

/// A new heartbeat secret: 128 random bits from the system, in hex (what the URL carries).
fn new_secret() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations_read_as_gatus_writes_them() {
        assert_eq!(go_duration("30s"), Some(30));
        assert_eq!(go_duration("5m"), Some(300));
        assert_eq!(go_duration("1h30m"), Some(5400));
        assert_eq!(go_duration("48h"), Some(172_800));
        assert_eq!(go_duration("1500ms"), Some(1));
        assert_eq!(go_duration("soon"), None);
        assert_eq!(go_duration("5"), None);
    }

    #[test]
    fn names_become_unique_component_ids() {
        let mut taken = HashSet::new();
        assert_eq!(unique(slug("Front End (EU)"), &mut taken), "front-end-eu");
        assert_eq!(unique(slug("front-end eu"), &mut taken), "front-end-eu-2");
        assert_eq!(slug("!!!"), "component");
    }

    fn fixture(name: &str) -> String {
        std::fs::read_to_string(format!(
            "{}/tests/fixtures/import/{name}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap()
    }

    fn has(list: &[String], what: &str, why: &str) -> bool {
        list.iter().any(|l| l.contains(what) && l.contains(why))
    }

    #[test]
    fn gatus_own_configuration_becomes_grouped_components_and_monitors() {
        let out = gatus(&fixture("gatus-config.yaml")).unwrap();
        let names: Vec<&str> = out.world.monitors.iter().map(|m| m.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "front-end",
                "back-end",
                "monitoring",
                "nas",
                "example-dns-query",
                "check-domain-expiration"
            ]
        );
        let front = &out.world.monitors[0];
        assert_eq!((front.kind, front.interval_secs), (MonitorKind::Http, 300));
        assert_eq!(front.url.as_deref(), Some("https://twin.sh/health"));
        assert_eq!(front.expect_status, [200]);
        assert_eq!(front.max_response_ms, Some(150));
        assert_eq!(out.world.monitors[1].cert_min_days, Some(2));
        let dns = &out.world.monitors[4];
        assert_eq!(dns.kind, MonitorKind::Dns);
        assert_eq!(
            (
                dns.host.as_deref(),
                dns.record_type.as_deref(),
                dns.resolver.as_deref()
            ),
            (Some("example.com"), Some("A"), Some("8.8.8.8:53"))
        );
        let groups: Vec<Option<&str>> = out
            .world
            .components
            .iter()
            .map(|c| c.group.as_deref())
            .collect();
        assert_eq!(
            groups,
            [
                Some("core"),
                Some("core"),
                Some("internal"),
                Some("internal"),
                None,
                None
            ]
        );
        assert_eq!(out.world.components[0].id, "front-end");
        // What has no equivalent is listed, with why.
        assert!(
            has(
                &out.not_imported,
                "icmp-ping",
                "`icmp://` checks have no equivalent"
            ),
            "{:#?}",
            out.not_imported
        );
        assert!(
            has(&out.not_imported, "[BODY].status == UP", "JSON path"),
            "{:#?}",
            out.not_imported
        );
        assert!(
            has(
                &out.not_imported,
                "[DOMAIN_EXPIRATION] > 720h",
                "domain expiry"
            ),
            "{:#?}",
            out.not_imported
        );
        assert!(
            has(&out.not_imported, "[BODY] == pat(*.*.*.*)", "no equivalent"),
            "{:#?}",
            out.not_imported
        );
        assert!(
            has(
                &out.not_imported,
                "[RESPONSE_TIME] < 150",
                "degraded in Vigil, not down"
            ),
            "{:#?}",
            out.not_imported
        );
        assert_eq!(out.not_imported.len(), 5, "{:#?}", out.not_imported);
        // What it made is a valid world.
        crate::config::monitors::validate(
            &Default::default(),
            &out.world.components,
            &out.world.monitors,
            &Default::default(),
        )
        .unwrap();
    }

    #[test]
    fn gatus_examples_report_alerting_and_keep_intervals() {
        let out = gatus(&fixture("gatus-mattermost.yaml")).unwrap();
        assert_eq!(out.world.monitors.len(), 1);
        assert_eq!(out.world.monitors[0].interval_secs, 60);
        assert!(has(&out.not_imported, "alerting", "not imported"));
        assert!(has(
            &out.not_imported,
            "endpoint `example`",
            "alerts are not imported"
        ));
        let out = gatus(&fixture("gatus-backend.yaml")).unwrap();
        assert_eq!(out.world.monitors.len(), 2);
        assert_eq!(out.world.components[0].group.as_deref(), Some("backend"));
        assert!(has(
            &out.not_imported,
            "check-if-website-is-pingable",
            "icmp"
        ));
    }

    #[test]
    fn an_uptime_kuma_backup_becomes_components_and_monitors() {
        let out = uptime_kuma(&fixture("uptime-kuma-1.23-backup.json")).unwrap();
        let names: Vec<&str> = out.world.monitors.iter().map(|m| m.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "Homepage",
                "Docs keyword",
                "Postgres port",
                "Mail DNS",
                "Nightly backup",
                "Legacy API"
            ]
        );
        let by = |n: &str| out.world.monitors.iter().find(|m| m.name == n).unwrap();
        assert_eq!(
            (by("Homepage").interval_secs, by("Homepage").timeout_ms),
            (30, Some(24_000))
        );
        assert_eq!(
            by("Docs keyword").body_contains.as_deref(),
            Some("Getting started")
        );
        assert_eq!(
            by("Docs keyword").headers["Authorization"],
            "Bearer kuma-secret-token"
        );
        assert_eq!(
            (
                by("Postgres port").host.as_deref(),
                by("Postgres port").port
            ),
            (Some("db.internal"), Some(5432))
        );
        assert_eq!(by("Mail DNS").resolver.as_deref(), Some("9.9.9.9:53"));
        assert_eq!(by("Mail DNS").record_type.as_deref(), Some("MX"));
        let beat = by("Nightly backup");
        assert_eq!(beat.kind, MonitorKind::Heartbeat);
        assert_ne!(
            beat.secret.as_deref(),
            Some("Yq0xQ1zZK3"),
            "a new URL, not the old server's"
        );
        assert_eq!(
            out.new_secrets,
            [("Nightly backup".to_string(), beat.secret.clone().unwrap())]
        );
        assert_eq!(by("Legacy API").expect_status, [200, 301, 302]);
        assert!(!by("Legacy API").follow_redirects);
        // Kuma's group is the components' group.
        let home = out
            .world
            .components
            .iter()
            .find(|c| c.name == "Homepage")
            .unwrap();
        assert_eq!(home.group.as_deref(), Some("Public sites"));
        assert!(
            has(
                &out.not_imported,
                "Gateway ping",
                "`ping` monitors have no equivalent"
            ),
            "{:#?}",
            out.not_imported
        );
        assert!(has(
            &out.not_imported,
            "notifications (Discord ops)",
            "not imported"
        ));
        assert!(has(&out.not_imported, "Legacy API", "was paused"));
        crate::config::monitors::validate(
            &Default::default(),
            &out.world.components,
            &out.world.monitors,
            &Default::default(),
        )
        .unwrap();
    }

    #[test]
    fn an_import_beside_a_live_world_overwrites_nothing() {
        let out = uptime_kuma(&fixture("uptime-kuma-1.23-backup.json")).unwrap();
        let mut live = World::default();
        live.components.push(ComponentConfig {
            id: "homepage".into(),
            name: "Ours".into(),
            group: None,
            description: None,
        });
        live.monitors
            .push(monitor("Postgres port", "homepage", MonitorKind::Tcp, 30));
        let out = out.beside(&live);
        assert!(out.world.monitors.iter().all(|m| m.name != "Postgres port"));
        assert!(has(
            &out.not_imported,
            "Postgres port",
            "has a monitor of this name already"
        ));
        let home = out
            .world
            .components
            .iter()
            .find(|c| c.name == "Homepage")
            .unwrap();
        assert_eq!(home.id, "homepage-2", "a new id beside the live `homepage`");
        assert_eq!(out.world.monitors[0].component, "homepage-2");
    }

    #[test]
    fn a_statuspage_page_becomes_components_and_its_history() {
        let components = serde_json::json!({"page": {"id": "acme"}, "components": [
            {"id": "g", "name": "Compute", "group": true, "components": ["a", "b"]},
            {"id": "a", "name": "API", "group": false, "group_id": "g", "position": 1},
            {"id": "b", "name": "Website", "group": false, "group_id": "g", "position": 2},
        ]});
        let incidents = serde_json::json!({"incidents": [
            {"id": "open1", "name": "Now", "status": "investigating", "impact": "major", "created_at": "2026-12-01T10:00:00Z"},
            {"id": "i1", "name": "Slow API", "status": "postmortem", "impact": "critical",
             "started_at": "2026-11-01T10:00:00Z", "resolved_at": "2026-11-01T11:00:00Z",
             "components": [{"id": "a"}],
             "incident_updates": [
                {"status": "resolved", "body": "Fixed.", "created_at": "2026-11-01T11:00:00Z"},
                {"status": "investigating", "body": "Looking.", "created_at": "2026-11-01T10:01:00Z"}]}
        ]});
        let mut live = World::default();
        live.components.push(ComponentConfig {
            id: "site".into(),
            name: "Website".into(),
            group: None,
            description: None,
        });
        let (out, history) = statuspage(&components, &incidents, &live).unwrap();
        assert_eq!(out.world.components.len(), 1, "Website exists already");
        assert_eq!(out.world.components[0].id, "api");
        assert_eq!(out.world.components[0].group.as_deref(), Some("Compute"));
        assert_eq!(history.len(), 1);
        let h = &history[0];
        assert_eq!(
            (h.source.as_str(), h.status.as_str(), h.impact.as_str()),
            ("statuspage:acme/i1", "resolved", "critical")
        );
        assert_eq!(
            h.components,
            [("api".to_string(), "major_outage".to_string())]
        );
        assert_eq!(h.updates[0].1, "Looking.", "oldest first");
        assert!(has(
            &out.not_imported,
            "incident `Now`",
            "still investigating"
        ));
    }

    #[test]
    fn kuma_status_ranges() {
        assert_eq!(status_codes(&serde_json::json!(["200-299"])), Ok(vec![]));
        assert_eq!(
            status_codes(&serde_json::json!(["200", "301-302"])),
            Ok(vec![200, 301, 302])
        );
        assert!(status_codes(&serde_json::json!(["100-599"])).is_err());
    }
}
