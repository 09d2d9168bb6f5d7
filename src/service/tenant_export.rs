//! A tenant as a portable document, and back: `GET /api/tenants/{id}/export/` and
//! `export-tenant` write it, `import-tenant` recreates the tenant from it on this or another
//! installation. Password and token hashes never leave; people travel as e-mail, names and
//! roles. Exporting what an import made gives the same document apart from ids and times.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use serde_json::{json, Map, Value};

use super::{now, Actor, IssuedInvitation, RequestMeta, Services};
use crate::{
    domain::{AuditAction, parse_grants, CustomRoleName, Email, Permission, PersonName, RoleName, TenantId, TenantName, TenantSlug, UserId},
    store::{AuditCursor, AuditQuery, InvitationState, Listed, NewUser, PageRequest, Tenant, TenantContact, TenantSettingsRow},
    FieldErrors, ServiceError, ServiceResult,
};

/// What a document's `format` says it is.
pub const EXPORT_FORMAT: &str = "tenantry.tenant-export";
pub const EXPORT_VERSION: i64 = 1;

/// The parts an export may hold (`?include=`); all of them unless asked otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ExportPart {
    Users,
    Roles,
    Invitations,
    Audit,
    Settings,
}

impl ExportPart {
    pub const ALL: [ExportPart; 5] = [Self::Users, Self::Roles, Self::Invitations, Self::Audit, Self::Settings];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Users => "users",
            Self::Roles => "roles",
            Self::Invitations => "invitations",
            Self::Audit => "audit",
            Self::Settings => "settings",
        }
    }

    /// `users,roles,…` (blank: everything); every unknown name is named.
    pub fn parse_list(raw: &str) -> Result<BTreeSet<ExportPart>, String> {
        if raw.trim().is_empty() {
            return Ok(Self::ALL.into_iter().collect());
        }
        let mut parts = BTreeSet::new();
        let mut unknown = Vec::new();
        for name in raw.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            match Self::ALL.into_iter().find(|p| p.as_str().eq_ignore_ascii_case(name)) {
                Some(part) => {
                    parts.insert(part);
                }
                None => unknown.push(format!("\"{name}\"")),
            }
        }
        if unknown.is_empty() {
            Ok(parts)
        } else {
            Err(format!("Unknown part(s) {}: choose from users, roles, invitations, audit, settings.", unknown.join(", ")))
        }
    }
}

/// An export under way: the document up to its audit trail, then the trail in batches (it can
/// be long), so the answer streams instead of being built whole.
pub struct TenantExport {
    services: Services,
    head: Option<String>,
    audit: Option<AuditQuery>,
    after: Option<AuditCursor>,
    first_entry: bool,
    finished: bool,
    pub tenant_slug: String,
    pub started_at: DateTime<Utc>,
}

impl std::fmt::Debug for TenantExport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TenantExport").field("tenant_slug", &self.tenant_slug).field("audit", &self.audit.is_some()).finish()
    }
}

impl TenantExport {
    const BATCH: i64 = 1000;

    /// `tenant-<slug>-<YYYY-MM-DD>.json`.
    pub fn file_name(&self) -> String {
        format!("tenant-{}-{}.json", self.tenant_slug, self.started_at.format("%Y-%m-%d"))
    }

    /// The next piece of the document; `None` after the last.
    pub async fn next_chunk(&mut self) -> ServiceResult<Option<String>> {
        if let Some(head) = self.head.take() {
            return Ok(Some(head));
        }
        if self.finished {
            return Ok(None);
        }
        let Some(query) = &self.audit else {
            self.finished = true;
            return Ok(Some("}\n".into()));
        };
        let mut tx = self.services.db().read_in(query.tenant).await?;
        let rows = tx.audit_batch(query, self.after, Self::BATCH).await?;
        drop(tx);
        let mut chunk = String::new();
        for row in &rows {
            if !self.first_entry {
                chunk.push(',');
            }
            self.first_entry = false;
            let entry = json!({"action": row.action, "resource_type": row.resource_type, "resource_id": row.resource_id,
                "actor_email": row.actor_email, "metadata": row.metadata, "ip_address": row.ip_address, "user_agent": row.user_agent,
                "created_at": row.created_at.to_rfc3339()});
            chunk.push_str(&entry.to_string());
        }
        self.after = rows.last().map(|r| r.cursor());
        if (rows.len() as i64) < Self::BATCH {
            self.finished = true;
            chunk.push_str("]}\n");
        }
        Ok(Some(chunk))
    }

    /// The whole document at once (the CLI and tests; the API streams it).
    pub async fn collect(mut self) -> ServiceResult<String> {
        let mut out = String::new();
        while let Some(chunk) = self.next_chunk().await? {
            out.push_str(&chunk);
        }
        Ok(out)
    }
}

/// What `import-tenant` did.
#[derive(Debug)]
pub struct ImportedTenant {
    pub tenant: Tenant,
    /// The tenant existed already (a second run): only what was missing was added.
    pub existed: bool,
    pub members_added: Vec<String>,
    /// Accounts made here, each sent a set-password link.
    pub accounts_created: Vec<String>,
    pub invitations: Vec<IssuedInvitation>,
    pub roles_created: Vec<String>,
    pub audit_rows: usize,
    /// Things kept out, with why (a plan or domain this installation does not have …).
    pub notes: Vec<String>,
}

impl Services {
    /// Starts an export: tenant ADMIN (`tenant:write`), superusers, and the partner that
    /// provisioned the tenant; the command line (`by` is `None`).
    #[tracing::instrument(skip_all)]
    pub async fn export_tenant(&self, by: Option<&Actor>, tenant: TenantId, include: &str) -> ServiceResult<TenantExport> {
        let parts = ExportPart::parse_list(include).map_err(|m| ServiceError::field("include", m))?;
        if let Some(actor) = by {
            let partner = self.plan_manager(actor, tenant).await.is_ok();
            if !partner {
                self.tenant_where(actor, Some(tenant), Permission::TenantWrite).await?;
                // Each part is also what the caller could read on its own (an API key with
                // `tenant:write` alone does not get the members or the audit trail this way).
                for part in &parts {
                    let needed = match part {
                        ExportPart::Users => Permission::MembersRead,
                        ExportPart::Roles => Permission::RolesRead,
                        ExportPart::Invitations => Permission::InvitationsRead,
                        ExportPart::Audit => Permission::AuditRead,
                        ExportPart::Settings => Permission::TenantRead,
                    };
                    self.tenant_where(actor, Some(tenant), needed).await?;
                }
            }
        }
        let mut tx = self.db().read_in(tenant).await?;
        let row = tx.tenant(tenant).await?.ok_or(ServiceError::NotFound)?;
        let started_at = now();
        let mut document = Map::new();
        document.insert("format".into(), json!(EXPORT_FORMAT));
        document.insert("version".into(), json!(EXPORT_VERSION));
        document.insert("exported_at".into(), json!(started_at.to_rfc3339()));
        document.insert("include".into(), json!(parts.iter().map(|p| p.as_str()).collect::<Vec<_>>()));
        let mut about = json!({"name": row.name, "slug": row.slug, "status": row.status, "plan": row.plan, "created_at": row.created_at.to_rfc3339()});
        if parts.contains(&ExportPart::Settings) {
            let extra = json!({"display_name": row.display_name, "description": row.description, "contact_email": row.contact_email,
                "phone_number": row.phone_number, "industry": row.industry, "custom_domain": row.custom_domain,
                "limit_overrides": row.limit_overrides.0, "feature_overrides": row.feature_overrides.0,
                "settings": row.settings.0, "branding": row.branding.0});
            if let (Value::Object(about), Value::Object(extra)) = (&mut about, extra) {
                about.extend(extra);
            }
        }
        document.insert("tenant".into(), about);
        if parts.contains(&ExportPart::Roles) {
            let roles: Vec<Value> = tx
                .custom_roles(tenant)
                .await?
                .into_iter()
                .map(|r| json!({"name": r.name, "description": r.description, "permissions": r.permissions.0.iter().map(|g| g.to_text()).collect::<Vec<_>>()}))
                .collect();
            document.insert("roles".into(), Value::Array(roles));
        }
        if parts.contains(&ExportPart::Users) {
            let mut users = Vec::new();
            let mut page = PageRequest::first();
            loop {
                let Listed { rows: members, total, .. } = tx.members(tenant, page).await?;
                let done = members.is_empty() || (page.page as i64) * (page.page_size as i64) >= total;
                for (user, roles) in members {
                    let mut names: Vec<String> = roles.iter().map(|r| r.as_str().to_owned()).collect();
                    names.sort();
                    users.push(json!({"email": user.email, "first_name": user.first_name, "last_name": user.last_name, "roles": names}));
                }
                if done {
                    break;
                }
                page = PageRequest::number(page.page + 1);
            }
            document.insert("users".into(), Value::Array(users));
        }
        if parts.contains(&ExportPart::Invitations) {
            let mut invitations = Vec::new();
            let mut page = PageRequest::first();
            loop {
                let Listed { rows: items, total, .. } = tx.invitations(tenant, Some(InvitationState::Pending), None, started_at, page).await?;
                let done = items.is_empty() || (page.page as i64) * (page.page_size as i64) >= total;
                invitations.extend(items.into_iter().map(|i| json!({"email": i.email, "role": i.role.as_ref().map(RoleName::as_str), "expires_at": i.expires_at.to_rfc3339()})));
                if done {
                    break;
                }
                page = PageRequest::number(page.page + 1);
            }
            invitations.sort_by(|a, b| a["email"].as_str().cmp(&b["email"].as_str()));
            document.insert("invitations".into(), Value::Array(invitations));
        }
        drop(tx);
        let mut head = Value::Object(document).to_string();
        let audit = parts.contains(&ExportPart::Audit).then(|| AuditQuery::tenant(tenant));
        // The object is reopened so the trail can follow in batches.
        head.pop();
        if audit.is_some() {
            head.push_str(",\"audit\":[");
        }
        Ok(TenantExport { services: self.clone(), head: Some(head), audit, after: None, first_entry: true, finished: false, tenant_slug: row.slug, started_at })
    }

    /// `import-tenant`: recreates a tenant from an export (under `subdomain` when given). People
    /// with an account here become members; the others get an account and a set-password link.
    /// Pending invitations are sent again (tokens never travel). Running it twice adds nothing.
    #[tracing::instrument(skip_all)]
    pub async fn import_tenant(&self, document: &Value, subdomain: Option<&str>, meta: &RequestMeta) -> ServiceResult<ImportedTenant> {
        let mut errors = FieldErrors::new();
        if document.get("format").and_then(Value::as_str) != Some(EXPORT_FORMAT) {
            errors.add("format", format!("Not a Tenantry tenant export (\"format\" must be \"{EXPORT_FORMAT}\")."));
        } else if document.get("version").and_then(Value::as_i64) != Some(EXPORT_VERSION) {
            errors.add("version", format!("This installation reads version {EXPORT_VERSION} of the export format."));
        }
        let about = document.get("tenant").and_then(Value::as_object).cloned().unwrap_or_default();
        let text = |key: &str| about.get(key).and_then(Value::as_str).map(str::to_owned);
        let name = errors.check("tenant.name", TenantName::parse(&text("name").unwrap_or_default()));
        let slug = errors.check("subdomain", TenantSlug::parse_subdomain(subdomain.map(str::to_owned).or(text("slug")).as_deref().unwrap_or("")));
        errors.into_result()?;
        let (name, slug) = (name.expect("checked"), slug.expect("checked"));
        let list = |key: &str| document.get(key).and_then(Value::as_array).cloned().unwrap_or_default();

        let mut tx = self.db().write().await?;
        let at = now();
        let mut notes = Vec::new();
        let (tenant_id, existed) = match tx.tenant_by_slug(slug.as_str()).await? {
            Some(existing) if existing.name.eq_ignore_ascii_case(name.as_str()) => (existing.id, true),
            Some(_) => return Err(ServiceError::conflict("subdomain", "Another organisation has this subdomain; choose another with --subdomain.")),
            None => {
                if tx.tenant_name_taken(&name, &slug).await? {
                    return Err(ServiceError::conflict("tenant.name", "A tenant with this name already exists here."));
                }
                let tenant = tx.insert_tenant(TenantId::new(), &name, &slug, at).await?;
                (tenant.id, false)
            }
        };
        if !existed {
            let contact = TenantContact { contact_email: text("contact_email"), phone_number: text("phone_number"), industry: text("industry") };
            tx.set_tenant_contact(tenant_id, None, &contact, at).await?;
            let plan = match text("plan") {
                Some(plan) if tx.plan(&plan).await?.is_some() => Some(plan),
                Some(plan) => {
                    notes.push(format!("plan \"{plan}\" does not exist here; the tenant has no plan"));
                    None
                }
                None => None,
            };
            let limits: BTreeMap<String, Option<i64>> = about.get("limit_overrides").cloned().and_then(|v| serde_json::from_value(v).ok()).unwrap_or_default();
            if plan.is_some() || !limits.is_empty() {
                tx.set_tenant_plan(tenant_id, plan.as_deref(), &limits, at).await?;
            }
            let features: BTreeMap<String, bool> = about.get("feature_overrides").cloned().and_then(|v| serde_json::from_value(v).ok()).unwrap_or_default();
            if !features.is_empty() {
                tx.set_feature_overrides(tenant_id, &features, at).await?;
            }
            let settings = about.get("settings").and_then(Value::as_object).cloned().unwrap_or_default();
            let branding = about.get("branding").and_then(Value::as_object).cloned();
            let change = TenantSettingsRow {
                display_name: Some(text("display_name")),
                description: Some(text("description")),
                contact_email: None,
                settings: Some(&settings),
                branding: Some(branding.as_ref()),
            };
            tx.update_tenant_settings(tenant_id, &change, at).await?;
            if let Some(domain) = text("custom_domain") {
                if tx.tenant_by_custom_domain(&domain).await?.is_some() {
                    notes.push(format!("custom domain {domain} belongs to another tenant here; left out"));
                } else {
                    tx.set_custom_domain(tenant_id, Some(&domain), at).await?;
                }
            }
        }

        let mut roles_created = Vec::new();
        for role in list("roles") {
            let Some(raw) = role.get("name").and_then(Value::as_str) else { continue };
            let Ok(role_name) = CustomRoleName::parse(raw) else {
                notes.push(format!("role \"{raw}\" is not a valid role name; left out"));
                continue;
            };
            if tx.custom_role_named(tenant_id, &role_name).await?.is_some() {
                continue;
            }
            let permissions: Vec<&str> = role.get("permissions").and_then(Value::as_array).map(|p| p.iter().filter_map(Value::as_str).collect()).unwrap_or_default();
            let grants = parse_grants(permissions).unwrap_or_else(|bad| {
                notes.push(format!("role \"{raw}\": unknown permissions {} left out", bad.join(", ")));
                Vec::new()
            });
            let description = role.get("description").and_then(Value::as_str).unwrap_or("");
            tx.insert_custom_role(tenant_id, &role_name, description, &grants, None, at).await?;
            roles_created.push(raw.to_owned());
        }

        let tenant_name = name.as_str().to_owned();
        let mut members_added = Vec::new();
        let mut accounts_created = Vec::new();
        for person in list("users") {
            let Some(Ok(email)) = person.get("email").and_then(Value::as_str).map(Email::parse) else { continue };
            let names = |key: &str| PersonName::parse(person.get(key).and_then(Value::as_str).unwrap_or("")).unwrap_or_default();
            let (user, created) = match tx.user_by_email(&email).await? {
                Some(user) => (user, false),
                None => {
                    let hash = crate::auth::unusable_password();
                    let new = NewUser { id: UserId::new(), email: &email, password_hash: &hash, first_name: &names("first_name"), last_name: &names("last_name"), is_superuser: false };
                    (tx.insert_user(new, at).await?, true)
                }
            };
            if !tx.is_member(tenant_id, user.id).await? {
                tx.insert_membership(tenant_id, user.id, at).await?;
                members_added.push(user.email.clone());
            }
            let held = tx.roles_of(tenant_id, user.id).await?;
            for role in person.get("roles").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str) {
                match RoleName::parse(role) {
                    Ok(role) if !held.contains(&role) => {
                        tx.assign_role(tenant_id, user.id, &role, None, at).await?;
                    }
                    Ok(_) => {}
                    Err(_) => notes.push(format!("{}: role \"{role}\" left out", user.email)),
                }
            }
            if created {
                let ttl = std::time::Duration::from_secs(7 * 86_400);
                let link = self.new_reset_link(&mut tx, user.id, ttl).await?;
                let how = format!("when {tenant_name} moved to this service");
                let mut mail = crate::mail::templates::account_created(&user.email, &how, &link, 7);
                mail.tenant_id = Some(tenant_id);
                self.enqueue_mail(&mut tx, mail).await?;
                accounts_created.push(user.email.clone());
            }
        }

        let mut invitations = Vec::new();
        for invitation in list("invitations") {
            let Some(Ok(email)) = invitation.get("email").and_then(Value::as_str).map(Email::parse) else { continue };
            let pending = tx.invitations(tenant_id, Some(InvitationState::Pending), Some(email.as_str()), at, PageRequest::first()).await?.rows;
            if !pending.is_empty() {
                continue;
            }
            let role = invitation.get("role").and_then(Value::as_str).and_then(|r| RoleName::parse(r).ok());
            invitations.push(self.create_invitation_quietly(&mut tx, tenant_id, &email, role.as_ref(), None, true).await?);
        }

        // The trail comes over only with a new tenant, so a second run does not repeat it.
        let mut audit_rows = 0;
        if !existed {
            // Oldest first, with ids that rise in that order: events of the same instant then
            // read back (newest first, ties by id) in the order they were exported.
            let base = uuid::Uuid::new_v4().as_u128() & !u128::from(u64::MAX);
            for (n, entry) in list("audit").iter().rev().enumerate() {
                let id = uuid::Uuid::from_u128(base | n as u128);
                let text = |key: &str| entry.get(key).and_then(Value::as_str).map(str::to_owned);
                let (Some(action), Some(resource_type)) = (text("action"), text("resource_type")) else { continue };
                let created_at = text("created_at").and_then(|t| DateTime::parse_from_rfc3339(&t).ok()).map_or(at, |t| t.with_timezone(&Utc));
                let metadata = entry.get("metadata").cloned().unwrap_or_else(|| json!({}));
                tx.insert_audit_as_was(id, tenant_id, &AuditAction::from_stored(&action), &resource_type, text("resource_id").as_deref(), text("actor_email").as_deref(), &metadata,
                    text("ip_address").as_deref(), text("user_agent").as_deref(), created_at)
                    .await?;
                audit_rows += 1;
            }
        }
        // Recorded on the platform, not in the tenant's own trail, which stays as exported.
        super::Audit { meta, actor: None, key: None }
            .write(&mut tx, None, AuditAction::TenantImported, "tenant", Some(tenant_id.to_string()),
                json!({"name": tenant_name, "slug": slug.as_str(), "existed": existed, "members_added": members_added.len(),
                       "accounts_created": accounts_created.len(), "invitations": invitations.len(), "audit_rows": audit_rows}))
            .await?;
        let tenant = tx.tenant(tenant_id).await?.ok_or(ServiceError::NotFound)?;
        tx.commit().await?;
        self.wake_mailer();
        Ok(ImportedTenant { tenant, existed, members_added, accounts_created, invitations, roles_created, audit_rows, notes })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn include_lists_parse_and_name_unknown_parts() {
        assert_eq!(ExportPart::parse_list("").unwrap().len(), 5);
        assert_eq!(ExportPart::parse_list(" users , Roles").unwrap().into_iter().collect::<Vec<_>>(), vec![ExportPart::Users, ExportPart::Roles]);
        let error = ExportPart::parse_list("users,passwords,tokens").unwrap_err();
        assert!(error.contains("\"passwords\"") && error.contains("\"tokens\"") && !error.contains("\"users\""), "{error}");
    }
}
