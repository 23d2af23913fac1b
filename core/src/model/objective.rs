//! Objectives and error budgets: what share of a component's (or one monitor's) checks must
//! succeed over a window, how much of the failure that allows has been spent, how fast it burns,
//! and the multi-window, multi-burn-rate alerts of the Google SRE Workbook (chapter 5).
//!
//! Everything here is arithmetic on counts (good and total checks over a span), so the figures
//! the API, `/ops/slos`, the alerts and the reports show come from one place and are tested
//! with exact numbers.

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc};
use serde::{Deserialize, Serialize};

/// A length written the way people write one: `5m`, `1h`, `6h`, `3d`, `30d` (also `s`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Span {
    secs: i64,
}

impl Span {
    pub const fn minutes(m: i64) -> Span {
        Span { secs: m * 60 }
    }

    pub const fn hours(h: i64) -> Span {
        Span { secs: h * 3600 }
    }

    pub const fn days(d: i64) -> Span {
        Span { secs: d * 86400 }
    }

    pub fn secs(self) -> i64 {
        self.secs
    }

    pub fn duration(self) -> Duration {
        Duration::seconds(self.secs)
    }

    pub fn parse(s: &str) -> Result<Span, String> {
        let t = s.trim();
        let (number, unit) = t.split_at(t.len().saturating_sub(1));
        let per = match unit {
            "s" => 1,
            "m" => 60,
            "h" => 3600,
            "d" => 86400,
            _ => {
                return Err(format!(
                    "`{s}` is not a length: write a number and s, m, h or d, e.g. 5m, 1h, 30d"
                ))
            }
        };
        match number.parse::<i64>() {
            Ok(n) if n > 0 => Ok(Span { secs: n * per }),
            _ => Err(format!(
                "`{s}` is not a length: write a whole number above 0 and s, m, h or d, e.g. 5m"
            )),
        }
    }
}

impl std::fmt::Display for Span {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = self.secs;
        if s % 86400 == 0 {
            write!(f, "{}d", s / 86400)
        } else if s % 3600 == 0 {
            write!(f, "{}h", s / 3600)
        } else if s % 60 == 0 {
            write!(f, "{}m", s / 60)
        } else {
            write!(f, "{s}s")
        }
    }
}

impl Serialize for Span {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Span {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Span, D::Error> {
        let s = String::deserialize(d)?;
        Span::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// The period an objective is judged over.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Window {
    /// The last N days, ending now.
    Rolling(Span),
    /// The calendar month (UTC) now is in.
    CalendarMonth,
}

impl Window {
    pub fn parse(s: &str) -> Result<Window, String> {
        if s == "month" {
            return Ok(Window::CalendarMonth);
        }
        match Span::parse(s) {
            Ok(span) if span.secs % 86400 == 0 && span.secs <= 400 * 86400 => {
                Ok(Window::Rolling(span))
            }
            _ => Err(format!(
                "`{s}` is not a window: write whole days (7d, 28d, 30d, up to 400d) or `month`"
            )),
        }
    }

    /// Where the window starts and where it ends, seen at `now`. A rolling window ends now; a
    /// calendar month ends at the next month's first midnight.
    pub fn bounds(self, now: DateTime<Utc>) -> (DateTime<Utc>, DateTime<Utc>) {
        match self {
            Window::Rolling(span) => (now - span.duration(), now),
            Window::CalendarMonth => {
                let first = NaiveDate::from_ymd_opt(now.year(), now.month(), 1).expect("day 1");
                let next = first + chrono::Months::new(1);
                let at = |d: NaiveDate| Utc.from_utc_datetime(&d.and_hms_opt(0, 0, 0).expect("0h"));
                (at(first), at(next))
            }
        }
    }

    /// How long the window is: what a burn rate of 1 takes to spend the whole budget.
    pub fn length(self, now: DateTime<Utc>) -> Duration {
        let (start, end) = self.bounds(now);
        end - start
    }
}

impl std::fmt::Display for Window {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Window::Rolling(span) => write!(f, "{span}"),
            Window::CalendarMonth => f.write_str("month"),
        }
    }
}

impl Serialize for Window {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Window {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Window, D::Error> {
        let s = String::deserialize(d)?;
        Window::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// What share must be good, as a fraction: 0.999 for 99.9 %.
#[derive(Clone, Copy, Debug, PartialEq, PartialOrd)]
pub struct Target(f64);

impl Target {
    /// From a percentage strictly between 0 and 100.
    pub fn from_percent(p: f64) -> Result<Target, String> {
        if p.is_finite() && p > 0.0 && p < 100.0 {
            Ok(Target(p / 100.0))
        } else {
            Err(format!(
                "{p} is not a target: give a percentage above 0 and below 100, e.g. 99.9"
            ))
        }
    }

    pub fn fraction(self) -> f64 {
        self.0
    }

    pub fn percent(self) -> f64 {
        self.0 * 100.0
    }

    /// The share allowed to be bad: the error budget as a fraction of all events.
    pub fn budget(self) -> f64 {
        1.0 - self.0
    }
}

/// Good and total events over a span (for check-based SLIs, checks).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    pub good: i64,
    pub total: i64,
}

impl Counts {
    pub fn bad(self) -> i64 {
        self.total - self.good
    }

    /// The SLI: the good share, none without events.
    pub fn ratio(self) -> Option<f64> {
        (self.total > 0).then(|| self.good as f64 / self.total as f64)
    }
}

impl std::ops::Add for Counts {
    type Output = Counts;
    fn add(self, o: Counts) -> Counts {
        Counts {
            good: self.good + o.good,
            total: self.total + o.total,
        }
    }
}

impl std::iter::Sum for Counts {
    fn sum<I: Iterator<Item = Counts>>(iter: I) -> Counts {
        iter.fold(Counts::default(), |a, b| a + b)
    }
}

/// How fast the budget burns over a span: the bad share divided by the share allowed. 1 spends
/// exactly the budget in one window; 14.4 spends 2 % of a 30-day budget in one hour. None
/// without events (nothing was measured, so nothing burned or not).
pub fn burn_rate(c: Counts, target: Target) -> Option<f64> {
    let bad_share = 1.0 - c.ratio()?;
    Some(bad_share / target.budget())
}

/// The error budget of a window so far.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Budget {
    /// Bad events the target allows among those counted so far.
    pub allowed_bad: f64,
    /// Bad events so far.
    pub bad: i64,
    /// The share of the budget spent (above 1 once it is exceeded).
    pub spent: f64,
    /// 1 − spent: below 0 once it is exceeded.
    pub remaining: f64,
    /// The remaining budget as time at the window's length: how long the service could be
    /// entirely down from now and still meet the objective.
    pub remaining_minutes: f64,
}

impl Budget {
    pub fn of(c: Counts, target: Target, window: Duration) -> Budget {
        let allowed_bad = c.total as f64 * target.budget();
        let spent = if c.bad() == 0 {
            0.0
        } else if allowed_bad > 0.0 {
            c.bad() as f64 / allowed_bad
        } else {
            f64::INFINITY
        };
        let remaining = 1.0 - spent;
        let window_minutes = window.num_seconds() as f64 / 60.0;
        Budget {
            allowed_bad,
            bad: c.bad(),
            spent,
            remaining,
            remaining_minutes: remaining * target.budget() * window_minutes,
        }
    }

    /// How long until the budget is gone if it keeps burning at `rate`: never at rate 0, now
    /// when it is gone already.
    pub fn time_left(&self, rate: f64, window: Duration) -> Option<Duration> {
        if self.remaining <= 0.0 {
            return Some(Duration::zero());
        }
        if rate <= 0.0 || !rate.is_finite() {
            return None;
        }
        let secs = self.remaining * window.num_seconds() as f64 / rate;
        Some(Duration::seconds(secs.round() as i64))
    }
}

/// How loud an alert is: wake someone, or leave a ticket for working hours.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Page,
    Ticket,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Page => "page",
            Severity::Ticket => "ticket",
        }
    }
}

/// A multi-window burn-rate rule: it fires when the budget burns at `burn_rate` or faster over
/// both `long` and `short` (the short window makes it clear soon after the burning stops).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BurnRule {
    pub long: Span,
    pub short: Span,
    pub burn_rate: f64,
    pub severity: Severity,
    /// Whether firing opens an incident on the objective's component (or notes the budget on
    /// the one already open there).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub incident: bool,
}

impl BurnRule {
    /// How the rule is named in events and the API: `14.4x-1h-5m`.
    pub fn id(&self) -> String {
        format!("{}x-{}-{}", self.burn_rate, self.long, self.short)
    }

    /// The SRE Workbook's three rules for a 30-day window: 2 % of the budget in an hour or 5 %
    /// in six hours pages; 10 % in three days leaves a ticket.
    pub fn defaults() -> Vec<BurnRule> {
        vec![
            BurnRule {
                long: Span::hours(1),
                short: Span::minutes(5),
                burn_rate: 14.4,
                severity: Severity::Page,
                incident: false,
            },
            BurnRule {
                long: Span::hours(6),
                short: Span::minutes(30),
                burn_rate: 6.0,
                severity: Severity::Page,
                incident: false,
            },
            BurnRule {
                long: Span::days(3),
                short: Span::hours(6),
                burn_rate: 1.0,
                severity: Severity::Ticket,
                incident: false,
            },
        ]
    }

    /// What the rule does, given whether it fires now and the burn rates over its two
    /// windows. It fires when both reach its rate, and clears when both are below it: with
    /// one above and one below it stays as it is.
    pub fn judge(&self, firing: bool, long: Option<f64>, short: Option<f64>) -> AlertMove {
        let at_or_above = |r: Option<f64>| r.is_some_and(|r| r >= self.burn_rate);
        let (l, s) = (at_or_above(long), at_or_above(short));
        match (firing, l && s, !l && !s) {
            (false, true, _) => AlertMove::Fire,
            (true, _, true) => AlertMove::Clear,
            _ => AlertMove::Stay,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AlertMove {
    Fire,
    Clear,
    Stay,
}

/// What an objective measures, as people write it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SliKind {
    /// Good checks over all checks (degraded counts as good: it answered).
    Availability,
    /// Checks that answered within `threshold_ms` over all checks (a failed check is slow).
    Latency,
    /// A good-events counter over a total-events counter, read from a `[[prometheus]]` source.
    Prometheus,
}

impl SliKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SliKind::Availability => "availability",
            SliKind::Latency => "latency",
            SliKind::Prometheus => "prometheus",
        }
    }
}

/// The latencies check rollups count answers under (milliseconds), as a histogram's bucket
/// bounds: a latency objective's threshold is one of them, so any window's count is exact.
pub const LATENCY_BOUNDS_MS: [u32; 14] = [
    25, 50, 100, 200, 250, 300, 500, 750, 1000, 1500, 2000, 3000, 5000, 10000,
];

/// What an objective measures, checked.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Sli {
    Availability,
    /// `slot`: the index of `threshold_ms` in [`LATENCY_BOUNDS_MS`].
    Latency {
        threshold_ms: u32,
        slot: usize,
    },
    /// `good` and `total` select counters; Vigil asks for `sum(increase(<selector>[<span>]))`.
    Prometheus {
        source: String,
        good: String,
        total: String,
    },
}

impl Sli {
    pub fn kind(&self) -> SliKind {
        match self {
            Sli::Availability => SliKind::Availability,
            Sli::Latency { .. } => SliKind::Latency,
            Sli::Prometheus { .. } => SliKind::Prometheus,
        }
    }

    /// Whether it is counted from Vigil's own checks (else from a Prometheus).
    pub fn from_checks(&self) -> bool {
        !matches!(self, Sli::Prometheus { .. })
    }
}

/// Whether maintenance counts: left out (the default, as on the uptime page), or counted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Maintenance {
    #[default]
    Excluded,
    Included,
}

/// An objective as people write it (`[[objective]]`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ObjectiveSpec {
    /// Its id in URLs and events, e.g. `website-availability`.
    pub id: String,
    /// Its name on `/ops/slos`, e.g. "Website availability".
    pub name: String,
    /// The component whose checks count (every monitor of it)...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub component: Option<String>,
    /// ...or one monitor's, by name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub monitor: Option<String>,
    #[serde(default = "availability")]
    pub sli: SliKind,
    /// Latency SLI: the answer time a check must meet, one of [`LATENCY_BOUNDS_MS`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threshold_ms: Option<u32>,
    /// Prometheus SLI: the `[[prometheus]]` source's name, and the counters of good and of all
    /// events (selectors, e.g. `http_requests_total{job="web",code!~"5.."}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prometheus: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub good: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total: Option<String>,
    /// A percentage, e.g. 99.9.
    pub target: f64,
    /// `7d`, `28d`, `30d` (rolling) or `month` (calendar month, UTC).
    #[serde(default = "thirty_days")]
    pub window: Window,
    #[serde(default)]
    pub maintenance: Maintenance,
    /// Whether the public status page shows it (its last twelve months, met or missed).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub public: bool,
    /// Burn-rate alerts; the SRE Workbook's three when left out, none when empty.
    #[serde(default, rename = "alert", skip_serializing_if = "Option::is_none")]
    pub alerts: Option<Vec<BurnRule>>,
}

fn availability() -> SliKind {
    SliKind::Availability
}

fn thirty_days() -> Window {
    Window::Rolling(Span::days(30))
}

/// What an objective counts: one component's monitors, or one monitor.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Scope {
    Component(String),
    Monitor(String),
}

/// An objective, checked.
#[derive(Clone, Debug, PartialEq)]
pub struct Objective {
    pub id: String,
    pub name: String,
    pub scope: Scope,
    pub sli: Sli,
    pub target: Target,
    pub window: Window,
    pub maintenance: Maintenance,
    pub public: bool,
    pub alerts: Vec<BurnRule>,
}

/// The longest burn-rate window: counts for alerts come from minute rollups, kept eight days.
pub const LONGEST_ALERT_WINDOW: Span = Span::days(7);

impl ObjectiveSpec {
    /// What it counts, when it names exactly one of a component or a monitor.
    pub fn scope(&self) -> Option<Scope> {
        match (&self.component, &self.monitor) {
            (Some(c), None) => Some(Scope::Component(c.clone())),
            (None, Some(m)) => Some(Scope::Monitor(m.clone())),
            _ => None,
        }
    }

    /// Checks the spec; every problem at once, each as (field, what to fix).
    pub fn check(&self) -> Result<Objective, Vec<(String, String)>> {
        let mut problems = Vec::new();
        let id_ok = !self.id.is_empty()
            && self.id.len() <= 64
            && self
                .id
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if !id_ok {
            problems.push((
                "id".into(),
                format!(
                    "`{}` is not an id: use 1 to 64 lowercase letters, digits and dashes",
                    self.id
                ),
            ));
        }
        if self.name.trim().is_empty() {
            problems.push(("name".into(), "give the objective a name".into()));
        }
        let scope = self.scope();
        if scope.is_none() {
            problems.push((
                "component".into(),
                "give exactly one of `component` (its monitors' checks count) or `monitor`".into(),
            ));
        }
        let sli = self.sli_checked(&mut problems);
        let target = Target::from_percent(self.target)
            .map_err(|e| problems.push(("target".into(), e)))
            .ok();
        let alerts = self.alerts.clone().unwrap_or_else(BurnRule::defaults);
        for (i, a) in alerts.iter().enumerate() {
            if !(a.burn_rate.is_finite() && a.burn_rate > 0.0) {
                problems.push((
                    format!("alert[{i}].burn_rate"),
                    format!("{} is not a burn rate: give a number above 0", a.burn_rate),
                ));
            }
            if a.short >= a.long {
                problems.push((
                    format!("alert[{i}].short"),
                    format!(
                        "the short window ({}) must be shorter than the long one ({})",
                        a.short, a.long
                    ),
                ));
            }
            if a.long > LONGEST_ALERT_WINDOW {
                problems.push((
                    format!("alert[{i}].long"),
                    format!(
                        "{} is longer than alerts can look back: at most {LONGEST_ALERT_WINDOW}",
                        a.long
                    ),
                ));
            }
        }
        match (scope, sli, target, problems.is_empty()) {
            (Some(scope), Some(sli), Some(target), true) => Ok(Objective {
                id: self.id.clone(),
                name: self.name.clone(),
                scope,
                // Prometheus knows nothing of Vigil's maintenance: its events all count.
                maintenance: if sli.from_checks() {
                    self.maintenance
                } else {
                    Maintenance::Included
                },
                sli,
                target,
                window: self.window,
                public: self.public,
                alerts,
            }),
            _ => Err(problems),
        }
    }

    /// The SLI and the fields only it takes, each problem pushed.
    fn sli_checked(&self, problems: &mut Vec<(String, String)>) -> Option<Sli> {
        let mut not_for = |field: &str, present: bool| {
            if present {
                problems.push((
                    field.into(),
                    format!(
                        "`{field}` belongs to another SLI than {}: remove it",
                        self.sli.as_str()
                    ),
                ));
            }
        };
        match self.sli {
            SliKind::Availability => {
                not_for("threshold_ms", self.threshold_ms.is_some());
                not_for("prometheus", self.prometheus.is_some());
                not_for("good", self.good.is_some());
                not_for("total", self.total.is_some());
                Some(Sli::Availability)
            }
            SliKind::Latency => {
                not_for("prometheus", self.prometheus.is_some());
                not_for("good", self.good.is_some());
                not_for("total", self.total.is_some());
                let bounds = LATENCY_BOUNDS_MS.map(|b| b.to_string()).join(", ");
                match self.threshold_ms {
                    None => {
                        problems.push((
                            "threshold_ms".into(),
                            format!("a latency objective needs `threshold_ms`, one of {bounds}"),
                        ));
                        None
                    }
                    Some(t) => match LATENCY_BOUNDS_MS.iter().position(|b| *b == t) {
                        Some(slot) => Some(Sli::Latency {
                            threshold_ms: t,
                            slot,
                        }),
                        None => {
                            problems.push((
                                "threshold_ms".into(),
                                format!(
                                    "{t} ms is not a bound checks are counted under: use one of {bounds}"
                                ),
                            ));
                            None
                        }
                    },
                }
            }
            SliKind::Prometheus => {
                not_for("threshold_ms", self.threshold_ms.is_some());
                if self.monitor.is_some() {
                    problems.push((
                        "monitor".into(),
                        "a Prometheus objective belongs to a component: name it with `component`"
                            .into(),
                    ));
                }
                let mut need = |field: &str, v: &Option<String>, example: &str| match v {
                    Some(v) if !v.trim().is_empty() => Some(v.trim().to_string()),
                    _ => {
                        problems.push((
                            field.into(),
                            format!("a Prometheus objective needs `{field}`, e.g. {example}"),
                        ));
                        None
                    }
                };
                let source = need(
                    "prometheus",
                    &self.prometheus,
                    "the name of a [[prometheus]] source",
                );
                let good = need("good", &self.good, r#"`http_requests_total{code!~"5.."}`"#);
                let total = need("total", &self.total, "`http_requests_total`");
                Some(Sli::Prometheus {
                    source: source?,
                    good: good?,
                    total: total?,
                })
            }
        }
    }
}

/// How the window's budget went, day by day: what remained at the end of each day, counted
/// against the budget of the whole window so far (so the last point is the budget now).
pub fn burn_down(days: &[(NaiveDate, Counts)], target: Target) -> Vec<(NaiveDate, f64)> {
    let all: Counts = days.iter().map(|(_, c)| *c).sum();
    let allowed = all.total as f64 * target.budget();
    let mut bad = 0;
    days.iter()
        .map(|(day, c)| {
            bad += c.bad();
            let remaining = if bad == 0 {
                1.0
            } else if allowed > 0.0 {
                1.0 - bad as f64 / allowed
            } else {
                f64::NEG_INFINITY
            };
            (*day, remaining)
        })
        .collect()
}

/// One burn-rate rule of an objective, judged.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RuleView {
    /// `14.4x-1h-5m`.
    pub id: String,
    /// The long window, e.g. `1h`.
    pub long: String,
    /// The short window, e.g. `5m`.
    pub short: String,
    pub burn_rate: f64,
    /// `page` or `ticket`.
    pub severity: String,
    /// The burn rate over each window; none without checks in it.
    pub long_rate: Option<f64>,
    pub short_rate: Option<f64>,
    pub firing: bool,
    /// Since when it fires (or is quiet), once it has been judged.
    pub since: Option<DateTime<Utc>>,
}

/// What remained of the budget at the end of one day of the window.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BurnDownPoint {
    pub day: NaiveDate,
    /// The share of the window's budget left (below 0 once exceeded).
    pub remaining: f64,
}

/// What counts achieved against a target, as every objective's figures and reports state it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Attainment {
    pub good: i64,
    pub total: i64,
    /// The SLI, in percent; none without checks.
    pub achieved: Option<f64>,
    /// Whether it meets the target (true without checks: nothing failed).
    pub met: bool,
    /// Bad checks (or events) the target allows among those counted.
    pub allowed_bad: f64,
    pub bad: i64,
    /// The share of the budget spent (above 1 once exceeded).
    pub spent: f64,
}

impl Attainment {
    pub fn of(c: Counts, budget: &Budget, target: Target) -> Attainment {
        Attainment {
            good: c.good,
            total: c.total,
            achieved: c.ratio().map(|r| r * 100.0),
            met: c.ratio().is_none_or(|r| r >= target.fraction()),
            allowed_bad: budget.allowed_bad,
            bad: budget.bad,
            spent: budget.spent,
        }
    }
}

/// An objective's figures now: what `/ops/slos`, the API and the alerts show.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SloView {
    pub id: String,
    pub name: String,
    /// The component whose monitors' checks count, or the one monitor.
    pub component: Option<String>,
    pub monitor: Option<String>,
    /// `availability`, `latency` or `prometheus`.
    pub sli: String,
    /// A latency SLI's threshold.
    pub threshold_ms: Option<u32>,
    /// Whether the public page shows it.
    pub public: bool,
    /// Why its figures could not be read (a Prometheus that did not answer); they read as
    /// empty then, never as met.
    pub error: Option<String>,
    /// The target, in percent.
    pub target: f64,
    /// `30d` or `month`.
    pub window: String,
    pub window_start: DateTime<Utc>,
    pub window_end: DateTime<Utc>,
    /// Whether maintenance is left out of the counts (said beside every figure).
    pub maintenance_excluded: bool,
    /// Over the window so far.
    #[serde(flatten)]
    pub attained: Attainment,
    /// The share of the budget left (below 0 once exceeded).
    pub remaining: f64,
    /// The budget left as time at the window's length.
    pub remaining_minutes: f64,
    /// The burn rate over the last hour.
    pub burn_rate_now: Option<f64>,
    /// The burn rate over the window so far (1: spending exactly the budget).
    pub burn_rate_window: Option<f64>,
    /// Seconds until the budget is gone at the last hour's rate; none when it is not burning.
    pub exhausted_in_secs: Option<i64>,
    pub alerts: Vec<RuleView>,
    /// The budget left at the end of each day of the window so far.
    pub burn_down: Vec<BurnDownPoint>,
}

impl Objective {
    /// Its figures at `now`, from counts: each day of the window so far, the counts over a span
    /// back from now (for burn rates), and each rule's stored state (firing, since).
    pub fn view(
        &self,
        now: DateTime<Utc>,
        days: &[(NaiveDate, Counts)],
        span: impl Fn(Span) -> Counts,
        state: impl Fn(&str) -> Option<(bool, DateTime<Utc>)>,
    ) -> SloView {
        let (start, end) = self.window.bounds(now);
        let c: Counts = days.iter().map(|(_, c)| *c).sum();
        let length = self.window.length(now);
        let budget = Budget::of(c, self.target, length);
        let rate = |s: Span| burn_rate(span(s), self.target);
        let burn_now = rate(NOW_SPAN);
        let (component, monitor) = match &self.scope {
            Scope::Component(c) => (Some(c.clone()), None),
            Scope::Monitor(m) => (None, Some(m.clone())),
        };
        SloView {
            id: self.id.clone(),
            name: self.name.clone(),
            component,
            monitor,
            sli: self.sli.kind().as_str().into(),
            threshold_ms: match self.sli {
                Sli::Latency { threshold_ms, .. } => Some(threshold_ms),
                _ => None,
            },
            public: self.public,
            error: None,
            target: self.target.percent(),
            window: self.window.to_string(),
            window_start: start,
            window_end: end,
            maintenance_excluded: self.maintenance == Maintenance::Excluded,
            attained: Attainment::of(c, &budget, self.target),
            remaining: budget.remaining,
            remaining_minutes: budget.remaining_minutes,
            burn_rate_now: burn_now,
            burn_rate_window: burn_rate(c, self.target),
            exhausted_in_secs: burn_now
                .and_then(|r| budget.time_left(r, length))
                .map(|d| d.num_seconds()),
            alerts: self
                .alerts
                .iter()
                .map(|r| {
                    let id = r.id();
                    let state = state(&id);
                    RuleView {
                        long: r.long.to_string(),
                        short: r.short.to_string(),
                        burn_rate: r.burn_rate,
                        severity: r.severity.as_str().into(),
                        long_rate: rate(r.long),
                        short_rate: rate(r.short),
                        firing: state.is_some_and(|(f, _)| f),
                        since: state.map(|(_, s)| s),
                        id,
                    }
                })
                .collect(),
            burn_down: burn_down(days, self.target)
                .into_iter()
                .map(|(day, remaining)| BurnDownPoint { day, remaining })
                .collect(),
        }
    }

    /// Its figures when they cannot be read: nothing counted, the reason said, not met.
    pub fn unreadable(&self, now: DateTime<Utc>, error: String) -> SloView {
        let mut v = self.view(now, &[], |_| Counts::default(), |_| None);
        v.error = Some(error);
        v.attained.met = false;
        v
    }

    /// The spans its figures need counts over: now, and each rule's two windows.
    pub fn spans(&self) -> Vec<Span> {
        let mut spans = vec![NOW_SPAN];
        for r in &self.alerts {
            for s in [r.long, r.short] {
                if !spans.contains(&s) {
                    spans.push(s);
                }
            }
        }
        spans
    }
}

/// The span "burning now" is judged over.
pub const NOW_SPAN: Span = Span::hours(1);

/// A calendar month (UTC), as reports name one: `2026-11`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Month(NaiveDate);

impl Month {
    pub fn of(at: DateTime<Utc>) -> Month {
        Month(NaiveDate::from_ymd_opt(at.year(), at.month(), 1).expect("day 1"))
    }

    pub fn parse(s: &str) -> Result<Month, String> {
        let bad = || format!("`{s}` is not a month: write it as YYYY-MM, e.g. 2026-11");
        let (y, m) = s.trim().split_once('-').ok_or_else(bad)?;
        let (y, m) = (
            y.parse::<i32>().map_err(|_| bad())?,
            m.parse::<u32>().map_err(|_| bad())?,
        );
        NaiveDate::from_ymd_opt(y, m, 1)
            .filter(|_| (1970..=9999).contains(&y))
            .map(Month)
            .ok_or_else(bad)
    }

    /// Its first midnight, and the next month's.
    pub fn bounds(self) -> (DateTime<Utc>, DateTime<Utc>) {
        let at = |d: NaiveDate| Utc.from_utc_datetime(&d.and_hms_opt(0, 0, 0).expect("0h"));
        (at(self.0), at(self.0 + chrono::Months::new(1)))
    }

    pub fn previous(self) -> Month {
        Month(self.0 - chrono::Months::new(1))
    }

    /// The month `day` falls in.
    pub fn of_day(day: NaiveDate) -> Month {
        Month(day.with_day(1).expect("day 1"))
    }
}

impl std::fmt::Display for Month {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0.format("%Y-%m"))
    }
}

/// An incident a report lists: id, title, started, resolved.
pub type IncidentSpan = (i64, String, DateTime<Utc>, Option<DateTime<Utc>>);

/// One day of a report.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReportDay {
    pub day: NaiveDate,
    pub good: i64,
    pub total: i64,
    /// In percent; none without checks that day.
    pub achieved: Option<f64>,
}

/// An incident that spent some of a month's budget.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReportIncident {
    pub id: i64,
    pub title: String,
    pub started_at: DateTime<Utc>,
    pub resolved_at: Option<DateTime<Utc>>,
    /// Bad checks (or events) within the month while it was open.
    pub bad: i64,
    /// The share of the month's budget they spent.
    pub spent: f64,
}

/// An objective over one calendar month: what a contract's monthly report states.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SloReport {
    pub id: String,
    pub name: String,
    pub component: Option<String>,
    pub sli: String,
    pub threshold_ms: Option<u32>,
    /// `2026-11`.
    pub month: String,
    pub from: DateTime<Utc>,
    /// The month's end, or now for the month running.
    pub until: DateTime<Utc>,
    pub target: f64,
    pub maintenance_excluded: bool,
    /// Over the month (until now, for the month running).
    #[serde(flatten)]
    pub attained: Attainment,
    pub days: Vec<ReportDay>,
    pub incidents: Vec<ReportIncident>,
}

impl SloReport {
    /// `o` over `month` (counted until `until`), from its days and its incidents' bad counts.
    pub fn of(
        o: &Objective,
        component: Option<String>,
        month: Month,
        until: DateTime<Utc>,
        days: &[(NaiveDate, Counts)],
        incidents: Vec<(IncidentSpan, Counts)>,
    ) -> SloReport {
        let c: Counts = days.iter().map(|(_, c)| *c).sum();
        let (from, end) = month.bounds();
        let budget = Budget::of(c, o.target, end - from);
        SloReport {
            id: o.id.clone(),
            name: o.name.clone(),
            component,
            sli: o.sli.kind().as_str().into(),
            threshold_ms: match o.sli {
                Sli::Latency { threshold_ms, .. } => Some(threshold_ms),
                _ => None,
            },
            month: month.to_string(),
            from,
            until: until.min(end),
            target: o.target.percent(),
            maintenance_excluded: o.maintenance == Maintenance::Excluded,
            attained: Attainment::of(c, &budget, o.target),
            days: days
                .iter()
                .map(|(day, c)| ReportDay {
                    day: *day,
                    good: c.good,
                    total: c.total,
                    achieved: c.ratio().map(|r| r * 100.0),
                })
                .collect(),
            incidents: incidents
                .into_iter()
                .filter(|(_, c)| c.bad() > 0)
                .map(|((id, title, started_at, resolved_at), c)| ReportIncident {
                    id,
                    title,
                    started_at,
                    resolved_at,
                    bad: c.bad(),
                    spent: if budget.allowed_bad > 0.0 {
                        c.bad() as f64 / budget.allowed_bad
                    } else {
                        f64::INFINITY
                    },
                })
                .collect(),
        }
    }

    /// The report as CSV: one row per day, then one per incident, then the month's total.
    pub fn csv(&self) -> String {
        let pct = |v: Option<f64>| v.map(|v| format!("{v:.4}")).unwrap_or_default();
        let field = |s: &str| {
            // Quoted when needed, and never read as a formula by a spreadsheet.
            let s = if s.starts_with(['=', '+', '-', '@']) {
                format!("'{s}")
            } else {
                s.to_string()
            };
            if s.contains([',', '"', '\n', '\r']) {
                format!("\"{}\"", s.replace('"', "\"\""))
            } else {
                s
            }
        };
        let mut out = String::from("objective,month,row,day,incident,title,good,total,bad,achieved_percent,target_percent,budget_spent_percent,maintenance_excluded\n");
        let head = format!("{},{}", field(&self.id), self.month);
        for d in &self.days {
            out.push_str(&format!(
                "{head},day,{},,,{},{},{},{},{},,{}\n",
                d.day,
                d.good,
                d.total,
                d.total - d.good,
                pct(d.achieved),
                self.target,
                self.maintenance_excluded
            ));
        }
        for i in &self.incidents {
            out.push_str(&format!(
                "{head},incident,{},{},{},,,{},,{},{:.2},{}\n",
                i.started_at.date_naive(),
                i.id,
                field(&i.title),
                i.bad,
                self.target,
                i.spent * 100.0,
                self.maintenance_excluded
            ));
        }
        out.push_str(&format!(
            "{head},month,,,,{},{},{},{},{},{:.2},{}\n",
            self.attained.good,
            self.attained.total,
            self.attained.bad,
            pct(self.attained.achieved),
            self.target,
            self.attained.spent * 100.0,
            self.maintenance_excluded
        ));
        out
    }
}

/// One month of an objective on the public page: met or missed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MonthMet {
    pub month: String,
    pub achieved: Option<f64>,
    /// None without checks that month.
    pub met: Option<bool>,
}

/// A public objective's last twelve months.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PublicSla {
    pub name: String,
    /// The component's name (never a monitor's).
    pub component: String,
    pub target: f64,
    pub months: Vec<MonthMet>,
}

/// The last `n` months up to `now`'s (oldest first), each met or missed, from days.
pub fn months_met(
    days: &[(NaiveDate, Counts)],
    target: Target,
    now: DateTime<Utc>,
    n: usize,
) -> Vec<MonthMet> {
    let mut months = vec![Month::of(now)];
    while months.len() < n {
        let earlier = months.last().expect("one").previous();
        months.push(earlier);
    }
    months.reverse();
    months
        .into_iter()
        .map(|m| {
            let c: Counts = days
                .iter()
                .filter(|(d, _)| Month::of_day(*d) == m)
                .map(|(_, c)| *c)
                .sum();
            MonthMet {
                month: m.to_string(),
                achieved: c.ratio().map(|r| r * 100.0),
                met: c.ratio().map(|r| r >= target.fraction()),
            }
        })
        .collect()
}

/// The server's objectives judged now, as the app's pages ask for them.
pub trait Judges: Send + Sync {
    fn slos(&self) -> super::world::Pending<'_, Result<Vec<SloView>, String>>;
    /// The objectives as the live world has them (a post-mortem's draft states what its
    /// incident cost each).
    fn objectives(&self) -> Vec<Objective>;
    /// Every objective's (or one component's) report for `month`.
    fn reports(
        &self,
        component: Option<String>,
        month: Month,
    ) -> super::world::Pending<'_, Result<Vec<SloReport>, String>>;
    /// The objectives the public page shows.
    fn public(&self) -> super::world::Pending<'_, Vec<PublicSla>>;
}

/// What one incident cost one objective: its failed checks against the budget of the window
/// it ended in.
#[derive(Clone, Debug, PartialEq)]
pub struct BudgetUse {
    pub name: String,
    pub target: Target,
    pub window: Window,
    pub bad: i64,
    /// The share of the window's budget those checks used (above 1: more than all of it).
    pub used: f64,
    pub maintenance: Maintenance,
}

impl BudgetUse {
    /// What `during` cost `o`, against `window`'s budget.
    pub fn of(o: &Objective, during: Counts, window: Counts) -> BudgetUse {
        let allowed = window.total as f64 * o.target.budget();
        BudgetUse {
            name: o.name.clone(),
            target: o.target,
            window: o.window,
            bad: during.bad(),
            used: if allowed > 0.0 {
                during.bad() as f64 / allowed
            } else {
                f64::INFINITY
            },
            maintenance: o.maintenance,
        }
    }

    /// "Website availability (99.9 % over 30d): this incident used 37 % of the error budget (16
    /// failed checks)".
    pub fn sentence(&self) -> String {
        let window = match self.window {
            Window::CalendarMonth => "the month".to_string(),
            Window::Rolling(span) => span.to_string(),
        };
        let target = format!("{:.3}", self.target.percent());
        let target = target.trim_end_matches('0').trim_end_matches('.');
        let maintenance = match self.maintenance {
            Maintenance::Excluded => "",
            Maintenance::Included => ", maintenance counted",
        };
        format!(
            "{} ({target} % over {window}{maintenance}): this incident used {:.0} % of the error budget ({} failed {})",
            self.name,
            self.used * 100.0,
            self.bad,
            if self.bad == 1 { "check" } else { "checks" }
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(p: f64) -> Target {
        Target::from_percent(p).unwrap()
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    #[test]
    fn spans_and_windows_read_as_written_and_say_what_is_wrong() {
        assert_eq!(Span::parse("5m").unwrap().secs(), 300);
        assert_eq!(Span::parse("3d").unwrap().to_string(), "3d");
        assert_eq!(Span::parse("90m").unwrap().to_string(), "90m");
        assert!(Span::parse("0h").unwrap_err().contains("above 0"));
        assert!(Span::parse("1w").unwrap_err().contains("s, m, h or d"));
        assert_eq!(Window::parse("month").unwrap(), Window::CalendarMonth);
        assert!(Window::parse("36h").unwrap_err().contains("whole days"));
        let now = Utc.with_ymd_and_hms(2026, 2, 14, 12, 0, 0).unwrap();
        let (start, end) = Window::CalendarMonth.bounds(now);
        assert_eq!(start, Utc.with_ymd_and_hms(2026, 2, 1, 0, 0, 0).unwrap());
        assert_eq!(end, Utc.with_ymd_and_hms(2026, 3, 1, 0, 0, 0).unwrap());
        assert_eq!(Window::CalendarMonth.length(now), Duration::days(28));
        assert_eq!(
            Window::Rolling(Span::days(30)).length(now),
            Duration::days(30)
        );
    }

    #[test]
    fn thirty_days_of_checks_with_known_failures_give_exact_budgets() {
        // One check a minute for 30 days: 43,200 checks; 99.9 % allows 43.2 bad ones.
        let window = Duration::days(30);
        let target = t(99.9);
        let none = Budget::of(
            Counts {
                good: 43_200,
                total: 43_200,
            },
            target,
            window,
        );
        assert!(close(none.allowed_bad, 43.2));
        assert_eq!((none.spent, none.remaining), (0.0, 1.0));
        // The budget as time: 0.1 % of 30 days is 43.2 minutes.
        assert!(close(none.remaining_minutes, 43.2));

        // A ten-minute outage: ten bad checks spend 10 / 43.2 of it.
        let outage = Budget::of(
            Counts {
                good: 43_190,
                total: 43_200,
            },
            target,
            window,
        );
        assert!(close(outage.spent, 10.0 / 43.2));
        assert!(close(outage.remaining_minutes, 33.2));

        // 54 bad checks: the budget is exceeded by a quarter.
        let over = Budget::of(
            Counts {
                good: 43_146,
                total: 43_200,
            },
            target,
            window,
        );
        assert!(close(over.spent, 1.25));
        assert!(close(over.remaining, -0.25));
        assert_eq!(over.time_left(1.0, window), Some(Duration::zero()));

        // Maintenance left out: the same ten bad checks among fewer counted ones spend more.
        let without = Budget::of(
            Counts {
                good: 40_310,
                total: 40_320,
            },
            target,
            window,
        );
        assert!(close(without.spent, 10.0 / 40.32));
    }

    #[test]
    fn burn_rates_are_the_bad_share_over_the_allowed_share() {
        let target = t(99.9);
        // Everything failing burns at 1,000x a 99.9 % budget.
        assert!(close(
            burn_rate(Counts { good: 0, total: 60 }, target).unwrap(),
            1000.0
        ));
        // 2 % failing: 20x.
        assert!(close(
            burn_rate(
                Counts {
                    good: 980,
                    total: 1000
                },
                target
            )
            .unwrap(),
            20.0
        ));
        // Exactly the allowed share: 1x.
        assert!(close(
            burn_rate(
                Counts {
                    good: 999,
                    total: 1000
                },
                target
            )
            .unwrap(),
            1.0
        ));
        assert_eq!(burn_rate(Counts::default(), target), None);
        // Half the budget left, burning at 2x over a 30-day window: 7.5 days.
        let half = Budget::of(
            Counts {
                good: 1995,
                total: 2000,
            },
            t(99.5),
            Duration::days(30),
        );
        assert!(close(half.remaining, 0.5));
        assert_eq!(
            half.time_left(2.0, Duration::days(30)),
            Some(Duration::hours(180))
        );
        assert_eq!(half.time_left(0.0, Duration::days(30)), None);
    }

    #[test]
    fn burn_rules_fire_on_both_windows_and_clear_when_both_fall_below() {
        let rule = &BurnRule::defaults()[0];
        assert_eq!(rule.id(), "14.4x-1h-5m");
        use AlertMove::*;
        assert_eq!(rule.judge(false, Some(20.0), Some(30.0)), Fire);
        assert_eq!(
            rule.judge(false, Some(14.4), Some(14.4)),
            Fire,
            "at the rate fires"
        );
        assert_eq!(
            rule.judge(false, Some(20.0), Some(2.0)),
            Stay,
            "the short window recovered"
        );
        assert_eq!(rule.judge(false, Some(2.0), Some(200.0)), Stay, "a blip");
        assert_eq!(
            rule.judge(true, Some(20.0), Some(2.0)),
            Stay,
            "one window still burns"
        );
        assert_eq!(rule.judge(true, Some(2.0), Some(0.0)), Clear);
        assert_eq!(rule.judge(true, None, None), Clear, "no checks, no burn");
        assert_eq!(rule.judge(false, None, Some(100.0)), Stay);
    }

    #[test]
    fn a_spec_names_every_problem_at_once() {
        let spec = ObjectiveSpec {
            id: "Web Site".into(),
            name: " ".into(),
            component: Some("site".into()),
            monitor: Some("site-http".into()),
            sli: SliKind::Availability,
            target: 100.0,
            window: Window::Rolling(Span::days(30)),
            maintenance: Maintenance::Excluded,
            threshold_ms: None,
            prometheus: None,
            good: None,
            total: None,
            public: false,
            alerts: Some(vec![BurnRule {
                long: Span::minutes(5),
                short: Span::hours(1),
                burn_rate: 0.0,
                severity: Severity::Page,
                incident: false,
            }]),
        };
        let problems: Vec<String> = spec
            .check()
            .unwrap_err()
            .into_iter()
            .map(|(f, _)| f)
            .collect();
        assert_eq!(
            problems,
            [
                "id",
                "name",
                "component",
                "target",
                "alert[0].burn_rate",
                "alert[0].short"
            ]
        );
        let ok = ObjectiveSpec {
            id: "website".into(),
            name: "Website".into(),
            monitor: None,
            target: 99.9,
            alerts: None,
            ..spec
        };
        let o = ok.check().unwrap();
        assert_eq!(
            o.alerts,
            BurnRule::defaults(),
            "the Workbook's rules by default"
        );
        assert_eq!(o.scope, Scope::Component("site".into()));
    }

    #[test]
    fn an_incidents_cost_reads_as_a_sentence() {
        let used = BudgetUse {
            name: "Website availability".into(),
            target: t(99.9),
            window: Window::Rolling(Span::days(30)),
            bad: 16,
            used: 16.0 / 43.2,
            maintenance: Maintenance::Excluded,
        };
        assert_eq!(
            used.sentence(),
            "Website availability (99.9 % over 30d): this incident used 37 % of the error budget (16 failed checks)"
        );
    }

    #[test]
    fn the_burn_down_ends_at_the_budget_left_now() {
        let d = |n| NaiveDate::from_ymd_opt(2026, 12, n).unwrap();
        let days = [
            (
                d(1),
                Counts {
                    good: 1440,
                    total: 1440,
                },
            ),
            (
                d(2),
                Counts {
                    good: 1430,
                    total: 1440,
                },
            ),
            (
                d(3),
                Counts {
                    good: 1440,
                    total: 1440,
                },
            ),
        ];
        let down = burn_down(&days, t(99.9));
        // 4,320 checks allow 4.32 bad ones; ten were bad on the second day.
        assert_eq!(down[0], (d(1), 1.0));
        assert!(close(down[1].1, 1.0 - 10.0 / 4.32));
        assert_eq!(down[1].1, down[2].1);
        let now = Budget::of(
            days.iter().map(|(_, c)| *c).sum(),
            t(99.9),
            Duration::days(3),
        );
        assert!(close(down[2].1, now.remaining));
    }

    fn spec(toml_sli: &str) -> ObjectiveSpec {
        serde_json::from_str(&format!(
            r#"{{"id": "web", "name": "Web", "component": "site", "target": 99.5{toml_sli}}}"#
        ))
        .unwrap()
    }

    fn fields(spec: &ObjectiveSpec) -> Vec<String> {
        spec.check()
            .err()
            .unwrap_or_default()
            .into_iter()
            .map(|(f, _)| f)
            .collect()
    }

    #[test]
    fn latency_and_prometheus_slis_take_their_own_fields_only() {
        let fast = spec(r#", "sli": "latency", "threshold_ms": 300"#)
            .check()
            .unwrap();
        assert_eq!(
            fast.sli,
            Sli::Latency {
                threshold_ms: 300,
                slot: 5
            }
        );
        assert_eq!(LATENCY_BOUNDS_MS[5], 300);
        assert_eq!(fields(&spec(r#", "sli": "latency""#)), ["threshold_ms"]);
        let odd = spec(r#", "sli": "latency", "threshold_ms": 275"#);
        let (field, message) = odd.check().unwrap_err().remove(0);
        assert_eq!(field, "threshold_ms");
        assert!(message.contains("250, 300"), "{message}");
        assert_eq!(
            fields(&spec(r#", "threshold_ms": 300, "good": "x""#)),
            ["threshold_ms", "good"],
            "availability takes neither"
        );

        let prom = spec(
            r#", "sli": "prometheus", "prometheus": "main", "good": "http_requests_total{code!~\"5..\"}", "total": "http_requests_total""#,
        )
        .check()
        .unwrap();
        assert!(!prom.sli.from_checks());
        assert_eq!(
            prom.maintenance,
            Maintenance::Included,
            "Prometheus' events know no maintenance"
        );
        assert_eq!(
            fields(&spec(r#", "sli": "prometheus", "good": " ""#)),
            ["prometheus", "good", "total"]
        );
        let on_monitor: ObjectiveSpec = serde_json::from_str(
            r#"{"id": "w", "name": "W", "monitor": "site-http", "target": 99, "sli": "prometheus", "prometheus": "p", "good": "a", "total": "b"}"#,
        )
        .unwrap();
        assert_eq!(fields(&on_monitor), ["monitor"]);
    }

    #[test]
    fn months_read_as_written_and_count_their_days() {
        let m = Month::parse("2026-02").unwrap();
        assert_eq!(m.to_string(), "2026-02");
        let (from, to) = m.bounds();
        assert_eq!((to - from).num_days(), 28);
        assert_eq!(m.previous().to_string(), "2026-01");
        assert_eq!(
            Month::parse("2026-01").unwrap().previous().to_string(),
            "2025-12"
        );
        for bad in ["2026", "2026-13", "26-1x", "november"] {
            assert!(Month::parse(bad).unwrap_err().contains("YYYY-MM"), "{bad}");
        }
    }

    #[test]
    fn a_report_counts_the_month_its_incidents_and_writes_csv() {
        let o = spec(r#", "window": "month""#).check().unwrap();
        let d = |n| NaiveDate::from_ymd_opt(2026, 11, n).unwrap();
        // Two days of a check a minute; 36 bad on the second: 2,880 checks allow 14.4.
        let days = [
            (
                d(1),
                Counts {
                    good: 1440,
                    total: 1440,
                },
            ),
            (
                d(2),
                Counts {
                    good: 1404,
                    total: 1440,
                },
            ),
        ];
        let start = Utc.with_ymd_and_hms(2026, 11, 2, 10, 0, 0).unwrap();
        let until = Utc.with_ymd_and_hms(2026, 11, 3, 0, 0, 0).unwrap();
        let r = SloReport::of(
            &o,
            Some("site".into()),
            Month::parse("2026-11").unwrap(),
            until,
            &days,
            vec![
                (
                    (
                        7,
                        "Site down, \"again\"".into(),
                        start,
                        Some(start + Duration::minutes(36)),
                    ),
                    Counts { good: 0, total: 36 },
                ),
                (
                    (8, "=cmd()".into(), start, None),
                    Counts { good: 5, total: 5 },
                ),
            ],
        );
        let a = &r.attained;
        assert_eq!((a.good, a.total, a.bad), (2844, 2880, 36));
        assert!(close(a.allowed_bad, 14.4));
        assert!(close(a.spent, 2.5));
        assert!(!a.met, "98.75 % misses 99.5 %");
        assert_eq!(
            r.incidents.len(),
            1,
            "an incident that spent nothing is left out"
        );
        assert!(close(r.incidents[0].spent, 2.5));
        assert_eq!(r.until, until);

        let csv = r.csv();
        let rows: Vec<&str> = csv.lines().collect();
        assert_eq!(rows.len(), 1 + 2 + 1 + 1);
        assert!(rows[0].starts_with("objective,month,row,day,incident,title,good,total,bad"));
        assert_eq!(
            rows[2],
            "web,2026-11,day,2026-11-02,,,1404,1440,36,97.5000,99.5,,true"
        );
        assert!(
            rows[3].contains(r#",7,"Site down, ""again""",,,36,,99.5,250.00,"#),
            "{}",
            rows[3]
        );
        assert_eq!(
            rows[4],
            "web,2026-11,month,,,,2844,2880,36,98.7500,99.5,250.00,true"
        );
    }

    #[test]
    fn the_public_months_say_met_missed_or_nothing() {
        let target = t(99.0);
        let now = Utc.with_ymd_and_hms(2026, 12, 6, 12, 0, 0).unwrap();
        let day = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap();
        let days = [
            (
                day(2026, 1, 3),
                Counts {
                    good: 98,
                    total: 100,
                },
            ),
            (
                day(2026, 11, 30),
                Counts {
                    good: 995,
                    total: 1000,
                },
            ),
            (
                day(2026, 12, 1),
                Counts {
                    good: 10,
                    total: 10,
                },
            ),
        ];
        let months = months_met(&days, target, now, 12);
        assert_eq!(months.len(), 12);
        assert_eq!(months[0].month, "2026-01");
        assert_eq!(months[0].met, Some(false));
        assert_eq!(months[1].met, None, "no checks in February");
        assert_eq!(months[10].met, Some(true));
        assert_eq!(months[11].month, "2026-12");
        assert!(close(months[10].achieved.unwrap(), 99.5));
    }
}
