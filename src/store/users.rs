use crate::domain::TenantStatus;
use chrono::{DateTime, Utc};

use super::{json_page, on, Backend, List, Listed, PageRequest, Reader, Tx, User};
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
    /// Whether the account has a confirmed authenticator app (TOTP).
    pub has_totp: bool,
    /// Whether the account has a passkey.
    pub has_passkey: bool,
}

impl UserInTenant {
    /// Whether the account has a second factor of any kind (for `require_2fa`).
    pub fn has_second_factor(&self) -> bool {
        self.has_totp || self.has_passkey
    }
}

/// An account found by its e-mail address for a password sign-in, with its standing in the
/// tenant the sign-in lands in ([`Reader::sign_in_standing`]).
#[derive(Debug, sqlx::FromRow)]
pub struct SignInStanding {
    /// The account, and its standing in `landing`.
    #[sqlx(flatten)]
    pub found: UserInTenant,
    /// The tenant asked for, else the oldest active membership (`None`: neither).
    pub landing: Option<TenantId>,
    /// How many of the account's tenants are active. With more than one, a sign-in that named
    /// none lands in the oldest whose network rule lets the client in, which may not be
    /// `landing`.
    pub active_tenants: i64,
    /// Whether the account belongs to any tenant.
    pub has_tenants: bool,
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
    id: UserId,
    email: String,
    first_name: String,
    last_name: String,
    #[serde(deserialize_with = "json_page::flag")]
    is_superuser: bool,
    #[serde(deserialize_with = "json_page::flag")]
    is_active: bool,
    timezone: Option<String>,
    auth_version: i32,
    platform_role: Option<String>,
    #[serde(deserialize_with = "json_page::time")]
    created_at: DateTime<Utc>,
    roles: Option<String>,
}

impl MemberJson {
    fn into_member(self) -> (User, Vec<RoleName>) {
        let roles = split_roles(self.roles.as_deref());
        let user = User {
            id: self.id,
            email: self.email,
            password_hash: String::new(),
            first_name: self.first_name,
            last_name: self.last_name,
            is_superuser: self.is_superuser,
            is_active: self.is_active,
            timezone: self.timezone,
            auth_version: self.auth_version,
            platform_role: self.platform_role,
            created_at: self.created_at,
        };
        (user, roles)
    }
}

impl Reader {
    /// The columns of a [`UserInTenant`] for the account `u` in the tenant `tenant` (an SQL
    /// expression of ours: a placeholder or a column).
    pub(super) fn standing_columns(&self, tenant: &str) -> String {
        format!(
            "u.id, u.email, u.password_hash, u.first_name, u.last_name, u.is_superuser, u.is_active, u.timezone, u.auth_version, u.platform_role, u.created_at, \
             EXISTS (SELECT 1 FROM memberships m WHERE m.tenant_id = {tenant} AND m.user_id = u.id) AS is_member, \
             (SELECT t.status FROM tenants t WHERE t.id = {tenant}) AS tenant_status, \
             (SELECT {roles} FROM user_roles r WHERE r.tenant_id = {tenant} AND r.user_id = u.id) AS roles, \
             (SELECT {grants} FROM user_roles r JOIN roles cr ON cr.tenant_id = r.tenant_id AND cr.name = r.role \
              WHERE r.tenant_id = {tenant} AND r.user_id = u.id) AS grants, \
             (SELECT p.policy FROM tenant_security_policies p WHERE p.tenant_id = {tenant}) AS security_policy, \
             EXISTS (SELECT 1 FROM totp_factors f WHERE f.user_id = u.id AND f.confirmed_at IS NOT NULL) AS has_totp, \
             EXISTS (SELECT 1 FROM passkeys pk WHERE pk.user_id = u.id) AS has_passkey",
            roles = self.aggregate("r.role", ","),
            grants = self.aggregate("cr.permissions", " "),
        )
    }

    #[tracing::instrument(skip_all)]
    pub async fn user_in_tenant(&mut self, id: UserId, tenant: Option<TenantId>) -> Result<Option<UserInTenant>, sqlx::Error> {
        let sql = format!("SELECT {} FROM users u WHERE u.id = $1", self.standing_columns("$2"));
        on!(self, c => sqlx::query_as(&sql).bind(id).bind(tenant).fetch_optional(c).await)
    }

    /// The account with this e-mail address and its standing in the tenant a password sign-in
    /// would land in (`wanted`, else its oldest active membership), in one statement: the
    /// sign-in reads it before checking the password, for unknown addresses alike.
    #[tracing::instrument(skip_all)]
    pub async fn sign_in_standing(&mut self, email: &Email, wanted: Option<TenantId>) -> Result<Option<SignInStanding>, sqlx::Error> {
        let sql = self.standing_sql("u.email = $1");
        on!(self, c => sqlx::query_as(&sql).bind(email.as_str()).bind(wanted).fetch_optional(c).await)
    }

    /// [`Reader::sign_in_standing`] of the account `id` (a sign-in by passkey).
    #[tracing::instrument(skip_all)]
    pub async fn sign_in_standing_of(&mut self, id: UserId, wanted: Option<TenantId>) -> Result<Option<SignInStanding>, sqlx::Error> {
        let sql = self.standing_sql("u.id = $1");
        on!(self, c => sqlx::query_as(&sql).bind(id).bind(wanted).fetch_optional(c).await)
    }

    /// The statement of a [`SignInStanding`] of the account `u` picked by `which` (`$1`), with
    /// `$2` the tenant asked for. `x` is `MATERIALIZED`: PostgreSQL otherwise inlines it and
    /// works out the landing tenant (a sort of the account's memberships) once for each of the
    /// six columns that read it.
    fn standing_sql(&self, which: &str) -> String {
        format!(
            "WITH x AS MATERIALIZED (SELECT u.id AS user_id, COALESCE($2, (SELECT m.tenant_id FROM memberships m JOIN tenants t ON t.id = m.tenant_id \
                 WHERE m.user_id = u.id AND t.status = '{active}' ORDER BY m.created_at, t.id LIMIT 1)) AS landing \
               FROM users u WHERE {which}) \
             SELECT {}, x.landing, \
             (SELECT COUNT(*) FROM memberships m JOIN tenants t ON t.id = m.tenant_id WHERE m.user_id = u.id AND t.status = '{active}') AS active_tenants, \
             EXISTS (SELECT 1 FROM memberships m WHERE m.user_id = u.id) AS has_tenants \
             FROM x JOIN users u ON u.id = x.user_id",
            self.standing_columns("x.landing"),
            active = TenantStatus::Active.as_str(),
        )
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
    /// total number of members, as one JSON page (see [`json_page`]). The page is a range of
    /// the index of memberships by e-mail (each membership carries its member's e-mail,
    /// migration 0021: joining every member to their account to sort them was most of a
    /// request's time in a tenant of 1,000), then only its members' accounts and roles are
    /// read. E-mails sort by their bytes on both backends (PostgreSQL's locale-aware
    /// comparison cost a third of its time).
    #[tracing::instrument(skip_all)]
    pub async fn members(&mut self, tenant: TenantId, page: PageRequest) -> Result<Listed<(User, Vec<RoleName>)>, sqlx::Error> {
        let roles = format!("(SELECT {} FROM user_roles r WHERE r.tenant_id = $1 AND r.user_id = u.id)", self.aggregate("r.role", ","));
        let columns = [
            json_page::uuid("id", "u.id"),
            json_page::plain("email", "u.email"),
            json_page::plain("first_name", "u.first_name"),
            json_page::plain("last_name", "u.last_name"),
            json_page::plain("is_superuser", "u.is_superuser"),
            json_page::plain("is_active", "u.is_active"),
            json_page::plain("timezone", "u.timezone"),
            json_page::plain("auth_version", "u.auth_version"),
            json_page::plain("platform_role", "u.platform_role"),
            json_page::plain("created_at", "u.created_at"),
            json_page::plain("roles", &roles),
        ];
        let collate = match self.backend() {
            Backend::Postgres => " COLLATE \"C\"",
            Backend::Sqlite => "",
        };
        let window = json_page::limit_offset(page, 2);
        let sql = json_page::sql(
            self.backend(),
            List::Members,
            &columns,
            &format!(
                "FROM (SELECT user_id FROM memberships WHERE tenant_id = $1 ORDER BY email{collate} {window}) m \
                 JOIN users u ON u.id = m.user_id"
            ),
            &json_page::kept_total_sql("memberships", "$1"),
        );
        let row = on!(self, c => json_page::bind_window(sqlx::query_as(&sql).bind(tenant), page).fetch_one(c).await)?;
        let page = json_page::decode(row, |a: &MemberJson, b| a.email.cmp(&b.email))?;
        Ok(Listed { rows: page.rows.into_iter().map(MemberJson::into_member).collect(), total: page.total, version: page.version })
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
