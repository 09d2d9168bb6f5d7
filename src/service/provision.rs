//! "Provision this tenant from this description": the one call behind the partner API's
//! description form, `create-tenant`, every row of `bulk-create-tenants` and every entry of
//! `provision-from-config`, so a tenant made any way is the same. It applies fully in one
//! transaction or not at all.

use serde_json::json;

use super::{now, provisioning::require_permission, tenant_description::TenantDescription, Actor, Audit, IssuedInvitation, RequestMeta, Services};
use crate::{
    domain::{AuditAction, PersonName, RoleName, TenantId, UserId},
    error::is_unique_violation,
    store::{NewUser, Tenant, TenantContact, TenantSettingsRow, User},
    FieldErrors, ServiceError, ServiceResult,
};

/// What to do when the described subdomain already holds a tenant of the same name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IfExists {
    /// 409, as for any other clash (the API).
    Conflict,
    /// Report it as made already (re-running a bulk file or a config makes nothing twice).
    Report,
}

#[derive(Debug, Clone, Copy)]
pub struct ProvisionOptions {
    /// Check everything against the database, then roll back.
    pub dry_run: bool,
    pub if_exists: IfExists,
}

/// A tenant made (or, in a dry run, that would be made) and who was added to it.
#[derive(Debug, Clone)]
pub struct ProvisionedTenant {
    pub tenant: Tenant,
    pub invitations: Vec<IssuedInvitation>,
    /// Owners given a password: their accounts, made or found.
    pub accounts: Vec<User>,
}

#[derive(Debug, Clone)]
pub enum Provisioned {
    Created(ProvisionedTenant),
    /// A dry run: nothing was kept.
    WouldCreate(ProvisionedTenant),
    /// A tenant of this name already has this subdomain (only with [`IfExists::Report`]).
    Exists(Tenant),
}

const NAME_TAKEN: &str = "A tenant with this name already exists.";
const SUBDOMAIN_TAKEN: &str = "This subdomain is taken by another organisation.";

impl Services {
    /// Makes the described tenant: its plan, limits, features, settings and domain, then its
    /// people (owners with a password get an account at once; everyone else an invitation
    /// through the outbox). `by` is the partner or superuser calling; `None` is the command
    /// line (the operator on the machine).
    #[tracing::instrument(skip_all, fields(subdomain = %description.subdomain.as_str()))]
    pub async fn provision(&self, by: Option<&Actor>, description: TenantDescription, options: ProvisionOptions, meta: &RequestMeta) -> ServiceResult<Provisioned> {
        if let Some(actor) = by {
            require_permission(actor, "tenant:create")?;
        }
        let description = self.with_template(description)?;
        let d = &description;
        let mut errors = FieldErrors::new();
        // A partner is a third party: it never sets anyone's password (an account made with a
        // password the partner knows would be theirs to use wherever its owner goes next).
        if by.is_some_and(|actor| !actor.is_superuser) {
            for user in d.users.iter().filter(|u| u.password.is_some()) {
                errors.add(&format!("users[{}].password", user.index), "Partners never set passwords: leave it out and the owner is invited.");
            }
        }
        if let (Some(domain), Some(base)) = (&d.custom_domain, self.config().tenant_base_domain.as_deref()) {
            if domain.is_within(base) {
                errors.add("tenant.custom_domain", format!("Names under {base} are the organisations' subdomains; use the subdomain instead."));
            }
        }
        if serde_json::to_string(&d.settings).map_or(0, |s| s.len()) > super::SETTINGS_MAX_BYTES {
            errors.add("settings", format!("The settings may take at most {} KiB.", super::SETTINGS_MAX_BYTES / 1024));
        }
        errors.into_result()?;
        // Hashes are made before the write transaction opens, so argon2 never holds the lock.
        let mut hashes = Vec::new();
        for user in d.users.iter().filter(|u| u.password.is_some()) {
            let password = user.password.as_ref().expect("filtered");
            hashes.push((user.index, self.hasher().hash(password.expose()).await?));
        }

        let mut tx = self.db().write().await?;
        if let Some(existing) = tx.tenant_by_slug(d.subdomain.as_str()).await? {
            if options.if_exists == IfExists::Report && existing.name.eq_ignore_ascii_case(d.name.as_str()) {
                return Ok(Provisioned::Exists(existing));
            }
            return Err(ServiceError::conflict("tenant.subdomain", SUBDOMAIN_TAKEN));
        }
        if tx.tenant_name_taken(&d.name, &d.subdomain).await? {
            return Err(ServiceError::conflict("tenant.name", NAME_TAKEN));
        }
        let plan = match &d.plan {
            Some(name) => match tx.plan(name.as_str()).await? {
                Some(plan) => Some(plan),
                None => return Err(ServiceError::field(d.plan_field, format!("There is no plan \"{}\". See GET /api/plans/.", name.as_str()))),
            },
            None => None,
        };
        if let Some(domain) = &d.custom_domain {
            if tx.tenant_by_custom_domain(domain.as_str()).await?.is_some() {
                return Err(ServiceError::conflict("tenant.custom_domain", "Another organisation already uses this domain."));
            }
        }
        let mut errors = FieldErrors::new();
        for user in &d.users {
            if let RoleName::Custom(name) = &user.role {
                if d.roles.iter().any(|r| r.name == *name) {
                    continue;
                }
                errors.add(&format!("users[{}].role", user.index), format!("There is no role \"{}\" in this organisation: use owner, admin, ANALYST, VIEWER or a role of \"roles\" or the template.", name.as_str()));
            }
            if user.password.is_some() && tx.user_by_email(&user.email).await?.is_some() {
                errors.add(&format!("users[{}].password", user.index), "An account with this e-mail exists already; leave out the password and it is invited instead.");
            }
        }
        let max_users = match d.limits.get("max_users") {
            Some(limit) => *limit,
            None => plan.as_ref().and_then(|p| p.limits.0.get("max_users").copied()),
        };
        if let Some(max) = max_users.filter(|max| d.users.len() as i64 > *max) {
            errors.add("users", format!("The organisation may have {max} users; the description lists {}.", d.users.len()));
        }
        errors.into_result()?;

        let at = now();
        let tenant_id = TenantId::new();
        let tenant = tx.insert_tenant(tenant_id, &d.name, &d.subdomain, at).await.map_err(|e| {
            if is_unique_violation(&e) { ServiceError::conflict("tenant.subdomain", SUBDOMAIN_TAKEN) } else { e.into() }
        })?;
        let partner = by.map(|a| a.user_id);
        let contact = TenantContact {
            contact_email: d.contact_email.as_ref().map(|e| e.as_str().to_owned()),
            phone_number: d.phone_number.clone(),
            industry: d.industry.clone(),
        };
        tx.set_tenant_contact(tenant.id, partner, &contact, at).await?;
        if plan.is_some() || !d.limits.is_empty() {
            tx.set_tenant_plan(tenant.id, plan.as_ref().map(|p| p.name.as_str()), &d.limits, at).await?;
        }
        if !d.features.is_empty() {
            tx.set_feature_overrides(tenant.id, &d.features, at).await?;
        }
        if !d.settings.is_empty() {
            let change = TenantSettingsRow { display_name: None, description: None, contact_email: None, settings: Some(&d.settings), branding: None };
            tx.update_tenant_settings(tenant.id, &change, at).await?;
        }
        if let Some(domain) = &d.custom_domain {
            tx.set_custom_domain(tenant.id, Some(domain.as_str()), at).await.map_err(|e| {
                if is_unique_violation(&e) { ServiceError::conflict("tenant.custom_domain", "Another organisation already uses this domain.") } else { e.into() }
            })?;
        }

        for role in &d.roles {
            tx.insert_custom_role(tenant.id, &role.name, &role.description, &role.grants, partner, at).await?;
        }
        let audit = match by {
            Some(actor) => actor.audit(meta),
            None => Audit { meta, actor: None, key: None },
        };
        let mut invitations = Vec::new();
        let mut accounts = Vec::new();
        for user in &d.users {
            match hashes.iter().find(|(index, _)| *index == user.index) {
                Some((_, hash)) => {
                    let account = tx
                        .insert_user(
                            NewUser { id: UserId::new(), email: &user.email, password_hash: hash, first_name: &PersonName::default(), last_name: &PersonName::default(), is_superuser: false },
                            at,
                        )
                        .await
                        .map_err(|e| {
                            if is_unique_violation(&e) { ServiceError::field(&format!("users[{}].password", user.index), "An account with this e-mail exists already.") } else { e.into() }
                        })?;
                    tx.insert_membership(tenant.id, account.id, at).await?;
                    tx.assign_role(tenant.id, account.id, &user.role, partner, at).await?;
                    audit
                        .write(&mut tx, Some(tenant.id), AuditAction::MemberAdded, "user", Some(account.id.to_string()), json!({"email": account.email, "role": user.role.as_str()}))
                        .await?;
                    accounts.push(account);
                }
                None => {
                    let issued = self.create_invitation_quietly(&mut tx, tenant.id, &user.email, Some(&user.role), partner, !options.dry_run).await?;
                    audit
                        .write(&mut tx, Some(tenant.id), AuditAction::InvitationCreated, "invitation", Some(issued.invitation.id.to_string()),
                            json!({"email": user.email.as_str(), "role": user.role.as_str()}))
                        .await?;
                    invitations.push(issued);
                }
            }
        }
        audit
            .write(&mut tx, Some(tenant.id), AuditAction::TenantProvisioned, "tenant", Some(tenant.id.to_string()),
                json!({"name": d.name.as_str(), "subdomain": d.subdomain.as_str(), "plan": d.plan.as_ref().map(|p| p.as_str()),
                       "by": by.map_or("command line", |a| a.email.as_str()), "template": d.template,
                       "roles": d.roles.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(),
                       "users": d.users.iter().map(|u| json!({"email": u.email.as_str(), "role": u.role.as_str()})).collect::<Vec<_>>()}))
            .await?;
        let tenant = tx.tenant(tenant.id).await?.ok_or(ServiceError::NotFound)?;
        let made = ProvisionedTenant { tenant, invitations, accounts };
        if options.dry_run {
            // Dropping the transaction rolls it back: the checks ran against the database as
            // it is, and nothing stays.
            drop(tx);
            return Ok(Provisioned::WouldCreate(made));
        }
        tx.commit().await?;
        if !made.invitations.is_empty() {
            self.wake_mailer();
        }
        tracing::info!(tenant = %made.tenant.id, slug = %made.tenant.slug, "tenant provisioned");
        Ok(Provisioned::Created(made))
    }

    /// A description with its template (if it names one) filled in under what it says itself.
    fn with_template(&self, description: TenantDescription) -> ServiceResult<TenantDescription> {
        let Some(name) = description.template.clone() else { return Ok(description) };
        let file = super::templates::load_templates(self.config().tenant_templates_file.as_deref())?;
        match file.templates.get(&name) {
            Some(template) => template.apply(&name, description),
            None => {
                let known = file.templates.keys().map(String::as_str).collect::<Vec<_>>().join(", ");
                let known = if known.is_empty() { "TENANT_TEMPLATES_FILE defines none".to_owned() } else { format!("choose one of {known}") };
                Err(ServiceError::field("template", format!("There is no template \"{name}\" ({known}).")))
            }
        }
    }

    /// `GET /api/provisioning/templates`: partners and superusers.
    pub async fn provisioning_templates(&self, actor: &Actor) -> ServiceResult<Vec<(String, super::templates::Template)>> {
        require_permission(actor, "tenant:create")?;
        Ok(super::templates::load_templates(self.config().tenant_templates_file.as_deref())?.templates.into_iter().collect())
    }
}
