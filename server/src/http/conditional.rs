//! Conditional GET, decided in one place: the public cache's renderings and the handlers that
//! answer signed-in callers directly give their tag and date, and a client whose copy is current
//! gets a 304.

use axum::http::{header, HeaderMap, HeaderValue};
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

/// The strong tag of a body: `"<24 hex digits>"`.
pub fn etag_of(body: &[u8]) -> HeaderValue {
    let digest = Sha256::digest(body);
    HeaderValue::from_str(&format!("\"{}\"", hex::encode(&digest[..12])))
        .expect("hex is a valid header")
}

/// Whether the client's copy is current: `If-None-Match` names a tag `current` accepts (given
/// without quotes or `W/`) or is `*`; without it, `If-Modified-Since` is not before `modified`.
pub fn not_modified(
    headers: &HeaderMap,
    current: impl Fn(&str) -> bool,
    modified: DateTime<Utc>,
) -> bool {
    match headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
    {
        Some(inm) => inm.split(',').map(str::trim).any(|t| {
            let t = t.trim_start_matches("W/").trim_matches('"');
            t == "*" || current(t)
        }),
        None => headers
            .get(header::IF_MODIFIED_SINCE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| DateTime::parse_from_rfc2822(v).ok())
            .is_some_and(|since| modified.timestamp() <= since.timestamp()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_named_tag_or_a_date_not_before_the_change_is_current() {
        let mut h = HeaderMap::new();
        let t = Utc::now();
        assert!(!not_modified(&h, |_| true, t));
        h.insert(
            header::IF_NONE_MATCH,
            HeaderValue::from_static("W/\"abc\", \"def\""),
        );
        assert!(not_modified(&h, |tag| tag == "def", t));
        assert!(!not_modified(&h, |tag| tag == "xyz", t));
        let mut h = HeaderMap::new();
        let date = |d: DateTime<Utc>| {
            HeaderValue::from_str(&d.format("%a, %d %b %Y %H:%M:%S GMT").to_string()).unwrap()
        };
        h.insert(header::IF_MODIFIED_SINCE, date(t));
        assert!(not_modified(&h, |_| false, t));
        h.insert(
            header::IF_MODIFIED_SINCE,
            date(t - chrono::Duration::seconds(5)),
        );
        assert!(!not_modified(&h, |_| false, t));
    }
}
