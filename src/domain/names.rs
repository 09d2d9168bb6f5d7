/// An organisation's display name: trimmed, 1–100 characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantName(String);

impl TenantName {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let name = raw.trim();
        if name.is_empty() {
            return Err(super::BLANK.into());
        }
        if name.chars().count() > 100 {
            return Err("Ensure this field has no more than 100 characters.".into());
        }
        if name.chars().any(char::is_control) {
            return Err("The name may not contain control characters.".into());
        }
        Ok(Self(name.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A first or last name: optional, trimmed, at most 150 characters (Django's limit).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PersonName(String);

impl PersonName {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let name = raw.trim();
        if name.chars().count() > 150 {
            return Err("Ensure this field has no more than 150 characters.".into());
        }
        if name.chars().any(char::is_control) {
            return Err("The name may not contain control characters.".into());
        }
        Ok(Self(name.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

/// What a person calls one of their passkeys ("Laptop", "Phone"): trimmed, at most 64
/// characters; blank means the default, "Passkey".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasskeyName(String);

impl PasskeyName {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let name = raw.trim();
        if name.chars().count() > 64 {
            return Err("Ensure this field has no more than 64 characters.".into());
        }
        if name.chars().any(char::is_control) {
            return Err("The name may not contain control characters.".into());
        }
        Ok(if name.is_empty() { Self::default() } else { Self(name.to_owned()) })
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for PasskeyName {
    fn default() -> Self {
        Self("Passkey".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passkey_names_default_when_blank_and_are_bounded() {
        assert_eq!(PasskeyName::parse("  Laptop ").unwrap().as_str(), "Laptop");
        assert_eq!(PasskeyName::parse("   ").unwrap(), PasskeyName::default());
        assert_eq!(PasskeyName::default().as_str(), "Passkey");
        assert!(PasskeyName::parse(&"x".repeat(64)).is_ok());
        assert!(PasskeyName::parse(&"x".repeat(65)).is_err());
        assert!(PasskeyName::parse("a\u{7}b").is_err());
    }

    #[test]
    fn tenant_names_are_trimmed_and_bounded() {
        assert_eq!(TenantName::parse("  Acme  ").unwrap().as_str(), "Acme");
        assert!(TenantName::parse("   ").is_err());
        assert!(TenantName::parse(&"x".repeat(101)).is_err());
    }

    #[test]
    fn person_names_may_be_empty_but_not_too_long() {
        assert_eq!(PersonName::parse("").unwrap().as_str(), "");
        assert!(PersonName::parse(&"y".repeat(151)).is_err());
    }
}
