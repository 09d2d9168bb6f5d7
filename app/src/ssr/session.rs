//! The browser session: it stores only who is signed in and in which tenant; everything else
//! (roles, account state) is read fresh through the service layer on each request.

use tenantry::{
    domain::{TenantId, UserId},
    service::{Actor, RequestMeta, Services},
    store::User,
    ServiceResult,
};
use tower_sessions::Session;

pub const SESSION_USER: &str = "user_id";
pub const SESSION_TENANT: &str = "tenant_id";
/// The account's credentials version at sign-in; a password reset bumps it, which ends this
/// session.
pub const SESSION_VERSION: &str = "auth_version";
/// When the session was last used (Unix seconds), for the tenant's idle timeout. Written at
/// most once a minute, so that reading pages does not turn every request into a session write.
pub const SESSION_SEEN: &str = "last_seen";
/// A sign-in whose password was right and whose second factor is still owed (its `mfa_token`).
pub const SESSION_MFA: &str = "mfa_pending";
const SEEN_EVERY_SECS: i64 = 60;

/// The signed-in caller of this session, if any (and if the account still may act). On a
/// tenant's own host (`acme.example.com`, see `TENANT_BASE_DOMAIN`) the caller acts in that
/// tenant, or not at all when not a member.
///
/// The tenant's network rule applies (403 `ip_not_allowed`), and a session idle for longer
/// than the tenant's timeout is ended here and the caller is signed out.
pub async fn session_actor(services: &Services, session: &Session, host: Option<TenantId>, meta: &RequestMeta) -> ServiceResult<Option<Actor>> {
    let user: Option<UserId> = session.get(SESSION_USER).await.ok().flatten();
    let Some(user) = user else { return Ok(None) };
    let tenant: Option<TenantId> = host.or(session.get(SESSION_TENANT).await.ok().flatten());
    let version: i32 = session.get(SESSION_VERSION).await.ok().flatten().unwrap_or(0);
    let Some(actor) = services.actor_for_request(user, tenant, meta).await?.filter(|actor| actor.user.auth_version == version) else {
        return Ok(None);
    };
    let now = chrono::Utc::now();
    let seen: Option<i64> = session.get(SESSION_SEEN).await.ok().flatten();
    let seen = seen.and_then(|s| chrono::DateTime::from_timestamp(s, 0));
    if seen.is_some_and(|seen| actor.idle_expired(seen, now)) {
        let _ = session.flush().await;
        return Ok(None);
    }
    if seen.is_none_or(|seen| (now - seen).num_seconds() >= SEEN_EVERY_SECS) {
        let _ = session.insert(SESSION_SEEN, now.timestamp()).await;
    }
    Ok(Some(actor))
}

/// Keeps the caller's own session when their password changes (which ends every other one).
pub async fn keep_session_after_password_change(session: &Session, version: i32) -> anyhow::Result<()> {
    session.cycle_id().await?;
    session.insert(SESSION_VERSION, version).await?;
    Ok(())
}

/// Signs a user in: a fresh session id (no fixation), then the two keys.
pub async fn start_session(session: &Session, user: &User, tenant: Option<TenantId>) -> anyhow::Result<()> {
    session.cycle_id().await?;
    session.insert(SESSION_USER, user.id).await?;
    session.insert(SESSION_TENANT, tenant).await?;
    session.insert(SESSION_VERSION, user.auth_version).await?;
    session.insert(SESSION_SEEN, chrono::Utc::now().timestamp()).await?;
    Ok(())
}

pub async fn end_session(session: &Session) -> anyhow::Result<()> {
    session.flush().await?;
    Ok(())
}
