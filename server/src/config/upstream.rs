//! `[[upstream]]`: the providers Vigil depends on, read from their public status pages.

use std::collections::HashSet;

use serde::Deserialize;

use super::problem::Problem;

#[derive(Clone, Debug, PartialEq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct UpstreamConfig {
    /// How the provider is named on /ops and, when `public`, on the status page.
    pub name: String,
    /// The status page's base URL (Statuspage v2: `/api/v2/summary.json` is read), e.g.
    /// https://status.linode.com
    pub url: String,
    /// Follow only these components (by name); all of them when empty.
    #[serde(default)]
    pub components: Vec<String>,
    /// Show the followed components on the public page as third-party services.
    #[serde(default)]
    pub public: bool,
    /// Seconds between readings; be polite (≥ 60 for real providers).
    #[serde(default = "sixty")]
    pub interval_secs: u64,
    #[serde(default = "ten_thousand")]
    pub timeout_ms: u64,
    /// What this provider hosts: NodeBalancer labels and `[[kubernetes]]` cluster names. Its
    /// incidents become candidate causes when those fail (`hosts = ["lke-ingress", "lke"]`).
    #[serde(default)]
    pub hosts: Vec<String>,
}

fn sixty() -> u64 {
    60
}

fn ten_thousand() -> u64 {
    10_000
}

impl UpstreamConfig {
    /// The data source this provider is watched as.
    pub fn source_name(&self) -> String {
        format!("upstream:{}", self.name)
    }
}

/// Checks the providers.
pub fn validate(upstreams: &[UpstreamConfig]) -> Result<(), Problem> {
    let mut names = HashSet::new();
    for (i, u) in upstreams.iter().enumerate() {
        let key = format!("upstream[{i}]");
        if u.name.trim().is_empty() || u.name.len() > 60 || !names.insert(u.name.clone()) {
            return Err(Problem::new(
                format!("{key}.name"),
                format!("`{}` is empty, longer than 60 or used twice", u.name),
            ));
        }
        let ok = reqwest::Url::parse(&u.url)
            .is_ok_and(|url| matches!(url.scheme(), "http" | "https") && url.host().is_some());
        if !ok {
            return Err(Problem::new(
                format!("{key}.url"),
                format!(
                    "`{}` is not an http(s) URL, e.g. https://status.linode.com",
                    u.url
                ),
            ));
        }
        if u.interval_secs < 1 {
            return Err(Problem::new(
                format!("{key}.interval_secs"),
                "must be at least 1",
            ));
        }
    }
    Ok(())
}
