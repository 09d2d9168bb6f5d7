use app::ssr::AppState;
use axum::{
    extract::State,
    http::{request::Parts, StatusCode},
    response::IntoResponse,
    extract::Path,
    routing::{delete, get, post},
    Json, Router,
};
use tenantry::service::{AssignRoleInput, AssignmentFilter};
use utoipa::ToSchema;

use super::{
    caller::Caller,
    dto::{self, AssignmentOut, BadRequestOut, Detail, FieldErrorsOut, PageOut},
    error::ApiResult,
    extract::{JsonObject, Meta, Pagination, QueryInput},
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/user-roles/", get(list))
        .route("/user-roles/{id}/", delete(revoke))
        .route("/roles/assign/", post(assign))
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub struct AssignRoleRequest {
    /// Id of a member of the caller's tenant.
    user: uuid::Uuid,
    #[schema(example = "ANALYST")]
    role: String,
}

/// The role assignments of the caller's tenant. Any member may read them.
#[utoipa::path(get, path = "/api/user-roles/", tag = "roles", operation_id = "list_user_roles", security(("bearer" = [])),
    params(
        ("user" = Option<uuid::Uuid>, Query, description = "Only this member's roles"),
        ("role" = Option<String>, Query, description = "Only this role"),
        ("page" = Option<u32>, Query, minimum = 1, description = "1-based page number"),
    ),
    responses((status = 200, body = PageOut<AssignmentOut>), (status = 400, body = FieldErrorsOut), (status = 401, body = Detail),
        (status = 404, description = "`page` is not a positive whole number", body = Detail)))]
pub async fn list(State(state): State<AppState>, Caller(actor): Caller, pagination: Pagination, parts: Parts) -> ApiResult<Json<PageOut<AssignmentOut>>> {
    let query = QueryInput::of(&parts);
    let param = |name: &str| query.raw(name);
    let filter = AssignmentFilter { user: param("user"), role: param("role") };
    let page = state.services.list_assignments(&actor, filter, pagination.request).await?;
    Ok(dto::page(&page, &pagination, |a| AssignmentOut::from(a)))
}

/// Gives a member of the caller's tenant a role. Tenant ADMIN only; a `tenant` field in the
/// body is ignored. Assigning a role the member already holds returns that assignment (200).
#[utoipa::path(post, path = "/api/roles/assign/", tag = "roles", security(("bearer" = [])), request_body = AssignRoleRequest,
    responses(
        (status = 201, body = AssignmentOut),
        (status = 200, description = "The role was already held: the existing assignment", body = AssignmentOut),
        (status = 400, body = BadRequestOut),
        (status = 401, body = Detail),
        (status = 403, body = Detail),
    ))]
pub async fn assign(State(state): State<AppState>, Caller(actor): Caller, Meta(meta): Meta, body: JsonObject) -> ApiResult<impl IntoResponse> {
    let input = AssignRoleInput { user: body.raw("user"), role: body.raw("role") };
    let (assignment, created) = state.services.assign_role(&actor, input, &meta).await?;
    let status = if created { StatusCode::CREATED } else { StatusCode::OK };
    Ok((status, Json(AssignmentOut::from(&assignment))))
}

/// Takes a role away. Tenant ADMIN only (checked first); another tenant's id is 404; the last
/// ADMIN keeps the role (409).
#[utoipa::path(delete, path = "/api/user-roles/{id}/", tag = "roles", operation_id = "revoke_role", security(("bearer" = [])), params(("id" = uuid::Uuid, Path)),
    responses((status = 204), (status = 401, body = Detail), (status = 403, body = Detail), (status = 404, body = Detail),
        (status = 409, description = "The tenant's last ADMIN", body = Detail)))]
pub async fn revoke(State(state): State<AppState>, Caller(actor): Caller, Meta(meta): Meta, Path(id): Path<String>) -> ApiResult<StatusCode> {
    // A caller without `roles:write` gets 403 whatever the id: the service checks it first.
    state.services.revoke_role(&actor, &id, &meta).await?;
    Ok(StatusCode::NO_CONTENT)
}
