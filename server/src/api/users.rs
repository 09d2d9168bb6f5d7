use app::ssr::AppState;
use axum::{
    extract::{Path, State},
    response::IntoResponse,
    routing::{get, post},
    Json, Router,
};
use tenantry::{
    domain::TenantId,
    service::{AddMemberInput, CreateUserInput},
};
use utoipa::ToSchema;

use super::{
    caller::Caller,
    dto::{self, BadRequestOut, Detail, DetailFieldsOut, PageOut, UserOut},
    error::{ApiError, ApiResult},
    extract::{JsonObject, Meta, Pagination},
};

pub fn router() -> Router<AppState> {
    Router::new().route("/users/", get(list).post(create)).route("/tenants/{tenant_id}/users/", post(add_member))
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub struct AddMemberRequest {
    /// An existing account.
    user_id: uuid::Uuid,
    /// A role of the tenant (built-in or its own); none when omitted.
    #[schema(example = "VIEWER")]
    role: Option<String>,
    /// E-mail the account's owner that they joined (default true).
    send_notification: Option<bool>,
}

/// Adds an existing account to a tenant by its id. Platform superusers only; tenant admins
/// invite people by e-mail.
#[utoipa::path(post, path = "/api/tenants/{tenant_id}/users/", tag = "users", operation_id = "add_member", security(("bearer" = [])),
    params(("tenant_id" = uuid::Uuid, Path)), request_body = AddMemberRequest,
    responses(
        (status = 201, body = UserOut),
        (status = 400, body = BadRequestOut),
        (status = 401, body = Detail),
        (status = 403, description = "Not a platform superuser", body = Detail),
        (status = 404, body = Detail),
        (status = 409, description = "Already a member", body = DetailFieldsOut),
    ))]
pub async fn add_member(State(state): State<AppState>, Caller(actor): Caller, Meta(meta): Meta, Path(tenant_id): Path<String>, body: JsonObject) -> ApiResult<impl IntoResponse> {
    let tenant = TenantId::parse(&tenant_id).map_err(|_| ApiError::not_found())?;
    let input = AddMemberInput { user_id: body.raw("user_id"), role: body.raw("role"), send_notification: body.flag("send_notification") };
    let profile = state.services.add_member(&actor, tenant, input, &meta).await?;
    Ok(dto::created(UserOut::from(&profile)))
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
