//! `/ops/dependencies`: what each component's checks are served through and what that runs on —
//! the map the chain of causes is walked along, drawn as one small graph per component:
//! monitor → load-balancer port → backends → nodes, and the providers hosting them.

use std::collections::BTreeMap;

use leptos::prelude::*;
use vigil_core::model::causes::{DependencyMap, MonitorPath};

use crate::api::incidents::get_dependencies;

/// One monitor's path: its ports, each with the nodes behind it.
fn monitor_view(m: &MonitorPath, map: &DependencyMap) -> AnyView {
    let ports: Vec<AnyView> = m
        .via
        .iter()
        .map(|v| {
            let mut behind: BTreeMap<u16, Vec<String>> = BTreeMap::new();
            for b in map
                .backends
                .iter()
                .filter(|b| b.nodebalancer == v.nodebalancer && v.port.is_none_or(|p| p == b.port))
            {
                let node = match (&b.node, b.matched_by.as_str()) {
                    (Some(n), how) => format!("{n} ({how})"),
                    (None, _) => format!("{} (node unknown)", b.backend),
                };
                behind.entry(b.port).or_default().push(node);
            }
            let hosted: Vec<String> = map
                .providers
                .iter()
                .filter(|p| p.hosts.contains(&v.nodebalancer))
                .map(|p| p.provider.clone())
                .collect();
            view! {
                <li>
                    <span class="dep-node">{v.to_string()}</span>
                    {(!hosted.is_empty()).then(|| view! { <span class="muted">{format!(" hosted by {}", hosted.join(", "))}</span> })}
                    <ul>
                        {behind.into_iter().map(|(port, nodes)| view! {
                            <li>{format!(":{port} → {}", nodes.join(", "))}</li>
                        }).collect_view()}
                    </ul>
                </li>
            }
            .into_any()
        })
        .collect();
    view! {
        <li data-testid=format!("dep-monitor-{}", m.monitor)>
            <code>{m.monitor.clone()}</code>
            <span class="muted">{format!(" ({})", m.how)}</span>" → "
            <ul>{ports}</ul>
        </li>
    }
    .into_any()
}

fn map_view(map: DependencyMap) -> AnyView {
    if map.monitors.is_empty() {
        return view! {
            <p data-testid="no-dependencies">"No monitor is known to go through a load balancer yet. Give a monitor "
                <code>"via = \"label:port\""</code>" (its settings form: Served through), or point it at a NodeBalancer's address."</p>
        }
        .into_any();
    }
    let mut by_component: BTreeMap<String, Vec<&MonitorPath>> = BTreeMap::new();
    for m in &map.monitors {
        by_component.entry(m.component.clone()).or_default().push(m);
    }
    let sections: Vec<AnyView> = by_component
        .into_iter()
        .map(|(component, monitors)| {
            let testid = format!("dep-component-{component}");
            view! {
                <section class="panel" data-testid=testid>
                    <h2>{component}</h2>
                    <ul class="dep-graph">{monitors.into_iter().map(|m| monitor_view(m, &map)).collect_view()}</ul>
                </section>
            }
            .into_any()
        })
        .collect();
    sections.into_any()
}

#[component]
pub fn DependenciesPage() -> impl IntoView {
    let data = Resource::new(|| (), |_| get_dependencies());
    view! {
        <h1>"Dependencies"</h1>
        <p class="muted">"What each component's checks are served through and what that runs on: the map Vigil walks to explain an incident. Declared with a monitor's "
            <code>"via"</code>", "<code>"[[upstream]] hosts"</code>" and "<code>"[linode] backend_nodes"</code>"; the rest is discovered from Linode and Kubernetes."</p>
        <Transition fallback=|| view! { <p>"Loading…"</p> }>
            {move || data.get().map(|r| match r {
                Ok(map) => map_view(map),
                Err(e) => view! { <p class="form-error">{e.to_string()}</p> }.into_any(),
            })}
        </Transition>
    }
}
