use app::ssr::AppState;
use axum::{
    extract::State,
    http::{request::Parts, StatusCode},
    response::IntoResponse,
    routing::{get, post},
    Json, Router,
};
use serde_json::Value;
use tenantry::service::{AssignRoleInput, AssignmentFilter, Raw};

use super::{
    caller::Caller,
    dto,
    error::ApiResult,
    extract::{query_pairs, JsonObject, Meta, Pagination},
};

pub fn router() -> Router<AppState> {
    Router::new().route("/user-roles/", get(list)).route("/roles/assign/", post(assign))
}

async fn list(State(state): State<AppState>, Caller(actor): Caller, pagination: Pagination, parts: Parts) -> ApiResult<Json<Value>> {
    let query = query_pairs(&parts);
    let param = |name: &str| Raw::from_form(query.iter().find(|(k, v)| k == name && !v.is_empty()).map(|(_, v)| v.clone()));
    let filter = AssignmentFilter { user: param("user"), role: param("role") };
    let page = state.services.list_assignments(&actor, filter, pagination.request).await?;
    Ok(dto::page(&page, &pagination, dto::assignment))
}

/// 201 with the new assignment; 200 with the existing one when the role was already held.
async fn assign(State(state): State<AppState>, Caller(actor): Caller, Meta(meta): Meta, body: JsonObject) -> ApiResult<impl IntoResponse> {
    let input = AssignRoleInput { user: body.raw("user"), role: body.raw("role") };
    let (assignment, created) = state.services.assign_role(&actor, input, &meta).await?;
    let status = if created { StatusCode::CREATED } else { StatusCode::OK };
    Ok((status, Json(dto::assignment(&assignment))))
}
