use app::ssr::AppState;
use axum::{
    extract::{Path, State},
    http::{request::Parts, StatusCode},
    response::IntoResponse,
    routing::{delete, get, patch, post},
    Json, Router,
};
use serde::Serialize;
use tenantry::{
    domain::TenantId,
    service::{AssignRoleInput, AssignmentFilter, RoleInput, RoleView},
};
use utoipa::ToSchema;

use super::{
    caller::Caller,
    dto::{self, AssignmentOut, BadRequestOut, Detail, DetailFieldsOut, FieldErrorsOut, PageOut},
    error::{ApiError, ApiResult},
    extract::{JsonObject, Meta, Pagination, QueryInput},
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/user-roles/", get(list))
        .route("/user-roles/{id}/", delete(revoke))
        .route("/roles/assign/", post(assign))
        .route("/roles/", get(list_roles).post(create_role))
        .route("/roles/{id}/", get(read_role).patch(update_role).delete(delete_role))
        .route("/tenants/{tenant_id}/users/{user_id}/roles/{role}/", patch(change_role))
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub struct AssignRoleRequest {
    /// Id of a member of the caller's tenant.
    user: uuid::Uuid,
    /// A built-in role (`ADMIN`, `ANALYST`, `VIEWER`) or one of the tenant's own.
    #[schema(example = "ANALYST")]
    role: String,
}

/// A role: built-in (`id` is `null`; fixed) or one of the tenant's own.
#[derive(Serialize, ToSchema)]
pub struct RoleOut {
    pub id: Option<uuid::Uuid>,
    #[schema(example = "developer")]
    pub name: String,
    pub description: String,
    /// `resource:action` permissions or wildcards (`members:*`, `*`).
    #[schema(example = json!(["members:read", "invitations:*"]))]
    pub permissions: Vec<String>,
    pub built_in: bool,
    /// How many members hold it.
    pub member_count: i64,
}

impl From<&RoleView> for RoleOut {
    fn from(role: &RoleView) -> Self {
        Self {
            id: role.id,
            name: role.name.clone(),
            description: role.description.clone(),
            permissions: role.permissions.iter().map(|g| g.to_text()).collect(),
            built_in: role.built_in,
            member_count: role.member_count,
        }
    }
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub struct RoleRequest {
    /// 2–50 letters, digits, `_` and `-`; unique in the tenant (case-insensitively); not a
    /// built-in name.
    #[schema(example = "developer", min_length = 2, max_length = 50, pattern = "^[A-Za-z0-9_-]{2,50}$")]
    name: String,
    #[schema(max_length = 500)]
    description: Option<String>,
    /// From `GET /api/permissions/`, or wildcards; only permissions the caller holds.
    #[schema(example = json!(["members:read", "invitations:*"]))]
    permissions: Option<Vec<String>>,
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub struct RoleUpdateRequest {
    #[schema(example = "senior_developer", min_length = 2, max_length = 50, pattern = "^[A-Za-z0-9_-]{2,50}$")]
    name: Option<String>,
    #[schema(max_length = 500)]
    description: Option<String>,
    permissions: Option<Vec<String>>,
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ChangeRoleRequest {
    /// The role that replaces the one in the path.
    #[schema(example = "senior_developer")]
    role_name: String,
}

fn role_input(body: &JsonObject) -> RoleInput {
    RoleInput { name: body.raw("name"), description: body.raw("description"), permissions: body.raw_list("permissions") }
}

/// The role assignments of the caller's tenant. Any member may read them.
#[utoipa::path(get, path = "/api/user-roles/", tag = "roles", operation_id = "list_user_roles", security(("bearer" = []), ("api_key" = [])),
    params(
        ("user" = Option<uuid::Uuid>, Query, description = "Only this member's roles"),
        ("role" = Option<String>, Query, description = "Only this role (built-in or the tenant's own)"),
        ("page" = Option<u32>, Query, minimum = 1, description = "1-based page number"),
    ),
    responses((status = 200, body = PageOut<AssignmentOut>), (status = 400, body = FieldErrorsOut), (status = 401, body = Detail),
        (status = 403, body = Detail),
        (status = 404, description = "`page` is not a positive whole number", body = Detail)))]
pub async fn list(State(state): State<AppState>, Caller(actor): Caller, pagination: Pagination, parts: Parts) -> ApiResult<Json<PageOut<AssignmentOut>>> {
    let query = QueryInput::of(&parts);
    let param = |name: &str| query.raw(name);
    let filter = AssignmentFilter { user: param("user"), role: param("role") };
    let page = state.services.list_assignments(&actor, filter, pagination.request).await?;
    Ok(dto::page(&page, &pagination, |a| AssignmentOut::from(a)))
}

/// Gives a member of the caller's tenant a role (built-in or the tenant's own). `roles:write`,
/// and only a role whose permissions the caller holds; a `tenant` field in the body is
/// ignored. Assigning a role the member already holds returns that assignment (200).
#[utoipa::path(post, path = "/api/roles/assign/", tag = "roles", security(("bearer" = []), ("api_key" = [])), request_body = AssignRoleRequest,
    responses(
        (status = 201, body = AssignmentOut),
        (status = 200, description = "The role was already held: the existing assignment", body = AssignmentOut),
        (status = 400, body = BadRequestOut),
        (status = 401, body = Detail),
        (status = 403, description = "No `roles:write`, or the role grants a permission the caller lacks", body = Detail),
    ))]
pub async fn assign(State(state): State<AppState>, Caller(actor): Caller, Meta(meta): Meta, body: JsonObject) -> ApiResult<impl IntoResponse> {
    let input = AssignRoleInput { user: body.raw("user"), role: body.raw("role") };
    let (assignment, created) = state.services.assign_role(&actor, input, &meta).await?;
    let status = if created { StatusCode::CREATED } else { StatusCode::OK };
    Ok((status, Json(AssignmentOut::from(&assignment))))
}

/// Takes a role away. `roles:write` (checked first); another tenant's id is 404; the last
/// administrator keeps what makes them one (409).
#[utoipa::path(delete, path = "/api/user-roles/{id}/", tag = "roles", operation_id = "revoke_role", security(("bearer" = []), ("api_key" = [])), params(("id" = uuid::Uuid, Path)),
    responses((status = 204), (status = 401, body = Detail), (status = 403, body = Detail), (status = 404, body = Detail),
        (status = 409, description = "The tenant's last administrator", body = Detail)))]
pub async fn revoke(State(state): State<AppState>, Caller(actor): Caller, Meta(meta): Meta, Path(id): Path<String>) -> ApiResult<StatusCode> {
    // A caller without `roles:write` gets 403 whatever the id: the service checks it first.
    state.services.revoke_role(&actor, &id, &meta).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The built-in roles and the tenant's own, with their permissions. Any member.
#[utoipa::path(get, path = "/api/roles/", tag = "roles", operation_id = "list_roles", security(("bearer" = []), ("api_key" = [])),
    responses((status = 200, body = PageOut<RoleOut>), (status = 401, body = Detail), (status = 403, body = Detail)))]
pub async fn list_roles(State(state): State<AppState>, Caller(actor): Caller) -> ApiResult<Json<PageOut<RoleOut>>> {
    let roles = state.services.list_roles(&actor).await?;
    let results: Vec<RoleOut> = roles.iter().map(RoleOut::from).collect();
    Ok(Json(PageOut { count: results.len() as i64, next: None, previous: None, results }))
}

/// Creates a role of the caller's tenant. `roles:write`, and only with permissions the caller
/// holds (403 naming the others).
#[utoipa::path(post, path = "/api/roles/", tag = "roles", operation_id = "create_role", security(("bearer" = []), ("api_key" = [])), request_body = RoleRequest,
    responses(
        (status = 201, body = RoleOut),
        (status = 400, description = "A bad field (an unknown permission is named), or a built-in name", body = BadRequestOut),
        (status = 401, body = Detail),
        (status = 403, body = Detail),
        (status = 409, description = "The tenant has a role with this name", body = DetailFieldsOut),
    ))]
pub async fn create_role(State(state): State<AppState>, Caller(actor): Caller, Meta(meta): Meta, body: JsonObject) -> ApiResult<impl IntoResponse> {
    let role = state.services.create_role(&actor, role_input(&body), &meta).await?;
    Ok(dto::created(RoleOut::from(&role)))
}

/// One role, by the id of a custom role or by any role's name.
#[utoipa::path(get, path = "/api/roles/{id}/", tag = "roles", operation_id = "read_role", security(("bearer" = []), ("api_key" = [])),
    params(("id" = String, Path, description = "A custom role's id, or a role name")),
    responses((status = 200, body = RoleOut), (status = 401, body = Detail), (status = 403, body = Detail), (status = 404, body = Detail)))]
pub async fn read_role(State(state): State<AppState>, Caller(actor): Caller, Path(id): Path<String>) -> ApiResult<Json<RoleOut>> {
    Ok(Json(RoleOut::from(&state.services.role(&actor, &id).await?)))
}

/// Changes a custom role: the fields given. A new name follows to everyone holding it; new
/// permissions apply from their next request. Built-in roles cannot be changed (403).
#[utoipa::path(patch, path = "/api/roles/{id}/", tag = "roles", operation_id = "update_role", security(("bearer" = []), ("api_key" = [])),
    params(("id" = String, Path, description = "A custom role's id, or its name")), request_body = RoleUpdateRequest,
    responses(
        (status = 200, body = RoleOut),
        (status = 400, body = BadRequestOut),
        (status = 401, body = Detail),
        (status = 403, description = "No `roles:write`, a built-in role, or permissions the caller lacks", body = Detail),
        (status = 404, body = Detail),
        (status = 409, description = "The name is taken, or the tenant would be left without an administrator", body = DetailFieldsOut),
    ))]
pub async fn update_role(State(state): State<AppState>, Caller(actor): Caller, Meta(meta): Meta, Path(id): Path<String>, body: JsonObject) -> ApiResult<Json<RoleOut>> {
    Ok(Json(RoleOut::from(&state.services.update_role(&actor, &id, role_input(&body), &meta).await?)))
}

/// Deletes a custom role: 409 while members hold it or pending invitations would grant it,
/// unless `?reassign_to=<role>` moves them to another role in the same transaction.
#[utoipa::path(delete, path = "/api/roles/{id}/", tag = "roles", operation_id = "delete_role", security(("bearer" = []), ("api_key" = [])),
    params(("id" = String, Path, description = "A custom role's id, or its name"),
        ("reassign_to" = Option<String>, Query, description = "The role its holders get instead")),
    responses((status = 204), (status = 400, body = FieldErrorsOut), (status = 401, body = Detail),
        (status = 403, description = "No `roles:write`, a built-in role, or permissions the caller lacks", body = Detail),
        (status = 404, body = Detail), (status = 409, description = "Still held", body = Detail)))]
pub async fn delete_role(State(state): State<AppState>, Caller(actor): Caller, Meta(meta): Meta, Path(id): Path<String>, parts: Parts) -> ApiResult<StatusCode> {
    let query = QueryInput::of(&parts);
    state.services.delete_role(&actor, &id, query.raw("reassign_to"), &meta).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Replaces one role a member holds with another, atomically (audit `role_changed`).
#[utoipa::path(patch, path = "/api/tenants/{tenant_id}/users/{user_id}/roles/{role}/", tag = "roles", operation_id = "change_member_role",
    security(("bearer" = []), ("api_key" = [])),
    params(("tenant_id" = uuid::Uuid, Path), ("user_id" = uuid::Uuid, Path), ("role" = String, Path, description = "The role held now")),
    request_body = ChangeRoleRequest,
    responses(
        (status = 200, description = "The new assignment", body = AssignmentOut),
        (status = 400, body = BadRequestOut),
        (status = 401, body = Detail),
        (status = 403, body = Detail),
        (status = 404, description = "No such tenant, member, or role held", body = Detail),
        (status = 409, description = "The tenant would be left without an administrator", body = Detail),
    ))]
pub async fn change_role(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Meta(meta): Meta,
    Path((tenant_id, user_id, role)): Path<(String, String, String)>,
    body: JsonObject,
) -> ApiResult<Json<AssignmentOut>> {
    let tenant = TenantId::parse(&tenant_id).map_err(|_| ApiError::not_found())?;
    let assignment = state.services.change_role(&actor, tenant, &user_id, &role, body.raw("role_name"), &meta).await?;
    Ok(Json(AssignmentOut::from(&assignment)))
}
