//! Forgotten passwords: anyone may ask for a reset link for an e-mail address; the answer is
//! the same whether or not an account exists. The link's token works once, for an hour by
//! default; a newer request spends older tokens; a reset ends every session and token.

use chrono::Duration as ChronoDuration;
use serde_json::json;

use super::{now, Audit, Raw, RequestMeta, Services};
use crate::{
    auth::random_token,
    domain::{AuditAction, Email, NewPassword, OneTimeToken},
    mail::templates,
    FieldErrors, ServiceError, ServiceResult,
};

const BAD_TOKEN: &str = "This reset link is invalid, already used or expired. Ask for a new one.";

/// What the `/password-reset?token=` page shows (opening it does not spend the token).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResetPreview {
    Valid { email: String },
    Invalid,
}

impl Services {
    /// Sends a reset link when an active account has this e-mail; otherwise does nothing.
    /// Either way the caller learns nothing: the same `Ok(())`, after the same work — the
    /// account's lookup and, for a real one, its writes (token, mail, audit rows) happen after
    /// the answer is sent.
    #[tracing::instrument(skip_all)]
    pub async fn request_password_reset(&self, email: Raw, meta: &RequestMeta) -> ServiceResult<()> {
        self.limits().client_attempt(meta.ip).await?;
        let mut errors = FieldErrors::new();
        let email = email.required(&mut errors, "email", Email::parse);
        errors.into_result()?;
        let email = email.unwrap();
        self.limits().reset_mail(email.as_str(), meta.ip).await?;

        // Whether the account exists is looked up after the answer, with everything else: the
        // request does the same work for a known address and an unknown one, so its timing
        // tells them apart no more than its answer does.
        let (services, meta) = (self.clone(), meta.clone());
        self.in_background("password reset request", async move {
            let user = services.db().read().await?.user_by_email(&email).await?.filter(|u| u.is_active);
            let Some(user) = user else { return Ok(()) };
            let ttl = services.config().password_reset_ttl;
            let mut tx = services.db().write().await?;
            let link = services.new_reset_link(&mut tx, user.id, ttl).await?;
            let tenants = tx.tenants_of_user(user.id).await?;
            // The mail speaks for the account's organisation when there is exactly one; an
            // account in several is nobody's in particular, and gets Tenantry's own mail.
            let brand = match tenants.as_slice() {
                [only] => services.branding_in(&mut tx, only).await?,
                _ => None,
            };
            let mail = templates::password_reset(&user.email, &link, (ttl.as_secs() / 60) as i64, brand.as_ref().map(|b| b.for_mail()).as_ref());
            services.enqueue_mail(&mut tx, mail).await?;
            let audit = Audit { meta: &meta, actor: Some((&user.id, &user.email)), key: None };
            for tenant in tenants {
                audit.write(&mut tx, Some(tenant.id), AuditAction::PasswordResetRequested, "user", Some(user.id.to_string()), json!({})).await?;
            }
            tx.commit().await?;
            services.wake_mailer();
            Ok(())
        });
        Ok(())
    }

    /// A new reset token for `user`, valid for `ttl`, as the link that carries it.
    pub(crate) async fn new_reset_link(&self, tx: &mut crate::store::Tx, user: crate::domain::UserId, ttl: std::time::Duration) -> ServiceResult<String> {
        let token = random_token();
        let at = now();
        tx.insert_reset_token(user, &crate::auth::token_hash(&token), at + ChronoDuration::seconds(ttl.as_secs() as i64), at).await?;
        Ok(format!("{}/password-reset?token={token}", self.config().frontend_base_url))
    }

    /// Whether a reset link still works, for the page (nothing is spent).
    #[tracing::instrument(skip_all)]
    pub async fn password_reset_preview(&self, token: &str) -> ServiceResult<ResetPreview> {
        let Ok(token) = OneTimeToken::parse(token) else { return Ok(ResetPreview::Invalid) };
        let mut tx = self.db().read().await?;
        let Some(record) = tx.reset_token(&token.hash()).await? else { return Ok(ResetPreview::Invalid) };
        if record.used_at.is_some() || record.expires_at <= now() {
            return Ok(ResetPreview::Invalid);
        }
        Ok(match tx.user(record.user_id).await? {
            Some(user) if user.is_active => ResetPreview::Valid { email: user.email },
            _ => ResetPreview::Invalid,
        })
    }

    /// Sets a new password with a reset token. The token is checked first; a password that
    /// fails the policy leaves the token usable. On success every session and refresh token of
    /// the account stops working.
    #[tracing::instrument(skip_all)]
    pub async fn confirm_password_reset(&self, token: Raw, password: Raw, meta: &RequestMeta) -> ServiceResult<()> {
        self.limits().client_attempt(meta.ip).await?;
        let bad_token = || ServiceError::field("token", BAD_TOKEN);
        let mut errors = FieldErrors::new();
        let token = token.required(&mut errors, "token", |raw| OneTimeToken::parse(raw).map_err(|_| BAD_TOKEN.to_owned()));
        // Every missing field is reported at once; the password's rules wait for the token,
        // which decides whose password it is.
        password.required(&mut errors, "password", |_| Ok(()));
        errors.into_result()?;
        let token = token.unwrap();
        let (record, user) = {
            let mut tx = self.db().read().await?;
            let record = tx.reset_token(&token.hash()).await?.ok_or_else(bad_token)?;
            if record.used_at.is_some() || record.expires_at <= now() {
                return Err(bad_token());
            }
            let user = tx.user(record.user_id).await?.filter(|u| u.is_active).ok_or_else(bad_token)?;
            (record, user)
        };
        let email = Email::parse(&user.email).ok();
        // The strictest rule of every tenant the person belongs to.
        let rules = self.password_rules_of(user.id, None).await?;
        let mut errors = FieldErrors::new();
        let password = password.required(&mut errors, "password", |raw| NewPassword::parse_under(raw, email.as_ref(), &rules).map_err(|m| m.join(" ")));
        errors.into_result()?;
        let password = password.unwrap();
        self.refuse_reuse(user.id, &user.password_hash, password.expose(), &rules, "password").await?;
        let hash = self.hasher().hash(password.expose()).await?;

        let mut tx = self.db().write().await?;
        let at = now();
        if !tx.use_reset_token(record.id, at).await? {
            return Err(bad_token());
        }
        tx.set_password(user.id, &hash, at).await?;
        tx.remember_password(user.id, &hash, Some(&user.password_hash), rules.password_history, at).await?;
        tx.revoke_refresh_tokens_of_user(user.id, at).await?;
        let audit = Audit { meta, actor: Some((&user.id, &user.email)), key: None };
        for tenant in tx.tenants_of_user(user.id).await? {
            audit.write(&mut tx, Some(tenant.id), AuditAction::PasswordResetCompleted, "user", Some(user.id.to_string()), json!({})).await?;
        }
        tx.commit().await?;
        Ok(())
    }
}
