//! The permission catalogue: what a role or an API key may be granted. Permissions are
//! `resource:action` strings from a fixed list; a grant may also be a wildcard (`members:*`,
//! `*`). Who holds what is decided in `service::policy`.

use std::fmt;

/// One permission of the catalogue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Permission {
    TenantRead,
    TenantWrite,
    MembersRead,
    MembersWrite,
    RolesRead,
    RolesWrite,
    InvitationsRead,
    InvitationsWrite,
    AuditRead,
    ApiKeysManage,
    SecurityManage,
    UsageRead,
    UsageWrite,
}

impl Permission {
    pub const ALL: [Permission; 13] = [
        Permission::TenantRead,
        Permission::TenantWrite,
        Permission::MembersRead,
        Permission::MembersWrite,
        Permission::RolesRead,
        Permission::RolesWrite,
        Permission::InvitationsRead,
        Permission::InvitationsWrite,
        Permission::AuditRead,
        Permission::ApiKeysManage,
        Permission::SecurityManage,
        Permission::UsageRead,
        Permission::UsageWrite,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Permission::TenantRead => "tenant:read",
            Permission::TenantWrite => "tenant:write",
            Permission::MembersRead => "members:read",
            Permission::MembersWrite => "members:write",
            Permission::RolesRead => "roles:read",
            Permission::RolesWrite => "roles:write",
            Permission::InvitationsRead => "invitations:read",
            Permission::InvitationsWrite => "invitations:write",
            Permission::AuditRead => "audit:read",
            Permission::ApiKeysManage => "api_keys:manage",
            Permission::SecurityManage => "security:manage",
            Permission::UsageRead => "usage:read",
            Permission::UsageWrite => "usage:write",
        }
    }

    /// The part before the colon.
    pub fn resource(self) -> &'static str {
        self.as_str().split_once(':').map_or("", |(resource, _)| resource)
    }

    /// The part after the colon.
    pub fn action(self) -> &'static str {
        self.as_str().split_once(':').map_or("", |(_, action)| action)
    }

    /// What holding it allows, for `GET /api/permissions/` and the roles page.
    pub fn description(self) -> &'static str {
        match self {
            Permission::TenantRead => "See the organisation's name, plan and settings.",
            Permission::TenantWrite => "Change the organisation's name, settings and webhooks.",
            Permission::MembersRead => "List the members and see their profiles.",
            Permission::MembersWrite => "Add members directly, import them and remove them.",
            Permission::RolesRead => "See roles and who holds them.",
            Permission::RolesWrite => "Create and edit roles; grant and revoke them.",
            Permission::InvitationsRead => "See the invitations sent and their state.",
            Permission::InvitationsWrite => "Invite people, resend and revoke invitations.",
            Permission::AuditRead => "Read and export the audit trail.",
            Permission::ApiKeysManage => "Create, list and revoke API keys.",
            Permission::SecurityManage => "Change the security policy (passwords, sessions, 2FA, IP ranges).",
            Permission::UsageRead => "See usage against the plan's quotas.",
            Permission::UsageWrite => "Record usage against the plan's quotas.",
        }
    }

    /// Parses one catalogue entry exactly as written (`members:read`).
    pub fn parse(raw: &str) -> Result<Self, String> {
        let wanted = raw.trim();
        Self::ALL.into_iter().find(|p| p.as_str() == wanted).ok_or_else(|| unknown(wanted))
    }
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

fn unknown(raw: &str) -> String {
    format!("\"{raw}\" is not a known permission. Use resource:action from GET /api/permissions/, resource:* or *.")
}

/// What a role or a key is given: one permission, every action on a resource, or everything.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Grant {
    One(Permission),
    /// `resource:*`; the resource is one the catalogue has.
    Resource(&'static str),
    /// `*`.
    All,
}

impl Grant {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let wanted = raw.trim();
        if wanted == "*" {
            return Ok(Grant::All);
        }
        if let Some(resource) = wanted.strip_suffix(":*") {
            return Permission::ALL
                .into_iter()
                .map(Permission::resource)
                .find(|known| *known == resource)
                .map(Grant::Resource)
                .ok_or_else(|| unknown(wanted));
        }
        Permission::parse(wanted).map(Grant::One)
    }

    pub fn covers(self, permission: Permission) -> bool {
        match self {
            Grant::All => true,
            Grant::Resource(resource) => permission.resource() == resource,
            Grant::One(one) => one == permission,
        }
    }

    /// Every permission this grant covers.
    pub fn expand(self) -> impl Iterator<Item = Permission> {
        Permission::ALL.into_iter().filter(move |p| self.covers(*p))
    }

    pub fn to_text(self) -> String {
        match self {
            Grant::All => "*".to_owned(),
            Grant::Resource(resource) => format!("{resource}:*"),
            Grant::One(permission) => permission.as_str().to_owned(),
        }
    }
}

/// Parses a list of grants, naming every bad entry at once.
pub fn parse_grants<'a>(raw: impl IntoIterator<Item = &'a str>) -> Result<Vec<Grant>, Vec<String>> {
    let (mut grants, mut errors) = (Vec::new(), Vec::new());
    for item in raw {
        match Grant::parse(item) {
            Ok(grant) if !grants.contains(&grant) => grants.push(grant),
            Ok(_) => {}
            Err(message) => errors.push(message),
        }
    }
    if errors.is_empty() { Ok(grants) } else { Err(errors) }
}

/// Grants as the store keeps them: space-separated (`members:read roles:*`).
pub fn grants_to_text(grants: &[Grant]) -> String {
    grants.iter().map(|g| g.to_text()).collect::<Vec<_>>().join(" ")
}

/// Grants read back from the store. An entry the catalogue no longer has grants nothing.
pub fn grants_from_text(text: &str) -> Vec<Grant> {
    let mut grants: Vec<Grant> = text.split_whitespace().filter_map(|g| Grant::parse(g).ok()).collect();
    grants.sort();
    grants.dedup();
    grants
}

/// Every permission that `grants` cover, in catalogue order.
pub fn covered(grants: &[Grant]) -> Vec<Permission> {
    Permission::ALL.into_iter().filter(|p| grants.iter().any(|g| g.covers(*p))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_catalogue_entry_round_trips_and_names_its_resource() {
        for permission in Permission::ALL {
            assert_eq!(Permission::parse(permission.as_str()).unwrap(), permission);
            assert_eq!(format!("{}:{}", permission.resource(), permission.action()), permission.as_str());
            assert!(!permission.description().is_empty());
        }
        assert_eq!(Permission::ApiKeysManage.resource(), "api_keys");
        assert_eq!(Permission::MembersRead.to_string(), "members:read");
        let descriptions: std::collections::HashSet<_> = Permission::ALL.iter().map(|p| p.description()).collect();
        assert_eq!(descriptions.len(), Permission::ALL.len(), "each permission says what it allows");
        assert!(Permission::AuditRead.description().contains("audit trail"));
        assert_eq!(Permission::ALL.len(), 13);
    }

    #[test]
    fn wildcards_cover_a_resource_or_everything() {
        let members = Grant::parse("members:*").unwrap();
        assert!(members.covers(Permission::MembersRead) && members.covers(Permission::MembersWrite));
        assert!(!members.covers(Permission::RolesRead));
        assert_eq!(members.expand().collect::<Vec<_>>(), vec![Permission::MembersRead, Permission::MembersWrite]);
        assert!(Permission::ALL.iter().all(|p| Grant::All.covers(*p)));
        let one = Grant::parse(" audit:read ").unwrap();
        assert!(one.covers(Permission::AuditRead) && !one.covers(Permission::TenantRead));
        assert_eq!(one.to_text(), "audit:read");
        assert_eq!(members.to_text(), "members:*");
        assert_eq!(Grant::All.to_text(), "*");
    }

    #[test]
    fn unknown_permissions_are_each_named() {
        let errors = parse_grants(["members:read", "assets:*", "members:delete", "*:read", ""]).unwrap_err();
        assert_eq!(errors.len(), 4, "{errors:?}");
        assert!(errors[0].contains("assets:*") && errors[1].contains("members:delete"));
        assert_eq!(parse_grants(["members:read", "members:read", "*"]).unwrap(), vec![Grant::One(Permission::MembersRead), Grant::All]);
        assert!(Permission::parse("Members:Read").is_err(), "exactly as written");
    }

    #[test]
    fn grants_round_trip_through_their_stored_text() {
        let grants = parse_grants(["roles:*", "members:read"]).unwrap();
        let text = grants_to_text(&grants);
        assert_eq!(text, "roles:* members:read");
        assert_eq!(grants_from_text(&text), vec![Grant::One(Permission::MembersRead), Grant::Resource("roles")]);
        assert_eq!(grants_from_text("  members:read gone:away members:read  *"), vec![Grant::One(Permission::MembersRead), Grant::All]);
        assert!(grants_from_text("").is_empty());
        assert_eq!(covered(&grants), vec![Permission::MembersRead, Permission::RolesRead, Permission::RolesWrite]);
        assert_eq!(covered(&[Grant::All]).len(), Permission::ALL.len());
    }
}
