//! Scenario files: timed states the simulator steps through.

use std::collections::BTreeMap;

use serde::Deserialize;

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
    /// Public services by name: "up" or "down".
    #[serde(default)]
    pub services: BTreeMap<String, String>,
    /// Prometheus: "up" or "down".
    pub prometheus: Option<String>,
    /// NodeBalancer node id → "UP", "DOWN" or "unknown".
    #[serde(default)]
    pub backends: BTreeMap<String, String>,
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
