//! Authorization, in one place. Every service call that needs a right asks for it here
//! (`actor.require(Permission::MembersWrite)`), and the invariants that span calls are named
//! functions here. Handlers, server functions and the CLI never decide who may do what.
//!
//! What a member holds in a tenant: the member baseline (every member, whatever their roles or
//! none, may see the tenant, its members and their roles — as before permissions existed), plus
//! the grants of each role they hold: a built-in role's from [`role_grants`], a custom role's
//! as the tenant wrote them. A platform superuser holds everything in any tenant. An API key
//! holds exactly its scopes, nothing else (no baseline).

use crate::domain::TenantStatus;
use std::collections::BTreeMap;

use crate::{
    domain::{covered, Grant, Permission, Role, RoleName, TenantId, UserId},
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

/// Whether a member holding `roles` (built-in ones; custom ones grant what is in `grants`)
/// holds `permission`.
pub fn member_holds(roles: &[RoleName], grants: &[Grant], permission: Permission) -> bool {
    MEMBER_BASELINE.contains(&permission)
        || grants.iter().any(|g| g.covers(permission))
        || roles.iter().filter_map(RoleName::built_in).any(|role| role_grants(role).iter().any(|g| g.covers(permission)))
}

/// [`member_holds`] for built-in roles only.
pub fn roles_allow(roles: &[Role], permission: Permission) -> bool {
    let names: Vec<RoleName> = roles.iter().copied().map(RoleName::from).collect();
    member_holds(&names, &[], permission)
}

/// What makes a member an administrator of their tenant: the rights to change who is in it
/// and what they may do. A tenant always keeps at least one such member.
pub const ADMINISTRATION: [Permission; 2] = [Permission::RolesWrite, Permission::MembersWrite];

pub fn administers(roles: &[RoleName], grants: &[Grant]) -> bool {
    ADMINISTRATION.iter().all(|p| member_holds(roles, grants, *p))
}

pub(crate) const FORBIDDEN: &str = "You do not have permission to perform this action.";

impl Actor {
    /// Whether the caller holds `permission` in the tenant it acts in.
    pub fn can(&self, permission: Permission) -> bool {
        if self.tenant_id.is_none() {
            return false;
        }
        match &self.api_key {
            Some(key) => key.scopes.iter().any(|g| g.covers(permission)),
            None => self.is_superuser || member_holds(&self.roles, &self.grants, permission),
        }
    }

    /// The tenant the caller acts in, when it holds `permission` there; otherwise 403.
    pub fn require(&self, permission: Permission) -> ServiceResult<TenantId> {
        let tenant = self.tenant()?;
        self.check_enrolment()?;
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

    /// The no-escalation rule: nobody hands out (in a role they define or a role they grant,
    /// or in an API key's scopes) a permission they do not hold themselves. 403 naming each
    /// missing one.
    pub fn may_grant(&self, grants: &[Grant]) -> ServiceResult<()> {
        if self.is_superuser {
            return Ok(());
        }
        let missing: Vec<&str> = covered(grants).into_iter().filter(|p| !self.can(*p)).map(Permission::as_str).collect();
        if missing.is_empty() {
            return Ok(());
        }
        Err(ServiceError::forbidden(format!(
            "You cannot grant {}: you do not hold {} yourself.",
            missing.join(", "),
            if missing.len() == 1 { "it" } else { "them" }
        )))
    }

    /// Refuses a call an API key may never make, whatever its scopes (creating keys).
    pub fn require_person(&self) -> ServiceResult<()> {
        match &self.api_key {
            Some(_) => Err(ServiceError::forbidden("API keys cannot do this; sign in as a person.")),
            None => Ok(()),
        }
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

    /// The tenant a call names (`tenant`, from the path) or the caller's current one, when the
    /// caller holds `permission` there. A tenant the caller does not belong to is 404; a
    /// suspended one can be changed by the platform only (409).
    pub(crate) async fn tenant_where(&self, actor: &Actor, tenant: Option<TenantId>, permission: Permission) -> ServiceResult<TenantId> {
        let Some(tenant) = tenant else { return actor.require(permission) };
        if actor.tenant_id == Some(tenant) {
            actor.check_enrolment()?;
        }
        if actor.is_superuser {
            return self.db().read().await?.tenant(tenant).await?.map(|t| t.id).ok_or(ServiceError::NotFound);
        }
        // A key lives in one tenant; a person may name another of theirs (looked up afresh:
        // the call may name any tenant id).
        if actor.api_key.is_some() {
            return if actor.tenant_id == Some(tenant) { actor.require(permission) } else { Err(ServiceError::NotFound) };
        }
        // The tenant the caller acts in: its actor was loaded for this request with its roles
        // there, and only as a member of an active tenant, so there is nothing to read again.
        if actor.tenant_id == Some(tenant) {
            return actor.require(permission);
        }
        let mut tx = self.db().read().await?;
        let there = tx.user_in_tenant(actor.user_id, Some(tenant)).await?.filter(|found| found.is_member).ok_or(ServiceError::NotFound)?;
        // Acting on that tenant from here is acting in it: its network rule and its 2FA
        // requirement apply, not those of the tenant the caller happens to be in.
        let policy = there.security_policy.as_deref().map(crate::store::decode_policy);
        super::security_policy::check_network(policy.as_ref(), actor.client_ip)?;
        super::two_factor::check_enrolment(policy.as_ref(), there.has_second_factor())?;
        let roles = crate::store::split_roles(there.roles.as_deref());
        let grants = crate::domain::grants_from_text(there.grants.as_deref().unwrap_or(""));
        if !member_holds(&roles, &grants, permission) {
            return Err(ServiceError::forbidden(FORBIDDEN));
        }
        // Its admins cannot act on a suspended organisation from another one either; only the
        // platform can.
        if !there.tenant_status.is_some_and(TenantStatus::is_active) {
            return Err(ServiceError::conflict_detail("This organisation is suspended; only the platform can change it."));
        }
        Ok(tenant)
    }
}

/// A change to who holds what in one tenant, as the last-administrator rule sees it.
#[derive(Debug, Clone)]
pub(crate) enum Change<'a> {
    /// `user` gives up `role`.
    Revoke { user: UserId, role: &'a RoleName },
    /// `user` leaves the tenant.
    Leave { user: UserId },
    /// `user`'s `from` becomes `to`, which grants `to_grants` when it is a custom role.
    Replace { user: UserId, from: &'a RoleName, to: &'a RoleName, to_grants: &'a [Grant] },
    /// The custom role `role` grants `grants` from now on.
    Regrant { role: &'a RoleName, grants: &'a [Grant] },
    /// Every holder of `from` holds `to` instead (deleting a role with reassignment).
    Reassign { from: &'a RoleName, to: &'a RoleName, to_grants: &'a [Grant] },
}

/// The invariant "a tenant always keeps at least one administrator" (a member holding
/// [`ADMINISTRATION`]): refuses `change` when the tenant has an administrator now and would
/// have none after it. Call it inside the write transaction, after `lock_tenant`, so two
/// concurrent demotions cannot both pass.
pub(crate) async fn keep_an_administrator(tx: &mut Tx, tenant: TenantId, change: Change<'_>) -> ServiceResult<()> {
    let mut holders: BTreeMap<UserId, Vec<(RoleName, Vec<Grant>)>> = BTreeMap::new();
    for holding in tx.administrative_holdings(tenant).await? {
        holders.entry(holding.user_id).or_default().push((holding.role.0, holding.grants.0));
    }
    let count = |holders: &BTreeMap<UserId, Vec<(RoleName, Vec<Grant>)>>| {
        holders
            .values()
            .filter(|held| {
                let roles: Vec<RoleName> = held.iter().map(|(r, _)| r.clone()).collect();
                let grants: Vec<Grant> = held.iter().flat_map(|(_, g)| g.iter().copied()).collect();
                administers(&roles, &grants)
            })
            .count()
    };
    let before = count(&holders);
    match change {
        Change::Revoke { user, role } => {
            if let Some(held) = holders.get_mut(&user) {
                held.retain(|(r, _)| r != role);
            }
        }
        Change::Leave { user } => {
            holders.remove(&user);
        }
        Change::Replace { user, from, to, to_grants } => {
            let held = holders.entry(user).or_default();
            held.retain(|(r, _)| r != from);
            held.push((to.clone(), to_grants.to_vec()));
        }
        Change::Regrant { role, grants } => {
            for held in holders.values_mut() {
                for (r, g) in held.iter_mut() {
                    if r == role {
                        *g = grants.to_vec();
                    }
                }
            }
        }
        Change::Reassign { from, to, to_grants } => {
            for held in holders.values_mut() {
                if held.iter().any(|(r, _)| r == from) {
                    held.retain(|(r, _)| r != from);
                    held.push((to.clone(), to_grants.to_vec()));
                }
            }
        }
    }
    if before > 0 && count(&holders) == 0 {
        return Err(ServiceError::conflict_detail(LAST_ADMIN));
    }
    Ok(())
}

pub(crate) const LAST_ADMIN: &str = "This is the organisation's last administrator (the last member who may manage members and roles). Make someone else an administrator first, so the organisation is never left without one.";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::parse_grants;

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
        let admin = [RoleName::BuiltIn(Role::Admin)];
        assert!(administers(&admin, &[]) && administers(&[RoleName::BuiltIn(Role::Viewer), RoleName::BuiltIn(Role::Admin)], &[]));
        assert!(!administers(&[RoleName::BuiltIn(Role::Analyst), RoleName::BuiltIn(Role::Viewer)], &[]) && !administers(&[], &[]));
    }

    #[test]
    fn custom_grants_add_to_the_baseline_and_wildcards_cover_resources() {
        let ops = [RoleName::from_stored("ops")];
        let grants = parse_grants(["members:*", "audit:read"]).unwrap();
        assert!(member_holds(&ops, &grants, Permission::MembersWrite));
        assert!(member_holds(&ops, &grants, Permission::AuditRead));
        assert!(member_holds(&ops, &grants, Permission::TenantRead), "the baseline");
        assert!(!member_holds(&ops, &grants, Permission::RolesWrite));
        assert!(!administers(&ops, &grants), "members:* alone does not administer");
        let both = parse_grants(["members:write", "roles:write"]).unwrap();
        assert!(administers(&ops, &both));
        // A custom role's name says nothing: only its grants count.
        assert!(!member_holds(&[RoleName::from_stored("admins")], &[], Permission::MembersWrite));
    }
}
