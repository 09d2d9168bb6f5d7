//! Plans, a tenant's quotas and usage, its plan and its feature flags.

use std::collections::BTreeMap;

use app::ssr::AppState;
use axum::{
    extract::{Path, State},
    response::IntoResponse,
    routing::{get, patch, post, put},
    Json, Router,
};
use serde::Serialize;
use serde_json::Value;
use tenantry::{
    domain::FlagSource,
    service::{FeatureReport, PlanChange, PlanInput, QuotaReport},
    store::Plan,
};
use utoipa::ToSchema;

use super::{
    caller::Caller,
    dto::{self, BadRequestOut, Detail, DetailFieldsOut, PageOut, TenantOut},
    error::ApiResult,
    extract::{JsonObject, Meta},
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/plans/", get(list).post(create))
        .route("/plans/{name}/", patch(update))
        .route("/tenants/{tenant_id}/quotas/usage/", get(usage))
        .route("/tenants/{tenant_id}/usage/", put(set_usage))
        .route("/tenants/{tenant_id}/usage/check/", post(check))
        .route("/tenants/{tenant_id}/plan/", post(change_plan))
        .route("/tenants/{tenant_id}/features/", get(features).patch(set_features))
}

/// A plan: its limits (the four standard ones as fields too) and features.
#[derive(Serialize, ToSchema)]
pub struct PlanOut {
    #[schema(example = "professional")]
    pub name: String,
    pub display_name: String,
    pub price_monthly: Option<f64>,
    pub max_users: Option<i64>,
    pub max_assets: Option<i64>,
    pub max_devices: Option<i64>,
    pub storage_quota_gb: Option<i64>,
    /// Every limit of the plan, standard or not (`max_tasks` …).
    #[schema(value_type = Object, example = json!({"max_users": 50, "max_tasks": 20}))]
    pub limits: BTreeMap<String, i64>,
    #[schema(example = json!(["analytics", "api_access"]))]
    pub features: Vec<String>,
}

impl From<&Plan> for PlanOut {
    fn from(plan: &Plan) -> Self {
        let limit = |name: &str| plan.limits.0.get(name).copied();
        Self {
            name: plan.name.clone(),
            display_name: plan.display_name.clone(),
            price_monthly: plan.price_monthly,
            max_users: limit("max_users"),
            max_assets: limit("max_assets"),
            max_devices: limit("max_devices"),
            storage_quota_gb: limit("storage_quota_gb"),
            limits: plan.limits.0.clone(),
            features: plan.features.0.clone(),
        }
    }
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub struct PlanRequest {
    #[schema(example = "startup")]
    name: String,
    display_name: Option<String>,
    price_monthly: Option<f64>,
    /// `max_<resource>` or `storage_quota_gb` → a whole number.
    #[schema(value_type = Option<Object>, example = json!({"max_users": 25, "max_tasks": 100}))]
    limits: Option<Value>,
    features: Option<Vec<String>>,
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub struct PlanUpdateRequest {
    display_name: Option<String>,
    price_monthly: Option<f64>,
    /// Merged into the plan's limits; a `null` removes one.
    #[schema(value_type = Option<Object>, example = json!({"max_users": 30, "max_tasks": null}))]
    limits: Option<Value>,
    /// A list replaces the features; an object of name → bool switches those.
    #[schema(value_type = Option<Object>)]
    features: Option<Value>,
}

fn plan_input(body: &JsonObject) -> PlanInput {
    PlanInput {
        name: body.raw("name"),
        display_name: body.raw("display_name"),
        price_monthly: body.0.get("price_monthly").cloned(),
        limits: body.0.get("limits").cloned(),
        features: body.0.get("features").cloned(),
    }
}

/// Every plan. Anyone signed in.
#[utoipa::path(get, path = "/api/plans/", tag = "plans", operation_id = "list_plans", security(("bearer" = []), ("api_key" = [])),
    responses((status = 200, body = PageOut<PlanOut>), (status = 401, body = Detail)))]
pub async fn list(State(state): State<AppState>, Caller(actor): Caller) -> ApiResult<Json<PageOut<PlanOut>>> {
    let plans = state.services.list_plans(&actor).await?;
    let results: Vec<PlanOut> = plans.iter().map(PlanOut::from).collect();
    Ok(Json(PageOut { count: results.len() as i64, next: None, previous: None, results }))
}

/// Creates a plan. Platform superusers only.
#[utoipa::path(post, path = "/api/plans/", tag = "plans", operation_id = "create_plan", security(("bearer" = [])), request_body = PlanRequest,
    responses((status = 201, body = PlanOut), (status = 400, body = BadRequestOut), (status = 401, body = Detail), (status = 403, body = Detail),
        (status = 409, body = DetailFieldsOut)))]
pub async fn create(State(state): State<AppState>, Caller(actor): Caller, body: JsonObject) -> ApiResult<impl IntoResponse> {
    let plan = state.services.create_plan(Some(&actor), plan_input(&body)).await?;
    Ok(dto::created(PlanOut::from(&plan)))
}

/// Changes a plan: the fields given. Platform superusers only.
#[utoipa::path(patch, path = "/api/plans/{name}/", tag = "plans", operation_id = "update_plan", security(("bearer" = [])),
    params(("name" = String, Path)), request_body = PlanUpdateRequest,
    responses((status = 200, body = PlanOut), (status = 400, body = BadRequestOut), (status = 401, body = Detail), (status = 403, body = Detail),
        (status = 404, body = Detail)))]
pub async fn update(State(state): State<AppState>, Caller(actor): Caller, Path(name): Path<String>, body: JsonObject) -> ApiResult<Json<PlanOut>> {
    let plan = state.services.update_plan(Some(&actor), &name, plan_input(&body), false).await?;
    Ok(Json(PlanOut::from(&plan)))
}

/// A tenant's plan, limits, usage and percentages (keyed by resource; `null` when unlimited).
#[derive(Serialize, ToSchema)]
pub struct QuotaUsageOut {
    pub plan: Option<String>,
    #[schema(value_type = Object, example = json!({"users": 4, "assets": 120}))]
    pub current_usage: BTreeMap<String, i64>,
    #[schema(value_type = Object, example = json!({"max_users": 10, "max_assets": null}))]
    pub quotas: BTreeMap<String, Option<i64>>,
    #[schema(value_type = Object, example = json!({"users": 40.0, "assets": null}))]
    pub usage_percentages: BTreeMap<String, Option<f64>>,
}

impl From<QuotaReport> for QuotaUsageOut {
    fn from(report: QuotaReport) -> Self {
        Self { plan: report.plan, current_usage: report.usage, quotas: report.limits, usage_percentages: report.percentages }
    }
}

/// A tenant's usage against its plan's quotas. Its members; a superuser for any tenant.
#[utoipa::path(get, path = "/api/tenants/{tenant_id}/quotas/usage/", tag = "plans", operation_id = "quota_usage", security(("bearer" = []), ("api_key" = [])),
    params(("tenant_id" = uuid::Uuid, Path)),
    responses((status = 200, body = QuotaUsageOut), (status = 401, body = Detail), (status = 403, body = Detail), (status = 404, body = Detail)))]
pub async fn usage(State(state): State<AppState>, Caller(actor): Caller, Path(tenant_id): Path<String>) -> ApiResult<Json<QuotaUsageOut>> {
    Ok(Json(state.services.quota_usage(&actor, super::extract::tenant_path(&tenant_id)?).await?.into()))
}

/// Sets the counters the host application owns (`{"assets": 120, "devices": 3, "storage_gb":
/// 5}`); `usage:write` (tenant ADMIN, a key with that scope) or a superuser.
#[utoipa::path(put, path = "/api/tenants/{tenant_id}/usage/", tag = "plans", operation_id = "set_usage", security(("bearer" = []), ("api_key" = [])),
    params(("tenant_id" = uuid::Uuid, Path)),
    request_body(content = Object, description = "resource → whole number", example = json!({"assets": 120, "devices": 3, "storage_gb": 5})),
    responses((status = 200, body = QuotaUsageOut), (status = 400, body = BadRequestOut), (status = 401, body = Detail), (status = 403, body = Detail),
        (status = 404, body = Detail)))]
pub async fn set_usage(State(state): State<AppState>, Caller(actor): Caller, Meta(meta): Meta, Path(tenant_id): Path<String>, body: JsonObject) -> ApiResult<Json<QuotaUsageOut>> {
    let tenant = super::extract::tenant_path(&tenant_id)?;
    Ok(Json(state.services.set_usage(&actor, tenant, &body.0, &meta).await?.into()))
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub struct UsageCheckRequest {
    #[schema(example = "assets")]
    resource: String,
    /// Default 1.
    #[schema(minimum = 0)]
    add: Option<i64>,
}

/// Room for more.
#[derive(Serialize, ToSchema)]
pub struct UsageCheckOut {
    pub allowed: bool,
    pub resource: String,
    pub usage: i64,
    pub add: i64,
    /// `null`: unlimited.
    pub limit: Option<i64>,
}

/// The quota 403: `{"detail", "code": "quota_exceeded", "quota", "limit", "usage"}`.
#[derive(Serialize, ToSchema)]
pub struct QuotaExceededOut {
    pub detail: String,
    #[schema(example = "quota_exceeded")]
    pub code: String,
    #[schema(example = "max_users")]
    pub quota: String,
    pub limit: i64,
    pub usage: i64,
}

/// Whether `add` more of a resource fit the tenant's quota: 200 `{"allowed": true, …}`, or
/// 403 `quota_exceeded`. Its members; a superuser.
#[utoipa::path(post, path = "/api/tenants/{tenant_id}/usage/check/", tag = "plans", operation_id = "check_usage", security(("bearer" = []), ("api_key" = [])),
    params(("tenant_id" = uuid::Uuid, Path)), request_body = UsageCheckRequest,
    responses((status = 200, body = UsageCheckOut), (status = 400, body = BadRequestOut), (status = 401, body = Detail),
        (status = 403, description = "Over the quota (`code: quota_exceeded`), or not a member", body = QuotaExceededOut), (status = 404, body = Detail)))]
pub async fn check(State(state): State<AppState>, Caller(actor): Caller, Path(tenant_id): Path<String>, body: JsonObject) -> ApiResult<Json<UsageCheckOut>> {
    let tenant = super::extract::tenant_path(&tenant_id)?;
    let add = body.0.get("add").and_then(Value::as_i64).unwrap_or(1);
    let (resource, usage, limit) = state.services.check_usage(&actor, tenant, body.raw("resource"), body.0.get("add")).await?;
    Ok(Json(UsageCheckOut { allowed: true, resource, usage, add, limit }))
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub struct PlanChangeRequest {
    /// A plan's name, or `null` for none.
    #[schema(example = "enterprise")]
    plan: Option<String>,
    /// The tenant's limit overrides, replacing its current ones (`null` values: unlimited).
    #[schema(value_type = Option<Object>, example = json!({"max_users": 300}))]
    limits: Option<Value>,
    /// Change even when the tenant uses more than the new limits allow.
    force: Option<bool>,
}

/// The tenant's plan and what it may now use.
#[derive(Serialize, ToSchema)]
pub struct PlanChangedOut {
    pub tenant: TenantOut,
    pub plan: Option<String>,
    #[schema(value_type = Object)]
    pub limits: BTreeMap<String, Option<i64>>,
    #[schema(value_type = Object)]
    pub features: BTreeMap<String, FeatureOut>,
}

/// Changes a tenant's plan and limit overrides. A superuser, or the partner that provisioned
/// it. A downgrade below current usage is 409 listing each exceeded quota unless `force`.
#[utoipa::path(post, path = "/api/tenants/{tenant_id}/plan/", tag = "plans", operation_id = "change_plan", security(("bearer" = [])),
    params(("tenant_id" = uuid::Uuid, Path)), request_body = PlanChangeRequest,
    responses((status = 200, body = PlanChangedOut), (status = 400, body = BadRequestOut), (status = 401, body = Detail), (status = 403, body = Detail),
        (status = 404, body = Detail), (status = 409, description = "The tenant uses more than the new plan allows (each quota named)", body = DetailFieldsOut)))]
pub async fn change_plan(State(state): State<AppState>, Caller(actor): Caller, Meta(meta): Meta, Path(tenant_id): Path<String>, body: JsonObject) -> ApiResult<Json<PlanChangedOut>> {
    let tenant = super::extract::tenant_path(&tenant_id)?;
    let plan = match body.0.get("plan") {
        Some(Value::Null) => tenantry::service::Raw::text(""),
        _ => body.raw("plan"),
    };
    let force = body.0.get("force").and_then(Value::as_bool).unwrap_or(false);
    let change = PlanChange { plan, limits: body.0.get("limits").cloned(), force };
    let (updated, entitlements) = state.services.change_plan(&actor, tenant, change, &meta).await?;
    Ok(Json(PlanChangedOut {
        plan: updated.plan.clone(),
        tenant: (&updated).into(),
        limits: entitlements.limits,
        features: features_out(&entitlements.features),
    }))
}

/// One feature flag and where it comes from.
#[derive(Serialize, ToSchema)]
pub struct FeatureOut {
    pub enabled: bool,
    /// `plan` or `override`.
    pub source: String,
}

fn features_out(report: &FeatureReport) -> BTreeMap<String, FeatureOut> {
    report.iter().map(|(name, (on, source))| (name.clone(), FeatureOut { enabled: *on, source: source_name(*source) })).collect()
}

fn source_name(source: FlagSource) -> String {
    source.as_str().to_owned()
}

/// `{"features": {name: {"enabled", "source"}}}`.
#[derive(Serialize, ToSchema)]
pub struct FeaturesOut {
    #[schema(value_type = Object)]
    pub features: BTreeMap<String, FeatureOut>,
}

/// The tenant's feature flags, each with where it comes from. Its members.
#[utoipa::path(get, path = "/api/tenants/{tenant_id}/features/", tag = "plans", operation_id = "tenant_features", security(("bearer" = []), ("api_key" = [])),
    params(("tenant_id" = uuid::Uuid, Path)),
    responses((status = 200, body = FeaturesOut), (status = 401, body = Detail), (status = 403, body = Detail), (status = 404, body = Detail)))]
pub async fn features(State(state): State<AppState>, Caller(actor): Caller, Path(tenant_id): Path<String>) -> ApiResult<Json<FeaturesOut>> {
    let report = state.services.tenant_features(&actor, super::extract::tenant_path(&tenant_id)?).await?;
    Ok(Json(FeaturesOut { features: features_out(&report) }))
}

/// Switches features on or off for the tenant (`null`: follow the plan again). A superuser,
/// or the partner that provisioned it.
#[utoipa::path(patch, path = "/api/tenants/{tenant_id}/features/", tag = "plans", operation_id = "set_tenant_features", security(("bearer" = [])),
    params(("tenant_id" = uuid::Uuid, Path)),
    request_body(content = Object, description = "feature → true, false or null", example = json!({"custom_branding": true, "api_access": null})),
    responses((status = 200, body = FeaturesOut), (status = 400, body = BadRequestOut), (status = 401, body = Detail), (status = 403, body = Detail),
        (status = 404, body = Detail)))]
pub async fn set_features(State(state): State<AppState>, Caller(actor): Caller, Meta(meta): Meta, Path(tenant_id): Path<String>, body: JsonObject) -> ApiResult<Json<FeaturesOut>> {
    let report = state.services.set_features(&actor, super::extract::tenant_path(&tenant_id)?, &body.0, &meta).await?;
    Ok(Json(FeaturesOut { features: features_out(&report) }))
}
