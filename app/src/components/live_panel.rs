//! Server time and database state, pushed by the server every second.

use leptos::prelude::*;
use vigil_core::model::live::{DbState, LiveStatus};

use crate::api::get_live_status;

/// Path of the server-sent events stream the panel follows once hydrated.
pub const LIVE_EVENTS_PATH: &str = "/events/live";

#[component]
pub fn LivePanel() -> impl IntoView {
    let initial = Resource::new(|| (), |_| get_live_status());
    let (pushed, set_pushed) = signal(None::<LiveStatus>);
    let (connected, set_connected) = signal(false);

    follow_live_events(set_pushed, set_connected);

    view! {
        <section class="panel live-panel" aria-labelledby="live-heading">
            <h2 id="live-heading">"Vigil itself"</h2>
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {move || {
                    let current = pushed.get().or_else(|| initial.get().and_then(Result::ok));
                    current.map(|s| view! { <LiveFacts status=s/> })
                }}
            </Suspense>
            <p class="live-mode" data-testid="live-mode">
                {move || if connected.get() { "Live: updates every second" } else { "Static snapshot: reload to refresh" }}
            </p>
        </section>
    }
}

#[component]
fn LiveFacts(status: LiveStatus) -> impl IntoView {
    let db_class = match &status.db {
        DbState::Connected { .. } => "state state-up",
        DbState::Unreachable { .. } => "state state-down",
        DbState::Unknown => "state state-unknown",
    };
    view! {
        <dl class="facts">
            <dt>"Server time (UTC)"</dt>
            <dd>
                <time data-testid="server-time" datetime=status.server_time.to_rfc3339()>
                    {status.server_time.format("%Y-%m-%d %H:%M:%S").to_string()}
                </time>
            </dd>
            <dt>"Database"</dt>
            <dd data-testid="db-state" class=db_class>{status.db.describe()}</dd>
            <dt>"Tick"</dt>
            <dd data-testid="live-seq">{status.seq}</dd>
        </dl>
    }
}

#[cfg(feature = "hydrate")]
fn follow_live_events(
    set_pushed: WriteSignal<Option<LiveStatus>>,
    set_connected: WriteSignal<bool>,
) {
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
                set_pushed.set(Some(status));
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
fn follow_live_events(_: WriteSignal<Option<LiveStatus>>, _: WriteSignal<bool>) {}
