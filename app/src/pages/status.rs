//! The public status page: the first thing people open during an outage.

use leptos::prelude::*;

use crate::components::live_panel::LivePanel;

#[component]
pub fn StatusPage() -> impl IntoView {
    view! {
        <header class="site-header">
            <a class="brand" href="/">"Vigil"</a>
            <span class="tagline">"Service status"</span>
        </header>
        <main class="page">
            <section class="banner banner-unknown" role="status" data-testid="banner">
                <strong>"No monitors configured yet"</strong>
                <span>" — add monitors to the configuration file to publish their status here."</span>
            </section>
            <LivePanel/>
        </main>
        <footer class="site-footer">
            <span>"Powered by Vigil"</span>
        </footer>
    }
}
