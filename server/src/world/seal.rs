//! Secrets of the world at rest. A monitor's heartbeat secret and the values of its credential
//! headers (`Authorization`, `X-Api-Key`, …) are sealed before they are stored and opened when
//! the world is read back: the database, its dumps and its replicas hold
//! `sealed:v1:<base64(nonce ‖ ChaCha20-Poly1305 ciphertext)>`, never the secret. Exports and
//! revisions never had them at all (`plan::without_secrets`).
//!
//! The key is 32 bytes from the server's configuration (`[world] secret_key_file`, or
//! `$VIGIL_SECRET_KEY` as base64). Every replica needs the same one; a value sealed with another
//! key is refused when read, naming the monitor, rather than sent as gibberish.

use std::{
    path::Path,
    sync::{Arc, OnceLock},
};

use base64::{engine::general_purpose::STANDARD, Engine};
use ring::{
    aead::{Aad, LessSafeKey, Nonce, UnboundKey, CHACHA20_POLY1305, NONCE_LEN},
    rand::{SecureRandom, SystemRandom},
};
use serde_json::Value;

/// Whether a field holds a credential: a heartbeat's secret, or a header that carries one.
pub fn is_secret(field: &str) -> bool {
    if field == "secret" {
        return true;
    }
    let Some(header) = field.strip_prefix("headers.") else {
        return false;
    };
    let h = header.to_ascii_lowercase();
    [
        "authorization",
        "cookie",
        "token",
        "secret",
        "key",
        "password",
        "auth",
    ]
    .iter()
    .any(|word| h.contains(word))
}

const PREFIX: &str = "sealed:v1:";
/// Where the key is read from when the configuration names none.
pub const DEFAULT_KEY_FILE: &str = ".vigil/world.key";
pub const KEY_ENV: &str = "VIGIL_SECRET_KEY";

#[derive(Debug, thiserror::Error)]
pub enum SealError {
    #[error("a secret was sealed with another key; give every replica the same [world] secret_key_file (or ${KEY_ENV})")]
    WrongKey,
    #[error("a sealed secret is malformed")]
    Malformed,
    #[error("{0}")]
    Key(String),
}

pub struct Sealer {
    key: LessSafeKey,
    rng: SystemRandom,
}

impl Sealer {
    pub fn new(key: &[u8; 32]) -> Sealer {
        Sealer {
            key: LessSafeKey::new(
                UnboundKey::new(&CHACHA20_POLY1305, key).expect("a 32-byte key is a ChaCha20 key"),
            ),
            rng: SystemRandom::new(),
        }
    }

    /// The key from `$VIGIL_SECRET_KEY` (base64), else from `file` — made, readable by this
    /// account only, when it does not exist yet (the first start; replicas started together
    /// all end up with the one that was made first).
    pub fn from_env_or_file(file: &Path) -> Result<Sealer, SealError> {
        if let Ok(b64) = std::env::var(KEY_ENV) {
            return decode_key(b64.trim())
                .map(|k| Sealer::new(&k))
                .map_err(|e| SealError::Key(format!("${KEY_ENV}: {e}")));
        }
        if !file.exists() {
            make_key_file(file)
                .map_err(|e| SealError::Key(format!("cannot create {}: {e}", file.display())))?;
            tracing::info!(file = %file.display(), "made the key that seals monitors' secrets; every replica needs this same file");
        }
        let text = std::fs::read_to_string(file)
            .map_err(|e| SealError::Key(format!("cannot read {}: {e}", file.display())))?;
        decode_key(text.trim())
            .map(|k| Sealer::new(&k))
            .map_err(|e| SealError::Key(format!("{}: {e}", file.display())))
    }

    /// The sealer `[world]` configures: `$VIGIL_SECRET_KEY`, else its key file.
    pub fn configured(world: &crate::config::WorldConfig) -> Result<Sealer, SealError> {
        let file = world
            .secret_key_file
            .clone()
            .unwrap_or_else(|| std::path::PathBuf::from(DEFAULT_KEY_FILE));
        Sealer::from_env_or_file(&file)
    }

    pub fn seal_str(&self, plain: &str) -> String {
        let mut nonce = [0u8; NONCE_LEN];
        self.rng
            .fill(&mut nonce)
            .expect("the system's random source");
        let mut out = plain.as_bytes().to_vec();
        self.key
            .seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::empty(), &mut out)
            .expect("sealing a short string");
        let mut all = nonce.to_vec();
        all.extend(out);
        format!("{PREFIX}{}", STANDARD.encode(all))
    }

    /// A text as stored, opened when sealed; one stored before sealing is read as it is.
    pub fn open_text(&self, stored: &str) -> Result<String, SealError> {
        if stored.starts_with(PREFIX) {
            self.open_str(stored)
        } else {
            Ok(stored.to_string())
        }
    }

    pub fn open_str(&self, sealed: &str) -> Result<String, SealError> {
        let b64 = sealed.strip_prefix(PREFIX).ok_or(SealError::Malformed)?;
        let mut all = STANDARD.decode(b64).map_err(|_| SealError::Malformed)?;
        if all.len() < NONCE_LEN {
            return Err(SealError::Malformed);
        }
        let nonce: [u8; NONCE_LEN] = all[..NONCE_LEN].try_into().expect("length checked");
        let plain = self
            .key
            .open_in_place(
                Nonce::assume_unique_for_key(nonce),
                Aad::empty(),
                &mut all[NONCE_LEN..],
            )
            .map_err(|_| SealError::WrongKey)?;
        String::from_utf8(plain.to_vec()).map_err(|_| SealError::Malformed)
    }

    /// Seals a monitor's document (the TOML's field names): `secret` and credential headers.
    /// Seals a setting's credentials (a channel's webhook URL) in its document.
    pub fn seal_setting(&self, kind: super::objects::ObjectKind, doc: &mut Value) {
        if let Value::Object(fields) = doc {
            for (name, v) in fields.iter_mut() {
                if super::objects::is_secret_field(kind, name) {
                    self.seal_value(v);
                }
            }
        }
    }

    pub fn seal_doc(&self, doc: &mut Value) {
        if let Some(s) = doc.get_mut("secret") {
            self.seal_value(s);
        }
        if let Some(Value::Object(headers)) = doc.get_mut("headers") {
            for (name, v) in headers.iter_mut() {
                if is_secret(&format!("headers.{name}")) {
                    self.seal_value(v);
                }
            }
        }
    }

    /// Seals a monitor's spec (as the probes run it): a heartbeat's secret, an HTTP check's
    /// credential headers (`[name, value]` pairs).
    pub fn seal_spec(&self, spec: &mut Value) {
        let Some(check) = spec.get_mut("check") else {
            return;
        };
        if let Some(s) = check.get_mut("secret") {
            self.seal_value(s);
        }
        if let Some(Value::Array(headers)) = check.get_mut("headers") {
            for pair in headers.iter_mut() {
                if let Value::Array(kv) = pair {
                    let secret = kv
                        .first()
                        .and_then(Value::as_str)
                        .is_some_and(|name| is_secret(&format!("headers.{name}")));
                    if let (true, Some(v)) = (secret, kv.get_mut(1)) {
                        self.seal_value(v);
                    }
                }
            }
        }
    }

    fn seal_value(&self, v: &mut Value) {
        if let Value::String(s) = v {
            if !s.starts_with(PREFIX) {
                *s = self.seal_str(s);
            }
        }
    }

    /// Opens every sealed string in `v`, wherever it is; a value stored before sealing (in
    /// clear) is read as it is.
    pub fn open(&self, v: &mut Value) -> Result<(), SealError> {
        match v {
            Value::String(s) if s.starts_with(PREFIX) => {
                *s = self.open_str(s)?;
                Ok(())
            }
            Value::Array(items) => items.iter_mut().try_for_each(|i| self.open(i)),
            Value::Object(map) => map.values_mut().try_for_each(|i| self.open(i)),
            _ => Ok(()),
        }
    }
}

/// Whether `v` holds a secret that is not sealed: what start-up seals in rows written before.
pub fn has_clear_secret(sealer: &Sealer, v: &Value) -> bool {
    let mut sealed = v.clone();
    sealer.seal_doc(&mut sealed);
    sealer.seal_spec(&mut sealed);
    let changed = |a: &Value, b: &Value| a != b;
    changed(v, &sealed)
}

fn decode_key(b64: &str) -> Result<[u8; 32], String> {
    let bytes = STANDARD.decode(b64).map_err(|_| {
        "the key is not base64 (make one: head -c 32 /dev/urandom | base64)".to_string()
    })?;
    bytes
        .try_into()
        .map_err(|_| "the key must be 32 bytes (make one: head -c 32 /dev/urandom | base64)".into())
}

fn make_key_file(file: &Path) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    if let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let rng = SystemRandom::new();
    let mut key = [0u8; 32];
    let mut tag = [0u8; 8];
    rng.fill(&mut key)
        .and_then(|_| rng.fill(&mut tag))
        .map_err(|_| std::io::Error::other("no random source"))?;
    // Written aside under a name no other start uses (another process, or another server in
    // this one), then linked into place: whoever starts at the same moment either links first
    // or finds the file complete.
    let aside = file.with_extension(format!("{}.new", hex::encode(tag)));
    {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&aside)?;
        writeln!(f, "{}", STANDARD.encode(key))?;
        f.sync_all()?;
    }
    let linked = std::fs::hard_link(&aside, file);
    let _ = std::fs::remove_file(&aside);
    match linked {
        Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => Err(e),
        _ => Ok(()),
    }
}

/// Seals the secrets of monitors stored in clear (by a version before sealing): at start-up,
/// once; a store whose secrets are all sealed is only read. Returns how many were sealed.
pub async fn seal_stored(pool: &sqlx::PgPool) -> Result<usize, vigil_core::store::StoreError> {
    let sealer = sealer();
    let mut sealed = 0;
    for (id, mut spec, mut doc) in vigil_core::store::world::stored_forms(pool).await? {
        let clear = has_clear_secret(&sealer, &spec)
            || doc.as_ref().is_some_and(|d| has_clear_secret(&sealer, d));
        if !clear {
            continue;
        }
        sealer.seal_spec(&mut spec);
        if let Some(d) = doc.as_mut() {
            sealer.seal_doc(d);
        }
        vigil_core::store::world::rewrite_forms(pool, id, &spec, doc.as_ref()).await?;
        sealed += 1;
    }
    if sealed > 0 {
        tracing::info!(
            monitors = sealed,
            "sealed secrets stored in clear by an earlier version"
        );
    }
    Ok(sealed)
}

static SEALER: OnceLock<Arc<Sealer>> = OnceLock::new();

/// Installs this process's sealer (at start-up, from the configuration). The first install
/// wins: one process, one key.
pub fn install(sealer: Sealer) -> Arc<Sealer> {
    SEALER.get_or_init(|| Arc::new(sealer)).clone()
}

/// This process's sealer.
pub fn sealer() -> Arc<Sealer> {
    SEALER
        .get()
        .cloned()
        .expect("the world's sealer is installed at start-up")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sealer() -> Sealer {
        Sealer::new(&[7u8; 32])
    }

    #[test]
    fn credentials_are_sealed_and_open_again_with_the_same_key_only() {
        let s = sealer();
        let mut doc = json!({"name": "api", "headers": {"Authorization": "Bearer s3cret", "Accept": "text/html"},
                             "secret": "hb-123"});
        let plain = doc.clone();
        s.seal_doc(&mut doc);
        let text = doc.to_string();
        assert!(
            !text.contains("s3cret") && !text.contains("hb-123"),
            "{text}"
        );
        assert_eq!(doc["headers"]["Accept"], "text/html");
        // Sealing twice changes nothing more.
        let once = doc.clone();
        s.seal_doc(&mut doc);
        assert_eq!(doc, once);
        s.open(&mut doc).unwrap();
        assert_eq!(doc, plain);

        let mut spec = json!({"check": {"kind": "http", "url": "https://x", "headers": [["X-Api-Key", "k1"], ["Accept", "a"]]}});
        s.seal_spec(&mut spec);
        assert!(!spec.to_string().contains("\"k1\""));
        assert_eq!(spec["check"]["headers"][1][1], "a");
        let sealed = spec.clone();
        assert!(matches!(
            Sealer::new(&[8u8; 32]).open(&mut spec.clone()),
            Err(SealError::WrongKey)
        ));
        s.open(&mut spec).unwrap();
        assert_eq!(spec["check"]["headers"][0][1], "k1");
        assert!(has_clear_secret(&s, &spec) && !has_clear_secret(&s, &sealed));
    }

    #[test]
    fn servers_starting_at_once_in_one_process_share_the_one_key_made() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("world.key");
        let sealers: Vec<Sealer> = std::thread::scope(|s| {
            let starts: Vec<_> = (0..8)
                .map(|_| s.spawn(|| Sealer::from_env_or_file(&file).unwrap()))
                .collect();
            starts.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let sealed = sealers[0].seal_str("shared");
        for s in &sealers {
            assert_eq!(s.open_str(&sealed).unwrap(), "shared");
        }
        let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(left.len(), 1, "nothing left aside: {left:?}");
    }

    #[test]
    fn a_key_file_is_made_once_and_read_by_every_start() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("keys/world.key");
        let a = Sealer::from_env_or_file(&file).unwrap();
        let b = Sealer::from_env_or_file(&file).unwrap();
        let sealed = a.seal_str("x");
        assert_eq!(b.open_str(&sealed).unwrap(), "x");
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "{mode:o}");
        std::fs::write(&file, "short").unwrap();
        assert!(Sealer::from_env_or_file(&file).is_err());
    }
}
