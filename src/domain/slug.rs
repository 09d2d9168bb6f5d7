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
}

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
    fn a_name_without_letters_or_digits_has_no_slug() {
        assert!(TenantSlug::from_name(&TenantName::parse("!!!").unwrap()).is_err());
    }
}
