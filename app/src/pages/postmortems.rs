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
        AddPostmortemSnapshot, AddPostmortemUpdate, DeletePostmortemSnapshot, DraftPostmortem,
        PublishPostmortem, RestorePostmortemRevision, SavePostmortem, SetSnapshotVisibility,
    },
    components::time_stack::TimeStack,
    pages::incidents::{int_param, HistoryFrame},
};

/// Text typed but not yet saved, kept in the browser's local storage per post-mortem and base
/// revision, so a closed tab or a crash loses nothing. Browser only; no-ops on the server.
mod local_drafts {
    pub fn key(id: i64, revision: i32) -> String {
        format!("vigil-postmortem-{id}-{revision}")
    }

    #[cfg(feature = "hydrate")]
    fn storage() -> Option<web_sys::Storage> {
        leptos::prelude::window().local_storage().ok().flatten()
    }

    #[cfg(feature = "hydrate")]
    pub fn get(key: &str) -> Option<String> {
        storage()?.get_item(key).ok().flatten()
    }

    #[cfg(feature = "hydrate")]
    pub fn set(key: &str, text: &str) {
        if let Some(s) = storage() {
            let _ = s.set_item(key, text);
        }
    }

    /// Forgets every kept text of post-mortem `id` (after a save went through).
    #[cfg(feature = "hydrate")]
    pub fn clear(id: i64) {
        let Some(s) = storage() else { return };
        let prefix = format!("vigil-postmortem-{id}-");
        let n = s.length().unwrap_or(0);
        let keys: Vec<String> = (0..n)
            .filter_map(|i| s.key(i).ok().flatten())
            .filter(|k| k.starts_with(&prefix))
            .collect();
        for k in keys {
            let _ = s.remove_item(&k);
        }
    }

    #[cfg(not(feature = "hydrate"))]
    pub fn get(_key: &str) -> Option<String> {
        None
    }

    #[cfg(not(feature = "hydrate"))]
    pub fn set(_key: &str, _text: &str) {}

    #[cfg(not(feature = "hydrate"))]
    pub fn clear(_id: i64) {}
}

fn state_badge(published: Option<DateTime<Utc>>) -> impl IntoView {
    match published {
        Some(_) => {
            view! { <span class="badge badge-resolved" data-testid="pm-state">"Published"</span> }
        }
        None => view! { <span class="badge badge-scheduled" data-testid="pm-state">"Draft"</span> },
    }
}

/// A snapshot as a figure: the graphs as recorded, and what they show.
#[component]
fn SnapshotFigure(snapshot: Snapshot) -> impl IntoView {
    view! {
        <figure class="snapshot" data-testid="snapshot">
            <TimeStack stack=snapshot.stack/>
            <figcaption>{snapshot.caption}</figcaption>
        </figure>
    }
    // Type-erased: a concrete TimeStack type nested inside every page that shows snapshots
    // overflows the compiler's query depth when the wasm build lays it out.
    .into_any()
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

/// `/ops/postmortems/{id}`: write, preview, publish; snapshots; revisions.
#[component]
pub fn PostmortemEditor() -> impl IntoView {
    let id = int_param("id");
    let save = ServerAction::<SavePostmortem>::new();
    let publish = ServerAction::<PublishPostmortem>::new();
    let snap = ServerAction::<AddPostmortemSnapshot>::new();
    let unsnap = ServerAction::<DeletePostmortemSnapshot>::new();
    let share = ServerAction::<SetSnapshotVisibility>::new();
    let amend = ServerAction::<AddPostmortemUpdate>::new();
    let actions = EditorActions {
        save,
        publish,
        snap,
        unsnap,
        share,
        amend,
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
            )
        },
        |(id, ..)| async move {
            let Some(id) = id else {
                return Ok((None, Vec::new()));
            };
            let pm = get_postmortem(id, true).await?;
            let revisions = get_postmortem_revisions(id).await?;
            Ok::<_, ServerFnError>((pm, revisions))
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
            .map(|e| {
                view! { <p class="form-error" role="alert" data-testid="pm-error">{e.to_string()}</p> }
            })
    };
    view! {
        {error}
        <Transition fallback=|| view! { <p>"Loading…"</p> }>
            {move || data.get().map(|r| match r {
                Err(e) => view! { <p class="form-error">{e.to_string()}</p> }.into_any(),
                Ok((None, _)) => view! { <p>"There is no such post-mortem."</p> }.into_any(),
                Ok((Some(p), revisions)) => editor_view(p, revisions, actions).into_any(),
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
}

fn editor_view(
    p: PostmortemView,
    revisions: Vec<vigil_core::model::postmortem::RevisionSummary>,
    actions: EditorActions,
) -> impl IntoView {
    let EditorActions {
        save,
        publish,
        snap,
        unsnap,
        share,
        amend,
    } = actions;
    view! {
        {heading(&p, &revisions)}
        {text_form(&p, save)}
        {publishing(&p, publish, amend)}
        <h2>"Preview"</h2>
        <article class="markdown panel" data-testid="pm-preview" inner_html=p.html.clone()></article>
        {graphs(&p, snap, unsnap, share)}
        {revision_table(&p, revisions)}
    }
}

/// Title, state, where it belongs, and a warning when conflicting saves wait to be merged.
fn heading(
    p: &PostmortemView,
    revisions: &[vigil_core::model::postmortem::RevisionSummary],
) -> impl IntoView {
    let conflicts = revisions
        .iter()
        .filter(|r| r.kind == RevisionKind::Conflict && r.number > p.revision)
        .count();
    let revision = p.revision;
    view! {
        <h1 data-testid="pm-title">{p.title.clone()}</h1>
        <p>
            {state_badge(p.published_at)}
            {format!(" revision {} · last saved {} by {} · ", p.revision, when(p.updated_at), p.updated_by)}
            <a href=format!("/ops/incidents/{}", p.incident_id)>{format!("incident: {}", p.incident_name)}</a>
            {p.is_published().then(|| view! { " · " <a href=format!("/postmortems/{}", p.id) data-testid="pm-public-link">"Public page"</a> })}
        </p>
        {(conflicts > 0).then(|| view! {
            <p class="notice" role="status" data-testid="pm-conflicts">
                {format!("{conflicts} conflicting save(s) kept after revision {revision} — see the revisions below to merge them.")}
            </p>
        })}
    }
}

/// The Markdown editor. Once hydrated, what is typed is also kept in this browser, and text that
/// was typed but never saved is offered back.
fn text_form(p: &PostmortemView, save: ServerAction<SavePostmortem>) -> impl IntoView {
    let (id, revision, title, body) = (p.id, p.revision, p.title.clone(), p.body.clone());
    let draft_key = local_drafts::key(id, revision);
    let textarea = NodeRef::<leptos::html::Textarea>::new();
    let unsaved = RwSignal::new(None::<String>);
    // Marks the editor once hydrated: from then on typing is kept in this browser.
    let hydrated = RwSignal::new(false);
    Effect::new(move |_| hydrated.set(true));
    {
        let key = draft_key.clone();
        let saved = body.clone();
        // Runs in the browser only (effects do not run on the server).
        Effect::new(move |_| match local_drafts::get(&key) {
            Some(text) if text != saved => unsaved.set(Some(text)),
            _ => {}
        });
    }
    let keep_typing =
        move |ev: leptos::ev::Event| local_drafts::set(&draft_key, &event_target_value(&ev));
    let put_back = move |_| {
        if let (Some(text), Some(el)) = (unsaved.get_untracked(), textarea.get_untracked()) {
            el.set_value(&text);
            unsaved.set(None);
        }
    };
    view! {
        {move || unsaved.get().map(|_| view! {
            <p class="notice" role="status" data-testid="pm-unsaved">
                "This browser kept text you typed here and did not save. "
                <button type="button" on:click=put_back>"Put my unsaved text back"</button>
            </p>
        })}
        <ActionForm action=save attr:class="stack-form editor" attr:data-testid="pm-editor">
            <input type="hidden" name="id" value=id.to_string()/>
            // The revision this text starts from: a save from an older one never overwrites.
            <input type="hidden" name="base_revision" value=revision.to_string()/>
            <label>"Title" <input name="title" value=title required maxlength="200"/></label>
            <label>"Post-mortem (Markdown)"
                <textarea name="body" rows="28" spellcheck="true" class="mono" node_ref=textarea on:input=keep_typing data-kept=move || hydrated.get().then_some("browser")>{body}</textarea>
            </label>
            <button type="submit">"Save revision"</button>
        </ActionForm>
    }
}

/// Publish or take back; once published, amendments go on top, dated.
fn publishing(
    p: &PostmortemView,
    publish: ServerAction<PublishPostmortem>,
    amend: ServerAction<AddPostmortemUpdate>,
) -> impl IntoView {
    let published = p.is_published();
    let (pid, revision) = (p.id, p.revision);
    view! {
        <ActionForm action=publish attr:class="inline" attr:data-testid="pm-publish">
            <input type="hidden" name="id" value=pid.to_string()/>
            <input type="hidden" name="publish" value=(!published).to_string()/>
            <button type="submit">{if published { "Take back to draft" } else { "Publish" }}</button>
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
            let (public, keep) = (s.public, s.keep_addresses);
            view! {
                <SnapshotFigure snapshot=s/>
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
    }
}

/// Every revision, newest first, each linking to its text and what changed.
fn revision_table(
    p: &PostmortemView,
    revisions: Vec<vigil_core::model::postmortem::RevisionSummary>,
) -> impl IntoView {
    let (pid, revision) = (p.id, p.revision);
    view! {
        <h2>"Revisions"</h2>
        <table class="table" data-testid="pm-revisions">
            <thead><tr><th>"#"</th><th>"What"</th><th>"By"</th><th>"When"</th></tr></thead>
            <tbody>
                {revisions.into_iter().map(|r| {
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
                    }
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
    let data = Resource::new(
        move || (id.get(), number.get()),
        |(id, n)| async move {
            match (id, n) {
                (Some(id), Some(n)) => get_postmortem_revision(id, n as i32).await,
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
                            <div class="markdown" data-testid="pm-body" inner_html=p.html.clone()></div>
                            {(!p.snapshots.is_empty()).then(|| view! { <h2>"Graphs"</h2> })}
                            {p.snapshots.into_iter().map(|s| view! { <SnapshotFigure snapshot=s/> }).collect_view()}
                        </article>
                    }.into_any(),
                    Ok(None) => view! { <p data-testid="not-found">"There is no such post-mortem."</p> }.into_any(),
                    Err(e) => view! { <p class="form-error">{e.to_string()}</p> }.into_any(),
                })}
            </Suspense>
        </HistoryFrame>
    }
}
