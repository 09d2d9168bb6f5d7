use crate::domain::TenantStatus;
use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{on, GrantsColumn, JsonColumn, Reader, Tx, User};
use crate::domain::{grants_to_text, Entitlements, Grant, LimitName, TenantId, UserId};

/// An API key as listed: never the key itself, only its hash is stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ApiKey {
    pub id: Uuid,
    pub tenant_id: TenantId,
    pub name: String,
    pub prefix: String,
    #[sqlx(try_from = "String")]
    pub scopes: GrantsColumn,
    pub created_by: UserId,
    pub created_by_email: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub last_used_ip: Option<String>,
}

/// A key found by its hash, with what deciding whether it may act needs: its tenant's status
/// and the account that made it.
#[derive(Debug)]
pub struct KeyLookup {
    pub key: ApiKey,
    pub tenant_status: TenantStatus,
    /// The tenant's `max_api_calls_per_day` (override, else plan), settled in the same query
    /// as the key: a key's call pays for no further read.
    pub daily_call_limit: Option<i64>,
    pub creator: User,
    /// The tenant's security policy as stored (`None`: the defaults), read in the same query.
    pub security_policy: Option<String>,
}

/// The row behind [`KeyLookup`]: the creator's columns are prefixed, as both sides have `id`.
#[derive(sqlx::FromRow)]
struct KeyLookupRow {
    #[sqlx(flatten)]
    key: ApiKey,
    tenant_status: TenantStatus,
    #[sqlx(try_from = "String")]
    tenant_limit_overrides: JsonColumn<BTreeMap<String, Option<i64>>>,
    #[sqlx(try_from = "Option<String>")]
    plan_limits: JsonColumn<Option<BTreeMap<String, i64>>>,
    c_first_name: String,
    c_last_name: String,
    c_is_superuser: bool,
    c_is_active: bool,
    c_timezone: Option<String>,
    c_auth_version: i32,
    c_platform_role: Option<String>,
    c_created_at: DateTime<Utc>,
    security_policy: Option<String>,
}

impl From<KeyLookupRow> for KeyLookup {
    fn from(row: KeyLookupRow) -> Self {
        let creator = User {
            id: row.key.created_by,
            email: row.key.created_by_email.clone(),
            password_hash: String::new(),
            first_name: row.c_first_name,
            last_name: row.c_last_name,
            is_superuser: row.c_is_superuser,
            is_active: row.c_is_active,
            timezone: row.c_timezone,
            auth_version: row.c_auth_version,
            platform_role: row.c_platform_role,
            created_at: row.c_created_at,
        };
        let daily_call_limit = Entitlements::one_limit(row.plan_limits.0.as_ref(), &row.tenant_limit_overrides.0, &LimitName::api_calls_per_day());
        Self { key: row.key, tenant_status: row.tenant_status, daily_call_limit, creator, security_policy: row.security_policy }
    }
}

const SELECT: &str = "SELECT k.id, k.tenant_id, k.name, k.prefix, k.scopes, k.created_by, u.email AS created_by_email, k.created_at, \
                      k.expires_at, k.revoked_at, k.last_used_at, k.last_used_ip FROM api_keys k JOIN users u ON u.id = k.created_by";

pub struct NewApiKey<'a> {
    pub tenant: TenantId,
    pub name: &'a str,
    pub prefix: &'a str,
    pub key_hash: &'a str,
    pub scopes: &'a [Grant],
    pub created_by: UserId,
    pub expires_at: Option<DateTime<Utc>>,
}

impl Reader {

    #[tracing::instrument(skip_all)]
    pub async fn api_key(&mut self, tenant: TenantId, id: Uuid) -> Result<Option<ApiKey>, sqlx::Error> {
        let sql = format!("{SELECT} WHERE k.tenant_id = $1 AND k.id = $2");
        on!(self, c => sqlx::query_as(&sql).bind(tenant).bind(id).fetch_optional(c).await)
    }

    /// Any tenant's key by id (the CLI, which acts for the platform).
    #[tracing::instrument(skip_all)]
    pub async fn api_key_anywhere(&mut self, id: Uuid) -> Result<Option<ApiKey>, sqlx::Error> {
        let sql = format!("{SELECT} WHERE k.id = $1");
        on!(self, c => sqlx::query_as(&sql).bind(id).fetch_optional(c).await)
    }

    /// The tenant's keys, newest first (revoked ones too, marked).
    #[tracing::instrument(skip_all)]
    pub async fn api_keys(&mut self, tenant: TenantId) -> Result<Vec<ApiKey>, sqlx::Error> {
        let sql = format!("{SELECT} WHERE k.tenant_id = $1 ORDER BY k.created_at DESC, k.id");
        on!(self, c => sqlx::query_as(&sql).bind(tenant).fetch_all(c).await)
    }

    /// The hot path of every request made with a key: one indexed read.
    #[tracing::instrument(skip_all)]
    pub async fn api_key_by_hash(&mut self, key_hash: &str) -> Result<Option<KeyLookup>, sqlx::Error> {
        let row: Option<KeyLookupRow> = on!(self, c => sqlx::query_as(
            "SELECT k.id, k.tenant_id, k.name, k.prefix, k.scopes, k.created_by, u.email AS created_by_email, k.created_at, \
                    k.expires_at, k.revoked_at, k.last_used_at, k.last_used_ip, t.status AS tenant_status, \
                    t.limit_overrides AS tenant_limit_overrides, p.limits AS plan_limits, \
                    u.first_name AS c_first_name, u.last_name AS c_last_name, u.is_superuser AS c_is_superuser, \
                    u.is_active AS c_is_active, u.timezone AS c_timezone, u.auth_version AS c_auth_version, \
                    u.platform_role AS c_platform_role, u.created_at AS c_created_at, sp.policy AS security_policy \
             FROM api_keys k JOIN tenants t ON t.id = k.tenant_id JOIN users u ON u.id = k.created_by \
             LEFT JOIN plans p ON p.name = t.plan_name \
             LEFT JOIN tenant_security_policies sp ON sp.tenant_id = k.tenant_id \
             WHERE k.key_hash = $1")
            .bind(key_hash).fetch_optional(c).await)?;
        Ok(row.map(KeyLookup::from))
    }
}

impl Tx {
    #[tracing::instrument(skip_all)]
    pub async fn insert_api_key(&mut self, key: NewApiKey<'_>, now: DateTime<Utc>) -> Result<Uuid, sqlx::Error> {
        let id = Uuid::new_v4();
        on!(self, c => sqlx::query(
            "INSERT INTO api_keys (id, tenant_id, name, prefix, key_hash, scopes, created_by, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)")
            .bind(id).bind(key.tenant).bind(key.name).bind(key.prefix).bind(key.key_hash).bind(grants_to_text(key.scopes))
            .bind(key.created_by).bind(now).bind(key.expires_at)
            .execute(c).await.map(|r| r.rows_affected()))?;
        Ok(id)
    }

    #[tracing::instrument(skip_all)]
    pub async fn revoke_api_key(&mut self, tenant: TenantId, id: Uuid, now: DateTime<Utc>) -> Result<bool, sqlx::Error> {
        let rows = on!(self, c => sqlx::query("UPDATE api_keys SET revoked_at = $3 WHERE tenant_id = $1 AND id = $2 AND revoked_at IS NULL")
            .bind(tenant).bind(id).bind(now).execute(c).await.map(|r| r.rows_affected()))?;
        Ok(rows == 1)
    }

    /// Makes a key expire now (tests).
    #[cfg(test)]
    pub async fn expire_api_key_for_tests(&mut self, id: Uuid) -> Result<(), sqlx::Error> {
        on!(self, c => sqlx::query("UPDATE api_keys SET expires_at = $2 WHERE id = $1")
            .bind(id).bind(chrono::Utc::now() - chrono::Duration::seconds(1)).execute(c).await.map(|r| r.rows_affected()))?;
        Ok(())
    }

    #[tracing::instrument(skip_all)]
    pub async fn touch_api_key(&mut self, id: Uuid, ip: Option<&str>, now: DateTime<Utc>) -> Result<(), sqlx::Error> {
        on!(self, c => sqlx::query("UPDATE api_keys SET last_used_at = $2, last_used_ip = $3 WHERE id = $1")
            .bind(id).bind(now).bind(ip).execute(c).await.map(|r| r.rows_affected()))?;
        Ok(())
    }
}
