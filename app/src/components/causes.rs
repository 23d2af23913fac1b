//! The chain of causes on `/ops/incidents/{id}`: Vigil's best explanation of the incident from
//! its own evidence, every link with its strength and the events it cites, refreshed while the
//! incident is open as evidence arrives. Ops only: it names nodes and balancers.

use leptos::prelude::*;
use vigil_core::model::causes::{Causes, Chain, Link, Strength};

use crate::{api::incidents::get_incident_causes, components::live_feed::freshness};

fn strength_words(s: Strength) -> &'static str {
    match s {
        Strength::Precedes => "precedes, on the path",
        Strength::Coincident => "coincident only",
        Strength::Contradicted => "contradicted",
    }
}

fn strength_class(s: Strength) -> &'static str {
    match s {
        Strength::Precedes => "strength-precedes",
        Strength::Coincident => "strength-coincident",
        Strength::Contradicted => "strength-contradicted",
    }
}

fn clock(t: chrono::DateTime<chrono::Utc>) -> String {
    t.format("%H:%M:%S").to_string()
}

fn link_view(l: Link) -> AnyView {
    let count = l.evidence.len();
    view! {
        <li class=format!("link {}", strength_class(l.strength)) data-testid="cause-link">
            <span class="link-says">{l.says}</span>
            " "<span class="badge">{strength_words(l.strength)}</span>
            " "<time class="muted">{format!("from {}", clock(l.began_at))}</time>
            <details>
                <summary>{format!("Evidence ({count})")}</summary>
                <ul class="evidence">
                    {l.evidence.into_iter().map(|c| view! {
                        <li><time>{clock(c.at)}</time>" "<code>{c.source}</code>" "{c.text}</li>
                    }).collect_view()}
                </ul>
            </details>
        </li>
    }
    .into_any()
}

fn chain_view(rank: usize, c: Chain) -> AnyView {
    let heading = if rank == 0 {
        format!("Most likely: {}", c.cause)
    } else {
        format!("Also possible: {}", c.cause)
    };
    view! {
        <div class="chain" data-testid=if rank == 0 { "best-chain" } else { "other-chain" }>
            <h3>{heading}</h3>
            <ol class="chain-links">{c.links.into_iter().map(link_view).collect_view()}</ol>
            <p class="muted">{format!("Contributing factors: {}", c.factors.join(", "))}</p>
        </div>
    }
    .into_any()
}

fn causes_view(c: Causes) -> AnyView {
    let also = c.also;
    view! {
        <p data-testid="causes-summary">{c.summary}</p>
        {c.chains.into_iter().take(3).enumerate().map(|(i, ch)| chain_view(i, ch)).collect_view()}
        {(!also.is_empty()).then(|| view! {
            <h3>"In the window, but not the cause"</h3>
            <ul class="chain-links" data-testid="not-causes">{also.into_iter().map(link_view).collect_view()}</ul>
        })}
    }
    .into_any()
}

/// The incident's chains; live while `open`.
#[component]
pub fn CausesPanel(incident_id: i64, open: bool) -> impl IntoView {
    let fresh = freshness(move || !open);
    let data = Resource::new(
        move || fresh.get(),
        move |_| get_incident_causes(incident_id),
    );
    view! {
        <section class="causes" data-testid="causes">
            <h2>"Likely chain of causes"</h2>
            <p class="muted">"Vigil's suggestion from its own evidence, never certain: each link says how strong it is and cites what it rests on."</p>
            <Transition fallback=|| view! { <p>"Working it out…"</p> }>
                {move || data.get().map(|r| match r {
                    Ok(Some(c)) => causes_view(c),
                    Ok(None) => view! { <p>"There is no such incident."</p> }.into_any(),
                    Err(e) => view! { <p class="form-error">{e.to_string()}</p> }.into_any(),
                })}
            </Transition>
        </section>
    }
}
