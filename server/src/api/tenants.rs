use app::ssr::AppState;
use axum::{extract::State, response::IntoResponse, routing::get, Json, Router};
use tenantry::service::SignUpInput;
use utoipa::ToSchema;

use super::{
    caller::Caller,
    dto::{self, BadRequestOut, Detail, DetailFieldsOut, PageOut, TenantCreatedOut, TenantOut},
    error::ApiResult,
    extract::{JsonObject, Meta, Pagination},
};

pub fn router() -> Router<AppState> {
    Router::new().route("/tenants/", get(list).post(sign_up))
}

/// Body of `POST /api/tenants/` (documentation; the handler reads fields one by one so that
/// every bad field is reported).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct SignUpRequest {
    #[schema(example = "Acme Inc")]
    name: String,
    #[schema(example = "owner@acme.com", format = Email, max_length = 254)]
    admin_email: String,
    /// At least 8 characters, not common, not the e-mail.
    #[schema(min_length = 8, max_length = 128)]
    admin_password: String,
    /// Also accepted as `admin_first_name`.
    first_name: Option<String>,
    /// Also accepted as `admin_last_name`.
    last_name: Option<String>,
}

/// Open self-service sign-up: a tenant and its first admin (who holds ADMIN).
#[utoipa::path(post, path = "/api/tenants/", tag = "tenants", request_body = SignUpRequest,
    responses(
        (status = 201, body = TenantCreatedOut),
        (status = 400, body = BadRequestOut),
        (status = 409, description = "The name (or its slug) or the admin e-mail is taken", body = DetailFieldsOut),
        (status = 429, body = Detail),
    ))]
pub async fn sign_up(State(state): State<AppState>, Meta(meta): Meta, body: JsonObject) -> ApiResult<impl IntoResponse> {
    let input = SignUpInput {
        name: body.raw("name"),
        admin_email: body.raw("admin_email"),
        admin_password: body.raw("admin_password"),
        first_name: body.raw_any(&["first_name", "admin_first_name"]),
        last_name: body.raw_any(&["last_name", "admin_last_name"]),
    };
    let outcome = state.services.sign_up(input, &meta).await?;
    Ok(dto::created(TenantCreatedOut { tenant: (&outcome.tenant).into(), admin_user_id: outcome.admin.id.0 }))
}

/// The caller's current tenant; a superuser sees every tenant.
#[utoipa::path(get, path = "/api/tenants/", tag = "tenants", operation_id = "list_tenants", security(("bearer" = [])),
    params(("page" = Option<u32>, Query, minimum = 1, description = "1-based page number")),
    responses((status = 200, body = PageOut<TenantOut>), (status = 401, body = Detail),
        (status = 404, description = "`page` is not a positive whole number", body = Detail)))]
pub async fn list(State(state): State<AppState>, Caller(actor): Caller, pagination: Pagination) -> ApiResult<Json<PageOut<TenantOut>>> {
    let page = state.services.list_tenants(&actor, pagination.request).await?;
    Ok(dto::page(&page, &pagination, |t| TenantOut::from(t)))
}
