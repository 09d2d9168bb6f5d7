/// A tenant's own domain (`login.acme.com`): a DNS name of at least two labels, each 1–63
/// lower-case letters, digits and inner hyphens, 253 characters at most, and not an address.
/// A trailing dot and upper case are tidied away; a scheme, a port or a path are refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomDomain(String);

impl CustomDomain {
    pub fn parse(raw: &str) -> Result<Self, String> {
        const MESSAGE: &str = "Enter a domain name such as login.example.com (no scheme, port or path).";
        let text = raw.trim().trim_end_matches('.').to_ascii_lowercase();
        let labels: Vec<&str> = text.split('.').collect();
        let label_ok = |l: &&str| {
            (1..=63).contains(&l.len()) && l.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-') && !l.starts_with('-') && !l.ends_with('-')
        };
        let top_is_a_name = labels.last().is_some_and(|top| top.bytes().any(|b| b.is_ascii_lowercase()));
        if text.len() > 253 || labels.len() < 2 || !labels.iter().all(label_ok) || !top_is_a_name {
            return Err(MESSAGE.into());
        }
        Ok(Self(text))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether this is `base` or a name under it (those are the tenants' subdomains).
    pub fn is_within(&self, base: &str) -> bool {
        let base = base.trim_end_matches('.').to_ascii_lowercase();
        self.0 == base || self.0.ends_with(&format!(".{base}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domains_are_tidied_and_anything_else_is_refused() {
        assert_eq!(CustomDomain::parse(" Login.Acme.COM. ").unwrap().as_str(), "login.acme.com");
        for bad in ["acme", "https://acme.com", "acme.com/x", "acme.com:443", "10.0.0.1", "-a.com", "a-.com", "a..com", "", "a_b.com", "ex ample.com"] {
            assert!(CustomDomain::parse(bad).is_err(), "{bad}");
        }
        assert!(CustomDomain::parse(&format!("{}.com", "a".repeat(64))).is_err());
        let domain = CustomDomain::parse("acme.tenantry.io").unwrap();
        assert!(domain.is_within("tenantry.io") && domain.is_within("TENANTRY.io.") && !domain.is_within("ry.io"));
    }
}
