//! API keys: a tenant's machine credentials. A key is shown once (`tnt_…`), stored as a hash,
//! and acts in its tenant with exactly its scopes, which never exceed what the person who made
//! it held then. Keys cannot make keys.

use chrono::Duration as ChronoDuration;
use serde_json::json;
use uuid::Uuid;

use super::{now, Actor, KeyActor, Raw, RawList, RequestMeta, Services};
use crate::{
    domain::{AuditAction, parse_grants, ApiKeySecret, Email, Grant, Permission, TenantId},
    store::{ApiKey, NewApiKey},
    FieldErrors, ServiceError, ServiceResult,
};

/// `POST /api/api-keys/` and the CLI.
#[derive(Debug, Clone, Default)]
pub struct ApiKeyInput {
    pub name: Raw,
    pub scopes: RawList,
    /// Whole days, 1–3650; none: the key does not expire.
    pub expires_days: Raw,
}

/// A key just made, with the secret shown this once.
#[derive(Debug, Clone)]
pub struct IssuedApiKey {
    pub key: ApiKey,
    pub secret: String,
}

/// Last-use times are recorded at most this often per key and address, so that a busy key
/// does not turn every read into a write.
const TOUCH_EVERY: ChronoDuration = ChronoDuration::seconds(60);

const UNKNOWN_KEY: &str = "Invalid API key.";

fn parse_name(raw: &str) -> Result<String, String> {
    let name = raw.trim();
    if name.is_empty() {
        return Err(crate::domain::BLANK.into());
    }
    if name.chars().count() > 100 {
        return Err("Ensure this field has no more than 100 characters.".into());
    }
    if name.chars().any(char::is_control) {
        return Err("The name may not contain control characters.".into());
    }
    Ok(name.to_owned())
}

fn parse_scopes(items: &[String]) -> Result<Vec<Grant>, Vec<String>> {
    let grants = parse_grants(items.iter().map(String::as_str))?;
    if grants.is_empty() {
        return Err(vec!["Give the key at least one scope.".into()]);
    }
    Ok(grants)
}

fn parse_days(raw: &str) -> Result<i64, String> {
    match raw.trim().parse::<i64>() {
        Ok(days) if (1..=3650).contains(&days) => Ok(days),
        _ => Err("Enter a whole number of days from 1 to 3650.".into()),
    }
}

impl Services {
    /// Makes a key for the caller's tenant; `api_keys:manage`, a person (not a key), and only
    /// scopes the caller holds.
    #[tracing::instrument(skip_all)]
    pub async fn create_api_key(&self, actor: &Actor, input: ApiKeyInput, meta: &RequestMeta) -> ServiceResult<IssuedApiKey> {
        let tenant = actor.require(Permission::ApiKeysManage)?;
        actor.require_person()?;
        let mut errors = FieldErrors::new();
        let name = input.name.required(&mut errors, "name", parse_name);
        let scopes = input.scopes.required(&mut errors, "scopes", parse_scopes);
        let days = input.expires_days.optional(&mut errors, "expires_days", parse_days);
        errors.into_result()?;
        let (name, scopes, days) = (name.unwrap(), scopes.unwrap(), days.unwrap());
        actor.may_grant(&scopes)?;
        self.insert_key(actor, tenant, &name, &scopes, days, meta).await
    }

    async fn insert_key(&self, actor: &Actor, tenant: TenantId, name: &str, scopes: &[Grant], days: Option<i64>, meta: &RequestMeta) -> ServiceResult<IssuedApiKey> {
        let secret = ApiKeySecret::generate();
        let at = now();
        let mut tx = self.db().write_in(tenant).await?;
        let new = NewApiKey {
            tenant,
            name,
            prefix: &secret.display_prefix(),
            key_hash: &secret.hash(),
            scopes,
            created_by: actor.user_id,
            expires_at: days.map(|d| at + ChronoDuration::days(d)),
        };
        let id = tx.insert_api_key(new, at).await?;
        let key = tx.api_key(tenant, id).await?.ok_or(ServiceError::NotFound)?;
        actor
            .audit(meta)
            .write(&mut tx, Some(tenant), AuditAction::ApiKeyCreated, "api_key", Some(id.to_string()),
                json!({"name": key.name, "prefix": key.prefix, "scopes": scopes.iter().map(|g| g.to_text()).collect::<Vec<_>>(),
                       "expires_at": key.expires_at}))
            .await?;
        tx.commit().await?;
        Ok(IssuedApiKey { key, secret: secret.expose().to_owned() })
    }

    /// The tenant's keys (never the keys themselves); `api_keys:manage`.
    #[tracing::instrument(skip_all)]
    pub async fn list_api_keys(&self, actor: &Actor) -> ServiceResult<Vec<ApiKey>> {
        let tenant = actor.require(Permission::ApiKeysManage)?;
        Ok(self.db().read_in(tenant).await?.api_keys(tenant).await?)
    }

    /// Revokes a key at once; `api_keys:manage`. Another tenant's key is 404; a key already
    /// revoked stays so (no second audit row).
    #[tracing::instrument(skip_all)]
    pub async fn revoke_api_key(&self, actor: &Actor, id: &str, meta: &RequestMeta) -> ServiceResult<()> {
        let tenant = actor.require(Permission::ApiKeysManage)?;
        let id = Uuid::parse_str(id.trim()).map_err(|_| ServiceError::NotFound)?;
        let mut tx = self.db().write_in(tenant).await?;
        let key = tx.api_key(tenant, id).await?.ok_or(ServiceError::NotFound)?;
        if tx.revoke_api_key(tenant, id, now()).await? {
            actor
                .audit(meta)
                .write(&mut tx, Some(tenant), AuditAction::ApiKeyRevoked, "api_key", Some(id.to_string()), json!({"name": key.name, "prefix": key.prefix}))
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The caller behind an API key: 401 saying why when it is unknown, expired, revoked, or
    /// its tenant is suspended. Its last use is recorded in the background, at most once a
    /// minute per address.
    #[tracing::instrument(skip_all)]
    pub async fn actor_from_api_key(&self, raw: &str, meta: &RequestMeta) -> ServiceResult<Actor> {
        let secret = ApiKeySecret::parse(raw).ok_or_else(|| ServiceError::unauthenticated(UNKNOWN_KEY))?;
        let found = self.db().read().await?.api_key_by_hash(&secret.hash()).await?.ok_or_else(|| ServiceError::unauthenticated(UNKNOWN_KEY))?;
        let at = now();
        let key = &found.key;
        if key.revoked_at.is_some() {
            return Err(ServiceError::unauthenticated("This API key was revoked."));
        }
        if key.expires_at.is_some_and(|e| e <= at) {
            return Err(ServiceError::unauthenticated("This API key has expired."));
        }
        if !found.tenant_status.is_active() {
            return Err(ServiceError::unauthenticated("This API key's organisation is suspended."));
        }
        let security = found.security_policy.as_deref().map(crate::store::decode_policy);
        super::security_policy::check_network(security.as_ref(), meta.ip)?;
        // The plan's daily call quota, when the tenant has one: one more write per call.
        // Otherwise the call is only counted (for the tenant's metrics), in memory first.
        match found.daily_call_limit {
            Some(limit) => self.count_api_call(key.tenant_id, limit).await?,
            None => self.note_api_call(key.tenant_id, at),
        }
        let ip = meta.ip.map(|ip| ip.to_string());
        let stale = key.last_used_at.is_none_or(|last| at - last >= TOUCH_EVERY) || key.last_used_ip != ip;
        if stale {
            let (services, id) = (self.clone(), key.id);
            self.in_background("api_key_touch", async move {
                let mut tx = services.db().write().await?;
                tx.touch_api_key(id, ip.as_deref(), at).await?;
                tx.commit().await?;
                Ok(())
            });
        }
        let creator = found.creator;
        Ok(Actor {
            user_id: creator.id,
            email: creator.email.clone(),
            tenant_id: Some(key.tenant_id),
            is_superuser: false,
            roles: Vec::new(),
            grants: Vec::new(),
            user: creator,
            api_key: Some(KeyActor { id: key.id, name: key.name.clone(), scopes: key.scopes.0.clone() }),
            security,
            has_second_factor: false,
            client_ip: meta.ip,
        })
    }

    /// CLI `api-key create`: a key for a tenant (by slug), made on behalf of `created_by`, or
    /// of the tenant's first administrator when none is named. The same rules as the API: the
    /// key never holds more than the person it is made for.
    pub async fn create_api_key_for_tenant(&self, slug: &str, created_by: Option<&str>, input: ApiKeyInput) -> ServiceResult<IssuedApiKey> {
        let tenant = self.tenant_by_slug(slug).await?;
        let person = match created_by {
            Some(email) => {
                let email = Email::parse(email).map_err(|m| ServiceError::field("created_by", m))?;
                self.db().read().await?.user_by_email(&email).await?.ok_or_else(|| ServiceError::field("created_by", "No account has this e-mail."))?.id
            }
            None => self.first_administrator(tenant.id).await?.ok_or_else(|| ServiceError::conflict_detail("This tenant has no administrator to make the key for; name one with --created-by."))?,
        };
        let actor = self
            .actor_for(person, Some(tenant.id))
            .await?
            .ok_or_else(|| ServiceError::field("created_by", "This account is not an active member of the tenant."))?;
        self.create_api_key(&actor, input, &RequestMeta::default()).await
    }

    /// CLI `api-key list`.
    pub async fn api_keys_of_tenant(&self, slug: &str) -> ServiceResult<Vec<ApiKey>> {
        let tenant = self.tenant_by_slug(slug).await?;
        Ok(self.db().read_in(tenant.id).await?.api_keys(tenant.id).await?)
    }

    /// CLI `api-key revoke ID`: any tenant's key.
    pub async fn revoke_api_key_anywhere(&self, id: &str) -> ServiceResult<ApiKey> {
        let id = Uuid::parse_str(id.trim()).map_err(|_| ServiceError::NotFound)?;
        let mut tx = self.db().write().await?;
        let key = tx.api_key_anywhere(id).await?.ok_or(ServiceError::NotFound)?;
        if tx.revoke_api_key(key.tenant_id, id, now()).await? {
            super::Audit { meta: &RequestMeta::default(), actor: None, key: None }
                .write(&mut tx, Some(key.tenant_id), AuditAction::ApiKeyRevoked, "api_key", Some(id.to_string()),
                    json!({"name": key.name, "prefix": key.prefix, "by": "cli"}))
                .await?;
        }
        let key = tx.api_key_anywhere(id).await?.ok_or(ServiceError::NotFound)?;
        tx.commit().await?;
        Ok(key)
    }
}
