use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use super::{on, JsonColumn, Plan, Reader, Tx};
use crate::domain::TenantId;

const COLUMNS: &str = "name, display_name, price_monthly, limits, features, created_at, updated_at";

/// A plan as written (new or changed).
pub struct PlanRow<'a> {
    pub name: &'a str,
    pub display_name: &'a str,
    pub price_monthly: Option<f64>,
    pub limits: &'a BTreeMap<String, i64>,
    pub features: &'a [String],
}

fn json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "null".into())
}

/// The seats of tenant `$1` at time `$2`, as one SQL expression: its members, plus its open
/// invitations whose expiry the worker has not noticed (kept by the database in
/// `tenant_invitation_counts`, migration 0020, so no count grows with the invitations), less
/// those of them that have expired since (the few the worker has yet to notice, read from a
/// partial index of unnoticed open invitations). An invitation whose expiry was noticed has
/// expired: renewing one clears the mark.
const SEATS: &str = "(SELECT COUNT(*) FROM memberships WHERE tenant_id = $1) \
    + COALESCE((SELECT open_invitations FROM tenant_invitation_counts WHERE tenant_id = $1), 0) \
    - (SELECT COUNT(*) FROM invitations WHERE tenant_id = $1 AND accepted_at IS NULL AND revoked_at IS NULL \
       AND expiry_noticed_at IS NULL AND expires_at <= $2)";

impl Reader {
    #[tracing::instrument(skip_all)]
    pub async fn plans(&mut self) -> Result<Vec<Plan>, sqlx::Error> {
        let sql = format!("SELECT {COLUMNS} FROM plans ORDER BY price_monthly, name");
        on!(self, c => sqlx::query_as(&sql).fetch_all(c).await)
    }

    #[tracing::instrument(skip_all)]
    pub async fn plan(&mut self, name: &str) -> Result<Option<Plan>, sqlx::Error> {
        let sql = format!("SELECT {COLUMNS} FROM plans WHERE name = $1");
        on!(self, c => sqlx::query_as(&sql).bind(name).fetch_optional(c).await)
    }

    /// Every feature any plan has (to show a tenant the ones it lacks).
    #[tracing::instrument(skip_all)]
    pub async fn known_features(&mut self) -> Result<Vec<String>, sqlx::Error> {
        let lists: Vec<String> = on!(self, c => sqlx::query_scalar("SELECT features FROM plans").fetch_all(c).await)?;
        let mut all: Vec<String> = lists.iter().filter_map(|l| serde_json::from_str::<Vec<String>>(l).ok()).flatten().collect();
        all.sort();
        all.dedup();
        Ok(all)
    }

    /// Members plus pending (unexpired) invitations: the seats a tenant uses. No address is
    /// counted twice: an address has at most one open invitation per tenant (a unique index),
    /// and none once it is a member ([`Tx::insert_membership`] closes it). See [`SEATS`].
    #[tracing::instrument(skip_all)]
    pub async fn seats_used(&mut self, tenant: TenantId, now: DateTime<Utc>) -> Result<i64, sqlx::Error> {
        let sql = format!("SELECT {SEATS}");
        on!(self, c => sqlx::query_scalar(&sql).bind(tenant).bind(now).fetch_one(c).await)
    }

    /// The limits of plan `plan` (`None` when there is no such plan) and [`Reader::seats_used`],
    /// in one round trip: a quota-checked invitation holds the tenant's lock while it asks.
    #[tracing::instrument(skip_all)]
    pub async fn plan_limits_and_seats(&mut self, plan: &str, tenant: TenantId, now: DateTime<Utc>) -> Result<(Option<BTreeMap<String, i64>>, i64), sqlx::Error> {
        let sql = format!("SELECT (SELECT limits FROM plans WHERE name = $3), {SEATS}");
        let (limits, seats): (Option<String>, i64) = on!(self, c => sqlx::query_as(&sql).bind(tenant).bind(now).bind(plan).fetch_one(c).await)?;
        let limits = match limits {
            None => None,
            Some(text) => Some(JsonColumn::<BTreeMap<String, i64>>::try_from(text).map_err(|e| sqlx::Error::Decode(e.into()))?.0),
        };
        Ok((limits, seats))
    }

    /// What the host application reported, by resource.
    #[tracing::instrument(skip_all)]
    pub async fn reported_usage(&mut self, tenant: TenantId) -> Result<BTreeMap<String, i64>, sqlx::Error> {
        let rows: Vec<(String, i64)> = on!(self, c => sqlx::query_as("SELECT resource, amount FROM tenant_usage WHERE tenant_id = $1")
            .bind(tenant).fetch_all(c).await)?;
        Ok(rows.into_iter().collect())
    }

    /// The thresholds of each quota that have fired and not been re-armed.
    #[tracing::instrument(skip_all)]
    pub async fn fired_alerts(&mut self, tenant: TenantId) -> Result<Vec<(String, i64)>, sqlx::Error> {
        on!(self, c => sqlx::query_as("SELECT quota, threshold FROM quota_alerts WHERE tenant_id = $1").bind(tenant).fetch_all(c).await)
    }
}

impl Tx {

    #[tracing::instrument(skip_all)]
    pub async fn insert_plan(&mut self, plan: PlanRow<'_>, now: DateTime<Utc>) -> Result<(), sqlx::Error> {
        on!(self, c => sqlx::query(
            "INSERT INTO plans (name, display_name, price_monthly, limits, features, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $6)")
            .bind(plan.name).bind(plan.display_name).bind(plan.price_monthly).bind(json(plan.limits)).bind(json(&plan.features)).bind(now)
            .execute(c).await.map(|r| r.rows_affected()))?;
        Ok(())
    }

    #[tracing::instrument(skip_all)]
    pub async fn update_plan(&mut self, plan: PlanRow<'_>, now: DateTime<Utc>) -> Result<(), sqlx::Error> {
        on!(self, c => sqlx::query(
            "UPDATE plans SET display_name = $2, price_monthly = $3, limits = $4, features = $5, updated_at = $6 WHERE name = $1")
            .bind(plan.name).bind(plan.display_name).bind(plan.price_monthly).bind(json(plan.limits)).bind(json(&plan.features)).bind(now)
            .execute(c).await.map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// Sets a tenant's plan (or none) and its limit overrides.
    #[tracing::instrument(skip_all)]
    pub async fn set_tenant_plan(&mut self, tenant: TenantId, plan: Option<&str>, limits: &BTreeMap<String, Option<i64>>, now: DateTime<Utc>) -> Result<(), sqlx::Error> {
        on!(self, c => sqlx::query("UPDATE tenants SET plan_name = $2, limit_overrides = $3, updated_at = $4 WHERE id = $1")
            .bind(tenant).bind(plan).bind(json(limits)).bind(now).execute(c).await.map(|r| r.rows_affected()))?;
        Ok(())
    }

    #[tracing::instrument(skip_all)]
    pub async fn set_feature_overrides(&mut self, tenant: TenantId, features: &BTreeMap<String, bool>, now: DateTime<Utc>) -> Result<(), sqlx::Error> {
        on!(self, c => sqlx::query("UPDATE tenants SET feature_overrides = $2, updated_at = $3 WHERE id = $1")
            .bind(tenant).bind(json(features)).bind(now).execute(c).await.map(|r| r.rows_affected()))?;
        Ok(())
    }

    #[tracing::instrument(skip_all)]
    pub async fn set_usage(&mut self, tenant: TenantId, resource: &str, amount: i64, now: DateTime<Utc>) -> Result<(), sqlx::Error> {
        on!(self, c => sqlx::query(
            "INSERT INTO tenant_usage (tenant_id, resource, amount, updated_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (tenant_id, resource) DO UPDATE SET amount = excluded.amount, updated_at = excluded.updated_at")
            .bind(tenant).bind(resource).bind(amount).bind(now).execute(c).await.map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// Records a crossing; `false` when it had fired already (so the mail goes once).
    #[tracing::instrument(skip_all)]
    pub async fn fire_alert(&mut self, tenant: TenantId, quota: &str, threshold: i64, now: DateTime<Utc>) -> Result<bool, sqlx::Error> {
        let rows = on!(self, c => sqlx::query(
            "INSERT INTO quota_alerts (tenant_id, quota, threshold, fired_at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING")
            .bind(tenant).bind(quota).bind(threshold).bind(now).execute(c).await.map(|r| r.rows_affected()))?;
        Ok(rows == 1)
    }

    #[tracing::instrument(skip_all)]
    pub async fn rearm_alert(&mut self, tenant: TenantId, quota: &str, threshold: i64) -> Result<(), sqlx::Error> {
        on!(self, c => sqlx::query("DELETE FROM quota_alerts WHERE tenant_id = $1 AND quota = $2 AND threshold = $3")
            .bind(tenant).bind(quota).bind(threshold).execute(c).await.map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// Adds `calls` API-key calls to the tenant's day (counted in memory meanwhile).
    #[tracing::instrument(skip_all)]
    pub async fn add_api_calls(&mut self, tenant: TenantId, day: &str, calls: i64) -> Result<(), sqlx::Error> {
        on!(self, c => sqlx::query(
            "INSERT INTO api_call_counts (tenant_id, day, calls) VALUES ($1, $2, $3) \
             ON CONFLICT (tenant_id, day) DO UPDATE SET calls = api_call_counts.calls + $3")
            .bind(tenant).bind(day).bind(calls).execute(c).await.map(drop))
    }

    /// Counts one API-key call for the tenant's day and returns the count with it.
    #[tracing::instrument(skip_all)]
    pub async fn count_api_call(&mut self, tenant: TenantId, day: &str) -> Result<i64, sqlx::Error> {
        on!(self, c => sqlx::query_scalar(
            "INSERT INTO api_call_counts (tenant_id, day, calls) VALUES ($1, $2, 1) \
             ON CONFLICT (tenant_id, day) DO UPDATE SET calls = api_call_counts.calls + 1 RETURNING calls")
            .bind(tenant).bind(day).fetch_one(c).await)
    }
}
