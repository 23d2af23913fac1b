//! The simulator's webhook receiver speaks Discord's wire format, limits and rate limiting, so the
//! notification outbox can be tested against it.

use serde_json::{json, Value};
use vigil_sim::webhooks::WebhookSim;

#[tokio::test]
async fn discord_messages_are_recorded_validated_and_rate_limited() {
    let sim = WebhookSim::new();
    let base = sim.serve().await.unwrap();
    let client = reqwest::Client::new();
    let hook = format!("{base}/api/webhooks/123/secret");
    let embed = json!({ "embeds": [{ "title": "site-http is down", "color": 15158332 }] });

    let ok = client
        .post(&hook)
        .header("x-vigil-delivery", "n-1")
        .json(&embed)
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 204);
    let waited: Value = client
        .post(format!("{hook}?wait=true"))
        .json(&json!({ "content": "hello" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(waited["id"].is_string());

    let too_long = json!({ "embeds": [{ "title": "x".repeat(300) }] });
    let bad = client.post(&hook).json(&too_long).send().await.unwrap();
    assert_eq!(bad.status(), 400);
    let body: Value = bad.json().await.unwrap();
    assert_eq!(body["code"], 50035);
    let empty = client.post(&hook).json(&json!({})).send().await.unwrap();
    assert_eq!(empty.status(), 400);

    // Five requests per two seconds; the fourth through sixth here cross it.
    let mut limited = None;
    for _ in 0..4 {
        let r = client.post(&hook).json(&embed).send().await.unwrap();
        if r.status() == 429 {
            limited = Some(r);
            break;
        }
    }
    let limited = limited.expect("Discord's limit answered 429");
    assert!(limited.headers().contains_key("retry-after"));
    let body: Value = limited.json().await.unwrap();
    assert!(body["retry_after"].as_f64().unwrap() > 0.0);
    assert_eq!(body["global"], false);

    let got = sim.received();
    assert_eq!(got[0].delivery.as_deref(), Some("n-1"));
    assert_eq!(got[0].body["embeds"][0]["title"], "site-http is down");
    let listed: Vec<Value> = client
        .get(format!("{base}/_sim/messages"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed.len(), got.len());
}

#[tokio::test]
async fn faults_are_switched_over_http() {
    let sim = WebhookSim::new();
    let base = sim.serve().await.unwrap();
    let client = reqwest::Client::new();
    let set = |f: Value| client.post(format!("{base}/_sim/faults")).json(&f).send();
    assert_eq!(set(json!({ "down": true })).await.unwrap().status(), 200);
    let r = client
        .post(format!("{base}/hook/ops"))
        .json(&json!({ "event": "x" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 503);
    set(json!({ "throttle_next": 1, "retry_after": 0.25 }))
        .await
        .unwrap();
    let r = client
        .post(format!("{base}/services/T/B/X"))
        .json(&json!({ "text": "x" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 429);
    let r = client
        .post(format!("{base}/services/T/B/X"))
        .json(&json!({ "text": "x" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(sim.refused(), 2);
    assert_eq!(sim.received().len(), 1);
    let bad = set(json!({ "sometimes": true })).await.unwrap();
    assert_eq!(bad.status(), 422, "unknown fault switches are refused");
}
