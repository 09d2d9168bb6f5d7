//! Accounts seen from a tenant: the caller's profile, the member list, direct creation by an
//! admin, and the platform superuser.

use serde_json::json;

use super::{now, tenants::EMAIL_TAKEN, Actor, Raw, RequestMeta, Services};
use crate::{
    domain::{AuditAction, Email, NewPassword, PersonName, TenantId, UserId},
    error::is_unique_violation,
    store::{Member, NewUser, Page, PageRequest, User},
    FieldErrors, ServiceError, ServiceResult,
};

/// A member as the API and pages show them, with the time zone to display times in.
#[derive(Debug, Clone)]
pub struct Profile {
    pub user: User,
    pub tenant_id: Option<TenantId>,
    pub roles: Vec<crate::domain::RoleName>,
    pub timezone: String,
    /// Whether the account is a platform superuser, when the caller may know: always about
    /// themselves, about others only to a superuser (`None` otherwise).
    pub is_superuser: Option<bool>,
}

/// `POST /api/tenants/{tenant}/users/`: a superuser adds an existing account to a tenant.
#[derive(Debug, Clone, Default)]
pub struct AddMemberInput {
    pub user_id: Raw,
    /// A role of the tenant; none when missing.
    pub role: Raw,
    /// Whether the account's owner is e-mailed (default yes).
    pub send_notification: Raw,
}

/// `POST /api/users/`: an admin creates an account directly in their tenant.
#[derive(Debug, Clone, Default)]
pub struct CreateUserInput {
    pub email: Raw,
    pub password: Raw,
    pub first_name: Raw,
    pub last_name: Raw,
}

impl Services {
    pub(crate) fn profile_of(&self, member: Member) -> Profile {
        let timezone = member.user.timezone.clone().unwrap_or_else(|| self.config().time_zone.clone());
        let is_superuser = Some(member.user.is_superuser);
        Profile { user: member.user, tenant_id: member.tenant_id, roles: member.roles, timezone, is_superuser }
    }

    /// `GET /api/me/`: the caller in their current tenant. The actor was read from the
    /// database for this request, so nothing is read again.
    pub fn me(&self, actor: &Actor) -> Profile {
        self.profile_of(Member { user: actor.user.clone(), tenant_id: actor.tenant_id, roles: actor.roles.clone(), grants: actor.grants.clone() })
    }

    /// The members of the caller's current tenant with their roles, one page.
    #[tracing::instrument(skip_all)]
    pub async fn list_users(&self, actor: &Actor, page: PageRequest) -> ServiceResult<Page<Profile>> {
        let tenant = actor.require(crate::domain::Permission::MembersRead)?;
        let mut tx = self.db().read_in(tenant).await?;
        let listed = self.inner.pages.members.page(&mut tx, tenant, (tenant, page), async |tx| tx.members(tenant, page).await).await?;
        let count = listed.total;
        let items = listed
            .rows
            .iter()
            .cloned()
            .map(|(user, roles)| {
                let profile = self.profile_of(Member { user, tenant_id: Some(tenant), roles, grants: Vec::new() });
                let shown = actor.is_superuser || (actor.api_key.is_none() && profile.user.id == actor.user_id);
                Profile { is_superuser: profile.is_superuser.filter(|_| shown), ..profile }
            })
            .collect();
        Ok(Page { items, count, page: page.page, page_size: page.page_size })
    }

    /// Creates an account as a member of the caller's tenant with no role. `members:write`
    /// (ADMIN, or a superuser); checked before the input is looked at.
    #[tracing::instrument(skip_all)]
    pub async fn create_user(&self, actor: &Actor, input: CreateUserInput, meta: &RequestMeta) -> ServiceResult<Profile> {
        let tenant = actor.require(crate::domain::Permission::MembersWrite)?;
        // The new account belongs to this tenant only: its rule is the one.
        let rules = self.db().read_in(tenant).await?.security_policy(tenant).await?.password_policy;
        let mut errors = FieldErrors::new();
        let email = input.email.required(&mut errors, "email", Email::parse);
        let password = input.password.required(&mut errors, "password", |raw| {
            NewPassword::parse_under(raw, email.as_ref(), &rules).map_err(|m| m.join(" "))
        });
        let first_name = input.first_name.optional(&mut errors, "first_name", PersonName::parse);
        let last_name = input.last_name.optional(&mut errors, "last_name", PersonName::parse);
        errors.into_result()?;
        let (email, password) = (email.unwrap(), password.unwrap());
        let (first_name, last_name) = (first_name.flatten().unwrap_or_default(), last_name.flatten().unwrap_or_default());

        if self.db().read().await?.user_by_email(&email).await?.is_some() {
            return Err(ServiceError::conflict("email", EMAIL_TAKEN));
        }
        let password_hash = self.hasher().hash(password.expose()).await?;
        let mut tx = self.db().write_in(tenant).await?;
        let tenant_row = tx.lock_tenant_row(tenant).await?.ok_or(ServiceError::NotFound)?;
        let mut room = self.room_in(&mut tx, &tenant_row, &crate::domain::Resource::users()).await?;
        room.fits(1)?;
        let at = now();
        let new_user = NewUser { id: UserId::new(), email: &email, password_hash: &password_hash, first_name: &first_name, last_name: &last_name, is_superuser: false };
        let user = tx.insert_user(new_user, at).await.map_err(|e| {
            if is_unique_violation(&e) { ServiceError::conflict("email", EMAIL_TAKEN) } else { e.into() }
        })?;
        tx.insert_membership(tenant, user.id, at).await?;
        tx.remember_password(user.id, &password_hash, None, rules.password_history, at).await?;
        actor
            .audit(meta)
            .write(&mut tx, Some(tenant), AuditAction::UserCreated, "user", Some(user.id.to_string()), json!({"email": user.email}))
            .await?;
        // The account signs in with the admin's password at once (the API contract), but the
        // address's owner is told and can take it over.
        let ttl = self.config().invitation_ttl;
        let link = self.new_reset_link(&mut tx, user.id, ttl).await?;
        let tenant_name = tx.tenant(tenant).await?.map(|t| t.name).unwrap_or_default();
        let how = format!("by an administrator of {tenant_name}");
        let mut mail = crate::mail::templates::account_created(&user.email, &how, &link, (ttl.as_secs() / 86_400).max(1) as i64);
        mail.tenant_id = Some(tenant);
        self.enqueue_mail(&mut tx, mail).await?;
        room.took(1);
        self.alert_after_growth(&mut tx, tenant, &room, meta).await?;
        tx.commit().await?;
        self.wake_mailer();
        Ok(self.profile_of(Member { user, tenant_id: Some(tenant), roles: Vec::new(), grants: Vec::new() }))
    }

    /// Adds an existing account to a tenant by its id (the Ratchet guide's route). Platform
    /// superusers only: tenant admins add people by e-mail, through invitations, so that
    /// nobody joins a tenant without being told and able to refuse.
    #[tracing::instrument(skip_all)]
    pub async fn add_member(&self, actor: &Actor, tenant: TenantId, input: AddMemberInput, meta: &RequestMeta) -> ServiceResult<Profile> {
        if !actor.is_superuser {
            return Err(ServiceError::forbidden("Only platform administrators add accounts by id; invite people by e-mail instead."));
        }
        let mut errors = FieldErrors::new();
        let user = input.user_id.required(&mut errors, "user_id", UserId::parse);
        let role = input.role.optional(&mut errors, "role", |raw| Ok(raw.trim().to_owned())).flatten().filter(|r| !r.is_empty());
        let notify = input.send_notification.optional(&mut errors, "send_notification", super::input::parse_flag);
        errors.into_result()?;
        let (user, notify) = (user.unwrap(), notify.flatten().unwrap_or(true));
        let mut tx = self.db().write_in(tenant).await?;
        // Locked from here: the seats counted below stay true until the member is in.
        let tenant_row = tx.lock_tenant_row(tenant).await?.ok_or(ServiceError::NotFound)?;
        let role = match role {
            Some(raw) => Some(super::roles::role_for_field(&mut tx, tenant, "role", &raw).await?.name),
            None => None,
        };
        let account = tx.user(user).await?.filter(|u| u.is_active).ok_or_else(|| ServiceError::field("user_id", "No active account has this id."))?;
        if tx.is_member(tenant, user).await? {
            return Err(ServiceError::conflict("user_id", "This account is already a member of this organisation."));
        }
        let mut room = self.room_in(&mut tx, &tenant_row, &crate::domain::Resource::users()).await?;
        room.fits(1)?;
        let at = now();
        tx.insert_membership(tenant, user, at).await?;
        if let Some(role) = &role {
            tx.assign_role(tenant, user, role, Some(actor.user_id), at).await?;
        }
        actor
            .audit(meta)
            .write(&mut tx, Some(tenant), AuditAction::MemberAdded, "user", Some(user.to_string()),
                json!({"email": account.email, "role": role.as_ref().map(|r| r.as_str()), "notified": notify}))
            .await?;
        if notify {
            let mut mail = crate::mail::templates::joined_tenant(&account.email, &tenant_row.name, role.as_ref().map(|r| r.as_str()));
            mail.tenant_id = Some(tenant);
            self.enqueue_mail(&mut tx, mail).await?;
        }
        room.took(1);
        self.alert_after_growth(&mut tx, tenant, &room, meta).await?;
        tx.commit().await?;
        if notify {
            self.wake_mailer();
        }
        let roles = role.into_iter().collect();
        Ok(self.profile_of(Member { user: account, tenant_id: Some(tenant), roles, grants: Vec::new() }))
    }

    /// CLI `create-superuser`: creates a platform superuser, or promotes the existing account
    /// with that e-mail (its password is then left as it is). Returns the account and whether
    /// it was created.
    #[tracing::instrument(skip_all)]
    pub async fn create_superuser(&self, email: &str, password: Option<&str>) -> ServiceResult<(User, bool)> {
        let email = Email::parse(email).map_err(|m| ServiceError::field("email", m))?;
        let mut tx = self.db().write().await?;
        if let Some(user) = tx.user_by_email(&email).await? {
            tx.set_superuser(user.id, now()).await?;
            tx.commit().await?;
            let user = self.db().read().await?.user(user.id).await?.ok_or(ServiceError::NotFound)?;
            return Ok((user, false));
        }
        drop(tx);
        let password = password.ok_or_else(|| ServiceError::field("password", crate::domain::REQUIRED))?;
        let password = NewPassword::parse(password, Some(&email)).map_err(|m| ServiceError::field("password", m.join(" ")))?;
        let password_hash = self.hasher().hash(password.expose()).await?;
        let mut tx = self.db().write().await?;
        let empty = PersonName::default();
        let new_user = NewUser { id: UserId::new(), email: &email, password_hash: &password_hash, first_name: &empty, last_name: &empty, is_superuser: true };
        let user = tx.insert_user(new_user, now()).await.map_err(|e| {
            if is_unique_violation(&e) { ServiceError::conflict("email", EMAIL_TAKEN) } else { e.into() }
        })?;
        tx.commit().await?;
        Ok((user, true))
    }

    /// Whether an account with this e-mail exists (the CLI asks before prompting).
    pub async fn account_exists(&self, email: &str) -> ServiceResult<bool> {
        let Ok(email) = Email::parse(email) else { return Ok(false) };
        Ok(self.db().read().await?.user_by_email(&email).await?.is_some())
    }

    /// CLI `set-platform-role`: gives an account a platform role (or takes it away with
    /// `None`), creating the account when `password` is given and none exists.
    #[tracing::instrument(skip_all)]
    pub async fn set_platform_role(&self, email: &str, role: Option<crate::domain::PlatformRole>, password: Option<&str>) -> ServiceResult<(User, bool)> {
        let email = Email::parse(email).map_err(|m| ServiceError::field("email", m))?;
        let existing = self.db().read().await?.user_by_email(&email).await?;
        let (id, created) = match existing {
            Some(user) => (user.id, false),
            None => {
                let password = password.ok_or_else(|| ServiceError::field("password", crate::domain::REQUIRED))?;
                let password = NewPassword::parse(password, Some(&email)).map_err(|m| ServiceError::field("password", m.join(" ")))?;
                let hash = self.hasher().hash(password.expose()).await?;
                let empty = PersonName::default();
                let new_user = NewUser { id: UserId::new(), email: &email, password_hash: &hash, first_name: &empty, last_name: &empty, is_superuser: false };
                let mut tx = self.db().write().await?;
                let user = tx.insert_user(new_user, now()).await.map_err(|e| {
                    if is_unique_violation(&e) { ServiceError::conflict("email", EMAIL_TAKEN) } else { e.into() }
                })?;
                tx.commit().await?;
                (user.id, true)
            }
        };
        let mut tx = self.db().write().await?;
        tx.set_platform_role(id, role.map(|r| r.as_str()), now()).await?;
        let user = tx.user(id).await?.ok_or(ServiceError::NotFound)?;
        tx.commit().await?;
        Ok((user, created))
    }
}
