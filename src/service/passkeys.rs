//! Passkeys (WebAuthn, with webauthn-rs): registering and removing them, and signing in with
//! one, either as the second step after a password or on its own. A passkey is something the
//! person has, unlocked by the device's own check (PIN, fingerprint: user verification is
//! required), so it counts as the second factor and is enough by itself.
//!
//! Every ceremony is two requests: options (a challenge) and the browser's answer. Its state is
//! kept in the database between them (`webauthn_ceremonies`, or the pending sign-in's row for
//! the second step), single-use and for five minutes, so any replica can take the answer.

use base64::Engine;
use chrono::{DateTime, Duration as ChronoDuration, Utc};
use serde_json::{json, Value};
use uuid::Uuid;
use webauthn_rs::prelude::{
    DiscoverableAuthentication, Passkey, PasskeyAuthentication, PasskeyRegistration, PublicKeyCredential, RegisterPublicKeyCredential, Webauthn,
    WebauthnBuilder,
};

use super::{now, two_factor::SignInStep, Actor, Profile, Raw, RequestMeta, Services, TokenPair};
use crate::{
    auth::{random_token, token_hash},
    config::PasskeySite,
    domain::{AuditAction, OneTimeToken, PasskeyName, PlainPassword, TenantId, UserId},
    store::{CeremonyPurpose, PasskeyRow, Tx},
    FieldErrors, ServiceError, ServiceResult,
};

/// How long the browser has to answer a challenge.
pub const CEREMONY_TTL_MINUTES: i64 = 5;
/// Passkeys one account may hold (each is checked at every sign-in by passkey).
pub const MAX_PASSKEYS: usize = 20;
const BAD_CEREMONY: &str = "This passkey request has expired or was already used; try again.";
const NOT_VERIFIED: &str = "The passkey could not be verified.";
const UNKNOWN_PASSKEY: &str = "This passkey is not registered here.";
const NOT_A_CREDENTIAL: &str = "Must be the credential object the browser returned.";

/// A registered passkey as its owner sees it (the key itself never leaves the store).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasskeyView {
    pub id: Uuid,
    pub name: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
}

/// A challenge for the browser: `ceremony` comes back with its answer; `options` is what
/// `navigator.credentials.create()` / `.get()` take (`{"publicKey": {…}}`, binary fields in
/// base64url).
#[derive(Debug, Clone)]
pub struct PasskeyChallenge {
    pub ceremony: String,
    pub options: Value,
}

/// The relying party built from the configuration, or why passkeys are off.
pub(crate) fn build_relying_party(site: &PasskeySite) -> Result<Webauthn, String> {
    let mut origins = site.origins.iter().map(|o| url::Url::parse(o).map_err(|e| format!("{o}: {e}")));
    let first = origins.next().ok_or("no origin")??;
    let mut builder = WebauthnBuilder::new(&site.rp_id, &first)
        .map_err(|e| format!("{} is not a valid relying party for {first}: {e}", site.rp_id))?
        .rp_name("Tenantry")
        // Tenants' own hosts are subdomains of the site.
        .allow_subdomains(true);
    for origin in origins {
        builder = builder.append_allowed_origin(&origin?);
    }
    builder.build().map_err(|e| e.to_string())
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// The credential object a browser returned, as JSON text (see the adapters).
fn parse_credential<T: serde::de::DeserializeOwned>(raw: &str) -> Result<T, String> {
    serde_json::from_str(raw).map_err(|_| NOT_A_CREDENTIAL.to_owned())
}

fn parse_ceremony(raw: &str) -> Result<String, String> {
    OneTimeToken::parse(raw).map(|t| t.hash()).map_err(|_| BAD_CEREMONY.to_owned())
}

fn internal(what: &str, error: impl std::fmt::Display) -> ServiceError {
    ServiceError::Internal(anyhow::anyhow!("{what}: {error}"))
}

impl From<PasskeyRow> for PasskeyView {
    fn from(row: PasskeyRow) -> Self {
        Self { id: row.id, name: row.name, created_at: row.created_at, last_used_at: row.last_used_at }
    }
}

impl Services {
    fn webauthn(&self) -> ServiceResult<&Webauthn> {
        self.relying_party().map_err(|why: &str| ServiceError::Unavailable(format!("Passkeys are not available on this server ({why}); see WEBAUTHN_RP_ID.")))
    }

    /// The domain passkeys are bound to, or `None` when passkeys are off on this server.
    pub fn passkey_domain(&self) -> Option<&str> {
        self.relying_party().ok().map(|_| self.config().passkeys.rp_id.as_str())
    }

    /// A stored passkey, opened.
    fn open_passkey(row: &PasskeyRow) -> ServiceResult<Passkey> {
        serde_json::from_str(&row.passkey).map_err(|e| internal("a stored passkey does not decode", e))
    }

    /// `GET /api/me/passkeys/`: the caller's passkeys, oldest first.
    pub async fn list_passkeys(&self, actor: &Actor) -> ServiceResult<Vec<PasskeyView>> {
        actor.require_person()?;
        let rows = self.db().read().await?.passkeys_of(actor.user_id).await?;
        Ok(rows.into_iter().map(PasskeyView::from).collect())
    }

    /// `POST /api/me/passkeys/options/`: a challenge to register a new passkey for the caller.
    /// The passkeys they already have are excluded (the device says so instead of making a
    /// second one), and the key is asked to be discoverable, so it can sign in without a
    /// password later.
    #[tracing::instrument(skip_all)]
    pub async fn start_passkey_registration(&self, actor: &Actor) -> ServiceResult<PasskeyChallenge> {
        actor.require_person()?;
        let webauthn = self.webauthn()?;
        let mut tx = self.db().write().await?;
        let existing = tx.passkeys_of(actor.user_id).await?;
        if existing.len() >= MAX_PASSKEYS {
            return Err(ServiceError::conflict_detail(format!("You have {MAX_PASSKEYS} passkeys, the most an account may have; remove one first.")));
        }
        let exclude = existing.iter().map(Self::open_passkey).map(|p| p.map(|p| p.cred_id().clone())).collect::<ServiceResult<Vec<_>>>()?;
        let (options, state) = webauthn
            .start_passkey_registration(actor.user_id.0, &actor.email, &actor.email, Some(exclude))
            .map_err(|e| internal("starting a passkey registration", e))?;
        let mut options = serde_json::to_value(options).map_err(|e| internal("encoding passkey options", e))?;
        if let Some(selection) = options.pointer_mut("/publicKey/authenticatorSelection").and_then(Value::as_object_mut) {
            selection.insert("residentKey".into(), json!("required"));
            selection.insert("requireResidentKey".into(), json!(true));
        }
        let state = serde_json::to_string(&state).map_err(|e| internal("encoding a passkey registration", e))?;
        let ceremony = self.open_ceremony(&mut tx, CeremonyPurpose::Register, Some(actor.user_id), &state).await?;
        tx.commit().await?;
        Ok(PasskeyChallenge { ceremony, options })
    }

    /// `POST /api/me/passkeys/`: the browser's answer to [`Services::start_passkey_registration`]
    /// → the new passkey (named `name`, default "Passkey"). The ceremony is spent whatever the
    /// outcome.
    #[tracing::instrument(skip_all)]
    pub async fn finish_passkey_registration(&self, actor: &Actor, ceremony: Raw, name: Raw, credential: Raw, meta: &RequestMeta) -> ServiceResult<PasskeyView> {
        actor.require_person()?;
        let mut errors = FieldErrors::new();
        let ceremony = ceremony.required(&mut errors, "ceremony", parse_ceremony);
        let name = name.optional(&mut errors, "name", PasskeyName::parse);
        let credential = credential.required(&mut errors, "credential", parse_credential::<RegisterPublicKeyCredential>);
        errors.into_result()?;
        let (ceremony, credential) = (ceremony.unwrap(), credential.unwrap());
        let name = name.flatten().unwrap_or_default();
        let webauthn = self.webauthn()?;
        let at = now();
        let mut tx = self.db().write().await?;
        let state = match tx.take_ceremony(&ceremony, CeremonyPurpose::Register, at).await? {
            Some(taken) if taken.user_id == Some(actor.user_id) => taken.state,
            _ => return Err(ServiceError::field("ceremony", BAD_CEREMONY)),
        };
        tx.commit().await?;
        let state: PasskeyRegistration = serde_json::from_str(&state).map_err(|e| internal("a stored passkey registration does not decode", e))?;
        let passkey = webauthn.finish_passkey_registration(&credential, &state).map_err(|e| {
            tracing::info!(error = %e, "a passkey registration was refused");
            ServiceError::field("credential", NOT_VERIFIED)
        })?;
        let row = PasskeyRow {
            id: Uuid::new_v4(),
            user_id: actor.user_id,
            name: name.as_str().to_owned(),
            credential_id: b64(passkey.cred_id()),
            passkey: serde_json::to_string(&passkey).map_err(|e| internal("encoding a passkey", e))?,
            created_at: at,
            last_used_at: None,
        };
        let mut tx = self.db().write().await?;
        if tx.passkeys_of(actor.user_id).await?.len() >= MAX_PASSKEYS {
            return Err(ServiceError::conflict_detail(format!("You have {MAX_PASSKEYS} passkeys, the most an account may have; remove one first.")));
        }
        if !tx.insert_passkey(&row).await? {
            return Err(ServiceError::conflict_detail("This passkey is already registered."));
        }
        self.audit_everywhere(&mut tx, actor.user_id, &actor.email, meta, AuditAction::PasskeyAdded, json!({"passkey_id": row.id, "name": row.name})).await?;
        tx.commit().await?;
        Ok(row.into())
    }

    /// `DELETE /api/me/passkeys/{id}/`: needs the account's password, as removing TOTP does
    /// (a session left open on a shared computer must not be enough to take a factor away).
    #[tracing::instrument(skip_all)]
    pub async fn remove_passkey(&self, actor: &Actor, id: &str, password: Raw, meta: &RequestMeta) -> ServiceResult<()> {
        actor.require_person()?;
        let id = Uuid::parse_str(id.trim()).map_err(|_| ServiceError::NotFound)?;
        let mut errors = FieldErrors::new();
        let password = password.required(&mut errors, "password", PlainPassword::parse);
        errors.into_result()?;
        let user = self.db().read().await?.user(actor.user_id).await?.ok_or(ServiceError::NotFound)?;
        if !self.check_password(&user.email, Some(&user), password.unwrap().expose(), meta, AuditAction::TwoFactorRemovalFailed, json!({"method": "passkey"})).await? {
            return Err(ServiceError::field("password", "Your password is not correct."));
        }
        let mut tx = self.db().write().await?;
        let name = tx.delete_passkey(user.id, id).await?.ok_or(ServiceError::NotFound)?;
        self.audit_everywhere(&mut tx, user.id, &user.email, meta, AuditAction::PasskeyRemoved, json!({"passkey_id": id, "name": name})).await?;
        tx.commit().await?;
        Ok(())
    }

    /// `POST /api/auth/passkey/options/`: a challenge to sign in with a passkey, no e-mail
    /// asked: the device offers the passkeys it holds for this site. Counted against the
    /// client's sign-in attempts.
    #[tracing::instrument(skip_all)]
    pub async fn start_passkey_sign_in(&self, meta: &RequestMeta) -> ServiceResult<PasskeyChallenge> {
        self.limits().client_attempt(meta.ip).await?;
        let webauthn = self.webauthn()?;
        let (options, state) = webauthn.start_discoverable_authentication().map_err(|e| internal("starting a passkey sign-in", e))?;
        let mut options = serde_json::to_value(options).map_err(|e| internal("encoding passkey options", e))?;
        // The library asks for the autofill ("conditional") form; the pages ask with a button.
        if let Some(options) = options.as_object_mut() {
            options.remove("mediation");
        }
        let state = serde_json::to_string(&state).map_err(|e| internal("encoding a passkey sign-in", e))?;
        let mut tx = self.db().write().await?;
        let ceremony = self.open_ceremony(&mut tx, CeremonyPurpose::SignIn, None, &state).await?;
        tx.commit().await?;
        Ok(PasskeyChallenge { ceremony, options })
    }

    /// `POST /api/auth/passkey/` and the sign-in page's passkey button: the browser's answer
    /// to [`Services::start_passkey_sign_in`]. Signs in as the passkey's owner, in `tenant`
    /// (the host's) or their oldest open tenant, with the same network rule as a password
    /// sign-in; no second step follows (the passkey is both factors).
    #[tracing::instrument(skip_all)]
    pub async fn passkey_sign_in(&self, ceremony: Raw, credential: Raw, tenant: Option<TenantId>, meta: &RequestMeta, with_tokens: bool) -> ServiceResult<(Profile, Option<TokenPair>)> {
        let done = self.passkey_sign_in_inner(ceremony, credential, tenant, meta, with_tokens).await;
        super::auth::count_login(done.is_ok());
        done
    }

    async fn passkey_sign_in_inner(&self, ceremony: Raw, credential: Raw, tenant: Option<TenantId>, meta: &RequestMeta, with_tokens: bool) -> ServiceResult<(Profile, Option<TokenPair>)> {
        self.limits().client_attempt(meta.ip).await?;
        let mut errors = FieldErrors::new();
        let ceremony = ceremony.required(&mut errors, "ceremony", parse_ceremony);
        let credential = credential.required(&mut errors, "credential", parse_credential::<PublicKeyCredential>);
        errors.into_result()?;
        let (ceremony, credential) = (ceremony.unwrap(), credential.unwrap());
        let webauthn = self.webauthn()?;
        let at = now();
        let mut tx = self.db().write().await?;
        let Some(taken) = tx.take_ceremony(&ceremony, CeremonyPurpose::SignIn, at).await? else {
            return Err(ServiceError::field("ceremony", BAD_CEREMONY));
        };
        tx.commit().await?;
        let state: DiscoverableAuthentication = serde_json::from_str(&taken.state).map_err(|e| internal("a stored passkey sign-in does not decode", e))?;
        let refused = || ServiceError::unauthenticated(UNKNOWN_PASSKEY);
        let (owner, credential_id) = webauthn.identify_discoverable_authentication(&credential).map_err(|_| refused())?;
        let mut tx = self.db().write().await?;
        let row = tx.passkey_by_credential(&b64(credential_id)).await?.filter(|row| row.user_id.0 == owner).ok_or_else(refused)?;
        let mut passkey = Self::open_passkey(&row)?;
        let result = webauthn.finish_discoverable_authentication_v2(&credential, state, &passkey).map_err(|e| {
            tracing::info!(error = %e, "a passkey sign-in was refused");
            ServiceError::unauthenticated(NOT_VERIFIED)
        })?;
        passkey.update_credential(&result);
        let stored = serde_json::to_string(&passkey).map_err(|e| internal("encoding a passkey", e))?;
        tx.record_passkey_use(row.id, &stored, at).await?;
        let standing = tx.sign_in_standing_of(row.user_id, tenant).await?.filter(|s| s.found.user.is_active).ok_or_else(refused)?;
        let (tenant, found) = self.landing_for(&mut tx, standing, tenant, meta).await?;
        match self.land(Some(tx), tenant, found, meta, with_tokens, Some(json!({"method": "passkey", "passkey_id": row.id}))).await? {
            SignInStep::Done(profile, pair) => Ok((profile, pair)),
            SignInStep::SecondFactor(_) => unreachable!("a passkey sign-in owes no second factor"),
        }
    }

    /// The second step of a pending sign-in, by passkey: a challenge listing the account's
    /// passkeys (`POST /api/auth/login/mfa/webauthn/`). Asking again replaces the challenge.
    #[tracing::instrument(skip_all)]
    pub async fn passkey_second_factor_options(&self, mfa_token: Raw, meta: &RequestMeta) -> ServiceResult<Value> {
        self.limits().client_attempt(meta.ip).await?;
        let mut errors = FieldErrors::new();
        let token = super::two_factor::parse_mfa_token(&mfa_token, &mut errors);
        errors.into_result()?;
        let at = now();
        let (step, hash) = self.pending_step(&token.unwrap(), at)?;
        let webauthn = self.webauthn()?;
        let mut tx = self.db().write().await?;
        // A step nobody answered yet has no row; one answered must have been handed back.
        if tx.mfa_challenge(&hash).await?.is_some_and(|answered| !answered.is_live(at, super::two_factor::MFA_MAX_ATTEMPTS)) {
            return Err(ServiceError::unauthenticated(super::two_factor::BAD_MFA_TOKEN));
        }
        let passkeys = tx.passkeys_of(step.user).await?.iter().map(Self::open_passkey).collect::<ServiceResult<Vec<_>>>()?;
        if passkeys.is_empty() {
            return Err(ServiceError::field("mfa_token", "This account has no passkey; use a code."));
        }
        let (options, state) = webauthn.start_passkey_authentication(&passkeys).map_err(|e| internal("starting a passkey check", e))?;
        let state = serde_json::to_string(&state).map_err(|e| internal("encoding a passkey check", e))?;
        tx.set_mfa_webauthn_state(&hash, (step.user, step.tenant, step.expires_at), &state, at).await?;
        tx.commit().await?;
        serde_json::to_value(options).map_err(|e| internal("encoding passkey options", e))
    }

    /// Checks a passkey answer for the pending sign-in `challenge` of `user`: `Ok(false)` when
    /// it is not a valid answer (it then counts as a wrong code). The passkey's counter and
    /// last use are recorded in `tx`.
    pub(super) async fn verify_passkey_factor(&self, tx: &mut Tx, hash: &str, user: UserId, credential: &PublicKeyCredential) -> ServiceResult<bool> {
        let webauthn = self.webauthn()?;
        let Some(state) = tx.mfa_webauthn_state(hash).await? else {
            return Err(ServiceError::field("webauthn", "Ask for a passkey challenge first."));
        };
        let state: PasskeyAuthentication = serde_json::from_str(&state).map_err(|e| internal("a stored passkey check does not decode", e))?;
        let Some(row) = tx.passkey_by_credential(&b64(credential.get_credential_id())).await?.filter(|row| row.user_id == user) else {
            return Ok(false);
        };
        let mut passkey = Self::open_passkey(&row)?;
        let Ok(result) = webauthn.finish_passkey_authentication(credential, &state) else {
            return Ok(false);
        };
        passkey.update_credential(&result);
        let stored = serde_json::to_string(&passkey).map_err(|e| internal("encoding a passkey", e))?;
        tx.record_passkey_use(row.id, &stored, now()).await?;
        Ok(true)
    }

    async fn open_ceremony(&self, tx: &mut Tx, purpose: CeremonyPurpose, user: Option<UserId>, state: &str) -> ServiceResult<String> {
        let token = random_token();
        let at = now();
        tx.insert_ceremony(&token_hash(&token), purpose, user, state, at + ChronoDuration::minutes(CEREMONY_TTL_MINUTES), at).await?;
        Ok(token)
    }
}

/// The credential in a `webauthn` field of the second step.
pub(super) fn parse_assertion(raw: &str) -> Result<PublicKeyCredential, String> {
    parse_credential(raw)
}
