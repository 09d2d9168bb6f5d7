use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::types::Json;
use uuid::Uuid;

use super::{json_page, on, List, Listed, PageRequest, Reader, Tx};
use crate::domain::{AuditAction, TenantId, UserId};

/// Binds `args` in order to a `query_as`/`query_scalar` of either backend (a macro because
/// each arm of [`on!`] has its own database type).
macro_rules! bind_all {
    ($query:expr, $args:expr) => {{
        let mut query = $query;
        for arg in $args.iter() {
            query = match arg {
                Arg::Tenant(v) => query.bind(*v),
                Arg::User(v) => query.bind(*v),
                Arg::Id(v) => query.bind(*v),
                Arg::Text(v) => query.bind(v.as_str()),
                Arg::Time(v) => query.bind(*v),
                Arg::Int(v) => query.bind(*v),
            };
        }
        query
    }};
}

/// One audit event, written in the same transaction as the change it records.
#[derive(Debug, Clone)]
pub struct NewAuditEntry {
    pub tenant_id: Option<TenantId>,
    pub actor_id: Option<UserId>,
    pub actor_email: Option<String>,
    pub action: AuditAction,
    pub resource_type: &'static str,
    pub resource_id: Option<String>,
    /// Details without secrets.
    pub metadata: Value,
    pub ip_address: Option<String>,
    pub user_agent: Option<String>,
}

impl Reader {

    /// The actions recorded for a tenant, newest first (tests and the audit page use it).
    #[tracing::instrument(skip_all)]
    pub async fn audit_actions(&mut self, tenant: TenantId) -> Result<Vec<AuditAction>, sqlx::Error> {
        on!(self, c => sqlx::query_scalar("SELECT action FROM audit_log WHERE tenant_id = $1 ORDER BY created_at DESC, id")
            .bind(tenant).fetch_all(c).await)
    }

    /// The client address of each of a tenant's events, newest first (tests).
    pub async fn audit_ips(&mut self, tenant: TenantId) -> Result<Vec<Option<String>>, sqlx::Error> {
        on!(self, c => sqlx::query_scalar("SELECT ip_address FROM audit_log WHERE tenant_id = $1 ORDER BY created_at DESC, id")
            .bind(tenant).fetch_all(c).await)
    }

    /// One page of a tenant's events, newest first, and how many match in all: one
    /// statement, one row (see [`json_page`]).
    #[tracing::instrument(skip_all)]
    pub async fn audit_page(&mut self, query: &AuditQuery, page: PageRequest) -> Result<Listed<AuditEntry>, sqlx::Error> {
        const COLUMNS: [json_page::Column<'static>; 11] = [
            json_page::uuid("id", "id"),
            json_page::uuid("tenant_id", "tenant_id"),
            json_page::uuid("actor_id", "actor_id"),
            json_page::plain("actor_email", "actor_email"),
            json_page::plain("action", "action"),
            json_page::plain("resource_type", "resource_type"),
            json_page::plain("resource_id", "resource_id"),
            json_page::json("metadata", "metadata"),
            json_page::plain("ip_address", "ip_address"),
            json_page::plain("user_agent", "user_agent"),
            json_page::plain("created_at", "created_at"),
        ];
        let mut args = Vec::new();
        let filter = query.condition(&mut args, None);
        let n = args.len();
        let sql = json_page::sql(
            self.backend(),
            List::Audit,
            &COLUMNS,
            &format!("FROM audit_log WHERE {filter} ORDER BY created_at DESC, id DESC {}", json_page::limit_offset(page, n + 1)),
            &if query.is_whole_log() {
                json_page::kept_total_sql("audit_log", "$1")
            } else {
                format!("SELECT COUNT(*) FROM audit_log WHERE {filter}")
            },
        );
        args.push(Arg::Int(page.limit()));
        if json_page::offset_bound(page) {
            args.push(Arg::Int(page.offset()));
        }
        let row = on!(self, c => bind_all!(sqlx::query_as(&sql), args).fetch_one(c).await)?;
        json_page::decode(row, |a: &AuditEntry, b| (b.created_at, b.id).cmp(&(a.created_at, a.id)))
    }

    /// Up to `limit` events older than `after` (from the newest when `None`), newest first.
    /// Keyset reading: each batch is an index range scan however deep into the log it is,
    /// so exports stream any number of rows without OFFSET or a long-held transaction.
    #[tracing::instrument(skip_all)]
    pub async fn audit_batch(&mut self, query: &AuditQuery, after: Option<AuditCursor>, limit: i64) -> Result<Vec<AuditEntry>, sqlx::Error> {
        let mut args = Vec::new();
        let filter = query.condition(&mut args, after);
        let sql = format!("{SELECT} WHERE {filter} ORDER BY created_at DESC, id DESC LIMIT ${}", args.len() + 1);
        args.push(Arg::Int(limit));
        on!(self, c => bind_all!(sqlx::query_as(&sql), args).fetch_all(c).await)
    }

    /// The newest platform-level events (no tenant: deletions, purges …), newest first.
    #[tracing::instrument(skip_all)]
    pub async fn platform_audit(&mut self, limit: i64) -> Result<Vec<AuditEntry>, sqlx::Error> {
        let sql = format!("{SELECT} WHERE tenant_id IS NULL ORDER BY created_at DESC, id DESC LIMIT $1");
        on!(self, c => sqlx::query_as(&sql).bind(limit).fetch_all(c).await)
    }
}

impl Tx {
    #[tracing::instrument(skip_all, fields(action = entry.action.as_str()))]
    pub async fn insert_audit(&mut self, entry: &NewAuditEntry, now: DateTime<Utc>) -> Result<(), sqlx::Error> {
        on!(self, c => sqlx::query(
            "INSERT INTO audit_log (id, tenant_id, actor_id, actor_email, action, resource_type, resource_id, metadata, ip_address, user_agent, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)")
            .bind(Uuid::new_v4())
            .bind(entry.tenant_id)
            .bind(entry.actor_id)
            .bind(entry.actor_email.as_deref())
            .bind(&entry.action)
            .bind(entry.resource_type)
            .bind(entry.resource_id.as_deref())
            .bind(Json(&entry.metadata))
            .bind(entry.ip_address.as_deref())
            .bind(entry.user_agent.as_deref())
            .bind(now)
            .execute(c).await.map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// An event as another installation recorded it (`import-tenant`): its own action, time
    /// and actor's e-mail (the actor's id there means nothing here).
    #[allow(clippy::too_many_arguments)]
    #[tracing::instrument(skip_all)]
    pub async fn insert_audit_as_was(
        &mut self,
        id: Uuid,
        tenant: TenantId,
        action: &AuditAction,
        resource_type: &str,
        resource_id: Option<&str>,
        actor_email: Option<&str>,
        metadata: &Value,
        ip_address: Option<&str>,
        user_agent: Option<&str>,
        at: DateTime<Utc>,
    ) -> Result<(), sqlx::Error> {
        on!(self, c => sqlx::query(
            "INSERT INTO audit_log (id, tenant_id, actor_id, actor_email, action, resource_type, resource_id, metadata, ip_address, user_agent, created_at) \
             VALUES ($1, $2, NULL, $3, $4, $5, $6, $7, $8, $9, $10)")
            .bind(id).bind(tenant).bind(actor_email).bind(action).bind(resource_type).bind(resource_id)
            .bind(Json(metadata)).bind(ip_address).bind(user_agent).bind(at)
            .execute(c).await.map(drop))
    }
}

/// One recorded event, as read back (a row, or an element of a JSON page).
#[derive(Debug, Clone, sqlx::FromRow, serde::Deserialize)]
pub struct AuditEntry {
    pub id: Uuid,
    pub tenant_id: Option<TenantId>,
    /// Who did it; `None` for events without a signed-in actor (sign-up, failed login …).
    pub actor_id: Option<UserId>,
    pub actor_email: Option<String>,
    #[serde(deserialize_with = "json_page::action")]
    pub action: AuditAction,
    pub resource_type: String,
    pub resource_id: Option<String>,
    #[sqlx(json)]
    pub metadata: Value,
    pub ip_address: Option<String>,
    pub user_agent: Option<String>,
    #[serde(deserialize_with = "json_page::time")]
    pub created_at: DateTime<Utc>,
}

impl AuditEntry {
    /// Where the next keyset batch starts.
    pub fn cursor(&self) -> AuditCursor {
        AuditCursor { created_at: self.created_at, id: self.id }
    }
}

/// Which events to read: always those of one tenant; every other condition is optional.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AuditQuery {
    pub tenant: TenantId,
    pub action: Option<String>,
    pub actor_id: Option<UserId>,
    /// The actor's e-mail as recorded with the event (lower-case).
    pub actor_email: Option<String>,
    /// Inclusive lower bound.
    pub since: Option<DateTime<Utc>>,
    /// Exclusive upper bound.
    pub before: Option<DateTime<Utc>>,
}

impl AuditQuery {
    pub fn tenant(tenant: TenantId) -> Self {
        Self { tenant, action: None, actor_id: None, actor_email: None, since: None, before: None }
    }

    /// Whether this asks for the tenant's whole log, whose size `list_stats` keeps.
    fn is_whole_log(&self) -> bool {
        *self == Self::tenant(self.tenant)
    }

    /// The WHERE clause with only the conditions that are set, so that each backend's planner
    /// sees plain equalities and ranges it can match to the indexes of migration 0004
    /// (`$n IS NULL OR …` would hide them).
    fn condition(&self, args: &mut Vec<Arg>, after: Option<AuditCursor>) -> String {
        let mut push = |clause: &str, arg: Arg| {
            args.push(arg);
            clause.replace('?', &format!("${}", args.len()))
        };
        let mut parts = vec![push("tenant_id = ?", Arg::Tenant(self.tenant))];
        if let Some(action) = &self.action {
            parts.push(push("action = ?", Arg::Text(action.clone())));
        }
        if let Some(actor) = self.actor_id {
            parts.push(push("actor_id = ?", Arg::User(actor)));
        }
        if let Some(email) = &self.actor_email {
            parts.push(push("actor_email = ?", Arg::Text(email.clone())));
        }
        if let Some(since) = self.since {
            parts.push(push("created_at >= ?", Arg::Time(since)));
        }
        if let Some(before) = self.before {
            parts.push(push("created_at < ?", Arg::Time(before)));
        }
        if let Some(cursor) = after {
            let time = push("?", Arg::Time(cursor.created_at));
            let id = push("?", Arg::Id(cursor.id));
            parts.push(format!("(created_at, id) < ({time}, {id})"));
        }
        parts.join(" AND ")
    }
}

/// The position of the last event of a batch: `(created_at, id)`, the sort key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuditCursor {
    pub created_at: DateTime<Utc>,
    pub id: Uuid,
}

const SELECT: &str = "SELECT id, tenant_id, actor_id, actor_email, action, resource_type, resource_id, metadata, \
                      ip_address, user_agent, created_at FROM audit_log";

/// A bind value of a query whose conditions vary.
enum Arg {
    Tenant(TenantId),
    User(UserId),
    Id(Uuid),
    Text(String),
    Time(DateTime<Utc>),
    Int(i64),
}

impl Reader {

    /// Tenants whose settings name a `data_retention_days`, with it.
    #[tracing::instrument(skip_all)]
    pub async fn tenants_with_retention(&mut self) -> Result<Vec<(TenantId, i64)>, sqlx::Error> {
        let rows: Vec<(TenantId, String)> = on!(self, c => sqlx::query_as(
            "SELECT id, settings FROM tenants WHERE settings LIKE '%data_retention_days%'").fetch_all(c).await)?;
        Ok(rows
            .into_iter()
            .filter_map(|(id, settings)| {
                let days = serde_json::from_str::<Value>(&settings).ok()?.get("data_retention_days")?.as_i64()?;
                (days > 0).then_some((id, days))
            })
            .collect())
    }
}

impl Tx {
    /// Deletes up to `batch` of a tenant's events older than `before`; returns how many.
    #[tracing::instrument(skip_all)]
    pub async fn purge_audit_before(&mut self, tenant: TenantId, before: DateTime<Utc>, batch: i64) -> Result<u64, sqlx::Error> {
        on!(self, c => sqlx::query(
            "DELETE FROM audit_log WHERE id IN (SELECT id FROM audit_log WHERE tenant_id = $1 AND created_at < $2 ORDER BY created_at LIMIT $3)")
            .bind(tenant).bind(before).bind(batch).execute(c).await.map(|r| r.rows_affected()))
    }
}
