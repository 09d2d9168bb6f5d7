//! Partner provisioning: platform callers with `tenant:create` (the PARTNER_ADMIN platform
//! role, or a superuser) create tenants for their customers. The partner never sets a
//! password: each new tenant gets an invitation for its first admin.

use serde_json::json;

use super::{now, Actor, IssuedInvitation, Raw, RequestMeta, Services};
use crate::{
    domain::{AuditAction, Email, Industry, PhoneNumber, Role, RoleName, TenantId, TenantName, TenantSlug},
    error::is_unique_violation,
    store::{Page, PageRequest, Tenant, TenantContact},
    FieldErrors, ServiceError, ServiceResult,
};

/// `POST /api/provisioning/tenants`.
#[derive(Debug, Clone, Default)]
pub struct ProvisionInput {
    pub company_name: Raw,
    /// The first admin, who receives the invitation.
    pub email: Raw,
    pub phone_number: Raw,
    pub industry: Raw,
}

/// `PATCH /api/provisioning/tenants/{id}`: only the fields present change.
#[derive(Debug, Clone, Default)]
pub struct ProvisionUpdate {
    pub company_name: Raw,
    pub phone_number: Raw,
    pub industry: Raw,
}

const NAME_TAKEN: &str = "A tenant with this name already exists.";

impl Services {
    /// Creates a tenant and invites its first admin, in one transaction.
    #[tracing::instrument(skip_all)]
    pub async fn provision_tenant(&self, actor: &Actor, input: ProvisionInput, meta: &RequestMeta) -> ServiceResult<(Tenant, IssuedInvitation)> {
        require_permission(actor, "tenant:create")?;
        let mut errors = FieldErrors::new();
        let name = input.company_name.required(&mut errors, "company_name", TenantName::parse);
        let slug = name.as_ref().and_then(|n| errors.check("company_name", TenantSlug::from_name(n)));
        let email = input.email.required(&mut errors, "email", Email::parse);
        let phone = input.phone_number.optional(&mut errors, "phone_number", |raw| {
            if raw.trim().is_empty() { Ok(None) } else { PhoneNumber::parse(raw).map(Some) }
        });
        let industry = input.industry.optional(&mut errors, "industry", Industry::parse);
        errors.into_result()?;
        let (name, slug, email) = (name.unwrap(), slug.unwrap(), email.unwrap());
        let contact = TenantContact {
            contact_email: Some(email.as_str().to_owned()),
            phone_number: phone.flatten().flatten().map(|p| p.as_str().to_owned()),
            industry: industry.flatten().map(|i| i.as_str().to_owned()).filter(|i| !i.is_empty()),
        };

        let mut tx = self.db().write().await?;
        if tx.tenant_name_taken(&name, &slug).await? {
            return Err(ServiceError::conflict("company_name", NAME_TAKEN));
        }
        let at = now();
        let tenant = tx.insert_tenant(TenantId::new(), &name, &slug, at).await.map_err(|e| {
            if is_unique_violation(&e) { ServiceError::conflict("company_name", NAME_TAKEN) } else { e.into() }
        })?;
        tx.set_tenant_contact(tenant.id, Some(actor.user_id), &contact, at).await?;
        let issued = self.create_invitation_in(&mut tx, tenant.id, &email, &RoleName::BuiltIn(Role::Admin), actor.user_id).await?;
        let audit = actor.audit(meta);
        audit
            .write(&mut tx, Some(tenant.id), AuditAction::TenantProvisioned, "tenant", Some(tenant.id.to_string()),
                json!({"name": tenant.name, "partner": actor.email, "admin_email": email.as_str()}))
            .await?;
        audit
            .write(&mut tx, Some(tenant.id), AuditAction::InvitationCreated, "invitation", Some(issued.invitation.id.to_string()),
                json!({"email": email.as_str(), "role": "ADMIN"}))
            .await?;
        let tenant = tx.tenant(tenant.id).await?.ok_or(ServiceError::NotFound)?;
        tx.commit().await?;
        self.wake_mailer();
        Ok((tenant, issued))
    }

    /// The tenants this partner created (a superuser: every tenant).
    #[tracing::instrument(skip_all)]
    pub async fn provisioned_tenants(&self, actor: &Actor, page: PageRequest) -> ServiceResult<Page<Tenant>> {
        require_permission(actor, "tenant:read")?;
        let mut tx = self.db().read().await?;
        let partner = (!actor.is_superuser).then_some(actor.user_id);
        let (items, count) = tx.tenants_created_by(partner, page).await?;
        Ok(Page { items, count, page: page.page, page_size: page.page_size })
    }

    /// One tenant this partner created; any other id is 404.
    #[tracing::instrument(skip_all)]
    pub async fn provisioned_tenant(&self, actor: &Actor, id: TenantId) -> ServiceResult<Tenant> {
        require_permission(actor, "tenant:read")?;
        let mut tx = self.db().read().await?;
        owned_tenant(actor, tx.tenant(id).await?)
    }

    #[tracing::instrument(skip_all)]
    pub async fn update_provisioned_tenant(&self, actor: &Actor, id: TenantId, input: ProvisionUpdate, meta: &RequestMeta) -> ServiceResult<Tenant> {
        require_permission(actor, "tenant:update")?;
        let mut tx = self.db().write().await?;
        let tenant = owned_tenant(actor, tx.tenant(id).await?)?;
        let mut errors = FieldErrors::new();
        let name = input.company_name.optional(&mut errors, "company_name", TenantName::parse).flatten();
        let slug = name.as_ref().and_then(|n| errors.check("company_name", TenantSlug::from_name(n)));
        let phone = input.phone_number.optional(&mut errors, "phone_number", |raw| {
            if raw.trim().is_empty() { Ok(None) } else { PhoneNumber::parse(raw).map(Some) }
        });
        let industry = input.industry.optional(&mut errors, "industry", Industry::parse);
        errors.into_result()?;
        let at = now();
        let mut changed = serde_json::Map::new();
        if let (Some(name), Some(slug)) = (&name, &slug) {
            if name.as_str() != tenant.name {
                if slug.as_str() != tenant.slug && tx.tenant_name_taken(name, slug).await? {
                    return Err(ServiceError::conflict("company_name", NAME_TAKEN));
                }
                tx.rename_tenant(id, name, slug, at).await.map_err(|e| {
                    if is_unique_violation(&e) { ServiceError::conflict("company_name", NAME_TAKEN) } else { e.into() }
                })?;
                changed.insert("company_name".into(), json!(name.as_str()));
            }
        }
        let contact = TenantContact {
            contact_email: tenant.contact_email.clone(),
            phone_number: match phone {
                Some(Some(p)) => p.map(|p| p.as_str().to_owned()),
                _ => tenant.phone_number.clone(),
            },
            industry: match industry {
                Some(Some(i)) => Some(i.as_str().to_owned()).filter(|i| !i.is_empty()),
                _ => tenant.industry.clone(),
            },
        };
        if contact.phone_number != tenant.phone_number {
            changed.insert("phone_number".into(), json!(contact.phone_number));
        }
        if contact.industry != tenant.industry {
            changed.insert("industry".into(), json!(contact.industry));
        }
        tx.set_tenant_contact(id, tenant.created_by_partner, &contact, at).await?;
        actor
            .audit(meta)
            .write(&mut tx, Some(id), AuditAction::TenantUpdated, "tenant", Some(id.to_string()), serde_json::Value::Object(changed))
            .await?;
        let updated = tx.tenant(id).await?.ok_or(ServiceError::NotFound)?;
        tx.commit().await?;
        Ok(updated)
    }

    /// Deletes a tenant this partner created, with its memberships, roles and invitations. The
    /// accounts and the audit trail stay.
    #[tracing::instrument(skip_all)]
    pub async fn delete_provisioned_tenant(&self, actor: &Actor, id: TenantId, meta: &RequestMeta) -> ServiceResult<()> {
        require_permission(actor, "tenant:delete")?;
        let mut tx = self.db().write().await?;
        let tenant = owned_tenant(actor, tx.tenant(id).await?)?;
        actor
            .audit(meta)
            .write(&mut tx, Some(id), AuditAction::TenantDeleted, "tenant", Some(id.to_string()), json!({"name": tenant.name, "slug": tenant.slug}))
            .await?;
        tx.delete_tenant(id).await?;
        tx.commit().await?;
        Ok(())
    }
}

pub(super) fn require_permission(actor: &Actor, permission: &str) -> ServiceResult<()> {
    let allowed = actor.is_superuser || actor.platform_role().is_some_and(|role| role.allows(permission));
    if allowed {
        Ok(())
    } else {
        Err(ServiceError::forbidden("You do not have permission to perform this action."))
    }
}

/// The tenant when this caller may manage it as a partner; otherwise not found.
fn owned_tenant(actor: &Actor, tenant: Option<Tenant>) -> ServiceResult<Tenant> {
    tenant
        .filter(|t| actor.is_superuser || t.created_by_partner == Some(actor.user_id))
        .ok_or(ServiceError::NotFound)
}
