//! Logging in, token pairs (access + rotating refresh), logging out, and resolving the caller
//! of a request from an access token or a browser session.

use crate::domain::TenantStatus;
use chrono::Duration as ChronoDuration;
use serde_json::json;
use uuid::Uuid;

use super::{two_factor::SignInStep, now, Actor, Audit, Profile, Raw, RequestMeta, Services};
use crate::{
    auth::{Claims, TokenKind},
    domain::{AuditAction, Email, PlainPassword, SecurityPolicy, TenantId, UserId},
    store::{Member, NewRefreshToken, Tx, User, Reader},
    FieldErrors, ServiceError, ServiceResult,
};

#[derive(Debug, Clone, Default)]
pub struct LoginInput {
    pub email: Raw,
    pub password: Raw,
    /// The tenant whose own host the sign-in came to: it lands there, and only its members may.
    pub tenant: Option<TenantId>,
}

#[derive(Debug, Clone)]
pub struct TokenPair {
    pub access: String,
    pub refresh: String,
}

/// Where a password sign-in lands, as far as the statement read before the hash tells.
#[derive(Debug)]
enum Landing {
    /// The tenant (`None`: outside any) and the account's standing there.
    Settled(Option<TenantId>, Box<crate::store::UserInTenant>),
    /// The account has several active tenants and the oldest refuses this client's network:
    /// the others are read ([`Services::open_landing`]).
    Open(User),
}

/// The tenant a sign-in lands in, from its [`crate::store::SignInStanding`]: the one asked for
/// if the account is an active member there (or a superuser), else the oldest active
/// membership, unless its network rule refuses the client and there are others to try. The
/// one place these rules live, for password and passkey sign-ins alike.
fn settled_landing(standing: crate::store::SignInStanding, wanted: Option<TenantId>, meta: &RequestMeta) -> ServiceResult<Landing> {
    let found = standing.found;
    let superuser = found.user.is_superuser;
    if wanted.is_some() {
        let active_member = found.is_member && found.tenant_status.is_some_and(TenantStatus::is_active);
        if !superuser && !active_member {
            return Err(ServiceError::forbidden(NOT_A_MEMBER_HERE));
        }
        return Ok(Landing::Settled(wanted, Box::new(found)));
    }
    if standing.landing.is_none() && standing.has_tenants && !superuser {
        return Err(ServiceError::unauthenticated(SUSPENDED));
    }
    if standing.active_tenants > 1 && !found.security_policy.as_deref().map(crate::store::decode_policy).is_none_or(|policy| policy.allows(meta.ip)) {
        return Ok(Landing::Open(found.user));
    }
    Ok(Landing::Settled(standing.landing, Box::new(found)))
}

/// The Django service's (simplejwt's) wording; clients show it.
const BAD_CREDENTIALS: &str = "No active account found with the given credentials";
const BAD_TOKEN: &str = "Token is invalid or expired";
const NOT_A_MEMBER_HERE: &str = "This account is not a member of this organisation. Sign in on the main site, or ask its administrators for an invitation.";
const SUSPENDED: &str = "Your organisation's account is suspended.";
const SECOND_STEP_OWED: &str = "This account signs in with a second factor: use the sign-in step that asks for the code.";
pub(crate) const SESSION_EXPIRED: &str = "Your session ended after a period of inactivity; sign in again.";

impl Services {
    /// Checks e-mail and password and picks the tenant to act in (the oldest membership).
    /// Unknown accounts cost the same argon2 verification as known ones.
    #[tracing::instrument(skip_all)]
    pub async fn authenticate(&self, input: LoginInput, meta: &RequestMeta) -> ServiceResult<Profile> {
        match self.sign_in(input, meta, false).await? {
            SignInStep::Done(profile, _) => Ok(profile),
            SignInStep::SecondFactor(_) => Err(ServiceError::forbidden(SECOND_STEP_OWED)),
        }
    }

    /// An access/refresh pair for an account without a second factor (tests, scripts); the
    /// API's login answers with [`Services::sign_in`] so a second step can follow.
    pub async fn login(&self, input: LoginInput, meta: &RequestMeta) -> ServiceResult<(TokenPair, Profile)> {
        match self.sign_in(input, meta, true).await? {
            SignInStep::Done(profile, pair) => Ok((pair.expect("tokens were asked for"), profile)),
            SignInStep::SecondFactor(_) => Err(ServiceError::forbidden(SECOND_STEP_OWED)),
        }
    }

    /// `POST /api/auth/login/` and the sign-in page: checks the password and picks the tenant;
    /// then either signs in (issuing an access/refresh pair when `with_tokens`, recorded in the
    /// same transaction as the login's audit row) or, for an account with a second factor,
    /// answers with the `mfa_token` that [`Services::complete_sign_in`] takes.
    pub async fn sign_in(&self, input: LoginInput, meta: &RequestMeta, with_tokens: bool) -> ServiceResult<SignInStep> {
        let step = self.first_step(input, meta, with_tokens).await;
        match &step {
            Ok(SignInStep::Done(..)) => count_login(true),
            Ok(SignInStep::SecondFactor(_)) => {}
            Err(_) => count_login(false),
        }
        step
    }

    async fn first_step(&self, input: LoginInput, meta: &RequestMeta, with_tokens: bool) -> ServiceResult<SignInStep> {
        self.limits().client_attempt(meta.ip).await?;
        let mut errors = FieldErrors::new();
        // A malformed e-mail cannot match an account; treat it as bad credentials, not as a
        // field error, so the answer does not depend on its shape.
        let email = input.email.required(&mut errors, "email", |raw| {
            if raw.trim().is_empty() { Err(crate::domain::BLANK.to_owned()) } else { Ok(Email::parse(raw).ok()) }
        });
        let password = input.password.required(&mut errors, "password", PlainPassword::parse);
        errors.into_result()?;
        let (email, password) = (email.flatten(), password.unwrap());

        let account_key = email.as_ref().map(|e| e.as_str().to_owned()).unwrap_or_default();
        // The account and where it would land, in one statement before the hash (whether or
        // not the address is known): the common sign-in then needs no further read.
        let mut tx = self.db().read().await?;
        let standing = match &email {
            Some(email) => tx.sign_in_standing(email, input.tenant).await?,
            None => None,
        };
        drop(tx);
        let user = standing.as_ref().map(|s| &s.found.user);
        let verified = self.check_password(&account_key, user, password.expose(), meta, AuditAction::LoginFailed, json!({})).await?;
        let standing = match standing {
            Some(standing) if verified && standing.found.user.is_active => standing,
            _ => return Err(ServiceError::unauthenticated(BAD_CREDENTIALS)),
        };
        let (tenant, found) = match settled_landing(standing, input.tenant, meta)? {
            Landing::Settled(tenant, found) => (tenant, *found),
            // Several active tenants and the oldest refuses this network: try the others.
            Landing::Open(user) => self.open_landing(&mut self.db().read().await?, &user, meta).await?,
        };
        self.land(None, tenant, found, meta, with_tokens, None).await
    }

    /// The tenant a sign-in lands in by the rules of [`settled_landing`], and the account's
    /// standing there: from `standing` alone unless the account's other tenants must be tried.
    pub(super) async fn landing_for(&self, tx: &mut Reader, standing: crate::store::SignInStanding, wanted: Option<TenantId>, meta: &RequestMeta) -> ServiceResult<(Option<TenantId>, crate::store::UserInTenant)> {
        match settled_landing(standing, wanted, meta)? {
            Landing::Settled(tenant, found) => Ok((tenant, *found)),
            Landing::Open(user) => self.open_landing(tx, &user, meta).await,
        }
    }

    /// The sign-in of an account with several active tenants, the oldest of which refuses this
    /// client's network: the oldest active one whose rule lets it in, else the oldest (whose
    /// rule then answers 403 `ip_not_allowed`).
    async fn open_landing(&self, tx: &mut Reader, user: &User, meta: &RequestMeta) -> ServiceResult<(Option<TenantId>, crate::store::UserInTenant)> {
        let active: Vec<TenantId> = tx.tenants_of_user(user.id).await?.iter().filter(|t| t.status.is_active()).map(|t| t.id).collect();
        let mut tenant = active.first().copied();
        for candidate in &active {
            if tx.security_policy(*candidate).await?.allows(meta.ip) {
                tenant = Some(*candidate);
                break;
            }
        }
        let found = tx.user_in_tenant(user.id, tenant).await?.ok_or_else(|| ServiceError::unauthenticated(BAD_CREDENTIALS))?;
        Ok((tenant, found))
    }

    /// Where a sign-in goes once the account proved who it is (a password, or a passkey when
    /// `passkey_details` says which) and its tenant is picked (`found`: its standing there):
    /// applies the tenant's network rule, then asks for the second factor (after a password,
    /// when the account has one: nothing is written for that) or signs in, audited and with
    /// tokens when asked, in `tx` (the passkey sign-in's own), else in a transaction opened here.
    pub(super) async fn land(&self, tx: Option<Tx>, tenant: Option<TenantId>, found: crate::store::UserInTenant, meta: &RequestMeta, with_tokens: bool, passkey_details: Option<serde_json::Value>) -> ServiceResult<SignInStep> {
        let factors = (found.has_totp, found.has_passkey);
        let (member, policy) = member_with_policy(found, tenant).ok_or_else(|| ServiceError::unauthenticated(BAD_CREDENTIALS))?;
        super::security_policy::check_network(policy.as_ref(), meta.ip)?;
        let user = &member.user;
        if passkey_details.is_none() {
            if let Some(pending) = self.second_factor_owed(user.id, tenant, factors) {
                return Ok(SignInStep::SecondFactor(pending));
            }
        }
        let mut tx = match tx {
            Some(tx) => tx,
            None => self.db().write().await?,
        };
        Audit { meta, actor: Some((&user.id, &user.email)), key: None }
            .write(&mut tx, tenant, AuditAction::LoginSucceeded, "user", Some(user.id.to_string()), passkey_details.unwrap_or_else(|| json!({})))
            .await?;
        let pair = match with_tokens {
            true => Some(self.issue_tokens_under(&mut tx, user, tenant, Uuid::new_v4(), policy.as_ref()).await?),
            false => None,
        };
        tx.commit().await?;
        Ok(SignInStep::Done(self.profile_of(member), pair))
    }

    /// Every check of an account's password, whatever path makes it (sign-in, accepting an
    /// invitation as an existing account, and later password change and 2FA), goes through
    /// here: it counts against the account's limit (`account_key`, its normalised e-mail,
    /// with the client's address), costs one argon2 verification whether or not the account
    /// exists, and a failure against a real account is written to the audit trail of every
    /// tenant the account belongs to (as `failure_action`), after the answer is sent, so a
    /// wrong password for a known account is not slower to refuse than an unknown account.
    pub(crate) async fn check_password(
        &self,
        account_key: &str,
        user: Option<&User>,
        password: &str,
        meta: &RequestMeta,
        failure_action: AuditAction,
        details: serde_json::Value,
    ) -> ServiceResult<bool> {
        if let Some(delay) = self.limits().password_check(account_key, meta.ip).await? {
            tokio::time::sleep(delay).await;
        }
        let verified = self.hasher().verify(password, user.map(|u| u.password_hash.as_str())).await;
        if let Some(user) = user.filter(|u| !verified || !u.is_active) {
            let (services, user, meta) = (self.clone(), user.clone(), meta.clone());
            self.in_background("audit of a failed password check", async move {
                let mut tx = services.db().write().await?;
                let audit = Audit { meta: &meta, actor: Some((&user.id, &user.email)), key: None };
                let tenants = tx.tenants_of_user(user.id).await?;
                if tenants.is_empty() {
                    audit.write(&mut tx, None, failure_action.clone(), "user", Some(user.id.to_string()), details.clone()).await?;
                }
                for tenant in tenants {
                    audit.write(&mut tx, Some(tenant.id), failure_action.clone(), "user", Some(user.id.to_string()), details.clone()).await?;
                }
                tx.commit().await?;
                Ok(())
            });
        }
        Ok(verified && user.is_some_and(|u| u.is_active))
    }

    /// Signs a new pair and records the refresh token's `jti` in `family` (one family per login).
    pub(crate) async fn issue_tokens(&self, user: &User, tenant: Option<TenantId>, family: Uuid) -> ServiceResult<TokenPair> {
        let mut tx = self.db().write().await?;
        let pair = self.issue_tokens_in(&mut tx, user, tenant, family).await?;
        tx.commit().await?;
        Ok(pair)
    }

    pub(crate) async fn issue_tokens_in(&self, tx: &mut Tx, user: &User, tenant: Option<TenantId>, family: Uuid) -> ServiceResult<TokenPair> {
        let policy = match tenant {
            Some(tenant) => Some(tx.security_policy(tenant).await?),
            None => None,
        };
        self.issue_tokens_under(tx, user, tenant, family, policy.as_ref()).await
    }

    /// [`Services::issue_tokens_in`] for a caller that has just read the tenant's security
    /// policy (`None`: the defaults, or no tenant), which a sign-in has.
    pub(crate) async fn issue_tokens_under(&self, tx: &mut Tx, user: &User, tenant: Option<TenantId>, family: Uuid, policy: Option<&SecurityPolicy>) -> ServiceResult<TokenPair> {
        let (pair, record) = self.sign_pair(user, tenant, family, policy)?;
        tx.insert_refresh_token(&record).await?;
        Ok(pair)
    }

    /// A new pair for `user` acting in `tenant` under its `policy`, and the refresh token's
    /// record in `family`, which the caller writes with the sign-in it completes.
    pub(crate) fn sign_pair(&self, user: &User, tenant: Option<TenantId>, family: Uuid, policy: Option<&SecurityPolicy>) -> ServiceResult<(TokenPair, NewRefreshToken)> {
        let at = now();
        let config = self.config();
        let (id, ver, tenant_uuid) = (user.id.0, user.auth_version, tenant.map(|t| t.0));
        // An access token never outlives the tenant's idle timeout.
        let access_ttl = match policy.and_then(|p| p.session_timeout_minutes) {
            Some(minutes) => config.access_token_ttl.min(std::time::Duration::from_secs(u64::from(minutes) * 60)),
            None => config.access_token_ttl,
        };
        let access = Claims::new(TokenKind::Access, id, tenant_uuid, ver, at, access_ttl);
        let refresh = Claims::new(TokenKind::Refresh, id, tenant_uuid, ver, at, config.refresh_token_ttl);
        let expires_at = at + ChronoDuration::seconds(config.refresh_token_ttl.as_secs() as i64);
        let record = NewRefreshToken { jti: refresh.jti, family_id: family, user_id: user.id, tenant_id: tenant, expires_at, created_at: at };
        Ok((TokenPair { access: self.jwt().sign(&access)?, refresh: self.jwt().sign(&refresh)? }, record))
    }

    /// `POST /api/auth/refresh/`: trades a live refresh token for a new pair. A refresh token
    /// that was already used is a sign of theft: the whole family is revoked.
    #[tracing::instrument(skip_all)]
    pub async fn refresh(&self, token: Raw, meta: &RequestMeta) -> ServiceResult<TokenPair> {
        let mut errors = FieldErrors::new();
        let token = token.required(&mut errors, "refresh", |raw| Ok(raw.to_owned()));
        errors.into_result()?;
        let claims = self.jwt().verify(&token.unwrap(), TokenKind::Refresh).ok_or_else(|| ServiceError::unauthenticated(BAD_TOKEN))?;
        let mut tx = self.db().write().await?;
        let record = tx.refresh_token(claims.jti).await?.ok_or_else(|| ServiceError::unauthenticated(BAD_TOKEN))?;
        let at = now();
        if !tx.consume_refresh_token(record.jti, at).await? {
            if record.used_at.is_some() {
                tracing::warn!(family = %record.family_id, "refresh token reused; revoking its family");
                tx.revoke_refresh_family(record.family_id, at).await?;
                tx.commit().await?;
            }
            return Err(ServiceError::unauthenticated(BAD_TOKEN));
        }
        // The account or membership may have changed since the token was issued.
        let tenant = record.tenant_id;
        let (member, policy) = match load_member_with_policy(&mut tx, record.user_id, tenant).await? {
            Some((member, policy)) if member.user.auth_version == claims.ver => (member, policy),
            _ => return Err(ServiceError::unauthenticated(BAD_TOKEN)),
        };
        super::security_policy::check_network(policy.as_ref(), meta.ip)?;
        // Idle for longer than the tenant allows: the session is over, and stays over.
        if let Some(minutes) = policy.as_ref().and_then(|p| p.session_timeout_minutes) {
            if at - record.created_at > ChronoDuration::minutes(i64::from(minutes)) {
                tx.revoke_refresh_family(record.family_id, at).await?;
                tx.commit().await?;
                return Err(ServiceError::Refused { reason: crate::Refusal::SessionExpired, detail: SESSION_EXPIRED.into() });
            }
        }
        let pair = self.issue_tokens_under(&mut tx, &member.user, tenant, record.family_id, policy.as_ref()).await?;
        tx.commit().await?;
        Ok(pair)
    }

    /// `POST /api/auth/logout/`: revokes the refresh token (and its family).
    #[tracing::instrument(skip_all)]
    pub async fn logout(&self, token: Raw) -> ServiceResult<()> {
        let mut errors = FieldErrors::new();
        let token = token.required(&mut errors, "refresh", |raw| Ok(raw.to_owned()));
        errors.into_result()?;
        let claims = self.jwt().verify(&token.unwrap(), TokenKind::Refresh).ok_or_else(|| ServiceError::unauthenticated(BAD_TOKEN))?;
        let mut tx = self.db().write().await?;
        let record = tx.refresh_token(claims.jti).await?.ok_or_else(|| ServiceError::unauthenticated(BAD_TOKEN))?;
        tx.revoke_refresh_family(record.family_id, now()).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The caller behind a bearer access token, for a request from `meta.ip` (the tenant's
    /// network rule applies). Refresh tokens are refused.
    #[tracing::instrument(skip_all)]
    pub async fn actor_from_access_token(&self, token: &str, meta: &RequestMeta) -> ServiceResult<Actor> {
        let claims = self
            .jwt()
            .verify(token, TokenKind::Access)
            .ok_or_else(|| ServiceError::unauthenticated("Given token not valid for any token type"))?;
        self.actor_for_request(UserId(claims.user_id), claims.tenant_id.map(TenantId), meta)
            .await?
            .filter(|actor| actor.user.auth_version == claims.ver)
            .ok_or_else(|| ServiceError::unauthenticated("User not found or no longer a member of this tenant."))
    }

    /// The caller for a user acting in a tenant (browser sessions store exactly these two),
    /// or `None` when the account is gone or inactive, or no longer a member there. No network
    /// rule: for work that is not a request (jobs, the CLI, tests).
    #[tracing::instrument(skip_all)]
    pub async fn actor_for(&self, user: UserId, tenant: Option<TenantId>) -> ServiceResult<Option<Actor>> {
        let mut tx = self.db().read().await?;
        Ok(load_actor(&mut tx, user, tenant).await?)
    }

    /// [`Services::actor_for`] for a request from `meta.ip`: 403 `ip_not_allowed` when the
    /// tenant's policy does not allow that network.
    #[tracing::instrument(skip_all)]
    pub async fn actor_for_request(&self, user: UserId, tenant: Option<TenantId>, meta: &RequestMeta) -> ServiceResult<Option<Actor>> {
        let Some(actor) = self.actor_for(user, tenant).await? else { return Ok(None) };
        let actor = Actor { client_ip: meta.ip, ..actor };
        actor.check_network()?;
        Ok(Some(actor))
    }
}

/// [`load_member`] as the caller of a request, with its tenant's security policy.
pub(crate) async fn load_actor(tx: &mut Reader, user: UserId, tenant: Option<TenantId>) -> ServiceResult<Option<Actor>> {
    let Some(found) = tx.user_in_tenant(user, tenant).await? else { return Ok(None) };
    let (policy, has_second_factor) = (found.security_policy.clone(), found.has_second_factor());
    let Some(member) = member_of(found, tenant) else { return Ok(None) };
    Ok(Some(Actor { security: policy.as_deref().map(crate::store::decode_policy), has_second_factor, ..Actor::from(member) }))
}

/// The active account `user` as seen from `tenant` (with its roles there). `None` when the
/// account is missing or inactive, or is not a member of `tenant`, or the tenant is suspended
/// (superusers need neither membership nor an active tenant; `tenant = None` means "outside
/// any tenant").
pub(crate) async fn load_member(tx: &mut Reader, user: UserId, tenant: Option<TenantId>) -> ServiceResult<Option<Member>> {
    Ok(load_member_with_policy(tx, user, tenant).await?.map(|(member, _)| member))
}

/// [`load_member`] and the tenant's security policy (`None`: the defaults), from the same query.
pub(crate) async fn load_member_with_policy(tx: &mut Reader, user: UserId, tenant: Option<TenantId>) -> ServiceResult<Option<(Member, Option<SecurityPolicy>)>> {
    let Some(found) = tx.user_in_tenant(user, tenant).await? else { return Ok(None) };
    Ok(member_with_policy(found, tenant))
}

/// The member a [`crate::store::UserInTenant`] row describes, if it may act there, and the
/// tenant's security policy.
pub(crate) fn member_with_policy(found: crate::store::UserInTenant, tenant: Option<TenantId>) -> Option<(Member, Option<SecurityPolicy>)> {
    let policy = found.security_policy.as_deref().map(crate::store::decode_policy);
    member_of(found, tenant).map(|member| (member, policy))
}

/// The member a [`crate::store::UserInTenant`] row describes, if it may act there.
fn member_of(found: crate::store::UserInTenant, tenant: Option<TenantId>) -> Option<Member> {
    let account = found.user;
    if !account.is_active {
        return None;
    }
    let (roles, grants) = match tenant {
        Some(_) => {
            let usable = found.is_member && found.tenant_status.is_some_and(TenantStatus::is_active);
            if !usable && !(account.is_superuser && found.tenant_status.is_some()) {
                return None;
            }
            (crate::store::split_roles(found.roles.as_deref()), crate::domain::grants_from_text(found.grants.as_deref().unwrap_or("")))
        }
        None => (Vec::new(), Vec::new()),
    };
    Some(Member { user: account, tenant_id: tenant, roles, grants })
}

/// Counts a sign-in's outcome for `GET /metrics` (a sign-in waiting for its second factor
/// counts when that step ends).
pub(crate) fn count_login(succeeded: bool) {
    metrics::counter!("tenantry_logins_total", "outcome" => if succeeded { "success" } else { "failure" }).increment(1);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{domain::TenantStatus, store::{SignInStanding, UserInTenant}};

    fn standing(landing: Option<TenantId>, active_tenants: i64, superuser: bool, policy: Option<&str>) -> SignInStanding {
        let user = User {
            id: UserId(Uuid::new_v4()),
            email: "ada@acme.test".into(),
            password_hash: String::new(),
            first_name: String::new(),
            last_name: String::new(),
            is_superuser: superuser,
            is_active: true,
            timezone: None,
            auth_version: 0,
            platform_role: None,
            created_at: chrono::Utc::now(),
        };
        let found = UserInTenant {
            user,
            is_member: landing.is_some(),
            tenant_status: landing.map(|_| TenantStatus::Active),
            roles: None,
            grants: None,
            security_policy: policy.map(str::to_owned),
            has_totp: false,
            has_passkey: false,
        };
        SignInStanding { found, landing, active_tenants, has_tenants: true }
    }

    fn from(ip: &str) -> RequestMeta {
        RequestMeta { ip: Some(ip.parse().unwrap()), user_agent: None }
    }

    const OFFICE_ONLY: &str = r#"{"allowed_ip_ranges": ["10.0.0.0/8"]}"#;

    fn settled(landing: Result<Landing, ServiceError>) -> Option<TenantId> {
        match landing {
            Ok(Landing::Settled(tenant, _)) => tenant,
            Ok(Landing::Open(_)) => panic!("open, not settled"),
            Err(error) => panic!("{error:?}"),
        }
    }

    #[test]
    fn a_sign_in_settles_on_its_oldest_active_tenant_unless_that_refuses_the_network_and_others_remain() {
        let acme = Some(TenantId(Uuid::new_v4()));
        assert_eq!(settled(settled_landing(standing(acme, 1, false, None), None, &from("192.0.2.1"))), acme);
        // Its only active tenant is the answer, whatever its rule says (which then refuses).
        assert_eq!(settled(settled_landing(standing(acme, 1, false, Some(OFFICE_ONLY)), None, &from("192.0.2.1"))), acme);
        assert_eq!(settled(settled_landing(standing(acme, 2, false, Some(OFFICE_ONLY)), None, &from("10.1.2.3"))), acme);
        assert!(matches!(settled_landing(standing(acme, 2, false, Some(OFFICE_ONLY)), None, &from("192.0.2.1")), Ok(Landing::Open(_))));
    }

    #[test]
    fn a_sign_in_without_an_active_tenant_is_refused_unless_it_has_none_at_all_or_is_a_superuser() {
        let suspended = settled_landing(standing(None, 0, false, None), None, &from("192.0.2.1"));
        assert!(matches!(&suspended, Err(ServiceError::Unauthenticated(m)) if m.contains("suspended")), "{suspended:?}");
        let mut loner = standing(None, 0, false, None);
        loner.has_tenants = false;
        assert_eq!(settled(settled_landing(loner, None, &from("192.0.2.1"))), None);
        assert_eq!(settled(settled_landing(standing(None, 0, true, None), None, &from("192.0.2.1"))), None);
    }

    #[test]
    fn a_sign_in_on_a_tenants_host_lands_there_for_its_active_members_and_superusers_only() {
        let acme = TenantId(Uuid::new_v4());
        assert_eq!(settled(settled_landing(standing(Some(acme), 1, false, None), Some(acme), &from("192.0.2.1"))), Some(acme));
        let mut stranger = standing(Some(acme), 1, false, None);
        stranger.found.is_member = false;
        assert!(matches!(settled_landing(stranger, Some(acme), &from("192.0.2.1")), Err(ServiceError::Forbidden(_))));
        let mut suspended = standing(Some(acme), 0, false, None);
        suspended.found.tenant_status = Some(TenantStatus::Suspended);
        assert!(matches!(settled_landing(suspended, Some(acme), &from("192.0.2.1")), Err(ServiceError::Forbidden(_))));
        let mut root = standing(Some(acme), 0, true, None);
        root.found.is_member = false;
        assert_eq!(settled(settled_landing(root, Some(acme), &from("192.0.2.1"))), Some(acme));
    }
}
