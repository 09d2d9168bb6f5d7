//! Tenant metrics and the platform's analytics, from the audit trail and the API-call
//! counters. Past days come from daily roll-ups the worker keeps ([`Services::roll_up_metrics`]),
//! so a 90-day period reads 180 small rows instead of scanning the trail, and the numbers
//! outlive audit retention; the days not rolled up yet (today, at least) are counted live, so
//! an event shows at once.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration as ChronoDuration, NaiveDate, Utc};

use super::{now, Actor, Services};
use crate::{
    domain::{change_pct, Metric, Period, Permission, TenantId},
    store::{DayCounts, Page, PageRequest, Reader},
    ServiceError, ServiceResult,
};

/// Days of history in each sparkline.
pub const SPARKLINE_DAYS: i64 = 30;
/// How far back the first roll-up reaches.
const ROLLUP_HORIZON_DAYS: i64 = 400;
/// A day is rolled up this long after it ended, so that a transaction still committing across
/// midnight is counted in it.
pub(crate) const ROLLUP_GRACE_MINUTES: i64 = 5;

/// `GET /api/tenants/{id}/metrics/`: each metric over the period, the period before it, and
/// each day of the last [`SPARKLINE_DAYS`].
#[derive(Debug, Clone, PartialEq)]
pub struct MetricsReport {
    pub period: Period,
    pub values: BTreeMap<Metric, i64>,
    pub previous: BTreeMap<Metric, i64>,
    /// Oldest first; each day with every metric.
    pub daily: Vec<(NaiveDate, BTreeMap<Metric, i64>)>,
}

impl MetricsReport {
    /// The change against the previous period, in percent (`None`: it rose from zero).
    pub fn trend(&self, metric: Metric) -> Option<f64> {
        change_pct(self.values.get(&metric).copied().unwrap_or(0), self.previous.get(&metric).copied().unwrap_or(0))
    }
}

/// One tenant's value in the platform's analytics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantMetricRow {
    pub tenant_id: TenantId,
    pub name: String,
    pub slug: String,
    pub value: i64,
}

fn day_text(day: NaiveDate) -> String {
    day.format("%Y-%m-%d").to_string()
}

fn parse_day(text: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()
}

fn start_of(day: NaiveDate) -> DateTime<Utc> {
    day.and_hms_opt(0, 0, 0).expect("midnight exists").and_utc()
}

/// Which days of `[from, to]` are rolled up (a day range, possibly empty) and from when the
/// rest is counted live.
struct Split {
    rolled_from: String,
    rolled_to: String,
    live_from: DateTime<Utc>,
    live_to: DateTime<Utc>,
}

fn split(from: NaiveDate, to: NaiveDate, rolled_through: Option<NaiveDate>) -> Split {
    let rolled_to = rolled_through.map_or(from - ChronoDuration::days(1), |r| r.min(to));
    let live_from = (rolled_to + ChronoDuration::days(1)).max(from);
    Split { rolled_from: day_text(from), rolled_to: day_text(rolled_to), live_from: start_of(live_from), live_to: start_of(to + ChronoDuration::days(1)) }
}

impl Services {
    /// A tenant's metrics for `period` (`7d`, `30d` or `90d`). Needs `audit:read` there (the
    /// numbers are counts of its audit trail): its ADMINs, or a superuser for any tenant.
    #[tracing::instrument(skip_all)]
    pub async fn tenant_metrics(&self, actor: &Actor, tenant: Option<TenantId>, period: &str) -> ServiceResult<MetricsReport> {
        let tenant = self.tenant_where(actor, tenant, Permission::AuditRead).await?;
        let period = Period::parse(period).map_err(|m| ServiceError::field("period", m))?;
        self.metrics_of(tenant, period, now()).await
    }

    pub(crate) async fn metrics_of(&self, tenant: TenantId, period: Period, at: DateTime<Utc>) -> ServiceResult<MetricsReport> {
        let today = at.date_naive();
        let days = period.days();
        let current_from = today - ChronoDuration::days(days - 1);
        let previous_from = current_from - ChronoDuration::days(days);
        let earliest = previous_from.min(today - ChronoDuration::days(SPARKLINE_DAYS - 1));
        let mut tx = self.db().read_in(tenant).await?;
        let rolled = tx.metrics_rolled_through().await?.as_deref().and_then(parse_day);
        let daily = days_between(&mut tx, tenant, earliest, today, rolled).await?;
        let sum = |from: NaiveDate, to: NaiveDate| {
            let mut totals: BTreeMap<Metric, i64> = BTreeMap::new();
            for (_, values) in daily.range(from..=to) {
                for (metric, value) in values {
                    if *metric != Metric::ActiveUsers {
                        *totals.entry(*metric).or_default() += value;
                    }
                }
            }
            totals
        };
        let mut values = sum(current_from, today);
        let mut previous = sum(previous_from, current_from - ChronoDuration::days(1));
        // People active over a period are counted once, however many days they were active.
        let current = split(current_from, today, rolled);
        values.insert(Metric::ActiveUsers, tx.active_users_over(tenant, &current.rolled_from, &current.rolled_to, current.live_from, current.live_to).await?);
        let before = split(previous_from, current_from - ChronoDuration::days(1), rolled);
        previous.insert(Metric::ActiveUsers, tx.active_users_over(tenant, &before.rolled_from, &before.rolled_to, before.live_from, before.live_to).await?);
        for metric in Metric::ALL {
            values.entry(metric).or_default();
            previous.entry(metric).or_default();
        }
        let spark_from = today - ChronoDuration::days(SPARKLINE_DAYS - 1);
        let daily = daily.range(spark_from..=today).map(|(day, values)| (*day, values.clone())).collect();
        Ok(MetricsReport { period, values, previous, daily })
    }

    /// Every tenant's value of one metric over `period`, highest first (then by name), a page
    /// at a time; superusers only.
    #[tracing::instrument(skip_all)]
    pub async fn tenant_analytics(&self, actor: &Actor, metric: &str, period: &str, page: PageRequest) -> ServiceResult<(Metric, Period, Page<TenantMetricRow>)> {
        if !actor.is_superuser || actor.api_key.is_some() {
            return Err(ServiceError::forbidden("Only platform administrators see every tenant's analytics."));
        }
        let mut errors = crate::FieldErrors::new();
        let metric = errors.check("metric", Metric::parse(if metric.trim().is_empty() { "logins" } else { metric }));
        let period = errors.check("period", Period::parse(period));
        errors.into_result()?;
        let (metric, period) = (metric.unwrap(), period.unwrap());
        let today = now().date_naive();
        let from = today - ChronoDuration::days(period.days() - 1);
        let mut tx = self.db().read().await?;
        let rolled = tx.metrics_rolled_through().await?.as_deref().and_then(parse_day);
        let range = split(from, today, rolled);
        let values: BTreeMap<TenantId, i64> =
            tx.metric_by_tenant(metric, &range.rolled_from, &range.rolled_to, range.live_from, range.live_to).await?.into_iter().collect();
        let mut rows: Vec<TenantMetricRow> = tx
            .live_tenant_names()
            .await?
            .into_iter()
            .map(|(tenant_id, name, slug)| TenantMetricRow { value: values.get(&tenant_id).copied().unwrap_or(0), tenant_id, name, slug })
            .collect();
        rows.sort_by(|a, b| b.value.cmp(&a.value).then_with(|| a.name.to_lowercase().cmp(&b.name.to_lowercase())).then_with(|| a.slug.cmp(&b.slug)));
        let count = rows.len() as i64;
        let items = rows.into_iter().skip(page.offset() as usize).take(page.limit() as usize).collect();
        Ok((metric, period, Page { items, count, page: page.page, page_size: page.page_size }))
    }

    /// Rolls up the days that ended (and are past the grace period) since the last roll-up,
    /// at most `max_days` of them; how many. Safe to run in several workers at once: each day
    /// is moved past by one of them only.
    pub async fn roll_up_metrics(&self, at: DateTime<Utc>, max_days: usize) -> ServiceResult<usize> {
        let last_complete = (at - ChronoDuration::minutes(ROLLUP_GRACE_MINUTES)).date_naive() - ChronoDuration::days(1);
        let mut mark = self.db().read().await?.metrics_rolled_through().await?;
        let mut next = match mark.as_deref().and_then(parse_day) {
            Some(day) => day + ChronoDuration::days(1),
            None => {
                let oldest = self.db().read().await?.oldest_audit_at().await?.map(|t| t.date_naive());
                oldest.unwrap_or(last_complete + ChronoDuration::days(1)).max(last_complete - ChronoDuration::days(ROLLUP_HORIZON_DAYS))
            }
        };
        if mark.is_none() && next > last_complete {
            // Nothing to roll up yet: start the mark at yesterday.
            let mut tx = self.db().write().await?;
            tx.advance_rollup(None, &day_text(last_complete)).await?;
            tx.commit().await?;
            return Ok(0);
        }
        let mut rolled = 0;
        while next <= last_complete && rolled < max_days {
            let day = day_text(next);
            let mut tx = self.db().write().await?;
            tx.roll_up_day(&day, start_of(next), start_of(next + ChronoDuration::days(1))).await?;
            if !tx.advance_rollup(mark.as_deref(), &day).await? {
                // Another worker rolled it (or is ahead): leave the rest to it.
                return Ok(rolled);
            }
            tx.commit().await?;
            mark = Some(day);
            next += ChronoDuration::days(1);
            rolled += 1;
        }
        Ok(rolled)
    }
}

/// Every day of `[from, to]` with each metric: rolled-up days from the roll-ups, later ones
/// counted live, API calls from their counters.
async fn days_between(tx: &mut Reader, tenant: TenantId, from: NaiveDate, to: NaiveDate, rolled: Option<NaiveDate>) -> ServiceResult<BTreeMap<NaiveDate, BTreeMap<Metric, i64>>> {
    let range = split(from, to, rolled);
    let mut counts: BTreeMap<NaiveDate, (DayCounts, i64, i64)> = BTreeMap::new();
    let mut day = from;
    while day <= to {
        counts.insert(day, Default::default());
        day += ChronoDuration::days(1);
    }
    for (day, values) in tx.rolled_up_days(tenant, &range.rolled_from, &range.rolled_to).await? {
        if let Some(slot) = parse_day(&day).and_then(|d| counts.get_mut(&d)) {
            slot.0 = values;
        }
    }
    for (day, people) in tx.rolled_up_active_users(tenant, &range.rolled_from, &range.rolled_to).await? {
        if let Some(slot) = parse_day(&day).and_then(|d| counts.get_mut(&d)) {
            slot.1 = people;
        }
    }
    if range.live_from < range.live_to {
        for (day, values, people) in tx.live_days(tenant, range.live_from, range.live_to).await? {
            if let Some(slot) = parse_day(&day).and_then(|d| counts.get_mut(&d)) {
                *slot = (values, people, slot.2);
            }
        }
    }
    for (day, calls) in tx.api_calls_by_day(tenant, &day_text(from), &day_text(to)).await? {
        if let Some(slot) = parse_day(&day).and_then(|d| counts.get_mut(&d)) {
            slot.2 = calls;
        }
    }
    Ok(counts
        .into_iter()
        .map(|(day, (values, active, calls))| {
            let mut metrics: BTreeMap<Metric, i64> = Metric::COUNTED.iter().map(|m| (*m, values.get(*m))).collect();
            metrics.insert(Metric::ActiveUsers, active);
            metrics.insert(Metric::ApiCalls, calls);
            (day, metrics)
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(text: &str) -> NaiveDate {
        parse_day(text).unwrap()
    }

    #[test]
    fn a_range_splits_into_rolled_up_days_and_live_time() {
        let s = split(day("2026-11-01"), day("2026-11-30"), Some(day("2026-11-28")));
        assert_eq!((s.rolled_from.as_str(), s.rolled_to.as_str()), ("2026-11-01", "2026-11-28"));
        assert_eq!((s.live_from, s.live_to), (start_of(day("2026-11-29")), start_of(day("2026-12-01"))));
        // Nothing rolled up: all live, and the rolled range is empty.
        let s = split(day("2026-11-01"), day("2026-11-30"), None);
        assert!(s.rolled_to < s.rolled_from);
        assert_eq!(s.live_from, start_of(day("2026-11-01")));
        // Rolled up past the range: nothing live.
        let s = split(day("2026-11-01"), day("2026-11-07"), Some(day("2026-11-30")));
        assert_eq!(s.rolled_to, "2026-11-07");
        assert_eq!(s.live_from, s.live_to);
        // Rolled up only before the range: all live.
        let s = split(day("2026-11-10"), day("2026-11-20"), Some(day("2026-11-01")));
        assert_eq!(s.live_from, start_of(day("2026-11-10")));
    }
}
