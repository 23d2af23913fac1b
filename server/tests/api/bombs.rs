//! Answers from URLs Vigil does not own are read through one capped reader: an answer that
//! inflates to 512 MB costs at most the cap. Measured in a process of its own (this test binary
//! run again on one test), so other tests' memory does not blur the figure.

use std::io::Write;

use vigil_server::outbox::policy::{answered, Outcome};

/// Inflated size of the bomb: 512 MB of zeros, about 0.5 MB on the wire.
const INFLATED: usize = 512 << 20;

#[tokio::test]
async fn a_gzip_bomb_answer_costs_no_memory() {
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "bombs::reads_bombs_in_a_process_of_its_own",
            "--ignored",
            "--nocapture",
            "--test-threads",
            "1",
        ])
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{text}");
    assert!(text.contains("1 passed"), "{text}");
}

/// `VmRSS` or `VmHWM` (the peak) of this process, in kB.
fn memory_kb(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .find_map(|l| {
            l.strip_prefix(field)?
                .trim_start_matches(':')
                .trim()
                .strip_suffix(" kB")?
                .trim()
                .parse()
                .ok()
        })
        .unwrap()
}

/// A receiver that answers every request `500` with a gzip body inflating to [`INFLATED`].
async fn bomb() -> String {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..INFLATED / zeros.len() {
        enc.write_all(&zeros).unwrap();
    }
    let body = std::sync::Arc::new(enc.finish().unwrap());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        loop {
            let Ok((mut s, _)) = listener.accept().await else {
                return;
            };
            let body = body.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 16 << 10];
                let _ = s.read(&mut buf).await;
                let head = format!(
                    "HTTP/1.1 500 Internal Server Error\r\ncontent-type: text/plain\r\ncontent-encoding: gzip\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                    body.len()
                );
                let _ = s.write_all(head.as_bytes()).await;
                let _ = s.write_all(&body).await;
            });
        }
    });
    format!("http://{addr}/hook")
}

#[tokio::test]
#[ignore = "run by a_gzip_bomb_answer_costs_no_memory, in a process of its own"]
async fn reads_bombs_in_a_process_of_its_own() {
    let url = bomb().await;
    let before = memory_kb("VmRSS");
    // Subscribers' webhooks and ops channels: the answer of each delivery attempt.
    let subscribers = vigil_server::subscribers::target::client(true);
    for _ in 0..5 {
        match answered(subscribers.post(&url).body("{}").send().await).await {
            Outcome::Retry {
                status: Some(500),
                error,
            } => assert!(error.len() < 400, "{error}"),
            other => panic!("{other:?}"),
        }
    }
    // Clients that inflate (upstream pages, Prometheus, Linode, GitHub): capped after inflation.
    let inflating = vigil_server::workers::http_client();
    for _ in 0..5 {
        let resp = inflating.get(&url).send().await.unwrap();
        let read = vigil_server::capped::read(resp, 2 << 20).await.unwrap();
        assert!(read.truncated);
        assert_eq!(read.bytes.len(), 2 << 20);
    }
    let peak = memory_kb("VmHWM");
    println!("before {before} kB, peak {peak} kB");
    assert!(
        peak.saturating_sub(before) < 50 * 1024,
        "reading bombs took the peak from {before} kB to {peak} kB"
    );
}
