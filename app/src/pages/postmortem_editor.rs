//! The writing surface of `/ops/postmortems/{id}`: a full-height Markdown editor beside a preview
//! that follows typing (rendered on the server by the sanitizer the published page uses), a
//! section outline, snapshots placed where the text refers to them, and who else has it open.
//!
//! Without JavaScript it is the same form: the preview shows the saved text, the outline links
//! jump to the preview's headings, and a snapshot is placed by typing its `{{snapshot:N}}` line.

use leptos::prelude::*;
use vigil_core::model::{
    postmortem::{parts, snapshot_ref, Part, PostmortemView, Snapshot, ANCHOR_PREFIX},
    review::{headings, slug},
};

use super::postmortem_parts::{local_drafts, SnapshotFigure};
use crate::{api::postmortems::SavePostmortem, components::live_feed::use_live_feed};

/// What the graphs panel needs to put a snapshot into the text being written.
#[derive(Clone, Copy)]
pub struct TextHandle {
    textarea: NodeRef<leptos::html::Textarea>,
    body: RwSignal<String>,
    draft_key: StoredValue<String>,
}

impl TextHandle {
    /// Puts `{{snapshot:N}}` on a line of its own at the cursor (or the end).
    pub fn insert_snapshot(&self, id: i64) {
        let Some(el) = self.textarea.get_untracked() else {
            return;
        };
        let text = el.value();
        // The cursor is in UTF-16 units; find the byte offset it stands for.
        let at16 = el.selection_start().ok().flatten().unwrap_or(0) as usize;
        let mut units = 0;
        let at = text
            .char_indices()
            .find(|(_, c)| {
                let here = units >= at16;
                units += c.len_utf16();
                here
            })
            .map_or(text.len(), |(i, _)| i);
        let line_start = text[..at].rfind('\n').map_or(0, |i| i + 1);
        let (before, after) = text.split_at(line_start);
        let placed = format!("{before}{}\n\n{after}", snapshot_ref(id));
        el.set_value(&placed);
        local_drafts::set(&self.draft_key.get_value(), &placed);
        self.body.set(placed);
        let _ = el.focus();
    }
}

/// Title, outline, text and the live preview, side by side.
pub fn text_form(p: &PostmortemView, save: ServerAction<SavePostmortem>) -> (AnyView, TextHandle) {
    let (id, revision, title, saved) = (p.id, p.revision, p.title.clone(), p.body.clone());
    let draft_key = StoredValue::new(local_drafts::key(id, revision));
    let textarea = NodeRef::<leptos::html::Textarea>::new();
    let body = RwSignal::new(saved.clone());
    let html = RwSignal::new(p.html.clone());
    let handle = TextHandle {
        textarea,
        body,
        draft_key,
    };
    let unsaved = RwSignal::new(None::<String>);
    // Marks the editor once hydrated: from then on typing is kept in this browser.
    let hydrated = RwSignal::new(false);
    Effect::new(move |_| hydrated.set(true));
    {
        let saved = saved.clone();
        // Runs in the browser only (effects do not run on the server).
        Effect::new(move |_| match local_drafts::get(&draft_key.get_value()) {
            Some(text) if text != saved => unsaved.set(Some(text)),
            _ => {}
        });
    }
    follow_typing(body, html);
    let on_input = move |ev: leptos::ev::Event| {
        let text = event_target_value(&ev);
        local_drafts::set(&draft_key.get_value(), &text);
        body.set(text);
    };
    let put_back = move |_| {
        if let (Some(text), Some(el)) = (unsaved.get_untracked(), textarea.get_untracked()) {
            el.set_value(&text);
            body.set(text);
            unsaved.set(None);
        }
    };
    let snapshots = p.snapshots.clone();
    let view = view! {
        {move || unsaved.get().map(|_| view! {
            <p class="notice" role="status" data-testid="pm-unsaved">
                "This browser kept text you typed here and did not save. "
                <button type="button" on:click=put_back>"Put my unsaved text back"</button>
            </p>
        })}
        <div class="editor-grid">
            <ActionForm action=save attr:class="editor editor-pane" attr:data-testid="pm-editor">
                <input type="hidden" name="id" value=id.to_string()/>
                // The revision this text starts from: a save from an older one never overwrites.
                <input type="hidden" name="base_revision" value=revision.to_string()/>
                <label>"Title" <input name="title" value=title required maxlength="200"/></label>
                {outline(body, textarea)}
                <label class="editor-text">"Post-mortem (Markdown)"
                    <textarea name="body" spellcheck="true" class="mono" node_ref=textarea on:input=on_input data-kept=move || hydrated.get().then_some("browser")>{saved}</textarea>
                </label>
                <p class="editor-actions">
                    <button type="submit">"Save revision"</button>
                    <span class="muted small">
                        {move || if hydrated.get() { "The preview follows your typing; nothing is saved until you save." } else { "The preview shows the saved text." }}
                    </span>
                </p>
            </ActionForm>
            <section class="preview-pane panel" aria-label="Preview">
                <h2 class="sr-only">"Preview"</h2>
                <article class="markdown" data-testid="pm-preview">
                    {move || placed(&html.get(), &snapshots, true)}
                </article>
            </section>
        </div>
    }
    .into_any();
    (view, handle)
}

/// The rendered text with each `{{snapshot:N}}` line replaced by that snapshot's figure.
/// `say_missing`: editors are told of a reference to a snapshot that is not there; the public
/// page just leaves it out.
pub fn placed(html: &str, snapshots: &[Snapshot], say_missing: bool) -> AnyView {
    parts(html)
        .into_iter()
        .map(|part| match part {
            Part::Html(h) => view! { <div inner_html=h></div> }.into_any(),
            Part::Snapshot(id) => match snapshots.iter().find(|s| s.id == id) {
                Some(s) => view! { <SnapshotFigure snapshot=s.clone()/> }.into_any(),
                None if say_missing => view! {
                    <p class="notice">{format!("{} — there is no such snapshot in this post-mortem.", snapshot_ref(id))}</p>
                }
                .into_any(),
                None => ().into_any(),
            },
        })
        .collect_view()
        .into_any()
}

/// The template's headings as links: to the preview's heading (works without JavaScript) and,
/// once hydrated, to the heading's line in the text.
fn outline(body: RwSignal<String>, textarea: NodeRef<leptos::html::Textarea>) -> impl IntoView {
    view! {
        <nav class="outline" aria-label="Sections" data-testid="pm-outline">
            {move || {
                let text = body.get();
                let total = text.lines().count().max(1);
                headings(&text).into_iter().map(|(line, h)| {
                    let offset: usize = text.lines().take(line).map(|l| l.encode_utf16().count() + 1).sum();
                    let jump = move |_| {
                        if let Some(el) = textarea.get_untracked() {
                            let _ = el.focus();
                            let _ = el.set_selection_range(offset as u32, offset as u32);
                            let top = f64::from(el.scroll_height()) * line as f64 / total as f64;
                            el.set_scroll_top(top as i32 - 8);
                        }
                    };
                    let href = format!("#{ANCHOR_PREFIX}{}", slug(&h));
                    view! { <a href=href on:click=jump>{h}</a> }
                }).collect_view()
            }}
        </nav>
    }
}

/// Once the text changes, asks the server to render it (the published page's sanitizer) a
/// moment after typing pauses; only the newest answer is shown.
fn follow_typing(body: RwSignal<String>, html: RwSignal<String>) {
    #[cfg(feature = "hydrate")]
    {
        let generation = StoredValue::new(0u64);
        Effect::new(move |first: Option<()>| {
            let text = body.get();
            if first.is_none() {
                return;
            }
            let mine = generation.get_value() + 1;
            generation.set_value(mine);
            // A save re-renders the editor and disposes these values while a timer or a request
            // may still be pending: `try_` reads and writes turn that into "nothing to do".
            let newest = move || generation.try_get_value() == Some(mine);
            set_timeout(
                move || {
                    if !newest() {
                        return;
                    }
                    leptos::task::spawn_local(async move {
                        if let Ok(h) = crate::api::postmortems::preview_postmortem(text).await {
                            if newest() {
                                let _ = html.try_set(h);
                            }
                        }
                    });
                },
                std::time::Duration::from_millis(300),
            );
        });
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (body, html);
}

/// "Also open now: …" — others who have this editor open, from the live feed. The page says it
/// is open every 10 s while it is.
pub fn presence(id: i64) -> impl IntoView {
    let me = RwSignal::new(None::<String>);
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| {
        let beat = move || {
            leptos::task::spawn_local(async move {
                if let Ok(who) = crate::api::postmortems::mark_editing(id).await {
                    // The page may have moved on while the request was out.
                    let _ = me.try_set(Some(who));
                }
            })
        };
        beat();
        if let Ok(handle) = set_interval_with_handle(beat, std::time::Duration::from_secs(10)) {
            on_cleanup(move || handle.clear());
        }
    });
    let feed = use_live_feed();
    let others = move || {
        let me = me.get()?;
        let status = feed.latest.get()?;
        let editing = status.editing.iter().find(|e| e.postmortem_id == id)?;
        let others: Vec<String> = editing.who.iter().filter(|w| **w != me).cloned().collect();
        (!others.is_empty()).then_some(others)
    };
    view! {
        {move || others().map(|o| view! {
            <p class="notice" role="status" data-testid="pm-presence">
                {format!("Also open now: {}. Say so before you both edit — a save from an older revision is kept aside, never lost.", o.join(", "))}
            </p>
        })}
    }
}
