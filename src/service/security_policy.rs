//! Tenant security policies: reading and saving them, and the rules they add wherever a
//! password is set (the strictest rule of all the person's tenants, the password history) and
//! wherever a request acts in a tenant (the allowed networks).

use std::net::IpAddr;

use chrono::{DateTime, Utc};

use serde_json::{json, Value};

use super::{now, Actor, Audit, Raw, RequestMeta, Services};
use crate::{
    domain::{AuditAction, NewPassword, PasswordRules, Permission, PlainPassword, SecurityPolicy, TenantId, UserId, Email},
    store::Reader,
    FieldErrors, Refusal, ServiceError, ServiceResult,
};

const NOT_ALLOWED_HERE: &str = "Access to this organisation is not allowed from this network.";
const REUSED: &str = "This password was used recently; choose one you have not used before.";
const WRONG_CURRENT: &str = "Your current password is not correct.";

/// 403 `ip_not_allowed` unless `policy` lets `ip` in.
pub(crate) fn check_network(policy: Option<&SecurityPolicy>, ip: Option<IpAddr>) -> ServiceResult<()> {
    match policy {
        Some(policy) if !policy.allows(ip) => Err(ServiceError::Refused { reason: Refusal::IpNotAllowed, detail: NOT_ALLOWED_HERE.into() }),
        _ => Ok(()),
    }
}

impl Actor {
    /// The network rule of the tenant the caller acts in, for the request's address.
    /// Superusers acting inside a tenant are bound by it like anyone.
    pub fn check_network(&self) -> ServiceResult<()> {
        check_network(self.security.as_ref(), self.client_ip)
    }

    /// Whether a browser session last used at `seen` has been idle longer than the tenant
    /// allows (never, without a timeout).
    pub fn idle_expired(&self, seen: DateTime<Utc>, now: DateTime<Utc>) -> bool {
        self.security
            .as_ref()
            .and_then(|p| p.session_timeout_minutes)
            .is_some_and(|minutes| now - seen > chrono::Duration::minutes(i64::from(minutes)))
    }
}

impl Services {
    /// `GET /api/tenants/{id}/security-policy/`: `tenant:read` (every member).
    #[tracing::instrument(skip_all)]
    pub async fn security_policy(&self, actor: &Actor, tenant: TenantId) -> ServiceResult<SecurityPolicy> {
        let tenant = self.tenant_where(actor, Some(tenant), Permission::TenantRead).await?;
        Ok(self.db().read_in(tenant).await?.security_policy(tenant).await?)
    }

    /// `PUT /api/tenants/{id}/security-policy/`: `security:manage` (ADMIN). Fields left out keep
    /// their value. A network list that would shut out the caller's own address is refused
    /// unless `confirm_lockout` is true.
    #[tracing::instrument(skip_all)]
    pub async fn set_security_policy(&self, actor: &Actor, tenant: TenantId, body: &Value, meta: &RequestMeta) -> ServiceResult<SecurityPolicy> {
        let tenant = self.tenant_where(actor, Some(tenant), Permission::SecurityManage).await?;
        let mut tx = self.db().write_in(tenant).await?;
        let before = tx.security_policy(tenant).await?;
        let after = SecurityPolicy::parse_update(&before, body).map_err(ServiceError::Validation)?;
        let mut errors = FieldErrors::new();
        let confirmed = match body.get("confirm_lockout") {
            None | Some(Value::Null) => false,
            Some(Value::Bool(yes)) => *yes,
            Some(_) => {
                errors.add("confirm_lockout", "Must be a valid boolean.");
                false
            }
        };
        if !after.allows(meta.ip) && !confirmed {
            errors.add(
                "allowed_ip_ranges",
                format!(
                    "These ranges do not include your own address ({}): saving them would lock you out. Add your network, or send \"confirm_lockout\": true.",
                    meta.ip.map(|ip| ip.to_string()).unwrap_or_default()
                ),
            );
        }
        errors.into_result()?;
        if after != before {
            tx.put_security_policy(tenant, &after, now()).await?;
            actor
                .audit(meta)
                .write(&mut tx, Some(tenant), AuditAction::SecurityPolicyChanged, "tenant", Some(tenant.to_string()),
                    json!({"before": before.to_json(), "after": after.to_json()}))
                .await?;
            tx.commit().await?;
        }
        Ok(after)
    }

    /// CLI `security-policy reset --tenant SLUG`: clears the tenant's network list and its 2FA
    /// requirement (support, when its admins locked themselves out). Audited as a change by
    /// the platform.
    #[tracing::instrument(skip_all)]
    pub async fn reset_security_policy(&self, slug: &str) -> ServiceResult<SecurityPolicy> {
        let tenant = self.tenant_by_slug(slug).await?.id;
        let mut tx = self.db().write_in(tenant).await?;
        let before = tx.security_policy(tenant).await?;
        let after = SecurityPolicy { allowed_ip_ranges: Vec::new(), require_2fa: false, ..before.clone() };
        if after != before {
            tx.put_security_policy(tenant, &after, now()).await?;
            Audit { meta: &RequestMeta::default(), actor: None, key: None }
                .write(&mut tx, Some(tenant), AuditAction::SecurityPolicyChanged, "tenant", Some(tenant.to_string()),
                    json!({"before": before.to_json(), "after": after.to_json(), "via": "cli reset"}))
                .await?;
            tx.commit().await?;
        }
        Ok(after)
    }

    /// `POST /api/me/password/`: the caller's own password, given the current one. Every other
    /// session, access and refresh token of the account ends (the browser adapter keeps the
    /// caller's own session). A wrong current password is a 400 on `current_password`,
    /// counted by the per-account limit of sign-in. Returns the account's new credentials
    /// version, which the caller's own browser session takes on to stay signed in.
    #[tracing::instrument(skip_all)]
    pub async fn change_password(&self, actor: &Actor, current: Raw, new: Raw, meta: &RequestMeta) -> ServiceResult<i32> {
        if actor.api_key.is_some() {
            return Err(ServiceError::forbidden("An API key cannot change a password; sign in as the person."));
        }
        let mut errors = FieldErrors::new();
        let current = current.required(&mut errors, "current_password", PlainPassword::parse);
        new.required(&mut errors, "new_password", |_| Ok(()));
        errors.into_result()?;
        let user = self.db().read().await?.user(actor.user_id).await?.filter(|u| u.is_active).ok_or(ServiceError::NotFound)?;
        let details = json!({"via": "password_change"});
        if !self.check_password(&user.email, Some(&user), current.unwrap().expose(), meta, AuditAction::PasswordChangeFailed, details).await? {
            return Err(ServiceError::field("current_password", WRONG_CURRENT));
        }
        let email = Email::parse(&user.email).ok();
        let rules = self.password_rules_of(user.id, None).await?;
        let mut errors = FieldErrors::new();
        let password = new.required(&mut errors, "new_password", |raw| NewPassword::parse_under(raw, email.as_ref(), &rules).map_err(|m| m.join(" ")));
        errors.into_result()?;
        let password = password.expect("checked above");
        self.refuse_reuse(user.id, &user.password_hash, password.expose(), &rules, "new_password").await?;
        let hash = self.hasher().hash(password.expose()).await?;
        let mut tx = self.db().write().await?;
        let at = now();
        tx.set_password(user.id, &hash, at).await?;
        tx.remember_password(user.id, &hash, Some(&user.password_hash), rules.password_history, at).await?;
        tx.revoke_refresh_tokens_of_user(user.id, at).await?;
        let audit = Audit { meta, actor: Some((&user.id, &user.email)), key: None };
        for tenant in tx.tenants_of_user(user.id).await? {
            audit.write(&mut tx, Some(tenant.id), AuditAction::PasswordChanged, "user", Some(user.id.to_string()), json!({})).await?;
        }
        let version = tx.user(user.id).await?.ok_or(ServiceError::NotFound)?.auth_version;
        tx.commit().await?;
        Ok(version)
    }

    /// The password rules for `user` (the strictest of all their tenants'), with `joining`'s
    /// too: the tenant whose invitation is being accepted. `None`: a new account.
    pub(crate) async fn password_rules_of(&self, user: UserId, joining: Option<TenantId>) -> ServiceResult<PasswordRules> {
        let mut tx = self.db().read().await?;
        password_rules_in(&mut tx, Some(user), joining).await
    }

    /// 400 on `field` when `password` is the current one or one of the last
    /// `rules.password_history` (argon2 checks, so it costs one verification per kept hash).
    pub(crate) async fn refuse_reuse(&self, user: UserId, current_hash: &str, password: &str, rules: &PasswordRules, field: &str) -> ServiceResult<()> {
        if rules.password_history == 0 {
            return Ok(());
        }
        let mut hashes = self.db().read().await?.password_history(user, rules.password_history).await?;
        if !hashes.iter().any(|h| h == current_hash) {
            // An account from before the history was kept: its current password counts.
            hashes.truncate(rules.password_history as usize - 1);
            hashes.insert(0, current_hash.to_owned());
        }
        for hash in &hashes {
            if self.hasher().verify(password, Some(hash)).await {
                return Err(ServiceError::field(field, REUSED));
            }
        }
        Ok(())
    }
}

/// The rules a password set for `user` (or a new account, `None`) must meet: the strictest of
/// the policies of their tenants and of `joining`.
pub(crate) async fn password_rules_in(tx: &mut Reader, user: Option<UserId>, joining: Option<TenantId>) -> ServiceResult<PasswordRules> {
    let mut policies = match user {
        Some(user) => tx.security_policies_of_user(user).await?,
        None => Vec::new(),
    };
    if let Some(tenant) = joining {
        policies.push(tx.security_policy(tenant).await?);
    }
    Ok(PasswordRules::strictest(policies.iter().map(|p| &p.password_policy)))
}
