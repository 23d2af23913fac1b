//! Secrets out of everything Vigil prints, logs or shows: webhook URLs carry their token in the
//! path (Discord `/api/webhooks/ID/TOKEN`, Slack `/services/T/B/SECRET`), source URLs may carry
//! `user:pass@`, queries often carry keys.

/// A URL fit to show: no user or password, no query or fragment, and no more than the first two
/// path segments (where webhook services put their tokens after that).
pub fn url(raw: &str) -> String {
    let Ok(mut u) = url::Url::parse(raw.trim()) else {
        // Not a URL: show nothing of it rather than something secret.
        return "(unparseable URL)".into();
    };
    let _ = u.set_username("");
    let _ = u.set_password(None);
    let had_query = u.query().is_some() || u.fragment().is_some();
    u.set_query(None);
    u.set_fragment(None);
    let segments: Vec<String> = u
        .path_segments()
        .map(|s| s.filter(|s| !s.is_empty()).map(str::to_string).collect())
        .unwrap_or_default();
    const CUT: &str = "vigil-redacted";
    if segments.len() > 2 {
        u.set_path(&format!("{}/{}/{CUT}", segments[0], segments[1]));
    }
    // Set as a plain word: the URL would percent-encode an ellipsis.
    let mut out = u.to_string().replace(CUT, "…");
    if had_query {
        out.push_str("?…");
    }
    out
}

/// A PostgreSQL URL with its password replaced.
pub fn database_url(raw: &str) -> String {
    match url::Url::parse(raw) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        Ok(u) => u.to_string(),
        Err(_) => "(unparseable URL)".into(),
    }
}

/// A transport error without the URL reqwest puts into its text, with the causes that say why.
pub fn transport_error(e: &reqwest::Error) -> String {
    use std::error::Error;
    let mut out = e.to_string();
    if let Some(u) = e.url() {
        out = out
            .replace(&format!(" for url ({u})"), "")
            .replace(u.as_str(), &url(u.as_str()));
    }
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = s.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn webhook_tokens_credentials_and_queries_are_cut() {
        let d = url("https://discord.com/api/webhooks/123456/s3cr3t-token");
        assert_eq!(d, "https://discord.com/api/webhooks/…");
        let s = url("https://hooks.slack.com/services/T0/B0/XYZSECRET");
        assert!(!s.contains("XYZSECRET"), "{s}");
        let p = url("http://admin:hunter2@prom.internal:9090/api/v1/query?token=abc");
        assert!(
            !p.contains("hunter2") && !p.contains("admin") && !p.contains("abc"),
            "{p}"
        );
        assert!(p.starts_with("http://prom.internal:9090/api/v1/"), "{p}");
        assert_eq!(
            url("http://127.0.0.1:9100/metrics"),
            "http://127.0.0.1:9100/metrics"
        );
        assert_eq!(
            database_url("postgres://vigil:pw@db/vigil"),
            "postgres://vigil:***@db/vigil"
        );
    }
}
