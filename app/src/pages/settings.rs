//! `/ops/settings`: what Vigil watches — components and monitors — changed live from the
//! browser. Every form works without JavaScript; every change is a revision
//! (`/ops/settings/history`). Admins change; everyone signed in reads. Objects a configuration
//! file manages are shown read-only, naming the file.

use leptos::prelude::*;
use leptos::server_fn::ServerFn;
use leptos_router::hooks::{use_params_map, use_query_map};
use vigil_core::model::world::{ComponentRow, MonitorRow, SettingsView};

use crate::api::settings::{
    check_monitor, get_settings, get_world_history, DeleteComponent, DeleteMonitor, DeleteSetting,
    MonitorForm, MoveComponent, RestoreWorld, SaveComponent, SaveMonitor, SavePage, SaveSetting,
};
use vigil_core::model::world::SettingRow;

const KINDS: [&str; 5] = ["http", "tcp", "dns", "heartbeat", "prometheus"];

fn managed_note(by: &Option<String>) -> Option<String> {
    by.as_ref()
        .map(|b| format!("managed by {}", b.strip_prefix("file ").unwrap_or(b)))
}

/// The error of a form's last sending, if it failed.
fn failure<S>(action: ServerAction<S>) -> impl IntoView
where
    S: ServerFn<Error = ServerFnError> + Clone + Send + Sync + 'static,
    S::Output: Clone + Send + Sync + 'static,
{
    move || {
        action.value().get().and_then(Result::err).map(|e| {
            view! { <p class="form-error" role="alert" data-testid="settings-error">{e.to_string()}</p> }
        })
    }
}

#[component]
pub fn SettingsPage() -> impl IntoView {
    let save = ServerAction::<SaveComponent>::new();
    let delete = ServerAction::<DeleteComponent>::new();
    let moved = ServerAction::<MoveComponent>::new();
    let actions = SettingActions {
        page: ServerAction::<SavePage>::new(),
        save: ServerAction::<SaveSetting>::new(),
        delete: ServerAction::<DeleteSetting>::new(),
    };
    let data = Resource::new(
        move || {
            (
                save.version().get(),
                delete.version().get(),
                moved.version().get(),
                actions.page.version().get(),
                actions.save.version().get(),
                actions.delete.version().get(),
            )
        },
        |_| get_settings(),
    );
    view! {
        <h1>"Settings"</h1>
        <p class="muted">
            "What Vigil watches, changed live on every replica. Every change is a revision: "
            <a href="/ops/settings/history">"history"</a>"."
        </p>
        {failure(save)}
        {failure(delete)}
        {failure(moved)}
        {failure(actions.page)}
        {failure(actions.save)}
        {failure(actions.delete)}
        <Transition fallback=|| view! { <p>"Loading…"</p> }>
            {move || data.get().map(|r| match r {
                Err(e) => view! { <p class="form-error">{e.to_string()}</p> }.into_any(),
                Ok((s, editable)) => {
                    let rest = s.settings.clone();
                    view! {
                        {settings_view(s, editable, save, delete, moved)}
                        {other_settings(rest, editable, actions)}
                    }.into_any()
                }
            })}
        </Transition>
    }
}

fn settings_view(
    s: SettingsView,
    editable: bool,
    save: ServerAction<SaveComponent>,
    delete: ServerAction<DeleteComponent>,
    moved: ServerAction<MoveComponent>,
) -> impl IntoView {
    let count = s.components.len();
    view! {
        <p class="muted" data-testid="world-revision">{format!("Revision {}", s.revision)}</p>
        {(!editable).then(|| view! {
            <p class="notice" data-testid="read-only">"You can read these settings; changing them needs the admin role."</p>
        })}
        <h2>"Components"</h2>
        <table class="table" data-testid="components-table">
            <thead><tr><th>"Id"</th><th>"Name"</th><th>"Group"</th><th>"Description"</th><th>"Monitors"</th><th></th></tr></thead>
            <tbody>
                {s.components.into_iter().enumerate().map(|(i, c)| component_row(c, i, count, editable, save, delete, moved)).collect_view()}
            </tbody>
        </table>
        {editable.then(|| view! {
            <details class="panel">
                <summary>"Add a component"</summary>
                <ActionForm action=save attr:class="stack-form" attr:data-testid="new-component">
                    <label>"Id (in URLs and badges)" <input name="id" required maxlength="64" pattern="[a-z0-9-]+"/></label>
                    <label>"Name" <input name="name" required maxlength="200"/></label>
                    <label>"Group" <input name="group" maxlength="200"/></label>
                    <label>"Description" <input name="description" maxlength="500"/></label>
                    <button type="submit">"Add component"</button>
                </ActionForm>
            </details>
        })}
        <h2>"Monitors"</h2>
        {editable.then(|| view! { <p><a class="button" href="/ops/settings/monitors/new" data-testid="add-monitor">"Add a monitor"</a></p> })}
        <table class="table" data-testid="settings-monitors">
            <thead><tr><th>"Name"</th><th>"Component"</th><th>"Kind"</th><th>"Every"</th><th></th></tr></thead>
            <tbody>
                {s.monitors.into_iter().map(|m| monitor_row(m, editable)).collect_view()}
            </tbody>
        </table>
    }
}

fn component_row(
    c: ComponentRow,
    index: usize,
    count: usize,
    editable: bool,
    save: ServerAction<SaveComponent>,
    delete: ServerAction<DeleteComponent>,
    moved: ServerAction<MoveComponent>,
) -> impl IntoView {
    let note = managed_note(&c.managed_by);
    let can_edit = editable && note.is_none();
    let testid = format!("component-{}", c.id);
    let (id_move, id_delete) = (c.id.clone(), c.id.clone());
    view! {
        <tr data-testid=testid>
            <td><code>{c.id.clone()}</code></td>
            <td>{c.name.clone()}</td>
            <td>{c.group.clone().unwrap_or_default()}</td>
            <td>{c.description.clone().unwrap_or_default()}</td>
            <td>{c.monitors.join(", ")}</td>
            <td class="actions">
                {note.map(|n| view! { <span class="muted" data-testid="managed">{n}</span> })}
                {can_edit.then(move || view! {
                    <details>
                        <summary>"Edit"</summary>
                        <ActionForm action=save attr:class="stack-form">
                            <input type="hidden" name="original" value=c.id.clone()/>
                            <input type="hidden" name="revision" value=c.revision.to_string()/>
                            <input type="hidden" name="id" value=c.id.clone()/>
                            <label>"Name" <input name="name" value=c.name.clone() required maxlength="200"/></label>
                            <label>"Group" <input name="group" value=c.group.clone().unwrap_or_default() maxlength="200"/></label>
                            <label>"Description" <input name="description" value=c.description.clone().unwrap_or_default() maxlength="500"/></label>
                            <button type="submit">"Save"</button>
                        </ActionForm>
                    </details>
                    <ActionForm action=moved attr:class="inline-form">
                        <input type="hidden" name="id" value=id_move/>
                        <button type="submit" name="direction" value="up" disabled=index == 0 aria-label="Move up">"↑"</button>
                        <button type="submit" name="direction" value="down" disabled=index + 1 == count aria-label="Move down">"↓"</button>
                    </ActionForm>
                    <ActionForm action=delete attr:class="inline-form">
                        <input type="hidden" name="id" value=id_delete/>
                        <button type="submit" class="danger">"Delete"</button>
                    </ActionForm>
                })}
            </td>
        </tr>
    }
}

fn monitor_row(m: MonitorRow, editable: bool) -> impl IntoView {
    let note = managed_note(&m.managed_by);
    let testid = format!("setting-monitor-{}", m.name);
    let link = format!("/ops/settings/monitors/{}", m.id);
    let duplicate = format!("/ops/settings/monitors/new?from={}", m.id);
    view! {
        <tr data-testid=testid>
            <td><a href=link.clone()>{m.name.clone()}</a></td>
            <td>{m.component.clone()}</td>
            <td>{m.kind.clone()}</td>
            <td>{format!("{} s", m.interval_secs)}</td>
            <td class="actions">
                {note.clone().map(|n| view! { <span class="muted">{n}</span> })}
                {(editable && note.is_none()).then(|| view! { <a href=link>"Edit"</a> })}
                {editable.then(|| view! { <a href=duplicate>"Duplicate"</a> })}
            </td>
        </tr>
    }
}

/// The form's values from the query string (`form[url]=…`), after "Check now" sent them.
fn form_from_query(q: &leptos_router::params::ParamsMap) -> MonitorForm {
    let get = |k: &str| q.get(&format!("form[{k}]")).unwrap_or_default();
    MonitorForm {
        original: get("original"),
        revision: get("revision"),
        name: get("name"),
        component: get("component"),
        kind: get("kind"),
        interval_secs: get("interval_secs"),
        timeout_ms: get("timeout_ms"),
        url: get("url"),
        method: get("method"),
        expect_status: get("expect_status"),
        body_contains: get("body_contains"),
        body_not_contains: get("body_not_contains"),
        max_response_ms: get("max_response_ms"),
        cert_min_days: get("cert_min_days"),
        follow_redirects: get("follow_redirects"),
        host: get("host"),
        port: get("port"),
        record_type: get("record_type"),
        expect: get("expect"),
        resolver: get("resolver"),
        secret: get("secret"),
        window_secs: get("window_secs"),
        up_query: get("up_query"),
        headers: get("headers"),
        regions: get("regions"),
        quorum: get("quorum"),
        via: get("via"),
    }
}

/// `/ops/settings/monitors/{id}` (`new` for a new one): the monitor's form. "Check now" runs it
/// once from the server with the values as typed and shows the outcome, without saving.
#[component]
pub fn MonitorSettingsPage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let save = ServerAction::<SaveMonitor>::new();
    let delete = ServerAction::<DeleteMonitor>::new();
    let data = Resource::new(|| (), |_| get_settings());
    let checked = Resource::new(
        move || {
            let q = query.read();
            q.get("check").map(|_| form_from_query(&q))
        },
        |form| async move {
            match form {
                Some(f) => Some(check_monitor(f).await),
                None => None,
            }
        },
    );
    view! {
        <p><a href="/ops/settings">"← Settings"</a></p>
        {failure(save)}
        {failure(delete)}
        <Transition fallback=|| view! { <p>"Loading…"</p> }>
            {move || data.get().map(|r| match r {
                Err(e) => view! { <p class="form-error">{e.to_string()}</p> }.into_any(),
                Ok((s, editable)) => {
                    let id = params.read().get("id").unwrap_or_default();
                    let q = query.read();
                    let stored = id.parse::<i64>().ok().and_then(|n| s.monitors.iter().find(|m| m.id == n).cloned());
                    let from = q.get("from").and_then(|n| n.parse::<i64>().ok()).and_then(|n| s.monitors.iter().find(|m| m.id == n).cloned());
                    let form = if q.get("check").is_some() {
                        form_from_query(&q)
                    } else if let Some(m) = &stored {
                        MonitorForm::of(m)
                    } else if let Some(m) = &from {
                        MonitorForm { original: String::new(), revision: String::new(), name: format!("{} (copy)", m.name), ..MonitorForm::of(m) }
                    } else {
                        MonitorForm { kind: "http".into(), interval_secs: "60".into(), method: "GET".into(), follow_redirects: "on".into(), ..Default::default() }
                    };
                    let title = if form.original.is_empty() { "New monitor".to_string() } else { format!("Monitor {}", form.original) };
                    let note = stored.as_ref().and_then(|m| managed_note(&m.managed_by));
                    let can_edit = editable && note.is_none();
                    let here = if id.is_empty() { "/ops/settings/monitors/new".to_string() } else { format!("/ops/settings/monitors/{id}") };
                    let components: Vec<(String, String)> = s.components.iter().map(|c| (c.id.clone(), c.name.clone())).collect();
                    view! {
                        <h1>{title}</h1>
                        {note.map(|n| view! { <p class="notice" data-testid="managed">{n}</p> })}
                        {(!editable).then(|| view! { <p class="notice" data-testid="read-only">"You can read this monitor; changing it needs the admin role."</p> })}
                        {move || checked.get().flatten().map(|r| match r {
                            Ok(o) => view! {
                                <p class=format!("check-result state-{}", o.outcome) data-testid="check-result" role="status">
                                    {format!("Checked now: {}", o.outcome)}
                                    {o.latency_ms.map(|l| format!(" in {l:.0} ms"))}
                                    {o.error.map(|e| format!(" — {e}"))}
                                </p>
                            }.into_any(),
                            Err(e) => view! { <p class="form-error" role="alert" data-testid="check-result">{e.to_string()}</p> }.into_any(),
                        })}
                        {monitor_form(form, components, can_edit, here)}
                        {(can_edit && stored.is_some()).then(|| {
                            let name = stored.as_ref().map(|m| m.name.clone()).unwrap_or_default();
                            view! {
                                <ActionForm action=delete attr:class="inline-form" attr:data-testid="delete-monitor">
                                    <input type="hidden" name="name" value=name/>
                                    <button type="submit" class="danger">"Delete this monitor"</button>
                                </ActionForm>
                            }
                        })}
                    }.into_any()
                }
            })}
        </Transition>
    }
}

/// One labelled text field of the monitor form.
fn field(label: &'static str, key: &'static str, value: String, hint: &'static str) -> AnyView {
    view! {
        <label>{label}
            <input name=format!("form[{key}]") value=value placeholder=hint/>
        </label>
    }
    .into_any()
}

/// The monitor's fields. A plain form (no JavaScript needed): "Save" posts to the server
/// function, "Check now" reloads this page with the values in the query. Each part is its own
/// `AnyView`: the form as one nested type needs more stack to render than a worker thread has.
fn monitor_form(
    f: MonitorForm,
    components: Vec<(String, String)>,
    can_edit: bool,
    here: String,
) -> AnyView {
    let parts: Vec<AnyView> = vec![
        field("Name", "name", f.name.clone(), ""),
        choices("Component", "component", components, f.component.clone()),
        choices(
            "Kind",
            "kind",
            KINDS
                .iter()
                .map(|k| (k.to_string(), k.to_string()))
                .collect(),
            f.kind.clone(),
        ),
        field(
            "Every (seconds)",
            "interval_secs",
            f.interval_secs.clone(),
            "60",
        ),
        field(
            "Timeout (ms)",
            "timeout_ms",
            f.timeout_ms.clone(),
            "10000 or the interval",
        ),
        http_fields(&f),
        group(
            "TCP and DNS",
            vec![
                field("Host", "host", f.host.clone(), "db.internal"),
                field("Port", "port", f.port.clone(), "5432"),
                field("Record type", "record_type", f.record_type.clone(), "A"),
                field("Expected answer", "expect", f.expect.clone(), ""),
                field("Resolver", "resolver", f.resolver.clone(), "1.1.1.1:53"),
            ],
        ),
        group(
            "Heartbeat",
            vec![
                field(
                    "Secret (the URL the job calls)",
                    "secret",
                    f.secret.clone(),
                    "at least 16 letters, digits, - or _",
                ),
                field(
                    "Window (seconds)",
                    "window_secs",
                    f.window_secs.clone(),
                    "the interval",
                ),
            ],
        ),
        group(
            "Where from",
            vec![
                field("Regions", "regions", f.regions.clone(), "local, eu-west"),
                field(
                    "Down when seen down by (regions)",
                    "quorum",
                    f.quorum.clone(),
                    "1",
                ),
                field(
                    "Served through (load balancer ports)",
                    "via",
                    f.via.clone(),
                    "lke-ingress:443",
                ),
            ],
        ),
    ];
    let buttons = can_edit.then(|| {
        view! {
            <div class="buttons">
                <button type="submit" data-testid="save-monitor">"Save"</button>
                <button type="submit" formmethod="get" formaction=here name="check" value="1" data-testid="check-now">"Check now"</button>
            </div>
        }
        .into_any()
    });
    view! {
        <form method="post" action=SaveMonitor::url() class="stack-form" data-testid="monitor-form">
            <input type="hidden" name="form[original]" value=f.original.clone()/>
            <input type="hidden" name="form[revision]" value=f.revision.clone()/>
            <fieldset disabled=!can_edit>{parts}{buttons}</fieldset>
        </form>
    }
    .into_any()
}

fn choices(
    label: &'static str,
    key: &'static str,
    options: Vec<(String, String)>,
    chosen: String,
) -> AnyView {
    let options: Vec<AnyView> = options
        .into_iter()
        .map(|(value, text)| {
            let selected = value == chosen;
            view! { <option value=value selected=selected>{text}</option> }.into_any()
        })
        .collect();
    // Labelled by `for`: a label wrapped around a select would take the options' text into the
    // select's accessible name.
    let id = format!("monitor-{key}");
    view! {
        <div class="field">
            <label for=id.clone()>{label}</label>
            <select id=id name=format!("form[{key}]")>{options}</select>
        </div>
    }
    .into_any()
}

fn group(legend: &'static str, fields: Vec<AnyView>) -> AnyView {
    view! { <fieldset><legend>{legend}</legend>{fields}</fieldset> }.into_any()
}

fn http_fields(f: &MonitorForm) -> AnyView {
    let redirects = view! {
        <label class="check"><input type="checkbox" name="form[follow_redirects]" value="on" checked=!f.follow_redirects.is_empty()/>"Follow redirects"</label>
    }
    .into_any();
    let headers = view! {
        <label>"Request headers (one `Name: value` per line)"
            <textarea name="form[headers]" rows="3">{f.headers.clone()}</textarea>
        </label>
    }
    .into_any();
    group(
        "HTTP and Prometheus",
        vec![
            field("URL", "url", f.url.clone(), "https://example.org/health"),
            field("Method", "method", f.method.clone(), "GET"),
            field(
                "Expected status codes",
                "expect_status",
                f.expect_status.clone(),
                "200, 204 (any 2xx/3xx when empty)",
            ),
            field(
                "Body contains",
                "body_contains",
                f.body_contains.clone(),
                "",
            ),
            field(
                "Body does not contain",
                "body_not_contains",
                f.body_not_contains.clone(),
                "",
            ),
            field(
                "Slower than (ms) is degraded",
                "max_response_ms",
                f.max_response_ms.clone(),
                "",
            ),
            field(
                "Certificate valid for at least (days)",
                "cert_min_days",
                f.cert_min_days.clone(),
                "",
            ),
            redirects,
            headers,
            field("Prometheus up query", "up_query", f.up_query.clone(), ""),
        ],
    )
}

/// `/ops/settings/history`: every revision of the world, what changed field by field, and a
/// way back to any of them (admins).
#[component]
pub fn WorldHistoryPage() -> impl IntoView {
    let restore = ServerAction::<RestoreWorld>::new();
    let data = Resource::new(move || restore.version().get(), |_| get_world_history());
    view! {
        <p><a href="/ops/settings">"← Settings"</a></p>
        <h1>"Settings history"</h1>
        {failure(restore)}
        <Transition fallback=|| view! { <p>"Loading…"</p> }>
            {move || data.get().map(|r| match r {
                Err(e) => view! { <p class="form-error">{e.to_string()}</p> }.into_any(),
                Ok((revisions, editable)) => {
                    let newest = revisions.first().map(|r| r.number);
                    view! {
                        <ol class="revisions" data-testid="world-history">
                            {revisions.into_iter().map(|r| {
                                let restorable = editable && Some(r.number) != newest;
                                revision_item(r, restorable, restore)
                            }).collect_view()}
                        </ol>
                    }.into_any()
                }
            })}
        </Transition>
    }
}

/// One revision: who and when, each object's change, and (admins) the way back to it. Its own
/// function, erased to `AnyView`, keeps the page's view type shallow enough to compile for wasm.
fn revision_item(
    r: vigil_core::model::world::RevisionView,
    restorable: bool,
    restore: ServerAction<RestoreWorld>,
) -> AnyView {
    let testid = format!("revision-{}", r.number);
    let number = r.number;
    view! {
        <li data-testid=testid>
            <h2>{format!("Revision {}", r.number)}</h2>
            <p class="muted">{format!("{} · {}", r.at.format("%Y-%m-%d %H:%M:%S UTC"), r.actor)}{r.message.clone().map(|m| format!(" · {m}"))}</p>
            <ul class="changes">{r.changes.into_iter().map(change_item).collect_view()}</ul>
            {restorable.then(|| view! {
                <ActionForm action=restore attr:class="inline-form">
                    <input type="hidden" name="revision" value=number.to_string()/>
                    <button type="submit">{format!("Restore revision {number}")}</button>
                </ActionForm>
            })}
        </li>
    }
    .into_any()
}

fn change_item(c: vigil_core::model::world::ChangeView) -> AnyView {
    let verb = match c.op.as_str() {
        "create" => "Created",
        "delete" => "Removed",
        _ => "Changed",
    };
    let fields = (c.op == "update").then(|| {
        c.fields
            .into_iter()
            .map(|f| {
                view! {
                    <li class="diff"><code>{f.field}</code>": "
                        <del>{f.before.unwrap_or_else(|| "(not set)".into())}</del>" → "
                        <ins>{f.after.unwrap_or_else(|| "(not set)".into())}</ins>
                    </li>
                }
                .into_any()
            })
            .collect_view()
    });
    view! {
        <li>
            <strong>{format!("{verb} {} {}", c.object, c.id)}</strong>
            {fields.map(|f| view! { <ul>{f}</ul> })}
        </li>
    }
    .into_any()
}

/// The forms of the settings beside components and monitors.
#[derive(Clone, Copy)]
struct SettingActions {
    page: ServerAction<SavePage>,
    save: ServerAction<SaveSetting>,
    delete: ServerAction<DeleteSetting>,
}

/// The page's settings, the data sources, the channels and the alert rules: each written as
/// its TOML section, changed live like the rest.
fn other_settings(all: Vec<SettingRow>, editable: bool, a: SettingActions) -> impl IntoView {
    let page = all.iter().find(|s| s.kind == "page").cloned();
    let text = |key: &str| {
        page.as_ref()
            .and_then(|p| p.doc.get(key))
            .and_then(|v| v.as_str())
            .unwrap_or_default()
            .to_string()
    };
    let (title, description) = (text("title"), text("description"));
    let links = page
        .as_ref()
        .and_then(|p| p.doc.get("links"))
        .and_then(|l| l.as_array())
        .map(|l| {
            l.iter()
                .map(|x| {
                    format!(
                        "{} | {}",
                        x["name"].as_str().unwrap_or_default(),
                        x["url"].as_str().unwrap_or_default()
                    )
                })
                .collect::<Vec<_>>()
                .join("\n")
        })
        .unwrap_or_default();
    let page_managed = page.as_ref().and_then(|p| managed_note(&p.managed_by));
    let page_editable = editable && page_managed.is_none();
    let revision = page
        .as_ref()
        .map(|p| p.revision.to_string())
        .unwrap_or_default();
    let kinds: [(&'static str, &'static str, &'static str); 3] = [
        ("source", "Data sources", "kind = \"prometheus\"\nname = \"prom\"\nurl = \"http://prometheus:9090\"\ninterval_secs = 15"),
        ("channel", "Notification channels", "name = \"ops\"\nkind = \"discord\"\nurl_env = \"DISCORD_WEBHOOK_URL\""),
        ("alert_rule", "Alert rules", "name = \"memory-hot\"\nmetric = \"memory\"\nabove = 0.9\nfor_secs = 300"),
    ];
    view! {
        <h2>"Public page"</h2>
        {page_managed.clone().map(|m| view! { <p class="muted">{m}</p> })}
        <ActionForm action=a.page attr:class="stack-form" attr:data-testid="page-settings">
            <input type="hidden" name="revision" value=revision/>
            <fieldset disabled=!page_editable>
                <label>"Title" <input name="title" required maxlength="80" value=title/></label>
                <label>"Description" <input name="description" maxlength="500" value=description/></label>
                <label>"Links (one " <code>"Name | https://…"</code>" per line)"
                    <textarea name="links" rows="3">{links}</textarea>
                </label>
                {page_editable.then(|| view! { <button type="submit">"Save the page"</button> })}
            </fieldset>
        </ActionForm>
        {kinds.into_iter().map(|(kind, heading, example)| {
            let rows: Vec<SettingRow> = all.iter().filter(|s| s.kind == kind).cloned().collect();
            view! {
                <h2>{heading}</h2>
                <div data-testid=format!("settings-{kind}")>
                    {rows.into_iter().map(|r| setting_form(r, editable, a)).collect_view()}
                </div>
                {editable.then(|| view! {
                    <details class="panel">
                        <summary>{format!("Add to {}", heading.to_lowercase())}</summary>
                        <ActionForm action=a.save attr:class="stack-form" attr:data-testid=format!("new-{kind}")>
                            <input type="hidden" name="kind" value=kind/>
                            <label>"Settings (TOML, the names vigil.toml uses)"
                                <textarea name="text" rows="6" class="mono" placeholder=example></textarea>
                            </label>
                            <button type="submit">"Add"</button>
                        </ActionForm>
                    </details>
                })}
            }
        }).collect_view()}
    }
}

fn setting_form(r: SettingRow, editable: bool, a: SettingActions) -> impl IntoView {
    let note = managed_note(&r.managed_by);
    let can = editable && note.is_none();
    let lines = r.text.lines().count().clamp(3, 16);
    let testid = format!("setting-{}-{}", r.kind, r.id);
    let (kind, id) = (r.kind.clone(), r.id.clone());
    view! {
        <details class="panel" data-testid=testid>
            <summary><strong>{r.id.clone()}</strong>" "{note.map(|n| view! { <span class="muted">{n}</span> })}</summary>
            <ActionForm action=a.save attr:class="stack-form">
                <input type="hidden" name="kind" value=r.kind.clone()/>
                <input type="hidden" name="original" value=r.id.clone()/>
                <input type="hidden" name="revision" value=r.revision.to_string()/>
                <fieldset disabled=!can>
                    <textarea name="text" rows=lines class="mono">{r.text.clone()}</textarea>
                    {can.then(|| view! { <button type="submit">"Save"</button> })}
                </fieldset>
            </ActionForm>
            {can.then(|| view! {
                <ActionForm action=a.delete>
                    <input type="hidden" name="kind" value=kind/>
                    <input type="hidden" name="id" value=id/>
                    <button type="submit" class="danger">"Delete"</button>
                </ActionForm>
            })}
        </details>
    }
}
