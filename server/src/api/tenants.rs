use app::ssr::AppState;
use axum::{extract::State, response::IntoResponse, routing::get, Json, Router};
use serde_json::json;
use tenantry::service::SignUpInput;

use super::{
    caller::Caller,
    dto,
    error::ApiResult,
    extract::{JsonObject, Meta, Pagination},
};
use crate::rate_limit::RateLimits;

pub fn router(limits: &RateLimits) -> Router<AppState> {
    Router::new().route("/tenants/", get(list).post(sign_up).route_layer(limits.per_ip()))
}

/// Open self-service sign-up.
async fn sign_up(State(state): State<AppState>, Meta(meta): Meta, body: JsonObject) -> ApiResult<impl IntoResponse> {
    let input = SignUpInput {
        name: body.raw("name"),
        admin_email: body.raw("admin_email"),
        admin_password: body.raw("admin_password"),
        first_name: body.raw_any(&["first_name", "admin_first_name"]),
        last_name: body.raw_any(&["last_name", "admin_last_name"]),
    };
    let outcome = state.services.sign_up(input, &meta).await?;
    let mut body = dto::tenant(&outcome.tenant);
    body["admin_user_id"] = json!(outcome.admin.id);
    Ok(dto::created(body))
}

async fn list(State(state): State<AppState>, Caller(actor): Caller, pagination: Pagination) -> ApiResult<Json<serde_json::Value>> {
    let page = state.services.list_tenants(&actor, pagination.request).await?;
    Ok(dto::page(&page, &pagination, dto::tenant))
}
