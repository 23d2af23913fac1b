//! Incidents for the public: Statuspage v2 JSON (`incidents.json`, `incidents/unresolved.json`,
//! `scheduled-maintenances*.json`) and the Atom and RSS feeds of `/history`. Internal notes and
//! evidence never reach any of these: they read incidents without them.

use axum::{
    extract::{Query, State},
    http::header,
    response::{IntoResponse, Response},
    Json,
};
use serde_json::{json, Value};
use vigil_core::{
    model::incident::{IncidentView, MaintenanceStatus, Progress},
    store::incidents::{self, Filter},
};

use crate::http::{api::bodies::StatuspageIncident, state::AppState};

fn page(state: &AppState) -> Value {
    json!({ "id": "vigil", "name": state.page_title(), "url": state.public_url, "time_zone": "Etc/UTC" })
}

fn unavailable(e: vigil_core::store::StoreError) -> Response {
    crate::error::answer(&e)
}

async fn listing(
    state: &AppState,
    filter: Filter,
    key: &str,
    keep: fn(&IncidentView) -> bool,
) -> Response {
    match incidents::list(&state.pool, filter, false).await {
        Ok(list) => {
            let items: Vec<StatuspageIncident> = list
                .iter()
                .filter(|i| keep(i))
                .map(|i| StatuspageIncident::of(i, &state.public_url))
                .collect();
            let mut body = json!({ "page": page(state) });
            body[key] = json!(items);
            ([(header::CACHE_CONTROL, "public, max-age=10")], Json(body)).into_response()
        }
        Err(e) => unavailable(e),
    }
}

/// `/api/v2/incidents.json`: the 50 newest incidents.
pub async fn all(State(state): State<AppState>) -> Response {
    listing(&state, Filter::Latest(50), "incidents", |_| true).await
}

pub async fn unresolved(State(state): State<AppState>) -> Response {
    listing(&state, Filter::Unresolved, "incidents", |_| true).await
}

pub async fn maintenances(State(state): State<AppState>) -> Response {
    listing(
        &state,
        Filter::Maintenances(50),
        "scheduled_maintenances",
        |_| true,
    )
    .await
}

pub async fn maintenances_upcoming(State(state): State<AppState>) -> Response {
    listing(
        &state,
        Filter::OpenMaintenances,
        "scheduled_maintenances",
        |i| i.status == Progress::Maintenance(MaintenanceStatus::Scheduled),
    )
    .await
}

pub async fn maintenances_active(State(state): State<AppState>) -> Response {
    listing(
        &state,
        Filter::OpenMaintenances,
        "scheduled_maintenances",
        |i| {
            matches!(
                i.status,
                Progress::Maintenance(MaintenanceStatus::InProgress | MaintenanceStatus::Verifying)
            )
        },
    )
    .await
}

/// Title of a feed entry: "[Resolved] Website is unavailable".
fn entry_title(i: &IncidentView) -> String {
    format!("[{}] {}", i.status.label(), i.name)
}

/// The timeline as plain text paragraphs (the feed crates escape it), after a link to the
/// published post-mortem when there is one.
fn entry_text(i: &IncidentView, base: &str) -> String {
    let postmortem = i
        .postmortem
        .as_ref()
        .filter(|p| p.published_at.is_some())
        .map(|p| format!("Post-mortem: {base}/postmortems/{}\n\n", p.id))
        .unwrap_or_default();
    let timeline = i
        .updates
        .iter()
        .filter(|u| !u.internal)
        .map(|u| {
            format!(
                "{} — {}: {}",
                u.created_at.format("%Y-%m-%d %H:%M UTC"),
                u.status,
                u.body
            )
        })
        .collect::<Vec<_>>()
        .join("\n\n");
    postmortem + &timeline
}

/// `?component=ID`: one component's feed.
#[derive(serde::Deserialize)]
pub struct FeedQuery {
    component: Option<String>,
}

/// What a feed lists: the 50 newest incidents; or, for one component, its 50 newest incidents
/// and maintenances. Also the feed's title suffix and its own address's query.
struct FeedItems {
    list: Vec<IncidentView>,
    about: String,
    query: String,
}

async fn history(state: &AppState, q: &FeedQuery) -> Result<FeedItems, Response> {
    let Some(component) = &q.component else {
        let list = incidents::list(&state.pool, Filter::Latest(50), false)
            .await
            .map_err(unavailable)?;
        return Ok(FeedItems {
            list,
            about: "incident history".into(),
            query: String::new(),
        });
    };
    let known = incidents::component_choices(&state.pool)
        .await
        .map_err(unavailable)?;
    let Some((id, name)) = known.into_iter().find(|(id, _)| id == component) else {
        return Err((
            axum::http::StatusCode::NOT_FOUND,
            format!("no component `{component}`; GET /api/v2/components.json lists them\n"),
        )
            .into_response());
    };
    let list = incidents::list(&state.pool, Filter::Everything(500), false)
        .await
        .map_err(unavailable)?
        .into_iter()
        .filter(|i| i.components.iter().any(|c| c.id == id))
        .take(50)
        .collect();
    Ok(FeedItems {
        list,
        about: format!("{name}: incidents and maintenance"),
        query: format!("?component={id}"),
    })
}

/// `/history.atom`
pub async fn atom(State(state): State<AppState>, Query(q): Query<FeedQuery>) -> Response {
    use atom_syndication::{Content, Entry, Link, Text};
    let FeedItems { list, about, query } = match history(&state, &q).await {
        Ok(l) => l,
        Err(r) => return r,
    };
    let base = state.public_url.trim_end_matches('/').to_string();
    let updated = list
        .iter()
        .map(|i| i.updated_at)
        .max()
        .unwrap_or_else(chrono::Utc::now);
    let entries: Vec<Entry> = list
        .iter()
        .map(|i| {
            let link = format!("{base}/incidents/{}", i.id);
            let mut e = Entry::default();
            e.set_id(format!("{link}#{}", i.id));
            e.set_title(Text::plain(entry_title(i)));
            e.set_updated(i.updated_at.fixed_offset());
            e.set_published(Some(i.started_at.fixed_offset()));
            e.set_links(vec![Link {
                href: link,
                rel: "alternate".into(),
                ..Default::default()
            }]);
            let mut c = Content::default();
            c.set_content_type(Some("text".to_string()));
            c.set_value(Some(entry_text(i, &base)));
            e.set_content(Some(c));
            e
        })
        .collect();
    atom_feed(
        format!("{} – {about}", state.page_title()),
        updated,
        format!("{base}/history"),
        format!("{base}/history.atom{query}"),
        entries,
    )
}

/// An Atom feed: `page` is what it follows, `this` where it is read (also its id).
fn atom_feed(
    title: String,
    updated: chrono::DateTime<chrono::Utc>,
    page: String,
    this: String,
    entries: Vec<atom_syndication::Entry>,
) -> Response {
    use atom_syndication::{Feed, Link, Text};
    let mut feed = Feed::default();
    feed.set_id(this.clone());
    feed.set_title(Text::plain(title));
    feed.set_updated(updated.fixed_offset());
    let link = |href: String, rel: &str| Link {
        href,
        rel: rel.into(),
        ..Default::default()
    };
    feed.set_links(vec![link(page, "alternate"), link(this, "self")]);
    feed.set_entries(entries);
    (
        [(header::CONTENT_TYPE, "application/atom+xml; charset=utf-8")],
        feed.to_string(),
    )
        .into_response()
}

/// "Identified", "In progress".
fn status_label(status: &str) -> String {
    let mut words = status.replace('_', " ");
    if let Some(first) = words.get_mut(0..1) {
        first.make_ascii_uppercase();
    }
    words
}

/// `/incidents/{id}/feed.atom`: one incident's public updates, newest first, so a reader can
/// follow that incident alone. Its post-mortem, once published, is an entry too.
pub async fn incident_atom(
    State(state): State<AppState>,
    axum::extract::Path(id): axum::extract::Path<String>,
) -> Response {
    use atom_syndication::{Content, Entry, Link, Text};
    let not_found = || {
        (
            axum::http::StatusCode::NOT_FOUND,
            "there is no such incident\n",
        )
            .into_response()
    };
    let Some(id) = id.parse::<i64>().ok().filter(|n| *n > 0) else {
        return not_found();
    };
    let i = match incidents::get(&state.pool, id, false).await {
        Ok(Some(i)) => i,
        Ok(None) => return not_found(),
        Err(e) => return unavailable(e),
    };
    let base = state.public_url.trim_end_matches('/').to_string();
    let page = format!("{base}/incidents/{id}");
    let mut entries: Vec<Entry> = i
        .updates
        .iter()
        .filter(|u| !u.internal)
        .map(|u| {
            let mut e = Entry::default();
            e.set_id(format!("{page}#update-{}", u.id));
            e.set_title(Text::plain(format!(
                "{}: {}",
                status_label(&u.status),
                i.name
            )));
            e.set_updated(u.created_at.fixed_offset());
            e.set_published(Some(u.created_at.fixed_offset()));
            e.set_links(vec![Link {
                href: page.clone(),
                rel: "alternate".into(),
                ..Default::default()
            }]);
            let mut c = Content::default();
            c.set_content_type(Some("text".to_string()));
            c.set_value(Some(u.body.clone()));
            e.set_content(Some(c));
            e
        })
        .collect();
    if let Some(p) = i.postmortem.as_ref() {
        if let Some(at) = p.published_at {
            let mut e = Entry::default();
            let href = format!("{base}/postmortems/{}", p.id);
            e.set_id(href.clone());
            e.set_title(Text::plain(format!("Post-mortem: {}", i.name)));
            e.set_updated(at.fixed_offset());
            e.set_links(vec![Link {
                href,
                rel: "alternate".into(),
                ..Default::default()
            }]);
            entries.push(e);
        }
    }
    entries.sort_by_key(|e| std::cmp::Reverse(*e.updated()));
    atom_feed(
        format!("{} – {}", state.page_title(), i.name),
        i.updated_at,
        page.clone(),
        format!("{page}/feed.atom"),
        entries,
    )
}

/// `/history.rss`
pub async fn rss(State(state): State<AppState>, Query(q): Query<FeedQuery>) -> Response {
    use rss::{ChannelBuilder, GuidBuilder, ItemBuilder};
    let FeedItems {
        list,
        about,
        query: _,
    } = match history(&state, &q).await {
        Ok(l) => l,
        Err(r) => return r,
    };
    let base = state.public_url.trim_end_matches('/').to_string();
    let items: Vec<rss::Item> = list
        .iter()
        .map(|i| {
            let link = format!("{base}/incidents/{}", i.id);
            ItemBuilder::default()
                .title(Some(entry_title(i)))
                .link(Some(link.clone()))
                .guid(Some(
                    GuidBuilder::default().value(link).permalink(true).build(),
                ))
                .pub_date(Some(i.started_at.to_rfc2822()))
                // RSS readers render the description as HTML: what people typed goes in as
                // escaped text, never as markup.
                .description(Some(vigil_core::render::text_to_html(&entry_text(
                    i, &base,
                ))))
                .build()
        })
        .collect();
    let channel = ChannelBuilder::default()
        .title(format!("{} – {about}", state.page_title()))
        .link(format!("{base}/history"))
        .description("Incidents and their updates")
        .items(items)
        .build();
    (
        [(header::CONTENT_TYPE, "application/rss+xml; charset=utf-8")],
        channel.to_string(),
    )
        .into_response()
}

/// Incidents and maintenances, as Statuspage JSON and as feeds (whole, or for one component).
pub fn endpoints() -> Vec<crate::http::endpoint::Endpoint> {
    use crate::http::{endpoint::get, public::cache::Page};
    vec![
        get("/api/v2/incidents.json", all),
        get("/api/v2/incidents/unresolved.json", unresolved),
        get("/api/v2/scheduled-maintenances.json", maintenances),
        get(
            "/api/v2/scheduled-maintenances/upcoming.json",
            maintenances_upcoming,
        ),
        get(
            "/api/v2/scheduled-maintenances/active.json",
            maintenances_active,
        ),
        get("/history.atom", atom).page(Page::FEED),
        get("/history.rss", rss).page(Page::FEED),
        get("/incidents/{id}/feed.atom", incident_atom),
    ]
}
