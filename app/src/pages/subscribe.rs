//! Following the page: `/subscribe` (the form, a plain POST so it works without JavaScript),
//! `/subscribe/confirm/{token}` and `/unsubscribe/{token}` (a button each: a GET never changes
//! anything, so mail scanners that follow links confirm or cancel nothing), and the admins'
//! `/ops/subscribers`.

use leptos::prelude::*;
use leptos_router::hooks::{use_params_map, use_query_map};
use vigil_core::model::subscriber::{FormNotice, SubscribeOffer, SubscriberKind};

use crate::api::{get_subscribe_offer, get_subscribers, RemoveSubscriber};

fn next_step(kind: &str) -> &'static str {
    match SubscriberKind::parse(kind) {
        Some(SubscriberKind::Email) => "Check your inbox: a confirmation link is on its way (unless the address already follows this page). Nothing else is sent until you follow it.",
        Some(SubscriberKind::Discord) => "A confirmation message is on its way to your channel; updates follow from then on.",
        Some(SubscriberKind::Webhook) => "A verification request is on its way to your endpoint. POST to the confirm_url it carries to start receiving updates.",
        None => "Request received.",
    }
}

fn public_header() -> impl IntoView {
    view! {
        <header class="site-header">
            <a class="brand" href="/">{crate::site_title()}</a>
            <span class="tagline">"Service status"</span>
        </header>
    }
}

#[component]
pub fn SubscribePage() -> impl IntoView {
    let query = use_query_map();
    let offer = Resource::new(|| (), |_| get_subscribe_offer());
    let notice = move || {
        let q = query.read();
        if let Some(kind) = q.get("requested") {
            return Some(("notice", next_step(&kind).to_string()));
        }
        if let Some(kind) = q.get("confirmed") {
            let what = match SubscriberKind::parse(&kind) {
                Some(SubscriberKind::Email) => "this address",
                Some(SubscriberKind::Discord) => "the channel",
                _ => "your endpoint",
            };
            return Some((
                "notice",
                format!("Confirmed: {what} will receive updates from now on. Every message says how to stop."),
            ));
        }
        if q.get("unsubscribed").is_some() {
            return Some((
                "notice",
                "Unsubscribed: nothing more will be sent, and the address is no longer kept."
                    .to_string(),
            ));
        }
        // Only the codes the server sends are worded; any other text in the URL is not shown.
        q.get("error")
            .and_then(|code| FormNotice::parse_code(&code))
            .map(|notice| {
                let retry = q.get("retry").and_then(|s| s.parse().ok());
                ("form-error", notice.message(retry))
            })
    };
    let chosen = move || query.read().get("kind").unwrap_or_default();
    view! {
        <crate::PageTitle text="Subscribe to updates"/>
        {public_header()}
        <main class="page narrow-wide">
            <h1>"Subscribe to updates"</h1>
            <p class="muted">"Hear about incidents and maintenances as they are posted here. Addresses are never shown, and every message says how to stop."</p>
            {move || notice().map(|(class, text)| view! {
                <p class=class role=if class == "form-error" { "alert" } else { "status" } data-testid="subscribe-notice">{text}</p>
            })}
            <Transition fallback=|| view! { <p>"Loading…"</p> }>
                {move || offer.get().map(|r| match r {
                    Err(_) => view! { <p class="form-error">"The form cannot be shown right now; the feeds below still work."</p> }.into_any(),
                    Ok(o) if !o.enabled => view! { <p class="muted">"This page does not take subscriptions; follow one of the feeds below."</p> }.into_any(),
                    Ok(o) => view! { <SubscribeForm offer=o chosen=chosen()/> }.into_any(),
                })}
            </Transition>
            <h2>"Feeds"</h2>
            <p>
                <a href="/history.atom">"Atom"</a>" · "<a href="/history.rss">"RSS"</a>
                " — or one component's only: add "<code>"?component=ID"</code>"."
            </p>
        </main>
        <footer class="site-footer"><a href="/">"Back to the status page"</a></footer>
    }
}

#[component]
fn SubscribeForm(offer: SubscribeOffer, chosen: String) -> impl IntoView {
    let default_kind = if offer.email { "email" } else { "discord" };
    let kind = if chosen.is_empty() {
        default_kind.to_string()
    } else {
        chosen
    };
    let radio = move |value: &'static str, label: &'static str| {
        let checked = kind == value;
        view! {
            <label class="choice"><input type="radio" name="kind" value=value checked=checked/>" "{label}</label>
        }
    };
    view! {
        <form method="post" action="/subscribe" class="stack" id="subscribe-form" data-testid="subscribe-form">
            <fieldset class="stack">
                <legend>"How"</legend>
                {offer.email.then(|| radio("email", "Email"))}
                {offer.email.then(|| view! {
                    <label>"Email address" <input name="email" type="email" autocomplete="email" maxlength="254" placeholder="you@example.org"/></label>
                })}
                {radio("discord", "A Discord channel")}
                <label>"Discord webhook URL " <span class="muted small">"(channel settings → Integrations → Webhooks → Copy Webhook URL)"</span>
                    <input name="discord_webhook_url" type="url" maxlength="2048" placeholder="https://discord.com/api/webhooks/…"/></label>
                {radio("webhook", "A webhook (Statuspage's subscriber JSON, signed)")}
                <label>"Webhook URL" <input name="webhook_url" type="url" maxlength="2048" placeholder="https://example.org/status-hook"/></label>
                <label>"Signing key " <span class="muted small">"(optional; one is made and sent with the verification request)"</span>
                    <input name="webhook_secret" type="text" maxlength="200" autocomplete="off"/></label>
            </fieldset>
            <fieldset class="stack">
                <legend>"What to receive"</legend>
                <label class="choice"><input type="checkbox" name="incidents" checked=true/>" Incidents (and their post-mortems)"</label>
                <label class="choice"><input type="checkbox" name="maintenances" checked=true/>" Maintenances (when scheduled, an hour before, at start and end)"</label>
            </fieldset>
            <fieldset class="stack">
                <legend>"Components " <span class="muted small">"(none ticked: all of them)"</span></legend>
                {offer.components.into_iter().map(|(id, name)| view! {
                    <label class="choice"><input type="checkbox" name="component" value=id/>" "{name}</label>
                }).collect_view()}
            </fieldset>
            <button type="submit" data-testid="subscribe-submit">"Subscribe"</button>
        </form>
    }
}

/// `/subscribe/confirm/{token}`: one button; the POST confirms.
#[component]
pub fn ConfirmPage() -> impl IntoView {
    let params = use_params_map();
    let action = move || {
        format!(
            "/subscribe/confirm/{}",
            params.read().get("token").unwrap_or_default()
        )
    };
    view! {
        <crate::PageTitle text="Confirm your subscription"/>
        {public_header()}
        <main class="page narrow">
            <h1>"Confirm your subscription"</h1>
            <p>"Press the button to start receiving this page's incident and maintenance updates."</p>
            <form method="post" action=action class="stack">
                <button type="submit" data-testid="confirm-subscription">"Confirm subscription"</button>
            </form>
            <p class="muted">"Did not ask for this? Close this page: nothing will be sent, and the request lapses on its own."</p>
        </main>
    }
}

/// `/unsubscribe/{token}`: one button; the POST (or a mail client's one-click POST) unsubscribes.
#[component]
pub fn UnsubscribePage() -> impl IntoView {
    let params = use_params_map();
    let action = move || {
        format!(
            "/unsubscribe/{}",
            params.read().get("token").unwrap_or_default()
        )
    };
    view! {
        <crate::PageTitle text="Unsubscribe"/>
        {public_header()}
        <main class="page narrow">
            <h1>"Unsubscribe"</h1>
            <p>"Stop receiving this page's updates? The address or URL is deleted, not kept."</p>
            <form method="post" action=action class="stack">
                <button type="submit" data-testid="unsubscribe">"Unsubscribe"</button>
            </form>
        </main>
    }
}

/// `/ops/subscribers` (admins): counts by channel, the list a page at a time, and removal.
#[component]
pub fn SubscribersPage() -> impl IntoView {
    let query = use_query_map();
    let remove = ServerAction::<RemoveSubscriber>::new();
    let page = Memo::new(move |_| {
        query
            .read()
            .get("page")
            .and_then(|p| p.parse::<i64>().ok())
            .unwrap_or(1)
    });
    let data = Resource::new(
        move || (page.get(), remove.version().get()),
        |(page, _)| get_subscribers(page),
    );
    view! {
        <h1>"Subscribers"</h1>
        <p class="muted">"People following the public page. Addresses and URLs are personal data: only admins see them, and removing one deletes it (audited). Scripts use /api/v1/subscribers."</p>
        <Transition fallback=|| view! { <p>"Loading…"</p> }>
            {move || data.get().map(|r| match r {
                Err(e) => view! { <p class="form-error" role="alert">{e.to_string()}</p> }.into_any(),
                Ok(p) => {
                    let last = (p.total + p.per_page - 1) / p.per_page;
                    view! {
                        <table class="table" data-testid="subscriber-counts">
                            <thead><tr><th>"Channel"</th><th>"Active"</th><th>"Waiting for confirmation"</th><th>"Deactivated"</th></tr></thead>
                            <tbody>
                                {p.counts.iter().map(|c| view! {
                                    <tr data-testid=format!("count-{}", c.kind)><td>{c.kind.clone()}</td><td>{c.active}</td><td>{c.pending}</td><td>{c.deactivated}</td></tr>
                                }).collect_view()}
                            </tbody>
                        </table>
                        {if p.subscribers.is_empty() {
                            view! { <p class="muted" data-testid="subscribers-empty">"Nobody follows the page yet."</p> }.into_any()
                        } else {
                            view! {
                                <table class="table" data-testid="subscribers">
                                    <thead><tr><th>"Channel"</th><th>"Address or URL"</th><th>"Components"</th><th>"Receives"</th><th>"State"</th><th>"Delivered"</th><th>"Since"</th><th></th></tr></thead>
                                    <tbody>
                                        {p.subscribers.into_iter().map(|s| {
                                            let receives = match (s.incidents, s.maintenances) {
                                                (true, true) => "incidents, maintenances",
                                                (true, false) => "incidents",
                                                _ => "maintenances",
                                            };
                                            let components = if s.components.is_empty() { "all".to_string() } else { s.components.join(", ") };
                                            let state = match &s.state_reason {
                                                Some(why) => format!("{} ({why})", s.state.as_str()),
                                                None => s.state.as_str().to_string(),
                                            };
                                            view! {
                                                <tr data-testid=format!("subscriber-{}", s.id) data-state=s.state.as_str()>
                                                    <td>{s.kind.as_str()}</td>
                                                    <td class="error-cell">{s.target.clone()}</td>
                                                    <td>{components}</td>
                                                    <td>{receives}</td>
                                                    <td>{state}</td>
                                                    <td>{s.delivered}{(s.pending > 0).then(|| format!(" (+{} waiting)", s.pending))}</td>
                                                    <td>{super::when(s.created_at)}</td>
                                                    <td>
                                                        <ActionForm action=remove>
                                                            <input type="hidden" name="id" value=s.id.to_string()/>
                                                            <button type="submit" data-testid="remove-subscriber">"Remove"</button>
                                                        </ActionForm>
                                                    </td>
                                                </tr>
                                            }
                                        }).collect_view()}
                                    </tbody>
                                </table>
                            }.into_any()
                        }}
                        {(last > 1).then(|| view! {
                            <nav class="ranges" aria-label="Pages">
                                {(1..=last).map(|n| view! { <a href=format!("?page={n}") aria-current=(n == p.page).then_some("page")>{n.to_string()}</a> }).collect_view()}
                            </nav>
                        })}
                    }.into_any()
                }
            })}
        </Transition>
    }
}
