//! Monthly uptime per component, as the public `/uptime` page shows it: the share of successful
//! checks in each calendar month (UTC), with the hours of maintenance windows left out, and the
//! incidents behind each dip.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ComponentUptime {
    pub id: String,
    pub name: String,
    /// Oldest first; as many months as asked for, the current one last.
    pub months: Vec<MonthUptime>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MonthUptime {
    /// The month's first day.
    pub month: NaiveDate,
    /// Share of successful checks (0..1); None without checks.
    pub uptime: Option<f64>,
    /// Hours of maintenance left out of the figure.
    pub maintenance_hours: i64,
    /// Incidents that started this month and affected the component: (id, name).
    pub incidents: Vec<(i64, String)>,
}

/// The first days of the `n` months ending with the one `today` is in, oldest first.
pub fn last_months(today: NaiveDate, n: u32) -> Vec<NaiveDate> {
    use chrono::{Datelike, Months};
    let this = today.with_day(1).expect("the 1st exists");
    (0..n)
        .rev()
        .filter_map(|back| this.checked_sub_months(Months::new(back)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn twelve_months_end_with_the_current_one() {
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        let m = last_months(d("2026-12-03"), 12);
        assert_eq!(m.len(), 12);
        assert_eq!(m[0], d("2026-01-01"));
        assert_eq!(m[11], d("2026-12-01"));
    }
}
