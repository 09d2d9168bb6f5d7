//! Authorization, in one place. Every service call that needs a right asks for it here
//! (`actor.require(Permission::MembersWrite)`), and the invariants that span calls are named
//! functions here. Handlers, server functions and the CLI never decide who may do what.
//!
//! What a member holds in a tenant: the member baseline (every member, whatever their roles or
//! none, may see the tenant, its members and their roles — as before permissions existed), plus
//! the grants of each role they hold. A platform superuser holds everything in any tenant.

use crate::{
    domain::{Grant, Permission, Role, TenantId, UserId},
    store::Tx,
    ServiceError, ServiceResult,
};

use super::Actor;

/// What every member of a tenant holds, with or without a role.
pub const MEMBER_BASELINE: [Permission; 3] = [Permission::TenantRead, Permission::MembersRead, Permission::RolesRead];

/// What a built-in role grants on top of the baseline. ADMIN holds everything; ANALYST and
/// VIEWER hold the reads of what they could do before permissions existed.
pub fn role_grants(role: Role) -> &'static [Grant] {
    match role {
        Role::Admin => &[Grant::All],
        Role::Analyst | Role::Viewer => &[Grant::One(Permission::UsageRead)],
    }
}

/// Whether a member holding `roles` holds `permission`.
pub fn roles_allow(roles: &[Role], permission: Permission) -> bool {
    MEMBER_BASELINE.contains(&permission) || roles.iter().any(|role| role_grants(*role).iter().any(|g| g.covers(permission)))
}

/// What makes a member an administrator of their tenant: the rights to change who is in it
/// and what they may do. A tenant always keeps at least one such member.
pub const ADMINISTRATION: [Permission; 2] = [Permission::RolesWrite, Permission::MembersWrite];

pub fn administers(roles: &[Role]) -> bool {
    ADMINISTRATION.iter().all(|p| roles_allow(roles, *p))
}

pub(crate) const FORBIDDEN: &str = "You do not have permission to perform this action.";

impl Actor {
    /// Whether the caller holds `permission` in the tenant it acts in.
    pub fn can(&self, permission: Permission) -> bool {
        self.tenant_id.is_some() && (self.is_superuser || roles_allow(&self.roles, permission))
    }

    /// The tenant the caller acts in, when it holds `permission` there; otherwise 403.
    pub fn require(&self, permission: Permission) -> ServiceResult<TenantId> {
        let tenant = self.tenant()?;
        if self.can(permission) {
            Ok(tenant)
        } else {
            Err(ServiceError::forbidden(FORBIDDEN))
        }
    }

    /// Everything the caller holds in its tenant, as catalogue entries.
    pub fn permissions(&self) -> Vec<Permission> {
        Permission::ALL.into_iter().filter(|p| self.can(*p)).collect()
    }
}

impl super::Services {
    /// The whole catalogue, in its documented order.
    pub fn permission_catalogue(&self) -> Vec<Permission> {
        Permission::ALL.to_vec()
    }

    /// What the caller holds in the tenant it acts in.
    pub fn permissions_of(&self, actor: &Actor) -> Vec<Permission> {
        actor.permissions()
    }
}

/// The invariant "a tenant always keeps at least one administrator" (a member holding
/// [`ADMINISTRATION`]): refuses a change that would take `user`'s administration away
/// (`remaining` is what they would hold after it; `None` when they leave the tenant) when
/// nobody else administers the tenant. Call it inside the write transaction, after
/// `lock_tenant`, so two concurrent demotions cannot both pass.
pub(crate) async fn keep_an_administrator(tx: &mut Tx, tenant: TenantId, user: UserId, remaining: Option<&[Role]>) -> ServiceResult<()> {
    let current = tx.roles_of(tenant, user).await?;
    let loses = administers(&current) && !remaining.is_some_and(administers);
    // Built-in roles: only ADMIN administers, so the other administrators are the other ADMINs.
    if loses && tx.count_admins(tenant).await? <= 1 {
        return Err(ServiceError::conflict_detail(super::members::LAST_ADMIN));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every permission × every built-in role (and no role at all): the table of who may do what.
    #[test]
    fn the_built_in_roles_hold_exactly_todays_rights() {
        use Permission::*;
        let reads = [TenantRead, MembersRead, RolesRead];
        for permission in Permission::ALL {
            assert!(roles_allow(&[Role::Admin], permission), "ADMIN holds {permission}");
            let expected_for_readers = reads.contains(&permission) || permission == UsageRead;
            assert_eq!(roles_allow(&[Role::Analyst], permission), expected_for_readers, "ANALYST and {permission}");
            assert_eq!(roles_allow(&[Role::Viewer], permission), expected_for_readers, "VIEWER and {permission}");
            assert_eq!(roles_allow(&[], permission), reads.contains(&permission), "no role and {permission}");
        }
        assert!(administers(&[Role::Admin]) && administers(&[Role::Viewer, Role::Admin]));
        assert!(!administers(&[Role::Analyst, Role::Viewer]) && !administers(&[]));
    }
}
