//! Safe deletion: a tenant is deleted only with its exact name typed back, is marked deleted
//! at once (its members can no longer act in it, its invitations and keys stop working), can
//! be restored for `TENANT_DELETION_GRACE_DAYS`, and is purged by the worker after that.

use crate::domain::AuditAction;
use chrono::Duration as ChronoDuration;
use serde_json::json;

use super::{now, Actor, Audit, Raw, RequestMeta, Services};
use crate::{domain::TenantId, store::Tenant, FieldErrors, ServiceError, ServiceResult};

impl Services {
    /// `DELETE /api/tenants/{id}/` and `delete-tenant`: superusers, the partner who
    /// provisioned the tenant, and the command line (`by` is `None`).
    #[tracing::instrument(skip_all)]
    pub async fn delete_tenant(&self, by: Option<&Actor>, tenant: TenantId, confirm_name: Raw, meta: &RequestMeta) -> ServiceResult<Tenant> {
        let mut tx = self.db().write().await?;
        let row = tx.lock_tenant_row(tenant).await?;
        let row = deletable(by, row, tenant)?;
        let mut errors = FieldErrors::new();
        confirm_name.required(&mut errors, "confirm_name", |typed| {
            if typed.trim() == row.name { Ok(()) } else { Err(format!("Type the organisation's exact name, \"{}\", to delete it.", row.name)) }
        });
        errors.into_result()?;
        if row.deleted_at.is_some() {
            return Err(ServiceError::conflict_detail("This organisation is deleted already; restore it with POST /api/tenants/{id}/restore/."));
        }
        let at = now();
        tx.set_tenant_deleted(tenant, Some(at), at).await?;
        let purge_after = at + self.deletion_grace();
        let details = json!({"tenant_id": tenant, "name": row.name, "slug": row.slug, "purge_after": purge_after.to_rfc3339()});
        let audit = audit_by(by, meta);
        audit.write(&mut tx, Some(tenant), AuditAction::TenantDeleted, "tenant", Some(tenant.to_string()), details.clone()).await?;
        // Kept after the purge removes the tenant's own trail: who deleted what, and when.
        audit.write(&mut tx, None, AuditAction::TenantDeleted, "tenant", Some(tenant.to_string()), details).await?;
        let updated = tx.tenant(tenant).await?.ok_or(ServiceError::NotFound)?;
        tx.commit().await?;
        tracing::info!(tenant = %tenant, slug = %updated.slug, "tenant deleted (restorable until the purge)");
        Ok(updated)
    }

    /// `POST /api/tenants/{id}/restore/` and `restore-tenant`: a deleted tenant back as it
    /// was, within the grace period.
    #[tracing::instrument(skip_all)]
    pub async fn restore_tenant(&self, by: Option<&Actor>, tenant: TenantId, meta: &RequestMeta) -> ServiceResult<Tenant> {
        let mut tx = self.db().write().await?;
        let row = tx.lock_tenant_row(tenant).await?;
        let row = deletable(by, row, tenant)?;
        let Some(deleted_at) = row.deleted_at else {
            return Err(ServiceError::conflict_detail("This organisation is not deleted."));
        };
        let at = now();
        if deleted_at + self.deletion_grace() <= at {
            return Err(ServiceError::conflict_detail("The grace period is over: this organisation is being purged and cannot be restored."));
        }
        tx.set_tenant_deleted(tenant, None, at).await?;
        let details = json!({"tenant_id": tenant, "name": row.name, "slug": row.slug, "deleted_at": deleted_at.to_rfc3339()});
        let audit = audit_by(by, meta);
        audit.write(&mut tx, Some(tenant), AuditAction::TenantRestored, "tenant", Some(tenant.to_string()), details.clone()).await?;
        audit.write(&mut tx, None, AuditAction::TenantRestored, "tenant", Some(tenant.to_string()), details).await?;
        let updated = tx.tenant(tenant).await?.ok_or(ServiceError::NotFound)?;
        tx.commit().await?;
        Ok(updated)
    }

    /// Purges the tenants whose grace period is over (the worker calls this); returns how
    /// many went. Each tenant goes in its own transaction.
    #[tracing::instrument(skip_all)]
    pub async fn purge_deleted_tenants(&self) -> ServiceResult<u64> {
        let cutoff = now() - self.deletion_grace();
        let due = self.db().read().await?.tenants_deleted_before(cutoff, 100).await?;
        let mut purged = 0;
        for tenant in due {
            let mut tx = self.db().write().await?;
            // Restored since it was listed: leave it.
            let Some(row) = tx.lock_tenant_row(tenant.id).await?.filter(|t| t.deleted_at.is_some_and(|d| d < cutoff)) else { continue };
            let accounts = tx.purge_tenant(row.id).await?;
            let meta = RequestMeta::default();
            Audit { meta: &meta, actor: None, key: None }
                .write(&mut tx, None, AuditAction::TenantPurged, "tenant", Some(row.id.to_string()),
                    json!({"tenant_id": row.id, "name": row.name, "slug": row.slug, "deleted_at": row.deleted_at.map(|d| d.to_rfc3339()), "accounts_removed": accounts}))
                .await?;
            tx.commit().await?;
            tracing::info!(tenant = %row.id, slug = %row.slug, accounts, "deleted tenant purged");
            purged += 1;
        }
        Ok(purged)
    }

    fn deletion_grace(&self) -> ChronoDuration {
        ChronoDuration::seconds(self.config().tenant_deletion_grace.as_secs() as i64)
    }
}

fn audit_by<'a>(by: Option<&'a Actor>, meta: &'a RequestMeta) -> Audit<'a> {
    match by {
        Some(actor) => actor.audit(meta),
        None => Audit { meta, actor: None, key: None },
    }
}

/// The tenant when `by` may delete and restore it: superusers, the partner that provisioned
/// it, the command line. Its own admins are told no (403); anyone else sees nothing (404).
fn deletable(by: Option<&Actor>, row: Option<Tenant>, id: TenantId) -> ServiceResult<Tenant> {
    let row = row.ok_or(ServiceError::NotFound)?;
    let Some(actor) = by else { return Ok(row) };
    let partner = actor.platform_role().is_some_and(|role| role.allows("tenant:delete")) && row.created_by_partner == Some(actor.user_id);
    if actor.is_superuser || partner {
        Ok(row)
    } else if actor.tenant_id == Some(id) {
        Err(ServiceError::forbidden("Only the platform's administrators or the partner that provisioned this organisation can delete it."))
    } else {
        Err(ServiceError::NotFound)
    }
}
