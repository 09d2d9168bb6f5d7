//! `/api/api-keys/`: a tenant's machine credentials.

use app::ssr::AppState;
use axum::{
    extract::{Path, State},
    http::StatusCode,
    response::IntoResponse,
    routing::{delete, get},
    Json, Router,
};
use serde::Serialize;
use tenantry::{service::ApiKeyInput, store::ApiKey};
use utoipa::ToSchema;
use uuid::Uuid;

use super::{
    caller::Caller,
    dto::{self, BadRequestOut, Detail, PageOut},
    error::ApiResult,
    extract::{JsonObject, Meta},
};

pub fn router() -> Router<AppState> {
    Router::new().route("/api-keys/", get(list).post(create)).route("/api-keys/{id}/", delete(revoke))
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ApiKeyRequest {
    #[schema(example = "Primary API Key", max_length = 100)]
    name: String,
    /// Permissions from `GET /api/permissions/` or wildcards; only ones the caller holds.
    #[schema(example = json!(["members:read", "invitations:*"]), min_items = 1)]
    scopes: Vec<String>,
    /// Whole days until the key expires (1–3650); omitted, it does not expire.
    #[schema(example = 365, minimum = 1, maximum = 3650)]
    expires_days: Option<i64>,
}

/// A key as listed: never the key itself.
#[derive(Serialize, ToSchema)]
pub struct ApiKeyOut {
    pub id: Uuid,
    pub name: String,
    /// The key's first characters, to tell keys apart.
    #[schema(example = "tnt_Ab3dE6")]
    pub prefix: String,
    #[schema(example = json!(["members:read"]))]
    pub scopes: Vec<String>,
    pub created_by: Uuid,
    pub created_by_email: String,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub expires_at: Option<String>,
    #[schema(format = DateTime)]
    pub revoked_at: Option<String>,
    #[schema(format = DateTime)]
    pub last_used_at: Option<String>,
    pub last_used_ip: Option<String>,
}

impl From<&ApiKey> for ApiKeyOut {
    fn from(key: &ApiKey) -> Self {
        Self {
            id: key.id,
            name: key.name.clone(),
            prefix: key.prefix.clone(),
            scopes: key.scopes.0.iter().map(|g| g.to_text()).collect(),
            created_by: key.created_by.0,
            created_by_email: key.created_by_email.clone(),
            created_at: key.created_at.to_rfc3339(),
            expires_at: key.expires_at.map(|t| t.to_rfc3339()),
            revoked_at: key.revoked_at.map(|t| t.to_rfc3339()),
            last_used_at: key.last_used_at.map(|t| t.to_rfc3339()),
            last_used_ip: key.last_used_ip.clone(),
        }
    }
}

/// A key just made: the key itself is in `key`, shown this once.
#[derive(Serialize, ToSchema)]
pub struct ApiKeyCreatedOut {
    #[serde(flatten)]
    pub listed: ApiKeyOut,
    /// `tnt_` and 43 characters. Store it now: only its hash is kept.
    pub key: String,
}

/// Makes an API key for the caller's tenant. `api_keys:manage`; a person, not a key; scopes
/// only from what the caller holds (403 naming the others).
#[utoipa::path(post, path = "/api/api-keys/", tag = "api_keys", operation_id = "create_api_key", security(("bearer" = [])), request_body = ApiKeyRequest,
    responses(
        (status = 201, body = ApiKeyCreatedOut),
        (status = 400, body = BadRequestOut),
        (status = 401, body = Detail),
        (status = 403, body = Detail),
    ))]
pub async fn create(State(state): State<AppState>, Caller(actor): Caller, Meta(meta): Meta, body: JsonObject) -> ApiResult<impl IntoResponse> {
    let input = ApiKeyInput { name: body.raw("name"), scopes: body.raw_list("scopes"), expires_days: body.raw("expires_days") };
    let issued = state.services.create_api_key(&actor, input, &meta).await?;
    Ok(dto::created(ApiKeyCreatedOut { listed: ApiKeyOut::from(&issued.key), key: issued.secret }))
}

/// The tenant's keys, newest first (revoked ones too, with `revoked_at`). `api_keys:manage`.
#[utoipa::path(get, path = "/api/api-keys/", tag = "api_keys", operation_id = "list_api_keys", security(("bearer" = []), ("api_key" = [])),
    responses((status = 200, body = PageOut<ApiKeyOut>), (status = 401, body = Detail), (status = 403, body = Detail)))]
pub async fn list(State(state): State<AppState>, Caller(actor): Caller) -> ApiResult<Json<PageOut<ApiKeyOut>>> {
    let keys = state.services.list_api_keys(&actor).await?;
    let results: Vec<ApiKeyOut> = keys.iter().map(ApiKeyOut::from).collect();
    Ok(Json(PageOut { count: results.len() as i64, next: None, previous: None, results }))
}

/// Revokes a key at once: its next request is refused (401). `api_keys:manage`.
#[utoipa::path(delete, path = "/api/api-keys/{id}/", tag = "api_keys", operation_id = "revoke_api_key", security(("bearer" = []), ("api_key" = [])),
    params(("id" = Uuid, Path)),
    responses((status = 204), (status = 401, body = Detail), (status = 403, body = Detail), (status = 404, body = Detail)))]
pub async fn revoke(State(state): State<AppState>, Caller(actor): Caller, Meta(meta): Meta, Path(id): Path<String>) -> ApiResult<StatusCode> {
    state.services.revoke_api_key(&actor, &id, &meta).await?;
    Ok(StatusCode::NO_CONTENT)
}
