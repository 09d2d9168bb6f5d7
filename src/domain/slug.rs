use super::TenantName;

/// The URL-safe handle of a tenant, derived from its name: lower-case ASCII letters, digits and
/// single hyphens. Two names with the same slug ("Acme Inc" / "acme-inc") are the same tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantSlug(String);

impl TenantSlug {
    pub fn from_name(name: &TenantName) -> Result<Self, String> {
        let mut slug = String::new();
        for c in name.as_str().chars().flat_map(char::to_lowercase) {
            if c.is_ascii_alphanumeric() {
                slug.push(c);
            } else if !slug.is_empty() && !slug.ends_with('-') {
                slug.push('-');
            }
        }
        let slug = slug.trim_end_matches('-');
        if slug.is_empty() {
            return Err("The name must contain at least one letter or digit.".into());
        }
        Ok(Self(slug.chars().take(50).collect::<String>().trim_end_matches('-').to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// A subdomain as someone asks for it: 2–50 lower-case letters, digits and single hyphens,
    /// not starting or ending with a hyphen (a DNS label, and what `from_name` makes).
    pub fn parse_subdomain(raw: &str) -> Result<Self, String> {
        let text = raw.trim().to_ascii_lowercase();
        let ok = (2..=50).contains(&text.len())
            && text.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !text.starts_with('-')
            && !text.ends_with('-')
            && !text.contains("--");
        if ok { Ok(Self(text)) } else { Err("A subdomain has 2 to 50 lower-case letters, digits and single hyphens, and starts and ends with a letter or digit.".into()) }
    }

    /// Names kept for the service itself (`www`, `api` …): never a tenant's subdomain.
    pub fn is_reserved(&self) -> bool {
        RESERVED.contains(&self.0.as_str())
    }

    /// Free variants to offer when this one is taken, best first.
    pub fn variants(&self) -> Vec<TenantSlug> {
        let base = self.0.chars().take(44).collect::<String>().trim_end_matches('-').to_owned();
        let mut out: Vec<String> = ["app", "hq", "team", "io", "co", "online", "group"].iter().map(|s| format!("{base}-{s}")).collect();
        out.extend((2..=30).map(|n| format!("{base}-{n}")));
        out.into_iter().filter_map(|s| Self::parse_subdomain(&s).ok()).filter(|s| !s.is_reserved()).collect()
    }
}

/// Subdomains the service keeps for itself.
pub const RESERVED: &[&str] = &[
    "www", "api", "admin", "app", "mail", "email", "smtp", "imap", "pop", "ftp", "ns1", "ns2", "mx", "static", "assets", "cdn",
    "docs", "help", "support", "status", "blog", "auth", "login", "logout", "signup", "sso", "account", "accounts", "billing",
    "dashboard", "console", "portal", "platform", "root", "system", "dev", "staging", "test", "demo", "tenantry", "webhooks",
    "metrics", "health",
];

#[cfg(test)]
mod tests {
    use super::*;

    fn slug(name: &str) -> String {
        TenantSlug::from_name(&TenantName::parse(name).unwrap()).unwrap().as_str().to_owned()
    }

    #[test]
    fn slugs_collapse_punctuation_and_case() {
        assert_eq!(slug("Acme Inc."), "acme-inc");
        assert_eq!(slug("  ACME   inc "), "acme-inc");
        assert_eq!(slug("Ünïcode Ltd"), "n-code-ltd");
    }

    #[test]
    fn subdomains_are_dns_labels_and_some_are_reserved() {
        assert_eq!(TenantSlug::parse_subdomain(" Acme-Corp ").unwrap().as_str(), "acme-corp");
        for bad in ["a", "-acme", "acme-", "ac--me", "acme.corp", "acme_corp", &"a".repeat(51)] {
            assert!(TenantSlug::parse_subdomain(bad).is_err(), "{bad}");
        }
        assert!(TenantSlug::parse_subdomain("www").unwrap().is_reserved());
        assert!(TenantSlug::parse_subdomain("api").unwrap().is_reserved());
        assert!(!TenantSlug::parse_subdomain("acme").unwrap().is_reserved());
        let variants = TenantSlug::parse_subdomain("acme-corp").unwrap().variants();
        assert!(variants.len() >= 5 && variants.iter().all(|v| v.as_str().starts_with("acme-corp-")));
        assert_eq!(TenantSlug::parse_subdomain(&"b".repeat(50)).unwrap().variants()[0].as_str().len(), 48);
    }

    #[test]
    fn a_name_without_letters_or_digits_has_no_slug() {
        assert!(TenantSlug::from_name(&TenantName::parse("!!!").unwrap()).is_err());
    }
}
