//! Each kind of probe against real servers on 127.0.0.1 that the tests start: one that answers,
//! one that fails, one that hangs, one with a certificate that expired, a closed port, a DNS
//! server, and one that sends far too much.

use std::{
    net::SocketAddr,
    time::{Duration, Instant},
};

use axum::{body::Body, response::Redirect, routing::get, Router};
use vigil_core::model::monitor::{Check, ErrorClass, HttpCheck, MonitorSpec, Outcome};
use vigil_server::probes::{check::Probers, heartbeats::Heartbeats};

async fn serve(router: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    addr
}

fn target() -> Router {
    Router::new()
        .route("/ok", get(|| async { "all good: version 1.2.3" }))
        .route(
            "/fail",
            get(|| async { (axum::http::StatusCode::INTERNAL_SERVER_ERROR, "boom") }),
        )
        .route(
            "/hang",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(3600)).await;
                "late"
            }),
        )
        .route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_millis(300)).await;
                "slow"
            }),
        )
        .route("/loop", get(|| async { Redirect::temporary("/loop") }))
        .route(
            "/huge",
            get(|| async {
                // 100 MB, streamed: the probe must stop reading at its cap.
                let chunk = axum::body::Bytes::from(vec![b'x'; 1 << 20]);
                let stream = futures::stream::iter(
                    (0..100).map(move |_| Ok::<_, std::io::Error>(chunk.clone())),
                );
                Body::from_stream(stream)
            }),
        )
}

fn http(url: String) -> HttpCheck {
    HttpCheck::get(url)
}

fn spec(check: Check, timeout_ms: u64) -> MonitorSpec {
    MonitorSpec {
        name: "t".into(),
        component: "c".into(),
        interval: Duration::from_secs(30),
        timeout: Duration::from_millis(timeout_ms),
        check,
        regions: vec!["local".into()],
        quorum: 1,
        via: vec![],
    }
}

fn probers() -> Probers {
    Probers::new(1 << 20, Default::default())
}

#[tokio::test]
async fn http_checks_judge_status_body_and_time() {
    let addr = serve(target()).await;
    let p = probers();
    let url = |path: &str| format!("http://{addr}{path}");

    let ok = p.check(1, &spec(Check::Http(http(url("/ok"))), 2000)).await;
    assert_eq!(ok.outcome, Outcome::Ok, "{ok:?}");

    let fail = p
        .check(1, &spec(Check::Http(http(url("/fail"))), 2000))
        .await;
    assert_eq!(fail.error.as_ref().unwrap().0, ErrorClass::Status);
    assert!(fail.error.unwrap().1.contains("500"));

    let mut accept_500 = http(url("/fail"));
    accept_500.expect_status = vec![500];
    assert_eq!(
        p.check(1, &spec(Check::Http(accept_500), 2000))
            .await
            .outcome,
        Outcome::Ok
    );

    let mut must = http(url("/ok"));
    must.body_contains = Some("version 2".into());
    let r = p.check(1, &spec(Check::Http(must), 2000)).await;
    assert_eq!(r.error.unwrap().0, ErrorClass::Body);

    let mut must_not = http(url("/ok"));
    must_not.body_not_contains = Some("good".into());
    assert_eq!(
        p.check(1, &spec(Check::Http(must_not), 2000)).await.outcome,
        Outcome::Failed
    );

    let mut re = http(url("/ok"));
    re.body_regex = Some(r"version \d+\.\d+\.\d+".into());
    assert_eq!(
        p.check(1, &spec(Check::Http(re), 2000)).await.outcome,
        Outcome::Ok
    );

    let mut slow = http(url("/slow"));
    slow.max_response = Some(Duration::from_millis(100));
    let r = p.check(1, &spec(Check::Http(slow), 2000)).await;
    assert_eq!(r.outcome, Outcome::Degraded, "{r:?}");
    assert_eq!(r.error.unwrap().0, ErrorClass::Slow);
}

#[tokio::test]
async fn a_hanging_target_times_out_without_holding_up_others() {
    let addr = serve(target()).await;
    let p = std::sync::Arc::new(probers());
    let started = Instant::now();
    let hang = {
        let p = p.clone();
        tokio::spawn(async move {
            p.check(
                1,
                &spec(Check::Http(http(format!("http://{addr}/hang"))), 500),
            )
            .await
        })
    };
    // While that one waits, another check completes at once.
    let ok = p
        .check(
            2,
            &spec(Check::Http(http(format!("http://{addr}/ok"))), 2000),
        )
        .await;
    assert_eq!(ok.outcome, Outcome::Ok);
    assert!(
        started.elapsed() < Duration::from_millis(450),
        "the ok check was not held up"
    );
    let hung = hang.await.unwrap();
    assert_eq!(hung.error.unwrap().0, ErrorClass::Timeout);
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[tokio::test]
async fn redirect_loops_and_huge_bodies_are_handled() {
    let addr = serve(target()).await;
    let p = probers();
    let r = p
        .check(
            1,
            &spec(Check::Http(http(format!("http://{addr}/loop"))), 2000),
        )
        .await;
    assert_eq!(r.error.as_ref().unwrap().0, ErrorClass::Protocol, "{r:?}");

    let mut no_follow = http(format!("http://{addr}/loop"));
    no_follow.follow_redirects = false;
    let r = p.check(1, &spec(Check::Http(no_follow), 2000)).await;
    assert!(r.error.unwrap().1.contains("redirect not followed"));

    let mut huge = http(format!("http://{addr}/huge"));
    huge.body_contains = Some("needle".into());
    let r = p.check(1, &spec(Check::Http(huge), 10_000)).await;
    assert_eq!(r.error.as_ref().unwrap().0, ErrorClass::Body, "{r:?}");
}

#[tokio::test]
async fn an_expired_certificate_fails_the_tls_check() {
    use tokio_rustls::rustls;
    let mut params = rcgen::CertificateParams::new(vec!["localhost".into()]).unwrap();
    params.not_before = rcgen::date_time_ymd(2020, 1, 1);
    params.not_after = rcgen::date_time_ymd(2021, 1, 30);
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = params.self_signed(&key).unwrap();
    let config = rustls::ServerConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(
        vec![cert.der().clone()],
        rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
    )
    .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(std::sync::Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let _ = acceptor.accept(stream).await;
            });
        }
    });
    let r = probers()
        .check(
            1,
            &spec(
                Check::Http(http(format!("https://localhost:{port}/"))),
                3000,
            ),
        )
        .await;
    let (class, message) = r
        .error
        .expect("an expired, self-signed certificate is refused");
    assert_eq!(class, ErrorClass::Tls, "{message}");
    assert!(message.to_lowercase().contains("certificate"), "{message}");
}

#[tokio::test]
async fn tcp_checks_see_open_and_refused_ports() {
    let addr = serve(target()).await;
    let p = probers();
    let open = p
        .check(
            1,
            &spec(
                Check::Tcp {
                    host: "127.0.0.1".into(),
                    port: addr.port(),
                },
                1000,
            ),
        )
        .await;
    assert_eq!(open.outcome, Outcome::Ok);
    // A port that was just free: bind, note, drop.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let refused = p
        .check(
            1,
            &spec(
                Check::Tcp {
                    host: "127.0.0.1".into(),
                    port: closed,
                },
                1000,
            ),
        )
        .await;
    assert_eq!(refused.error.as_ref().unwrap().0, ErrorClass::Connect);
    assert!(refused.error.unwrap().1.contains("refused"));
}

/// A one-record DNS server: answers A queries for `site.test.` with 10.0.0.7.
async fn dns_server() -> SocketAddr {
    use hickory_resolver::proto::{
        op::{Message, MessageType, ResponseCode},
        rr::{rdata::A, RData, Record},
    };
    let socket = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let addr = socket.local_addr().unwrap();
    tokio::spawn(async move {
        let mut buf = [0u8; 512];
        while let Ok((n, peer)) = socket.recv_from(&mut buf).await {
            let Ok(query) = Message::from_vec(&buf[..n]) else {
                continue;
            };
            let mut reply = Message::new();
            reply
                .set_id(query.id())
                .set_message_type(MessageType::Response)
                .set_recursion_available(true);
            reply.add_queries(query.queries().to_vec());
            let q = &query.queries()[0];
            if q.name().to_ascii() == "site.test." {
                reply.add_answer(Record::from_rdata(
                    q.name().clone(),
                    60,
                    RData::A(A::new(10, 0, 0, 7)),
                ));
            } else {
                reply.set_response_code(ResponseCode::NXDomain);
            }
            let _ = socket.send_to(&reply.to_vec().unwrap(), peer).await;
        }
    });
    addr
}

#[tokio::test]
async fn dns_checks_ask_the_chosen_resolver_and_compare_the_answer() {
    let server = dns_server().await;
    let p = probers();
    let dns = |name: &str, expect: Option<&str>| Check::Dns {
        name: name.into(),
        record_type: "A".into(),
        expect: expect.map(Into::into),
        resolver: Some(server),
    };
    assert_eq!(
        p.check(1, &spec(dns("site.test.", Some("10.0.0.7")), 2000))
            .await
            .outcome,
        Outcome::Ok
    );
    let wrong = p
        .check(1, &spec(dns("site.test.", Some("10.0.0.8")), 2000))
        .await;
    assert!(wrong
        .error
        .unwrap()
        .1
        .contains("expected 10.0.0.8, got 10.0.0.7"));
    let missing = p.check(1, &spec(dns("nope.test.", None), 2000)).await;
    assert_eq!(missing.error.unwrap().0, ErrorClass::Dns);
}

#[tokio::test]
async fn prometheus_checks_health_and_up_series() {
    use axum::extract::Query;
    use std::collections::HashMap;
    let prom = Router::new()
        .route("/-/healthy", get(|| async { "Prometheus Server is Healthy.\n" }))
        .route(
            "/api/v1/query",
            get(|Query(q): Query<HashMap<String, String>>| async move {
                let v = if q.get("query").map(String::as_str) == Some("up{job=\"node\"}") { "1" } else { "0" };
                axum::Json(serde_json::json!({
                    "status": "success",
                    "data": {"resultType": "vector", "result": [
                        {"metric": {"__name__": "up", "instance": "node-a:9100", "job": "node"}, "value": [1612017000.0, v]}
                    ]}
                }))
            }),
        );
    let addr = serve(prom).await;
    let p = probers();
    let check = |q: Option<&str>| Check::Prometheus {
        base_url: format!("http://{addr}"),
        up_query: q.map(Into::into),
    };
    assert_eq!(
        p.check(1, &spec(check(None), 2000)).await.outcome,
        Outcome::Ok
    );
    assert_eq!(
        p.check(1, &spec(check(Some("up{job=\"node\"}")), 2000))
            .await
            .outcome,
        Outcome::Ok
    );
    let down = p
        .check(1, &spec(check(Some("up{job=\"other\"}")), 2000))
        .await;
    assert!(down.error.unwrap().1.contains("targets down: node-a:9100"));
    let gone = Check::Prometheus {
        base_url: "http://127.0.0.1:9".into(),
        up_query: None,
    };
    assert_eq!(p.check(1, &spec(gone, 1000)).await.outcome, Outcome::Failed);
}

#[tokio::test]
async fn heartbeats_are_judged_by_their_window() {
    let beats = std::sync::Arc::new(Heartbeats::default());
    let p = Probers::new(1 << 20, beats.clone());
    let hb = Check::Heartbeat {
        secret: "x".repeat(16),
        window: Duration::from_secs(60),
    };
    assert_eq!(
        p.check(7, &spec(hb.clone(), 1000)).await.error.unwrap().0,
        ErrorClass::Missed
    );
    beats.beat(7, chrono::Utc::now());
    assert_eq!(p.check(7, &spec(hb, 1000)).await.outcome, Outcome::Ok);
}

#[tokio::test]
async fn a_target_that_answers_garbage_fails_cleanly() {
    use tokio::io::AsyncWriteExt;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            let _ = s
                .write_all(b"\x00\x01garbage that is not HTTP\r\n\r\n")
                .await;
            let _ = s.shutdown().await;
        }
    });
    let r = probers()
        .check(1, &spec(Check::Http(http(format!("http://{addr}/"))), 2000))
        .await;
    let (class, message) = r.error.expect("garbage is a failure");
    assert_eq!(class, ErrorClass::Protocol, "{message}");
}
