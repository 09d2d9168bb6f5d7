//! Two-factor sign-in with TOTP: enrolment (a secret, confirmed by a first code, then ten
//! recovery codes shown once), the second step of sign-in (a single-use `mfa_token` that lives
//! five minutes and is spent by five wrong codes), removal, and the `require_2fa` gate.

use chrono::Duration as ChronoDuration;
use serde_json::json;

use super::{auth::load_member_with_policy, now, Actor, Audit, Profile, Raw, RequestMeta, Services, TokenPair};
use crate::{
    auth::{random_token, token_hash},
    domain::{AuditAction, OneTimeToken, PlainPassword, TotpSecret, UserId},
    FieldErrors, Refusal, ServiceError, ServiceResult,
};

/// How long the second step of a sign-in may take.
pub const MFA_TOKEN_TTL_MINUTES: i64 = 5;
/// Wrong codes that spend an `mfa_token`.
pub const MFA_MAX_ATTEMPTS: i32 = 5;
pub const RECOVERY_CODES: usize = 10;
const ISSUER: &str = "Tenantry";
pub(super) const BAD_MFA_TOKEN: &str = "This sign-in step is invalid or has expired; sign in again.";
const WRONG_CODE: &str = "The code is not correct.";
const ENROL_FIRST: &str = "Your organisation requires two-factor sign-in: set up an authenticator app under Security first.";

/// A TOTP enrolment just started: the secret to put in an authenticator app.
#[derive(Debug, Clone)]
pub struct TotpEnrolment {
    /// Base32, as apps take it typed in.
    pub secret: String,
    pub otpauth_uri: String,
}

/// The password was right and a second factor is owed.
#[derive(Debug, Clone)]
pub struct MfaPending {
    pub mfa_token: String,
    pub methods: Vec<&'static str>,
}

/// What a sign-in comes to.
#[derive(Debug)]
pub enum SignInStep {
    /// Signed in (with tokens when they were asked for).
    Done(Profile, Option<TokenPair>),
    SecondFactor(MfaPending),
}

/// The account's second factors, for the security page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TwoFactorStatus {
    pub totp: bool,
    pub recovery_codes_left: i64,
    pub passkeys: usize,
}

/// What answers the second step of a sign-in.
enum Proof {
    Code(String),
    Recovery(String),
    Passkey(Box<webauthn_rs::prelude::PublicKeyCredential>),
}

/// Recovery codes as shown: ten lower-case base32 characters in two groups (50 bits).
fn new_recovery_code() -> String {
    let raw = TotpSecret::generate().to_base32().to_lowercase();
    format!("{}-{}", &raw[..5], &raw[5..10])
}

/// What is stored for a recovery code: its hash, whatever case or dashes it is typed with.
fn recovery_hash(code: &str) -> String {
    let normal: String = code.chars().filter(|c| c.is_ascii_alphanumeric()).collect::<String>().to_lowercase();
    token_hash(&normal)
}

impl Actor {
    /// 403 `2fa_enrollment_required` when the tenant requires a second factor and this person
    /// has none (API keys are machines and are not asked).
    pub fn check_enrolment(&self) -> ServiceResult<()> {
        match &self.api_key {
            Some(_) => Ok(()),
            None => check_enrolment(self.security.as_ref(), self.has_second_factor),
        }
    }
}

/// 403 `2fa_enrollment_required` when `policy` requires a second factor of a person who has none.
pub(crate) fn check_enrolment(policy: Option<&crate::domain::SecurityPolicy>, has_second_factor: bool) -> ServiceResult<()> {
    if policy.is_some_and(|p| p.require_2fa) && !has_second_factor {
        Err(ServiceError::Refused { reason: Refusal::TwoFactorEnrollmentRequired, detail: ENROL_FIRST.into() })
    } else {
        Ok(())
    }
}

impl Services {
    fn totp_sealer(&self) -> crate::auth::Sealer {
        crate::auth::Sealer::derive(self.config().secret_key(), "totp-secrets")
    }

    /// `POST /api/me/2fa/totp/`: a new secret for the caller (a person). A confirmed factor
    /// must be removed first (409); an unconfirmed one is replaced.
    #[tracing::instrument(skip_all)]
    pub async fn start_totp(&self, actor: &Actor) -> ServiceResult<TotpEnrolment> {
        actor.require_person()?;
        let secret = TotpSecret::generate();
        let mut tx = self.db().write().await?;
        if !tx.put_pending_totp(actor.user_id, &self.totp_sealer().seal(&secret.to_base32()), now()).await? {
            return Err(ServiceError::conflict_detail("Two-factor sign-in is already on; remove it first to set up another authenticator."));
        }
        tx.commit().await?;
        Ok(TotpEnrolment { otpauth_uri: secret.otpauth_uri(ISSUER, &actor.email), secret: secret.to_base32() })
    }

    /// `POST /api/me/2fa/totp/confirm/`: a first code proves the app has the secret; two-factor
    /// sign-in is then on, and ten recovery codes are returned (once; only hashes are kept).
    #[tracing::instrument(skip_all)]
    pub async fn confirm_totp(&self, actor: &Actor, code: Raw, meta: &RequestMeta) -> ServiceResult<Vec<String>> {
        actor.require_person()?;
        let mut errors = FieldErrors::new();
        let code = code.required(&mut errors, "code", |raw| Ok(raw.to_owned()));
        errors.into_result()?;
        let mut tx = self.db().write().await?;
        let factor = tx.totp_factor(actor.user_id).await?.ok_or_else(|| ServiceError::field("code", "Start the set-up first: no authenticator is waiting for a code."))?;
        if factor.confirmed_at.is_some() {
            return Err(ServiceError::conflict_detail("Two-factor sign-in is already on."));
        }
        let secret = self.open_secret(&factor.secret_sealed)?;
        let step = secret.verify(&code.unwrap(), now().timestamp(), None).ok_or_else(|| ServiceError::field("code", WRONG_CODE))?;
        if !tx.confirm_totp(actor.user_id, step, now()).await? {
            return Err(ServiceError::conflict_detail("Two-factor sign-in is already on."));
        }
        let codes: Vec<String> = (0..RECOVERY_CODES).map(|_| new_recovery_code()).collect();
        let hashes: Vec<String> = codes.iter().map(|c| recovery_hash(c)).collect();
        tx.replace_recovery_codes(actor.user_id, &hashes, now()).await?;
        self.audit_everywhere(&mut tx, actor.user_id, &actor.email, meta, AuditAction::TwoFactorEnabled, json!({"method": "totp"})).await?;
        tx.commit().await?;
        Ok(codes)
    }

    /// `DELETE /api/me/2fa/totp/`: needs the password and a current code (or a recovery code).
    #[tracing::instrument(skip_all)]
    pub async fn remove_totp(&self, actor: &Actor, password: Raw, code: Raw, meta: &RequestMeta) -> ServiceResult<()> {
        actor.require_person()?;
        let mut errors = FieldErrors::new();
        let password = password.required(&mut errors, "password", PlainPassword::parse);
        let code = code.required(&mut errors, "code", |raw| Ok(raw.to_owned()));
        errors.into_result()?;
        let user = self.db().read().await?.user(actor.user_id).await?.ok_or(ServiceError::NotFound)?;
        if !self.check_password(&user.email, Some(&user), password.unwrap().expose(), meta, AuditAction::TwoFactorRemovalFailed, json!({})).await? {
            return Err(ServiceError::field("password", "Your password is not correct."));
        }
        let mut tx = self.db().write().await?;
        let factor = tx.totp_factor(user.id).await?.filter(|f| f.confirmed_at.is_some()).ok_or(ServiceError::NotFound)?;
        let code = code.unwrap();
        let secret = self.open_secret(&factor.secret_sealed)?;
        let by_code = match secret.verify(&code, now().timestamp(), factor.last_used_step) {
            Some(step) => tx.use_totp_step(user.id, step).await?,
            None => false,
        };
        if !by_code && !tx.use_recovery_code(user.id, &recovery_hash(&code), now()).await? {
            return Err(ServiceError::field("code", WRONG_CODE));
        }
        tx.delete_totp(user.id).await?;
        self.audit_everywhere(&mut tx, user.id, &user.email, meta, AuditAction::TwoFactorDisabled, json!({"method": "totp"})).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The caller's second factors.
    pub async fn two_factor_status(&self, actor: &Actor) -> ServiceResult<TwoFactorStatus> {
        let mut tx = self.db().read().await?;
        let totp = tx.totp_factor(actor.user_id).await?.is_some_and(|f| f.confirmed_at.is_some());
        let recovery_codes_left = if totp { tx.unused_recovery_codes(actor.user_id).await? } else { 0 };
        let passkeys = tx.passkeys_of(actor.user_id).await?.len();
        Ok(TwoFactorStatus { totp, recovery_codes_left, passkeys })
    }

    /// The second step is owed when the account has a confirmed factor (`(totp, passkey)`, as
    /// the account was just read): a challenge for `tenant` is written and its token returned,
    /// with the methods that can answer it.
    pub(crate) async fn second_factor_owed(&self, tx: &mut crate::store::Tx, user: UserId, tenant: Option<crate::domain::TenantId>, (totp, passkeys): (bool, bool)) -> ServiceResult<Option<MfaPending>> {
        let mut methods = Vec::new();
        if totp {
            methods.extend(["totp", "recovery_code"]);
        }
        if passkeys {
            methods.push("webauthn");
        }
        if methods.is_empty() {
            return Ok(None);
        }
        let token = random_token();
        let at = now();
        tx.insert_mfa_challenge(&token_hash(&token), user, tenant, at + ChronoDuration::minutes(MFA_TOKEN_TTL_MINUTES), at).await?;
        Ok(Some(MfaPending { mfa_token: token, methods }))
    }

    /// `POST /api/auth/login/mfa/` and the page's second step: `code` (TOTP) or
    /// `recovery_code` for a pending sign-in. A wrong one is a 400 on its field and counts; the
    /// fifth spends the token (401 from then on, as for an expired or used one).
    #[tracing::instrument(skip_all)]
    pub async fn complete_sign_in(&self, mfa_token: Raw, code: Raw, recovery_code: Raw, meta: &RequestMeta, with_tokens: bool) -> ServiceResult<(Profile, Option<TokenPair>)> {
        let done = async {
            self.limits().client_attempt(meta.ip).await?;
            let mut errors = FieldErrors::new();
            let hash = parse_mfa_token(&mfa_token, &mut errors);
            let (code, recovery) = (code.as_text().filter(|c| !c.trim().is_empty()), recovery_code.as_text().filter(|c| !c.trim().is_empty()));
            if code.is_none() && recovery.is_none() {
                errors.add("code", crate::domain::REQUIRED);
            }
            errors.into_result()?;
            let proof = match (code, recovery) {
                (Some(code), _) => Proof::Code(code.to_owned()),
                (None, Some(recovery)) => Proof::Recovery(recovery.to_owned()),
                (None, None) => unreachable!("checked above"),
            };
            self.second_step(hash.unwrap(), proof, meta, with_tokens).await
        }
        .await;
        super::auth::count_login(done.is_ok());
        done
    }

    /// The second step answered with a passkey (`webauthn`: the credential the browser
    /// returned for [`Services::passkey_second_factor_options`]); otherwise as
    /// [`Services::complete_sign_in`], a wrong answer counting as a wrong code.
    #[tracing::instrument(skip_all)]
    pub async fn complete_sign_in_with_passkey(&self, mfa_token: Raw, webauthn: Raw, meta: &RequestMeta, with_tokens: bool) -> ServiceResult<(Profile, Option<TokenPair>)> {
        let done = async {
            self.limits().client_attempt(meta.ip).await?;
            let mut errors = FieldErrors::new();
            let hash = parse_mfa_token(&mfa_token, &mut errors);
            let credential = webauthn.required(&mut errors, "webauthn", super::passkeys::parse_assertion);
            errors.into_result()?;
            self.second_step(hash.unwrap(), Proof::Passkey(Box::new(credential.unwrap())), meta, with_tokens).await
        }
        .await;
        super::auth::count_login(done.is_ok());
        done
    }

    async fn second_step(&self, hash: String, proof: Proof, meta: &RequestMeta, with_tokens: bool) -> ServiceResult<(Profile, Option<TokenPair>)> {
        let expired = || ServiceError::unauthenticated(BAD_MFA_TOKEN);
        let mut tx = self.db().write().await?;
        let at = now();
        // Claimed (marked used) before the answer is checked: a wrong answer hands it back.
        let challenge = tx.claim_mfa_challenge(&hash, MFA_MAX_ATTEMPTS, at).await?.ok_or_else(expired)?;
        let user = challenge.user_id;
        let (ok, field, method) = match proof {
            Proof::Code(code) => {
                // The account's confirmed authenticator came with the challenge.
                let ok = match &challenge.totp_secret_sealed {
                    Some(sealed) => match self.open_secret(sealed)?.verify(&code, at.timestamp(), challenge.totp_last_used_step) {
                        Some(step) => tx.use_totp_step(user, step).await?,
                        None => false,
                    },
                    None => false,
                };
                (ok, "code", "totp")
            }
            Proof::Recovery(recovery) => (tx.use_recovery_code(user, &recovery_hash(&recovery), at).await?, "recovery_code", "recovery_code"),
            Proof::Passkey(credential) => (self.verify_passkey_factor(&mut tx, &hash, user, &credential).await?, "webauthn", "webauthn"),
        };
        if !ok {
            let count = tx.count_mfa_failure(&hash, MFA_MAX_ATTEMPTS, at).await?;
            tx.commit().await?;
            return Err(if count >= MFA_MAX_ATTEMPTS {
                ServiceError::unauthenticated("Too many wrong codes: sign in again.")
            } else if method == "webauthn" {
                ServiceError::field(field, "The passkey could not be verified.")
            } else {
                ServiceError::field(field, WRONG_CODE)
            });
        }
        let tenant = challenge.tenant_id;
        let (member, policy) = load_member_with_policy(&mut tx, user, tenant).await?.ok_or_else(expired)?;
        super::security_policy::check_network(policy.as_ref(), meta.ip)?;
        Audit { meta, actor: Some((&user, &member.user.email)), key: None }
            .write(&mut tx, tenant, AuditAction::LoginSucceeded, "user", Some(user.to_string()), json!({"second_factor": method}))
            .await?;
        let pair = match with_tokens {
            true => Some(self.issue_tokens_under(&mut tx, &member.user, tenant, uuid::Uuid::new_v4(), policy.as_ref()).await?),
            false => None,
        };
        tx.commit().await?;
        Ok((self.profile_of(member), pair))
    }

    fn open_secret(&self, sealed: &str) -> ServiceResult<TotpSecret> {
        self.totp_sealer()
            .open(sealed)
            .and_then(|text| TotpSecret::from_base32(&text))
            .ok_or_else(|| ServiceError::Internal(anyhow::anyhow!("a stored TOTP secret does not open (was SECRET_KEY changed?)")))
    }

    /// An account-level event, in the audit trail of each of the person's tenants.
    pub(super) async fn audit_everywhere(&self, tx: &mut crate::store::Tx, user: UserId, email: &str, meta: &RequestMeta, action: AuditAction, details: serde_json::Value) -> ServiceResult<()> {
        let audit = Audit { meta, actor: Some((&user, email)), key: None };
        for tenant in tx.tenants_of_user(user).await? {
            audit.write(tx, Some(tenant.id), action.clone(), "user", Some(user.to_string()), details.clone()).await?;
        }
        Ok(())
    }
}

/// The `mfa_token` of a second step, as the hash its challenge is stored under.
fn parse_mfa_token(raw: &Raw, errors: &mut FieldErrors) -> Option<String> {
    raw.required(errors, "mfa_token", |raw| OneTimeToken::parse(raw).map(|t| t.hash()).map_err(|_| BAD_MFA_TOKEN.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovery_codes_are_distinct_and_match_however_typed() {
        let a = new_recovery_code();
        assert_eq!(a.len(), 11);
        assert_ne!(a, new_recovery_code());
        assert_eq!(recovery_hash(&a), recovery_hash(&a.to_uppercase().replace('-', " ")));
        assert_ne!(recovery_hash(&a), recovery_hash(&new_recovery_code()));
    }
}
