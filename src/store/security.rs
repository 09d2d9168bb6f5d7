//! Tenant security policies and the password history of accounts.

use chrono::{DateTime, Utc};

use super::{on, Reader, Tx};
use crate::domain::{SecurityPolicy, TenantId, UserId};

/// A stored policy that no longer parses is a bug (it was checked when saved); the tenant then
/// gets the defaults rather than a locked door, and the log says why.
///
/// Every request acting in a tenant with a policy decodes it (it comes with the caller's roles),
/// so decoded policies are kept by their stored text: the same text is the same policy, and a
/// changed policy is new text. Bounded: the cache starts over past 1,024 distinct policies.
pub(crate) fn decode_policy(text: &str) -> SecurityPolicy {
    use std::{collections::HashMap, sync::{Mutex, OnceLock}};
    static DECODED: OnceLock<Mutex<HashMap<String, SecurityPolicy>>> = OnceLock::new();
    let cache = DECODED.get_or_init(Default::default);
    if let Some(hit) = cache.lock().unwrap_or_else(|e| e.into_inner()).get(text) {
        return hit.clone();
    }
    let policy: SecurityPolicy = serde_json::from_str(text).unwrap_or_else(|error| {
        tracing::error!(%error, "stored security policy does not parse; using the defaults");
        SecurityPolicy::default()
    });
    let mut cache = cache.lock().unwrap_or_else(|e| e.into_inner());
    if cache.len() >= 1024 {
        cache.clear();
    }
    cache.insert(text.to_owned(), policy.clone());
    policy
}

impl Reader {
    /// The tenant's policy, or the defaults when it never set one.
    #[tracing::instrument(skip_all)]
    pub async fn security_policy(&mut self, tenant: TenantId) -> Result<SecurityPolicy, sqlx::Error> {
        let text: Option<String> = on!(self, c => sqlx::query_scalar("SELECT policy FROM tenant_security_policies WHERE tenant_id = $1")
            .bind(tenant).fetch_optional(c).await)?;
        Ok(text.as_deref().map(decode_policy).unwrap_or_default())
    }

    /// The policies of every tenant `user` belongs to (tenants without one are left out: their
    /// defaults are the global rules, which always apply).
    #[tracing::instrument(skip_all)]
    pub async fn security_policies_of_user(&mut self, user: UserId) -> Result<Vec<SecurityPolicy>, sqlx::Error> {
        let texts: Vec<String> = on!(self, c => sqlx::query_scalar(
            "SELECT p.policy FROM memberships m JOIN tenant_security_policies p ON p.tenant_id = m.tenant_id WHERE m.user_id = $1")
            .bind(user).fetch_all(c).await)?;
        Ok(texts.iter().map(|t| decode_policy(t)).collect())
    }

    /// The account's last `limit` password hashes, newest first.
    #[tracing::instrument(skip_all)]
    pub async fn password_history(&mut self, user: UserId, limit: u32) -> Result<Vec<String>, sqlx::Error> {
        on!(self, c => sqlx::query_scalar(
            "SELECT password_hash FROM password_history WHERE user_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2")
            .bind(user).bind(i64::from(limit)).fetch_all(c).await)
    }
}

impl Tx {

    #[tracing::instrument(skip_all)]
    pub async fn put_security_policy(&mut self, tenant: TenantId, policy: &SecurityPolicy, now: DateTime<Utc>) -> Result<(), sqlx::Error> {
        let text = serde_json::to_string(policy).unwrap_or_else(|_| "{}".into());
        on!(self, c => sqlx::query(
            "INSERT INTO tenant_security_policies (tenant_id, policy, updated_at) VALUES ($1, $2, $3) \
             ON CONFLICT (tenant_id) DO UPDATE SET policy = excluded.policy, updated_at = excluded.updated_at")
            .bind(tenant).bind(text).bind(now).execute(c).await.map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// Records a hash just set as the account's password, and the `replaced` one when the
    /// history does not hold it yet (it was set before a policy asked for history), then keeps
    /// only the newest `keep`.
    #[tracing::instrument(skip_all)]
    pub async fn remember_password(&mut self, user: UserId, hash: &str, replaced: Option<&str>, keep: u32, now: DateTime<Utc>) -> Result<(), sqlx::Error> {
        if keep > 0 {
            if let Some(old) = replaced {
                let known: bool = on!(self, c => sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM password_history WHERE user_id = $1 AND password_hash = $2)")
                    .bind(user).bind(old).fetch_one(c).await)?;
                if !known {
                    self.insert_history(user, old, now - chrono::Duration::milliseconds(1)).await?;
                }
            }
            self.insert_history(user, hash, now).await?;
        }
        on!(self, c => sqlx::query(
            "DELETE FROM password_history WHERE user_id = $1 AND id NOT IN \
             (SELECT id FROM password_history WHERE user_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2)")
            .bind(user).bind(i64::from(keep)).execute(c).await.map(|r| r.rows_affected()))?;
        Ok(())
    }

    async fn insert_history(&mut self, user: UserId, hash: &str, at: DateTime<Utc>) -> Result<(), sqlx::Error> {
        on!(self, c => sqlx::query("INSERT INTO password_history (id, user_id, password_hash, created_at) VALUES ($1, $2, $3, $4)")
            .bind(uuid::Uuid::new_v4()).bind(user).bind(hash).bind(at).execute(c).await.map(|r| r.rows_affected()))?;
        Ok(())
    }
}
