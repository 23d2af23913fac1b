//! Server time and database state, pushed by the server every second.

use leptos::prelude::*;
use vigil_core::model::live::{DbState, LiveStatus};

use super::live_feed::use_live_feed;
use crate::api::get_live_status;

#[component]
pub fn LivePanel() -> impl IntoView {
    let initial = Resource::new(|| (), |_| get_live_status());
    let feed = use_live_feed();

    view! {
        <section class="panel live-panel" aria-labelledby="live-heading">
            <h2 id="live-heading">"Vigil itself"</h2>
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {move || {
                    let current = feed.latest.get().or_else(|| initial.get().and_then(Result::ok));
                    current.map(|s| view! { <LiveFacts status=s/> })
                }}
            </Suspense>
            <p class="live-mode" data-testid="live-mode">
                {move || if feed.connected.get() { "Live: updates every second" } else { "Static snapshot: reload to refresh" }}
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
