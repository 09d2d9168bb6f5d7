use chrono::{DateTime, Utc};

use super::{on, Assignment, PageRequest, Tx};
use crate::domain::{AssignmentId, Role, TenantId, UserId};

const SELECT: &str = "SELECT r.id, r.tenant_id, r.user_id, u.email AS user_email, r.role, r.assigned_by, r.created_at \
                      FROM user_roles r JOIN users u ON u.id = r.user_id";

impl Tx {
    /// Assigns `role`, or returns the assignment that already exists (no second row).
    #[tracing::instrument(skip_all)]
    pub async fn assign_role(&mut self, tenant: TenantId, user: UserId, role: Role, by: Option<UserId>, now: DateTime<Utc>) -> Result<(Assignment, bool), sqlx::Error> {
        let inserted = on!(self, c => sqlx::query(
            "INSERT INTO user_roles (id, tenant_id, user_id, role, assigned_by, created_at) VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (tenant_id, user_id, role) DO NOTHING")
            .bind(AssignmentId::new()).bind(tenant).bind(user).bind(role.as_str()).bind(by).bind(now)
            .execute(c).await.map(|r| r.rows_affected()))? > 0;
        let sql = format!("{SELECT} WHERE r.tenant_id = $1 AND r.user_id = $2 AND r.role = $3");
        let assignment = on!(self, c => sqlx::query_as(&sql).bind(tenant).bind(user).bind(role.as_str()).fetch_one(c).await)?;
        Ok((assignment, inserted))
    }

    /// The role names one member holds in one tenant.
    #[tracing::instrument(skip_all)]
    pub async fn roles_of(&mut self, tenant: TenantId, user: UserId) -> Result<Vec<Role>, sqlx::Error> {
        let names: Vec<String> = on!(self, c => sqlx::query_scalar(
            "SELECT role FROM user_roles WHERE tenant_id = $1 AND user_id = $2 ORDER BY role")
            .bind(tenant).bind(user).fetch_all(c).await)?;
        Ok(names.iter().filter_map(|n| Role::parse(n).ok()).collect())
    }

    #[tracing::instrument(skip_all)]
    pub async fn assignments(&mut self, tenant: TenantId, user: Option<UserId>, role: Option<Role>, page: PageRequest) -> Result<(Vec<Assignment>, i64), sqlx::Error> {
        let filter = "r.tenant_id = $1 AND ($2 IS NULL OR r.user_id = $2) AND ($3 IS NULL OR r.role = $3)";
        let sql = format!("{SELECT} WHERE {filter} ORDER BY r.created_at, r.id LIMIT $4 OFFSET $5");
        let role = role.map(Role::as_str);
        let rows = on!(self, c => sqlx::query_as(&sql).bind(tenant).bind(user).bind(role).bind(page.limit()).bind(page.offset()).fetch_all(c).await)?;
        let count_sql = format!("SELECT COUNT(*) FROM user_roles r WHERE {filter}");
        let count: i64 = on!(self, c => sqlx::query_scalar(&count_sql).bind(tenant).bind(user).bind(role).fetch_one(c).await)?;
        Ok((rows, count))
    }

    #[tracing::instrument(skip_all)]
    pub async fn assignment(&mut self, tenant: TenantId, id: AssignmentId) -> Result<Option<Assignment>, sqlx::Error> {
        let sql = format!("{SELECT} WHERE r.tenant_id = $1 AND r.id = $2");
        on!(self, c => sqlx::query_as(&sql).bind(tenant).bind(id).fetch_optional(c).await)
    }

    #[tracing::instrument(skip_all)]
    pub async fn delete_assignment(&mut self, id: AssignmentId) -> Result<(), sqlx::Error> {
        on!(self, c => sqlx::query("DELETE FROM user_roles WHERE id = $1").bind(id).execute(c).await.map(|r| r.rows_affected()))?;
        Ok(())
    }

    #[tracing::instrument(skip_all)]
    pub async fn count_admins(&mut self, tenant: TenantId) -> Result<i64, sqlx::Error> {
        on!(self, c => sqlx::query_scalar("SELECT COUNT(*) FROM user_roles WHERE tenant_id = $1 AND role = 'ADMIN'")
            .bind(tenant).fetch_one(c).await)
    }
}
