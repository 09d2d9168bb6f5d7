//! Organisations: self-service sign-up and listing.

use crate::domain::TenantStatus;
use serde_json::json;

use super::{now, Actor, Audit, Raw, RequestMeta, Services};
use crate::{
    domain::{AuditAction, Email, NewPassword, PersonName, Role, RoleName, TenantId, TenantName, TenantSlug, UserId},
    error::is_unique_violation,
    store::{NewUser, Page, PageRequest, Tenant, User},
    FieldErrors, ServiceError, ServiceResult,
};

/// `POST /api/tenants/` and the sign-up page.
#[derive(Debug, Clone, Default)]
pub struct SignUpInput {
    pub name: Raw,
    pub admin_email: Raw,
    pub admin_password: Raw,
    pub first_name: Raw,
    pub last_name: Raw,
}

#[derive(Debug, Clone)]
pub struct SignUpOutcome {
    pub tenant: Tenant,
    pub admin: User,
}

const NAME_TAKEN: &str = "A tenant with this name already exists.";
pub(crate) const EMAIL_TAKEN: &str = "A user with this email already exists.";

impl Services {
    /// Creates a tenant and its first admin in one transaction: tenant, account (argon2id),
    /// membership, the ADMIN role and an audit row. Open to anyone.
    #[tracing::instrument(skip_all)]
    pub async fn sign_up(&self, input: SignUpInput, meta: &RequestMeta) -> ServiceResult<SignUpOutcome> {
        // Counted before anything is looked at: the 409 for a taken e-mail below is only ever
        // answered within this limit, and argon2 work is bounded per address.
        self.limits().client_attempt(meta.ip).await?;
        let mut errors = FieldErrors::new();
        let name = input.name.required(&mut errors, "name", TenantName::parse);
        let slug = name.as_ref().and_then(|n| errors.check("name", TenantSlug::from_name(n)));
        let email = input.admin_email.required(&mut errors, "admin_email", Email::parse);
        let password = input.admin_password.required(&mut errors, "admin_password", |raw| {
            NewPassword::parse(raw, email.as_ref()).map_err(|m| m.join(" "))
        });
        let first_name = input.first_name.optional(&mut errors, "first_name", PersonName::parse);
        let last_name = input.last_name.optional(&mut errors, "last_name", PersonName::parse);
        if slug.as_ref().is_some_and(TenantSlug::is_reserved) {
            errors.add("name", "This name is reserved for the service; choose another.");
        }
        errors.into_result()?;
        let (name, slug, email, password) = (name.unwrap(), slug.unwrap(), email.unwrap(), password.unwrap());
        let first_name = first_name.flatten().unwrap_or_default();
        let last_name = last_name.flatten().unwrap_or_default();

        // Refuse duplicates before spending a hash on them; the unique indexes still decide
        // races below.
        {
            let mut tx = self.db().read().await?;
            check_sign_up_conflicts(&mut tx, &name, &slug, &email).await?;
        }
        let password_hash = self.hasher().hash(password.expose()).await?;

        let mut tx = self.db().write().await?;
        check_sign_up_conflicts(&mut tx, &name, &slug, &email).await?;
        let at = now();
        let tenant = tx.insert_tenant(TenantId::new(), &name, &slug, at).await.map_err(|e| {
            if is_unique_violation(&e) { ServiceError::conflict("name", NAME_TAKEN) } else { e.into() }
        })?;
        let new_user = NewUser {
            id: UserId::new(),
            email: &email,
            password_hash: &password_hash,
            first_name: &first_name,
            last_name: &last_name,
            is_superuser: false,
        };
        let admin = tx.insert_user(new_user, at).await.map_err(|e| {
            if is_unique_violation(&e) { ServiceError::conflict("admin_email", EMAIL_TAKEN) } else { e.into() }
        })?;
        tx.insert_membership(tenant.id, admin.id, at).await?;
        tx.assign_role(tenant.id, admin.id, &RoleName::BuiltIn(Role::Admin), None, at).await?;
        let tenant = match &self.config().signup_default_plan {
            // A configured plan that does not exist is a set-up mistake: sign-up still works.
            Some(plan) if tx.plan(plan).await?.is_some() => {
                tx.set_tenant_plan(tenant.id, Some(plan), &Default::default(), at).await?;
                tx.tenant(tenant.id).await?.ok_or(ServiceError::NotFound)?
            }
            Some(plan) => {
                tracing::warn!(plan, "SIGNUP_DEFAULT_PLAN names no plan; the tenant has none");
                tenant
            }
            None => tenant,
        };
        let audit = Audit { meta, actor: Some((&admin.id, &admin.email)), key: None };
        audit
            .write(&mut tx, Some(tenant.id), AuditAction::TenantCreated, "tenant", Some(tenant.id.to_string()),
                json!({"name": tenant.name, "slug": tenant.slug, "admin_email": admin.email}))
            .await?;
        tx.commit().await?;
        tracing::info!(tenant = %tenant.id, slug = %tenant.slug, "tenant signed up");
        Ok(SignUpOutcome { tenant, admin })
    }

    /// A tenant by its slug (the CLI names tenants so); 404 when there is none.
    pub async fn tenant_by_slug(&self, slug: &str) -> ServiceResult<Tenant> {
        self.db().read().await?.tenant_by_slug(slug.trim()).await?.ok_or(ServiceError::NotFound)
    }

    /// The member who has been an ADMIN of the tenant longest.
    pub(crate) async fn first_administrator(&self, tenant: TenantId) -> ServiceResult<Option<UserId>> {
        Ok(self.db().read().await?.first_admin(tenant).await?)
    }

    /// The tenant the caller is acting in, if any.
    #[tracing::instrument(skip_all)]
    pub async fn current_tenant(&self, actor: &Actor) -> ServiceResult<Option<Tenant>> {
        match actor.tenant_id {
            Some(id) => Ok(self.db().read_in(id).await?.tenant(id).await?),
            None => Ok(None),
        }
    }

    /// A superuser sees every tenant; anyone else only their current tenant.
    #[tracing::instrument(skip_all)]
    pub async fn list_tenants(&self, actor: &Actor, page: PageRequest) -> ServiceResult<Page<Tenant>> {
        let mut tx = self.db().read().await?;
        if actor.is_superuser {
            let (items, count) = tx.all_tenants(page).await?;
            return Ok(Page { items, count, page: page.page, page_size: page.page_size });
        }
        let items: Vec<Tenant> = match actor.tenant_id {
            Some(id) if page.page == 1 => tx.tenant(id).await?.into_iter().collect(),
            _ => Vec::new(),
        };
        let count = i64::from(actor.tenant_id.is_some());
        Ok(Page { items, count, page: page.page, page_size: page.page_size })
    }
}

impl Services {
    /// The platform page's list: every tenant, newest first; superusers only.
    #[tracing::instrument(skip_all)]
    pub async fn platform_tenants(&self, actor: &Actor, page: PageRequest) -> ServiceResult<Page<Tenant>> {
        if !actor.is_superuser {
            return Err(ServiceError::forbidden("Only platform administrators can list every tenant."));
        }
        let (items, count) = self.db().read().await?.newest_tenants(page).await?;
        Ok(Page { items, count, page: page.page, page_size: page.page_size })
    }

    /// Suspends or reactivates a tenant (superuser only). A suspended tenant's members cannot
    /// log in or act there and nobody can be invited to it; its data stays.
    #[tracing::instrument(skip_all)]
    pub async fn set_tenant_suspended(&self, actor: &Actor, tenant: TenantId, suspended: bool, meta: &RequestMeta) -> ServiceResult<Tenant> {
        if !actor.is_superuser {
            return Err(ServiceError::forbidden("Only platform administrators can suspend or reactivate a tenant."));
        }
        let mut tx = self.db().write().await?;
        let status = if suspended { TenantStatus::Suspended } else { TenantStatus::Active };
        if !tx.set_tenant_status(tenant, status, now()).await? {
            return Err(ServiceError::NotFound);
        }
        let action = if suspended { AuditAction::TenantSuspended } else { AuditAction::TenantReactivated };
        actor.audit(meta).write(&mut tx, Some(tenant), action, "tenant", Some(tenant.to_string()), json!({})).await?;
        let updated = tx.tenant(tenant).await?.ok_or(ServiceError::NotFound)?;
        tx.commit().await?;
        Ok(updated)
    }
}

async fn check_sign_up_conflicts(tx: &mut crate::store::Reader, name: &TenantName, slug: &TenantSlug, email: &Email) -> ServiceResult<()> {
    let mut fields = FieldErrors::new();
    if tx.tenant_name_taken(name, slug).await? {
        fields.add("name", NAME_TAKEN);
    }
    if tx.user_by_email(email).await?.is_some() {
        fields.add("admin_email", EMAIL_TAKEN);
    }
    if fields.is_empty() {
        Ok(())
    } else {
        let detail = fields.iter().flat_map(|(_, m)| m.iter().cloned()).collect::<Vec<_>>().join(" ");
        Err(ServiceError::Conflict { detail, fields })
    }
}
