//! Authenticated encryption (AES-256-GCM) of short secrets kept at rest — the links in the
//! e-mail outbox, which carry live invitation and reset tokens until the message is sent. The
//! key is derived from `SECRET_KEY`, so a copy of the database alone opens nothing.

use std::sync::Arc;

use aws_lc_rs::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use rand::RngCore;
use sha2::{Digest, Sha256};

/// Marks a sealed value: `v1.` + base64url(nonce ‖ ciphertext ‖ tag).
const PREFIX: &str = "v1.";

#[derive(Clone)]
pub struct Sealer {
    key: Arc<LessSafeKey>,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealer([redacted])")
    }
}

impl Sealer {
    /// The key for `purpose`, derived from the server's secret (domain-separated, so the JWT
    /// signing key and this one never coincide).
    pub fn derive(secret: &[u8], purpose: &str) -> Self {
        let mut hasher = Sha256::new();
        hasher.update(b"tenantry seal v1\0");
        hasher.update(purpose.as_bytes());
        hasher.update(b"\0");
        hasher.update(secret);
        let bytes = hasher.finalize();
        let key = UnboundKey::new(&AES_256_GCM, &bytes).expect("32 bytes is an AES-256 key");
        Self { key: Arc::new(LessSafeKey::new(key)) }
    }

    pub fn seal(&self, plaintext: &str) -> String {
        let mut nonce = [0u8; NONCE_LEN];
        rand::rng().fill_bytes(&mut nonce);
        let mut data = plaintext.as_bytes().to_vec();
        self.key
            .seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::empty(), &mut data)
            .expect("AES-GCM sealing of a short value cannot fail");
        let mut out = nonce.to_vec();
        out.extend_from_slice(&data);
        format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(out))
    }

    /// The plaintext, or `None` when the value was not sealed by this key (another
    /// `SECRET_KEY`, tampering, or not a sealed value at all).
    pub fn open(&self, sealed: &str) -> Option<String> {
        let bytes = URL_SAFE_NO_PAD.decode(sealed.strip_prefix(PREFIX)?).ok()?;
        if bytes.len() < NONCE_LEN {
            return None;
        }
        let (nonce, rest) = bytes.split_at(NONCE_LEN);
        let mut data = rest.to_vec();
        let nonce = Nonce::try_assume_unique_for_key(nonce).ok()?;
        let plain = self.key.open_in_place(nonce, Aad::empty(), &mut data).ok()?;
        String::from_utf8(plain.to_vec()).ok()
    }

    pub fn is_sealed(value: &str) -> bool {
        value.starts_with(PREFIX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_value_opens_with_its_key_only() {
        let sealer = Sealer::derive(b"a secret key of some length here!", "outbox");
        let sealed = sealer.seal("http://h/invite?token=abc");
        assert!(Sealer::is_sealed(&sealed));
        assert!(!sealed.contains("token=abc"), "{sealed}");
        assert_eq!(sealer.open(&sealed).as_deref(), Some("http://h/invite?token=abc"));
        assert_ne!(sealer.seal("x"), sealer.seal("x"), "a fresh nonce each time");
        let other_secret = Sealer::derive(b"another secret key of some length", "outbox");
        assert_eq!(other_secret.open(&sealed), None);
        let other_purpose = Sealer::derive(b"a secret key of some length here!", "something else");
        assert_eq!(other_purpose.open(&sealed), None);
    }

    #[test]
    fn tampered_or_foreign_values_do_not_open() {
        let sealer = Sealer::derive(b"k", "outbox");
        let sealed = sealer.seal("hello");
        let mut bytes = sealed.into_bytes();
        let last = bytes.len() - 2;
        bytes[last] = if bytes[last] == b'A' { b'B' } else { b'A' };
        assert_eq!(sealer.open(&String::from_utf8(bytes).unwrap()), None);
        assert_eq!(sealer.open("http://plain/link"), None);
        assert!(!Sealer::is_sealed("http://plain/link"));
        assert_eq!(format!("{sealer:?}"), "Sealer([redacted])", "the key never reaches a log");
        assert_eq!(sealer.open("v1."), None);
        assert_eq!(sealer.open("v1.!!!"), None);
    }
}
