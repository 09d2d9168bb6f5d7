//! The service layer: every capability is one method on [`Services`] that takes the caller
//! ([`Actor`]), checks authorization first, then validates input, runs in one transaction,
//! writes its audit row there, and returns a value or a [`ServiceError`](crate::ServiceError).
//! JSON handlers and server functions are thin adapters over these methods.

mod actor;
mod api_keys;
mod audit;
mod auth;
mod bulk_runs;
mod bulk_tenants;
pub mod events;
mod imports;
mod input;
mod invitations;
pub mod jobs;
mod limits;
mod members;
mod observability;
pub(crate) mod page_cache;
mod passkeys;
mod password_reset;
pub mod policy;
mod provision;
mod provisioning;
mod quotas;
mod roles;
mod security_policy;
mod settings;
mod subdomains;
mod tenant_deletion;
mod tenant_description;
mod tenant_export;
mod tenant_metrics;
mod templates;
mod tenants;
mod two_factor;
mod users;
mod webhooks;

#[cfg(test)]
mod tests;

pub use actor::{Actor, KeyActor, RequestMeta};
pub use api_keys::{ApiKeyInput, IssuedApiKey};
pub use audit::{AuditExport, AuditFilter, ExportFormat};
pub use auth::{LoginInput, TokenPair};
pub use input::{Raw, RawList};
pub use limits::SLOW_DOWN;
pub use imports::{read_csv, rows_from_csv, ImportInput, ImportMode, ImportOptions, ImportOutcome, ImportReport, ImportRow, RowResult, RowStatus, INLINE_ROWS, MAX_ROWS};
pub use jobs::{JobPlan, JobView, PlannedRow};
pub use invitations::{AcceptInvitationInput, InvitationFilter, InvitationPreview, InvitationStatus, InviteInput, IssuedInvitation};
pub use members::Membership;
pub use password_reset::ResetPreview;
pub use passkeys::{PasskeyChallenge, PasskeyView, CEREMONY_TTL_MINUTES, MAX_PASSKEYS};
pub use bulk_tenants::{bulk_csv_items, config_items, csv_field, BulkItem, BulkOptions, BulkRowResult, BulkStatus, BulkSummary, BULK_COLUMNS};
pub use bulk_runs::{BulkRunView, PAGE_BULK_MAX_ROWS};
pub use provision::{IfExists, ProvisionOptions, Provisioned, ProvisionedTenant};
pub use provisioning::{ProvisionInput, ProvisionUpdate};
pub use templates::{Template, TemplateRole};
pub use tenant_description::{DescribedRole, DescribedUser, TenantDescription};
pub use tenant_metrics::{MetricsReport, TenantMetricRow, SPARKLINE_DAYS};
pub use tenant_export::{ExportPart, ImportedTenant, TenantExport, EXPORT_FORMAT, EXPORT_VERSION};
pub use quotas::{FeatureReport, PlanChange, PlanInput, QuotaReport, DEFAULT_ALERT_THRESHOLDS};
pub use subdomains::{HostTenant, SubdomainCheck};
pub use settings::{parse_logo_url, Branding, TenantSettingsInput, SETTINGS_MAX_BYTES};
pub use roles::{AssignRoleInput, AssignmentFilter, RoleInput, RoleView};
pub use tenants::{SignUpInput, SignUpOutcome};
pub use two_factor::{MfaPending, SignInStep, TotpEnrolment, TwoFactorStatus, MFA_MAX_ATTEMPTS, MFA_TOKEN_TTL_MINUTES};
#[cfg(test)]
pub(crate) use two_factor::PendingStep;
pub use users::{AddMemberInput, CreateUserInput, Profile};
pub use webhooks::{IssuedWebhook, WebhookInput, MAX_WEBHOOKS, ROTATION_OVERLAP_HOURS};
pub use input::parse_flag;

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
    /// Seals the links kept in the e-mail outbox until they are sent.
    sealer: crate::auth::Sealer,
    limits: limits::Limits,
    /// Signalled after a transaction that enqueued e-mail commits, so the outbox worker
    /// delivers within moments instead of at its next poll.
    mail_wakeup: Arc<tokio::sync::Notify>,
    /// Signalled after a commit that queued a job, for the job workers (see `jobs`).
    job_wakeup: Arc<tokio::sync::Notify>,
    /// Seals webhook signing secrets at rest.
    webhook_sealer: crate::auth::Sealer,
    /// The WebAuthn relying party for passkeys, or why there is none (see `PasskeySite`).
    webauthn: Result<webauthn_rs::Webauthn, String>,
    /// Writes done after the answer was sent (see [`Services::in_background`]).
    background: Background,
    /// API-key calls of tenants without a daily call limit, per tenant and UTC day, not yet
    /// added to `api_call_counts` ([`Services::flush_api_calls`]): counting them needs no
    /// write per call.
    api_calls: std::sync::Mutex<std::collections::HashMap<(crate::domain::TenantId, String), i64>>,
    /// List pages kept while they are current (see `page_cache`).
    pages: page_cache::Pages,
}

/// Counts the writes running after their request has been answered, so that tests (and a
/// shutting-down server) can wait for them.
#[derive(Default)]
struct Background {
    running: std::sync::atomic::AtomicUsize,
    idle: tokio::sync::Notify,
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
        let sealer = crate::auth::Sealer::derive(config.secret_key(), "email-outbox-links");
        let webhook_sealer = crate::auth::Sealer::derive(config.secret_key(), "webhook-secrets");
        let limits = limits::Limits::new(&config.rate_limit, matches!(db, Db::Postgres(_)).then_some(&db));
        let webauthn = passkeys::build_relying_party(&config.passkeys);
        if let Err(why) = &webauthn {
            tracing::warn!(%why, "passkeys are off: set WEBAUTHN_RP_ID and WEBAUTHN_ORIGINS");
        }
        Self {
            inner: Arc::new(Inner {
                db,
                hasher: PasswordHasher::new(),
                jwt,
                sealer,
                webhook_sealer,
                webauthn,
                limits,
                config,
                mail_wakeup: Arc::new(tokio::sync::Notify::new()),
                job_wakeup: Arc::new(tokio::sync::Notify::new()),
                background: Background::default(),
                api_calls: Default::default(),
                pages: Default::default(),
            }),
        }
    }

    pub fn db(&self) -> &Db {
        &self.inner.db
    }

    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// The passkeys' relying party, or why passkeys are off.
    fn relying_party(&self) -> Result<&webauthn_rs::Webauthn, &str> {
        self.inner.webauthn.as_ref().map_err(String::as_str)
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

    /// Runs `work` after the current request is answered. Used where the writes a request
    /// causes depend on whether an account exists (a failed sign-in, a reset request): done
    /// inline they would make known accounts measurably slower to answer than unknown ones.
    /// A failure is logged; nothing waits for the outcome.
    pub(crate) fn in_background<F>(&self, what: &'static str, work: F)
    where
        F: std::future::Future<Output = ServiceResult<()>> + Send + 'static,
    {
        use std::sync::atomic::Ordering;
        let services = self.clone();
        services.inner.background.running.fetch_add(1, Ordering::SeqCst);
        tokio::spawn(async move {
            if let Err(error) = work.await {
                tracing::error!(error = %error, what, "background write failed");
            }
            if services.inner.background.running.fetch_sub(1, Ordering::SeqCst) == 1 {
                services.inner.background.idle.notify_waiters();
            }
        });
    }

    /// Waits until no background write is running (tests; graceful shutdown).
    pub async fn settled(&self) {
        use std::sync::atomic::Ordering;
        loop {
            let idle = self.inner.background.idle.notified();
            tokio::pin!(idle);
            idle.as_mut().enable();
            if self.inner.background.running.load(Ordering::SeqCst) == 0 {
                return;
            }
            idle.await;
        }
    }

    /// Counts an API-key call of a tenant without a daily limit, in memory.
    pub(crate) fn note_api_call(&self, tenant: crate::domain::TenantId, at: DateTime<Utc>) {
        let day = at.format("%Y-%m-%d").to_string();
        if let Ok(mut calls) = self.inner.api_calls.lock() {
            *calls.entry((tenant, day)).or_default() += 1;
        }
    }

    /// Adds the API-key calls counted in memory to `api_call_counts` (the events worker does
    /// this every second, and at shutdown). A failed write puts them back.
    pub async fn flush_api_calls(&self) -> ServiceResult<()> {
        let pending = match self.inner.api_calls.lock() {
            Ok(mut calls) if !calls.is_empty() => std::mem::take(&mut *calls),
            _ => return Ok(()),
        };
        let written = async {
            let mut tx = self.db().write().await?;
            for ((tenant, day), calls) in &pending {
                tx.add_api_calls(*tenant, day, *calls).await?;
            }
            tx.commit().await
        }
        .await;
        if let Err(error) = written {
            if let Ok(mut calls) = self.inner.api_calls.lock() {
                for (key, n) in pending {
                    *calls.entry(key).or_default() += n;
                }
            }
            return Err(error.into());
        }
        Ok(())
    }

    /// Opens the links the outbox keeps sealed (the mail worker; tests reading a sent link).
    pub fn sealer(&self) -> &crate::auth::Sealer {
        &self.inner.sealer
    }

    /// Opens and seals webhook signing secrets.
    pub fn webhook_sealer(&self) -> &crate::auth::Sealer {
        &self.inner.webhook_sealer
    }

    /// Enqueues a message in the caller's transaction, its link sealed.
    pub(crate) async fn enqueue_mail(&self, tx: &mut Tx, email: crate::store::NewEmail) -> ServiceResult<()> {
        tx.enqueue_email(&crate::store::SealedEmail::seal(email, self.sealer()), now()).await?;
        Ok(())
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
    /// The API key that acted (then `actor` is `None`): named in the row's metadata.
    pub key: Option<&'a actor::KeyActor>,
}

impl Audit<'_> {
    /// The row [`Audit::write`] records, for a caller that writes it in a statement of its
    /// own (an action that announces no webhook event).
    pub fn entry(
        &self,
        tenant: Option<crate::domain::TenantId>,
        action: crate::domain::AuditAction,
        resource_type: &'static str,
        resource_id: Option<String>,
        mut metadata: serde_json::Value,
    ) -> NewAuditEntry {
        if let (Some(key), serde_json::Value::Object(map)) = (self.key, &mut metadata) {
            map.insert("api_key".into(), serde_json::json!({"id": key.id, "name": key.name}));
        }
        NewAuditEntry {
            tenant_id: tenant,
            actor_id: self.actor.map(|(id, _)| *id),
            actor_email: self.actor.map(|(_, email)| email.to_owned()),
            action,
            resource_type,
            resource_id,
            metadata,
            ip_address: self.meta.ip.map(|ip| ip.to_string()),
            user_agent: self.meta.user_agent.clone(),
        }
    }

    pub async fn write(
        &self,
        tx: &mut Tx,
        tenant: Option<crate::domain::TenantId>,
        action: crate::domain::AuditAction,
        resource_type: &'static str,
        resource_id: Option<String>,
        metadata: serde_json::Value,
    ) -> ServiceResult<()> {
        let entry = self.entry(tenant, action, resource_type, resource_id, metadata);
        tx.insert_audit(&entry, now()).await?;
        // The change's webhook events, in its transaction (see `events`).
        let (announced, event_tenant) = match tenant {
            Some(tenant) => (events::events_of(&entry.action), Some(tenant)),
            None => (events::platform_events_of(&entry.action), entry.resource_id.as_deref().and_then(|id| id.parse().ok()).map(crate::domain::TenantId)),
        };
        if !announced.is_empty() {
            let actor = match (self.actor, self.key) {
                (Some((id, email)), _) => events::EventActor::User { id: id.0, email },
                (None, Some(key)) => events::EventActor::ApiKey { id: key.id, name: &key.name },
                (None, None) => events::EventActor::System,
            };
            for event in announced {
                let data = events::event_data(*event, resource_type, entry.resource_id.as_deref(), &entry.metadata, &actor);
                events::write_event(tx, event_tenant, *event, data).await?;
            }
        }
        Ok(())
    }
}
