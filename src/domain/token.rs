/// A one-time secret as it arrives in a link or a form: 256 bits in URL-safe base64 without
/// padding (43 characters), as `auth::random_token` makes them. Anything else cannot be one
/// of ours and is refused before the database is asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OneTimeToken(String);

impl OneTimeToken {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let token = raw.trim();
        if token.is_empty() {
            return Err(super::BLANK.into());
        }
        let well_formed = token.len() == 43 && token.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if well_formed {
            Ok(Self(token.to_owned()))
        } else {
            Err("This link is not valid: it may have been cut short. Copy the whole link from the e-mail.".into())
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// What is stored and looked up.
    pub fn hash(&self) -> String {
        crate::auth::token_hash(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_tokens_parse_and_garbage_does_not() {
        let token = crate::auth::random_token();
        assert_eq!(OneTimeToken::parse(&format!(" {token} ")).unwrap().as_str(), token);
        for bad in ["", "abc", "x".repeat(44).as_str(), &format!("{}!", &token[..42])] {
            assert!(OneTimeToken::parse(bad).is_err(), "{bad:?}");
        }
    }
}

/// An API key as a client sends it: `tnt_` and 256 random bits in URL-safe base64 (43
/// characters). Only its hash is stored; its first characters are kept to tell keys apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKeySecret(String);

impl ApiKeySecret {
    pub const PREFIX: &'static str = "tnt_";

    /// A new random key.
    pub fn generate() -> Self {
        Self(format!("{}{}", Self::PREFIX, crate::auth::random_token()))
    }

    /// `None` when the text cannot be one of our keys (checked before the database is asked).
    pub fn parse(raw: &str) -> Option<Self> {
        let key = raw.trim();
        let body = key.strip_prefix(Self::PREFIX)?;
        OneTimeToken::parse(body).ok().map(|_| Self(key.to_owned()))
    }

    /// Whether a credential looks like a key rather than a JWT (`Authorization: Bearer …`).
    pub fn looks_like(raw: &str) -> bool {
        raw.trim_start().starts_with(Self::PREFIX)
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    /// What is shown in lists: the prefix and the first six characters.
    pub fn display_prefix(&self) -> String {
        self.0.chars().take(Self::PREFIX.len() + 6).collect()
    }

    pub fn hash(&self) -> String {
        crate::auth::token_hash(&self.0)
    }
}

#[cfg(test)]
mod key_tests {
    use super::*;

    #[test]
    fn keys_are_prefixed_random_and_parse_back() {
        let key = ApiKeySecret::generate();
        assert!(key.expose().starts_with("tnt_") && key.expose().len() == 47);
        assert_ne!(key, ApiKeySecret::generate());
        assert_eq!(ApiKeySecret::parse(&format!(" {} ", key.expose())), Some(key.clone()));
        assert_eq!(key.display_prefix().len(), 10);
        assert!(key.expose().starts_with(&key.display_prefix()));
        assert_eq!(key.hash().len(), 64);
        assert!(!key.hash().contains(&key.expose()[4..]));
        for bad in ["", "tnt_", "tnt_short", &key.expose()[4..], &format!("xyz_{}", &key.expose()[4..]), &format!("{}!", &key.expose()[..46])] {
            assert!(ApiKeySecret::parse(bad).is_none(), "{bad:?}");
        }
        assert!(ApiKeySecret::looks_like("tnt_abc") && !ApiKeySecret::looks_like("eyJhbGciOi"));
    }
}
