use crate::domain::TenantStatus;
use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::{on, Backend, PageRequest, Reader, Tx, User};
use crate::domain::{Email, PersonName, RoleName, TenantId, UserId};

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
    pub tenant_status: Option<TenantStatus>,
    /// The role names held in that tenant, comma-separated (or `None`).
    pub roles: Option<String>,
    /// What the custom roles among them grant, space-separated (or `None`).
    pub grants: Option<String>,
    /// The tenant's security policy as stored (`None`: it has the defaults).
    pub security_policy: Option<String>,
    /// Whether the account has a confirmed second factor.
    pub has_second_factor: bool,
}

/// Role names from an aggregated column, sorted (role names have no commas).
pub(crate) fn split_roles(names: Option<&str>) -> Vec<RoleName> {
    let mut roles: Vec<RoleName> = names.unwrap_or("").split(',').filter(|n| !n.is_empty()).map(RoleName::from_stored).collect();
    roles.sort();
    roles.dedup();
    roles
}

/// One member as the page query's JSON spells it.
#[derive(serde::Deserialize)]
struct MemberJson {
    id: String,
    email: String,
    first_name: String,
    last_name: String,
    #[serde(deserialize_with = "flag")]
    is_superuser: bool,
    #[serde(deserialize_with = "flag")]
    is_active: bool,
    timezone: Option<String>,
    auth_version: i32,
    platform_role: Option<String>,
    created_at: String,
    roles: Option<String>,
}

impl MemberJson {
    fn into_member(self) -> Result<(User, Vec<RoleName>), sqlx::Error> {
        let bad = |what: &str| sqlx::Error::Decode(format!("member page: bad {what}").into());
        let id = uuid::Uuid::parse_str(&self.id).map_err(|_| bad("id"))?;
        let created_at = DateTime::parse_from_rfc3339(&self.created_at)
            .or_else(|_| DateTime::parse_from_str(&self.created_at, "%Y-%m-%dT%H:%M:%S%.f%#z"))
            .map_err(|_| bad("created_at"))?
            .with_timezone(&Utc);
        let roles = split_roles(self.roles.as_deref());
        let user = User {
            id: UserId(id),
            email: self.email,
            password_hash: String::new(),
            first_name: self.first_name,
            last_name: self.last_name,
            is_superuser: self.is_superuser,
            is_active: self.is_active,
            timezone: self.timezone,
            auth_version: self.auth_version,
            platform_role: self.platform_role,
            created_at,
        };
        Ok((user, roles))
    }
}

/// SQLite's JSON has no booleans (0/1); PostgreSQL's has.
fn flag<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<bool, D::Error> {
    match serde_json::Value::deserialize(deserializer)? {
        serde_json::Value::Bool(b) => Ok(b),
        serde_json::Value::Number(n) => Ok(n.as_i64() != Some(0)),
        other => Err(serde::de::Error::custom(format!("expected a flag, got {other}"))),
    }
}

impl Reader {
    #[tracing::instrument(skip_all)]
    pub async fn user_in_tenant(&mut self, id: UserId, tenant: Option<TenantId>) -> Result<Option<UserInTenant>, sqlx::Error> {
        let sql = format!(
            "SELECT u.id, u.email, u.password_hash, u.first_name, u.last_name, u.is_superuser, u.is_active, u.timezone, u.auth_version, u.platform_role, u.created_at, \
             EXISTS (SELECT 1 FROM memberships m WHERE m.tenant_id = $2 AND m.user_id = u.id) AS is_member, \
             (SELECT t.status FROM tenants t WHERE t.id = $2) AS tenant_status, \
             (SELECT {} FROM user_roles r WHERE r.tenant_id = $2 AND r.user_id = u.id) AS roles, \
             (SELECT {} FROM user_roles r JOIN roles cr ON cr.tenant_id = r.tenant_id AND cr.name = r.role \
              WHERE r.tenant_id = $2 AND r.user_id = u.id) AS grants, \
             (SELECT p.policy FROM tenant_security_policies p WHERE p.tenant_id = $2) AS security_policy, \
             EXISTS (SELECT 1 FROM totp_factors f WHERE f.user_id = u.id AND f.confirmed_at IS NOT NULL) AS has_second_factor \
             FROM users u WHERE u.id = $1",
            self.aggregate("r.role", ","),
            self.aggregate("cr.permissions", " "),
        );
        on!(self, c => sqlx::query_as(&sql).bind(id).bind(tenant).fetch_optional(c).await)
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
    pub async fn is_member(&mut self, tenant: TenantId, user: UserId) -> Result<bool, sqlx::Error> {
        let found: Option<i32> = on!(self, c => sqlx::query_scalar(
            "SELECT 1 FROM memberships WHERE tenant_id = $1 AND user_id = $2")
            .bind(tenant).bind(user).fetch_optional(c).await)?;
        Ok(found.is_some())
    }

    /// The members of a tenant with their roles there, ordered by e-mail, one page, and the
    /// total number of members. The page comes back as one JSON document in one row: the
    /// SQLite driver hands rows over one by one between threads, and a row per member made
    /// this the slowest read in the service. Roles come from one join grouped per member (a
    /// subquery per member cost PostgreSQL a third of its time), and e-mails sort by their
    /// bytes on both backends (PostgreSQL's locale-aware comparison was another third).
    #[tracing::instrument(skip_all)]
    pub async fn members(&mut self, tenant: TenantId, page: PageRequest) -> Result<(Vec<(User, Vec<RoleName>)>, i64), sqlx::Error> {
        // The spellings that differ: uuid as text, the JSON builders, byte order, and
        // PostgreSQL's `json` read back as text.
        let (id, array, collate, as_text) = match self.backend() {
            Backend::Postgres => ("u.id", "json_agg(p)", " COLLATE \"C\"", "::text"),
            Backend::Sqlite => (
                "lower(hex(u.id))",
                "json_group_array(json_object('id', p.id, 'email', p.email, 'first_name', p.first_name, 'last_name', p.last_name, \
                 'is_superuser', p.is_superuser, 'is_active', p.is_active, 'timezone', p.timezone, 'auth_version', p.auth_version, \
                 'platform_role', p.platform_role, 'created_at', p.created_at, 'roles', p.roles))",
                "",
                "",
            ),
        };
        let sql = format!(
            "SELECT (SELECT COUNT(*) FROM memberships WHERE tenant_id = $1) AS total, \
             (SELECT {array} \
              FROM (SELECT {id} AS id, u.email, u.first_name, u.last_name, u.is_superuser, u.is_active, u.timezone, \
                       u.auth_version, u.platform_role, u.created_at, {roles} AS roles \
                    FROM memberships m JOIN users u ON u.id = m.user_id \
                    LEFT JOIN user_roles r ON r.tenant_id = m.tenant_id AND r.user_id = m.user_id \
                    WHERE m.tenant_id = $1 GROUP BY u.id ORDER BY u.email{collate} LIMIT $2 OFFSET $3) p){as_text} AS page",
            roles = self.aggregate("r.role", ",")
        );
        let (total, page_json): (i64, Option<String>) =
            on!(self, c => sqlx::query_as(&sql).bind(tenant).bind(page.limit()).bind(page.offset()).fetch_one(c).await)?;
        let mut members: Vec<MemberJson> = match page_json {
            Some(json) => serde_json::from_str(&json).map_err(|e| sqlx::Error::Decode(Box::new(e)))?,
            None => Vec::new(),
        };
        // An aggregate over an ordered subquery keeps its order in practice, but SQL does not
        // promise it; the page is small.
        members.sort_by(|a, b| a.email.cmp(&b.email));
        let members = members.into_iter().map(MemberJson::into_member).collect::<Result<Vec<_>, _>>()?;
        Ok((members, total))
    }
}

impl Tx {

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

    /// Makes `user` a member of `tenant` and closes any invitation of theirs to it still open
    /// (revoked: its link stops working), so that a member never also holds a pending
    /// invitation. The seat count relies on that: it adds members and pending invitations
    /// without looking one up in the other (`seats_used`).
    #[tracing::instrument(skip_all)]
    pub async fn insert_membership(&mut self, tenant: TenantId, user: UserId, now: DateTime<Utc>) -> Result<(), sqlx::Error> {
        on!(self, c => sqlx::query(
            "INSERT INTO memberships (tenant_id, user_id, created_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING")
            .bind(tenant).bind(user).bind(now).execute(c).await.map(|r| r.rows_affected()))?;
        on!(self, c => sqlx::query(
            "UPDATE invitations SET revoked_at = $3, updated_at = $3 \
             WHERE tenant_id = $1 AND accepted_at IS NULL AND revoked_at IS NULL \
               AND email = (SELECT email FROM users WHERE id = $2)")
            .bind(tenant).bind(user).bind(now).execute(c).await.map(|r| r.rows_affected()))?;
        Ok(())
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
