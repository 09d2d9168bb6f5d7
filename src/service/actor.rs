use crate::{
    domain::{Grant, RoleName, TenantId, UserId},
    store::{Member, User},
    ServiceError, ServiceResult,
};

/// Who is asking, resolved fresh on every request from a session, an access token or an API
/// key: roles and grants are read from the database each time, so a change applies to the
/// very next request.
#[derive(Debug, Clone)]
pub struct Actor {
    /// The account; for an API key, the person who made it (who answers for what it does).
    pub user_id: UserId,
    pub email: String,
    /// The tenant the caller acts in; `None` for a superuser outside any tenant.
    pub tenant_id: Option<TenantId>,
    /// A platform superuser signed in as themselves (never true for an API key).
    pub is_superuser: bool,
    /// Roles in the current tenant.
    pub roles: Vec<RoleName>,
    /// What the custom roles among `roles` grant.
    pub grants: Vec<Grant>,
    /// The account as read for this request.
    pub user: User,
    /// Set when the caller is an API key: it then holds exactly the key's scopes.
    pub api_key: Option<KeyActor>,
    /// The security policy of `tenant_id`, read with the roles (`None`: the defaults).
    pub security: Option<crate::domain::SecurityPolicy>,
    /// Whether the person has a confirmed second factor (for `require_2fa`).
    pub has_second_factor: bool,
    /// Where the request came from (`None`: not a network request — jobs, the CLI). Tenants'
    /// network rules are checked against it, also for a tenant the call names by id.
    pub client_ip: Option<std::net::IpAddr>,
}

/// The API key behind a request.
#[derive(Debug, Clone)]
pub struct KeyActor {
    pub id: uuid::Uuid,
    pub name: String,
    pub scopes: Vec<Grant>,
}

impl From<Member> for Actor {
    fn from(member: Member) -> Self {
        Self {
            user_id: member.user.id,
            email: member.user.email.clone(),
            tenant_id: member.tenant_id,
            is_superuser: member.user.is_superuser,
            roles: member.roles,
            grants: member.grants,
            user: member.user,
            api_key: None,
            security: None,
            has_second_factor: false,
            client_ip: None,
        }
    }
}

impl Actor {
    /// The current tenant, or 403 for a caller outside any tenant.
    pub fn tenant(&self) -> ServiceResult<TenantId> {
        self.tenant_id.ok_or_else(|| ServiceError::forbidden("You are not acting within a tenant."))
    }

    /// The caller's role on the platform, outside any tenant (never for an API key).
    pub fn platform_role(&self) -> Option<crate::domain::PlatformRole> {
        if self.api_key.is_some() {
            return None;
        }
        self.user.platform_role.as_deref().and_then(|r| crate::domain::PlatformRole::parse(r).ok())
    }

    pub(crate) fn audit<'a>(&'a self, meta: &'a RequestMeta) -> super::Audit<'a> {
        match &self.api_key {
            Some(key) => super::Audit { meta, actor: None, key: Some(key) },
            None => super::Audit { meta, actor: Some((&self.user_id, &self.email)), key: None },
        }
    }
}

/// Where a request came from, for the audit trail and rate limits.
#[derive(Debug, Clone, Default)]
pub struct RequestMeta {
    /// The client's address (behind trusted proxies, the one they reported); `None` for the CLI.
    pub ip: Option<std::net::IpAddr>,
    pub user_agent: Option<String>,
}
