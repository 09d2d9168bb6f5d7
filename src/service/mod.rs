//! The service layer: every capability is one method on [`Services`] that takes the caller
//! ([`Actor`]), checks authorization first, then validates input, runs in one transaction,
//! writes its audit row there, and returns a value or a [`ServiceError`](crate::ServiceError).
//! JSON handlers and server functions are thin adapters over these methods.

mod actor;
mod audit;
mod auth;
mod input;
mod invitations;
mod limits;
mod members;
mod password_reset;
mod provisioning;
mod roles;
mod tenants;
mod users;

#[cfg(test)]
mod tests;

pub use actor::{Actor, RequestMeta};
pub use audit::{AuditExport, AuditFilter, ExportFormat};
pub use auth::{LoginInput, TokenPair};
pub use input::Raw;
pub use invitations::{AcceptInvitationInput, InvitationFilter, InvitationPreview, InvitationStatus, InviteInput, IssuedInvitation};
pub use members::Membership;
pub use password_reset::ResetPreview;
pub use provisioning::{ProvisionInput, ProvisionUpdate};
pub use roles::{AssignRoleInput, AssignmentFilter};
pub use tenants::{SignUpInput, SignUpOutcome};
pub use users::{CreateUserInput, Profile};

use std::sync::Arc;

use chrono::{DateTime, SubsecRound, Utc};

use crate::{
    auth::{JwtKeys, PasswordHasher},
    config::Config,
    store::{Db, NewAuditEntry, Tx},
    ServiceResult,
};

/// The handle every adapter holds: cheap to clone, shared by all requests.
#[derive(Clone)]
pub struct Services {
    inner: Arc<Inner>,
}

struct Inner {
    db: Db,
    config: Config,
    hasher: PasswordHasher,
    jwt: JwtKeys,
    limits: limits::Limits,
    /// Signalled after a transaction that enqueued e-mail commits, so the outbox worker
    /// delivers within moments instead of at its next poll.
    mail_wakeup: Arc<tokio::sync::Notify>,
}

impl Services {
    /// Connects to the configured database and brings its schema up to date.
    pub async fn start(config: Config) -> anyhow::Result<Self> {
        let db = Db::connect_sized(&config.database_url, config.database_max_connections).await.map_err(|e| {
            anyhow::anyhow!("cannot open the database {}: {e}", crate::config::redact_url(&config.database_url))
        })?;
        db.migrate().await?;
        Ok(Self::new(db, config))
    }

    pub fn new(db: Db, config: Config) -> Self {
        let jwt = JwtKeys::new(config.secret_key());
        let limits = limits::Limits::new(&config.rate_limit);
        Self {
            inner: Arc::new(Inner {
                db,
                hasher: PasswordHasher::new(),
                jwt,
                limits,
                config,
                mail_wakeup: Arc::new(tokio::sync::Notify::new()),
            }),
        }
    }

    pub fn db(&self) -> &Db {
        &self.inner.db
    }

    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// `Ok` when the database answers; the health check's only question.
    pub async fn health(&self) -> ServiceResult<()> {
        self.db().ping().await.map_err(|e| crate::ServiceError::Unavailable(format!("database unreachable: {e}")))
    }

    /// What the outbox worker waits on between polls.
    pub fn mail_wakeup(&self) -> Arc<tokio::sync::Notify> {
        self.inner.mail_wakeup.clone()
    }

    /// Call after committing a transaction that enqueued e-mail.
    pub(crate) fn wake_mailer(&self) {
        self.inner.mail_wakeup.notify_one();
    }

    fn hasher(&self) -> &PasswordHasher {
        &self.inner.hasher
    }

    fn jwt(&self) -> &JwtKeys {
        &self.inner.jwt
    }

    fn limits(&self) -> &limits::Limits {
        &self.inner.limits
    }
}

/// Now, at microsecond precision: what both databases store, so values read back compare
/// equal to values written.
pub(crate) fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

/// Builds an audit entry for an action done by `actor` (or by nobody yet: sign-up, login).
pub(crate) struct Audit<'a> {
    pub meta: &'a RequestMeta,
    pub actor: Option<(&'a crate::domain::UserId, &'a str)>,
}

impl Audit<'_> {
    pub async fn write(
        &self,
        tx: &mut Tx,
        tenant: Option<crate::domain::TenantId>,
        action: &'static str,
        resource_type: &'static str,
        resource_id: Option<String>,
        metadata: serde_json::Value,
    ) -> ServiceResult<()> {
        let entry = NewAuditEntry {
            tenant_id: tenant,
            actor_id: self.actor.map(|(id, _)| *id),
            actor_email: self.actor.map(|(_, email)| email.to_owned()),
            action,
            resource_type,
            resource_id,
            metadata,
            ip_address: self.meta.ip.clone(),
            user_agent: self.meta.user_agent.clone(),
        };
        tx.insert_audit(&entry, now()).await?;
        Ok(())
    }
}
