//! Tenant metrics (`/api/tenants/{id}/metrics/`) and the platform's analytics
//! (`/api/analytics/tenants/`).

use std::collections::{BTreeMap, HashMap};

use app::ssr::AppState;
use axum::{
    extract::{Path, Query, State},
    routing::get,
    Json, Router,
};
use serde::Serialize;
use tenantry::domain::Metric;
use utoipa::ToSchema;
use uuid::Uuid;

use super::{
    caller::Caller,
    dto::{Detail, FieldErrorsOut},
    error::ApiResult,
    extract::{tenant_path, Pagination},
};

pub fn router() -> Router<AppState> {
    Router::new().route("/tenants/{tenant_id}/metrics/", get(tenant_metrics)).route("/analytics/tenants/", get(analytics))
}

/// Each metric over the period, the same over the period before it, and the change.
#[derive(Serialize, ToSchema)]
pub struct MetricsOut {
    #[schema(example = "30d")]
    pub period: String,
    /// `active_users`, `logins`, `failed_logins`, `invitations_sent`, `invitations_accepted`,
    /// `members_added`, `members_removed`, `api_calls`.
    #[schema(example = json!({"active_users": 12, "logins": 48, "failed_logins": 3, "invitations_sent": 9, "invitations_accepted": 7, "members_added": 7, "members_removed": 1, "api_calls": 1520}))]
    pub metrics: BTreeMap<String, i64>,
    /// The same metrics over the period of the same length just before.
    pub previous: BTreeMap<String, i64>,
    /// `<metric>_change_pct`: the change against the previous period in percent; `null` when
    /// the previous period had none (a rise from zero).
    #[schema(example = json!({"logins_change_pct": 20.0, "active_users_change_pct": null}))]
    pub trends: BTreeMap<String, Option<f64>>,
}

/// A tenant's metrics. `audit:read` in it (its ADMINs); a superuser for any tenant.
#[utoipa::path(get, path = "/api/tenants/{tenant_id}/metrics/", tag = "metrics", operation_id = "tenant_metrics", security(("bearer" = []), ("api_key" = [])),
    params(("tenant_id" = Uuid, Path), ("period" = Option<String>, Query, description = "`7d`, `30d` (default) or `90d`")),
    responses((status = 200, body = MetricsOut), (status = 400, body = FieldErrorsOut), (status = 401, body = Detail), (status = 403, body = Detail), (status = 404, body = Detail)))]
pub async fn tenant_metrics(State(state): State<AppState>, Caller(actor): Caller, Path(tenant_id): Path<String>, Query(query): Query<HashMap<String, String>>) -> ApiResult<Json<MetricsOut>> {
    let tenant = tenant_path(&tenant_id)?;
    let report = state.services.tenant_metrics(&actor, Some(tenant), query.get("period").map_or("", String::as_str)).await?;
    let named = |values: &BTreeMap<Metric, i64>| values.iter().map(|(m, v)| (m.as_str().to_owned(), *v)).collect();
    Ok(Json(MetricsOut {
        period: report.period.as_str().to_owned(),
        metrics: named(&report.values),
        previous: named(&report.previous),
        trends: Metric::ALL.iter().map(|m| (format!("{}_change_pct", m.as_str()), report.trend(*m))).collect(),
    }))
}

#[derive(Serialize, ToSchema)]
pub struct TenantValueOut {
    pub tenant_id: Uuid,
    pub name: String,
    pub slug: String,
    pub value: i64,
}

/// Every tenant's value of one metric, highest first, 100 a page.
#[derive(Serialize, ToSchema)]
pub struct AnalyticsOut {
    #[schema(example = "logins")]
    pub metric: String,
    #[schema(example = "30d")]
    pub period: String,
    pub count: i64,
    pub next: Option<String>,
    pub previous: Option<String>,
    pub results: Vec<TenantValueOut>,
}

/// One metric for every tenant, sorted by value (then name). Superusers.
#[utoipa::path(get, path = "/api/analytics/tenants/", tag = "metrics", operation_id = "tenant_analytics", security(("bearer" = [])),
    params(("metric" = Option<String>, Query, description = "A metric name; default `logins`"), ("period" = Option<String>, Query, description = "`7d`, `30d` (default) or `90d`"),
        ("page" = Option<u32>, Query, minimum = 1)),
    responses((status = 200, body = AnalyticsOut), (status = 400, body = FieldErrorsOut), (status = 401, body = Detail), (status = 403, body = Detail),
        (status = 404, description = "`page` is not a positive whole number", body = Detail)))]
pub async fn analytics(State(state): State<AppState>, Caller(actor): Caller, pagination: Pagination, Query(query): Query<HashMap<String, String>>) -> ApiResult<Json<AnalyticsOut>> {
    let text = |name: &str| query.get(name).map_or("", String::as_str);
    let (metric, period, page) = state.services.tenant_analytics(&actor, text("metric"), text("period"), pagination.request).await?;
    Ok(Json(AnalyticsOut {
        metric: metric.as_str().to_owned(),
        period: period.as_str().to_owned(),
        count: page.count,
        next: page.has_next().then(|| pagination.link(page.page + 1)),
        previous: page.has_previous().then(|| pagination.link(page.page - 1)),
        results: page.items.iter().map(|r| TenantValueOut { tenant_id: r.tenant_id.0, name: r.name.clone(), slug: r.slug.clone(), value: r.value }).collect(),
    }))
}
