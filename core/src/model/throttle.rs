//! How long to make someone wait after failed sign-ins: nothing for the first few mistakes, then a
//! delay that doubles with each further failure, capped.

use chrono::{DateTime, Duration, Utc};

/// Failures allowed before any delay.
pub const FREE_FAILURES: i32 = 4;
pub const MAX_DELAY_SECS: i64 = 15 * 60;

/// The wait imposed after `failures` consecutive failures.
pub fn delay_after(failures: i32) -> Duration {
    if failures <= FREE_FAILURES {
        return Duration::zero();
    }
    let exp = (failures - FREE_FAILURES).min(20) as u32;
    Duration::seconds((1i64 << exp).min(MAX_DELAY_SECS))
}

/// How long until the next attempt is allowed, or None when it is allowed now.
pub fn wait_remaining(
    failures: i32,
    last_failure: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Option<Duration> {
    let until = last_failure + delay_after(failures);
    (until > now).then(|| until - now)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_mistakes_are_free_then_the_delay_doubles_up_to_a_cap() {
        assert_eq!(delay_after(1), Duration::zero());
        assert_eq!(delay_after(FREE_FAILURES), Duration::zero());
        assert_eq!(delay_after(FREE_FAILURES + 1), Duration::seconds(2));
        assert_eq!(delay_after(FREE_FAILURES + 2), Duration::seconds(4));
        assert_eq!(delay_after(FREE_FAILURES + 3), Duration::seconds(8));
        assert_eq!(
            delay_after(1000),
            Duration::minutes(15),
            "capped at 15 minutes"
        );
        assert_eq!(delay_after(1000), Duration::seconds(MAX_DELAY_SECS));
    }

    #[test]
    fn the_wait_runs_from_the_last_failure() {
        let t0 = Utc::now();
        let f = FREE_FAILURES + 3; // 8 s
        assert_eq!(
            wait_remaining(f, t0, t0 + Duration::seconds(3)),
            Some(Duration::seconds(5))
        );
        assert_eq!(wait_remaining(f, t0, t0 + Duration::seconds(8)), None);
        assert_eq!(wait_remaining(1, t0, t0), None);
    }
}
