//! Scenario files: timed states the simulator steps through.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::nodes::Load;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    #[serde(default)]
    pub repeat: bool,
    /// How long one pass lasts, in scenario seconds.
    pub length_secs: u64,
    #[serde(rename = "step")]
    pub steps: Vec<Step>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    pub at_secs: u64,
    /// Public services by name: "up", "down" (502: unreachable through the balancer) or
    /// "error" (500: the application itself fails).
    #[serde(default)]
    pub services: BTreeMap<String, String>,
    /// Prometheus: "up" or "down".
    pub prometheus: Option<String>,
    /// NodeBalancer node id → "UP", "DOWN" or "unknown".
    #[serde(default)]
    pub backends: BTreeMap<String, String>,
    /// Kubernetes node name → its load and state; unset fields keep their value.
    #[serde(default)]
    pub nodes: BTreeMap<String, NodeStep>,
    /// The cluster re-posts the NodeBalancer's configuration, unchanged.
    #[serde(default)]
    pub reapply: bool,
    /// The provider's status page: "open" an incident about NodeBalancer connectivity, or
    /// "resolved".
    pub provider: Option<String>,
    /// Kubernetes: pods bound to nodes, with their requests.
    #[serde(default)]
    pub schedule: Vec<PodStep>,
    /// Kubernetes: pods the kubelet evicts (memory).
    #[serde(default)]
    pub evict: Vec<String>,
    /// Kubernetes: pods whose container is OOM-killed and restarted.
    #[serde(default)]
    pub oom_kill: Vec<String>,
    /// Kubernetes: pods removed (a drain, or evicted ones cleaned up).
    #[serde(default)]
    pub delete_pods: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PodStep {
    pub pod: String,
    pub node: String,
    pub cpu: String,
    pub memory: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeStep {
    pub memory: Option<f64>,
    pub cpu: Option<f64>,
    pub memory_pressure: Option<f64>,
    pub cpu_pressure: Option<f64>,
    /// false: the node disappears (exporter down, Prometheus stops seeing it).
    pub present: Option<bool>,
    /// true: its exporter reports NaN.
    pub nan: Option<bool>,
    /// true: its exporter restarts, so every counter resets.
    #[serde(default)]
    pub restart_exporter: bool,
    /// Kubernetes: the node's `MemoryPressure` condition.
    pub k8s_memory_pressure: Option<bool>,
    /// Kubernetes: the node's `Ready` condition (false: Unknown, the kubelet went quiet).
    pub k8s_ready: Option<bool>,
}

impl NodeStep {
    /// This step's load on top of the node's current one.
    pub fn apply(&self, mut load: Load) -> Load {
        load.memory = self.memory.unwrap_or(load.memory);
        load.cpu = self.cpu.unwrap_or(load.cpu);
        load.memory_pressure = self.memory_pressure.unwrap_or(load.memory_pressure);
        load.cpu_pressure = self.cpu_pressure.unwrap_or(load.cpu_pressure);
        load
    }
}

impl Scenario {
    pub fn parse(text: &str) -> Result<Scenario, String> {
        let s: Scenario = toml::from_str(text).map_err(|e| e.to_string())?;
        if s.steps.windows(2).any(|w| w[1].at_secs < w[0].at_secs) {
            return Err("steps must be in time order".into());
        }
        if s.steps.iter().any(|st| st.at_secs > s.length_secs) {
            return Err("a step lies beyond length_secs".into());
        }
        for st in &s.steps {
            for (id, v) in &st.backends {
                id.parse::<u64>()
                    .map_err(|_| format!("backend id `{id}` is not a number"))?;
                if !["UP", "DOWN", "unknown"].contains(&v.as_str()) {
                    return Err(format!("backend {id}: `{v}` is not UP, DOWN or unknown"));
                }
            }
        }
        for st in &s.steps {
            for (name, v) in &st.services {
                if !["up", "down", "error"].contains(&v.as_str()) {
                    return Err(format!("service {name}: `{v}` is not up, down or error"));
                }
            }
            if let Some(p) = &st.provider {
                if p != "open" && p != "resolved" {
                    return Err(format!("provider: `{p}` is not open or resolved"));
                }
            }
            for (name, n) in &st.nodes {
                for (what, v) in [("memory", n.memory), ("cpu", n.cpu)] {
                    if v.is_some_and(|v| !(0.0..=1.0).contains(&v)) {
                        return Err(format!("node {name}: {what} must be between 0 and 1"));
                    }
                }
            }
        }
        Ok(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bundled_seed_scenario_parses() {
        let s = Scenario::parse(include_str!("../scenarios/seed.toml")).unwrap();
        assert!(s.repeat);
        assert!(s.steps.len() >= 5);
        assert_eq!(s.steps[0].backends.len(), 4);
        assert!(s
            .steps
            .iter()
            .any(|st| st.nodes.get("lke-node-b").and_then(|n| n.memory) > Some(0.9)));
        assert!(s.steps.iter().any(|st| !st.evict.is_empty()));
        assert!(s.steps.iter().any(|st| st
            .nodes
            .get("lke-node-b")
            .and_then(|n| n.k8s_memory_pressure)
            == Some(true)));
    }

    #[test]
    fn the_bundled_cause_scenarios_parse() {
        for text in [
            include_str!("../scenarios/provider-outage.toml"),
            include_str!("../scenarios/app-error.toml"),
        ] {
            let s = Scenario::parse(text).unwrap();
            assert!(s.steps.len() >= 3);
        }
        let err = Scenario::parse(
            "length_secs = 10\n[[step]]\nat_secs = 1\nservices = { site = \"broken\" }\n",
        )
        .unwrap_err();
        assert!(err.contains("up, down or error"), "{err}");
    }

    #[test]
    fn bad_steps_are_refused() {
        let err = Scenario::parse("length_secs = 10\n[[step]]\nat_secs = 20\n").unwrap_err();
        assert!(err.contains("beyond"), "{err}");
        let err = Scenario::parse(
            "length_secs = 10\n[[step]]\nat_secs = 1\nbackends = { 1 = \"MAYBE\" }\n",
        )
        .unwrap_err();
        assert!(err.contains("MAYBE"), "{err}");
    }
}
