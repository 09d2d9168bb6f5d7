//! Membership: people in several tenants, switching between them, and removing a member.

use serde_json::json;

use super::{Actor, Profile, Raw, RequestMeta, Services, TokenPair};
use crate::{
    domain::{AuditAction, RoleName, TenantId, UserId},
    store::Tenant,
    FieldErrors, ServiceError, ServiceResult,
};

/// One tenant the caller belongs to, with the roles held there.
#[derive(Debug, Clone)]
pub struct Membership {
    pub tenant: Tenant,
    pub roles: Vec<RoleName>,
    pub current: bool,
}

impl Services {
    /// The tenants the caller is a member of, with their roles in each (oldest first).
    #[tracing::instrument(skip_all)]
    pub async fn my_tenants(&self, actor: &Actor) -> ServiceResult<Vec<Membership>> {
        actor.require_person()?;
        let mut tx = self.db().read().await?;
        let mut memberships = Vec::new();
        for tenant in tx.tenants_of_user(actor.user_id).await? {
            let roles = tx.roles_of(tenant.id, actor.user_id).await?;
            memberships.push(Membership { current: Some(tenant.id) == actor.tenant_id, tenant, roles });
        }
        Ok(memberships)
    }

    /// Moves the caller into another of their tenants (a superuser may enter any). 403 for a
    /// tenant the caller does not belong to; the body is never trusted beyond the id.
    #[tracing::instrument(skip_all)]
    pub async fn switch_tenant(&self, actor: &Actor, tenant: Raw, meta: &RequestMeta) -> ServiceResult<Profile> {
        // A key lives in its tenant; switching would hand it its maker's other memberships.
        actor.require_person()?;
        let mut errors = FieldErrors::new();
        let tenant = tenant.required(&mut errors, "tenant_id", TenantId::parse);
        errors.into_result()?;
        let tenant = tenant.unwrap();
        let mut tx = self.db().write_in(tenant).await?;
        let member = match super::auth::load_member_with_policy(&mut tx, actor.user_id, Some(tenant)).await? {
            Some((member, policy)) => {
                super::security_policy::check_network(policy.as_ref(), meta.ip)?;
                member
            }
            None => return Err(ServiceError::forbidden("You are not a member of this organisation, or it is suspended.")),
        };
        actor
            .audit(meta)
            .write(&mut tx, Some(tenant), AuditAction::TenantSwitched, "tenant", Some(tenant.to_string()),
                json!({"from": actor.tenant_id.map(|t| t.to_string())}))
            .await?;
        tx.commit().await?;
        Ok(self.profile_of(member))
    }

    /// `POST /api/auth/switch-tenant/`: switches and issues a token pair scoped to the tenant.
    pub async fn switch_tenant_tokens(&self, actor: &Actor, tenant: Raw, meta: &RequestMeta) -> ServiceResult<(TokenPair, Profile)> {
        let profile = self.switch_tenant(actor, tenant, meta).await?;
        let pair = self.issue_tokens(&profile.user, profile.tenant_id, uuid::Uuid::new_v4()).await?;
        Ok((pair, profile))
    }

    /// Removes a member from a tenant; their roles there go with them, the account stays.
    /// `members:write` in that tenant, or a superuser. The last administrator cannot be removed.
    #[tracing::instrument(skip_all)]
    pub async fn remove_member(&self, actor: &Actor, tenant: TenantId, user: UserId, meta: &RequestMeta) -> ServiceResult<()> {
        let tenant = self.tenant_where(actor, Some(tenant), crate::domain::Permission::MembersWrite).await?;
        let mut tx = self.db().write_in(tenant).await?;
        tx.lock_tenant(tenant).await?;
        if !tx.is_member(tenant, user).await? {
            return Err(ServiceError::NotFound);
        }
        let roles = tx.roles_of(tenant, user).await?;
        super::policy::keep_an_administrator(&mut tx, tenant, super::policy::Change::Leave { user }).await?;
        let email = tx.user(user).await?.map(|u| u.email);
        tx.delete_membership(tenant, user).await?;
        actor
            .audit(meta)
            .write(&mut tx, Some(tenant), AuditAction::MemberRemoved, "user", Some(user.to_string()),
                json!({"email": email, "roles": roles.iter().map(|r| r.as_str()).collect::<Vec<_>>()}))
            .await?;
        tx.commit().await?;
        Ok(())
    }
}
