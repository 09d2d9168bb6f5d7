use chrono::{DateTime, Utc};

use super::{on, PageRequest, Tenant, Tx};
use crate::domain::{TenantId, TenantName, TenantSlug, UserId};

const COLUMNS: &str = "id, name, slug, status, plan, created_at";

impl Tx {
    #[tracing::instrument(skip_all)]
    pub async fn insert_tenant(&mut self, id: TenantId, name: &TenantName, slug: &TenantSlug, now: DateTime<Utc>) -> Result<Tenant, sqlx::Error> {
        let sql = format!(
            "INSERT INTO tenants (id, name, slug, created_at, updated_at) VALUES ($1, $2, $3, $4, $4) RETURNING {COLUMNS}"
        );
        on!(self, c => sqlx::query_as(&sql).bind(id).bind(name.as_str()).bind(slug.as_str()).bind(now).fetch_one(c).await)
    }

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
    pub async fn all_tenants(&mut self, page: PageRequest) -> Result<(Vec<Tenant>, i64), sqlx::Error> {
        let sql = format!("SELECT {COLUMNS} FROM tenants ORDER BY created_at, id LIMIT $1 OFFSET $2");
        let rows = on!(self, c => sqlx::query_as(&sql).bind(page.limit()).bind(page.offset()).fetch_all(c).await)?;
        let count: i64 = on!(self, c => sqlx::query_scalar("SELECT COUNT(*) FROM tenants").fetch_one(c).await)?;
        Ok((rows, count))
    }

    /// The tenants a user belongs to, oldest membership first.
    #[tracing::instrument(skip_all)]
    pub async fn tenants_of_user(&mut self, user: UserId) -> Result<Vec<Tenant>, sqlx::Error> {
        let sql = "SELECT t.id, t.name, t.slug, t.status, t.plan, t.created_at \
                   FROM memberships m JOIN tenants t ON t.id = m.tenant_id \
                   WHERE m.user_id = $1 ORDER BY m.created_at, t.id";
        on!(self, c => sqlx::query_as(sql).bind(user).fetch_all(c).await)
    }
}
