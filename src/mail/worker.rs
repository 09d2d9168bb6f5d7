//! The outbox worker: claims due messages, opens each one's sealed link, hands it to the
//! [`Mailer`], and records the outcome. A failed message stays pending and is retried with
//! exponential backoff; no unsent row is ever deleted or given up on. Sent rows are deleted
//! after the retention period. Delivery is at least once: a worker that dies after the
//! provider accepted a message but before recording it lets its lease lapse, and the message
//! goes out again.

use std::{future::Future, sync::Arc, time::Duration};

use chrono::{DateTime, SubsecRound, Utc};
use tokio::sync::Notify;

use super::{Mailer, Outgoing};
use crate::{auth::Sealer, store::Db};

/// Tuning of the worker; [`WorkerOptions::new`] gives what `serve` and `worker` use.
#[derive(Debug, Clone)]
pub struct WorkerOptions {
    /// Opens the links sealed in the outbox (`Services::sealer`).
    pub sealer: Sealer,
    /// Sent messages older than this are deleted.
    pub retention: Duration,
    /// How long a claimed message is reserved for this worker. Only matters when a worker dies
    /// mid-pass: its messages become due again after this.
    pub lease: Duration,
    /// Messages claimed per pass.
    pub batch: i64,
    /// The fallback when no wake-up comes: look for due messages (retries) this often.
    pub poll_interval: Duration,
}

impl WorkerOptions {
    pub fn new(sealer: Sealer) -> Self {
        Self {
            sealer,
            retention: Duration::from_secs(30 * 86_400),
            lease: Duration::from_secs(300),
            batch: 20,
            poll_interval: Duration::from_secs(5),
        }
    }

    /// The options for a running service: its sealer and configured retention.
    pub fn for_services(services: &crate::service::Services) -> Self {
        Self { retention: services.config().outbox_retention, ..Self::new(services.sealer().clone()) }
    }
}

/// What one pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pass {
    pub claimed: usize,
    pub sent: usize,
    pub failed: usize,
}

pub use crate::backoff::retry_delay;
use crate::backoff::jittered;

fn now() -> DateTime<Utc> {
    // Microseconds: what both databases store.
    Utc::now().trunc_subsecs(6)
}

fn chrono_duration(d: Duration) -> chrono::Duration {
    chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX)
}

/// One pass over the messages due now. See [`deliver_due_at`].
pub async fn deliver_due(db: &Db, mailer: &Mailer, options: &WorkerOptions) -> Result<Pass, sqlx::Error> {
    deliver_due_at(db, mailer, options, now()).await
}

/// One pass as if the time were `now`: claims up to `options.batch` due messages (committing
/// the claim before any network I/O, so no transaction is held while a provider answers),
/// sends each, and records it as sent (with the provider's id) or failed (attempt count, error
/// text and the time of the next attempt).
pub async fn deliver_due_at(db: &Db, mailer: &Mailer, options: &WorkerOptions, now: DateTime<Utc>) -> Result<Pass, sqlx::Error> {
    let claimed = {
        let mut tx = db.write().await?;
        let rows = tx.claim_due_emails(now, now + chrono_duration(options.lease), options.batch).await?;
        tx.commit().await?;
        rows
    };
    let mut pass = Pass { claimed: claimed.len(), ..Pass::default() };
    for row in &claimed {
        let outcome = match row.open(&options.sealer) {
            Ok(opened) => mailer.send(Outgoing::from(&opened)).await.map_err(|e| e.to_string()),
            Err(reason) => Err(reason),
        };
        let mut tx = db.write().await?;
        match outcome {
            Ok(provider_id) => {
                metrics::counter!("tenantry_delivery_attempts_total", "kind" => "email", "outcome" => "success").increment(1);
                tx.mark_email_sent(row.id, &provider_id, self::now().max(now)).await?;
                tx.commit().await?;
                pass.sent += 1;
                tracing::info!(email_id = %row.id, kind = %row.kind, provider = mailer.provider_name(), provider_message_id = %provider_id, attempt = row.attempts + 1, "e-mail sent");
            }
            Err(error) => {
                metrics::counter!("tenantry_delivery_attempts_total", "kind" => "email", "outcome" => "failure").increment(1);
                let attempts = row.attempts + 1;
                let delay = jittered(retry_delay(attempts));
                let retry_at = now + chrono_duration(delay);
                let text = error;
                tx.mark_email_failed(row.id, &text, retry_at).await?;
                tx.commit().await?;
                pass.failed += 1;
                tracing::warn!(email_id = %row.id, kind = %row.kind, provider = mailer.provider_name(), attempt = attempts, retry_in_secs = delay.as_secs(), error = %text, "e-mail not sent; will retry");
            }
        }
    }
    Ok(pass)
}

/// Deletes the messages sent more than `options.retention` before `now`.
pub async fn purge_sent(db: &Db, options: &WorkerOptions, now: DateTime<Utc>) -> Result<u64, sqlx::Error> {
    let mut tx = db.write().await?;
    let purged = tx.purge_sent_emails(now - chrono_duration(options.retention)).await?;
    tx.commit().await?;
    Ok(purged)
}

/// Runs until `shutdown` completes: delivers everything due, then sleeps until `wakeup` is
/// signalled (a commit that enqueued mail) or the poll interval passes. A pass in progress
/// finishes before shutdown is honoured, so no claimed message is left mid-send.
pub async fn run(db: Db, mailer: Arc<Mailer>, wakeup: Arc<Notify>, options: WorkerOptions, shutdown: impl Future<Output = ()>) {
    tokio::pin!(shutdown);
    tracing::info!(provider = mailer.provider_name(), "e-mail outbox worker started");
    let mut last_purge: Option<std::time::Instant> = None;
    loop {
        if last_purge.is_none_or(|at| at.elapsed() >= Duration::from_secs(3600)) {
            last_purge = Some(std::time::Instant::now());
            match purge_sent(&db, &options, self::now()).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(purged = n, "sent e-mails past their retention deleted"),
                Err(error) => tracing::warn!(error = %error, "purging sent e-mails failed; trying again in an hour"),
            }
        }
        loop {
            match deliver_due(&db, &mailer, &options).await {
                // A full batch: there may be more due right now.
                Ok(pass) if pass.claimed as i64 >= options.batch => continue,
                Ok(_) => break,
                Err(error) => {
                    tracing::error!(error = %error, "e-mail outbox pass failed (database); retrying at the next poll");
                    break;
                }
            }
        }
        tokio::select! {
            () = &mut shutdown => break,
            () = wakeup.notified() => {}
            () = tokio::time::sleep(options.poll_interval) => {}
        }
    }
    tracing::info!("e-mail outbox worker stopped");
}
