use chrono::{DateTime, Utc};
use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Access tokens authorize requests; refresh tokens only buy new pairs. The claim is named
/// `token_type` as in the Django service (simplejwt) so existing clients can read it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TokenKind {
    Access,
    Refresh,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    pub token_type: TokenKind,
    pub exp: i64,
    pub iat: i64,
    pub jti: Uuid,
    pub user_id: Uuid,
    /// The tenant the token acts in; `None` for a superuser outside any tenant.
    pub tenant_id: Option<Uuid>,
    /// The account's credentials version when issued; a password reset bumps it and so ends
    /// every token issued before.
    #[serde(default)]
    pub ver: i32,
}

/// HS256 keys derived from `SECRET_KEY`.
#[derive(Clone)]
pub struct JwtKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
}

impl JwtKeys {
    pub fn new(secret: &[u8]) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 0;
        validation.set_required_spec_claims(&["exp", "iat"]);
        Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
        }
    }

    pub fn sign(&self, claims: &Claims) -> anyhow::Result<String> {
        Ok(encode(&Header::new(Algorithm::HS256), claims, &self.encoding)?)
    }

    /// Verifies signature and expiry and that the token is of the expected kind.
    pub fn verify(&self, token: &str, kind: TokenKind) -> Option<Claims> {
        let claims = decode::<Claims>(token, &self.decoding, &self.validation).ok()?.claims;
        (claims.token_type == kind).then_some(claims)
    }
}

impl Claims {
    pub fn new(kind: TokenKind, user_id: Uuid, tenant_id: Option<Uuid>, ver: i32, now: DateTime<Utc>, ttl: std::time::Duration) -> Self {
        Self {
            token_type: kind,
            iat: now.timestamp(),
            exp: now.timestamp() + ttl.as_secs() as i64,
            jti: Uuid::new_v4(),
            user_id,
            tenant_id,
            ver,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn a_refresh_token_is_not_an_access_token() {
        let keys = JwtKeys::new(b"test-secret-test-secret-test-secret");
        let claims = Claims::new(TokenKind::Refresh, Uuid::new_v4(), None, 0, Utc::now(), Duration::from_secs(60));
        let token = keys.sign(&claims).unwrap();
        assert!(keys.verify(&token, TokenKind::Access).is_none());
        assert_eq!(keys.verify(&token, TokenKind::Refresh).unwrap().jti, claims.jti);
    }

    #[test]
    fn expired_and_foreign_tokens_are_rejected() {
        let keys = JwtKeys::new(b"test-secret-test-secret-test-secret");
        let old = Claims::new(TokenKind::Access, Uuid::new_v4(), None, 0, Utc::now() - chrono::Duration::hours(2), Duration::from_secs(60));
        assert!(keys.verify(&keys.sign(&old).unwrap(), TokenKind::Access).is_none());
        let other = JwtKeys::new(b"another-secret-another-secret-xx");
        let fresh = Claims::new(TokenKind::Access, Uuid::new_v4(), None, 0, Utc::now(), Duration::from_secs(60));
        assert!(keys.verify(&other.sign(&fresh).unwrap(), TokenKind::Access).is_none());
    }
}
