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
