use std::fmt;

/// An e-mail address, trimmed and lower-cased: accounts are unique case-insensitively, so the
/// normal form is what is stored and compared.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(transparent)]
pub struct Email(String);

pub const INVALID_EMAIL: &str = "Enter a valid email address.";

impl Email {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let candidate = raw.trim();
        if candidate.is_empty() {
            return Err(super::BLANK.into());
        }
        let valid = candidate.len() <= 254
            && !candidate.chars().any(|c| c.is_whitespace() || c.is_control())
            && match candidate.rsplit_once('@') {
                Some((local, domain)) => {
                    !local.is_empty()
                        && local.len() <= 64
                        && !local.contains('@')
                        && valid_domain(domain)
                }
                None => false,
            };
        if valid {
            Ok(Self(candidate.to_lowercase()))
        } else {
            Err(INVALID_EMAIL.into())
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn local_part(&self) -> &str {
        self.0.split('@').next().unwrap_or_default()
    }
}

fn valid_domain(domain: &str) -> bool {
    let labels: Vec<&str> = domain.split('.').collect();
    labels.len() >= 2
        && labels.iter().all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_alphanumeric() || c == '-')
        })
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for Email {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_trimmed_and_lowercased() {
        assert_eq!(Email::parse("  Jane.Doe@Example.COM ").unwrap().as_str(), "jane.doe@example.com");
    }

    #[test]
    fn malformed_addresses_are_rejected() {
        for bad in ["", "   ", "jane", "jane@", "@x.com", "jane@x", "ja ne@x.com", "a@b@c.com", "jane@-x.com", "jane@x..com"] {
            assert!(Email::parse(bad).is_err(), "{bad:?} should be rejected");
        }
    }

    #[test]
    fn blank_and_invalid_have_distinct_messages() {
        assert_eq!(Email::parse(" ").unwrap_err(), crate::domain::BLANK);
        assert_eq!(Email::parse("nope").unwrap_err(), INVALID_EMAIL);
    }
}
