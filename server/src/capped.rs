//! The one way Vigil reads an answer from a URL it does not own (subscribers' webhooks, ops
//! channels, upstream status pages, GitHub, Linode, Prometheus, node_exporter, probes): chunk by
//! chunk, after any inflation the client does, stopping at a cap. A 0.5 MB gzip body that inflates
//! to 512 MB costs at most the cap, never the whole.

use futures::StreamExt;

/// Enough of a delivery's answer to show why a receiver refused it (and a `Retry-After` body).
pub const ANSWER_EXCERPT: usize = 16 << 10;

/// What was read: at most the cap, and whether the body went on beyond it.
#[derive(Debug, Default)]
pub struct Capped {
    pub bytes: Vec<u8>,
    pub truncated: bool,
}

impl Capped {
    /// The whole body, or an error naming the cap when it went beyond.
    pub fn whole(self, cap: usize) -> Result<Vec<u8>, TooLarge> {
        if self.truncated {
            Err(TooLarge(cap))
        } else {
            Ok(self.bytes)
        }
    }

    /// Up to `chars` characters of the body as text, for an error message.
    pub fn excerpt(&self, chars: usize) -> String {
        String::from_utf8_lossy(&self.bytes)
            .chars()
            .take(chars)
            .collect()
    }
}

#[derive(Debug, thiserror::Error)]
#[error("the answer is larger than {0} bytes")]
pub struct TooLarge(pub usize);

/// Reads at most `cap` bytes of `resp`'s body and drops the connection beyond it. A declared
/// `Content-Length` above the cap is not read at all.
pub async fn read(resp: reqwest::Response, cap: usize) -> Result<Capped, reqwest::Error> {
    let mut out = Capped::default();
    // The length before inflation; only a hint, the stream is counted anyway.
    let declared_over = resp.content_length().is_some_and(|n| n > cap as u64);
    if cap == 0 || declared_over {
        out.truncated = declared_over;
        return Ok(out);
    }
    let mut stream = resp.bytes_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk?;
        let room = cap - out.bytes.len();
        if chunk.len() > room {
            out.bytes.extend_from_slice(&chunk[..room]);
            out.truncated = true;
            break;
        }
        out.bytes.extend_from_slice(&chunk);
    }
    Ok(out)
}

/// Reads the whole body when it fits in `cap`, else an error saying so.
pub async fn whole(resp: reqwest::Response, cap: usize) -> Result<Vec<u8>, ReadError> {
    Ok(read(resp, cap).await?.whole(cap)?)
}

/// Reads a JSON body of at most `cap` bytes.
pub async fn json<T: serde::de::DeserializeOwned>(
    resp: reqwest::Response,
    cap: usize,
) -> Result<T, ReadError> {
    let body = whole(resp, cap).await?;
    Ok(serde_json::from_slice(&body)?)
}

#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("reading the answer failed: {}", crate::redact::transport_error(.0))]
    Transport(#[from] reqwest::Error),
    #[error(transparent)]
    TooLarge(#[from] TooLarge),
    #[error("the answer is not the JSON expected: {0}")]
    Json(#[from] serde_json::Error),
}
