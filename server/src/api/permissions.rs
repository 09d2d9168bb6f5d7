//! `GET /api/permissions/`: the permission catalogue that roles (and API keys) are granted from.

use app::ssr::AppState;
use axum::{extract::State, routing::get, Json, Router};
use serde::Serialize;
use utoipa::ToSchema;

use super::{caller::Caller, dto::Detail, error::ApiResult};

pub fn router() -> Router<AppState> {
    Router::new().route("/permissions/", get(list))
}

#[derive(Serialize, ToSchema)]
pub struct PermissionOut {
    /// `resource:action`, as granted to roles and keys.
    #[schema(example = "members:read")]
    name: &'static str,
    #[schema(example = "members")]
    resource: &'static str,
    #[schema(example = "read")]
    action: &'static str,
    description: &'static str,
    /// Whether the caller holds it in their current tenant.
    held: bool,
}

/// Every permission of the catalogue, and whether the caller holds each one. A grant may also
/// be a wildcard: `resource:*` or `*`.
#[utoipa::path(get, path = "/api/permissions/", tag = "roles", operation_id = "list_permissions", security(("bearer" = [])),
    responses((status = 200, body = Vec<PermissionOut>), (status = 401, body = Detail)))]
pub async fn list(State(state): State<AppState>, Caller(actor): Caller) -> ApiResult<Json<Vec<PermissionOut>>> {
    let held = state.services.permissions_of(&actor);
    Ok(Json(
        state
            .services
            .permission_catalogue()
            .into_iter()
            .map(|p| PermissionOut { name: p.as_str(), resource: p.resource(), action: p.action(), description: p.description(), held: held.contains(&p) })
            .collect(),
    ))
}
