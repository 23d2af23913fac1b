//! The page's one connection to the server's live feed (server-sent events), shared by every
//! component that shows something live.

use leptos::prelude::*;
use vigil_core::model::live::LiveStatus;

/// Path of the server-sent events stream.
pub const LIVE_EVENTS_PATH: &str = "/events/live";

#[derive(Clone, Copy)]
pub struct LiveFeed {
    /// The latest status pushed, once the stream delivered one.
    pub latest: ReadSignal<Option<LiveStatus>>,
    /// True while the stream is open.
    pub connected: ReadSignal<bool>,
}

/// Opens the stream (in the browser only) and provides the feed to the components below.
pub fn provide_live_feed() -> LiveFeed {
    let (latest, set_latest) = signal(None::<LiveStatus>);
    let (connected, set_connected) = signal(false);
    follow(set_latest, set_connected);
    let feed = LiveFeed { latest, connected };
    provide_context(feed);
    feed
}

pub fn use_live_feed() -> LiveFeed {
    use_context::<LiveFeed>().unwrap_or_else(provide_live_feed)
}

/// A value that moves when the server recorded something new — at most every 5 s of server time,
/// however busy an outage gets — and every 15 s regardless; None while `paused` (a fixed
/// window, a closed incident). What live views refetch on.
pub fn freshness(paused: impl Fn() -> bool + Send + Sync + 'static) -> Memo<Option<(i64, i64)>> {
    let feed = use_live_feed();
    Memo::new(move |prev: Option<&Option<(i64, i64)>>| {
        if paused() {
            return None;
        }
        let l = feed.latest.get()?;
        let now = l.server_time.timestamp();
        match prev.copied().flatten() {
            Some((version, at))
                if now - at < 5 || (version == l.status_version && now - at < 15) =>
            {
                Some((version, at))
            }
            _ => Some((l.status_version, now)),
        }
    })
}

#[cfg(feature = "hydrate")]
fn follow(set_latest: WriteSignal<Option<LiveStatus>>, set_connected: WriteSignal<bool>) {
    use wasm_bindgen::{closure::Closure, JsCast};
    use web_sys::{EventSource, MessageEvent};

    Effect::new(move |_| {
        let Ok(source) = EventSource::new(LIVE_EVENTS_PATH) else {
            return;
        };
        let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |ev: MessageEvent| {
            let Some(text) = ev.data().as_string() else {
                return;
            };
            if let Ok(status) = serde_json::from_str::<LiveStatus>(&text) {
                set_latest.set(Some(status));
                set_connected.set(true);
            }
        });
        source.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        let on_error = Closure::<dyn FnMut()>::new(move || set_connected.set(false));
        source.set_onerror(Some(on_error.as_ref().unchecked_ref()));
        // The browser reconnects an EventSource by itself; the closures live as long as the page.
        on_message.forget();
        on_error.forget();
        // EventSource is not Send; cleanup runs on the same (only) browser thread.
        let source = send_wrapper::SendWrapper::new(source);
        on_cleanup(move || source.close());
    });
}

#[cfg(not(feature = "hydrate"))]
fn follow(_: WriteSignal<Option<LiveStatus>>, _: WriteSignal<bool>) {}
