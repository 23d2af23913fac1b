//! Review before publishing: draft → in review → approved → published. The author asks editors
//! to review; reviewers comment on a section (threads, resolvable) and approve one revision.
//! Publishing needs `approvals` approvals of the current revision, so a save after an approval
//! asks for the changed text to be approved again. Review never changes a revision's text.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// `[postmortems]` as the store needs it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReviewRules {
    /// Approvals of the current revision publishing needs; 0 publishes without review.
    pub approvals: u32,
}

impl Default for ReviewRules {
    fn default() -> Self {
        ReviewRules { approvals: 1 }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ReviewState {
    Draft,
    InReview,
    /// Enough approvals of the current revision: it may be published.
    Approved,
    Published,
}

impl ReviewState {
    pub fn label(self) -> &'static str {
        match self {
            ReviewState::Draft => "Draft",
            ReviewState::InReview => "In review",
            ReviewState::Approved => "Approved",
            ReviewState::Published => "Published",
        }
    }

    pub fn of(
        published: bool,
        review_requested: bool,
        approvals_of_current: usize,
        rules: ReviewRules,
    ) -> ReviewState {
        if published {
            ReviewState::Published
        } else if rules.approvals > 0 && approvals_of_current >= rules.approvals as usize {
            ReviewState::Approved
        } else if review_requested {
            ReviewState::InReview
        } else {
            ReviewState::Draft
        }
    }
}

/// One reviewer and what they approved.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Reviewer {
    /// Login.
    pub name: String,
    pub requested_by: String,
    pub requested_at: DateTime<Utc>,
    /// The newest revision they approved.
    pub approved_revision: Option<i32>,
    /// Whether that is the current revision (an approval of an older one asks again).
    pub approves_current: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Comment {
    pub id: i64,
    pub author: String,
    /// Plain text; pages escape it.
    pub body: String,
    /// The revision the commenter was reading.
    pub revision: i32,
    pub created_at: DateTime<Utc>,
}

/// A comment on a section and its replies.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Thread {
    /// The heading it is about (`Impact`), or `General`.
    pub section: String,
    pub comment: Comment,
    pub replies: Vec<Comment>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub resolved_by: Option<String>,
}

/// Where a post-mortem's review stands.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Review {
    pub state: ReviewState,
    pub approvals_required: u32,
    /// Approvals of the current revision.
    pub approvals: u32,
    pub revision: i32,
    pub reviewers: Vec<Reviewer>,
    pub threads: Vec<Thread>,
    /// The sections comments may be about: the current text's headings and `General`.
    pub sections: Vec<String>,
}

impl Review {
    pub fn open_threads(&self) -> usize {
        self.threads
            .iter()
            .filter(|t| t.resolved_at.is_none())
            .count()
    }

    /// What publishing still waits for, in words; `None` when it may be published.
    pub fn waiting_for(&self) -> Option<String> {
        if self.state == ReviewState::Published || self.approvals >= self.approvals_required {
            return None;
        }
        let stale: Vec<String> = self
            .reviewers
            .iter()
            .filter(|r| !r.approves_current)
            .filter_map(|r| {
                r.approved_revision
                    .map(|n| format!("{} approved revision {n}, changed since", r.name))
            })
            .collect();
        let mut s = format!(
            "publishing needs {} approval(s) of revision {}; it has {}",
            self.approvals_required, self.revision, self.approvals
        );
        if self.reviewers.is_empty() {
            s.push_str(" — request a review from an editor first");
        } else if !stale.is_empty() {
            s.push_str(&format!(" ({})", stale.join("; ")));
        }
        Some(s)
    }
}

/// A review action, as the revision history shows it beside the saves.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReviewEvent {
    pub at: DateTime<Utc>,
    /// The revision current at the time (for a comment or approval: the one read).
    pub revision: i32,
    pub who: String,
    /// `requested`, `commented`, `replied`, `resolved`, `approved`.
    pub action: String,
    /// The reviewer asked for, or the section commented on.
    pub detail: String,
}

impl ReviewEvent {
    pub fn describe(&self) -> String {
        match self.action.as_str() {
            "requested" => format!("asked {} to review", self.detail),
            "commented" => format!("commented on {}", self.detail),
            "replied" => format!("replied on {}", self.detail),
            "resolved" => format!("resolved a thread on {}", self.detail),
            "approved" => format!("approved revision {}", self.revision),
            other => other.to_string(),
        }
    }
}

pub const MAX_COMMENT: usize = 5000;
pub const GENERAL: &str = "General";

/// The Markdown's `##` headings, in order, then `General`: what a comment may be about.
pub fn sections(body: &str) -> Vec<String> {
    let mut out: Vec<String> = headings(body).into_iter().map(|(_, h)| h).collect();
    out.push(GENERAL.to_string());
    out
}

/// `(line index, heading)` of each `## ` heading outside fenced code, for the editor's outline.
pub fn headings(body: &str) -> Vec<(usize, String)> {
    let mut fenced = false;
    let mut out = Vec::new();
    for (i, line) in body.lines().enumerate() {
        let t = line.trim_start();
        if t.starts_with("```") || t.starts_with("~~~") {
            fenced = !fenced;
            continue;
        }
        if fenced {
            continue;
        }
        if let Some(h) = t.strip_prefix("## ") {
            let h = h.trim().trim_end_matches('#').trim();
            if !h.is_empty() {
                out.push((i, h.to_string()));
            }
        }
    }
    out
}

/// The anchor a heading gets in rendered post-mortems (`Five Whys` → `five-whys`).
pub fn slug(heading: &str) -> String {
    let mut s = String::new();
    for c in heading.chars() {
        if c.is_alphanumeric() {
            s.extend(c.to_lowercase());
        } else if !s.ends_with('-') && !s.is_empty() {
            s.push('-');
        }
    }
    s.trim_end_matches('-').to_string()
}

/// Who else has a post-mortem open in an editor: pushed to operators over the live feed.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Editing {
    pub postmortem_id: i64,
    /// Logins, each seen within the last half minute.
    pub who: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_state_follows_requests_and_approvals_of_the_current_revision() {
        let one = ReviewRules { approvals: 1 };
        assert_eq!(ReviewState::of(false, false, 0, one), ReviewState::Draft);
        assert_eq!(ReviewState::of(false, true, 0, one), ReviewState::InReview);
        assert_eq!(ReviewState::of(false, true, 1, one), ReviewState::Approved);
        assert_eq!(ReviewState::of(true, true, 0, one), ReviewState::Published);
        let none = ReviewRules { approvals: 0 };
        assert_eq!(ReviewState::of(false, false, 0, none), ReviewState::Draft);
        let two = ReviewRules { approvals: 2 };
        assert_eq!(ReviewState::of(false, true, 1, two), ReviewState::InReview);
    }

    #[test]
    fn sections_are_the_headings_outside_code_then_general() {
        let body = "_x_\n\n## Leadup\n\ntext\n```\n## not a heading\n```\n## Five Whys ##\n";
        assert_eq!(sections(body), ["Leadup", "Five Whys", "General"]);
        assert_eq!(headings(body)[1].0, 8);
        assert_eq!(slug("Five Whys"), "five-whys");
        assert_eq!(slug("Blameless root cause!"), "blameless-root-cause");
    }
}
