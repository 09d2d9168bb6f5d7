use crate::{
    domain::{Role, TenantId, UserId},
    store::{Member, User},
    ServiceError, ServiceResult,
};

/// Who is asking, resolved fresh on every request from a session or an access token: the roles
/// are read from the database each time, so a role change applies to the very next request.
#[derive(Debug, Clone)]
pub struct Actor {
    pub user_id: UserId,
    pub email: String,
    /// The tenant the caller acts in; `None` for a superuser outside any tenant.
    pub tenant_id: Option<TenantId>,
    pub is_superuser: bool,
    /// Roles in the current tenant.
    pub roles: Vec<Role>,
    /// The account as read for this request.
    pub user: User,
}

impl From<Member> for Actor {
    fn from(member: Member) -> Self {
        Self {
            user_id: member.user.id,
            email: member.user.email.clone(),
            tenant_id: member.tenant_id,
            is_superuser: member.user.is_superuser,
            roles: member.roles,
            user: member.user,
        }
    }
}

impl Actor {
    pub fn has_role(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }

    /// The current tenant, or 403 for a caller outside any tenant.
    pub fn tenant(&self) -> ServiceResult<TenantId> {
        self.tenant_id.ok_or_else(|| ServiceError::forbidden("You are not acting within a tenant."))
    }

    /// The caller's role on the platform, outside any tenant.
    pub fn platform_role(&self) -> Option<crate::domain::PlatformRole> {
        self.user.platform_role.as_deref().and_then(|r| crate::domain::PlatformRole::parse(r).ok())
    }

    pub(crate) fn audit<'a>(&'a self, meta: &'a RequestMeta) -> super::Audit<'a> {
        super::Audit { meta, actor: Some((&self.user_id, &self.email)) }
    }
}

/// Where a request came from, for the audit trail and rate limits.
#[derive(Debug, Clone, Default)]
pub struct RequestMeta {
    /// The client's address (behind trusted proxies, the one they reported); `None` for the CLI.
    pub ip: Option<std::net::IpAddr>,
    pub user_agent: Option<String>,
}
