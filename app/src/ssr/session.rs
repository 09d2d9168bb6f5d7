//! The browser session: it stores only who is signed in and in which tenant; everything else
//! (roles, account state) is read fresh through the service layer on each request.

use tenantry::{
    domain::{TenantId, UserId},
    service::{Actor, Services},
    store::User,
    ServiceResult,
};
use tower_sessions::Session;

pub const SESSION_USER: &str = "user_id";
pub const SESSION_TENANT: &str = "tenant_id";
/// The account's credentials version at sign-in; a password reset bumps it, which ends this
/// session.
pub const SESSION_VERSION: &str = "auth_version";

/// The signed-in caller of this session, if any (and if the account still may act). On a
/// tenant's own host (`acme.example.com`, see `TENANT_BASE_DOMAIN`) the caller acts in that
/// tenant, or not at all when not a member.
pub async fn session_actor(services: &Services, session: &Session, host: Option<TenantId>) -> ServiceResult<Option<Actor>> {
    let user: Option<UserId> = session.get(SESSION_USER).await.ok().flatten();
    let Some(user) = user else { return Ok(None) };
    let tenant: Option<TenantId> = host.or(session.get(SESSION_TENANT).await.ok().flatten());
    let version: i32 = session.get(SESSION_VERSION).await.ok().flatten().unwrap_or(0);
    Ok(services.actor_for(user, tenant).await?.filter(|actor| actor.user.auth_version == version))
}

/// Signs a user in: a fresh session id (no fixation), then the two keys.
pub async fn start_session(session: &Session, user: &User, tenant: Option<TenantId>) -> anyhow::Result<()> {
    session.cycle_id().await?;
    session.insert(SESSION_USER, user.id).await?;
    session.insert(SESSION_TENANT, tenant).await?;
    session.insert(SESSION_VERSION, user.auth_version).await?;
    Ok(())
}

pub async fn end_session(session: &Session) -> anyhow::Result<()> {
    session.flush().await?;
    Ok(())
}
