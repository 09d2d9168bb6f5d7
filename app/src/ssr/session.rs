//! The browser session: it stores only who is signed in and in which tenant; everything else
//! (roles, account state) is read fresh through the service layer on each request.

use tenantry::{
    domain::{TenantId, UserId},
    service::{Actor, Services},
    ServiceResult,
};
use tower_sessions::Session;

pub const SESSION_USER: &str = "user_id";
pub const SESSION_TENANT: &str = "tenant_id";

/// The signed-in caller of this session, if any (and if the account still may act).
pub async fn session_actor(services: &Services, session: &Session) -> ServiceResult<Option<Actor>> {
    let user: Option<UserId> = session.get(SESSION_USER).await.ok().flatten();
    let Some(user) = user else { return Ok(None) };
    let tenant: Option<TenantId> = session.get(SESSION_TENANT).await.ok().flatten();
    services.actor_for(user, tenant).await
}

/// Signs a user in: a fresh session id (no fixation), then the two keys.
pub async fn start_session(session: &Session, user: UserId, tenant: Option<TenantId>) -> anyhow::Result<()> {
    session.cycle_id().await?;
    session.insert(SESSION_USER, user).await?;
    session.insert(SESSION_TENANT, tenant).await?;
    Ok(())
}

pub async fn end_session(session: &Session) -> anyhow::Result<()> {
    session.flush().await?;
    Ok(())
}
