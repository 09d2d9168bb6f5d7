use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{json_page, on, Assignment, CustomRole, GrantsColumn, List, Listed, PageRequest, Reader, Tx};
use crate::domain::{grants_to_text, AssignmentId, CustomRoleName, Grant, RoleName, TenantId, UserId};

const SELECT: &str = "SELECT r.id, r.tenant_id, r.user_id, u.email AS user_email, r.role, r.assigned_by, r.created_at \
                      FROM user_roles r JOIN users u ON u.id = r.user_id";

const ROLE_SELECT: &str = "SELECT cr.id, cr.tenant_id, cr.name, cr.description, cr.permissions, cr.created_by, cr.created_at, cr.updated_at, \
                           (SELECT COUNT(*) FROM user_roles r WHERE r.tenant_id = cr.tenant_id AND r.role = cr.name) AS member_count \
                           FROM roles cr";

/// One member's hold on administration: a role they hold and what it grants when it is one
/// of the tenant's own.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Holding {
    pub user_id: UserId,
    #[sqlx(try_from = "String")]
    pub role: super::RoleColumn,
    /// What a custom role grants (empty for a built-in one).
    #[sqlx(try_from = "String")]
    pub grants: GrantsColumn,
    pub is_custom: bool,
}

impl Reader {

    /// The roles one member holds in one tenant.
    #[tracing::instrument(skip_all)]
    pub async fn roles_of(&mut self, tenant: TenantId, user: UserId) -> Result<Vec<RoleName>, sqlx::Error> {
        let names: Vec<String> = on!(self, c => sqlx::query_scalar(
            "SELECT role FROM user_roles WHERE tenant_id = $1 AND user_id = $2 ORDER BY role")
            .bind(tenant).bind(user).fetch_all(c).await)?;
        let mut roles: Vec<RoleName> = names.iter().map(|n| RoleName::from_stored(n)).collect();
        roles.sort();
        Ok(roles)
    }

    /// One page of a tenant's role assignments, oldest first, and how many match in all:
    /// one statement, one row (see [`json_page`]).
    #[tracing::instrument(skip_all)]
    pub async fn assignments(&mut self, tenant: TenantId, user: Option<UserId>, role: Option<&str>, page: PageRequest) -> Result<Listed<Assignment>, sqlx::Error> {
        const COLUMNS: [json_page::Column<'static>; 7] = [
            json_page::uuid("id", "r.id"),
            json_page::uuid("tenant_id", "r.tenant_id"),
            json_page::uuid("user_id", "r.user_id"),
            json_page::plain("user_email", "u.email"),
            json_page::plain("role", "r.role"),
            json_page::uuid("assigned_by", "r.assigned_by"),
            json_page::plain("created_at", "r.created_at"),
        ];
        // Only the filters that are set compare a column: under a prepared statement's generic
        // plan, `$2 IS NULL OR r.user_id = $2` hid the (tenant, created_at) index from
        // PostgreSQL, which then sorted all of a tenant's assignments for every page. An unset
        // one is still bound (`$n IS NULL`, true) so the parameter list stays the same.
        let by_user = if user.is_some() { "r.user_id = $2" } else { "$2 IS NULL" };
        let by_role = if role.is_some() { "r.role = $3" } else { "$3 IS NULL" };
        let filter = format!("r.tenant_id = $1 AND {by_user} AND {by_role}");
        let sql = json_page::sql(
            self.backend(),
            List::Assignments,
            &COLUMNS,
            &format!("FROM user_roles r JOIN users u ON u.id = r.user_id WHERE {filter} ORDER BY r.created_at, r.id {}", json_page::limit_offset(page, 4)),
            &if user.is_none() && role.is_none() {
                json_page::kept_total_sql("user_roles", "$1")
            } else {
                format!("SELECT COUNT(*) FROM user_roles r WHERE {filter}")
            },
        );
        let row = on!(self, c => json_page::bind_window(sqlx::query_as(&sql).bind(tenant).bind(user).bind(role), page).fetch_one(c).await)?;
        json_page::decode(row, |a: &Assignment, b| (a.created_at, a.id).cmp(&(b.created_at, b.id)))
    }

    #[tracing::instrument(skip_all)]
    pub async fn assignment(&mut self, tenant: TenantId, id: AssignmentId) -> Result<Option<Assignment>, sqlx::Error> {
        let sql = format!("{SELECT} WHERE r.tenant_id = $1 AND r.id = $2");
        on!(self, c => sqlx::query_as(&sql).bind(tenant).bind(id).fetch_optional(c).await)
    }

    /// How many members hold each role of the tenant, by stored name.
    #[tracing::instrument(skip_all)]
    pub async fn role_counts(&mut self, tenant: TenantId) -> Result<Vec<(String, i64)>, sqlx::Error> {
        on!(self, c => sqlx::query_as("SELECT role, COUNT(*) FROM user_roles WHERE tenant_id = $1 GROUP BY role")
            .bind(tenant).fetch_all(c).await)
    }

    /// Every role held in the tenant that could make its holder an administrator (ADMIN, and
    /// custom roles that grant something on roles or members), with what each custom one
    /// grants, for the last-administrator rule.
    #[tracing::instrument(skip_all)]
    pub async fn administrative_holdings(&mut self, tenant: TenantId) -> Result<Vec<Holding>, sqlx::Error> {
        on!(self, c => sqlx::query_as(
            "SELECT r.user_id, r.role, COALESCE(cr.permissions, '') AS grants, cr.id IS NOT NULL AS is_custom \
             FROM user_roles r LEFT JOIN roles cr ON cr.tenant_id = r.tenant_id AND cr.name = r.role \
             WHERE r.tenant_id = $1 AND (r.role = 'ADMIN' OR cr.id IS NOT NULL)")
            .bind(tenant).fetch_all(c).await)
    }

    /// The e-mail addresses of the tenant's ADMINs (who hear about its quotas).
    #[tracing::instrument(skip_all)]
    pub async fn admin_emails(&mut self, tenant: TenantId) -> Result<Vec<String>, sqlx::Error> {
        on!(self, c => sqlx::query_scalar(
            "SELECT u.email FROM user_roles r JOIN users u ON u.id = r.user_id WHERE r.tenant_id = $1 AND r.role = 'ADMIN' ORDER BY u.email")
            .bind(tenant).fetch_all(c).await)
    }

    /// The member who has held ADMIN longest.
    #[tracing::instrument(skip_all)]
    pub async fn first_admin(&mut self, tenant: TenantId) -> Result<Option<UserId>, sqlx::Error> {
        on!(self, c => sqlx::query_scalar("SELECT user_id FROM user_roles WHERE tenant_id = $1 AND role = 'ADMIN' ORDER BY created_at, id LIMIT 1")
            .bind(tenant).fetch_optional(c).await)
    }

    /// The tenant's own roles, by name.
    #[tracing::instrument(skip_all)]
    pub async fn custom_roles(&mut self, tenant: TenantId) -> Result<Vec<CustomRole>, sqlx::Error> {
        let sql = format!("{ROLE_SELECT} WHERE cr.tenant_id = $1 ORDER BY lower(cr.name)");
        on!(self, c => sqlx::query_as(&sql).bind(tenant).fetch_all(c).await)
    }

    #[tracing::instrument(skip_all)]
    pub async fn custom_role(&mut self, tenant: TenantId, id: Uuid) -> Result<Option<CustomRole>, sqlx::Error> {
        let sql = format!("{ROLE_SELECT} WHERE cr.tenant_id = $1 AND cr.id = $2");
        on!(self, c => sqlx::query_as(&sql).bind(tenant).bind(id).fetch_optional(c).await)
    }

    /// The tenant's role with this name, compared case-insensitively.
    #[tracing::instrument(skip_all)]
    pub async fn custom_role_named(&mut self, tenant: TenantId, name: &CustomRoleName) -> Result<Option<CustomRole>, sqlx::Error> {
        let sql = format!("{ROLE_SELECT} WHERE cr.tenant_id = $1 AND lower(cr.name) = $2");
        on!(self, c => sqlx::query_as(&sql).bind(tenant).bind(name.key()).fetch_optional(c).await)
    }

    /// Pending invitations that would grant `role` on acceptance.
    #[tracing::instrument(skip_all)]
    pub async fn pending_invitations_with_role(&mut self, tenant: TenantId, role: &str, now: DateTime<Utc>) -> Result<i64, sqlx::Error> {
        on!(self, c => sqlx::query_scalar(
            "SELECT COUNT(*) FROM invitations WHERE tenant_id = $1 AND role = $2 AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > $3")
            .bind(tenant).bind(role).bind(now).fetch_one(c).await)
    }
}

impl Tx {
    /// Assigns `role`, or returns the assignment that already exists (no second row).
    #[tracing::instrument(skip_all)]
    pub async fn assign_role(&mut self, tenant: TenantId, user: UserId, role: &RoleName, by: Option<UserId>, now: DateTime<Utc>) -> Result<(Assignment, bool), sqlx::Error> {
        let inserted = on!(self, c => sqlx::query(
            "INSERT INTO user_roles (id, tenant_id, user_id, role, assigned_by, created_at) VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (tenant_id, user_id, role) DO NOTHING")
            .bind(AssignmentId::new()).bind(tenant).bind(user).bind(role.as_str()).bind(by).bind(now)
            .execute(c).await.map(|r| r.rows_affected()))? > 0;
        let sql = format!("{SELECT} WHERE r.tenant_id = $1 AND r.user_id = $2 AND r.role = $3");
        let assignment = on!(self, c => sqlx::query_as(&sql).bind(tenant).bind(user).bind(role.as_str()).fetch_one(c).await)?;
        Ok((assignment, inserted))
    }

    /// Takes one role from one member; `false` when they did not hold it.
    #[tracing::instrument(skip_all)]
    pub async fn remove_role(&mut self, tenant: TenantId, user: UserId, role: &RoleName) -> Result<bool, sqlx::Error> {
        let rows = on!(self, c => sqlx::query("DELETE FROM user_roles WHERE tenant_id = $1 AND user_id = $2 AND role = $3")
            .bind(tenant).bind(user).bind(role.as_str()).execute(c).await.map(|r| r.rows_affected()))?;
        Ok(rows == 1)
    }

    #[tracing::instrument(skip_all)]
    pub async fn delete_assignment(&mut self, tenant: TenantId, id: AssignmentId) -> Result<bool, sqlx::Error> {
        let rows = on!(self, c => sqlx::query("DELETE FROM user_roles WHERE tenant_id = $1 AND id = $2")
            .bind(tenant).bind(id).execute(c).await.map(|r| r.rows_affected()))?;
        Ok(rows == 1)
    }

    #[tracing::instrument(skip_all)]
    pub async fn insert_custom_role(
        &mut self,
        tenant: TenantId,
        name: &CustomRoleName,
        description: &str,
        grants: &[Grant],
        by: Option<UserId>,
        now: DateTime<Utc>,
    ) -> Result<Uuid, sqlx::Error> {
        let id = Uuid::new_v4();
        on!(self, c => sqlx::query(
            "INSERT INTO roles (id, tenant_id, name, description, permissions, created_by, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $7)")
            .bind(id).bind(tenant).bind(name.as_str()).bind(description).bind(grants_to_text(grants)).bind(by).bind(now)
            .execute(c).await.map(|r| r.rows_affected()))?;
        Ok(id)
    }

    /// Changes a role; a new name is carried to every assignment and invitation naming it.
    #[tracing::instrument(skip_all)]
    pub async fn update_custom_role(
        &mut self,
        tenant: TenantId,
        id: Uuid,
        old_name: &str,
        name: &CustomRoleName,
        description: &str,
        grants: &[Grant],
        now: DateTime<Utc>,
    ) -> Result<(), sqlx::Error> {
        on!(self, c => sqlx::query("UPDATE roles SET name = $3, description = $4, permissions = $5, updated_at = $6 WHERE tenant_id = $1 AND id = $2")
            .bind(tenant).bind(id).bind(name.as_str()).bind(description).bind(grants_to_text(grants)).bind(now)
            .execute(c).await.map(|r| r.rows_affected()))?;
        if old_name != name.as_str() {
            self.rename_role_references(tenant, old_name, name.as_str()).await?;
        }
        Ok(())
    }

    /// Points every assignment and pending invitation of `from` at `to`. A member who holds
    /// both keeps one assignment.
    #[tracing::instrument(skip_all)]
    pub async fn rename_role_references(&mut self, tenant: TenantId, from: &str, to: &str) -> Result<u64, sqlx::Error> {
        on!(self, c => sqlx::query(
            "DELETE FROM user_roles WHERE tenant_id = $1 AND role = $2 \
             AND user_id IN (SELECT user_id FROM user_roles WHERE tenant_id = $1 AND role = $3)")
            .bind(tenant).bind(from).bind(to).execute(c).await.map(|r| r.rows_affected()))?;
        let moved = on!(self, c => sqlx::query("UPDATE user_roles SET role = $3 WHERE tenant_id = $1 AND role = $2")
            .bind(tenant).bind(from).bind(to).execute(c).await.map(|r| r.rows_affected()))?;
        on!(self, c => sqlx::query(
            "UPDATE invitations SET role = $3 WHERE tenant_id = $1 AND role = $2 AND accepted_at IS NULL AND revoked_at IS NULL")
            .bind(tenant).bind(from).bind(to).execute(c).await.map(|r| r.rows_affected()))?;
        Ok(moved)
    }

    /// Deletes a role that nobody holds any more. Invitations that named it (expired, revoked
    /// or accepted ones; pending ones were moved first) keep the name as history.
    #[tracing::instrument(skip_all)]
    pub async fn delete_custom_role(&mut self, tenant: TenantId, id: Uuid) -> Result<bool, sqlx::Error> {
        let rows = on!(self, c => sqlx::query("DELETE FROM roles WHERE tenant_id = $1 AND id = $2")
            .bind(tenant).bind(id).execute(c).await.map(|r| r.rows_affected()))?;
        Ok(rows == 1)
    }
}
