//! `[[notify]]`: where notifications go (Discord, Slack-compatible, any JSON webhook) and which
//! events each channel receives.

use super::problem::Problem;
use std::{collections::HashSet, path::PathBuf};

use serde::Deserialize;

#[derive(Clone, Debug, PartialEq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct NotifyConfig {
    pub name: String,
    /// discord, slack or webhook.
    pub kind: String,
    /// The webhook URL. It is a secret: prefer `url_env` or `url_file`.
    pub url: Option<String>,
    pub url_env: Option<String>,
    pub url_file: Option<PathBuf>,
    /// Event kinds to send, `*` as a wildcard (e.g. "monitor.*"); the default set when empty.
    #[serde(default)]
    pub events: Vec<String>,
}

/// What a channel receives unless told otherwise: what a person wants to be woken for.
pub const DEFAULT_EVENTS: [&str; 10] = [
    "monitor.state",
    "incident.*",
    "maintenance.*",
    "source.stale",
    "source.fresh",
    "resource.alert",
    // An objective's error budget burns fast (a page) or steadily (a ticket).
    "slo.burn",
    "lb.ingress",
    "followup.overdue",
    // Somebody was asked to review a post-mortem, or approved one.
    "postmortem.review",
];

impl NotifyConfig {
    pub fn resolve_url(&self) -> Result<String, String> {
        let url = match (&self.url, &self.url_env, &self.url_file) {
            (Some(u), None, None) => u.clone(),
            (None, Some(var), None) => {
                std::env::var(var).map_err(|_| format!("${var} is not set"))?
            }
            (None, None, Some(path)) => std::fs::read_to_string(path)
                .map_err(|e| format!("cannot read {}: {e}", path.display()))?
                .lines()
                .next()
                .unwrap_or_default()
                .trim()
                .to_string(),
            _ => return Err("give exactly one of url, url_env, url_file".into()),
        };
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err("the URL must start with http:// or https://".into());
        }
        Ok(url)
    }

    /// The channel's event patterns as SQL LIKE patterns.
    pub fn patterns(&self) -> Vec<String> {
        let events: Vec<&str> = if self.events.is_empty() {
            DEFAULT_EVENTS.to_vec()
        } else {
            self.events.iter().map(String::as_str).collect()
        };
        events
            .iter()
            .map(|e| e.replace('%', "\\%").replace('_', "\\_").replace('*', "%"))
            .collect()
    }
}

/// Checks the channels.
pub fn validate(channels: &[NotifyConfig]) -> Result<(), Problem> {
    let mut names = HashSet::new();
    for (i, c) in channels.iter().enumerate() {
        let key = format!("notify[{i}]");
        if c.name.trim().is_empty() || !names.insert(c.name.clone()) {
            return Err(Problem::new(
                format!("{key}.name"),
                format!("`{}` is empty or used twice", c.name),
            ));
        }
        if !["discord", "slack", "webhook"].contains(&c.kind.as_str()) {
            return Err(Problem::new(
                format!("{key}.kind"),
                format!("`{}` is not one of discord, slack, webhook", c.kind),
            ));
        }
        c.resolve_url()
            .map_err(|e| Problem::new(format!("{key}.url"), e))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_are_like_patterns() {
        let c = NotifyConfig {
            name: "d".into(),
            kind: "discord".into(),
            url: Some("http://x".into()),
            url_env: None,
            url_file: None,
            events: vec!["monitor.*".into(), "source_stale".into()],
        };
        assert_eq!(c.patterns(), vec!["monitor.%", "source\\_stale"]);
        assert!(validate(&[c.clone(), c]).is_err(), "names are unique");
    }
}
