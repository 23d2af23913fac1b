//! Follow-up tasks: the post-mortem's "Follow-up tasks" checklist as items with an owner, a due
//! date, a status and a link to where the work is tracked — so they get done, or are said not to
//! be.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

pub const MAX_TITLE: usize = 200;
pub const MAX_LINK: usize = 500;

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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum FollowUpStatus {
    Open,
    Done,
    /// Decided against, on purpose: handled, not forgotten.
    WontDo,
}

impl FollowUpStatus {
    pub const ALL: [FollowUpStatus; 3] = [
        FollowUpStatus::Open,
        FollowUpStatus::Done,
        FollowUpStatus::WontDo,
    ];

    pub fn as_str(self) -> &'static str {
        self.into()
    }

    pub fn parse(s: &str) -> Option<FollowUpStatus> {
        s.parse().ok()
    }

    pub fn label(self) -> &'static str {
        match self {
            FollowUpStatus::Open => "open",
            FollowUpStatus::Done => "done",
            FollowUpStatus::WontDo => "won't do",
        }
    }
}

/// One follow-up as the list, the API and the post-mortem show it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FollowUp {
    pub id: i64,
    pub incident_id: i64,
    /// The post-mortem's title.
    pub postmortem: String,
    pub title: String,
    /// The owner's user name; none when nobody took it.
    pub owner: Option<String>,
    pub due_on: Option<NaiveDate>,
    pub status: FollowUpStatus,
    /// Where the work is tracked (an issue), when it is.
    pub link: Option<String>,
    /// Open and past its due date.
    pub overdue: bool,
    /// Its GitHub issue (`[github]`), when one was asked for.
    pub github: Option<GithubIssue>,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A follow-up's GitHub issue as Vigil last read it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GithubIssue {
    /// None until it is opened (a moment after the follow-up is made, or after GitHub answers
    /// again).
    pub number: Option<i64>,
    pub url: Option<String>,
    /// `open`, `closed`, or `deleted` (GitHub answered 404: no longer read).
    pub state: Option<String>,
    /// What went wrong last, in words (a 401, issues disabled, …).
    pub error: Option<String>,
    pub checked_at: Option<DateTime<Utc>>,
}

/// What a GitHub issue's state means for its follow-up: closed as completed is done, closed as
/// not planned is won't do, open (or reopened) is open.
pub fn status_of_issue(state: &str, reason: Option<&str>) -> FollowUpStatus {
    match (state, reason) {
        ("closed", Some("not_planned")) => FollowUpStatus::WontDo,
        ("closed", _) => FollowUpStatus::Done,
        _ => FollowUpStatus::Open,
    }
}

/// Which follow-ups a list shows.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct FollowUpFilter {
    pub owner: Option<String>,
    pub status: Option<FollowUpStatus>,
    /// Only open ones past their due date.
    #[serde(default)]
    pub overdue: bool,
}

/// A bad field: which, and what to do about it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldError {
    pub field: &'static str,
    pub message: String,
}

fn bad(field: &'static str, message: impl Into<String>) -> FieldError {
    FieldError {
        field,
        message: message.into(),
    }
}

/// A title: trimmed, 1–200 characters, one line.
pub fn title(s: &str) -> Result<String, FieldError> {
    let t = s.trim();
    if t.is_empty() {
        return Err(bad("title", "say what is to be done"));
    }
    if t.chars().count() > MAX_TITLE || t.contains('\n') {
        return Err(bad(
            "title",
            format!("one line of at most {MAX_TITLE} characters"),
        ));
    }
    Ok(t.to_string())
}

/// A link to an issue tracker: an http(s) address, or nothing.
pub fn link(s: Option<&str>) -> Result<Option<String>, FieldError> {
    let Some(s) = s.map(str::trim).filter(|s| !s.is_empty()) else {
        return Ok(None);
    };
    let ok = (s.starts_with("https://") || s.starts_with("http://"))
        && s.len() <= MAX_LINK
        && !s.chars().any(|c| c.is_whitespace() || c.is_control())
        && s.split("://").nth(1).is_some_and(|rest| !rest.is_empty());
    if !ok {
        return Err(bad(
            "link",
            "an http(s) address of at most 500 characters, e.g. https://github.com/org/repo/issues/12",
        ));
    }
    Ok(Some(s.to_string()))
}

/// A new item's due date: today or later (a date already past is a mistake, not a plan).
pub fn new_due(due: Option<NaiveDate>, today: NaiveDate) -> Result<Option<NaiveDate>, FieldError> {
    match due {
        Some(d) if d < today => Err(bad(
            "due_on",
            format!("{d} is in the past; give today ({today}) or a later date"),
        )),
        d => Ok(d),
    }
}

/// The unchecked and checked items of a post-mortem's "Follow-up tasks" section, in order, as
/// (title, done). Empty items ("- [ ] ") are skipped.
pub fn checklist(markdown: &str) -> Vec<(String, bool)> {
    let mut inside = false;
    let mut out = Vec::new();
    for line in markdown.lines() {
        let l = line.trim();
        if let Some(h) = l.strip_prefix("## ") {
            inside = h.trim().eq_ignore_ascii_case("Follow-up tasks");
            continue;
        }
        if !inside {
            continue;
        }
        let item = l
            .strip_prefix("- [ ]")
            .map(|t| (t, false))
            .or_else(|| l.strip_prefix("- [x]").map(|t| (t, true)))
            .or_else(|| l.strip_prefix("- [X]").map(|t| (t, true)));
        if let Some((t, done)) = item {
            if let Ok(t) = title(t) {
                out.push((t, done));
            }
        }
    }
    out
}

/// The post-mortem as rendered: its "Follow-up tasks" checklist follows the items, so the
/// document and `/ops/follow-ups` never disagree. A box is ticked when its item is done or
/// decided against (said so); items added elsewhere (the API, the list) are appended to the
/// section. Only titles and states: owners are people, and published post-mortems are public.
pub fn with_items(markdown: &str, items: &[(String, FollowUpStatus)]) -> String {
    let line_for = |title: &str, status: FollowUpStatus| match status {
        FollowUpStatus::Open => format!("- [ ] {title}"),
        FollowUpStatus::Done => format!("- [x] {title}"),
        FollowUpStatus::WontDo => format!("- [x] {title} (won't do)"),
    };
    let mut out: Vec<String> = Vec::new();
    let mut shown: Vec<&str> = Vec::new();
    let mut inside = false;
    let flush = |out: &mut Vec<String>, shown: &[&str]| {
        let missing: Vec<String> = items
            .iter()
            .filter(|(t, _)| !shown.contains(&t.as_str()))
            .map(|(t, s)| line_for(t, *s))
            .collect();
        if !missing.is_empty() {
            while out.last().is_some_and(|l| l.trim().is_empty()) {
                out.pop();
            }
            if out
                .last()
                .is_some_and(|l| l.trim_start().starts_with("## "))
            {
                out.push(String::new());
            }
            out.extend(missing);
            out.push(String::new());
        }
    };
    let mut found = false;
    for line in markdown.lines() {
        let l = line.trim();
        if let Some(h) = l.strip_prefix("## ") {
            if inside {
                flush(&mut out, &shown);
            }
            inside = h.trim().eq_ignore_ascii_case("Follow-up tasks");
            found |= inside;
            out.push(line.to_string());
            continue;
        }
        let boxed = ["- [ ]", "- [x]", "- [X]"]
            .iter()
            .find_map(|p| l.strip_prefix(p))
            .map(str::trim);
        match (inside, boxed) {
            (true, Some(t)) => match items.iter().find(|(title, _)| title == t) {
                Some((title, status)) => {
                    let indent = &line[..line.len() - line.trim_start().len()];
                    out.push(format!("{indent}{}", line_for(title, *status)));
                    shown.push(title);
                }
                None => out.push(line.to_string()),
            },
            _ => out.push(line.to_string()),
        }
    }
    if inside {
        flush(&mut out, &shown);
    } else if !found && !items.is_empty() {
        out.push(String::new());
        out.push("## Follow-up tasks".into());
        flush(&mut out, &[]);
    }
    out.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_issues_state_becomes_the_follow_ups_status() {
        assert_eq!(
            status_of_issue("closed", Some("completed")),
            FollowUpStatus::Done
        );
        assert_eq!(status_of_issue("closed", None), FollowUpStatus::Done);
        assert_eq!(
            status_of_issue("closed", Some("not_planned")),
            FollowUpStatus::WontDo
        );
        assert_eq!(
            status_of_issue("open", Some("reopened")),
            FollowUpStatus::Open
        );
        assert_eq!(status_of_issue("open", None), FollowUpStatus::Open);
    }

    #[test]
    fn the_section_renders_the_items() {
        let md = "## Follow-up tasks\n\n- [ ] Monitor for follow up from Linode\n- [ ] Carefully monitor the allocation rules\n\n## Timeline\n\n- [ ] not a task\n";
        let items = vec![
            (
                "Monitor for follow up from Linode".to_string(),
                FollowUpStatus::Done,
            ),
            (
                "Carefully monitor the allocation rules".to_string(),
                FollowUpStatus::WontDo,
            ),
            ("Page on ingress errors".to_string(), FollowUpStatus::Open),
        ];
        assert_eq!(
            with_items(md, &items),
            "## Follow-up tasks\n\n- [x] Monitor for follow up from Linode\n- [x] Carefully monitor the allocation rules (won't do)\n- [ ] Page on ingress errors\n\n## Timeline\n\n- [ ] not a task"
        );
        // A document without the section gets one, only when there are items.
        assert_eq!(with_items("Text.", &[]), "Text.");
        assert!(with_items("Text.", &items[2..])
            .ends_with("## Follow-up tasks\n\n- [ ] Page on ingress errors\n"));
    }

    #[test]
    fn the_checklist_of_the_follow_up_section_only() {
        let md = "## Lessons learned\n\n- [ ] not this one\n\n## Follow-up tasks\n\n\
                  - [ ] Monitor for follow up from Linode\n- [x] Carefully monitor the allocation rules\n\
                  - [ ] \n  - [X] Indented counts too\n\n## Timeline\n\n- [ ] nor this\n";
        assert_eq!(
            checklist(md),
            vec![
                ("Monitor for follow up from Linode".to_string(), false),
                ("Carefully monitor the allocation rules".to_string(), true),
                ("Indented counts too".to_string(), true),
            ]
        );
    }

    #[test]
    fn fields_are_checked_and_say_how_to_fix_them() {
        assert_eq!(title("  Drain node b  ").unwrap(), "Drain node b");
        assert_eq!(title(" ").unwrap_err().field, "title");
        assert!(title(&"x".repeat(201)).is_err());
        assert_eq!(link(Some("")).unwrap(), None);
        assert!(link(Some("https://github.com/o/r/issues/1")).is_ok());
        assert_eq!(link(Some("javascript:alert(1)")).unwrap_err().field, "link");
        assert!(link(Some("https://")).is_err());
        let today = NaiveDate::from_ymd_opt(2026, 12, 3).unwrap();
        assert!(new_due(Some(today), today).is_ok());
        let err = new_due(NaiveDate::from_ymd_opt(2026, 12, 2), today).unwrap_err();
        assert!(err.message.contains("in the past"), "{err:?}");
        assert_eq!(
            FollowUpStatus::parse("wont_do"),
            Some(FollowUpStatus::WontDo)
        );
        assert_eq!(FollowUpStatus::parse("closed"), None);
    }
}
