//! Webhook endpoints, the events changes write, and their deliveries. Every lookup of an
//! endpoint or a delivery takes its owner: `Some(tenant)`, or `None` for the platform's own
//! endpoints, so a tenant's id can never reach another's rows (or the platform's) through here.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{on, Backend, Reader, Tx};
use crate::domain::{EventSelection, TenantId, UserId};

/// An endpoint as stored; its secrets are sealed ([`crate::auth::Sealer`]).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Webhook {
    pub id: Uuid,
    /// `None`: a platform endpoint.
    pub tenant_id: Option<TenantId>,
    pub url: String,
    pub description: String,
    #[sqlx(try_from = "String")]
    pub events: EventsColumn,
    pub active: bool,
    pub secret: String,
    pub previous_secret: Option<String>,
    pub previous_secret_expires_at: Option<DateTime<Utc>>,
    pub created_by: Option<UserId>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub disabled_at: Option<DateTime<Utc>>,
    pub disabled_reason: Option<String>,
}

/// The `events` column: a JSON list, decoded into what it selects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventsColumn(pub EventSelection);

impl TryFrom<String> for EventsColumn {
    type Error = String;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        let items: Vec<String> = serde_json::from_str(&value).map_err(|e| format!("stored webhook events: {e}"))?;
        Ok(Self(EventSelection::from_stored(&items)))
    }
}

fn events_text(events: &EventSelection) -> String {
    serde_json::Value::from(events.to_list()).to_string()
}

/// A new delivery's id: time-ordered (v7), so a fan-out's deliveries go onto the last page or
/// two of the primary-key index together instead of onto a random page each (every page a
/// commit dirties is written to SQLite's WAL and back).
fn delivery_id() -> Uuid {
    Uuid::now_v7()
}

/// Rows per multi-row statement: SQLite takes at most 32,766 bound values in one.
const BATCH_ROWS: usize = 500;

/// A delivery's attempt log with `attempt` added, the oldest falling off past
/// [`ATTEMPT_LOG_SIZE`], as stored.
fn log_with(delivery: &DeliveryToSend, attempt: &AttemptRecord) -> String {
    let mut log = delivery.attempt_log.0.clone();
    log.push(attempt.clone());
    if log.len() > ATTEMPT_LOG_SIZE {
        log.drain(..log.len() - ATTEMPT_LOG_SIZE);
    }
    serde_json::to_string(&log).unwrap_or_else(|_| "[]".into())
}

fn duration_ms(attempt: &AttemptRecord) -> i32 {
    attempt.duration_ms.min(i64::from(i32::MAX)) as i32
}

/// The advisory lock that makes one fan-out at a time on PostgreSQL (an arbitrary constant).
const FAN_OUT_LOCK: i64 = 0x7465_6e61_6e74;

const WEBHOOK_COLUMNS: &str = "id, tenant_id, url, description, events, active, secret, previous_secret, previous_secret_expires_at, \
                               created_by, created_at, updated_at, next_attempt_at, disabled_at, disabled_reason";

/// The owner condition every endpoint lookup carries: `$1` is the tenant, or NULL for the
/// platform.
const OWNED_BY: &str = "(tenant_id = $1 OR ($1 IS NULL AND tenant_id IS NULL))";

pub struct NewWebhook<'a> {
    pub tenant_id: Option<TenantId>,
    pub url: &'a str,
    pub description: &'a str,
    pub events: &'a EventSelection,
    pub active: bool,
    pub sealed_secret: &'a str,
    pub created_by: Option<UserId>,
}

/// What a `PATCH` changes; `None` keeps the stored value.
#[derive(Debug, Default)]
pub struct WebhookChange {
    pub url: Option<String>,
    pub description: Option<String>,
    pub events: Option<EventSelection>,
    pub active: Option<bool>,
}

/// A delivery as listed.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Delivery {
    pub id: Uuid,
    pub webhook_id: Uuid,
    pub event_id: Uuid,
    pub event_type: String,
    pub status: String,
    pub attempts: i32,
    #[sqlx(try_from = "String")]
    pub attempt_log: super::JsonColumn<Vec<AttemptRecord>>,
    pub last_status: Option<i32>,
    pub last_error: Option<String>,
    pub last_duration_ms: Option<i32>,
    pub created_at: DateTime<Utc>,
    pub first_attempt_at: Option<DateTime<Utc>>,
    pub completed_at: Option<DateTime<Utc>>,
}

const DELIVERY_COLUMNS: &str = "id, webhook_id, event_id, event_type, status, attempts, attempt_log, last_status, last_error, \
                                last_duration_ms, created_at, first_attempt_at, completed_at";

/// One attempt, as kept in a delivery's log (never the response body).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct AttemptRecord {
    pub at: DateTime<Utc>,
    /// The HTTP status, or `None` when no answer came (refused, timed out, blocked address).
    pub status: Option<i32>,
    pub duration_ms: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// How many attempts a delivery's log keeps (the oldest fall off).
pub const ATTEMPT_LOG_SIZE: usize = 20;

/// A delivery on its way out, with the event's body.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DeliveryToSend {
    pub id: Uuid,
    pub event_id: Uuid,
    pub event_seq: i64,
    pub attempts: i32,
    #[sqlx(try_from = "String")]
    pub attempt_log: super::JsonColumn<Vec<AttemptRecord>>,
    pub first_attempt_at: Option<DateTime<Utc>>,
    pub payload: String,
}

/// An event not yet fanned out to its endpoints.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PendingEvent {
    pub seq: i64,
    pub id: Uuid,
    pub tenant_id: Option<TenantId>,
    #[sqlx(rename = "type")]
    pub event_type: String,
    pub created_at: DateTime<Utc>,
}

/// An endpoint as the fan-out sees it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Subscriber {
    pub id: Uuid,
    pub tenant_id: Option<TenantId>,
    #[sqlx(try_from = "String")]
    pub events: EventsColumn,
    pub created_at: DateTime<Utc>,
}

/// What became of one attempt, as the worker records it.
#[derive(Debug, Clone)]
pub enum Outcome {
    Succeeded,
    /// Pending still; tried again when its endpoint is next due.
    WillRetry,
    /// Given up: no more attempts.
    Failed,
}

impl Reader {

    /// One endpoint of `owner` (a tenant, or `None` for the platform).
    #[tracing::instrument(skip_all)]
    pub async fn webhook(&mut self, owner: Option<TenantId>, id: Uuid) -> Result<Option<Webhook>, sqlx::Error> {
        let sql = format!("SELECT {WEBHOOK_COLUMNS} FROM webhooks WHERE {OWNED_BY} AND id = $2");
        on!(self, c => sqlx::query_as(&sql).bind(owner).bind(id).fetch_optional(c).await)
    }

    /// Every endpoint of `owner`, oldest first.
    #[tracing::instrument(skip_all)]
    pub async fn webhooks(&mut self, owner: Option<TenantId>) -> Result<Vec<Webhook>, sqlx::Error> {
        let sql = format!("SELECT {WEBHOOK_COLUMNS} FROM webhooks WHERE {OWNED_BY} ORDER BY created_at, id");
        on!(self, c => sqlx::query_as(&sql).bind(owner).fetch_all(c).await)
    }

    /// The oldest events not fanned out yet.
    #[tracing::instrument(skip_all)]
    pub async fn unfanned_events(&mut self, limit: i64) -> Result<Vec<PendingEvent>, sqlx::Error> {
        on!(self, c => sqlx::query_as("SELECT seq, id, tenant_id, type, created_at FROM webhook_events WHERE NOT fanned_out ORDER BY seq LIMIT $1")
            .bind(limit).fetch_all(c).await)
    }

    /// Every active endpoint, for the fan-out.
    #[tracing::instrument(skip_all)]
    pub async fn active_subscribers(&mut self) -> Result<Vec<Subscriber>, sqlx::Error> {
        on!(self, c => sqlx::query_as("SELECT id, tenant_id, events, created_at FROM webhooks WHERE active").fetch_all(c).await)
    }

    /// Whether any event waits for its fan-out.
    #[tracing::instrument(skip_all)]
    pub async fn any_unfanned_event(&mut self) -> Result<bool, sqlx::Error> {
        on!(self, c => sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM webhook_events WHERE NOT fanned_out)").fetch_one(c).await)
    }

    /// Whether any endpoint is due: a read that spares an idle worker the write of a claim.
    #[tracing::instrument(skip_all)]
    pub async fn any_webhook_due(&mut self, now: DateTime<Utc>) -> Result<bool, sqlx::Error> {
        on!(self, c => sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM webhooks WHERE active AND next_attempt_at <= $1 AND (locked_until IS NULL OR locked_until < $1))")
            .bind(now).fetch_one(c).await)
    }

    /// The next deliveries of an endpoint, in event order.
    #[tracing::instrument(skip_all)]
    pub async fn deliveries_to_send(&mut self, webhook: Uuid, limit: i64) -> Result<Vec<DeliveryToSend>, sqlx::Error> {
        on!(self, c => sqlx::query_as(
            "SELECT d.id, d.event_id, d.event_seq, d.attempts, d.attempt_log, d.first_attempt_at, e.payload \
             FROM webhook_deliveries d JOIN webhook_events e ON e.seq = d.event_seq \
             WHERE d.webhook_id = $1 AND d.status = 'pending' ORDER BY d.event_seq LIMIT $2")
            .bind(webhook).bind(limit).fetch_all(c).await)
    }

    /// An endpoint's deliveries, newest first, `limit` after `offset`, and how many there are.
    #[tracing::instrument(skip_all)]
    pub async fn deliveries(&mut self, owner: Option<TenantId>, webhook: Uuid, limit: i64, offset: i64) -> Result<(Vec<Delivery>, i64), sqlx::Error> {
        let sql = format!(
            "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries WHERE (tenant_id = $1 OR ($1 IS NULL AND tenant_id IS NULL)) \
             AND webhook_id = $2 ORDER BY created_at DESC, event_seq DESC LIMIT $3 OFFSET $4"
        );
        let rows = on!(self, c => sqlx::query_as(&sql).bind(owner).bind(webhook).bind(limit).bind(offset).fetch_all(c).await)?;
        let count: i64 = on!(self, c => sqlx::query_scalar(
            "SELECT COUNT(*) FROM webhook_deliveries WHERE (tenant_id = $1 OR ($1 IS NULL AND tenant_id IS NULL)) AND webhook_id = $2")
            .bind(owner).bind(webhook).fetch_one(c).await)?;
        Ok((rows, count))
    }

    #[tracing::instrument(skip_all)]
    pub async fn delivery(&mut self, owner: Option<TenantId>, webhook: Uuid, id: Uuid) -> Result<Option<Delivery>, sqlx::Error> {
        let sql = format!(
            "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries WHERE (tenant_id = $1 OR ($1 IS NULL AND tenant_id IS NULL)) \
             AND webhook_id = $2 AND id = $3"
        );
        on!(self, c => sqlx::query_as(&sql).bind(owner).bind(webhook).bind(id).fetch_optional(c).await)
    }

    /// Outbox depth for the metrics: pending deliveries and the age of the oldest one's event.
    #[tracing::instrument(skip_all)]
    pub async fn webhook_backlog(&mut self) -> Result<(i64, Option<DateTime<Utc>>), sqlx::Error> {
        on!(self, c => sqlx::query_as("SELECT COUNT(*), MIN(created_at) FROM webhook_deliveries WHERE status = 'pending'").fetch_one(c).await)
    }
}

impl Tx {
    #[tracing::instrument(skip_all)]
    pub async fn insert_webhook(&mut self, new: NewWebhook<'_>, now: DateTime<Utc>) -> Result<Uuid, sqlx::Error> {
        let id = Uuid::new_v4();
        on!(self, c => sqlx::query(
            "INSERT INTO webhooks (id, tenant_id, url, description, events, active, secret, created_by, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)")
            .bind(id).bind(new.tenant_id).bind(new.url).bind(new.description).bind(events_text(new.events)).bind(new.active)
            .bind(new.sealed_secret).bind(new.created_by).bind(now)
            .execute(c).await.map(drop))?;
        Ok(id)
    }

    /// Applies a change. Switching an endpoint on clears why it was disabled and, when it has
    /// deliveries waiting, makes them due now.
    #[tracing::instrument(skip_all)]
    pub async fn update_webhook(&mut self, owner: Option<TenantId>, id: Uuid, change: &WebhookChange, now: DateTime<Utc>) -> Result<bool, sqlx::Error> {
        let sql = format!(
            "UPDATE webhooks SET url = COALESCE($3, url), description = COALESCE($4, description), events = COALESCE($5, events), \
             active = COALESCE($6, active), updated_at = $7, \
             disabled_at = CASE WHEN $6 THEN NULL ELSE disabled_at END, \
             disabled_reason = CASE WHEN $6 THEN NULL ELSE disabled_reason END, \
             next_attempt_at = CASE WHEN $6 AND EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.webhook_id = webhooks.id AND d.status = 'pending') \
                               THEN $7 ELSE next_attempt_at END \
             WHERE {OWNED_BY} AND id = $2"
        );
        on!(self, c => sqlx::query(&sql)
            .bind(owner).bind(id).bind(change.url.as_deref()).bind(change.description.as_deref())
            .bind(change.events.as_ref().map(events_text)).bind(change.active).bind(now)
            .execute(c).await.map(|r| r.rows_affected() == 1))
    }

    #[tracing::instrument(skip_all)]
    pub async fn delete_webhook(&mut self, owner: Option<TenantId>, id: Uuid) -> Result<bool, sqlx::Error> {
        let sql = format!("DELETE FROM webhooks WHERE {OWNED_BY} AND id = $2");
        on!(self, c => sqlx::query(&sql).bind(owner).bind(id).execute(c).await.map(|r| r.rows_affected() == 1))
    }

    /// Puts a new signing secret in place; the current one keeps signing until `keep_until`.
    #[tracing::instrument(skip_all)]
    pub async fn rotate_webhook_secret(&mut self, owner: Option<TenantId>, id: Uuid, sealed: &str, keep_until: DateTime<Utc>, now: DateTime<Utc>) -> Result<bool, sqlx::Error> {
        let sql = format!(
            "UPDATE webhooks SET previous_secret = secret, previous_secret_expires_at = $4, secret = $3, updated_at = $5 \
             WHERE {OWNED_BY} AND id = $2"
        );
        on!(self, c => sqlx::query(&sql).bind(owner).bind(id).bind(sealed).bind(keep_until).bind(now)
            .execute(c).await.map(|r| r.rows_affected() == 1))
    }

    /// Writes an event in the caller's transaction; the worker fans it out after the commit.
    /// With `only_to`, the event goes to that endpoint alone (a test ping) and needs no fan-out.
    #[tracing::instrument(skip_all)]
    pub async fn insert_event(&mut self, id: Uuid, tenant: Option<TenantId>, event_type: &str, payload: &str, now: DateTime<Utc>) -> Result<i64, sqlx::Error> {
        on!(self, c => sqlx::query_scalar(
            "INSERT INTO webhook_events (id, tenant_id, type, payload, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING seq")
            .bind(id).bind(tenant).bind(event_type).bind(payload).bind(now).fetch_one(c).await)
    }

    /// Makes one delivery of an event to an endpoint.
    #[tracing::instrument(skip_all)]
    pub async fn insert_delivery(&mut self, webhook: Uuid, owner: Option<TenantId>, event: &PendingEvent, now: DateTime<Utc>) -> Result<Uuid, sqlx::Error> {
        let id = delivery_id();
        on!(self, c => sqlx::query(
            "INSERT INTO webhook_deliveries (id, webhook_id, tenant_id, event_seq, event_id, event_type, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)")
            .bind(id).bind(webhook).bind(owner).bind(event.seq).bind(event.id).bind(&event.event_type).bind(now)
            .execute(c).await.map(drop))?;
        Ok(id)
    }

    /// Makes the deliveries of a fan-out, `(endpoint, its owner, event)` each, in as few
    /// statements as the bind limits allow. One statement per delivery kept SQLite's single
    /// writer busy a round trip each, away from the changes that write the events.
    #[tracing::instrument(skip_all)]
    pub async fn insert_deliveries(&mut self, rows: &[(Uuid, Option<TenantId>, &PendingEvent)], now: DateTime<Utc>) -> Result<(), sqlx::Error> {
        const COLUMNS: usize = 7;
        for chunk in rows.chunks(BATCH_ROWS) {
            let sql = format!(
                "INSERT INTO webhook_deliveries (id, webhook_id, tenant_id, event_seq, event_id, event_type, created_at) VALUES {}",
                super::value_groups(chunk.len(), COLUMNS, "", 1)
            );
            on!(self, c => {
                let mut query = sqlx::query(&sql);
                for (webhook, owner, event) in chunk {
                    query = query.bind(delivery_id()).bind(*webhook).bind(*owner).bind(event.seq).bind(event.id).bind(&event.event_type).bind(now);
                }
                query.execute(c).await.map(drop)
            })?;
        }
        Ok(())
    }

    /// Takes the fan-out lock for this transaction on PostgreSQL (`false`: another worker holds
    /// it); SQLite's single writer needs none.
    #[tracing::instrument(skip_all)]
    pub async fn try_lock_fan_out(&mut self) -> Result<bool, sqlx::Error> {
        match self.backend() {
            Backend::Postgres => {
                on!(self, c => sqlx::query_scalar("SELECT pg_try_advisory_xact_lock($1)").bind(FAN_OUT_LOCK).fetch_one(c).await)
            }
            Backend::Sqlite => Ok(true),
        }
    }

    /// Marks the events `seqs` (those just read) as fanned out, and deletes those nobody
    /// subscribed to. By their numbers, not a range: on PostgreSQL an event with a smaller
    /// number may commit later, and it must still be fanned out.
    #[tracing::instrument(skip_all)]
    pub async fn finish_fan_out(&mut self, seqs: &[i64]) -> Result<(), sqlx::Error> {
        for chunk in seqs.chunks(BATCH_ROWS) {
            // Integers of ours: safe to splice.
            let list = chunk.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
            let delete = format!(
                "DELETE FROM webhook_events WHERE seq IN ({list}) \
                 AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.event_seq = webhook_events.seq)"
            );
            on!(self, c => sqlx::query(&delete).execute(c).await.map(drop))?;
            let mark = format!("UPDATE webhook_events SET fanned_out = TRUE WHERE seq IN ({list})");
            on!(self, c => sqlx::query(&mark).execute(c).await.map(drop))?;
        }
        Ok(())
    }

    /// Makes idle endpoints due now (they just got deliveries); busy ones keep their time.
    #[tracing::instrument(skip_all)]
    pub async fn make_webhook_due(&mut self, id: Uuid, now: DateTime<Utc>) -> Result<(), sqlx::Error> {
        on!(self, c => sqlx::query("UPDATE webhooks SET next_attempt_at = $2 WHERE id = $1 AND active AND next_attempt_at IS NULL")
            .bind(id).bind(now).execute(c).await.map(drop))
    }

    /// Claims up to `limit` due endpoints until `lease_until`: their deliveries go out from this
    /// worker alone, in order. PostgreSQL skips endpoints another worker is claiming.
    #[tracing::instrument(skip_all)]
    pub async fn claim_due_webhooks(&mut self, now: DateTime<Utc>, lease_until: DateTime<Utc>, limit: i64) -> Result<Vec<Webhook>, sqlx::Error> {
        let skip_locked = match self.backend() {
            Backend::Postgres => "FOR UPDATE SKIP LOCKED",
            Backend::Sqlite => "",
        };
        let sql = format!(
            "UPDATE webhooks SET locked_until = $2 WHERE id IN \
             (SELECT id FROM webhooks WHERE active AND next_attempt_at <= $1 AND (locked_until IS NULL OR locked_until < $1) \
              ORDER BY next_attempt_at LIMIT $3 {skip_locked}) RETURNING {WEBHOOK_COLUMNS}"
        );
        on!(self, c => sqlx::query_as(&sql).bind(now).bind(lease_until).bind(limit).fetch_all(c).await)
    }

    /// Records an attempt of a delivery.
    #[tracing::instrument(skip_all)]
    pub async fn record_attempt(&mut self, delivery: &DeliveryToSend, attempt: &AttemptRecord, outcome: &Outcome) -> Result<(), sqlx::Error> {
        let log = log_with(delivery, attempt);
        let (status, completed) = match outcome {
            Outcome::Succeeded => ("succeeded", Some(attempt.at)),
            Outcome::WillRetry => ("pending", None),
            Outcome::Failed => ("failed", Some(attempt.at)),
        };
        on!(self, c => sqlx::query(
            "UPDATE webhook_deliveries SET status = $2, attempts = attempts + 1, attempt_log = $3, last_status = $4, last_error = $5, \
             last_duration_ms = $6, first_attempt_at = COALESCE(first_attempt_at, $7), completed_at = $8 WHERE id = $1")
            .bind(delivery.id).bind(status).bind(log).bind(attempt.status).bind(attempt.error.as_deref())
            .bind(duration_ms(attempt)).bind(attempt.at).bind(completed)
            .execute(c).await.map(drop))
    }

    /// Records deliveries that succeeded, one attempt each, in as few statements as the bind
    /// limits allow (see [`Tx::insert_deliveries`]); the same columns as [`Tx::record_attempt`]
    /// with [`Outcome::Succeeded`] writes.
    #[tracing::instrument(skip_all)]
    pub async fn record_successes(&mut self, sent: &[(&DeliveryToSend, AttemptRecord)]) -> Result<(), sqlx::Error> {
        const COLUMNS: usize = 5;
        for chunk in sent.chunks(BATCH_ROWS) {
            let sql = format!(
                "WITH sent (id, attempt_log, last_status, last_duration_ms, at) AS (VALUES {}) \
                 UPDATE webhook_deliveries SET status = 'succeeded', attempts = attempts + 1, attempt_log = sent.attempt_log, \
                 last_status = sent.last_status, last_error = NULL, last_duration_ms = sent.last_duration_ms, \
                 first_attempt_at = COALESCE(first_attempt_at, sent.at), completed_at = sent.at \
                 FROM sent WHERE webhook_deliveries.id = sent.id",
                super::value_groups(chunk.len(), COLUMNS, "", 1)
            );
            on!(self, c => {
                let mut query = sqlx::query(&sql);
                for (delivery, attempt) in chunk {
                    query = query.bind(delivery.id).bind(log_with(delivery, attempt)).bind(attempt.status).bind(duration_ms(attempt)).bind(attempt.at);
                }
                query.execute(c).await.map(drop)
            })?;
        }
        Ok(())
    }

    /// Ends a worker's turn with an endpoint: it is next due at `retry_at` after a failure,
    /// otherwise at `now` if it has deliveries pending, else not at all.
    #[tracing::instrument(skip_all)]
    pub async fn release_webhook(&mut self, id: Uuid, retry_at: Option<DateTime<Utc>>, now: DateTime<Utc>) -> Result<(), sqlx::Error> {
        on!(self, c => sqlx::query(
            "UPDATE webhooks SET locked_until = NULL, next_attempt_at = COALESCE($2, \
               CASE WHEN EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.webhook_id = webhooks.id AND d.status = 'pending') THEN $3 END) \
             WHERE id = $1")
            .bind(id).bind(retry_at).bind(now).execute(c).await.map(drop))
    }

    /// Makes due the active endpoints that have deliveries pending but no due time and no
    /// worker (a release that raced a fan-out on PostgreSQL can leave one so).
    #[tracing::instrument(skip_all)]
    pub async fn rearm_stalled_webhooks(&mut self, now: DateTime<Utc>) -> Result<u64, sqlx::Error> {
        on!(self, c => sqlx::query(
            "UPDATE webhooks SET next_attempt_at = $1 WHERE active AND next_attempt_at IS NULL AND (locked_until IS NULL OR locked_until < $1) \
             AND EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.webhook_id = webhooks.id AND d.status = 'pending')")
            .bind(now).execute(c).await.map(|r| r.rows_affected()))
    }

    /// Switches an endpoint off after its deliveries kept failing; what it still had waiting
    /// stays pending for when it is switched on again.
    #[tracing::instrument(skip_all)]
    pub async fn disable_webhook(&mut self, id: Uuid, reason: &str, now: DateTime<Utc>) -> Result<(), sqlx::Error> {
        on!(self, c => sqlx::query(
            "UPDATE webhooks SET active = FALSE, disabled_at = $2, disabled_reason = $3, locked_until = NULL, next_attempt_at = NULL, updated_at = $2 WHERE id = $1")
            .bind(id).bind(now).bind(reason).execute(c).await.map(drop))
    }

    /// Sends a delivery again: pending from now, with a fresh three days to succeed in.
    #[tracing::instrument(skip_all)]
    pub async fn retry_delivery(&mut self, owner: Option<TenantId>, webhook: Uuid, id: Uuid, now: DateTime<Utc>) -> Result<bool, sqlx::Error> {
        let done = on!(self, c => sqlx::query(
            "UPDATE webhook_deliveries SET status = 'pending', first_attempt_at = NULL, completed_at = NULL \
             WHERE (tenant_id = $1 OR ($1 IS NULL AND tenant_id IS NULL)) AND webhook_id = $2 AND id = $3")
            .bind(owner).bind(webhook).bind(id).execute(c).await.map(|r| r.rows_affected() == 1))?;
        if done {
            self.make_webhook_due_now(webhook, now).await?;
        }
        Ok(done)
    }

    /// Makes an endpoint due now, whatever its backoff said; a worker holding it picks its
    /// deliveries up in its next batch.
    #[tracing::instrument(skip_all)]
    pub async fn make_webhook_due_now(&mut self, webhook: Uuid, now: DateTime<Utc>) -> Result<(), sqlx::Error> {
        on!(self, c => sqlx::query("UPDATE webhooks SET next_attempt_at = $2 WHERE id = $1 AND active")
            .bind(webhook).bind(now).execute(c).await.map(drop))
    }

    /// Deletes finished deliveries completed before `before`, then the events no delivery
    /// needs any more; how many deliveries went.
    #[tracing::instrument(skip_all)]
    pub async fn purge_deliveries(&mut self, before: DateTime<Utc>) -> Result<u64, sqlx::Error> {
        let purged = on!(self, c => sqlx::query("DELETE FROM webhook_deliveries WHERE status <> 'pending' AND completed_at < $1")
            .bind(before).execute(c).await.map(|r| r.rows_affected()))?;
        on!(self, c => sqlx::query(
            "DELETE FROM webhook_events WHERE fanned_out AND created_at < $1 \
             AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.event_seq = webhook_events.seq)")
            .bind(before).execute(c).await.map(drop))?;
        Ok(purged)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_attempt_log_keeps_the_latest_attempts_up_to_its_size() {
        let attempt = |n: i64| AttemptRecord { at: DateTime::from_timestamp(n, 0).unwrap(), status: Some(500), duration_ms: n, error: None };
        let kept = |before: i64| {
            let delivery = DeliveryToSend {
                id: Uuid::nil(),
                event_id: Uuid::nil(),
                event_seq: 1,
                attempts: before as i32,
                attempt_log: super::super::JsonColumn((0..before).map(attempt).collect()),
                first_attempt_at: None,
                payload: String::new(),
            };
            let log: Vec<AttemptRecord> = serde_json::from_str(&log_with(&delivery, &attempt(99))).unwrap();
            log.iter().map(|a| a.duration_ms).collect::<Vec<_>>()
        };
        assert_eq!(ATTEMPT_LOG_SIZE, 20);
        assert_eq!(kept(0), [99]);
        assert_eq!(kept(19), (0..19).chain([99]).collect::<Vec<_>>(), "twenty in all: nothing falls off");
        assert_eq!(kept(20), (1..20).chain([99]).collect::<Vec<_>>(), "the oldest falls off");
        assert_eq!(kept(25), (6..25).chain([99]).collect::<Vec<_>>(), "a longer log is cut to the size");
    }
}
