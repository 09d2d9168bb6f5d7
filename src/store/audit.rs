use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::types::Json;
use uuid::Uuid;

use super::{on, Tx};
use crate::domain::{TenantId, UserId};

/// One audit event, written in the same transaction as the change it records.
#[derive(Debug, Clone)]
pub struct NewAuditEntry {
    pub tenant_id: Option<TenantId>,
    pub actor_id: Option<UserId>,
    pub actor_email: Option<String>,
    pub action: &'static str,
    pub resource_type: &'static str,
    pub resource_id: Option<String>,
    /// Details without secrets.
    pub metadata: Value,
    pub ip_address: Option<String>,
    pub user_agent: Option<String>,
}

impl Tx {
    #[tracing::instrument(skip_all, fields(action = entry.action))]
    pub async fn insert_audit(&mut self, entry: &NewAuditEntry, now: DateTime<Utc>) -> Result<(), sqlx::Error> {
        on!(self, c => sqlx::query(
            "INSERT INTO audit_log (id, tenant_id, actor_id, actor_email, action, resource_type, resource_id, metadata, ip_address, user_agent, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)")
            .bind(Uuid::new_v4())
            .bind(entry.tenant_id)
            .bind(entry.actor_id)
            .bind(entry.actor_email.as_deref())
            .bind(entry.action)
            .bind(entry.resource_type)
            .bind(entry.resource_id.as_deref())
            .bind(Json(&entry.metadata))
            .bind(entry.ip_address.as_deref())
            .bind(entry.user_agent.as_deref())
            .bind(now)
            .execute(c).await.map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// The actions recorded for a tenant, newest first (tests and the audit page use it).
    #[tracing::instrument(skip_all)]
    pub async fn audit_actions(&mut self, tenant: TenantId) -> Result<Vec<String>, sqlx::Error> {
        on!(self, c => sqlx::query_scalar("SELECT action FROM audit_log WHERE tenant_id = $1 ORDER BY created_at DESC, id")
            .bind(tenant).fetch_all(c).await)
    }
}
