use leptos::prelude::*;

#[component]
pub fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    {
        if let Some(resp) = use_context::<leptos_axum::ResponseOptions>() {
            resp.set_status(http::StatusCode::NOT_FOUND);
        }
    }
    view! {
        <crate::PageTitle text="Not found"/>
        <main class="page">
            <h1>"Page not found"</h1>
            <p><a href="/">"Back to the status page"</a></p>
        </main>
    }
}
