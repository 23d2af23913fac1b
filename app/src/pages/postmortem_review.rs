//! The review panel of the post-mortem editor: where the review stands, who was asked and what
//! each approved, the section threads with replies, and the forms that ask, comment, resolve
//! and approve. Plain forms, so a review round works without JavaScript.

use leptos::prelude::*;
use vigil_core::model::review::{ReviewState, Thread};

use super::when;
use crate::api::postmortems::{
    ApprovePostmortem, CommentPostmortem, ReplyPostmortem, RequestReview, ResolveThread, ReviewPage,
};

/// Every form the panel posts.
#[derive(Clone, Copy)]
pub struct ReviewActions {
    pub request: ServerAction<RequestReview>,
    pub comment: ServerAction<CommentPostmortem>,
    pub reply: ServerAction<ReplyPostmortem>,
    pub resolve: ServerAction<ResolveThread>,
    pub approve: ServerAction<ApprovePostmortem>,
}

impl Default for ReviewActions {
    fn default() -> Self {
        Self::new()
    }
}

impl ReviewActions {
    pub fn new() -> Self {
        ReviewActions {
            request: ServerAction::new(),
            comment: ServerAction::new(),
            reply: ServerAction::new(),
            resolve: ServerAction::new(),
            approve: ServerAction::new(),
        }
    }

    /// Changes whenever any of them went through, so the page reloads what it shows.
    pub fn version(&self) -> usize {
        self.request.version().get()
            + self.comment.version().get()
            + self.reply.version().get()
            + self.resolve.version().get()
            + self.approve.version().get()
    }

    pub fn error(&self) -> Option<ServerFnError> {
        self.request
            .value()
            .get()
            .and_then(Result::err)
            .or_else(|| self.comment.value().get().and_then(Result::err))
            .or_else(|| self.reply.value().get().and_then(Result::err))
            .or_else(|| self.resolve.value().get().and_then(Result::err))
            .or_else(|| self.approve.value().get().and_then(Result::err))
    }
}

/// The state as a badge; `testid` tells the page's heading from the review panel.
pub fn state_badge(state: ReviewState, testid: &'static str) -> impl IntoView {
    let class = match state {
        ReviewState::Draft => "badge badge-scheduled",
        ReviewState::InReview => "badge badge-investigating",
        ReviewState::Approved => "badge badge-monitoring",
        ReviewState::Published => "badge badge-resolved",
    };
    view! { <span class=class data-testid=testid>{state.label()}</span> }
}

/// The panel. `id` is the post-mortem's.
pub fn review_panel(id: i64, page: ReviewPage, actions: ReviewActions) -> impl IntoView {
    let ReviewPage { review, me, .. } = page;
    let revision = review.revision;
    let waiting = review.waiting_for();
    let mine = review.reviewers.iter().find(|r| r.name == me).cloned();
    let sections = review.sections.clone();
    let open = review.open_threads();
    view! {
        <section class="panel review" data-testid="pm-review" aria-labelledby="review-heading">
            <h2 id="review-heading">"Review"</h2>
            <p>
                {state_badge(review.state, "pm-review-state")}
                {format!(" {} of {} approval(s) of revision {revision}", review.approvals, review.approvals_required)}
                {(open > 0).then(|| format!(" · {open} open thread(s)"))}
            </p>
            {waiting.map(|w| view! { <p class="muted" data-testid="pm-waiting">{capitalise(&w)}"."</p> })}
            {(!review.reviewers.is_empty()).then(|| view! {
                <ul class="plain-list" data-testid="pm-reviewers">
                    {review.reviewers.iter().map(|r| {
                        let said = match (r.approved_revision, r.approves_current) {
                            (Some(_), true) => "approved this revision".to_string(),
                            (Some(n), false) => format!("approved revision {n}; asked again for what changed"),
                            (None, _) => "not approved yet".to_string(),
                        };
                        let since = r.approved_revision.filter(|_| !r.approves_current);
                        view! {
                            <li>
                                <strong>{r.name.clone()}</strong>
                                {format!(" — {said} (asked by {} {})", r.requested_by, when(r.requested_at))}
                                {since.map(|n| view! {
                                    " · " <a href=format!("/ops/postmortems/{id}/revisions/{revision}?since={n}")>{format!("What changed since revision {n}")}</a>
                                })}
                            </li>
                        }
                    }).collect_view()}
                </ul>
            })}
            {mine.filter(|r| !r.approves_current).map(|r| view! {
                <ActionForm action=actions.approve attr:class="inline" attr:data-testid="pm-approve">
                    <input type="hidden" name="id" value=id.to_string()/>
                    <input type="hidden" name="revision" value=revision.to_string()/>
                    <button type="submit">{match r.approved_revision {
                        Some(_) => format!("Approve the changes (revision {revision})"),
                        None => format!("Approve revision {revision}"),
                    }}</button>
                </ActionForm>
            })}
            <details class="inline-details" open=review.reviewers.is_empty()>
                <summary>"Ask for a review"</summary>
                <ActionForm action=actions.request attr:class="inline" attr:data-testid="pm-request-review">
                    <input type="hidden" name="id" value=id.to_string()/>
                    <label>"Reviewers (editors' logins, comma-separated) "
                        <input name="reviewers" required autocomplete="off"/>
                    </label>
                    <button type="submit">"Request review"</button>
                </ActionForm>
            </details>
            <h3>"Comments"</h3>
            {if review.threads.is_empty() {
                view! { <p class="muted">"No comments yet."</p> }.into_any()
            } else {
                view! {
                    <ol class="threads" data-testid="pm-threads">
                        {review.threads.into_iter().map(|t| thread_view(id, revision, t, actions)).collect_view()}
                    </ol>
                }.into_any()
            }}
            <ActionForm action=actions.comment attr:class="stack-form" attr:data-testid="pm-comment">
                <input type="hidden" name="id" value=id.to_string()/>
                <input type="hidden" name="revision" value=revision.to_string()/>
                <label>"Section"
                    <select name="section">
                        {sections.into_iter().map(|s| view! { <option value=s.clone()>{s.clone()}</option> }).collect_view()}
                    </select>
                </label>
                <label>"Comment" <textarea name="body" rows="3" required maxlength="5000"></textarea></label>
                <button type="submit">"Comment"</button>
            </ActionForm>
        </section>
    }
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
        .unwrap_or_default()
}

fn thread_view(id: i64, revision: i32, t: Thread, actions: ReviewActions) -> impl IntoView {
    let thread = t.comment.id;
    let resolved = t.resolved_at.is_some();
    let comment = |c: &vigil_core::model::review::Comment| {
        view! {
            <div class="comment">
                <p class="muted small">{format!("{} · revision {} · {}", c.author, c.revision, when(c.created_at))}</p>
                // Plain text, escaped like any text a person typed.
                <p class="comment-body">{c.body.clone()}</p>
            </div>
        }
    };
    view! {
        <li class="thread" class:resolved=resolved data-testid="pm-thread" data-section=t.section.clone()>
            <p><a href=format!("#{}{}", vigil_core::model::postmortem::ANCHOR_PREFIX, vigil_core::model::review::slug(&t.section))>{t.section.clone()}</a>
                {t.resolved_by.as_ref().map(|by| format!(" — resolved by {by}"))}
            </p>
            {comment(&t.comment)}
            {t.replies.iter().map(comment).collect_view()}
            <div class="thread-actions">
                {(!resolved).then(|| view! {
                    <ActionForm action=actions.reply attr:class="inline">
                        <input type="hidden" name="id" value=id.to_string()/>
                        <input type="hidden" name="revision" value=revision.to_string()/>
                        <input type="hidden" name="thread" value=thread.to_string()/>
                        <label class="sr-only" for=format!("reply-{thread}")>"Reply"</label>
                        <input id=format!("reply-{thread}") name="body" required maxlength="5000" placeholder="Reply"/>
                        <button type="submit" class="secondary">"Reply"</button>
                    </ActionForm>
                })}
                <ActionForm action=actions.resolve attr:class="inline">
                    <input type="hidden" name="id" value=id.to_string()/>
                    <input type="hidden" name="thread" value=thread.to_string()/>
                    <input type="hidden" name="resolved" value=(!resolved).to_string()/>
                    <button type="submit" class="secondary">{if resolved { "Reopen" } else { "Resolve" }}</button>
                </ActionForm>
            </div>
        </li>
    }
}
