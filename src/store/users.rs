use chrono::{DateTime, Utc};

use super::{on, PageRequest, Tx, User};
use crate::domain::{Email, PersonName, Role, TenantId, UserId};

const COLUMNS: &str = "id, email, password_hash, first_name, last_name, is_superuser, is_active, timezone, auth_version, platform_role, created_at";

pub struct NewUser<'a> {
    pub id: UserId,
    pub email: &'a Email,
    pub password_hash: &'a str,
    pub first_name: &'a PersonName,
    pub last_name: &'a PersonName,
    pub is_superuser: bool,
}

/// An account together with its standing in one tenant, read in one query for the hot path
/// of every authenticated request.
#[derive(Debug, sqlx::FromRow)]
pub struct UserInTenant {
    #[sqlx(flatten)]
    pub user: User,
    pub is_member: bool,
    /// `None` when no tenant was asked for or it does not exist.
    pub tenant_status: Option<String>,
    /// The role names held in that tenant, comma-separated (or `None`).
    pub roles: Option<String>,
}

/// Role names from an aggregated column, sorted.
pub(crate) fn split_roles(names: Option<&str>) -> Vec<Role> {
    let mut roles: Vec<Role> = names.unwrap_or("").split(',').filter_map(|n| Role::parse(n).ok()).collect();
    roles.sort();
    roles.dedup();
    roles
}

#[derive(sqlx::FromRow)]
struct MemberRow {
    #[sqlx(flatten)]
    user: User,
    roles: Option<String>,
    total: i64,
}

impl Tx {
    #[tracing::instrument(skip_all)]
    pub async fn user_in_tenant(&mut self, id: UserId, tenant: Option<TenantId>) -> Result<Option<UserInTenant>, sqlx::Error> {
        let sql = format!(
            "SELECT u.id, u.email, u.password_hash, u.first_name, u.last_name, u.is_superuser, u.is_active, u.timezone, u.auth_version, u.platform_role, u.created_at, \
             EXISTS (SELECT 1 FROM memberships m WHERE m.tenant_id = $2 AND m.user_id = u.id) AS is_member, \
             (SELECT t.status FROM tenants t WHERE t.id = $2) AS tenant_status, \
             (SELECT {} FROM user_roles r WHERE r.tenant_id = $2 AND r.user_id = u.id) AS roles \
             FROM users u WHERE u.id = $1",
            self.roles_aggregate()
        );
        on!(self, c => sqlx::query_as(&sql).bind(id).bind(tenant).fetch_optional(c).await)
    }

    #[tracing::instrument(skip_all)]
    pub async fn insert_user(&mut self, user: NewUser<'_>, now: DateTime<Utc>) -> Result<User, sqlx::Error> {
        let sql = format!(
            "INSERT INTO users (id, email, password_hash, first_name, last_name, is_superuser, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $7) RETURNING {COLUMNS}"
        );
        on!(self, c => sqlx::query_as(&sql)
            .bind(user.id)
            .bind(user.email.as_str())
            .bind(user.password_hash)
            .bind(user.first_name.as_str())
            .bind(user.last_name.as_str())
            .bind(user.is_superuser)
            .bind(now)
            .fetch_one(c)
            .await)
    }

    #[tracing::instrument(skip_all)]
    pub async fn user_by_email(&mut self, email: &Email) -> Result<Option<User>, sqlx::Error> {
        let sql = format!("SELECT {COLUMNS} FROM users WHERE email = $1");
        on!(self, c => sqlx::query_as(&sql).bind(email.as_str()).fetch_optional(c).await)
    }

    #[tracing::instrument(skip_all)]
    pub async fn user(&mut self, id: UserId) -> Result<Option<User>, sqlx::Error> {
        let sql = format!("SELECT {COLUMNS} FROM users WHERE id = $1");
        on!(self, c => sqlx::query_as(&sql).bind(id).fetch_optional(c).await)
    }

    #[tracing::instrument(skip_all)]
    pub async fn set_superuser(&mut self, id: UserId, now: DateTime<Utc>) -> Result<(), sqlx::Error> {
        on!(self, c => sqlx::query("UPDATE users SET is_superuser = TRUE, updated_at = $2 WHERE id = $1")
            .bind(id).bind(now).execute(c).await.map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// Sets a new password hash and bumps the credentials version, which ends every session
    /// and access token issued before.
    #[tracing::instrument(skip_all)]
    pub async fn set_password(&mut self, id: UserId, password_hash: &str, now: DateTime<Utc>) -> Result<(), sqlx::Error> {
        on!(self, c => sqlx::query(
            "UPDATE users SET password_hash = $2, auth_version = auth_version + 1, updated_at = $3 WHERE id = $1")
            .bind(id).bind(password_hash).bind(now).execute(c).await.map(|r| r.rows_affected()))?;
        Ok(())
    }

    #[tracing::instrument(skip_all)]
    pub async fn insert_membership(&mut self, tenant: TenantId, user: UserId, now: DateTime<Utc>) -> Result<(), sqlx::Error> {
        on!(self, c => sqlx::query(
            "INSERT INTO memberships (tenant_id, user_id, created_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING")
            .bind(tenant).bind(user).bind(now).execute(c).await.map(|r| r.rows_affected()))?;
        Ok(())
    }

    #[tracing::instrument(skip_all)]
    pub async fn is_member(&mut self, tenant: TenantId, user: UserId) -> Result<bool, sqlx::Error> {
        let found: Option<i32> = on!(self, c => sqlx::query_scalar(
            "SELECT 1 FROM memberships WHERE tenant_id = $1 AND user_id = $2")
            .bind(tenant).bind(user).fetch_optional(c).await)?;
        Ok(found.is_some())
    }

    /// The members of a tenant with their roles there, ordered by e-mail, one page, and the
    /// total number of members — in one query.
    #[tracing::instrument(skip_all)]
    pub async fn members(&mut self, tenant: TenantId, page: PageRequest) -> Result<(Vec<(User, Vec<Role>)>, i64), sqlx::Error> {
        let sql = format!(
            "SELECT u.id, u.email, u.password_hash, u.first_name, u.last_name, u.is_superuser, u.is_active, u.timezone, u.auth_version, u.platform_role, u.created_at, \
             (SELECT {} FROM user_roles r WHERE r.tenant_id = m.tenant_id AND r.user_id = u.id) AS roles, \
             COUNT(*) OVER () AS total \
             FROM memberships m JOIN users u ON u.id = m.user_id \
             WHERE m.tenant_id = $1 ORDER BY u.email LIMIT $2 OFFSET $3",
            self.roles_aggregate()
        );
        let rows: Vec<MemberRow> = on!(self, c => sqlx::query_as(&sql).bind(tenant).bind(page.limit()).bind(page.offset()).fetch_all(c).await)?;
        let count = match rows.first() {
            Some(row) => row.total,
            // Past the last page the window has no row to report on.
            None => on!(self, c => sqlx::query_scalar("SELECT COUNT(*) FROM memberships WHERE tenant_id = $1").bind(tenant).fetch_one(c).await)?,
        };
        Ok((rows.into_iter().map(|row| (row.user, split_roles(row.roles.as_deref()))).collect(), count))
    }

    #[tracing::instrument(skip_all)]
    pub async fn set_platform_role(&mut self, id: UserId, role: Option<&str>, now: DateTime<Utc>) -> Result<(), sqlx::Error> {
        on!(self, c => sqlx::query("UPDATE users SET platform_role = $2, updated_at = $3 WHERE id = $1")
            .bind(id).bind(role).bind(now).execute(c).await.map(|r| r.rows_affected()))?;
        Ok(())
    }

    #[tracing::instrument(skip_all)]
    pub async fn delete_membership(&mut self, tenant: TenantId, user: UserId) -> Result<(), sqlx::Error> {
        // Roles first: SQLite enforces the composite foreign key only when asked to cascade.
        on!(self, c => sqlx::query("DELETE FROM user_roles WHERE tenant_id = $1 AND user_id = $2")
            .bind(tenant).bind(user).execute(c).await.map(|r| r.rows_affected()))?;
        on!(self, c => sqlx::query("DELETE FROM memberships WHERE tenant_id = $1 AND user_id = $2")
            .bind(tenant).bind(user).execute(c).await.map(|r| r.rows_affected()))?;
        Ok(())
    }
}
