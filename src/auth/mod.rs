//! Credentials primitives: password hashing, signed JWTs and random one-time secrets.
//! No rules about who may do what live here; those are in `service`.

mod jwt;
mod password;
mod seal;

pub use jwt::{Claims, JwtKeys, TokenKind};
pub use password::{unusable_password, PasswordHasher};
pub use seal::Sealer;

use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};

/// 256 random bits, URL-safe base64 without padding (43 characters).
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// What is stored for a one-time secret: its SHA-256, hex. The secret itself has 256 bits of
/// entropy, so a fast hash is enough (no salt or argon2 needed).
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_tokens_are_long_url_safe_and_distinct() {
        let a = random_token();
        let b = random_token();
        assert_eq!(a.len(), 43);
        assert_ne!(a, b);
        assert!(a.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
    }

    #[test]
    fn token_hashes_are_stable_and_do_not_contain_the_token() {
        let token = random_token();
        assert_eq!(token_hash(&token), token_hash(&token));
        assert!(!token_hash(&token).contains(&token));
    }
}
