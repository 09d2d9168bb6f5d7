use std::fmt;

/// A role on the platform as a whole, outside any tenant. Superusers hold every permission
/// through their flag; a platform role grants a named subset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PlatformRole {
    /// Provisions tenants for its customers and manages the tenants it created.
    PartnerAdmin,
}

impl PlatformRole {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::PartnerAdmin => "PARTNER_ADMIN",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, String> {
        match raw.trim().to_ascii_uppercase().as_str() {
            "PARTNER_ADMIN" => Ok(Self::PartnerAdmin),
            other => Err(format!("\"{other}\" is not a valid choice. Choose PARTNER_ADMIN.")),
        }
    }

    /// The permissions the role grants, e.g. `tenant:create`.
    pub fn permissions(self) -> &'static [&'static str] {
        match self {
            Self::PartnerAdmin => &["tenant:create", "tenant:read", "tenant:update", "tenant:delete"],
        }
    }

    pub fn allows(self, permission: &str) -> bool {
        self.permissions().contains(&permission)
    }
}

impl fmt::Display for PlatformRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partner_admins_may_create_tenants_and_nothing_outside_tenants() {
        let role = PlatformRole::parse("partner_admin").unwrap();
        assert!(role.allows("tenant:create"));
        assert!(!role.allows("user:impersonate"));
        assert!(PlatformRole::parse("OWNER").is_err());
    }
}
