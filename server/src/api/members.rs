use app::ssr::AppState;
use axum::{
    extract::{Path, State},
    http::StatusCode,
    routing::{delete, get, post},
    Json, Router,
};
use serde::Serialize;
use tenantry::domain::{TenantId, UserId};
use utoipa::ToSchema;
use uuid::Uuid;

use super::{
    caller::Caller,
    dto::{BadRequestOut, Detail, LoginOut, PageOut, TenantOut},
    error::{ApiError, ApiResult},
    extract::{JsonObject, Meta},
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/me/tenants/", get(my_tenants))
        .route("/auth/switch-tenant/", post(switch_tenant))
        .route("/tenants/{tenant_id}/members/{user_id}/", delete(remove_member))
}

/// One tenant the caller belongs to.
#[derive(Serialize, ToSchema)]
pub struct MembershipOut {
    #[serde(flatten)]
    pub tenant: TenantOut,
    #[schema(example = json!(["ADMIN"]))]
    pub roles: Vec<String>,
    /// Whether the caller is acting in this tenant now.
    pub current: bool,
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub struct SwitchTenantRequest {
    tenant_id: Uuid,
}

/// The caller's memberships with their roles in each.
#[utoipa::path(get, path = "/api/me/tenants/", tag = "auth", security(("bearer" = [])),
    responses((status = 200, body = PageOut<MembershipOut>), (status = 401, body = Detail)))]
pub async fn my_tenants(State(state): State<AppState>, Caller(actor): Caller) -> ApiResult<Json<PageOut<MembershipOut>>> {
    let memberships = state.services.my_tenants(&actor).await?;
    let results: Vec<MembershipOut> = memberships
        .iter()
        .map(|m| MembershipOut { tenant: (&m.tenant).into(), roles: m.roles.iter().map(|r| r.as_str().to_owned()).collect(), current: m.current })
        .collect();
    Ok(Json(PageOut { count: results.len() as i64, next: None, previous: None, results }))
}

/// A new token pair acting in another of the caller's tenants.
#[utoipa::path(post, path = "/api/auth/switch-tenant/", tag = "auth", security(("bearer" = [])), request_body = SwitchTenantRequest,
    responses((status = 200, body = LoginOut), (status = 400, body = BadRequestOut), (status = 401, body = Detail),
        (status = 403, description = "Not a member of that tenant (or it is suspended)", body = Detail)))]
pub async fn switch_tenant(State(state): State<AppState>, Caller(actor): Caller, Meta(meta): Meta, body: JsonObject) -> ApiResult<Json<LoginOut>> {
    let (pair, profile) = state.services.switch_tenant_tokens(&actor, body.raw("tenant_id"), &meta).await?;
    Ok(Json(LoginOut::new(pair, &profile)))
}

/// Removes a member from the tenant (their roles there go too); the account stays. Tenant
/// ADMIN or superuser; the last ADMIN cannot be removed.
#[utoipa::path(delete, path = "/api/tenants/{tenant_id}/members/{user_id}/", tag = "users", security(("bearer" = [])),
    params(("tenant_id" = Uuid, Path), ("user_id" = Uuid, Path)),
    responses((status = 204), (status = 401, body = Detail), (status = 403, body = Detail), (status = 404, body = Detail),
        (status = 409, description = "The last ADMIN", body = Detail)))]
pub async fn remove_member(State(state): State<AppState>, Caller(actor): Caller, Meta(meta): Meta, Path((tenant_id, user_id)): Path<(String, String)>) -> ApiResult<StatusCode> {
    let tenant = TenantId::parse(&tenant_id).map_err(|_| ApiError::not_found())?;
    let user = UserId::parse(&user_id).map_err(|_| ApiError::not_found())?;
    state.services.remove_member(&actor, tenant, user, &meta).await?;
    Ok(StatusCode::NO_CONTENT)
}
