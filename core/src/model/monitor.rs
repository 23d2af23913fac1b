//! Monitors: what Vigil checks, and the rule that turns a stream of check results into UP/DOWN
//! without flapping on a single lost packet.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The state a monitor is in, as people see it.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    strum::IntoStaticStr,
    strum::EnumString,
    strum::VariantArray,
)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum MonitorStatus {
    /// No verdict yet (fewer results than the thresholds need).
    Unknown,
    Up,
    /// Answering, but slower than allowed or with a certificate about to expire.
    Degraded,
    Down,
    /// Paused by an admin: not checked, not counted.
    Paused,
}

impl MonitorStatus {
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    pub fn parse(s: &str) -> MonitorStatus {
        s.parse().unwrap_or(MonitorStatus::Unknown)
    }
}

/// How a check went.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Ok,
    /// It answered correctly but breached a soft limit (latency, certificate lifetime).
    Degraded,
    Failed,
}

/// Why a check failed, coarse enough to group on.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    strum::IntoStaticStr,
    strum::EnumString,
    strum::VariantArray,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum ErrorClass {
    Timeout,
    Connect,
    Tls,
    Dns,
    Status,
    Body,
    Slow,
    Certificate,
    Protocol,
    Missed,
}

impl ErrorClass {
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// One check's result.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CheckResult {
    pub at: DateTime<Utc>,
    pub outcome: Outcome,
    pub latency: Duration,
    pub error: Option<(ErrorClass, String)>,
    /// Where it was observed from: a probe agent's region; `None` is this server (`local`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// A regional failure fewer regions than the quorum saw at once: the monitor was up by its
    /// own rule, so uptime and objectives count it as good (the raw result stays a failure).
    /// Decided by the server, never taken from an agent.
    #[serde(skip)]
    pub outvoted: bool,
}

impl CheckResult {
    pub fn ok(at: DateTime<Utc>, latency: Duration) -> Self {
        CheckResult {
            at,
            outcome: Outcome::Ok,
            latency,
            error: None,
            region: None,
            outvoted: false,
        }
    }

    pub fn failed(
        at: DateTime<Utc>,
        latency: Duration,
        class: ErrorClass,
        message: impl Into<String>,
    ) -> Self {
        CheckResult {
            at,
            outcome: Outcome::Failed,
            latency,
            error: Some((class, message.into())),
            region: None,
            outvoted: false,
        }
    }

    pub fn degraded(
        at: DateTime<Utc>,
        latency: Duration,
        class: ErrorClass,
        message: impl Into<String>,
    ) -> Self {
        CheckResult {
            at,
            outcome: Outcome::Degraded,
            latency,
            error: Some((class, message.into())),
            region: None,
            outvoted: false,
        }
    }
}

/// How many results in a row it takes to change state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Thresholds {
    /// Consecutive failures before DOWN.
    pub down_after: u32,
    /// Consecutive successes before UP again.
    pub up_after: u32,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            down_after: 3,
            up_after: 2,
        }
    }
}

/// A monitor's running state: what it is, and the streak that may change it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MonitorState {
    pub status: MonitorStatus,
    pub since: DateTime<Utc>,
    pub failures_in_a_row: u32,
    pub successes_in_a_row: u32,
    pub degraded_in_a_row: u32,
}

/// A change of state, with the result that caused it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Transition {
    pub from: MonitorStatus,
    pub to: MonitorStatus,
    pub at: DateTime<Utc>,
    pub cause: String,
}

impl MonitorState {
    pub fn new(now: DateTime<Utc>) -> Self {
        MonitorState {
            status: MonitorStatus::Unknown,
            since: now,
            failures_in_a_row: 0,
            successes_in_a_row: 0,
            degraded_in_a_row: 0,
        }
    }

    /// Folds one result in. Returns the transition when the state changes.
    ///
    /// A first verdict needs no streak when it is good (a healthy service shows green at once) but
    /// a bad one still needs `down_after` in a row: one lost packet at start-up is no outage.
    pub fn apply(&mut self, r: &CheckResult, t: Thresholds) -> Option<Transition> {
        if self.status == MonitorStatus::Paused {
            return None;
        }
        // Each counter is a streak of one kind of result; any other result breaks it.
        self.failures_in_a_row = if r.outcome == Outcome::Failed {
            self.failures_in_a_row + 1
        } else {
            0
        };
        self.degraded_in_a_row = if r.outcome == Outcome::Degraded {
            self.degraded_in_a_row + 1
        } else {
            0
        };
        self.successes_in_a_row = if r.outcome == Outcome::Ok {
            self.successes_in_a_row + 1
        } else {
            0
        };
        let (down_after, up_after) = (t.down_after.max(1), t.up_after.max(1));
        let next = if self.failures_in_a_row >= down_after {
            MonitorStatus::Down
        } else {
            match self.status {
                MonitorStatus::Down if self.successes_in_a_row >= up_after => MonitorStatus::Up,
                // Answering again, but slowly.
                MonitorStatus::Down if self.degraded_in_a_row >= up_after => {
                    MonitorStatus::Degraded
                }
                MonitorStatus::Down => MonitorStatus::Down,
                MonitorStatus::Unknown if self.failures_in_a_row > 0 => MonitorStatus::Unknown,
                MonitorStatus::Degraded if self.successes_in_a_row >= up_after => MonitorStatus::Up,
                MonitorStatus::Degraded => MonitorStatus::Degraded,
                _ if self.degraded_in_a_row >= down_after => MonitorStatus::Degraded,
                _ => MonitorStatus::Up,
            }
        };
        self.change_to(next, r.at, cause_of(r))
    }

    pub fn pause(&mut self, now: DateTime<Utc>) -> Option<Transition> {
        self.failures_in_a_row = 0;
        self.successes_in_a_row = 0;
        self.degraded_in_a_row = 0;
        self.change_to(MonitorStatus::Paused, now, "paused".into())
    }

    pub fn resume(&mut self, now: DateTime<Utc>) -> Option<Transition> {
        if self.status != MonitorStatus::Paused {
            return None;
        }
        self.change_to(MonitorStatus::Unknown, now, "resumed".into())
    }

    /// Sets the status a combination of regions decided (see [`combine`]).
    pub fn conclude(
        &mut self,
        next: MonitorStatus,
        at: DateTime<Utc>,
        cause: String,
    ) -> Option<Transition> {
        if self.status == MonitorStatus::Paused {
            return None;
        }
        self.change_to(next, at, cause)
    }

    fn change_to(
        &mut self,
        next: MonitorStatus,
        at: DateTime<Utc>,
        cause: String,
    ) -> Option<Transition> {
        if next == self.status {
            return None;
        }
        let t = Transition {
            from: self.status,
            to: next,
            at,
            cause,
        };
        self.status = next;
        self.since = at;
        Some(t)
    }
}

fn cause_of(r: &CheckResult) -> String {
    match &r.error {
        Some((class, msg)) => format!("{}: {msg}", class.as_str()),
        None => format!("ok in {} ms", r.latency.as_millis()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t0() -> DateTime<Utc> {
        DateTime::from_timestamp(1_612_017_000, 0).unwrap()
    }

    fn run(state: &mut MonitorState, outcomes: &str) -> Vec<MonitorStatus> {
        let t = Thresholds {
            down_after: 3,
            up_after: 2,
        };
        outcomes
            .chars()
            .enumerate()
            .map(|(i, c)| {
                let at = t0() + chrono::Duration::seconds(i as i64 * 30);
                let r = match c {
                    '+' => CheckResult::ok(at, Duration::from_millis(20)),
                    '~' => CheckResult::degraded(
                        at,
                        Duration::from_millis(900),
                        ErrorClass::Slow,
                        "slow",
                    ),
                    _ => CheckResult::failed(
                        at,
                        Duration::from_millis(3000),
                        ErrorClass::Timeout,
                        "no answer",
                    ),
                };
                state.apply(&r, t);
                state.status
            })
            .collect()
    }

    use MonitorStatus::*;

    #[test]
    fn a_healthy_first_check_is_up_at_once() {
        let mut s = MonitorState::new(t0());
        assert_eq!(run(&mut s, "+"), vec![Up]);
    }

    #[test]
    fn down_needs_n_failures_in_a_row_and_up_needs_m_successes() {
        let mut s = MonitorState::new(t0());
        assert_eq!(
            run(&mut s, "+--+---++"),
            vec![Up, Up, Up, Up, Up, Up, Down, Down, Up]
        );
    }

    #[test]
    fn flapping_checks_do_not_flap_the_state() {
        let mut s = MonitorState::new(t0());
        let states = run(&mut s, "+-+-+-+-+-");
        assert!(states.iter().all(|s| *s == Up), "{states:?}");
        let mut s = MonitorState::new(t0());
        let states = run(&mut s, "---+-+-+-+");
        assert!(
            states[2..].iter().all(|s| *s == Down),
            "one success between failures does not recover: {states:?}"
        );
    }

    #[test]
    fn failures_at_start_stay_unknown_until_the_threshold() {
        let mut s = MonitorState::new(t0());
        assert_eq!(run(&mut s, "---"), vec![Unknown, Unknown, Down]);
    }

    #[test]
    fn slowness_degrades_after_the_same_streak() {
        let mut s = MonitorState::new(t0());
        assert_eq!(
            run(&mut s, "+~~~+++"),
            vec![Up, Up, Up, Degraded, Degraded, Up, Up]
        );
    }

    #[test]
    fn transitions_carry_their_cause_and_time() {
        let mut s = MonitorState::new(t0());
        let th = Thresholds::default();
        let at = t0();
        assert!(s
            .apply(&CheckResult::ok(at, Duration::from_millis(5)), th)
            .is_some());
        for i in 1..=2 {
            let r = CheckResult::failed(
                at + chrono::Duration::seconds(i),
                Duration::ZERO,
                ErrorClass::Connect,
                "refused",
            );
            assert!(s.apply(&r, th).is_none());
        }
        let r = CheckResult::failed(
            at + chrono::Duration::seconds(3),
            Duration::ZERO,
            ErrorClass::Connect,
            "refused",
        );
        let tr = s.apply(&r, th).expect("third failure");
        assert_eq!((tr.from, tr.to), (Up, Down));
        assert_eq!(tr.cause, "connect: refused");
        assert_eq!(s.since, at + chrono::Duration::seconds(3));
    }

    #[test]
    fn a_down_target_answering_slowly_is_degraded_not_down_nor_up() {
        let mut s = MonitorState::new(t0());
        assert_eq!(
            run(&mut s, "---~~"),
            vec![Unknown, Unknown, Down, Down, Degraded]
        );
        assert_eq!(run(&mut s, "++"), vec![Degraded, Up]);
    }

    #[test]
    fn a_verdict_from_the_regions_changes_the_state_unless_paused() {
        let mut s = MonitorState::new(t0());
        let tr = s
            .conclude(Down, t0(), "down from 2 of 3 regions".into())
            .expect("a change");
        assert_eq!((tr.from, tr.to), (Unknown, Down));
        assert_eq!(s.status, Down);
        assert!(
            s.conclude(Down, t0(), "again".into()).is_none(),
            "no change"
        );
        s.pause(t0());
        assert!(s.conclude(Up, t0(), "up".into()).is_none());
        assert_eq!(s.status, Paused);
    }

    #[test]
    fn paused_monitors_ignore_results_until_resumed() {
        let mut s = MonitorState::new(t0());
        run(&mut s, "+");
        s.pause(t0());
        assert_eq!(run(&mut s, "----"), vec![Paused; 4]);
        assert!(s.resume(t0()).is_some());
        assert_eq!(run(&mut s, "+"), vec![Up]);
    }
}

/// An admin's request to pause or resume a monitor, sent to the running probes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PauseRequest {
    pub monitor_id: i64,
    pub paused: bool,
}

/// A monitor as configured and validated: what to check, how often, for which component.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MonitorSpec {
    pub name: String,
    pub component: String,
    pub interval: Duration,
    pub timeout: Duration,
    pub check: Check,
    /// Where it is checked from: `local` (this server) and probe agents' regions.
    #[serde(default = "local_only")]
    pub regions: Vec<String>,
    /// How many regions must see it down for it to be down.
    #[serde(default = "one")]
    pub quorum: u32,
    /// The load-balancer ports its traffic goes through (the chain of causes' map).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub via: Vec<super::causes::Via>,
}

/// This server's own region name.
pub const LOCAL: &str = "local";

/// Whether `s` can name a region: letters, digits, `-` and `_`, up to 40. One rule for the
/// configuration's `regions` and for what agents say they are.
pub fn is_region_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 40
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

fn local_only() -> Vec<String> {
    vec![LOCAL.to_string()]
}

fn one() -> u32 {
    1
}

impl MonitorSpec {
    /// Checked from more than this server alone: verdicts are per region, combined by quorum.
    pub fn is_regional(&self) -> bool {
        self.regions.len() > 1 || self.regions.iter().any(|r| r != LOCAL)
    }

    pub fn runs_in(&self, region: &str) -> bool {
        self.regions.iter().any(|r| r == region)
    }
}

/// What regions see of one monitor, combined: down when at least `quorum` regions with a current
/// verdict see it down; otherwise up when any sees it up. Regions without a current verdict (an
/// agent that stopped reporting) count for nothing — never for up.
/// Whether a failed check from one region is outvoted: fewer than `quorum` regions' latest
/// checks (`failing_now`, this one included) are failing.
pub fn outvoted(outcome: Outcome, failing_now: usize, quorum: u32) -> bool {
    outcome == Outcome::Failed && (failing_now as u32) < quorum.max(1)
}

pub fn combine(
    regions: &[String],
    quorum: u32,
    seen: &std::collections::BTreeMap<String, MonitorStatus>,
) -> (MonitorStatus, String) {
    let with = |s: MonitorStatus| -> Vec<&str> {
        regions
            .iter()
            .filter(|r| seen.get(*r) == Some(&s))
            .map(String::as_str)
            .collect()
    };
    let down = with(MonitorStatus::Down);
    let total = regions.len();
    let names = |v: &[&str]| v.join(", ");
    if down.len() as u32 >= quorum.max(1) {
        return (
            MonitorStatus::Down,
            format!(
                "down from {} of {total} regions ({})",
                down.len(),
                names(&down)
            ),
        );
    }
    let up = with(MonitorStatus::Up);
    let degraded = with(MonitorStatus::Degraded);
    let note = if down.is_empty() {
        String::new()
    } else {
        format!(
            "; down from {} of {total} ({}), below the quorum of {quorum}",
            down.len(),
            names(&down)
        )
    };
    if !up.is_empty() {
        (
            MonitorStatus::Up,
            format!("up from {} of {total} regions{note}", up.len()),
        )
    } else if !degraded.is_empty() {
        (
            MonitorStatus::Degraded,
            format!(
                "degraded from {} of {total} regions ({}){note}",
                degraded.len(),
                names(&degraded)
            ),
        )
    } else {
        (
            MonitorStatus::Unknown,
            format!("no current verdict from any region{note}"),
        )
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Check {
    Http(HttpCheck),
    Tcp {
        host: String,
        port: u16,
    },
    Dns {
        name: String,
        record_type: String,
        /// A value one of the answers must contain (an address, a host name).
        expect: Option<String>,
        /// `ip:port` of the resolver to ask; the system's when absent.
        resolver: Option<std::net::SocketAddr>,
    },
    /// The watched job calls `/heartbeat/{secret}`; down when no call arrives within `window`.
    Heartbeat {
        secret: String,
        window: Duration,
    },
    /// Prometheus answers `/-/healthy`, and every series of `up_query` is 1.
    Prometheus {
        base_url: String,
        up_query: Option<String>,
    },
}

impl Check {
    pub fn kind(&self) -> &'static str {
        match self {
            Check::Http(_) => "http",
            Check::Tcp { .. } => "tcp",
            Check::Dns { .. } => "dns",
            Check::Heartbeat { .. } => "heartbeat",
            Check::Prometheus { .. } => "prometheus",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HttpCheck {
    pub url: String,
    pub method: String,
    pub headers: Vec<(String, String)>,
    /// Accepted status codes; empty means 200–299.
    pub expect_status: Vec<u16>,
    pub body_contains: Option<String>,
    pub body_not_contains: Option<String>,
    pub body_regex: Option<String>,
    /// Slower answers count as degraded.
    pub max_response: Option<Duration>,
    pub follow_redirects: bool,
    /// The certificate must stay valid at least this many more days (else degraded).
    pub cert_min_days: Option<u32>,
}

impl HttpCheck {
    /// A plain GET of `url` expecting a 2xx, following redirects: what a monitor with only a URL
    /// configured checks.
    pub fn get(url: impl Into<String>) -> HttpCheck {
        HttpCheck {
            url: url.into(),
            method: "GET".into(),
            headers: vec![],
            expect_status: vec![],
            body_contains: None,
            body_not_contains: None,
            body_regex: None,
            max_response: None,
            follow_redirects: true,
            cert_min_days: None,
        }
    }

    pub fn status_accepted(&self, code: u16) -> bool {
        if self.expect_status.is_empty() {
            (200..300).contains(&code)
        } else {
            self.expect_status.contains(&code)
        }
    }
}

#[cfg(test)]
mod quorum_tests {
    use std::collections::BTreeMap;

    use super::{combine, outvoted, MonitorStatus, Outcome};

    fn regions() -> Vec<String> {
        ["local", "eu-west", "us-east"].map(String::from).to_vec()
    }

    fn seen(v: &[(&str, MonitorStatus)]) -> BTreeMap<String, MonitorStatus> {
        v.iter().map(|(r, s)| (r.to_string(), *s)).collect()
    }

    #[test]
    fn one_region_of_three_is_not_a_quorum_of_two() {
        use MonitorStatus::*;
        let (status, cause) = combine(
            &regions(),
            2,
            &seen(&[("local", Up), ("eu-west", Down), ("us-east", Up)]),
        );
        assert_eq!(status, Up);
        assert!(cause.contains("below the quorum of 2"), "{cause}");
    }

    #[test]
    fn two_regions_of_three_are() {
        use MonitorStatus::*;
        let (status, cause) = combine(
            &regions(),
            2,
            &seen(&[("local", Up), ("eu-west", Down), ("us-east", Down)]),
        );
        assert_eq!(status, Down);
        assert_eq!(cause, "down from 2 of 3 regions (eu-west, us-east)");
    }

    #[test]
    fn regions_without_a_current_verdict_count_for_nothing_not_for_up() {
        use MonitorStatus::*;
        // Both agents silent: only this server's verdict is left.
        let (status, _) = combine(&regions(), 2, &seen(&[("local", Down)]));
        assert_eq!(
            status, Unknown,
            "one down is below the quorum, and nobody sees it up"
        );
        let (status, _) = combine(&regions(), 2, &seen(&[]));
        assert_eq!(status, Unknown);
        let (status, _) = combine(&regions(), 1, &seen(&[("us-east", Degraded)]));
        assert_eq!(status, Degraded);
    }

    fn spec(regions: Option<&[&str]>) -> super::MonitorSpec {
        let mut v = serde_json::json!({
            "name": "site-home", "component": "site",
            "interval": { "secs": 30, "nanos": 0 }, "timeout": { "secs": 5, "nanos": 0 },
            "check": { "kind": "tcp", "host": "db.internal", "port": 5432 },
        });
        if let Some(r) = regions {
            v["regions"] = serde_json::json!(r);
            v["quorum"] = serde_json::json!(2);
        }
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn a_monitor_runs_here_alone_unless_it_names_regions() {
        let here = spec(None);
        assert_eq!(here.regions, ["local"]);
        assert_eq!(here.quorum, 1);
        assert!(!here.is_regional());
        assert!(here.runs_in("local") && !here.runs_in("eu-west"));
        assert_eq!(here.check.kind(), "tcp");
        let elsewhere = spec(Some(&["eu-west"]));
        assert!(elsewhere.is_regional(), "one region, not this server");
        assert!(!elsewhere.runs_in("local") && elsewhere.runs_in("eu-west"));
        assert!(spec(Some(&["local", "eu-west"])).is_regional());
        assert!(!spec(Some(&["local"])).is_regional());
        assert!(!spec(Some(&[])).is_regional(), "nowhere is not elsewhere");
    }

    #[test]
    fn region_names_are_short_words() {
        use super::is_region_name;
        for ok in ["local", "eu-west", "us_east_1", &"a".repeat(40)] {
            assert!(is_region_name(ok), "{ok}");
        }
        for bad in ["", "eu west", "eu/west", "région", &"a".repeat(41)] {
            assert!(!is_region_name(bad), "{bad}");
        }
    }

    #[test]
    fn accepted_statuses_are_2xx_unless_listed() {
        let mut check = super::HttpCheck::get("https://example.org/");
        assert!(check.status_accepted(200) && check.status_accepted(299));
        assert!(!check.status_accepted(199) && !check.status_accepted(300));
        check.expect_status = vec![401];
        assert!(check.status_accepted(401) && !check.status_accepted(200));
        assert_eq!(super::Check::Http(check).kind(), "http");
    }

    #[test]
    fn statuses_read_and_print_as_stored() {
        use MonitorStatus::*;
        for s in [Unknown, Up, Degraded, Down, Paused] {
            assert_eq!(MonitorStatus::parse(s.as_str()), s);
        }
        assert_eq!(Degraded.as_str(), "degraded");
        assert_eq!(MonitorStatus::parse("sideways"), Unknown);
    }

    #[test]
    fn a_quorum_of_zero_still_needs_one_region_down() {
        use MonitorStatus::*;
        // Zero would make every monitor down with nobody seeing it so.
        let (status, cause) = combine(&regions(), 0, &seen(&[("local", Up), ("eu-west", Up)]));
        assert_eq!(status, Up, "{cause}");
        assert_eq!(cause, "up from 2 of 3 regions");
        let (status, _) = combine(&regions(), 0, &seen(&[("local", Up), ("eu-west", Down)]));
        assert_eq!(status, Down);
    }

    #[test]
    fn a_regional_failure_counts_only_with_its_quorum() {
        assert!(
            outvoted(Outcome::Failed, 1, 2),
            "one region of a quorum of two"
        );
        assert!(!outvoted(Outcome::Failed, 2, 2));
        assert!(!outvoted(Outcome::Failed, 1, 1));
        assert!(!outvoted(Outcome::Failed, 1, 0), "a quorum of 0 means 1");
        assert!(!outvoted(Outcome::Ok, 0, 2), "only failures are outvoted");
        assert!(!outvoted(Outcome::Degraded, 0, 2));
    }
}
