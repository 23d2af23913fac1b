//! Upstream providers' status pages (a simulated Statuspage v2 page on 127.0.0.1): read with
//! their ETag, shown on /ops and — for public ones — as third-party services on the status page;
//! their incidents become events, attached as evidence to an incident Vigil opens meanwhile;
//! a broken page is skipped and said, never fatal.

use vigil_core::{
    model::auth::Scope,
    store::{events, incidents, upstream},
};
use vigil_sim::provider::ProviderSim;

use crate::common::{access::create_token, eventually, site_monitor, spawn_app_with_toml, Target};

async fn kinds(pool: &sqlx::PgPool) -> Vec<String> {
    events::after(pool, 0, 1000)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.data.message())
        .filter(|m| m.starts_with("Linode"))
        .collect()
}

#[tokio::test]
async fn a_providers_incident_is_followed_shown_and_kept_as_evidence() {
    let target = Target::start().await;
    let provider = ProviderSim::new();
    let page = provider.serve().await.unwrap();
    let app = spawn_app_with_toml(&site_monitor(
        target.addr,
        1,
        "",
        &format!(
            "[[upstream]]\nname = \"Linode\"\nurl = \"{page}\"\ncomponents = [\"NodeBalancers\"]\npublic = true\ninterval_secs = 1\n"
        ),
    ))
    .await;

    eventually(15, "the provider is read", || async {
        let all = upstream::all(&app.pool).await.ok()?;
        (all.len() == 1 && all[0].snapshot.components.len() == 1).then_some(())
    })
    .await;
    eventually(
        15,
        "the public page lists the provider's component",
        || async {
            let html = app.get("/").await.text().await.ok()?;
            (html.contains("Third-party services") && html.contains("Linode · NodeBalancers"))
                .then_some(())
        },
    )
    .await;

    provider.open_incident(
        "Connectivity issue affecting NodeBalancers",
        "NodeBalancers",
        "partial_outage",
        "We are investigating.",
    );
    eventually(15, "the provider's incident is an event", || async {
        let seen = kinds(&app.pool).await;
        seen.iter()
            .any(|m| {
                m.starts_with("Linode incident opened — Connectivity issue affecting NodeBalancers")
            })
            .then_some(())
    })
    .await;
    assert!(kinds(&app.pool)
        .await
        .contains(&"Linode: NodeBalancers operational → partial outage".to_string()));
    // Scripts read the same through the API (scope `read`).
    assert_eq!(app.get("/api/v1/upstreams").await.status(), 401);
    let (_, reader) = create_token(&app, &[Scope::Read]).await;
    let body = eventually(15, "the API shows the provider's incident", || async {
        let v = app.get_json("/api/v1/upstreams", &reader).await;
        (v["upstreams"][0]["snapshot"]["incidents"].as_array()?.len() == 1).then_some(v)
    })
    .await;
    let linode = &body["upstreams"][0];
    assert_eq!(linode["name"], "Linode");
    assert_eq!(linode["public"], true);
    assert_eq!(linode["snapshot"]["indicator"], "major");
    assert_eq!(
        linode["snapshot"]["components"],
        serde_json::json!([{"name": "NodeBalancers", "status": "partial_outage"}])
    );
    assert_eq!(
        linode["snapshot"]["incidents"][0]["name"],
        "Connectivity issue affecting NodeBalancers"
    );

    // Vigil's own checks fail while the provider's incident is open: it is the new incident's
    // evidence.
    target.set_healthy(false);
    let id = eventually(30, "an incident opens", || async {
        incidents::list(&app.pool, incidents::Filter::Unresolved, true)
            .await
            .ok()?
            .first()
            .map(|i| i.id)
    })
    .await;
    let incident = incidents::get(&app.pool, id, true).await.unwrap().unwrap();
    assert!(
        incident
            .evidence
            .iter()
            .any(|e| e.kind == "upstream.incident"),
        "{:?}",
        incident.evidence
    );

    // A page that is not what it should be is skipped and said; the next good one is read.
    provider.set_broken(true);
    eventually(15, "the provider's source says what is wrong", || async {
        let err: Option<String> =
            sqlx::query_scalar("SELECT last_error FROM sources WHERE name = 'upstream:Linode'")
                .fetch_one(&app.pool)
                .await
                .ok()?;
        err.filter(|e| e.contains("not JSON")).map(|_| ())
    })
    .await;
    provider.set_broken(false);
    provider.resolve();
    eventually(15, "the provider's incident is resolved", || async {
        kinds(&app.pool)
            .await
            .iter()
            .any(|m| m.starts_with("Linode incident resolved"))
            .then_some(())
    })
    .await;
}
