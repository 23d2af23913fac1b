//! `/ops/follow-ups`: every post-mortem's follow-up tasks in one list, filtered by owner, status
//! or overdue through plain links (no script needed).

use leptos::prelude::*;

use crate::api::get_follow_ups;

/// The filters, as links: (label, query).
const FILTERS: [(&str, &str); 5] = [
    ("Open", "?status=open"),
    ("Overdue", "?overdue=true"),
    ("Done", "?status=done"),
    ("Won't do", "?status=wont_do"),
    ("All", "?status=all"),
];

#[component]
pub fn FollowUpsPage() -> impl IntoView {
    let query = leptos_router::hooks::use_query_map();
    let filter = Memo::new(move |_| {
        let q = query.read();
        (q.get("owner"), q.get("status"), q.get("overdue"))
    });
    let data = Resource::new(
        move || filter.get(),
        |(owner, status, overdue)| {
            get_follow_ups(
                owner,
                status.or_else(|| Some("open".into())),
                overdue.as_deref() == Some("true"),
            )
        },
    );
    view! {
        <h1>"Follow-ups"</h1>
        <p class="muted">"The follow-up tasks of every post-mortem. A post-mortem's \"Follow-up tasks\" checklist becomes items here when it is saved; scripts use GET/POST/PATCH /api/v1/follow-ups."</p>
        <nav class="ranges" aria-label="Filter">
            {FILTERS.into_iter().map(|(label, q)| view! { <a href=q>{label}</a> }).collect_view()}
        </nav>
        <Transition fallback=|| view! { <p>"Loading…"</p> }>
            {move || data.get().map(|r| match r {
                Err(e) => view! { <p class="form-error" role="alert">{e.to_string()}</p> }.into_any(),
                Ok(items) if items.is_empty() => view! { <p class="muted" data-testid="follow-ups-empty">"No follow-ups match."</p> }.into_any(),
                Ok(items) => view! {
                    <table class="table" data-testid="follow-ups">
                        <thead><tr><th>"Task"</th><th>"Post-mortem"</th><th>"Owner"</th><th>"Due"</th><th>"Status"</th><th>"Tracked at"</th></tr></thead>
                        <tbody>
                            {items.into_iter().map(|f| {
                                let owner = f.owner.clone();
                                let due = f.due_on.map(|d| d.to_string()).unwrap_or_else(|| "—".into());
                                // Only web addresses become links.
                                let link = f.link.clone().filter(|l| l.starts_with("https://") || l.starts_with("http://"));
                                view! {
                                    <tr data-testid=format!("follow-up-{}", f.id) data-status=f.status.as_str() data-overdue=f.overdue.to_string()>
                                        <td>{f.title.clone()}</td>
                                        <td><a href=format!("/ops/incidents/{}", f.incident_id)>{f.postmortem.clone()}</a></td>
                                        <td>{match owner {
                                            Some(o) => view! { <a href=format!("?owner={o}&status=all")>{o.clone()}</a> }.into_any(),
                                            None => view! { <span class="muted">"nobody"</span> }.into_any(),
                                        }}</td>
                                        <td class=if f.overdue { "state state-down" } else { "" }>
                                            {if f.overdue { format!("{due} (overdue)") } else { due }}
                                        </td>
                                        <td>{f.status.label()}</td>
                                        <td>
                                            {link.map(|l| view! { <a href=l.clone() rel="noopener noreferrer nofollow">{l.clone()}</a> })}
                                            {f.github.clone().map(|g| {
                                                let words = match (g.number, g.state.as_deref()) {
                                                    (None, _) => "GitHub issue: being opened".to_string(),
                                                    (Some(n), Some("deleted")) => format!("GitHub issue #{n}: deleted"),
                                                    (Some(n), Some(state)) => format!("GitHub issue #{n}: {state}"),
                                                    (Some(n), None) => format!("GitHub issue #{n}"),
                                                };
                                                view! {
                                                    <div class="muted" data-testid="github">{words}</div>
                                                    {g.error.map(|e| view! { <div class="form-error">{e}</div> })}
                                                }
                                            })}
                                        </td>
                                    </tr>
                                }
                            }).collect_view()}
                        </tbody>
                    </table>
                }.into_any(),
            })}
        </Transition>
    }
}
