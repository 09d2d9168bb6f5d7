use crate::domain::TenantStatus;
use chrono::{DateTime, Utc};

use super::{on, Backend, PageRequest, Reader, Tenant, TenantContact, Tx};
use crate::domain::{TenantId, TenantName, TenantSlug, UserId};

const COLUMNS: &str = "id, name, slug, status, plan_name AS plan, created_at, created_by_partner, contact_email, phone_number, industry, \
                       limit_overrides, feature_overrides, display_name, description, settings, branding, custom_domain, deleted_at";
/// [`COLUMNS`] of a `tenants t` in a join.
const T_COLUMNS: &str = "t.id, t.name, t.slug, t.status, t.plan_name AS plan, t.created_at, t.created_by_partner, t.contact_email, t.phone_number, t.industry, \
                         t.limit_overrides, t.feature_overrides, t.display_name, t.description, t.settings, t.branding, t.custom_domain, t.deleted_at";

/// A change of a tenant's own settings: `None` leaves a field as it is.
pub struct TenantSettingsRow<'a> {
    pub display_name: Option<Option<String>>,
    pub description: Option<Option<String>>,
    pub contact_email: Option<Option<String>>,
    pub settings: Option<&'a serde_json::Map<String, serde_json::Value>>,
    pub branding: Option<Option<&'a serde_json::Map<String, serde_json::Value>>>,
}

impl Reader {

    /// Whether a tenant already uses this name (case-insensitively) or slug.
    #[tracing::instrument(skip_all)]
    pub async fn tenant_name_taken(&mut self, name: &TenantName, slug: &TenantSlug) -> Result<bool, sqlx::Error> {
        let sql = "SELECT COUNT(*) FROM tenants WHERE lower(name) = lower($1) OR slug = $2";
        let count: i64 = on!(self, c => sqlx::query_scalar(sql).bind(name.as_str()).bind(slug.as_str()).fetch_one(c).await)?;
        Ok(count > 0)
    }

    #[tracing::instrument(skip_all)]
    pub async fn tenant(&mut self, id: TenantId) -> Result<Option<Tenant>, sqlx::Error> {
        let sql = format!("SELECT {COLUMNS} FROM tenants WHERE id = $1");
        on!(self, c => sqlx::query_as(&sql).bind(id).fetch_optional(c).await)
    }

    #[tracing::instrument(skip_all)]
    pub async fn tenant_by_slug(&mut self, slug: &str) -> Result<Option<Tenant>, sqlx::Error> {
        let sql = format!("SELECT {COLUMNS} FROM tenants WHERE slug = $1");
        on!(self, c => sqlx::query_as(&sql).bind(slug).fetch_optional(c).await)
    }

    #[tracing::instrument(skip_all)]
    pub async fn tenant_by_custom_domain(&mut self, domain: &str) -> Result<Option<Tenant>, sqlx::Error> {
        let sql = format!("SELECT {COLUMNS} FROM tenants WHERE custom_domain = $1");
        on!(self, c => sqlx::query_as(&sql).bind(domain).fetch_optional(c).await)
    }

    #[tracing::instrument(skip_all)]
    pub async fn all_tenants(&mut self, page: PageRequest) -> Result<(Vec<Tenant>, i64), sqlx::Error> {
        let sql = format!("SELECT {COLUMNS} FROM tenants ORDER BY created_at, id LIMIT $1 OFFSET $2");
        let rows = on!(self, c => sqlx::query_as(&sql).bind(page.limit()).bind(page.offset()).fetch_all(c).await)?;
        let count: i64 = on!(self, c => sqlx::query_scalar("SELECT COUNT(*) FROM tenants").fetch_one(c).await)?;
        Ok((rows, count))
    }

    /// Every tenant, newest first (the platform page).
    #[tracing::instrument(skip_all)]
    pub async fn newest_tenants(&mut self, page: PageRequest) -> Result<(Vec<Tenant>, i64), sqlx::Error> {
        let sql = format!("SELECT {COLUMNS} FROM tenants ORDER BY created_at DESC, id DESC LIMIT $1 OFFSET $2");
        let rows = on!(self, c => sqlx::query_as(&sql).bind(page.limit()).bind(page.offset()).fetch_all(c).await)?;
        let count: i64 = on!(self, c => sqlx::query_scalar("SELECT COUNT(*) FROM tenants").fetch_one(c).await)?;
        Ok((rows, count))
    }

    /// The tenants a user belongs to, oldest membership first.
    #[tracing::instrument(skip_all)]
    pub async fn tenants_of_user(&mut self, user: UserId) -> Result<Vec<Tenant>, sqlx::Error> {
        let sql = format!("SELECT {T_COLUMNS} FROM memberships m JOIN tenants t ON t.id = m.tenant_id WHERE m.user_id = $1 ORDER BY m.created_at, t.id");
        on!(self, c => sqlx::query_as(&sql).bind(user).fetch_all(c).await)
    }

    /// Tenants deleted before `cutoff`: due for the purge.
    #[tracing::instrument(skip_all)]
    pub async fn tenants_deleted_before(&mut self, cutoff: DateTime<Utc>, limit: i64) -> Result<Vec<Tenant>, sqlx::Error> {
        let sql = format!("SELECT {COLUMNS} FROM tenants WHERE deleted_at IS NOT NULL AND deleted_at < $1 ORDER BY deleted_at LIMIT $2");
        on!(self, c => sqlx::query_as(&sql).bind(cutoff).bind(limit).fetch_all(c).await)
    }

    /// Tenants a partner created (`None`: every tenant), oldest first.
    #[tracing::instrument(skip_all)]
    pub async fn tenants_created_by(&mut self, partner: Option<UserId>, page: PageRequest) -> Result<(Vec<Tenant>, i64), sqlx::Error> {
        let filter = "($1 IS NULL OR created_by_partner = $1)";
        let sql = format!("SELECT {COLUMNS} FROM tenants WHERE {filter} ORDER BY created_at, id LIMIT $2 OFFSET $3");
        let rows = on!(self, c => sqlx::query_as(&sql).bind(partner).bind(page.limit()).bind(page.offset()).fetch_all(c).await)?;
        let count_sql = format!("SELECT COUNT(*) FROM tenants WHERE {filter}");
        let count: i64 = on!(self, c => sqlx::query_scalar(&count_sql).bind(partner).fetch_one(c).await)?;
        Ok((rows, count))
    }
}

impl Tx {
    #[tracing::instrument(skip_all)]
    pub async fn insert_tenant(&mut self, id: TenantId, name: &TenantName, slug: &TenantSlug, now: DateTime<Utc>) -> Result<Tenant, sqlx::Error> {
        let sql = format!(
            "INSERT INTO tenants (id, name, slug, created_at, updated_at) VALUES ($1, $2, $3, $4, $4) RETURNING {COLUMNS}"
        );
        on!(self, c => sqlx::query_as(&sql).bind(id).bind(name.as_str()).bind(slug.as_str()).bind(now).fetch_one(c).await)
    }

    #[tracing::instrument(skip_all)]
    pub async fn set_tenant_contact(&mut self, id: TenantId, partner: Option<UserId>, contact: &TenantContact, now: DateTime<Utc>) -> Result<(), sqlx::Error> {
        on!(self, c => sqlx::query(
            "UPDATE tenants SET created_by_partner = $2, contact_email = $3, phone_number = $4, industry = $5, updated_at = $6 WHERE id = $1")
            .bind(id).bind(partner).bind(contact.contact_email.as_deref()).bind(contact.phone_number.as_deref())
            .bind(contact.industry.as_deref()).bind(now).execute(c).await.map(|r| r.rows_affected()))?;
        Ok(())
    }

    #[tracing::instrument(skip_all)]
    pub async fn rename_tenant(&mut self, id: TenantId, name: &TenantName, slug: &TenantSlug, now: DateTime<Utc>) -> Result<(), sqlx::Error> {
        on!(self, c => sqlx::query("UPDATE tenants SET name = $2, slug = $3, updated_at = $4 WHERE id = $1")
            .bind(id).bind(name.as_str()).bind(slug.as_str()).bind(now).execute(c).await.map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// Sets the fields of `change` that are `Some` (an inner `None` clears a field).
    #[tracing::instrument(skip_all)]
    pub async fn update_tenant_settings(&mut self, id: TenantId, change: &TenantSettingsRow<'_>, now: DateTime<Utc>) -> Result<(), sqlx::Error> {
        let text = |v: Option<&serde_json::Map<String, serde_json::Value>>| v.map(|m| serde_json::to_string(m).unwrap_or_else(|_| "{}".into()));
        on!(self, c => sqlx::query(
            "UPDATE tenants SET \
               display_name = CASE WHEN $2 THEN $3 ELSE display_name END, \
               description = CASE WHEN $4 THEN $5 ELSE description END, \
               contact_email = CASE WHEN $6 THEN $7 ELSE contact_email END, \
               settings = COALESCE($8, settings), \
               branding = CASE WHEN $9 THEN $10 ELSE branding END, \
               updated_at = $11 WHERE id = $1")
            .bind(id)
            .bind(change.display_name.is_some()).bind(change.display_name.clone().flatten())
            .bind(change.description.is_some()).bind(change.description.clone().flatten())
            .bind(change.contact_email.is_some()).bind(change.contact_email.clone().flatten())
            .bind(text(change.settings))
            .bind(change.branding.is_some()).bind(change.branding.and_then(|b| text(b)))
            .bind(now)
            .execute(c).await.map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// A tenant's own domain, or none.
    #[tracing::instrument(skip_all)]
    pub async fn set_custom_domain(&mut self, id: TenantId, domain: Option<&str>, now: DateTime<Utc>) -> Result<(), sqlx::Error> {
        on!(self, c => sqlx::query("UPDATE tenants SET custom_domain = $2, updated_at = $3 WHERE id = $1")
            .bind(id).bind(domain).bind(now).execute(c).await.map(drop))
    }

    /// `active` or `suspended` (a deleted tenant is changed by [`Tx::set_tenant_deleted`] only).
    #[tracing::instrument(skip_all)]
    pub async fn set_tenant_status(&mut self, id: TenantId, status: TenantStatus, now: DateTime<Utc>) -> Result<bool, sqlx::Error> {
        let rows = on!(self, c => sqlx::query("UPDATE tenants SET status = $2, updated_at = $3 WHERE id = $1 AND deleted_at IS NULL")
            .bind(id).bind(status).bind(now).execute(c).await.map(|r| r.rows_affected()))?;
        Ok(rows == 1)
    }

    /// Marks a tenant deleted (`Some(at)`) or restores it (`None`): status and `deleted_at`
    /// change together.
    #[tracing::instrument(skip_all)]
    pub async fn set_tenant_deleted(&mut self, id: TenantId, at: Option<DateTime<Utc>>, now: DateTime<Utc>) -> Result<(), sqlx::Error> {
        let status = if at.is_some() { TenantStatus::Deleted } else { TenantStatus::Active };
        on!(self, c => sqlx::query("UPDATE tenants SET status = $2, deleted_at = $3, updated_at = $4 WHERE id = $1")
            .bind(id).bind(status).bind(at).bind(now).execute(c).await.map(drop))
    }

    /// The purge of one tenant: its outbox and audit rows (which do not cascade), then the
    /// tenant with everything that does (memberships, roles, invitations, keys, jobs …), then
    /// the accounts that belonged to it and to nothing else. Returns how many accounts went.
    #[tracing::instrument(skip_all)]
    pub async fn purge_tenant(&mut self, id: TenantId) -> Result<u64, sqlx::Error> {
        let members: Vec<UserId> = on!(self, c => sqlx::query_scalar("SELECT user_id FROM memberships WHERE tenant_id = $1").bind(id).fetch_all(c).await)?;
        on!(self, c => sqlx::query("DELETE FROM email_outbox WHERE tenant_id = $1").bind(id).execute(c).await.map(drop))?;
        on!(self, c => sqlx::query("DELETE FROM audit_log WHERE tenant_id = $1").bind(id).execute(c).await.map(drop))?;
        on!(self, c => sqlx::query("DELETE FROM tenants WHERE id = $1").bind(id).execute(c).await.map(drop))?;
        let mut removed = 0;
        for user in members {
            // Platform people (superusers, partners) stay whatever tenants they had.
            let sql = "DELETE FROM users WHERE id = $1 AND NOT is_superuser AND platform_role IS NULL \
                       AND NOT EXISTS (SELECT 1 FROM memberships m WHERE m.user_id = users.id)";
            removed += on!(self, c => sqlx::query(sql).bind(user).execute(c).await.map(|r| r.rows_affected()))?;
        }
        Ok(removed)
    }

    /// Deletes a tenant; memberships, roles and invitations go with it (foreign keys).
    #[tracing::instrument(skip_all)]
    pub async fn delete_tenant(&mut self, id: TenantId) -> Result<(), sqlx::Error> {
        on!(self, c => sqlx::query("DELETE FROM tenants WHERE id = $1").bind(id).execute(c).await.map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// Serialises changes to one tenant's administrators (PostgreSQL row lock; SQLite's write
    /// transactions are serial already), so two admins cannot each remove the other as the
    /// "not last" admin at the same moment.
    #[tracing::instrument(skip_all)]
    pub async fn lock_tenant(&mut self, id: TenantId) -> Result<(), sqlx::Error> {
        if self.backend() == Backend::Postgres {
            on!(self, c => sqlx::query("SELECT id FROM tenants WHERE id = $1 FOR UPDATE").bind(id).fetch_optional(c).await.map(drop))?;
        }
        Ok(())
    }

    /// [`Tx::lock_tenant`] and [`Tx::tenant`] in one statement (`FOR UPDATE` on PostgreSQL):
    /// the row as it stands once the lock is held, so limits read from it cannot change
    /// before the transaction ends.
    #[tracing::instrument(skip_all)]
    pub async fn lock_tenant_row(&mut self, id: TenantId) -> Result<Option<Tenant>, sqlx::Error> {
        let lock = if self.backend() == Backend::Postgres { " FOR UPDATE" } else { "" };
        let sql = format!("SELECT {COLUMNS} FROM tenants WHERE id = $1{lock}");
        on!(self, c => sqlx::query_as(&sql).bind(id).fetch_optional(c).await)
    }
}
