//! What the post-mortem pages and the editor share: a snapshot shown as a figure, and the texts
//! typed but not yet saved.

use leptos::prelude::*;
use vigil_core::model::postmortem::Snapshot;

use crate::components::time_stack::TimeStack;

/// A snapshot as a figure: the graphs as recorded, and what they show.
#[component]
pub(crate) fn SnapshotFigure(snapshot: Snapshot) -> impl IntoView {
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

/// Text typed but not yet saved, kept in the browser's local storage per post-mortem and base
/// revision, so a closed tab or a crash loses nothing. Browser only; no-ops on the server.
pub mod local_drafts {
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
