use app::ssr::AppState;
use axum::{
    extract::{Path, State},
    routing::post,
    Json, Router,
};
use tenantry::domain::TenantId;


use super::{
    caller::Caller,
    dto::{Detail, TenantOut},
    error::{ApiError, ApiResult},
    extract::Meta,
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/tenants/{tenant_id}/suspend/", post(suspend))
        .route("/tenants/{tenant_id}/reactivate/", post(reactivate))
}

/// Suspends a tenant: its members cannot log in or act there and nobody can be invited; its
/// data stays. Superuser only.
#[utoipa::path(post, path = "/api/tenants/{tenant_id}/suspend/", tag = "tenants", security(("bearer" = [])), params(("tenant_id" = Uuid, Path)),
    responses((status = 200, body = TenantOut), (status = 401, body = Detail), (status = 403, body = Detail), (status = 404, body = Detail)))]
pub async fn suspend(State(state): State<AppState>, Caller(actor): Caller, Meta(meta): Meta, Path(tenant_id): Path<String>) -> ApiResult<Json<TenantOut>> {
    set(state, actor, meta, &tenant_id, true).await
}

/// Reactivates a suspended tenant. Superuser only.
#[utoipa::path(post, path = "/api/tenants/{tenant_id}/reactivate/", tag = "tenants", security(("bearer" = [])), params(("tenant_id" = Uuid, Path)),
    responses((status = 200, body = TenantOut), (status = 401, body = Detail), (status = 403, body = Detail), (status = 404, body = Detail)))]
pub async fn reactivate(State(state): State<AppState>, Caller(actor): Caller, Meta(meta): Meta, Path(tenant_id): Path<String>) -> ApiResult<Json<TenantOut>> {
    set(state, actor, meta, &tenant_id, false).await
}

async fn set(state: AppState, actor: tenantry::service::Actor, meta: tenantry::service::RequestMeta, tenant_id: &str, suspended: bool) -> ApiResult<Json<TenantOut>> {
    if !actor.is_superuser {
        // Authorization before the id is even parsed.
        return Err(tenantry::ServiceError::forbidden("Only platform administrators can suspend or reactivate a tenant.").into());
    }
    let tenant = TenantId::parse(tenant_id).map_err(|_| ApiError::not_found())?;
    let tenant = state.services.set_tenant_suspended(&actor, tenant, suspended, &meta).await?;
    Ok(Json((&tenant).into()))
}
