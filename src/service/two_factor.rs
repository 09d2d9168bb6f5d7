//! Two-factor sign-in with TOTP: enrolment (a secret, confirmed by a first code, then ten
//! recovery codes shown once), the second step of sign-in (a single-use `mfa_token` that lives
//! five minutes and is spent by five wrong codes), removal, and the `require_2fa` gate.

use chrono::{DateTime, Duration as ChronoDuration, Utc};
use serde_json::json;

use super::{auth::member_with_policy, now, Actor, Audit, Profile, Raw, RequestMeta, Services, TokenPair};
use crate::store::CodeOutcome;
use crate::{
    auth::{token_hash, Sealer},
    domain::{AuditAction, PlainPassword, TenantId, TotpSecret, UserId},
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
const TOO_MANY_WRONG: &str = "Too many wrong codes: sign in again.";
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

/// A pending sign-in's second step, carried in its `mfa_token` instead of stored: the account,
/// the tenant the sign-in lands in, and when the step expires, sealed (AES-256-GCM, under a key
/// derived from `SECRET_KEY` for this purpose alone), so nobody can make or alter one and the
/// password step writes nothing. Answers to it are what is stored: the first answer writes a
/// row under the token's hash (claiming it for a right answer, counting a wrong one), and that
/// row makes the token single-use and counts its wrong codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PendingStep {
    pub user: UserId,
    pub tenant: Option<TenantId>,
    pub expires_at: DateTime<Utc>,
}

impl PendingStep {
    fn sealer(secret: &[u8]) -> Sealer {
        Sealer::derive(secret, "mfa-tokens")
    }

    /// The `mfa_token` for this step. Each sealing draws a fresh nonce, so two steps for the
    /// same account never share a token (nor the row its hash keys).
    pub(crate) fn seal(&self, secret: &[u8]) -> String {
        let tenant = self.tenant.map_or_else(|| "-".to_owned(), |t| t.0.simple().to_string());
        Self::sealer(secret).seal(&format!("{}|{tenant}|{}", self.user.0.simple(), self.expires_at.timestamp()))
    }

    /// The step an `mfa_token` carries while it can be answered (`at`: now); `None` when it
    /// has expired or this server's key did not seal it.
    pub(crate) fn live(secret: &[u8], token: &str, at: DateTime<Utc>) -> Option<Self> {
        Self::open(secret, token).filter(|step| step.expires_at > at)
    }

    /// The step an `mfa_token` carries; `None` when this server's key did not seal it.
    pub(crate) fn open(secret: &[u8], token: &str) -> Option<Self> {
        let plain = Self::sealer(secret).open(token)?;
        let mut parts = plain.split('|');
        let user = UserId(uuid::Uuid::try_parse(parts.next()?).ok()?);
        let tenant = match parts.next()? {
            "-" => None,
            id => Some(TenantId(uuid::Uuid::try_parse(id).ok()?)),
        };
        let expires_at = DateTime::from_timestamp(parts.next()?.parse().ok()?, 0)?;
        parts.next().is_none().then_some(Self { user, tenant, expires_at })
    }
}

/// What answers the second step of a sign-in in the database (a TOTP code is checked before
/// anything is written: [`Services::second_step_by_code`]).
enum Proof {
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
    /// the account was just read): its token (a [`PendingStep`] for `tenant`, nothing written)
    /// with the methods that can answer it.
    pub(crate) fn second_factor_owed(&self, user: UserId, tenant: Option<TenantId>, (totp, passkeys): (bool, bool)) -> Option<MfaPending> {
        let mut methods = Vec::new();
        if totp {
            methods.extend(["totp", "recovery_code"]);
        }
        if passkeys {
            methods.push("webauthn");
        }
        if methods.is_empty() {
            return None;
        }
        let step = PendingStep { user, tenant, expires_at: now() + ChronoDuration::minutes(MFA_TOKEN_TTL_MINUTES) };
        Some(MfaPending { mfa_token: step.seal(self.config().secret_key()), methods })
    }

    /// The same pending step as `token`, already expired (tests).
    #[cfg(test)]
    pub(crate) fn expired_copy_of_mfa_token(&self, token: &str) -> String {
        let step = PendingStep::open(self.config().secret_key(), token).expect("a token this server sealed");
        PendingStep { expires_at: now() - ChronoDuration::seconds(1), ..step }.seal(self.config().secret_key())
    }

    /// The live step an `mfa_token` (as [`parse_mfa_token`] passed it) carries, with the hash
    /// its answers are recorded under; 401 when it is not one of ours or has expired.
    pub(super) fn pending_step(&self, token: &str, at: DateTime<Utc>) -> ServiceResult<(PendingStep, String)> {
        let step = PendingStep::live(self.config().secret_key(), token, at).ok_or_else(|| ServiceError::unauthenticated(BAD_MFA_TOKEN))?;
        Ok((step, token_hash(token)))
    }

    /// `POST /api/auth/login/mfa/` and the page's second step: `code` (TOTP) or
    /// `recovery_code` for a pending sign-in. A wrong one is a 400 on its field and counts; the
    /// fifth spends the token (401 from then on, as for an expired or used one).
    #[tracing::instrument(skip_all)]
    pub async fn complete_sign_in(&self, mfa_token: Raw, code: Raw, recovery_code: Raw, meta: &RequestMeta, with_tokens: bool) -> ServiceResult<(Profile, Option<TokenPair>)> {
        let done = async {
            self.limits().client_attempt(meta.ip).await?;
            let mut errors = FieldErrors::new();
            let token = parse_mfa_token(&mfa_token, &mut errors);
            let (code, recovery) = (code.as_text().filter(|c| !c.trim().is_empty()), recovery_code.as_text().filter(|c| !c.trim().is_empty()));
            if code.is_none() && recovery.is_none() {
                errors.add("code", crate::domain::REQUIRED);
            }
            errors.into_result()?;
            match (code, recovery) {
                (Some(code), _) => self.second_step_by_code(&token.unwrap(), code, meta, with_tokens).await,
                (None, Some(recovery)) => self.second_step(&token.unwrap(), Proof::Recovery(recovery.to_owned()), meta, with_tokens).await,
                (None, None) => unreachable!("checked above"),
            }
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
            let token = parse_mfa_token(&mfa_token, &mut errors);
            let credential = webauthn.required(&mut errors, "webauthn", super::passkeys::parse_assertion);
            errors.into_result()?;
            self.second_step(&token.unwrap(), Proof::Passkey(Box::new(credential.unwrap())), meta, with_tokens).await
        }
        .await;
        super::auth::count_login(done.is_ok());
        done
    }

    /// The second step answered with a TOTP code, the hot path of every two-factor sign-in:
    /// nothing is written before the code is checked. The step, the account's authenticator
    /// and its standing are read in one statement; the code is checked here; a right one is
    /// then recorded all at once (its time step used, the step claimed, the audit row, the
    /// refresh token: [`crate::store::Db::answer_with_code`]), and a wrong one is counted
    /// against the step. On PostgreSQL that is two statements where the claim-first path of
    /// [`Services::second_step`] takes six, and no row is locked while the code is checked.
    async fn second_step_by_code(&self, token: &str, code: &str, meta: &RequestMeta, with_tokens: bool) -> ServiceResult<(Profile, Option<TokenPair>)> {
        let expired = || ServiceError::unauthenticated(BAD_MFA_TOKEN);
        let at = now();
        let (step, hash) = self.pending_step(token, at)?;
        // The write of a right answer runs on this same connection (`answer_with_code`).
        let mut read = self.db().read().await?;
        let state = read.code_step(&hash, step.user, step.tenant).await?.ok_or_else(expired)?;
        if !state.is_open(MFA_MAX_ATTEMPTS) {
            return Err(expired());
        }
        let matched = match &state.totp_secret_sealed {
            Some(sealed) => self.open_secret(sealed)?.verify(code, at.timestamp(), state.totp_last_used_step),
            None => None,
        };
        let Some(time_step) = matched else {
            // Given back before the count takes a connection of its own.
            drop(read);
            return Err(self.count_wrong_code(&step, &hash, at).await?);
        };
        let (member, policy) = member_with_policy(state.standing, step.tenant).ok_or_else(expired)?;
        super::security_policy::check_network(policy.as_ref(), meta.ip)?;
        let user = member.user.id;
        let audit = Audit { meta, actor: Some((&user, &member.user.email)), key: None }.entry(
            step.tenant,
            AuditAction::LoginSucceeded,
            "user",
            Some(user.to_string()),
            json!({"second_factor": "totp"}),
        );
        let tokens = match with_tokens {
            true => Some(self.sign_pair(&member.user, step.tenant, uuid::Uuid::new_v4(), policy.as_ref())?),
            false => None,
        };
        let answer = crate::store::CodeAnswer {
            hash: &hash,
            user: step.user,
            tenant: step.tenant,
            expires_at: step.expires_at,
            max_attempts: MFA_MAX_ATTEMPTS,
            time_step,
            audit: &audit,
            refresh: tokens.as_ref().map(|(_, record)| record),
            now: at,
        };
        match self.db().answer_with_code(read, answer).await? {
            CodeOutcome::SignedIn => Ok((self.profile_of(member), tokens.map(|(pair, _)| pair))),
            // The same code signed in elsewhere in the moment since it was checked.
            CodeOutcome::StepUsed => Err(self.count_wrong_code(&step, &hash, at).await?),
            CodeOutcome::Spent => Err(expired()),
        }
    }

    /// Counts a wrong code against a pending step that no answer holds: the refusal to give
    /// (a 400 on `code`, or 401 once it was the last allowed or the step was used meanwhile).
    async fn count_wrong_code(&self, step: &PendingStep, hash: &str, at: DateTime<Utc>) -> ServiceResult<ServiceError> {
        let mut tx = self.db().write().await?;
        let count = tx.count_wrong_code(hash, (step.user, step.tenant, step.expires_at), MFA_MAX_ATTEMPTS, at).await?;
        tx.commit().await?;
        Ok(match count {
            Some(count) if count < MFA_MAX_ATTEMPTS => ServiceError::field("code", WRONG_CODE),
            Some(_) => ServiceError::unauthenticated(TOO_MANY_WRONG),
            None => ServiceError::unauthenticated(BAD_MFA_TOKEN),
        })
    }

    /// The second step answered with a recovery code or a passkey, both checked in the
    /// database: the step is claimed first, in the transaction that checks the answer; a
    /// wrong answer hands it back with one more attempt counted.
    async fn second_step(&self, token: &str, proof: Proof, meta: &RequestMeta, with_tokens: bool) -> ServiceResult<(Profile, Option<TokenPair>)> {
        let expired = || ServiceError::unauthenticated(BAD_MFA_TOKEN);
        let at = now();
        let (step, hash) = self.pending_step(token, at)?;
        let mut tx = self.db().write().await?;
        // Claimed (marked used) before the answer is checked: a wrong answer hands it back.
        let crate::store::ClaimedStep { challenge, standing } =
            tx.claim_mfa_challenge(&hash, (step.user, step.tenant, step.expires_at), MFA_MAX_ATTEMPTS, at).await?.ok_or_else(expired)?;
        let user = challenge.user_id;
        let (ok, field, method) = match proof {
            Proof::Recovery(recovery) => (tx.use_recovery_code(user, &recovery_hash(&recovery), at).await?, "recovery_code", "recovery_code"),
            Proof::Passkey(credential) => (self.verify_passkey_factor(&mut tx, &hash, user, &credential).await?, "webauthn", "webauthn"),
        };
        if !ok {
            let count = tx.count_mfa_failure(&hash, MFA_MAX_ATTEMPTS, at).await?;
            tx.commit().await?;
            return Err(if count >= MFA_MAX_ATTEMPTS {
                ServiceError::unauthenticated(TOO_MANY_WRONG)
            } else if method == "webauthn" {
                ServiceError::field(field, "The passkey could not be verified.")
            } else {
                ServiceError::field(field, WRONG_CODE)
            });
        }
        let tenant = challenge.tenant_id;
        let (member, policy) = member_with_policy(standing, tenant).ok_or_else(expired)?;
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

/// The `mfa_token` of a second step, trimmed, when it has the shape of a token (URL-safe
/// characters and dots, at most 512 of them: ours, or the 43-character ones earlier versions
/// issued): a 400 on the field otherwise. Whether it is one of ours is [`Services::pending_step`]'s
/// question (401 when not).
pub(super) fn parse_mfa_token(raw: &Raw, errors: &mut FieldErrors) -> Option<String> {
    raw.required(errors, "mfa_token", |raw| {
        let token = raw.trim();
        let shaped = !token.is_empty() && token.len() <= 512 && token.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
        if shaped { Ok(token.to_owned()) } else { Err(BAD_MFA_TOKEN.to_owned()) }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &[u8] = b"the server's secret key, long enough";

    #[test]
    fn a_pending_step_opens_only_as_sealed_under_its_own_key() {
        let step = PendingStep { user: UserId::new(), tenant: Some(TenantId::new()), expires_at: DateTime::from_timestamp(1_900_000_000, 0).unwrap() };
        let token = step.seal(KEY);
        assert_eq!(PendingStep::open(KEY, &token), Some(step));
        assert_ne!(step.seal(KEY), token, "a fresh nonce each time: two steps never share a token");
        let platform = PendingStep { tenant: None, ..step };
        assert_eq!(PendingStep::open(KEY, &platform.seal(KEY)), Some(platform));

        let expiry = step.expires_at;
        assert_eq!(PendingStep::live(KEY, &token, expiry - chrono::Duration::seconds(1)), Some(step));
        assert_eq!(PendingStep::live(KEY, &token, expiry), None, "expires at its expiry");

        assert_eq!(PendingStep::open(b"another server's secret key", &token), None);
        for at in [3, token.len() / 2, token.len() - 1] {
            let mut altered = token.clone().into_bytes();
            altered[at] = if altered[at] == b'A' { b'B' } else { b'A' };
            assert_eq!(PendingStep::open(KEY, &String::from_utf8(altered).unwrap()), None, "altered at {at}");
        }
        // The same secret's key for another purpose does not make steps, even of the right shape.
        let plain = format!("{}|-|1900000000", step.user.0.simple());
        assert_eq!(PendingStep::open(KEY, &Sealer::derive(KEY, "totp-secrets").seal(&plain)), None);
        assert_eq!(PendingStep::open(KEY, &PendingStep::sealer(KEY).seal(&plain)), Some(PendingStep { tenant: None, ..step }));
        for bad in [format!("{plain}|more"), format!("{}|-", step.user.0.simple()), "x|-|1900000000".into(), format!("{}|x|1900000000", step.user.0.simple()), format!("{}|-|soon", step.user.0.simple())] {
            assert_eq!(PendingStep::open(KEY, &PendingStep::sealer(KEY).seal(&bad)), None, "{bad}");
        }
    }

    #[test]
    fn an_mfa_token_is_refused_on_its_field_only_when_it_cannot_be_a_token() {
        let parse = |raw: &str| {
            let mut errors = FieldErrors::new();
            let token = parse_mfa_token(&Raw::text(raw), &mut errors);
            (token, errors.into_result().is_err())
        };
        let sealed = PendingStep { user: UserId::new(), tenant: None, expires_at: Utc::now() }.seal(KEY);
        assert_eq!(parse(&format!(" {sealed} ")), (Some(sealed), false));
        let old_style = crate::auth::random_token();
        assert_eq!(parse(&old_style), (Some(old_style.clone()), false), "an earlier version's token is asked about (and is 401)");
        for bad in ["", "   ", "not a token", "v1.abc/def", &"a".repeat(513)] {
            assert!(parse(bad).1, "{bad:?}");
        }
        assert_eq!(parse(&"a".repeat(512)).1, false);
    }

    #[test]
    fn recovery_codes_are_distinct_and_match_however_typed() {
        let a = new_recovery_code();
        assert_eq!(a.len(), 11);
        assert_ne!(a, new_recovery_code());
        assert_eq!(recovery_hash(&a), recovery_hash(&a.to_uppercase().replace('-', " ")));
        assert_ne!(recovery_hash(&a), recovery_hash(&new_recovery_code()));
    }
}
