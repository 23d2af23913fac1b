//! Post-mortems: the editors' list and editor under `/ops/postmortems`, the revision history with
//! diffs, and the public page of a published one. Plain forms throughout, so writing works without
//! JavaScript. The Markdown is rendered and sanitized on the server; pages only place that HTML.

use chrono::{DateTime, Utc};
use leptos::prelude::*;

use super::when;
use vigil_core::model::postmortem::{PostmortemView, RevisionKind, Snapshot};

use crate::{
    api::postmortems::{
        get_postmortem, get_postmortem_revision, get_postmortem_revisions, get_postmortems,
        get_review, AddPostmortemSnapshot, AddPostmortemUpdate, DeletePostmortemSnapshot,
        DraftPostmortem, PublishPostmortem, RestorePostmortemRevision, ReviewPage, SavePostmortem,
        SetSnapshotVisibility,
    },
    pages::{
        incidents::{int_param, HistoryFrame},
        postmortem_editor::{placed, presence, text_form, TextHandle},
        postmortem_parts::{local_drafts, SnapshotFigure},
        postmortem_review::{review_panel, ReviewActions},
    },
};

fn state_badge(published: Option<DateTime<Utc>>) -> impl IntoView {
    match published {
        Some(_) => {
            view! { <span class="badge badge-resolved" data-testid="pm-state">"Published"</span> }
        }
        None => view! { <span class="badge badge-scheduled" data-testid="pm-state">"Draft"</span> },
    }
}

/// `/ops/postmortems`: every post-mortem, and incidents still waiting for one.
#[component]
pub fn PostmortemsPage() -> impl IntoView {
    let draft = ServerAction::<DraftPostmortem>::new();
    let data = Resource::new(move || draft.version().get(), |_| get_postmortems());
    view! {
        <h1>"Post-mortems"</h1>
        {move || draft.value().get().and_then(Result::err).map(|e| view! {
            <p class="form-error" role="alert">{e.to_string()}</p>
        })}
        <Transition fallback=|| view! { <p>"Loading…"</p> }>
            {move || data.get().map(|r| match r {
                Err(e) => view! { <p class="form-error">{e.to_string()}</p> }.into_any(),
                Ok(page) => view! {
                    {if page.postmortems.is_empty() {
                        view! { <p class="muted">"No post-mortems yet."</p> }.into_any()
                    } else {
                        view! {
                            <table class="table" data-testid="postmortems-table">
                                <thead><tr><th>"Post-mortem"</th><th>"Incident"</th><th>"State"</th><th>"Revision"</th><th>"Last saved"</th></tr></thead>
                                <tbody>
                                    {page.postmortems.into_iter().map(|p| view! {
                                        <tr>
                                            <td><a href=format!("/ops/postmortems/{}", p.id)>{p.title}</a></td>
                                            <td><a href=format!("/ops/incidents/{}", p.incident_id)>{p.incident_name}</a></td>
                                            <td>{state_badge(p.published_at)}</td>
                                            <td>{p.revision}</td>
                                            <td>{format!("{} by {}", when(p.updated_at), p.updated_by)}</td>
                                        </tr>
                                    }).collect_view()}
                                </tbody>
                            </table>
                        }.into_any()
                    }}
                    <h2>"Incidents without a post-mortem"</h2>
                    {if page.without.is_empty() {
                        view! { <p class="muted">"Every incident has one."</p> }.into_any()
                    } else {
                        view! {
                            <ul class="plain-list" data-testid="incidents-without">
                                {page.without.into_iter().map(|(id, name, started)| view! {
                                    <li>
                                        <ActionForm action=draft attr:class="inline">
                                            <input type="hidden" name="incident_id" value=id.to_string()/>
                                            <a href=format!("/ops/incidents/{id}")>{name}</a>
                                            <span class="muted">{format!(" {} ", when(started))}</span>
                                            <button type="submit">"Draft post-mortem"</button>
                                        </ActionForm>
                                    </li>
                                }).collect_view()}
                            </ul>
                        }.into_any()
                    }}
                }.into_any(),
            })}
        </Transition>
    }
}

fn local_input(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M").to_string()
}

/// `/ops/postmortems/{id}`: write beside a live preview, review, publish; snapshots; revisions.
#[component]
pub fn PostmortemEditor() -> impl IntoView {
    let id = int_param("id");
    let save = ServerAction::<SavePostmortem>::new();
    let publish = ServerAction::<PublishPostmortem>::new();
    let snap = ServerAction::<AddPostmortemSnapshot>::new();
    let unsnap = ServerAction::<DeletePostmortemSnapshot>::new();
    let share = ServerAction::<SetSnapshotVisibility>::new();
    let amend = ServerAction::<AddPostmortemUpdate>::new();
    let review = ReviewActions::new();
    let actions = EditorActions {
        save,
        publish,
        snap,
        unsnap,
        share,
        amend,
        review,
    };
    let data = Resource::new(
        move || {
            (
                id.get(),
                save.version().get(),
                publish.version().get(),
                snap.version().get(),
                unsnap.version().get(),
                share.version().get(),
                amend.version().get(),
                review.version(),
            )
        },
        |(id, ..)| async move {
            let Some(id) = id else {
                return Ok((None, Vec::new(), None));
            };
            let pm = get_postmortem(id, true).await?;
            let revisions = get_postmortem_revisions(id).await?;
            let review = get_review(id).await?;
            Ok::<_, ServerFnError>((pm, revisions, review))
        },
    );
    // A save that went through makes the browser's kept copy redundant.
    Effect::new(move |_| {
        if let (Some(Ok(_)), Some(id)) = (save.value().get(), id.get_untracked()) {
            local_drafts::clear(id);
        }
    });
    let error = move || {
        save.value()
            .get()
            .and_then(|r| r.err())
            .or_else(|| publish.value().get().and_then(Result::err))
            .or_else(|| snap.value().get().and_then(Result::err))
            .or_else(|| unsnap.value().get().and_then(Result::err))
            .or_else(|| share.value().get().and_then(Result::err))
            .or_else(|| amend.value().get().and_then(Result::err))
            .or_else(|| review.error())
            .map(|e| {
                view! { <p class="form-error" role="alert" data-testid="pm-error">{e.to_string()}</p> }
            })
    };
    view! {
        {error}
        {move || id.get().map(presence)}
        <Transition fallback=|| view! { <p>"Loading…"</p> }>
            {move || data.get().map(|r| match r {
                Err(e) => view! { <p class="form-error">{e.to_string()}</p> }.into_any(),
                Ok((Some(p), revisions, Some(review))) => editor_view(p, revisions, review, actions).into_any(),
                Ok(_) => view! { <p>"There is no such post-mortem."</p> }.into_any(),
            })}
        </Transition>
    }
}

/// Every form the editor posts, each its own server action.
#[derive(Clone, Copy)]
struct EditorActions {
    save: ServerAction<SavePostmortem>,
    publish: ServerAction<PublishPostmortem>,
    snap: ServerAction<AddPostmortemSnapshot>,
    unsnap: ServerAction<DeletePostmortemSnapshot>,
    share: ServerAction<SetSnapshotVisibility>,
    amend: ServerAction<AddPostmortemUpdate>,
    review: ReviewActions,
}

fn editor_view(
    p: PostmortemView,
    revisions: Vec<vigil_core::model::postmortem::RevisionSummary>,
    review: ReviewPage,
    actions: EditorActions,
) -> impl IntoView {
    let EditorActions {
        save,
        publish,
        snap,
        unsnap,
        share,
        amend,
        review: review_actions,
    } = actions;
    let (text, handle) = text_form(&p, save);
    let waiting = review.review.waiting_for();
    let history = review.history.clone();
    view! {
        {heading(&p, &revisions, &review)}
        {text}
        {publishing(&p, waiting, publish, amend)}
        {review_panel(p.id, review, review_actions)}
        {graphs(&p, handle, snap, unsnap, share)}
        {revision_table(&p, revisions, history)}
    }
}

/// Title, state, where it belongs, and a warning when conflicting saves wait to be merged.
fn heading(
    p: &PostmortemView,
    revisions: &[vigil_core::model::postmortem::RevisionSummary],
    review: &ReviewPage,
) -> impl IntoView {
    let conflicts = revisions
        .iter()
        .filter(|r| r.kind == RevisionKind::Conflict && r.number > p.revision)
        .count();
    let revision = p.revision;
    view! {
        <h1 data-testid="pm-title">{p.title.clone()}</h1>
        <p class="pm-meta">
            {super::postmortem_review::state_badge(review.review.state, "pm-state")}
            {format!(" revision {} · last saved {} by {} · ", p.revision, when(p.updated_at), p.updated_by)}
            <a href=format!("/ops/incidents/{}", p.incident_id)>{format!("incident: {}", p.incident_name)}</a>
            {p.is_published().then(|| view! { " · " <a href=format!("/postmortems/{}", p.id) data-testid="pm-public-link">"Public page"</a> })}
            " · " <a href=format!("/api/v1/incidents/{}/postmortem/export", p.incident_id) download data-testid="pm-export">"Download (Markdown and SVG, zipped)"</a>
            <span class="muted small print-hint">" · Printing this page (or Save as PDF) gives the document alone."</span>
        </p>
        {(conflicts > 0).then(|| view! {
            <p class="notice" role="status" data-testid="pm-conflicts">
                {format!("{conflicts} conflicting save(s) kept after revision {revision} — see the revisions below to merge them.")}
            </p>
        })}
    }
}

/// Publish or take back; once published, amendments go on top, dated.
fn publishing(
    p: &PostmortemView,
    waiting: Option<String>,
    publish: ServerAction<PublishPostmortem>,
    amend: ServerAction<AddPostmortemUpdate>,
) -> impl IntoView {
    let published = p.is_published();
    let (pid, revision) = (p.id, p.revision);
    // Publishing waits for the review; taking back never does.
    let blocked = !published && waiting.is_some();
    view! {
        <ActionForm action=publish attr:class="inline" attr:data-testid="pm-publish">
            <input type="hidden" name="id" value=pid.to_string()/>
            <input type="hidden" name="publish" value=(!published).to_string()/>
            <button type="submit" disabled=blocked title=waiting.clone().unwrap_or_default()>{if published { "Take back to draft" } else { "Publish" }}</button>
        </ActionForm>
        {published.then(|| view! {
            <details class="panel">
                <summary>"Amend the published post-mortem"</summary>
                <ActionForm action=amend attr:class="stack-form" attr:data-testid="pm-amend">
                    <input type="hidden" name="id" value=pid.to_string()/>
                    <input type="hidden" name="base_revision" value=revision.to_string()/>
                    <label>"Update (goes on top, dated today)" <textarea name="update" rows="2" required></textarea></label>
                    <button type="submit">"Add update"</button>
                </ActionForm>
            </details>
        })}
    }
}

/// The snapshots, who may see each, and the form that takes another.
fn graphs(
    p: &PostmortemView,
    text: TextHandle,
    snap: ServerAction<AddPostmortemSnapshot>,
    unsnap: ServerAction<DeletePostmortemSnapshot>,
    share: ServerAction<SetSnapshotVisibility>,
) -> impl IntoView {
    let pid = p.id;
    let (default_from, default_to) = p
        .snapshots
        .first()
        .map(|s| (s.stack.from, s.stack.to))
        .unwrap_or_else(|| {
            let now = Utc::now();
            (now - chrono::Duration::hours(1), now)
        });
    view! {
        <section class="pm-graphs no-print">
        <h2>"Graphs"</h2>
        <p class="muted">"Kept as Vigil recorded them when taken, so they outlive Grafana, retention and the incident."</p>
        {p.snapshots.iter().cloned().map(|s| {
            let sid = s.id.to_string();
            let visibility = match (s.public, s.keep_addresses) {
                (false, _) => "Private: not on the public post-mortem",
                (true, false) => "Public, with addresses left out",
                (true, true) => "Public, with addresses as recorded",
            };
            // One small form per choice: plain posts, so it works without JavaScript.
            let choice = move |public: bool, keep: bool, label: &'static str| {
                let sid = s.id.to_string();
                view! {
                    <ActionForm action=share attr:class="inline">
                        <input type="hidden" name="id" value=pid.to_string()/>
                        <input type="hidden" name="snapshot" value=sid/>
                        <input type="hidden" name="public" value=public.to_string()/>
                        <input type="hidden" name="keep_addresses" value=keep.to_string()/>
                        <button type="submit" class="secondary">{label}</button>
                    </ActionForm>
                }
            };
            let (public, keep, snapshot) = (s.public, s.keep_addresses, s.id);
            let hydrated = RwSignal::new(false);
            Effect::new(move |_| hydrated.set(true));
            view! {
                <SnapshotFigure snapshot=s/>
                <p class="muted" data-testid="snapshot-ref">
                    "To show it in the text, put "
                    <code>{vigil_core::model::postmortem::snapshot_ref(snapshot)}</code>
                    " on a line of its own. "
                    {move || hydrated.get().then(|| view! {
                        <button type="button" class="secondary" on:click=move |_| text.insert_snapshot(snapshot)>"Insert at the cursor"</button>
                    })}
                </p>
                <p class="muted" data-testid="snapshot-visibility">{visibility}</p>
                {(!public || keep).then(|| choice(true, false, "Show publicly without addresses"))}
                {(!public || !keep).then(|| choice(true, true, "Show publicly with addresses"))}
                {public.then(|| choice(false, false, "Keep private"))}
                <ActionForm action=unsnap attr:class="inline">
                    <input type="hidden" name="id" value=pid.to_string()/>
                    <input type="hidden" name="snapshot" value=sid/>
                    <button type="submit" class="secondary">"Remove this snapshot"</button>
                </ActionForm>
            }
        }).collect_view()}
        <details class="panel">
            <summary>"Add a snapshot"</summary>
            <ActionForm action=snap attr:class="stack-form" attr:data-testid="pm-snapshot">
                <input type="hidden" name="id" value=pid.to_string()/>
                <label>"Caption" <input name="caption" required maxlength="200"/></label>
                <label>"From (UTC)" <input type="datetime-local" name="from" value=local_input(default_from) required/></label>
                <label>"To (UTC)" <input type="datetime-local" name="to" value=local_input(default_to) required/></label>
                <button type="submit">"Take snapshot"</button>
            </ActionForm>
        </details>
        </section>
    }
}

/// Every revision, newest first, each linking to its text and what changed.
fn revision_table(
    p: &PostmortemView,
    revisions: Vec<vigil_core::model::postmortem::RevisionSummary>,
    review: Vec<vigil_core::model::review::ReviewEvent>,
) -> impl IntoView {
    let (pid, revision) = (p.id, p.revision);
    // Saves and review actions in one history, newest first.
    enum Line {
        Saved(vigil_core::model::postmortem::RevisionSummary),
        Reviewed(vigil_core::model::review::ReviewEvent),
    }
    let mut lines: Vec<(DateTime<Utc>, Line)> = revisions
        .into_iter()
        .map(|r| (r.created_at, Line::Saved(r)))
        .chain(review.into_iter().map(|e| (e.at, Line::Reviewed(e))))
        .collect();
    lines.sort_by_key(|l| std::cmp::Reverse(l.0));
    view! {
        <h2 class="no-print">"Revisions and review"</h2>
        <table class="table" data-testid="pm-revisions">
            <thead><tr><th>"#"</th><th>"What"</th><th>"By"</th><th>"When"</th></tr></thead>
            <tbody>
                {lines.into_iter().map(|(_, line)| match line {
                    Line::Saved(r) => {
                        let current = r.number == revision;
                        view! {
                            <tr class:current=current data-kind=r.kind.as_str()>
                                <td><a href=format!("/ops/postmortems/{}/revisions/{}", pid, r.number)>{r.number}</a></td>
                                <td>
                                    {r.kind.describe()}
                                    {r.based_on.map(|b| format!(" (from revision {b})"))}
                                    {current.then_some(" — current")}
                                </td>
                                <td>{r.author}</td>
                                <td>{when(r.created_at)}</td>
                            </tr>
                        }.into_any()
                    }
                    Line::Reviewed(e) => view! {
                        <tr class="review-event" data-kind="review" data-action=e.action.clone()>
                            <td class="muted">{e.revision}</td>
                            <td>{e.describe()}</td>
                            <td>{e.who.clone()}</td>
                            <td>{when(e.at)}</td>
                        </tr>
                    }.into_any(),
                }).collect_view()}
            </tbody>
        </table>
    }
}

/// `/ops/postmortems/{id}/revisions/{n}`: one revision, what changed, and a way back to it.
#[component]
pub fn RevisionPage() -> impl IntoView {
    let id = int_param("id");
    let number = int_param("n");
    let restore = ServerAction::<RestorePostmortemRevision>::new();
    // `?since=N`: what changed since revision N (a reviewer's last approval).
    let query = leptos_router::hooks::use_query_map();
    let since = Memo::new(move |_| {
        query
            .read()
            .get("since")
            .and_then(|s| s.parse::<i32>().ok())
    });
    let data = Resource::new(
        move || (id.get(), number.get(), since.get()),
        |(id, n, since)| async move {
            match (id, n) {
                (Some(id), Some(n)) => get_postmortem_revision(id, n as i32, since).await,
                _ => Ok(None),
            }
        },
    );
    view! {
        {move || restore.value().get().and_then(Result::err).map(|e| view! {
            <p class="form-error" role="alert">{e.to_string()}</p>
        })}
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || data.get().map(|r| match r {
                Err(e) => view! { <p class="form-error">{e.to_string()}</p> }.into_any(),
                Ok(None) => view! { <p>"There is no such revision."</p> }.into_any(),
                Ok(Some(r)) => {
                    let s = r.summary.clone();
                    let back = format!("/ops/postmortems/{}", r.postmortem_id);
                    view! {
                        <h1>{format!("Revision {} — {}", s.number, s.title)}</h1>
                        <p>
                            {format!("{} by {} at {}", s.kind.describe(), s.author, when(s.created_at))}
                            {r.compared_with.map(|c| format!(" · compared with revision {c}"))}
                            " · " <a href=back>"Back to the post-mortem"</a>
                        </p>
                        {(s.number != r.current).then(|| view! {
                            <ActionForm action=restore attr:class="inline" attr:data-testid="pm-restore">
                                <input type="hidden" name="id" value=r.postmortem_id.to_string()/>
                                <input type="hidden" name="number" value=s.number.to_string()/>
                                <input type="hidden" name="base_revision" value=r.current.to_string()/>
                                <button type="submit">{format!("Make this current again (replacing revision {})", r.current)}</button>
                            </ActionForm>
                        })}
                        <h2>"Changes"</h2>
                        <pre class="diff" data-testid="pm-diff">
                            {r.diff.into_iter().map(|l| {
                                let class = match l.tag { '+' => "diff-add", '-' => "diff-del", _ => "diff-same" };
                                view! { <span class=class>{format!("{} {}\n", l.tag, l.text)}</span> }
                            }).collect_view()}
                        </pre>
                        <details>
                            <summary>"Whole text of this revision"</summary>
                            <pre class="mono" data-testid="pm-revision-body">{r.body}</pre>
                        </details>
                    }.into_any()
                }
            })}
        </Suspense>
    }
}

/// `/postmortems/{id}`: a published post-mortem, public.
#[component]
pub fn PublicPostmortemPage() -> impl IntoView {
    let id = int_param("id");
    let data = Resource::new(
        move || id.get(),
        |id| async move {
            match id {
                Some(id) => get_postmortem(id, false).await,
                None => Ok(None),
            }
        },
    );
    view! {
        <crate::PageTitle text="Post-mortem"/>
        <HistoryFrame>
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {move || data.get().map(|r| match r {
                    Ok(Some(p)) => view! {
                        <article class="postmortem">
                            <h1 data-testid="pm-title">{p.title.clone()}</h1>
                            <p class="muted">
                                {format!(
                                    "Published {} · by {} · ",
                                    p.published_at.map(when).unwrap_or_default(),
                                    // Display names (or "Vigil"): the server never sends logins here.
                                    p.authors.join(", ")
                                )}
                                <a href=format!("/incidents/{}", p.incident_id)>{format!("incident: {}", p.incident_name)}</a>
                            </p>
                            <div class="markdown" data-testid="pm-body">{placed(&p.html, &p.snapshots, false)}</div>
                            {
                                // Snapshots the text does not place come after it.
                                let inline = vigil_core::model::postmortem::placed_snapshots(&p.html);
                                let rest: Vec<Snapshot> = p.snapshots.into_iter().filter(|s| !inline.contains(&s.id)).collect();
                                view! {
                                    {(!rest.is_empty()).then(|| view! { <h2>"Graphs"</h2> })}
                                    {rest.into_iter().map(|s| view! { <SnapshotFigure snapshot=s/> }).collect_view()}
                                }
                            }
                        </article>
                    }.into_any(),
                    Ok(None) => view! { <p data-testid="not-found">"There is no such post-mortem."</p> }.into_any(),
                    Err(e) => view! { <p class="form-error">{e.to_string()}</p> }.into_any(),
                })}
            </Suspense>
        </HistoryFrame>
    }
}
