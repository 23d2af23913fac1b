//! `/login`: a plain form posting to the server, so signing in works without JavaScript.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

#[component]
pub fn LoginPage() -> impl IntoView {
    let query = use_query_map();
    let next = move || {
        query
            .read()
            .get("next")
            .unwrap_or_else(|| "/ops".to_string())
    };
    let message = move || {
        let q = query.read();
        match q.get("error").as_deref() {
            Some("invalid") => Some("Wrong username or password.".to_string()),
            Some("throttled") => {
                let wait = q
                    .get("wait")
                    .and_then(|w| w.parse::<u64>().ok())
                    .unwrap_or(1);
                Some(format!(
                    "Too many failed sign-in attempts. Try again in {wait} second{}.",
                    if wait == 1 { "" } else { "s" }
                ))
            }
            Some("unavailable") => {
                Some("Signing in is unavailable right now (the database did not answer).".into())
            }
            _ => None,
        }
    };
    view! {
        <crate::PageTitle text="Sign in"/>
        <main class="page narrow">
            <h1>"Sign in to Vigil"</h1>
            {move || message().map(|m| view! { <p class="form-error" role="alert" data-testid="login-error">{m}</p> })}
            <form method="post" action="/login" class="stack">
                <input type="hidden" name="next" prop:value=next value=next/>
                <label>"Username" <input name="username" autocomplete="username" required autofocus/></label>
                <label>"Password" <input name="password" type="password" autocomplete="current-password" required/></label>
                <button type="submit">"Sign in"</button>
            </form>
            <p><a href="/">"Back to the status page"</a></p>
        </main>
    }
}
