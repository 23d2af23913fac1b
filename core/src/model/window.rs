//! Time windows for graphs and the correlation view: a named range ending now, or explicit
//! `from`/`to` (RFC 3339 or unix seconds), checked with errors that say what to fix.

use chrono::{DateTime, Duration, Utc};

/// The ranges offered everywhere a graph is drawn.
pub const RANGES: [(&str, i64); 5] = [
    ("1h", 3600),
    ("6h", 6 * 3600),
    ("24h", 24 * 3600),
    ("7d", 7 * 86400),
    ("30d", 30 * 86400),
];

/// The longest window a graph may ask for.
pub const MAX_SPAN_DAYS: i64 = 400;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WindowError {
    pub field: &'static str,
    pub message: String,
}

pub fn range_secs(name: &str) -> Option<i64> {
    RANGES.iter().find(|(n, _)| *n == name).map(|(_, s)| *s)
}

fn parse_time(field: &'static str, s: &str) -> Result<DateTime<Utc>, WindowError> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&Utc));
    }
    if let Some(t) = s
        .parse::<f64>()
        .ok()
        .and_then(|secs| DateTime::from_timestamp_millis((secs * 1000.0) as i64))
    {
        return Ok(t);
    }
    Err(WindowError {
        field,
        message: format!(
            "`{s}` is not a time: use RFC 3339 (2021-01-30T14:00:00Z) or unix seconds"
        ),
    })
}

/// Resolves `range` (default 24h) or `from`/`to` into a window. `to` defaults to now, `from` to
/// `to` minus the range.
pub fn resolve(
    range: Option<&str>,
    from: Option<&str>,
    to: Option<&str>,
    now: DateTime<Utc>,
) -> Result<(DateTime<Utc>, DateTime<Utc>), WindowError> {
    let span = match range.filter(|r| !r.is_empty()) {
        None => 24 * 3600,
        Some(r) => range_secs(r).ok_or_else(|| WindowError {
            field: "range",
            message: format!(
                "`{r}` is not a range: use one of {}",
                RANGES.iter().map(|r| r.0).collect::<Vec<_>>().join(", ")
            ),
        })?,
    };
    let to = match to.filter(|s| !s.is_empty()) {
        Some(s) => parse_time("to", s)?,
        None => now,
    };
    let from = match from.filter(|s| !s.is_empty()) {
        Some(s) => parse_time("from", s)?,
        None => to - Duration::seconds(span),
    };
    if from >= to {
        return Err(WindowError {
            field: "from",
            message: "must be before `to`".into(),
        });
    }
    if to - from > Duration::days(MAX_SPAN_DAYS) {
        return Err(WindowError {
            field: "from",
            message: format!("the window may span at most {MAX_SPAN_DAYS} days"),
        });
    }
    Ok((from, to))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000, 0).unwrap()
    }

    #[test]
    fn ranges_and_explicit_windows() {
        let (f, t) = resolve(Some("6h"), None, None, now()).unwrap();
        assert_eq!((t - f).num_hours(), 6);
        assert_eq!(t, now());
        let (f, t) = resolve(
            None,
            Some("2021-01-30T14:00:00Z"),
            Some("1612018800"),
            now(),
        )
        .unwrap();
        assert_eq!(f.timestamp(), 1_612_015_200);
        assert_eq!(t.timestamp(), 1_612_018_800);
        let (f, _) = resolve(None, None, None, now()).unwrap();
        assert_eq!((now() - f).num_hours(), 24);
    }

    #[test]
    fn bad_windows_name_the_field() {
        assert_eq!(
            resolve(Some("2w"), None, None, now()).unwrap_err().field,
            "range"
        );
        assert_eq!(
            resolve(None, Some("yesterday"), None, now())
                .unwrap_err()
                .field,
            "from"
        );
        let e = resolve(None, Some("1700000001"), None, now()).unwrap_err();
        assert!(e.message.contains("before"));
        assert!(resolve(None, Some("0"), None, now()).is_err());
    }
}
