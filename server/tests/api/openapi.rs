//! The OpenAPI document and the router agree: every route under `/api/v1` is documented, every
//! documented operation is routed (and protected), and the read endpoints document their bodies.

use reqwest::Method;
use serde_json::Value;

use crate::common::spawn_app;

const DOCUMENTED: [&str; 52] = [
    "/api/v1/agent/monitors",
    "/api/v1/agent/results",
    "/api/v1/alert-rules",
    "/api/v1/alert-rules/{id}",
    "/api/v1/channels",
    "/api/v1/channels/{id}",
    "/api/v1/components",
    "/api/v1/components/{id}",
    "/api/v1/dependencies",
    "/api/v1/follow-ups",
    "/api/v1/follow-ups/{id}",
    "/api/v1/incidents",
    "/api/v1/incidents/{id}",
    "/api/v1/incidents/{id}/causes",
    "/api/v1/incidents/{id}/postmortem",
    "/api/v1/incidents/{id}/postmortem/export",
    "/api/v1/incidents/{id}/postmortem/follow-ups",
    "/api/v1/incidents/{id}/postmortem/review",
    "/api/v1/incidents/{id}/postmortem/review/approvals",
    "/api/v1/incidents/{id}/postmortem/review/comments",
    "/api/v1/incidents/{id}/postmortem/review/comments/{thread}",
    "/api/v1/incidents/{id}/postmortem/review/reviewers",
    "/api/v1/incidents/{id}/postmortem/revisions",
    "/api/v1/incidents/{id}/updates",
    "/api/v1/kubernetes/nodes",
    "/api/v1/maintenances",
    "/api/v1/me",
    "/api/v1/monitors",
    "/api/v1/monitors/{id}",
    "/api/v1/nodebalancers",
    "/api/v1/nodebalancers/{id}/configs/{config_id}/history",
    "/api/v1/nodes",
    "/api/v1/nodes/{name}/series",
    "/api/v1/objectives",
    "/api/v1/objectives/{id}",
    "/api/v1/page",
    "/api/v1/reliability",
    "/api/v1/replicas",
    "/api/v1/slos",
    "/api/v1/slos/{id}",
    "/api/v1/slos/{id}/report",
    "/api/v1/sources",
    "/api/v1/sources/{id}",
    "/api/v1/subscribers",
    "/api/v1/subscribers/{id}",
    "/api/v1/upstreams",
    "/api/v1/world",
    "/api/v1/world/apply",
    "/api/v1/world/plan",
    "/api/v1/world/revisions",
    "/api/v1/world/revisions/{number}/restore",
    // Public: the subscribe form as JSON.
    "/api/v2/subscriptions.json",
];

#[tokio::test]
async fn the_document_and_the_router_name_the_same_operations() {
    let app = spawn_app().await;
    let served = app.get("/api/v1/openapi.json").await;
    assert_eq!(served.headers()["content-type"], "application/json");
    let doc: Value = served.json().await.unwrap();
    let paths = doc["paths"].as_object().expect("paths");
    let mut listed: Vec<&str> = paths.keys().map(String::as_str).collect();
    listed.sort_unstable();
    assert_eq!(listed, DOCUMENTED);
    // The document served is the one the router was built with.
    let built = vigil_server::http::api::openapi::api().doc;
    assert_eq!(serde_json::to_value(&built).unwrap(), doc);

    let mut operations = 0;
    for (path, item) in paths {
        let url = path
            .replace("{id}", "1")
            .replace("{config_id}", "1")
            .replace("{name}", "node-a")
            .replace("{thread}", "1")
            .replace("{number}", "1");
        for method in ["get", "post", "put", "patch", "delete"] {
            let documented = item.get(method).is_some();
            let m = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let resp = app
                .client
                .request(m, app.url(&url))
                .header("content-type", "application/json")
                .body("{}")
                .send()
                .await
                .unwrap();
            if documented {
                operations += 1;
                // Every operation says what it answers on success, not only that it succeeds.
                // (204 No Content is itself the answer.)
                let responses = item[method]["responses"].as_object().unwrap();
                assert!(
                    responses.iter().any(|(code, r)| code == "204"
                        || (code.starts_with('2')
                            && r["content"].as_object().is_some_and(|types| types
                                .values()
                                .any(|t| t["schema"].is_object())))),
                    "{method} {path} documents no success body"
                );
                if path.starts_with("/api/v2/") {
                    // Public, and `{}` is no subscription: the answer names the field.
                    assert_eq!(resp.status(), 400, "{method} {path}");
                } else {
                    // Routed, and refused to an anonymous caller before anything else happens.
                    assert_eq!(resp.status(), 401, "{method} {path}");
                }
            } else {
                assert_eq!(resp.status(), 405, "{method} {path} is not documented");
            }
        }
    }
    assert_eq!(operations, 77);
    // Nothing else answers under /api/v1.
    assert_eq!(app.get("/api/v1/undocumented").await.status(), 404);
}

#[tokio::test]
async fn the_read_endpoints_document_their_bodies() {
    let app = spawn_app().await;
    let doc: Value = app.get("/api/v1/openapi.json").await.json().await.unwrap();
    for (path, schema) in [
        ("/api/v1/me", "Me"),
        ("/api/v1/monitors", "MonitorList"),
        ("/api/v1/nodebalancers", "NodeBalancerList"),
        ("/api/v1/sources", "SourceList"),
        ("/api/v1/nodes", "NodeList"),
        ("/api/v1/nodes/{name}/series", "Series"),
    ] {
        let body = &doc["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]
            ["schema"]["$ref"];
        assert_eq!(
            body.as_str(),
            Some(format!("#/components/schemas/{schema}").as_str()),
            "{path}"
        );
        assert!(
            doc["components"]["schemas"][schema]["properties"].is_object()
                || doc["components"]["schemas"][schema]["allOf"].is_array(),
            "{schema} is described"
        );
    }
    let params = doc["paths"]["/api/v1/nodes/{name}/series"]["get"]["parameters"]
        .as_array()
        .unwrap();
    for name in ["name", "metric", "range", "from", "to"] {
        assert!(params.iter().any(|p| p["name"] == name), "{name}");
    }
}

/// The properties a schema declares, following `$ref` and the `allOf` that `#[serde(flatten)]`
/// produces.
fn declared(doc: &Value, schema: &Value) -> Vec<String> {
    if let Some(r) = schema["$ref"].as_str() {
        let name = r.trim_start_matches("#/components/schemas/");
        return declared(doc, &doc["components"]["schemas"][name]);
    }
    let mut out: Vec<String> = schema["properties"]
        .as_object()
        .map(|p| p.keys().cloned().collect())
        .unwrap_or_default();
    for part in schema["allOf"].as_array().into_iter().flatten() {
        out.extend(declared(doc, part));
    }
    out
}

fn success_schema<'a>(doc: &'a Value, path: &str, method: &str, code: &str) -> &'a Value {
    &doc["paths"][path][method]["responses"][code]["content"]["application/json"]["schema"]
}

/// Every key of `body` is declared by the schema, and every required property is present.
fn assert_matches(doc: &Value, schema: &Value, body: &Value, what: &str) {
    let keys = declared(doc, schema);
    assert!(
        !keys.is_empty(),
        "{what}: the schema declares no properties"
    );
    for key in body.as_object().expect("an object").keys() {
        assert!(
            keys.contains(key),
            "{what}: `{key}` is served but not documented"
        );
    }
}

#[tokio::test]
async fn incidents_and_postmortems_are_served_as_documented() {
    use crate::common::access::create_token;
    use serde_json::json;
    use vigil_core::model::auth::Scope;

    let app = crate::common::spawn_app_with_toml(
        "[[component]]\nid = \"site\"\nname = \"Website\"\n[incidents]\nautomatic = false\n",
    )
    .await;
    let doc: Value = app.get("/api/v1/openapi.json").await.json().await.unwrap();
    let (_, token) = create_token(
        &app,
        &[Scope::IncidentsWrite, Scope::PostmortemsWrite, Scope::Read],
    )
    .await;
    let send = |method: Method, path: &str, body: Value| {
        app.client
            .request(method, app.url(path))
            .bearer_auth(&token)
            .json(&body)
            .send()
    };

    let created = send(
        Method::POST,
        "/api/v1/incidents",
        json!({ "name": "Website down", "component_ids": ["site"], "body": "Looking." }),
    )
    .await
    .unwrap();
    assert_eq!(created.status(), 201);
    let incident: Value = created.json().await.unwrap();
    let id = incident["id"].as_i64().expect("a numeric id in /api/v1");
    let schema = success_schema(&doc, "/api/v1/incidents", "post", "201");
    assert_eq!(schema["$ref"], "#/components/schemas/Incident");
    assert_matches(&doc, schema, &incident, "POST /api/v1/incidents");
    assert_matches(
        &doc,
        &doc["components"]["schemas"]["UpdateView"],
        &incident["incident_updates"][0],
        "an update",
    );

    let list: Value = app.get_json("/api/v1/incidents", &token).await;
    let schema = success_schema(&doc, "/api/v1/incidents", "get", "200");
    assert_matches(&doc, schema, &list, "GET /api/v1/incidents");
    assert_eq!(list["incidents"][0]["id"], id);

    let drafted = send(
        Method::POST,
        &format!("/api/v1/incidents/{id}/postmortem"),
        json!({}),
    )
    .await
    .unwrap();
    assert_eq!(drafted.status(), 201);
    let pm: Value = drafted.json().await.unwrap();
    let path = "/api/v1/incidents/{id}/postmortem";
    assert_matches(
        &doc,
        success_schema(&doc, path, "post", "201"),
        &pm,
        "draft",
    );

    // A save from an older revision: 409 with the documented conflict body.
    let stale = send(
        Method::PUT,
        &format!("/api/v1/incidents/{id}/postmortem"),
        json!({ "base_revision": 0, "body": "mine" }),
    )
    .await
    .unwrap();
    assert_eq!(stale.status(), 409);
    let conflict: Value = stale.json().await.unwrap();
    assert_matches(
        &doc,
        success_schema(&doc, path, "put", "409"),
        &conflict,
        "a conflicting save",
    );
    assert_eq!(conflict["current_revision"], pm["revision"]);

    let revisions: Value = app
        .get_json(
            &format!("/api/v1/incidents/{id}/postmortem/revisions"),
            &token,
        )
        .await;
    let schema = success_schema(
        &doc,
        "/api/v1/incidents/{id}/postmortem/revisions",
        "get",
        "200",
    );
    assert_matches(&doc, schema, &revisions, "revisions");
    assert_eq!(revisions["revisions"].as_array().unwrap().len(), 2);

    // The public Statuspage shape is the same incident with a string id and public updates.
    let public: Value = app
        .get("/api/v2/incidents.json")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(public["incidents"][0]["id"], id.to_string());
    assert!(public["incidents"][0]["created_at"]
        .as_str()
        .unwrap()
        .ends_with("+00:00"));
}
