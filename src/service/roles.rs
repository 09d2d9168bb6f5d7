//! Roles within a tenant: the built-in ones, the tenant's own (custom roles with the
//! permissions it chose), and who holds which. Authorization is `policy`'s; this module adds
//! the rule that nobody manages a role carrying more than they hold themselves.

use serde_json::json;
use uuid::Uuid;

use super::{now, policy, policy::Change, Actor, Raw, RawList, RequestMeta, Services};
use crate::{
    domain::{AuditAction, parse_grants, AssignmentId, CustomRoleName, Grant, Permission, Role, RoleName, TenantId, UserId},
    error::is_unique_violation,
    store::{Assignment, CustomRole, Page, PageRequest, Reader},
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

/// `POST /api/roles/` (every field) and `PATCH /api/roles/{id}/` (only those present).
#[derive(Debug, Clone, Default)]
pub struct RoleInput {
    pub name: Raw,
    pub description: Raw,
    pub permissions: RawList,
}

/// A role as `GET /api/roles/` shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct RoleView {
    /// `None` for a built-in role (they are addressed by name).
    pub id: Option<Uuid>,
    pub name: String,
    pub description: String,
    pub permissions: Vec<Grant>,
    pub built_in: bool,
    pub member_count: i64,
}

impl From<&CustomRole> for RoleView {
    fn from(role: &CustomRole) -> Self {
        Self {
            id: Some(role.id),
            name: role.name.clone(),
            description: role.description.clone(),
            permissions: role.permissions.0.clone(),
            built_in: false,
            member_count: role.member_count,
        }
    }
}

/// A role of one tenant, found by its name, with what it grants.
#[derive(Debug, Clone)]
pub(crate) struct TenantRole {
    pub name: RoleName,
    pub grants: Vec<Grant>,
    /// The tenant's row for a custom role.
    pub custom: Option<CustomRole>,
}

const BUILT_IN_FIXED: &str = "Built-in roles cannot be changed or deleted.";

/// The role of `tenant` that `raw` names (a built-in name in any case, or one of the tenant's
/// own, case-insensitively), or a message for `field`.
pub(crate) async fn find_role(tx: &mut Reader, tenant: TenantId, raw: &str) -> ServiceResult<Result<TenantRole, String>> {
    let parsed = match RoleName::parse(raw) {
        Ok(name) => name,
        Err(message) => return Ok(Err(message)),
    };
    Ok(match parsed {
        RoleName::BuiltIn(role) => Ok(TenantRole { name: RoleName::BuiltIn(role), grants: policy::role_grants(role).to_vec(), custom: None }),
        RoleName::Custom(name) => match tx.custom_role_named(tenant, &name).await? {
            Some(role) => Ok(TenantRole { name: RoleName::from_stored(&role.name), grants: role.permissions.0.clone(), custom: Some(role) }),
            None => Err(format!("\"{}\" is not a role of this organisation. Choose ADMIN, ANALYST, VIEWER or one of its own roles.", name.as_str())),
        },
    })
}

/// [`find_role`] for a required field: the message becomes that field's 400.
pub(crate) async fn role_for_field(tx: &mut Reader, tenant: TenantId, field: &str, raw: &str) -> ServiceResult<TenantRole> {
    find_role(tx, tenant, raw).await?.map_err(|message| ServiceError::field(field, message))
}

/// The grants of a role held by name (built-in or the tenant's own).
async fn grants_of(tx: &mut Reader, tenant: TenantId, role: &RoleName) -> ServiceResult<Vec<Grant>> {
    Ok(match role {
        RoleName::BuiltIn(role) => policy::role_grants(*role).to_vec(),
        RoleName::Custom(name) => tx.custom_role_named(tenant, name).await?.map(|r| r.permissions.0).unwrap_or_default(),
    })
}

fn parse_permissions(items: &[String]) -> Result<Vec<Grant>, Vec<String>> {
    parse_grants(items.iter().map(String::as_str))
}

fn parse_description(raw: &str) -> Result<String, String> {
    let text = raw.trim();
    if text.chars().count() > 500 {
        return Err("Ensure this field has no more than 500 characters.".into());
    }
    if text.chars().any(|c| c.is_control() && c != '\n') {
        return Err("The description may not contain control characters.".into());
    }
    Ok(text.to_owned())
}

impl Services {
    /// The built-in roles and the tenant's own, with how many members hold each. Any member.
    #[tracing::instrument(skip_all)]
    pub async fn list_roles(&self, actor: &Actor) -> ServiceResult<Vec<RoleView>> {
        let tenant = actor.require(Permission::RolesRead)?;
        let mut tx = self.db().read_in(tenant).await?;
        let counts = tx.role_counts(tenant).await?;
        let mut roles: Vec<RoleView> = Role::ALL
            .into_iter()
            .map(|role| RoleView {
                id: None,
                name: role.as_str().to_owned(),
                description: role.description().to_owned(),
                permissions: policy::role_grants(role).to_vec(),
                built_in: true,
                member_count: counts.iter().find(|(name, _)| name == role.as_str()).map_or(0, |(_, n)| *n),
            })
            .collect();
        roles.extend(tx.custom_roles(tenant).await?.iter().map(RoleView::from));
        Ok(roles)
    }

    /// One role by id (custom) or name (either kind). Any member.
    #[tracing::instrument(skip_all)]
    pub async fn role(&self, actor: &Actor, key: &str) -> ServiceResult<RoleView> {
        let tenant = actor.require(Permission::RolesRead)?;
        let mut tx = self.db().read_in(tenant).await?;
        let keyed = self.role_by_key(&mut tx, tenant, key).await?;
        // Back to the pool before list_roles takes one of its own.
        drop(tx);
        match keyed {
            Keyed::BuiltIn(role) => Ok(self.list_roles(actor).await?.into_iter().find(|r| r.name == role.as_str()).ok_or(ServiceError::NotFound)?),
            Keyed::Custom(role) => Ok(RoleView::from(&role)),
        }
    }

    /// Creates a role of the caller's tenant; `roles:write`, and only with permissions the
    /// caller holds (403 naming the others).
    #[tracing::instrument(skip_all)]
    pub async fn create_role(&self, actor: &Actor, input: RoleInput, meta: &RequestMeta) -> ServiceResult<RoleView> {
        let tenant = actor.require(Permission::RolesWrite)?;
        let mut errors = FieldErrors::new();
        let name = input.name.required(&mut errors, "name", CustomRoleName::parse);
        let description = input.description.optional(&mut errors, "description", parse_description).map(Option::unwrap_or_default);
        let grants = input.permissions.optional(&mut errors, "permissions", parse_permissions).map(Option::unwrap_or_default);
        errors.into_result()?;
        let (name, description, grants) = (name.unwrap(), description.unwrap(), grants.unwrap());
        actor.may_grant(&grants)?;

        let mut tx = self.db().write_in(tenant).await?;
        if tx.custom_role_named(tenant, &name).await?.is_some() {
            return Err(ServiceError::conflict("name", NAME_TAKEN));
        }
        let id = tx
            .insert_custom_role(tenant, &name, &description, &grants, Some(actor.user_id), now())
            .await
            .map_err(|e| if is_unique_violation(&e) { ServiceError::conflict("name", NAME_TAKEN) } else { e.into() })?;
        let role = tx.custom_role(tenant, id).await?.ok_or(ServiceError::NotFound)?;
        actor
            .audit(meta)
            .write(&mut tx, Some(tenant), AuditAction::RoleCreated, "role", Some(id.to_string()),
                json!({"name": role.name, "permissions": grant_texts(&grants)}))
            .await?;
        tx.commit().await?;
        Ok(RoleView::from(&role))
    }

    /// Changes a custom role (name, description, permissions: the fields given). A new name is
    /// carried to everyone holding it; new permissions apply on their next request. Built-in
    /// roles are fixed (403). The caller must hold both what the role granted and what it
    /// will grant; a change that leaves the tenant without an administrator is 409.
    #[tracing::instrument(skip_all)]
    pub async fn update_role(&self, actor: &Actor, key: &str, input: RoleInput, meta: &RequestMeta) -> ServiceResult<RoleView> {
        let tenant = actor.require(Permission::RolesWrite)?;
        let mut tx = self.db().write_in(tenant).await?;
        tx.lock_tenant(tenant).await?;
        let role = match self.role_by_key(&mut tx, tenant, key).await? {
            Keyed::BuiltIn(_) => return Err(ServiceError::forbidden(BUILT_IN_FIXED)),
            Keyed::Custom(role) => role,
        };
        let mut errors = FieldErrors::new();
        let name = input.name.optional(&mut errors, "name", CustomRoleName::parse).flatten();
        let description = input.description.optional(&mut errors, "description", parse_description).flatten();
        let grants = input.permissions.optional(&mut errors, "permissions", parse_permissions).flatten();
        errors.into_result()?;
        actor.may_grant(&role.permissions.0)?;
        let grants = grants.unwrap_or_else(|| role.permissions.0.clone());
        actor.may_grant(&grants)?;
        let name = match name {
            Some(name) => name,
            None => CustomRoleName::parse(&role.name).map_err(|m| ServiceError::Internal(anyhow::anyhow!("stored role name: {m}")))?,
        };
        if name.key() != role.name.to_ascii_lowercase() && tx.custom_role_named(tenant, &name).await?.is_some() {
            return Err(ServiceError::conflict("name", NAME_TAKEN));
        }
        let description = description.unwrap_or_else(|| role.description.clone());
        let stored = RoleName::from_stored(&role.name);
        policy::keep_an_administrator(&mut tx, tenant, Change::Regrant { role: &stored, grants: &grants }).await?;
        tx.update_custom_role(tenant, role.id, &role.name, &name, &description, &grants, now())
            .await
            .map_err(|e| if is_unique_violation(&e) { ServiceError::conflict("name", NAME_TAKEN) } else { e.into() })?;
        let updated = tx.custom_role(tenant, role.id).await?.ok_or(ServiceError::NotFound)?;
        actor
            .audit(meta)
            .write(&mut tx, Some(tenant), AuditAction::RoleUpdated, "role", Some(role.id.to_string()),
                json!({"name": updated.name, "from": {"name": role.name, "permissions": grant_texts(&role.permissions.0)},
                       "to": {"name": updated.name, "permissions": grant_texts(&grants)}}))
            .await?;
        tx.commit().await?;
        Ok(RoleView::from(&updated))
    }

    /// Deletes a custom role. While members hold it (or pending invitations would grant it)
    /// it is a 409, unless `reassign_to` names another role: its holders and invitations then
    /// move there in the same transaction.
    #[tracing::instrument(skip_all)]
    pub async fn delete_role(&self, actor: &Actor, key: &str, reassign_to: Raw, meta: &RequestMeta) -> ServiceResult<()> {
        let tenant = actor.require(Permission::RolesWrite)?;
        let mut tx = self.db().write_in(tenant).await?;
        tx.lock_tenant(tenant).await?;
        let role = match self.role_by_key(&mut tx, tenant, key).await? {
            Keyed::BuiltIn(_) => return Err(ServiceError::forbidden(BUILT_IN_FIXED)),
            Keyed::Custom(role) => role,
        };
        actor.may_grant(&role.permissions.0)?;
        let stored = RoleName::from_stored(&role.name);
        let pending = tx.pending_invitations_with_role(tenant, &role.name, now()).await?;
        let target = match reassign_to.as_text().map(str::trim).filter(|t| !t.is_empty()) {
            None => None,
            Some(raw) => {
                let target = role_for_field(&mut tx, tenant, "reassign_to", raw).await?;
                if target.name == stored {
                    return Err(ServiceError::field("reassign_to", "Choose a role other than the one being deleted."));
                }
                Some(target)
            }
        };
        let moved = match &target {
            None if role.member_count > 0 || pending > 0 => {
                return Err(ServiceError::conflict_detail(format!(
                    "The role {} is held by {} member(s) and {} pending invitation(s) would grant it. \
                     Pass ?reassign_to=<role> to move them to another role, or revoke it first.",
                    role.name, role.member_count, pending
                )))
            }
            None => 0,
            Some(target) => {
                actor.may_grant(&target.grants)?;
                let change = Change::Reassign { from: &stored, to: &target.name, to_grants: &target.grants };
                policy::keep_an_administrator(&mut tx, tenant, change).await?;
                tx.rename_role_references(tenant, &role.name, target.name.as_str()).await?
            }
        };
        if !tx.delete_custom_role(tenant, role.id).await? {
            return Err(ServiceError::NotFound);
        }
        actor
            .audit(meta)
            .write(&mut tx, Some(tenant), AuditAction::RoleDeleted, "role", Some(role.id.to_string()),
                json!({"name": role.name, "reassigned_to": target.as_ref().map(|t| t.name.as_str().to_owned()), "members_moved": moved}))
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The role assignments of the caller's tenant. Any member may read them.
    #[tracing::instrument(skip_all)]
    pub async fn list_assignments(&self, actor: &Actor, filter: AssignmentFilter, page: PageRequest) -> ServiceResult<Page<Assignment>> {
        let tenant = actor.require(Permission::RolesRead)?;
        let mut errors = FieldErrors::new();
        let user = filter.user.optional(&mut errors, "user", UserId::parse).flatten();
        let role = filter.role.optional(&mut errors, "role", |raw| Ok(raw.to_owned())).flatten();
        errors.into_result()?;
        let mut tx = self.db().read_in(tenant).await?;
        let role = match role {
            Some(raw) => Some(role_for_field(&mut tx, tenant, "role", &raw).await?.name),
            None => None,
        };
        let role = role.as_ref().map(RoleName::as_str);
        let key = (tenant, user, role.map(str::to_owned), page);
        let listed = self.inner.pages.assignments.page(&mut tx, tenant, key, async |tx| tx.assignments(tenant, user, role, page).await).await?;
        Ok(Page { items: listed.rows.clone(), count: listed.total, page: page.page, page_size: page.page_size })
    }

    /// Gives a member of the caller's tenant a role (built-in or the tenant's own);
    /// `roles:write`, and only a role whose permissions the caller holds. Returns the
    /// assignment and whether it is new (an existing one is returned as it is).
    #[tracing::instrument(skip_all)]
    pub async fn assign_role(&self, actor: &Actor, input: AssignRoleInput, meta: &RequestMeta) -> ServiceResult<(Assignment, bool)> {
        let tenant = actor.require(Permission::RolesWrite)?;
        let mut errors = FieldErrors::new();
        let user = input.user.required(&mut errors, "user", UserId::parse);
        let role = input.role.required(&mut errors, "role", |raw| RoleName::parse(raw).map(|_| raw.to_owned()));
        let mut tx = self.db().write_in(tenant).await?;
        // Whether the tenant has the role is part of checking the input: every bad field at once.
        let role = match role {
            Some(raw) => errors.check("role", find_role(&mut tx, tenant, &raw).await?),
            None => None,
        };
        errors.into_result()?;
        let (user, role) = (user.unwrap(), role.unwrap());
        actor.may_grant(&role.grants)?;
        if !tx.is_member(tenant, user).await? {
            // Not revealing whether the account exists elsewhere.
            return Err(ServiceError::field("user", "No member of this tenant has this id."));
        }
        let (assignment, created) = tx.assign_role(tenant, user, &role.name, Some(actor.user_id), now()).await?;
        if created {
            actor
                .audit(meta)
                .write(&mut tx, Some(tenant), AuditAction::RoleAssigned, "user", Some(user.to_string()), json!({"role": role.name.as_str()}))
                .await?;
        }
        tx.commit().await?;
        Ok((assignment, created))
    }

    /// Takes a role away; `roles:write`, checked before anything else. An assignment of
    /// another tenant is 404. The tenant's last administrator keeps what makes them one (409,
    /// see `policy::keep_an_administrator`).
    #[tracing::instrument(skip_all)]
    pub async fn revoke_role(&self, actor: &Actor, id: &str, meta: &RequestMeta) -> ServiceResult<()> {
        let tenant = actor.require(Permission::RolesWrite)?;
        // Parsed after authorization: a caller without the right learns nothing from the id.
        let id = AssignmentId::parse(id).map_err(|_| ServiceError::NotFound)?;
        let mut tx = self.db().write_in(tenant).await?;
        tx.lock_tenant(tenant).await?;
        let assignment = tx.assignment(tenant, id).await?.ok_or(ServiceError::NotFound)?;
        let role = assignment.role.0.clone();
        actor.may_grant(&grants_of(&mut tx, tenant, &role).await?)?;
        policy::keep_an_administrator(&mut tx, tenant, Change::Revoke { user: assignment.user_id, role: &role }).await?;
        tx.delete_assignment(tenant, id).await?;
        actor
            .audit(meta)
            .write(&mut tx, Some(tenant), AuditAction::RoleRevoked, "user", Some(assignment.user_id.to_string()),
                json!({"role": role.as_str(), "email": assignment.user_email}))
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// [`Services::revoke_role`] by member and role name (the people page's chips).
    pub async fn revoke_member_role(&self, actor: &Actor, user: &str, role: &str, meta: &RequestMeta) -> ServiceResult<()> {
        let tenant = actor.require(Permission::RolesWrite)?;
        let user = UserId::parse(user).map_err(|_| ServiceError::NotFound)?;
        let mut tx = self.db().read_in(tenant).await?;
        let name = find_role(&mut tx, tenant, role).await?.map_err(|_| ServiceError::NotFound)?.name;
        let found = tx.assignments(tenant, Some(user), Some(name.as_str()), PageRequest::first()).await?.rows;
        drop(tx);
        let assignment = found.into_iter().next().ok_or(ServiceError::NotFound)?;
        self.revoke_role(actor, &assignment.id.to_string(), meta).await
    }

    /// `PATCH /api/tenants/{tenant}/users/{user}/roles/{role}/`: replaces one role a member
    /// holds with another, atomically. Returns the new assignment.
    #[tracing::instrument(skip_all)]
    pub async fn change_role(&self, actor: &Actor, tenant: TenantId, user: &str, from: &str, to: Raw, meta: &RequestMeta) -> ServiceResult<Assignment> {
        let tenant = self.tenant_where(actor, Some(tenant), Permission::RolesWrite).await?;
        let user = UserId::parse(user).map_err(|_| ServiceError::NotFound)?;
        let mut errors = FieldErrors::new();
        let to = to.required(&mut errors, "role_name", |raw| RoleName::parse(raw).map(|_| raw.to_owned()));
        errors.into_result()?;
        let mut tx = self.db().write_in(tenant).await?;
        tx.lock_tenant(tenant).await?;
        let from = match find_role(&mut tx, tenant, from).await? {
            Ok(role) => role,
            Err(_) => return Err(ServiceError::NotFound),
        };
        if !tx.roles_of(tenant, user).await?.contains(&from.name) {
            return Err(ServiceError::NotFound);
        }
        let to = role_for_field(&mut tx, tenant, "role_name", &to.unwrap()).await?;
        actor.may_grant(&from.grants)?;
        actor.may_grant(&to.grants)?;
        if from.name == to.name {
            let (assignment, _) = tx.assign_role(tenant, user, &to.name, Some(actor.user_id), now()).await?;
            return Ok(assignment);
        }
        let change = Change::Replace { user, from: &from.name, to: &to.name, to_grants: &to.grants };
        policy::keep_an_administrator(&mut tx, tenant, change).await?;
        tx.remove_role(tenant, user, &from.name).await?;
        let (assignment, _) = tx.assign_role(tenant, user, &to.name, Some(actor.user_id), now()).await?;
        actor
            .audit(meta)
            .write(&mut tx, Some(tenant), AuditAction::RoleChanged, "user", Some(user.to_string()),
                json!({"from": from.name.as_str(), "to": to.name.as_str(), "email": assignment.user_email}))
            .await?;
        tx.commit().await?;
        Ok(assignment)
    }

    async fn role_by_key(&self, tx: &mut Reader, tenant: TenantId, key: &str) -> ServiceResult<Keyed> {
        if let Ok(id) = Uuid::parse_str(key.trim()) {
            return tx.custom_role(tenant, id).await?.map(Keyed::Custom).ok_or(ServiceError::NotFound);
        }
        match find_role(tx, tenant, key).await? {
            Ok(TenantRole { custom: Some(role), .. }) => Ok(Keyed::Custom(role)),
            Ok(TenantRole { name: RoleName::BuiltIn(role), .. }) => Ok(Keyed::BuiltIn(role)),
            _ => Err(ServiceError::NotFound),
        }
    }
}

enum Keyed {
    BuiltIn(Role),
    Custom(CustomRole),
}

const NAME_TAKEN: &str = "This organisation already has a role with this name.";

fn grant_texts(grants: &[Grant]) -> Vec<String> {
    grants.iter().map(|g| g.to_text()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_description_is_trimmed_and_has_at_most_500_characters_and_no_control_characters() {
        assert_eq!(parse_description("  Ships code \n").unwrap(), "Ships code");
        assert_eq!(parse_description(&"é".repeat(500)).unwrap().chars().count(), 500);
        assert!(parse_description(&"é".repeat(501)).is_err());
        assert_eq!(parse_description("line one\nline two").unwrap(), "line one\nline two", "newlines are text");
        assert!(parse_description("bell\u{7}").is_err());
        assert!(parse_description("tab\there").is_err());
        assert_eq!(parse_description("").unwrap(), "");
    }

    #[test]
    fn grants_are_written_as_the_catalogue_spells_them() {
        let grants = parse_permissions(&["members:*".into(), "audit:read".into()]).unwrap();
        let mut texts = grant_texts(&grants);
        texts.sort();
        assert_eq!(texts, vec!["audit:read".to_owned(), "members:*".to_owned()]);
        assert!(grant_texts(&[]).is_empty());
    }
}
