use app::ssr::AppState;
use axum::{extract::State, response::IntoResponse, routing::get, Json, Router};
use tenantry::service::CreateUserInput;
use utoipa::ToSchema;

use super::{
    caller::Caller,
    dto::{self, BadRequestOut, Detail, DetailFieldsOut, PageOut, UserOut},
    error::ApiResult,
    extract::{JsonObject, Meta, Pagination},
};

pub fn router() -> Router<AppState> {
    Router::new().route("/users/", get(list).post(create))
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub struct CreateUserRequest {
    #[schema(format = Email, max_length = 254)]
    email: String,
    /// At least 8 characters, not common, not the e-mail.
    #[schema(min_length = 8, max_length = 128)]
    password: String,
    first_name: Option<String>,
    last_name: Option<String>,
}

/// The members of the caller's tenant with their roles, ordered by e-mail.
#[utoipa::path(get, path = "/api/users/", tag = "users", operation_id = "list_users", security(("bearer" = [])),
    params(("page" = Option<u32>, Query, minimum = 1, description = "1-based page number")),
    responses((status = 200, body = PageOut<UserOut>), (status = 401, body = Detail),
        (status = 404, description = "`page` is not a positive whole number", body = Detail)))]
pub async fn list(State(state): State<AppState>, Caller(actor): Caller, pagination: Pagination) -> ApiResult<Json<PageOut<UserOut>>> {
    let page = state.services.list_users(&actor, pagination.request).await?;
    Ok(dto::page(&page, &pagination, |p| UserOut::from(p)))
}

/// Creates an account as a member of the caller's tenant, with no role. Tenant ADMIN only.
#[utoipa::path(post, path = "/api/users/", tag = "users", operation_id = "create_user", security(("bearer" = [])), request_body = CreateUserRequest,
    responses(
        (status = 201, body = UserOut),
        (status = 400, body = BadRequestOut),
        (status = 401, body = Detail),
        (status = 403, description = "Not an ADMIN of this tenant (checked before the body)", body = Detail),
        (status = 409, description = "The e-mail already has an account", body = DetailFieldsOut),
    ))]
pub async fn create(State(state): State<AppState>, Caller(actor): Caller, Meta(meta): Meta, body: JsonObject) -> ApiResult<impl IntoResponse> {
    let input = CreateUserInput {
        email: body.raw("email"),
        password: body.raw("password"),
        first_name: body.raw("first_name"),
        last_name: body.raw("last_name"),
    };
    let profile = state.services.create_user(&actor, input, &meta).await?;
    Ok(dto::created(UserOut::from(&profile)))
}
