//! Invitations: an admin invites an e-mail address with a role; the invitee follows the link
//! and joins (creating an account, or confirming the one they have). Tokens are shown once,
//! stored hashed, and redeemed by one conditional update.

use chrono::{DateTime, Duration as ChronoDuration, Utc};
use serde_json::json;
use uuid::Uuid;

use super::{auth::load_member, now, Actor, Audit, Profile, Raw, RequestMeta, Services};
use crate::{
    auth::random_token,
    domain::{AuditAction, Email, NewPassword, OneTimeToken, Permission, PersonName, PlainPassword, Role, RoleName, TenantId, UserId},
    error::is_unique_violation,
    mail::templates,
    store::{Invitation, InvitationState, NewUser, Page, PageRequest, Tx},
    FieldErrors, ServiceError, ServiceResult,
};

/// `POST /api/tenants/{id}/invite/`, `POST /api/users/invite/` and the invitations page.
#[derive(Debug, Clone, Default)]
pub struct InviteInput {
    pub email: Raw,
    /// Defaults to VIEWER.
    pub role: Raw,
}

/// `POST /api/users/accept-invite/` and the `/invite` page.
#[derive(Debug, Clone, Default)]
pub struct AcceptInvitationInput {
    pub token: Raw,
    /// The new account's password, or the existing account's current one.
    pub password: Raw,
    pub first_name: Raw,
    pub last_name: Raw,
}

/// `GET /api/invitations/?status=&email=`.
#[derive(Debug, Clone, Default)]
pub struct InvitationFilter {
    pub status: Raw,
    pub email: Raw,
}

/// An invitation together with the token that was just made for it (shown once).
#[derive(Debug, Clone)]
pub struct IssuedInvitation {
    pub invitation: Invitation,
    pub token: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvitationStatus {
    Pending,
    Accepted,
    Expired,
    Revoked,
}

impl InvitationStatus {
    pub fn of(invitation: &Invitation, at: DateTime<Utc>) -> Self {
        if invitation.accepted_at.is_some() {
            Self::Accepted
        } else if invitation.revoked_at.is_some() || invitation.tenant_deleted {
            Self::Revoked
        } else if invitation.expires_at <= at {
            Self::Expired
        } else {
            Self::Pending
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Accepted => "accepted",
            Self::Expired => "expired",
            Self::Revoked => "revoked",
        }
    }
}

/// What the `/invite?token=` page shows. Opening the page never consumes the token.
#[derive(Debug, Clone)]
pub enum InvitationPreview {
    Pending { tenant_name: String, inviter_email: Option<String>, email: String, role: Option<String>, account_exists: bool },
    Expired { tenant_name: String, inviter_email: Option<String> },
    Accepted { tenant_name: String },
    Revoked { tenant_name: String },
    /// Not one of ours: malformed, or no invitation has it (maybe replaced by a newer one).
    Unknown,
}

const UNKNOWN_TOKEN: &str = "This invitation link is not valid. It may have been replaced by a newer invitation.";
const EXPIRED_TOKEN: &str = "This invitation has expired. Ask an administrator of the organisation to send a new one.";
const USED_TOKEN: &str = "This invitation has already been used. Sign in instead.";
const REVOKED_TOKEN: &str = "This invitation was withdrawn by an administrator.";
const LOCKED_TOKEN: &str = "This invitation was locked after too many wrong passwords. Ask an administrator of the organisation to send a new one.";
const WRONG_PASSWORD: &str = "This is not the current password of this account.";

/// Wrong passwords an invitation's token survives; the next one withdraws it.
pub const MAX_PASSWORD_FAILURES: i32 = 5;

impl Services {
    /// Invites an e-mail address into `tenant` (the caller's current tenant when `None`).
    /// Tenant ADMIN of that tenant, or superuser; a tenant the caller cannot see is 404.
    #[tracing::instrument(skip_all)]
    pub async fn invite(&self, actor: &Actor, tenant: Option<TenantId>, input: InviteInput, meta: &RequestMeta) -> ServiceResult<IssuedInvitation> {
        let tenant = self.tenant_where(actor, tenant, Permission::InvitationsWrite).await?;
        let mut errors = FieldErrors::new();
        let email = input.email.required(&mut errors, "email", Email::parse);
        let role = input.role.optional(&mut errors, "role", |raw| RoleName::parse(raw).map(|_| raw.to_owned()));
        errors.into_result()?;
        let (email, role) = (email.unwrap(), role.unwrap().unwrap_or_else(|| Role::Viewer.as_str().to_owned()));

        let mut tx = self.db().write_in(tenant).await?;
        // The invitee will hold the role: the inviter must hold what it grants.
        let role = super::roles::role_for_field(&mut tx, tenant, "role", &role).await?;
        actor.may_grant(&role.grants)?;
        let role = role.name;
        // Locked from here: the seats counted below stay true until the invitation is in.
        let Some(tenant_row) = tx.lock_tenant_row(tenant).await? else { return Err(ServiceError::NotFound) };
        if !tenant_row.status.is_active() {
            return Err(ServiceError::conflict_detail("This organisation is suspended; nobody can be invited to it."));
        }
        if let Some(existing) = tx.user_by_email(&email).await? {
            if tx.is_member(tenant, existing.id).await? {
                return Err(ServiceError::conflict("email", "This person is already a member of this organisation."));
            }
        }
        // A pending invitation counts as a seat; inviting the same address again replaces it.
        let seat = if tx.has_pending_invitation(tenant, &email, now()).await? { 0 } else { 1 };
        let mut room = self.room_in(&mut tx, &tenant_row, &crate::domain::Resource::users()).await?;
        room.fits(seat)?;
        let issued = self.create_invitation_in(&mut tx, tenant, &email, &role, actor.user_id).await?;
        let id = issued.invitation.id;
        actor
            .audit(meta)
            .write(&mut tx, Some(tenant), AuditAction::InvitationCreated, "invitation", Some(id.to_string()),
                json!({"email": email.as_str(), "role": role.as_str()}))
            .await?;
        room.took(seat);
        self.alert_after_growth(&mut tx, tenant, &room, meta).await?;
        tx.commit().await?;
        self.wake_mailer();
        Ok(issued)
    }

    /// Writes an invitation (replacing any pending one for the same e-mail: the old link
    /// stops working) and enqueues its mail, inside the caller's transaction.
    pub(crate) async fn create_invitation_in(&self, tx: &mut Tx, tenant: TenantId, email: &Email, role: &RoleName, by: UserId) -> ServiceResult<IssuedInvitation> {
        self.limits().invitation_mail(tenant, email.as_str()).await?;
        self.write_invitation(tx, tenant, email, Some(role), Some(by), true).await
    }

    /// An invitation made by a bulk import: limited per recipient like any other (nobody gets
    /// more than a few invitation mails an hour), but not by the tenant's hourly budget, which
    /// an import of hundreds of people is not the abuse it guards against. Without
    /// `send_mail` the invitation waits for a resend.
    pub(crate) async fn create_invitation_quietly(&self, tx: &mut Tx, tenant: TenantId, email: &Email, role: Option<&RoleName>, by: Option<UserId>, send_mail: bool) -> ServiceResult<IssuedInvitation> {
        if send_mail {
            self.limits().invitation_mail_to(email.as_str()).await?;
        }
        self.write_invitation(tx, tenant, email, role, by, send_mail).await
    }

    async fn write_invitation(&self, tx: &mut Tx, tenant: TenantId, email: &Email, role: Option<&RoleName>, by: Option<UserId>, send_mail: bool) -> ServiceResult<IssuedInvitation> {
        tx.revoke_pending_invitations(tenant, email, now()).await?;
        let token = random_token();
        let at = now();
        let expires_at = at + self.invitation_ttl();
        let id = tx.insert_invitation(tenant, email, role, &crate::auth::token_hash(&token), by, expires_at, at).await?;
        let invitation = tx.invitation(tenant, id).await?.ok_or(ServiceError::NotFound)?;
        if send_mail {
            self.enqueue_invitation_mail(tx, &invitation, &token).await?;
        }
        Ok(IssuedInvitation { invitation, token })
    }

    /// The invitations of the caller's tenant, newest first; ADMIN (or superuser) only.
    #[tracing::instrument(skip_all)]
    pub async fn list_invitations(&self, actor: &Actor, filter: InvitationFilter, page: PageRequest) -> ServiceResult<Page<Invitation>> {
        let tenant = actor.require(Permission::InvitationsRead)?;
        let mut errors = FieldErrors::new();
        let state = filter
            .status
            .optional(&mut errors, "status", |raw| match raw.trim().to_ascii_lowercase().as_str() {
                "" => Ok(None),
                "pending" => Ok(Some(InvitationState::Pending)),
                "accepted" => Ok(Some(InvitationState::Accepted)),
                "expired" => Ok(Some(InvitationState::Expired)),
                "revoked" => Ok(Some(InvitationState::Revoked)),
                other => Err(format!("\"{other}\" is not a valid choice. Choose one of pending, accepted, expired, revoked.")),
            })
            .flatten()
            .flatten();
        let email = filter.email.optional(&mut errors, "email", Email::parse).flatten();
        errors.into_result()?;
        let mut tx = self.db().read_in(tenant).await?;
        let email = email.as_ref().map(Email::as_str);
        let at = now();
        let read = async |tx: &mut crate::store::Reader| tx.invitations(tenant, state, email, at, page).await;
        let listed = match state {
            // Which rows these match changes with the clock, not only with the rows.
            Some(InvitationState::Pending | InvitationState::Expired) => std::sync::Arc::new(read(&mut tx).await?),
            _ => self.inner.pages.invitations.page(&mut tx, tenant, (tenant, state, email.map(str::to_owned), page), read).await?,
        };
        Ok(Page { items: listed.rows.clone(), count: listed.total, page: page.page, page_size: page.page_size })
    }

    /// Sends a pending (or expired) invitation again with a new token and a fresh expiry.
    #[tracing::instrument(skip_all)]
    pub async fn resend_invitation(&self, actor: &Actor, id: Uuid, meta: &RequestMeta) -> ServiceResult<IssuedInvitation> {
        let tenant = actor.require(Permission::InvitationsWrite)?;
        let mut tx = self.db().write_in(tenant).await?;
        let invitation = tx.invitation(tenant, id).await?.ok_or(ServiceError::NotFound)?;
        match InvitationStatus::of(&invitation, now()) {
            InvitationStatus::Accepted => return Err(ServiceError::conflict_detail("This invitation was already accepted.")),
            InvitationStatus::Revoked => return Err(ServiceError::conflict_detail("This invitation was revoked; send a new one.")),
            InvitationStatus::Pending | InvitationStatus::Expired => {}
        }
        self.limits().invitation_mail(tenant, &invitation.email).await?;
        let token = random_token();
        let at = now();
        tx.renew_invitation(tenant, id, Some(&crate::auth::token_hash(&token)), at + self.invitation_ttl(), at).await?;
        let invitation = tx.invitation(tenant, id).await?.ok_or(ServiceError::NotFound)?;
        self.enqueue_invitation_mail(&mut tx, &invitation, &token).await?;
        actor
            .audit(meta)
            .write(&mut tx, Some(tenant), AuditAction::InvitationResent, "invitation", Some(id.to_string()), json!({"email": invitation.email}))
            .await?;
        tx.commit().await?;
        self.wake_mailer();
        Ok(IssuedInvitation { invitation, token })
    }

    /// Withdraws a pending invitation; its link stops working.
    #[tracing::instrument(skip_all)]
    pub async fn revoke_invitation(&self, actor: &Actor, id: Uuid, meta: &RequestMeta) -> ServiceResult<()> {
        let tenant = actor.require(Permission::InvitationsWrite)?;
        let mut tx = self.db().write_in(tenant).await?;
        let invitation = tx.invitation(tenant, id).await?.ok_or(ServiceError::NotFound)?;
        if !tx.revoke_invitation(tenant, id, now()).await? {
            let state = InvitationStatus::of(&invitation, now());
            return Err(ServiceError::conflict_detail(format!("This invitation is {} and cannot be revoked.", state.as_str())));
        }
        actor
            .audit(meta)
            .write(&mut tx, Some(tenant), AuditAction::InvitationRevoked, "invitation", Some(id.to_string()), json!({"email": invitation.email}))
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// What an invitation link leads to, without consuming it (mail scanners open links).
    #[tracing::instrument(skip_all)]
    pub async fn invitation_preview(&self, token: &str) -> ServiceResult<InvitationPreview> {
        let Ok(token) = OneTimeToken::parse(token) else { return Ok(InvitationPreview::Unknown) };
        let mut tx = self.db().read().await?;
        let Some(invitation) = tx.invitation_by_token_hash(&token.hash()).await? else { return Ok(InvitationPreview::Unknown) };
        let tenant_name = invitation.tenant_name.clone();
        Ok(match InvitationStatus::of(&invitation, now()) {
            InvitationStatus::Pending => {
                let account_exists = match Email::parse(&invitation.email) {
                    Ok(email) => tx.user_by_email(&email).await?.is_some(),
                    Err(_) => false,
                };
                InvitationPreview::Pending {
                    tenant_name,
                    inviter_email: invitation.inviter_email,
                    email: invitation.email,
                    role: invitation.role.map(|r| r.as_str().to_owned()),
                    account_exists,
                }
            }
            InvitationStatus::Expired => InvitationPreview::Expired { tenant_name, inviter_email: invitation.inviter_email },
            InvitationStatus::Accepted => InvitationPreview::Accepted { tenant_name },
            InvitationStatus::Revoked => InvitationPreview::Revoked { tenant_name },
        })
    }

    /// Redeems an invitation: creates the account (or checks the existing account's password
    /// and changes nothing about it), adds the membership and the invited role, marks the
    /// invitation accepted and writes the audit row, in one transaction. The token is checked
    /// before anything else; a request that fails validation leaves it usable.
    #[tracing::instrument(skip_all)]
    pub async fn accept_invitation(&self, input: AcceptInvitationInput, meta: &RequestMeta) -> ServiceResult<Profile> {
        self.limits().client_attempt(meta.ip).await?;
        let mut errors = FieldErrors::new();
        let token = input.token.required(&mut errors, "token", OneTimeToken::parse);
        // Every missing field at once; what the password must be depends on the invitation.
        input.password.required(&mut errors, "password", |_| Ok(()));
        errors.into_result()?;
        let invitation = self.live_invitation(&token.unwrap()).await?;
        let email = Email::parse(&invitation.email).map_err(|m| ServiceError::Internal(anyhow::anyhow!("stored invitation e-mail is invalid: {m}")))?;
        let existing = self.db().read().await?.user_by_email(&email).await?;

        let mut errors = FieldErrors::new();
        let account = match existing {
            Some(user) => {
                let password = input.password.required(&mut errors, "password", PlainPassword::parse);
                errors.into_result()?;
                let details = json!({"via": "accept_invitation", "invitation": invitation.id, "tenant": invitation.tenant_id});
                let verified = self
                    .check_password(email.as_str(), Some(&user), password.unwrap().expose(), meta, AuditAction::InvitationPasswordFailed, details)
                    .await?;
                if !verified {
                    return Err(self.count_invitation_failure(&invitation, &user, meta).await?);
                }
                Account::Existing(user.id)
            }
            None => {
                // A new account belongs to the inviting tenant only: its rule is the one.
                let rules = self.db().read().await?.security_policy(invitation.tenant_id).await?.password_policy;
                let password = input.password.required(&mut errors, "password", |raw| {
                    NewPassword::parse_under(raw, Some(&email), &rules).map_err(|m| m.join(" "))
                });
                let first_name = input.first_name.optional(&mut errors, "first_name", PersonName::parse);
                let last_name = input.last_name.optional(&mut errors, "last_name", PersonName::parse);
                errors.into_result()?;
                let hash = self.hasher().hash(password.unwrap().expose()).await?;
                Account::New { hash, history: rules.password_history, first_name: first_name.flatten().unwrap_or_default(), last_name: last_name.flatten().unwrap_or_default() }
            }
        };

        let mut tx = self.db().write().await?;
        // Its seat was counted when it was sent; a tenant since taken below its usage (a forced
        // downgrade) admits nobody more.
        let tenant_row = tx.lock_tenant_row(invitation.tenant_id).await?.ok_or(ServiceError::NotFound)?;
        self.room_in(&mut tx, &tenant_row, &crate::domain::Resource::users()).await?.fits(0)?;
        let at = now();
        let user_id = match &account {
            Account::Existing(id) => *id,
            Account::New { hash, history, first_name, last_name } => {
                let new_user = NewUser { id: UserId::new(), email: &email, password_hash: hash, first_name, last_name, is_superuser: false };
                match tx.insert_user(new_user, at).await {
                    Ok(user) => {
                        tx.remember_password(user.id, hash, None, *history, at).await?;
                        user.id
                    }
                    // Someone created the account between our read and now: they must accept
                    // as an existing account, with its password.
                    Err(e) if is_unique_violation(&e) => {
                        return Err(ServiceError::conflict("password", "An account with this e-mail now exists; enter its password."))
                    }
                    Err(e) => return Err(e.into()),
                }
            }
        };
        if !tx.redeem_invitation(invitation.tenant_id, invitation.id, user_id, at).await? {
            // A concurrent accept won, or it expired or was revoked meanwhile.
            let current = tx.invitation(invitation.tenant_id, invitation.id).await?.ok_or(ServiceError::NotFound)?;
            return Err(token_state_error(InvitationStatus::of(&current, at)));
        }
        tx.insert_membership(invitation.tenant_id, user_id, at).await?;
        let role = invitation.role.clone();
        if let Some(role) = &role {
            tx.assign_role(invitation.tenant_id, user_id, role, invitation.invited_by, at).await?;
        }
        Audit { meta, actor: Some((&user_id, email.as_str())), key: None }
            .write(&mut tx, Some(invitation.tenant_id), AuditAction::InvitationAccepted, "invitation", Some(invitation.id.to_string()),
                json!({"email": email.as_str(), "user_id": user_id, "role": role.as_ref().map(RoleName::as_str), "new_account": matches!(account, Account::New { .. })}))
            .await?;
        let member = load_member(&mut tx, user_id, Some(invitation.tenant_id)).await?.ok_or(ServiceError::NotFound)?;
        // The address's owner hears of it either way: whoever holds an invitation link (the
        // admin who made it sees the token too) can use it.
        let mut mail = match &account {
            Account::Existing(_) => templates::joined_tenant(email.as_str(), &invitation.tenant_name, role.as_ref().map(RoleName::as_str)),
            Account::New { .. } => {
                let link = self.new_reset_link(&mut tx, user_id, self.config().invitation_ttl).await?;
                let how = format!("when an invitation to {} was accepted", invitation.tenant_name);
                templates::account_created(email.as_str(), &how, &link, self.invitation_ttl().num_days().max(1))
            }
        };
        mail.tenant_id = Some(invitation.tenant_id);
        self.enqueue_mail(&mut tx, mail).await?;
        tx.commit().await?;
        self.wake_mailer();
        Ok(self.profile_of(member))
    }

    /// A wrong password given with an invitation: counted on the invitation (withdrawn after
    /// [`MAX_PASSWORD_FAILURES`], audited in its tenant), and the answer to give.
    async fn count_invitation_failure(&self, invitation: &Invitation, user: &crate::store::User, meta: &RequestMeta) -> ServiceResult<ServiceError> {
        let mut tx = self.db().write().await?;
        let at = now();
        let count = tx.count_invitation_failure(invitation.tenant_id, invitation.id, MAX_PASSWORD_FAILURES, at).await?;
        let locked = count >= MAX_PASSWORD_FAILURES;
        if locked {
            Audit { meta, actor: None, key: None }
                .write(&mut tx, Some(invitation.tenant_id), AuditAction::InvitationLocked, "invitation", Some(invitation.id.to_string()),
                    json!({"email": invitation.email, "failed_attempts": count, "account": user.id}))
                .await?;
        }
        tx.commit().await?;
        Ok(if locked { token_locked_error() } else { ServiceError::field("password", WRONG_PASSWORD) })
    }

    /// CLI `invitation expire <token-or-id>`: the link stops working, as expired.
    pub async fn expire_invitation(&self, token_or_id: &str) -> ServiceResult<Invitation> {
        let mut tx = self.db().write().await?;
        let invitation = match Uuid::parse_str(token_or_id.trim()) {
            Ok(id) => tx.invitation_anywhere(id).await?,
            Err(_) => match OneTimeToken::parse(token_or_id) {
                Ok(token) => tx.invitation_by_token_hash(&token.hash()).await?,
                Err(_) => None,
            },
        }
        .ok_or(ServiceError::NotFound)?;
        if !tx.expire_invitation(invitation.tenant_id, invitation.id, now()).await? {
            return Err(ServiceError::conflict_detail(format!("The invitation is {}; only a pending one can expire.", InvitationStatus::of(&invitation, now()).as_str())));
        }
        let audit = Audit { meta: &RequestMeta::default(), actor: None, key: None };
        audit.write(&mut tx, Some(invitation.tenant_id), AuditAction::InvitationExpired, "invitation", Some(invitation.id.to_string()), json!({"by": "cli"})).await?;
        let updated = tx.invitation(invitation.tenant_id, invitation.id).await?.ok_or(ServiceError::NotFound)?;
        tx.commit().await?;
        Ok(updated)
    }

    /// CLI `invitation extend <id> --days N`: a pending or expired invitation gets N more days
    /// from now; its link keeps working (no new token).
    pub async fn extend_invitation(&self, id: Uuid, days: i64) -> ServiceResult<Invitation> {
        if !(1..=365).contains(&days) {
            return Err(ServiceError::field("days", "Must be between 1 and 365."));
        }
        let mut tx = self.db().write().await?;
        let at = now();
        let found = tx.invitation_anywhere(id).await?.ok_or(ServiceError::NotFound)?;
        if !tx.renew_invitation(found.tenant_id, id, None, at + ChronoDuration::days(days), at).await? {
            return Err(ServiceError::conflict_detail(format!("The invitation is {}; it cannot be extended.", InvitationStatus::of(&found, at).as_str())));
        }
        let invitation = tx.invitation(found.tenant_id, id).await?.ok_or(ServiceError::NotFound)?;
        Audit { meta: &RequestMeta::default(), actor: None, key: None }
            .write(&mut tx, Some(invitation.tenant_id), AuditAction::InvitationExtended, "invitation", Some(id.to_string()), json!({"days": days, "by": "cli"}))
            .await?;
        tx.commit().await?;
        Ok(invitation)
    }

    /// CLI `invitation purge --expired`: deletes invitations that expired unaccepted.
    pub async fn purge_expired_invitations(&self) -> ServiceResult<u64> {
        let mut tx = self.db().write().await?;
        let purged = tx.purge_expired_invitations(now()).await?;
        tx.commit().await?;
        Ok(purged)
    }

    /// The pending invitation a token belongs to, or the token error that applies.
    async fn live_invitation(&self, token: &OneTimeToken) -> ServiceResult<Invitation> {
        let invitation = self
            .db()
            .read()
            .await?
            .invitation_by_token_hash(&token.hash())
            .await?
            .ok_or_else(not_found_token)?;
        match InvitationStatus::of(&invitation, now()) {
            InvitationStatus::Pending => Ok(invitation),
            InvitationStatus::Revoked if invitation.failed_attempts >= MAX_PASSWORD_FAILURES => Err(token_locked_error()),
            other => Err(token_state_error(other)),
        }
    }

    fn invitation_ttl(&self) -> ChronoDuration {
        ChronoDuration::seconds(self.config().invitation_ttl.as_secs() as i64)
    }

    async fn enqueue_invitation_mail(&self, tx: &mut Tx, invitation: &Invitation, token: &str) -> ServiceResult<()> {
        let link = format!("{}/invite?token={token}", self.config().frontend_base_url);
        let days = (self.config().invitation_ttl.as_secs() / 86_400).max(1) as i64;
        let brand = match tx.tenant(invitation.tenant_id).await? {
            Some(tenant) => self.branding_in(tx, &tenant).await?,
            None => None,
        };
        let mut email = templates::invitation(&templates::Invitation {
            to: &invitation.email,
            tenant_name: &invitation.tenant_name,
            inviter: invitation.inviter_email.as_deref(),
            role: invitation.role.as_ref().map(RoleName::as_str),
            link: &link,
            expires_in_days: days,
            brand: brand.as_ref().map(|b| b.for_mail()),
        });
        email.tenant_id = Some(invitation.tenant_id);
        self.enqueue_mail(tx, email).await
    }
}

enum Account {
    Existing(UserId),
    /// `history`: how many hashes the inviting tenant keeps.
    New { hash: String, history: u32, first_name: PersonName, last_name: PersonName },
}

/// 404 with a `token` field error: no invitation has this token.
fn not_found_token() -> ServiceError {
    ServiceError::NotFoundField(FieldErrors::single("token", UNKNOWN_TOKEN))
}

fn token_locked_error() -> ServiceError {
    ServiceError::Gone { detail: LOCKED_TOKEN.into(), fields: FieldErrors::single("token", LOCKED_TOKEN) }
}

fn token_state_error(state: InvitationStatus) -> ServiceError {
    let gone = |message: &str| ServiceError::Gone { detail: message.into(), fields: FieldErrors::single("token", message) };
    match state {
        InvitationStatus::Expired => gone(EXPIRED_TOKEN),
        InvitationStatus::Revoked => gone(REVOKED_TOKEN),
        InvitationStatus::Accepted => ServiceError::Conflict { detail: USED_TOKEN.into(), fields: FieldErrors::single("token", USED_TOKEN) },
        InvitationStatus::Pending => ServiceError::Conflict { detail: USED_TOKEN.into(), fields: FieldErrors::single("token", USED_TOKEN) },
    }
}
