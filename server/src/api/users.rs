use app::ssr::AppState;
use axum::{extract::State, response::IntoResponse, routing::get, Json, Router};
use serde_json::Value;
use tenantry::service::CreateUserInput;

use super::{
    caller::Caller,
    dto,
    error::ApiResult,
    extract::{JsonObject, Meta, Pagination},
};

pub fn router() -> Router<AppState> {
    Router::new().route("/users/", get(list).post(create))
}

async fn list(State(state): State<AppState>, Caller(actor): Caller, pagination: Pagination) -> ApiResult<Json<Value>> {
    let page = state.services.list_users(&actor, pagination.request).await?;
    Ok(dto::page(&page, &pagination, dto::user))
}

/// The body is read only after the caller is known, so an outsider gets 401/403 first.
async fn create(State(state): State<AppState>, Caller(actor): Caller, Meta(meta): Meta, body: JsonObject) -> ApiResult<impl IntoResponse> {
    let input = CreateUserInput {
        email: body.raw("email"),
        password: body.raw("password"),
        first_name: body.raw("first_name"),
        last_name: body.raw("last_name"),
    };
    let profile = state.services.create_user(&actor, input, &meta).await?;
    Ok(dto::created(dto::user(&profile)))
}
