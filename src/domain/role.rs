use std::fmt;

/// A built-in role, the same in every tenant. A member may hold none (read-only access).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    Admin,
    Analyst,
    Viewer,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Admin, Role::Analyst, Role::Viewer];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "ADMIN",
            Role::Analyst => "ANALYST",
            Role::Viewer => "VIEWER",
        }
    }

    /// What the role is for, for `GET /api/roles/` and the roles page.
    pub fn description(self) -> &'static str {
        match self {
            Role::Admin => "Administers the organisation: everything, including people, roles, keys and security.",
            Role::Analyst => "Reads the organisation, its members, their roles and usage.",
            Role::Viewer => "Reads the organisation, its members, their roles and usage.",
        }
    }

    /// Accepts the canonical upper-case names, case-insensitively.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let wanted = raw.trim();
        Self::find(wanted).ok_or_else(|| format!("\"{wanted}\" is not a valid choice. Choose one of ADMIN, ANALYST, VIEWER."))
    }

    fn find(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|role| role.as_str().eq_ignore_ascii_case(name))
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for Role {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// The name of a role a tenant made itself: 2–50 letters, digits, `_` and `-`, never one of
/// the built-in names (in any case). Kept as written; compared case-insensitively.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CustomRoleName(String);

impl CustomRoleName {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let name = raw.trim();
        if name.is_empty() {
            return Err(super::BLANK.into());
        }
        let length = name.chars().count();
        if !(2..=50).contains(&length) {
            return Err("A role name has 2 to 50 characters.".into());
        }
        if !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
            return Err("A role name may contain only letters, digits, _ and -.".into());
        }
        if Role::find(name).is_some() {
            return Err(format!("\"{name}\" is the name of a built-in role; choose another name."));
        }
        Ok(Self(name.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The form names are compared in (ASCII lower case).
    pub fn key(&self) -> String {
        self.0.to_ascii_lowercase()
    }
}

/// A role as members hold it: built-in, or one of the tenant's own (by its stored name).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RoleName {
    BuiltIn(Role),
    Custom(CustomRoleName),
}

impl RoleName {
    /// What a client wrote: a built-in name in any case, or a well-formed custom name. Whether
    /// the tenant has such a role is for the service to find out.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let wanted = raw.trim();
        if let Some(role) = Role::find(wanted) {
            return Ok(Self::BuiltIn(role));
        }
        CustomRoleName::parse(wanted).map(Self::Custom).map_err(|_| {
            format!("\"{wanted}\" is not a valid choice. Choose ADMIN, ANALYST, VIEWER or a role of this organisation.")
        })
    }

    /// A name as the database keeps it (written by this service, so trusted).
    pub fn from_stored(name: &str) -> Self {
        match Role::find(name) {
            Some(role) => Self::BuiltIn(role),
            None => Self::Custom(CustomRoleName(name.to_owned())),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            Self::BuiltIn(role) => role.as_str(),
            Self::Custom(name) => name.as_str(),
        }
    }

    pub fn built_in(&self) -> Option<Role> {
        match self {
            Self::BuiltIn(role) => Some(*role),
            Self::Custom(_) => None,
        }
    }
}

impl PartialEq<Role> for RoleName {
    fn eq(&self, other: &Role) -> bool {
        self.built_in() == Some(*other)
    }
}

impl From<Role> for RoleName {
    fn from(role: Role) -> Self {
        Self::BuiltIn(role)
    }
}

impl fmt::Display for RoleName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for RoleName {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_parse_case_insensitively() {
        assert_eq!(Role::parse("admin").unwrap(), Role::Admin);
        assert_eq!(Role::parse(" VIEWER ").unwrap(), Role::Viewer);
    }

    #[test]
    fn unknown_roles_are_rejected_with_the_choices() {
        let message = Role::parse("OWNER").unwrap_err();
        assert!(message.contains("OWNER") && message.contains("ADMIN"));
    }

    #[test]
    fn custom_names_are_short_words_that_are_not_built_in() {
        assert_eq!(CustomRoleName::parse(" senior_developer ").unwrap().as_str(), "senior_developer");
        assert_eq!(CustomRoleName::parse("Ops-2").unwrap().key(), "ops-2");
        assert!(CustomRoleName::parse("ab").is_ok());
        assert!(CustomRoleName::parse(&"a".repeat(50)).is_ok());
        assert!(CustomRoleName::parse("a").unwrap_err().contains("2 to 50"));
        assert!(CustomRoleName::parse(&"a".repeat(51)).unwrap_err().contains("2 to 50"));
        assert!(CustomRoleName::parse("dev ops").unwrap_err().contains("only letters"));
        assert!(CustomRoleName::parse("développeur").unwrap_err().contains("only letters"));
        assert!(CustomRoleName::parse("admin").unwrap_err().contains("built-in"));
        assert!(CustomRoleName::parse("Viewer").unwrap_err().contains("built-in"));
        assert_eq!(CustomRoleName::parse("  ").unwrap_err(), crate::domain::BLANK);
    }

    #[test]
    fn role_names_are_built_in_first_then_the_tenants_own() {
        assert_eq!(RoleName::parse("analyst").unwrap(), RoleName::BuiltIn(Role::Analyst));
        assert_eq!(RoleName::parse("developer").unwrap().as_str(), "developer");
        assert!(RoleName::parse("developer").unwrap().built_in().is_none());
        assert!(RoleName::parse("no way").unwrap_err().contains("no way"));
        assert_eq!(RoleName::from_stored("ADMIN"), RoleName::BuiltIn(Role::Admin));
        assert_eq!(RoleName::from_stored("ops"), RoleName::Custom(CustomRoleName("ops".into())));
        assert!(RoleName::BuiltIn(Role::Viewer) < RoleName::from_stored("aa"), "built-in roles sort first");
        assert_eq!(serde_json::to_string(&RoleName::from_stored("ops")).unwrap(), "\"ops\"");
    }
}

// Read from a text column (`invitations.role`, …) as `RoleName::from_stored` reads it.
stored_as_text!(RoleName, |text: &str| Ok::<_, String>(RoleName::from_stored(text)));
