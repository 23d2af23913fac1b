//! The OpenAPI document and the router agree: every route under `/api/v1` is documented, every
//! documented operation is routed (and protected), and the read endpoints document their bodies.

use reqwest::Method;
use serde_json::Value;

use crate::common::spawn_app;

const DOCUMENTED: [&str; 12] = [
    "/api/v1/incidents",
    "/api/v1/incidents/{id}",
    "/api/v1/incidents/{id}/postmortem",
    "/api/v1/incidents/{id}/postmortem/revisions",
    "/api/v1/incidents/{id}/updates",
    "/api/v1/maintenances",
    "/api/v1/me",
    "/api/v1/monitors",
    "/api/v1/nodebalancers",
    "/api/v1/nodes",
    "/api/v1/nodes/{name}/series",
    "/api/v1/sources",
];

#[tokio::test]
async fn the_document_and_the_router_name_the_same_operations() {
    let app = spawn_app().await;
    let doc: Value = app.get("/api/v1/openapi.json").await.json().await.unwrap();
    let paths = doc["paths"].as_object().expect("paths");
    let mut listed: Vec<&str> = paths.keys().map(String::as_str).collect();
    listed.sort_unstable();
    assert_eq!(listed, DOCUMENTED);
    // The document served is the one the router was built with.
    let (_, built) = vigil_server::http::openapi::api();
    assert_eq!(serde_json::to_value(&built).unwrap(), doc);

    let mut operations = 0;
    for (path, item) in paths {
        let url = path.replace("{id}", "1").replace("{name}", "node-a");
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
                // Routed, and refused to an anonymous caller before anything else happens.
                assert_eq!(resp.status(), 401, "{method} {path}");
            } else {
                assert_eq!(resp.status(), 405, "{method} {path} is not documented");
            }
        }
    }
    assert_eq!(operations, 16);
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
