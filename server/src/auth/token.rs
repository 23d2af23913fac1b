//! API tokens: 32 random bytes, shown once as `vgl_<hex>`, stored as SHA-256. A fast hash is right
//! here: unlike passwords, the secret has 256 bits of entropy and cannot be guessed.

use argon2::password_hash::rand_core::{OsRng, RngCore};
use sha2::{Digest, Sha256};

pub const PREFIX: &str = "vgl_";

pub struct NewToken {
    /// The secret, to print once.
    pub secret: String,
    pub hash: Vec<u8>,
    /// Enough of the secret to recognise it in a list, not enough to use it.
    pub display_prefix: String,
}

pub fn generate() -> NewToken {
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    let secret = format!("{PREFIX}{}", hex::encode(bytes));
    NewToken {
        hash: hash(&secret),
        display_prefix: secret[..PREFIX.len() + 6].to_string(),
        secret,
    }
}

pub fn hash(secret: &str) -> Vec<u8> {
    Sha256::digest(secret.as_bytes()).to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_unique_prefixed_and_hash_to_what_is_stored() {
        let a = generate();
        let b = generate();
        assert_ne!(a.secret, b.secret);
        assert!(a.secret.starts_with(PREFIX));
        assert_eq!(a.secret.len(), PREFIX.len() + 64);
        assert_eq!(hash(&a.secret), a.hash);
        assert!(a.secret.starts_with(&a.display_prefix));
    }
}
