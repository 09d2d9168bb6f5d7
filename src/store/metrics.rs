//! The numbers behind tenant metrics: daily roll-ups of the audit trail for past days, live
//! counts of it for the days not rolled up yet, and the API-call counters. Days are
//! `YYYY-MM-DD` in UTC; a live range is `[start, end)` in time.

use chrono::{DateTime, Utc};

use super::{on, Reader, Tx};
use crate::domain::{Metric, TenantId};

/// The counted metrics of one day (or a sum of days), by [`Metric::COUNTED`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, sqlx::FromRow)]
pub struct DayCounts {
    pub logins: i64,
    pub failed_logins: i64,
    pub invitations_sent: i64,
    pub invitations_accepted: i64,
    pub members_added: i64,
    pub members_removed: i64,
}

impl DayCounts {
    pub fn get(&self, metric: Metric) -> i64 {
        match metric {
            Metric::Logins => self.logins,
            Metric::FailedLogins => self.failed_logins,
            Metric::InvitationsSent => self.invitations_sent,
            Metric::InvitationsAccepted => self.invitations_accepted,
            Metric::MembersAdded => self.members_added,
            Metric::MembersRemoved => self.members_removed,
            Metric::ActiveUsers | Metric::ApiCalls => 0,
        }
    }

    fn slot(&mut self, metric: Metric) -> Option<&mut i64> {
        match metric {
            Metric::Logins => Some(&mut self.logins),
            Metric::FailedLogins => Some(&mut self.failed_logins),
            Metric::InvitationsSent => Some(&mut self.invitations_sent),
            Metric::InvitationsAccepted => Some(&mut self.invitations_accepted),
            Metric::MembersAdded => Some(&mut self.members_added),
            Metric::MembersRemoved => Some(&mut self.members_removed),
            Metric::ActiveUsers | Metric::ApiCalls => None,
        }
    }

    /// Adds `count` rows of audit `action` to every metric that counts it.
    pub fn add_action(&mut self, action: &str, count: i64) {
        for metric in Metric::COUNTED {
            if metric.counted_actions().contains(&action) {
                if let Some(slot) = self.slot(metric) {
                    *slot += count;
                }
            }
        }
    }

    pub fn add(&mut self, other: &DayCounts) {
        for metric in Metric::COUNTED {
            let value = other.get(metric);
            if let Some(slot) = self.slot(metric) {
                *slot += value;
            }
        }
    }
}

/// `'a', 'b'`: the counted actions as an SQL list (constants of ours, safe to splice).
fn action_list() -> String {
    Metric::all_counted_actions().iter().map(|a| format!("'{a}'")).collect::<Vec<_>>().join(", ")
}

/// `SUM(CASE WHEN action IN (…) THEN 1 ELSE 0 END) AS logins, …` for the roll-up.
fn sums_by_metric() -> String {
    Metric::COUNTED
        .iter()
        .map(|m| {
            let actions = m.counted_actions().iter().map(|a| format!("'{a}'")).collect::<Vec<_>>().join(", ");
            format!("SUM(CASE WHEN action IN ({actions}) THEN 1 ELSE 0 END)")
        })
        .collect::<Vec<_>>()
        .join(", ")
}

const COLUMNS: &str = "logins, failed_logins, invitations_sent, invitations_accepted, members_added, members_removed";

impl Reader {
    /// The last day rolled up for every tenant; `None` before the first roll-up.
    #[tracing::instrument(skip_all)]
    pub async fn metrics_rolled_through(&mut self) -> Result<Option<String>, sqlx::Error> {
        on!(self, c => sqlx::query_scalar("SELECT rolled_through FROM metrics_rollup_state WHERE id = 1").fetch_optional(c).await)
    }

    /// When the oldest audit row was written, if any.
    #[tracing::instrument(skip_all)]
    pub async fn oldest_audit_at(&mut self) -> Result<Option<DateTime<Utc>>, sqlx::Error> {
        on!(self, c => sqlx::query_scalar("SELECT created_at FROM audit_log ORDER BY created_at LIMIT 1").fetch_optional(c).await)
    }

    /// A tenant's rolled-up days in `[from, to]`, each with its counts.
    #[tracing::instrument(skip_all)]
    pub async fn rolled_up_days(&mut self, tenant: TenantId, from: &str, to: &str) -> Result<Vec<(String, DayCounts)>, sqlx::Error> {
        #[derive(sqlx::FromRow)]
        struct Row {
            day: String,
            #[sqlx(flatten)]
            counts: DayCounts,
        }
        let sql = format!("SELECT day, {COLUMNS} FROM tenant_metrics_daily WHERE tenant_id = $1 AND day >= $2 AND day <= $3");
        let rows: Vec<Row> = on!(self, c => sqlx::query_as(&sql).bind(tenant).bind(from).bind(to).fetch_all(c).await)?;
        Ok(rows.into_iter().map(|r| (r.day, r.counts)).collect())
    }

    /// How many people were active on each rolled-up day in `[from, to]`.
    #[tracing::instrument(skip_all)]
    pub async fn rolled_up_active_users(&mut self, tenant: TenantId, from: &str, to: &str) -> Result<Vec<(String, i64)>, sqlx::Error> {
        on!(self, c => sqlx::query_as(
            "SELECT day, COUNT(*) FROM tenant_active_users_daily WHERE tenant_id = $1 AND day >= $2 AND day <= $3 GROUP BY day")
            .bind(tenant).bind(from).bind(to).fetch_all(c).await)
    }

    /// API-key calls per day in `[from, to]`.
    #[tracing::instrument(skip_all)]
    pub async fn api_calls_by_day(&mut self, tenant: TenantId, from: &str, to: &str) -> Result<Vec<(String, i64)>, sqlx::Error> {
        on!(self, c => sqlx::query_as("SELECT day, calls FROM api_call_counts WHERE tenant_id = $1 AND day >= $2 AND day <= $3")
            .bind(tenant).bind(from).bind(to).fetch_all(c).await)
    }

    /// The tenant's audit rows in `[start, end)`, counted per day: the counted metrics and
    /// how many people were active that day.
    #[tracing::instrument(skip_all)]
    pub async fn live_days(&mut self, tenant: TenantId, start: DateTime<Utc>, end: DateTime<Utc>) -> Result<Vec<(String, DayCounts, i64)>, sqlx::Error> {
        let day = self.utc_day("created_at");
        let sql = format!(
            "SELECT {day} AS day, action, COUNT(*) FROM audit_log WHERE tenant_id = $1 AND created_at >= $2 AND created_at < $3 \
             AND action IN ({}) GROUP BY 1, 2",
            action_list()
        );
        let rows: Vec<(String, String, i64)> = on!(self, c => sqlx::query_as(&sql).bind(tenant).bind(start).bind(end).fetch_all(c).await)?;
        let mut days: std::collections::BTreeMap<String, (DayCounts, i64)> = Default::default();
        for (day, action, count) in rows {
            days.entry(day).or_default().0.add_action(&action, count);
        }
        let sql = format!(
            "SELECT {day} AS day, COUNT(DISTINCT actor_id) FROM audit_log WHERE tenant_id = $1 AND created_at >= $2 AND created_at < $3 \
             AND actor_id IS NOT NULL GROUP BY 1"
        );
        let active: Vec<(String, i64)> = on!(self, c => sqlx::query_as(&sql).bind(tenant).bind(start).bind(end).fetch_all(c).await)?;
        for (day, people) in active {
            days.entry(day).or_default().1 = people;
        }
        Ok(days.into_iter().map(|(day, (counts, active))| (day, counts, active)).collect())
    }

    /// Every tenant not deleted: `(id, name, slug)`, for the platform's analytics.
    #[tracing::instrument(skip_all)]
    pub async fn live_tenant_names(&mut self) -> Result<Vec<(TenantId, String, String)>, sqlx::Error> {
        on!(self, c => sqlx::query_as("SELECT id, name, slug FROM tenants WHERE deleted_at IS NULL").fetch_all(c).await)
    }

    /// The distinct people active over rolled-up days `[from, to]` and live time `[start, end)`.
    #[tracing::instrument(skip_all)]
    pub async fn active_users_over(&mut self, tenant: TenantId, from: &str, to: &str, start: DateTime<Utc>, end: DateTime<Utc>) -> Result<i64, sqlx::Error> {
        on!(self, c => sqlx::query_scalar(
            "SELECT COUNT(*) FROM (SELECT user_id FROM tenant_active_users_daily WHERE tenant_id = $1 AND day >= $2 AND day <= $3 \
             UNION SELECT actor_id FROM audit_log WHERE tenant_id = $1 AND created_at >= $4 AND created_at < $5 AND actor_id IS NOT NULL) people")
            .bind(tenant).bind(from).bind(to).bind(start).bind(end).fetch_one(c).await)
    }

    /// One metric for every tenant with any of it, over rolled-up days `[from, to]` and live
    /// time `[start, end)`: `(tenant, value)`.
    #[tracing::instrument(skip_all)]
    pub async fn metric_by_tenant(&mut self, metric: Metric, from: &str, to: &str, start: DateTime<Utc>, end: DateTime<Utc>) -> Result<Vec<(TenantId, i64)>, sqlx::Error> {
        if metric == Metric::ApiCalls {
            // The counters are per day already, live whatever the roll-ups say.
            let last_day = end.format("%Y-%m-%d").to_string();
            return on!(self, c => sqlx::query_as("SELECT tenant_id, CAST(SUM(calls) AS BIGINT) FROM api_call_counts WHERE day >= $1 AND day <= $2 GROUP BY tenant_id")
                .bind(from).bind(last_day).fetch_all(c).await);
        }
        let sql = match metric {
            Metric::ActiveUsers => "SELECT tenant_id, COUNT(*) FROM (SELECT tenant_id, user_id FROM tenant_active_users_daily WHERE day >= $1 AND day <= $2 \
                 UNION SELECT tenant_id, actor_id FROM audit_log WHERE created_at >= $3 AND created_at < $4 AND actor_id IS NOT NULL AND tenant_id IS NOT NULL) people \
                 GROUP BY tenant_id"
                .to_owned(),
            counted => {
                let actions = counted.counted_actions().iter().map(|a| format!("'{a}'")).collect::<Vec<_>>().join(", ");
                format!(
                    "SELECT tenant_id, CAST(SUM(n) AS BIGINT) FROM (SELECT tenant_id, {column} AS n FROM tenant_metrics_daily WHERE day >= $1 AND day <= $2 \
                     UNION ALL SELECT tenant_id, COUNT(*) AS n FROM audit_log WHERE created_at >= $3 AND created_at < $4 AND action IN ({actions}) \
                     AND tenant_id IS NOT NULL GROUP BY tenant_id) counted GROUP BY tenant_id",
                    column = counted.as_str(),
                )
            }
        };
        let rows: Vec<(TenantId, i64)> = on!(self, c => sqlx::query_as(&sql).bind(from).bind(to).bind(start).bind(end).fetch_all(c).await)?;
        Ok(rows)
    }
}

impl Tx {

    /// Moves the roll-up mark from `from` to `to`; `false` when another worker moved it first.
    #[tracing::instrument(skip_all)]
    pub async fn advance_rollup(&mut self, from: Option<&str>, to: &str) -> Result<bool, sqlx::Error> {
        let moved = match from {
            Some(from) => on!(self, c => sqlx::query("UPDATE metrics_rollup_state SET rolled_through = $2 WHERE id = 1 AND rolled_through = $1")
                .bind(from).bind(to).execute(c).await.map(|r| r.rows_affected())),
            None => on!(self, c => sqlx::query("INSERT INTO metrics_rollup_state (id, rolled_through) VALUES (1, $1) ON CONFLICT (id) DO NOTHING")
                .bind(to).execute(c).await.map(|r| r.rows_affected())),
        }?;
        Ok(moved == 1)
    }

    /// Rolls `day` (`[start, end)`) up for every tenant: its counts and who was active.
    #[tracing::instrument(skip_all)]
    pub async fn roll_up_day(&mut self, day: &str, start: DateTime<Utc>, end: DateTime<Utc>) -> Result<(), sqlx::Error> {
        let sql = format!(
            "INSERT INTO tenant_metrics_daily (tenant_id, day, {COLUMNS}) \
             SELECT tenant_id, $3, {sums} FROM audit_log \
             WHERE created_at >= $1 AND created_at < $2 AND action IN ({actions}) AND tenant_id IN (SELECT id FROM tenants) \
             GROUP BY tenant_id ON CONFLICT (tenant_id, day) DO NOTHING",
            sums = sums_by_metric(),
            actions = action_list(),
        );
        on!(self, c => sqlx::query(&sql).bind(start).bind(end).bind(day).execute(c).await.map(drop))?;
        on!(self, c => sqlx::query(
            "INSERT INTO tenant_active_users_daily (tenant_id, day, user_id) \
             SELECT DISTINCT tenant_id, $3, actor_id FROM audit_log \
             WHERE created_at >= $1 AND created_at < $2 AND actor_id IS NOT NULL AND tenant_id IN (SELECT id FROM tenants) \
             ON CONFLICT (tenant_id, day, user_id) DO NOTHING")
            .bind(start).bind(end).bind(day).execute(c).await.map(drop))
    }
}
