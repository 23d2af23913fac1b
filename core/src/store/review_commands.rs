//! Review actions from people's input (forms, the JSON API): asking editors to review, section
//! comments and replies, resolving threads, approving a revision. Checked, written, audited.

use crate::model::{
    auth::{Role, Scope},
    review::MAX_COMMENT,
};

use super::{
    incident_commands::CommandError, postmortem_commands::audit_pm, postmortems, reviews, users,
    PgPool,
};

async fn exists(pool: &PgPool, id: i64) -> Result<(), CommandError> {
    postmortems::id_for_incident_of(pool, id)
        .await?
        .map(|_| ())
        .ok_or(CommandError::NoPostmortem(id))
}

/// Asks editors (logins) to review; `actor` is the audit name of who asks. Each must be an
/// enabled user who may write post-mortems, and not the one asking.
pub async fn request_review(
    pool: &PgPool,
    id: i64,
    reviewers: &[String],
    actor: &str,
) -> Result<Vec<String>, CommandError> {
    exists(pool, id).await?;
    let logins: Vec<&str> = reviewers
        .iter()
        .flat_map(|r| r.split([',', ' ']))
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .collect();
    if logins.is_empty() {
        return Err(CommandError::invalid(
            "reviewers",
            "name at least one editor (their login) to review",
        ));
    }
    let mut names = Vec::new();
    for login in logins {
        let login = login.strip_prefix("user:").unwrap_or(login);
        let user = users::by_name(pool, login).await?.map(|c| c.user);
        let Some(user) = user.filter(|u| !u.disabled) else {
            return Err(CommandError::invalid(
                "reviewers",
                format!("there is no user `{login}`; reviewers are editors' logins"),
            ));
        };
        if !may_review(user.role) {
            return Err(CommandError::invalid(
                "reviewers",
                format!(
                    "`{login}` is a {}; reviewers must be editors (or admins) — `vigil user role {login} editor`",
                    user.role
                ),
            ));
        }
        let name = format!("user:{}", user.username);
        if name == actor {
            return Err(CommandError::invalid(
                "reviewers",
                "ask somebody else: a review is a second pair of eyes",
            ));
        }
        if !names.contains(&name) {
            names.push(name);
        }
    }
    let added = reviews::request(pool, id, &names, actor).await?;
    if !added.is_empty() {
        audit_pm(pool, actor, "postmortem.request_review", id).await?;
    }
    Ok(added)
}

pub struct CommentInput<'a> {
    /// A heading of the current text, or `General`. Ignored for a reply (it joins its thread).
    pub section: &'a str,
    /// The thread to reply to.
    pub reply_to: Option<i64>,
    /// The revision the commenter read.
    pub revision: i32,
    pub body: &'a str,
}

/// Comments on a section, or replies to a thread. Returns the comment's id.
pub async fn comment(
    pool: &PgPool,
    id: i64,
    c: CommentInput<'_>,
    actor: &str,
) -> Result<i64, CommandError> {
    let body = c.body.trim().replace("\r\n", "\n");
    if body.is_empty() {
        return Err(CommandError::invalid("body", "must not be empty"));
    }
    if body.chars().count() > MAX_COMMENT {
        return Err(CommandError::invalid(
            "body",
            format!("must be at most {MAX_COMMENT} characters"),
        ));
    }
    let review = reviews::review(pool, id, Default::default())
        .await?
        .ok_or(CommandError::NoPostmortem(id))?;
    if c.revision < 1 || c.revision > review.revision {
        return Err(CommandError::invalid(
            "revision",
            format!(
                "post-mortem {id} has revisions 1 to {}; say which one you read",
                review.revision
            ),
        ));
    }
    let section = match c.reply_to {
        Some(parent) => match reviews::thread_of(pool, id, parent).await? {
            Some((section, true)) => section,
            Some((_, false)) => {
                return Err(CommandError::invalid(
                    "reply_to",
                    format!("comment {parent} is a reply; reply to the thread's first comment"),
                ))
            }
            None => {
                return Err(CommandError::invalid(
                    "reply_to",
                    format!("post-mortem {id} has no comment {parent}"),
                ))
            }
        },
        None => {
            let wanted = c.section.trim();
            match review
                .sections
                .iter()
                .find(|s| s.eq_ignore_ascii_case(wanted))
            {
                Some(s) => s.clone(),
                None => {
                    return Err(CommandError::invalid(
                        "section",
                        format!(
                            "`{wanted}` is not a heading of the current text; one of: {}",
                            review.sections.join(", ")
                        ),
                    ))
                }
            }
        }
    };
    let comment = reviews::add_comment(
        pool,
        reviews::NewComment {
            postmortem_id: id,
            parent_id: c.reply_to,
            section: &section,
            revision: c.revision,
            author: actor,
            body: &body,
        },
    )
    .await?;
    audit_pm(pool, actor, "postmortem.comment", id).await?;
    Ok(comment)
}

pub async fn resolve(
    pool: &PgPool,
    id: i64,
    thread: i64,
    resolved: bool,
    actor: &str,
) -> Result<(), CommandError> {
    exists(pool, id).await?;
    if !reviews::resolve(pool, id, thread, resolved, actor).await? {
        return Err(CommandError::invalid(
            "thread",
            format!("post-mortem {id} has no thread {thread}"),
        ));
    }
    let action = if resolved {
        "postmortem.resolve_thread"
    } else {
        "postmortem.reopen_thread"
    };
    audit_pm(pool, actor, action, id).await?;
    Ok(())
}

/// Approves `revision`, which must be the current one: a reviewer approves what they read.
pub async fn approve(
    pool: &PgPool,
    id: i64,
    revision: i32,
    actor: &str,
    rules: crate::model::review::ReviewRules,
) -> Result<(), CommandError> {
    exists(pool, id).await?;
    if !reviews::is_reviewer(pool, id, actor).await? {
        return Err(CommandError::invalid(
            "reviewer",
            format!(
                "{actor} was not asked to review post-mortem {id}; the author asks reviewers first"
            ),
        ));
    }
    match reviews::approve(pool, id, actor, revision).await? {
        reviews::Approved::Done => {}
        reviews::Approved::NoPostmortem => return Err(CommandError::NoPostmortem(id)),
        reviews::Approved::OwnText => {
            return Err(CommandError::Conflict {
                field: "revision",
                message: format!(
                    "you wrote revision {revision}; it is approved by a reviewer who did not write it"
                ),
            })
        }
        reviews::Approved::Stale { current } => {
            return Err(CommandError::Conflict {
                field: "revision",
                message: format!(
                    "revision {current} was saved since revision {revision} you read; read what changed and approve revision {current}"
                ),
            })
        }
    }
    // A published post-mortem's new revision becomes public with its approval.
    super::postmortems::advance_published(pool, id, rules.approvals).await?;
    audit_pm(pool, actor, "postmortem.approve", id).await?;
    Ok(())
}

/// Editors may be asked to review.
pub fn may_review(role: Role) -> bool {
    role.scopes().contains(&Scope::PostmortemsWrite)
}
