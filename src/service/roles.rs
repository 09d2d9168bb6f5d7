//! Role assignments within a tenant.

use serde_json::json;

use super::{now, Actor, Raw, RequestMeta, Services};
use crate::{
    domain::{AssignmentId, Role, UserId},
    store::{Assignment, Page, PageRequest},
    FieldErrors, ServiceError, ServiceResult,
};

/// `POST /api/roles/assign/`. There is deliberately no tenant field: the tenant is always the
/// caller's current one.
#[derive(Debug, Clone, Default)]
pub struct AssignRoleInput {
    pub user: Raw,
    pub role: Raw,
}

/// `GET /api/user-roles/?user=&role=`.
#[derive(Debug, Clone, Default)]
pub struct AssignmentFilter {
    pub user: Raw,
    pub role: Raw,
}

impl Services {
    /// The role assignments of the caller's tenant. Any member may read them.
    #[tracing::instrument(skip_all)]
    pub async fn list_assignments(&self, actor: &Actor, filter: AssignmentFilter, page: PageRequest) -> ServiceResult<Page<Assignment>> {
        let tenant = actor.require(crate::domain::Permission::RolesRead)?;
        let mut errors = FieldErrors::new();
        let user = filter.user.optional(&mut errors, "user", UserId::parse).flatten();
        let role = filter.role.optional(&mut errors, "role", Role::parse).flatten();
        errors.into_result()?;
        let mut tx = self.db().read_in(tenant).await?;
        let (items, count) = tx.assignments(tenant, user, role, page).await?;
        Ok(Page { items, count, page: page.page, page_size: page.page_size })
    }

    /// Gives a member of the caller's tenant a role; `roles:write` (ADMIN, or a superuser).
    /// Returns the assignment and whether it is new (an existing one is returned as it is).
    #[tracing::instrument(skip_all)]
    pub async fn assign_role(&self, actor: &Actor, input: AssignRoleInput, meta: &RequestMeta) -> ServiceResult<(Assignment, bool)> {
        let tenant = actor.require(crate::domain::Permission::RolesWrite)?;
        let mut errors = FieldErrors::new();
        let user = input.user.required(&mut errors, "user", UserId::parse);
        let role = input.role.required(&mut errors, "role", Role::parse);
        errors.into_result()?;
        let (user, role) = (user.unwrap(), role.unwrap());

        let mut tx = self.db().write_in(tenant).await?;
        if !tx.is_member(tenant, user).await? {
            // Not revealing whether the account exists elsewhere.
            return Err(ServiceError::field("user", "No member of this tenant has this id."));
        }
        let (assignment, created) = tx.assign_role(tenant, user, role, Some(actor.user_id), now()).await?;
        if created {
            actor
                .audit(meta)
                .write(&mut tx, Some(tenant), "role_assigned", "user", Some(user.to_string()), json!({"role": role.as_str()}))
                .await?;
        }
        tx.commit().await?;
        Ok((assignment, created))
    }

    /// Takes a role away; `roles:write`, checked before anything else. An assignment of
    /// another tenant is 404. The tenant's last administrator keeps the role (409, see
    /// `policy::keep_an_administrator`).
    #[tracing::instrument(skip_all)]
    pub async fn revoke_role(&self, actor: &Actor, id: &str, meta: &RequestMeta) -> ServiceResult<()> {
        let tenant = actor.require(crate::domain::Permission::RolesWrite)?;
        // Parsed after authorization: a caller without the right learns nothing from the id.
        let id = AssignmentId::parse(id).map_err(|_| ServiceError::NotFound)?;
        let mut tx = self.db().write_in(tenant).await?;
        tx.lock_tenant(tenant).await?;
        let assignment = tx.assignment(tenant, id).await?.ok_or(ServiceError::NotFound)?;
        let remaining: Vec<Role> = tx.roles_of(tenant, assignment.user_id).await?.into_iter().filter(|r| *r != assignment.role.0).collect();
        super::policy::keep_an_administrator(&mut tx, tenant, assignment.user_id, Some(&remaining)).await?;
        tx.delete_assignment(id).await?;
        actor
            .audit(meta)
            .write(&mut tx, Some(tenant), "role_revoked", "user", Some(assignment.user_id.to_string()),
                json!({"role": assignment.role.0.as_str(), "email": assignment.user_email}))
            .await?;
        tx.commit().await?;
        Ok(())
    }
}
