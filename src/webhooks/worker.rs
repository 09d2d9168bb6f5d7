//! The events worker: webhooks out, and the bookkeeping of the tenant metrics (daily
//! roll-ups, API-call counts kept in memory). Each pass:
//! 1. fans the events written since the last pass out to the endpoints subscribed to them (one
//!    delivery per event and endpoint), in event order, one fan-out at a time across replicas;
//! 2. notices invitations that expired unaccepted (`invitation.expired`);
//! 3. claims endpoints with a delivery due and sends their deliveries oldest first. An endpoint
//!    is held by one worker at a time (a lease in the database, so a worker that dies lets go
//!    after it), and a failed delivery holds back the ones after it: receivers see events in
//!    order. A failure is retried with the e-mail outbox's backoff (5 s doubling, at most an
//!    hour apart) until three days have passed since its first attempt; then it is marked
//!    failed, the endpoint is switched off, and its owners are told by e-mail.

use std::{future::Future, time::Duration};

use chrono::{DateTime, SubsecRound, Utc};
use futures_util::StreamExt;
use serde_json::json;

use super::Sender;
use crate::{
    backoff::{jittered, retry_delay},
    domain::{AuditAction, EventType, WebhookSecret},
    service::{events::EVENTS_WRITTEN, RequestMeta, Services},
    store::{AttemptRecord, DeliveryToSend, Outcome, Webhook},
    ServiceResult,
};

#[derive(Debug, Clone)]
pub struct WebhookWorkerOptions {
    /// How long a claimed endpoint is this worker's alone (a worker that dies lets go after it).
    pub lease: Duration,
    /// Endpoints claimed per pass.
    pub endpoints_per_pass: i64,
    /// Deliveries read at a time per endpoint.
    pub batch: i64,
    /// Endpoints sent to at once.
    pub concurrency: usize,
    /// Events fanned out per transaction.
    pub fan_out_batch: i64,
    /// How often to look for work when nothing wakes the worker.
    pub poll_interval: Duration,
    /// A delivery failing for this long since its first attempt is given up.
    pub give_up_after: Duration,
    /// Finished deliveries are deleted after this long.
    pub retention: Duration,
}

impl WebhookWorkerOptions {
    pub fn for_services(services: &Services) -> Self {
        Self {
            lease: Duration::from_secs(300),
            endpoints_per_pass: 32,
            batch: 100,
            concurrency: 8,
            fan_out_batch: 500,
            poll_interval: Duration::from_secs(1),
            give_up_after: Duration::from_secs(3 * 86_400),
            retention: services.config().outbox_retention,
        }
    }
}

/// What one pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pass {
    /// Events fanned out, and the deliveries they made.
    pub events: usize,
    pub deliveries_made: usize,
    /// Invitations noticed as expired.
    pub expired_invitations: usize,
    /// Endpoints claimed, deliveries that succeeded, attempts that failed, deliveries given up.
    pub endpoints: usize,
    pub sent: usize,
    pub failed_attempts: usize,
    pub given_up: usize,
}

/// Invitations noticed as expired per transaction.
const NOTICE_BATCH: i64 = 500;

/// How long the worker lets new events gather after being woken, before its next pass: under
/// a steady stream of writes, passes back to back would each fan out and send a handful of
/// events in four write transactions of their own, taking turns with the writes for SQLite's
/// single writer (a webhook cost SQLite invitations 9–14% of their rate). Events wait at most
/// this long more before they go out.
const GATHER: Duration = Duration::from_millis(50);

impl Pass {
    /// Whether the pass left work that was already waiting when it began: it claimed as many
    /// endpoints as a pass may, or noticed a full batch of expiries. Then the next pass starts
    /// at once; otherwise everything it found is done (its fan-out drains every batch, each
    /// endpoint's deliveries are sent until none is left or one fails), and the next pass
    /// waits for new events to gather.
    pub(crate) fn left_work(&self, options: &WebhookWorkerOptions) -> bool {
        self.endpoints as i64 >= options.endpoints_per_pass || self.expired_invitations as i64 >= NOTICE_BATCH
    }
}

fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

fn chrono_duration(d: Duration) -> chrono::Duration {
    chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX)
}

/// One whole pass as if the time were `now`.
pub async fn pass_at(services: &Services, sender: &Sender, options: &WebhookWorkerOptions, now: DateTime<Utc>) -> ServiceResult<Pass> {
    let mut pass = Pass { expired_invitations: notice_expired_invitations(services, now).await?, ..Pass::default() };
    loop {
        let (events, deliveries) = fan_out(services, options, now).await?;
        pass.events += events;
        pass.deliveries_made += deliveries;
        if (events as i64) < options.fan_out_batch {
            break;
        }
    }
    let delivered = deliver_due_at(services, sender, options, now).await?;
    Ok(Pass { endpoints: delivered.endpoints, sent: delivered.sent, failed_attempts: delivered.failed_attempts, given_up: delivered.given_up, ..pass })
}

/// Fans out up to one batch of events; `(events, deliveries made)`.
pub async fn fan_out(services: &Services, options: &WebhookWorkerOptions, now: DateTime<Utc>) -> ServiceResult<(usize, usize)> {
    // A read first: an idle worker should not take SQLite's write lock every poll.
    if !services.db().read().await?.any_unfanned_event().await? {
        return Ok((0, 0));
    }
    let mut tx = services.db().write().await?;
    // One fan-out at a time across replicas, so that deliveries are made in event order.
    if !tx.try_lock_fan_out().await? {
        return Ok((0, 0));
    }
    let events = tx.unfanned_events(options.fan_out_batch).await?;
    if events.is_empty() {
        return Ok((0, 0));
    }
    let subscribers = tx.active_subscribers().await?;
    let mut deliveries = Vec::new();
    let mut touched = std::collections::BTreeSet::new();
    for event in &events {
        let Some(kind) = EventType::parse(&event.event_type) else { continue };
        // An endpoint hears of what happened since it was made, nothing before.
        for subscriber in subscribers.iter().filter(|s| s.created_at <= event.created_at) {
            let receives = match subscriber.tenant_id {
                Some(tenant) => event.tenant_id == Some(tenant) && subscriber.events.0.matches(kind),
                // The platform's endpoints hear about tenants, of every tenant.
                None => kind.group() == "tenant" && subscriber.events.0.matches(kind),
            };
            if receives {
                deliveries.push((subscriber.id, subscriber.tenant_id, event));
                touched.insert(subscriber.id);
            }
        }
    }
    tx.insert_deliveries(&deliveries, now).await?;
    for id in touched {
        tx.make_webhook_due(id, now).await?;
    }
    let seqs: Vec<i64> = events.iter().map(|e| e.seq).collect();
    tx.finish_fan_out(&seqs).await?;
    tx.commit().await?;
    Ok((events.len(), deliveries.len()))
}

/// Announces invitations that expired unaccepted since the last look: an audit row each, which
/// writes its `invitation.expired` event.
pub async fn notice_expired_invitations(services: &Services, now: DateTime<Utc>) -> ServiceResult<usize> {
    // A read first: the common answer is "none", and it should not take SQLite's write lock.
    if !services.db().read().await?.any_invitation_expired_unnoticed(now).await? {
        return Ok(0);
    }
    let mut tx = services.db().write().await?;
    let expired = tx.notice_expired_invitations(now, NOTICE_BATCH).await?;
    let meta = RequestMeta::default();
    for (id, tenant, email, role) in &expired {
        crate::service::Audit { meta: &meta, actor: None, key: None }
            .write(&mut tx, Some(*tenant), AuditAction::InvitationExpired, "invitation", Some(id.to_string()), json!({"email": email, "role": role, "by": "expiry"}))
            .await?;
    }
    tx.commit().await?;
    Ok(expired.len())
}

/// Claims the endpoints due at `now` and sends their deliveries.
pub async fn deliver_due_at(services: &Services, sender: &Sender, options: &WebhookWorkerOptions, now: DateTime<Utc>) -> ServiceResult<Pass> {
    if !services.db().read().await?.any_webhook_due(now).await? {
        return Ok(Pass::default());
    }
    let claimed = {
        let mut tx = services.db().write().await?;
        let claimed = tx.claim_due_webhooks(now, now + chrono_duration(options.lease), options.endpoints_per_pass).await?;
        tx.commit().await?;
        claimed
    };
    let endpoints = claimed.len();
    let results: Vec<ServiceResult<Pass>> =
        futures_util::stream::iter(claimed).map(|hook| deliver_to(services, sender, options, hook, now)).buffer_unordered(options.concurrency.max(1)).collect().await;
    let mut pass = Pass { endpoints, ..Pass::default() };
    for result in results {
        let one = result?;
        pass.sent += one.sent;
        pass.failed_attempts += one.failed_attempts;
        pass.given_up += one.given_up;
    }
    Ok(pass)
}

/// The secrets that sign for an endpoint now: its current one, and the one it replaced while
/// that still signs. A secret sealed under another `SECRET_KEY` cannot be opened.
fn signing_secrets(services: &Services, hook: &Webhook, now: DateTime<Utc>) -> Vec<WebhookSecret> {
    let open = |sealed: &str| services.webhook_sealer().open(sealed).and_then(|text| WebhookSecret::parse(&text));
    let mut secrets: Vec<WebhookSecret> = open(&hook.secret).into_iter().collect();
    if hook.previous_secret_expires_at.is_some_and(|until| until > now) {
        secrets.extend(hook.previous_secret.as_deref().and_then(open));
    }
    secrets
}

/// Sends one claimed endpoint's deliveries in order until one fails, nothing is left, or half
/// the lease is used; then lets the endpoint go, due again when its next delivery is.
async fn deliver_to(services: &Services, sender: &Sender, options: &WebhookWorkerOptions, hook: Webhook, claimed_at: DateTime<Utc>) -> ServiceResult<Pass> {
    let started = std::time::Instant::now();
    let mut pass = Pass::default();
    let secrets = signing_secrets(services, &hook, claimed_at);
    loop {
        let batch = services.db().read().await?.deliveries_to_send(hook.id, options.batch).await?;
        if batch.is_empty() {
            let mut tx = services.db().write().await?;
            tx.release_webhook(hook.id, None, now().max(claimed_at)).await?;
            tx.commit().await?;
            return Ok(pass);
        }
        let full = batch.len() as i64 >= options.batch;
        let mut sent: Vec<(&DeliveryToSend, AttemptRecord)> = Vec::new();
        let mut failed: Option<(&DeliveryToSend, AttemptRecord)> = None;
        let mut out_of_time = false;
        for delivery in &batch {
            if started.elapsed() >= options.lease / 2 {
                out_of_time = true;
                break;
            }
            let at = now().max(claimed_at);
            let attempt = if secrets.is_empty() {
                AttemptRecord { at, status: None, duration_ms: 0, error: Some("the signing secret cannot be opened (SECRET_KEY changed): rotate the secret".into()) }
            } else {
                sender.send(&hook.url, &delivery.event_id.to_string(), &secrets, &delivery.payload, at).await
            };
            let ok = attempt.error.is_none();
            metrics::counter!("tenantry_delivery_attempts_total", "kind" => "webhook", "outcome" => if ok { "success" } else { "failure" }).increment(1);
            if ok {
                sent.push((delivery, attempt));
            } else {
                failed = Some((delivery, attempt));
                break;
            }
        }
        let mut tx = services.db().write().await?;
        tx.record_successes(&sent).await?;
        pass.sent += sent.len();
        match failed {
            Some((delivery, attempt)) => {
                pass.failed_attempts += 1;
                let first = delivery.first_attempt_at.unwrap_or(attempt.at);
                if attempt.at - first >= chrono_duration(options.give_up_after) {
                    tx.record_attempt(delivery, &attempt, &Outcome::Failed).await?;
                    let error = attempt.error.clone().unwrap_or_default();
                    let reason = format!("Deliveries failed for {} days (last: {error}).", options.give_up_after.as_secs() / 86_400);
                    tx.disable_webhook(hook.id, &reason, attempt.at).await?;
                    tell_owners(services, &mut tx, &hook, first, &error).await?;
                    pass.given_up += 1;
                    tracing::warn!(webhook_id = %hook.id, delivery_id = %delivery.id, error = %error, "webhook delivery given up; endpoint disabled");
                } else {
                    tx.record_attempt(delivery, &attempt, &Outcome::WillRetry).await?;
                    let delay = jittered(retry_delay(delivery.attempts + 1));
                    tx.release_webhook(hook.id, Some(attempt.at + chrono_duration(delay)), attempt.at).await?;
                    tracing::info!(webhook_id = %hook.id, delivery_id = %delivery.id, attempt = delivery.attempts + 1, retry_in_secs = delay.as_secs(), error = ?attempt.error, "webhook delivery failed; will retry");
                }
                tx.commit().await?;
                return Ok(pass);
            }
            None if out_of_time || !full => {
                // Due again at once if anything is left (or arrived meanwhile).
                tx.release_webhook(hook.id, None, now().max(claimed_at)).await?;
                tx.commit().await?;
                return Ok(pass);
            }
            None => tx.commit().await?,
        }
    }
}

/// Tells whoever answers for a switched-off endpoint: the tenant's admins, or for a platform
/// endpoint the person who made it.
async fn tell_owners(services: &Services, tx: &mut crate::store::Tx, hook: &Webhook, failing_since: DateTime<Utc>, error: &str) -> ServiceResult<()> {
    let (owner, recipients) = match hook.tenant_id {
        Some(tenant) => {
            let name = tx.tenant(tenant).await?.map(|t| t.name).unwrap_or_default();
            (name, tx.admin_emails(tenant).await?)
        }
        None => {
            let creator = match hook.created_by {
                Some(id) => tx.user(id).await?.map(|u| u.email),
                None => None,
            };
            ("the platform".to_owned(), creator.into_iter().collect())
        }
    };
    let since = failing_since.format("%Y-%m-%d %H:%M UTC").to_string();
    for to in recipients {
        let mut mail = crate::mail::templates::webhook_disabled(&to, &owner, &hook.url, &since, error);
        mail.tenant_id = hook.tenant_id;
        services.enqueue_mail(tx, mail).await?;
    }
    Ok(())
}

/// Housekeeping: finished deliveries past their retention go, an endpoint left with pending
/// deliveries but no due time (a release that raced a fan-out) becomes due, ended sign-in
/// steps are forgotten, the days that ended are rolled up for the tenant metrics, and spent rate-limit windows are forgotten.
pub async fn tidy(services: &Services, options: &WebhookWorkerOptions, now: DateTime<Utc>) -> ServiceResult<u64> {
    let mut tx = services.db().write().await?;
    let purged = tx.purge_deliveries(now - chrono_duration(options.retention)).await?;
    tx.rearm_stalled_webhooks(now).await?;
    // Sign-in steps and passkey ceremonies live minutes; an hour after they end they go.
    tx.forget_spent_sign_in_steps(now - chrono::Duration::hours(1)).await?;
    tx.commit().await?;
    services.roll_up_metrics(now, 31).await?;
    services.forget_old_rate_limits(now).await?;
    Ok(purged)
}

/// Runs until `shutdown` completes: a pass [`GATHER`] after a change writes an event (so the
/// events written meanwhile go out in the same pass), or when the poll interval passes; the
/// API calls counted in memory written at most once a poll interval; housekeeping every
/// minute. A pass in progress finishes first, so no claimed endpoint is left mid-send.
pub async fn run(services: Services, sender: Sender, options: WebhookWorkerOptions, shutdown: impl Future<Output = ()>) {
    tokio::pin!(shutdown);
    tracing::info!("webhook worker started");
    let mut last_tidy: Option<std::time::Instant> = None;
    let mut last_flush: Option<std::time::Instant> = None;
    loop {
        if last_tidy.is_none_or(|at| at.elapsed() >= Duration::from_secs(60)) {
            last_tidy = Some(std::time::Instant::now());
            if let Err(error) = tidy(&services, &options, now()).await {
                tracing::warn!(error = %error, "webhook housekeeping failed; trying again in a minute");
            }
        }
        if last_flush.is_none_or(|at| at.elapsed() >= options.poll_interval) {
            last_flush = Some(std::time::Instant::now());
            if let Err(error) = services.flush_api_calls().await {
                tracing::warn!(error = %error, "writing the API-call counts failed; they are kept for the next try");
            }
        }
        loop {
            match pass_at(&services, &sender, &options, now()).await {
                Ok(pass) if pass.left_work(&options) => continue,
                Ok(_) => break,
                Err(error) => {
                    tracing::error!(error = %error, "webhook pass failed; retrying at the next poll");
                    break;
                }
            }
        }
        tokio::select! {
            () = &mut shutdown => break,
            () = EVENTS_WRITTEN.notified() => tokio::time::sleep(GATHER).await,
            () = tokio::time::sleep(options.poll_interval) => {}
        }
    }
    if let Err(error) = services.flush_api_calls().await {
        tracing::warn!(error = %error, "writing the last API-call counts failed");
    }
    tracing::info!("webhook worker stopped");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_pass_cut_short_by_its_limits_goes_straight_on() {
        let options = WebhookWorkerOptions {
            lease: Duration::from_secs(300),
            endpoints_per_pass: 4,
            batch: 100,
            concurrency: 8,
            fan_out_batch: 500,
            poll_interval: Duration::from_secs(1),
            give_up_after: Duration::from_secs(3 * 86_400),
            retention: Duration::from_secs(86_400),
        };
        let pass = |endpoints: usize, expired_invitations: usize| Pass { events: 40, sent: 40, endpoints, expired_invitations, ..Pass::default() };
        assert!(!pass(0, 0).left_work(&options), "events fanned out and sent: new ones gather first");
        assert!(!pass(3, 499).left_work(&options));
        assert!(pass(4, 0).left_work(&options), "more endpoints may be due");
        assert!(pass(0, 500).left_work(&options), "more expiries may be waiting");
    }
}
