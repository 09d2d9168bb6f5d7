use app::ssr::AppState;
use axum::{
    extract::{Path, State},
    response::IntoResponse,
    routing::{get, put},
    Json, Router,
};
use serde::Serialize;
use serde_json::Value;
use tenantry::{
    domain::TenantId,
    service::{SignUpInput, TenantSettingsInput},
    store::Tenant,
};
use utoipa::ToSchema;

use super::{
    caller::Caller,
    dto::{self, BadRequestOut, Detail, DetailFieldsOut, FieldErrorsOut, PageOut, TenantCreatedOut, TenantOut},
    error::{ApiError, ApiResult},
    extract::{JsonObject, Meta, Pagination},
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/tenants/", get(list).post(sign_up))
        .route("/tenants/check-subdomain/", get(check_subdomain))
        .route("/tenants/{tenant_id}/", get(read).patch(update).delete(remove))
        .route("/tenants/{tenant_id}/restore/", axum::routing::post(restore))
        .route("/tenants/{tenant_id}/domain/", put(set_domain))
}

/// Whether a subdomain is free.
#[derive(Serialize, ToSchema)]
pub struct SubdomainOut {
    #[schema(example = "acme-corp")]
    pub subdomain: String,
    pub available: bool,
    /// Why not, when it is not.
    pub reason: Option<String>,
    /// Five free subdomains like it.
    #[schema(example = json!(["acme-corp-app", "acme-corp-hq", "acme-corp-team", "acme-corp-io", "acme-corp-co"]))]
    pub suggestions: Vec<String>,
}

/// Whether a subdomain (a tenant's slug) is free, why not, and five free ones like it.
/// Reserved names (`www`, `api`, `admin` …) are never available. Anyone may ask.
#[utoipa::path(get, path = "/api/tenants/check-subdomain/", tag = "tenants", operation_id = "check_subdomain",
    params(("subdomain" = String, Query, example = "acme-corp")),
    responses((status = 200, body = SubdomainOut), (status = 400, body = FieldErrorsOut)))]
pub async fn check_subdomain(State(state): State<AppState>, parts: axum::http::request::Parts) -> ApiResult<Json<SubdomainOut>> {
    let query = super::extract::QueryInput::of(&parts);
    let raw = match query.raw("subdomain") {
        tenantry::service::Raw::Text(text) => text,
        _ => return Err(tenantry::ServiceError::field("subdomain", tenantry::domain::REQUIRED).into()),
    };
    let check = state.services.check_subdomain(&raw).await?;
    Ok(Json(SubdomainOut { subdomain: check.subdomain, available: check.available, reason: check.reason, suggestions: check.suggestions }))
}

/// A tenant with its own settings.
#[derive(Serialize, ToSchema)]
pub struct TenantDetailOut {
    #[serde(flatten)]
    pub tenant: TenantOut,
    pub display_name: Option<String>,
    pub description: Option<String>,
    pub contact_email: Option<String>,
    /// Free-form settings; the known keys (`timezone`, `notifications`, `notification_email`,
    /// `data_retention_days`, `theme`, `quota_alert_thresholds`) are checked.
    #[schema(value_type = Object)]
    pub settings: serde_json::Map<String, Value>,
    /// `{company_name, logo_url, primary_color}` or `null`.
    #[schema(value_type = Option<Object>)]
    pub branding: Option<serde_json::Map<String, Value>>,
    pub custom_domain: Option<String>,
}

impl From<&Tenant> for TenantDetailOut {
    fn from(tenant: &Tenant) -> Self {
        Self {
            tenant: tenant.into(),
            display_name: tenant.display_name.clone(),
            description: tenant.description.clone(),
            contact_email: tenant.contact_email.clone(),
            settings: tenant.settings.0.clone(),
            branding: tenant.branding.0.clone(),
            custom_domain: tenant.custom_domain.clone(),
        }
    }
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub struct TenantDeleteRequest {
    /// The organisation's exact name, typed back.
    #[schema(example = "Acme Corp")]
    confirm_name: String,
}

/// Deletes a tenant: superusers and the partner that provisioned it. The body's `confirm_name`
/// (or a `confirm_name` query parameter, for clients that cannot send a body with DELETE) must
/// be the exact name. The tenant is marked deleted at once (members cannot act in it, its
/// invitations and API keys stop working) and purged after `TENANT_DELETION_GRACE_DAYS`
/// (default 30); `POST …/restore/` brings it back until then.
#[utoipa::path(delete, path = "/api/tenants/{tenant_id}/", tag = "tenants", operation_id = "delete_tenant", security(("bearer" = [])),
    params(("tenant_id" = uuid::Uuid, Path)), request_body = TenantDeleteRequest,
    responses((status = 204), (status = 400, body = BadRequestOut), (status = 401, body = Detail), (status = 403, body = Detail),
        (status = 404, body = Detail), (status = 409, description = "Deleted already", body = Detail)))]
pub async fn remove(State(state): State<AppState>, Caller(actor): Caller, Meta(meta): Meta, Path(tenant_id): Path<String>, request: axum::extract::Request) -> ApiResult<axum::http::StatusCode> {
    let tenant = TenantId::parse(&tenant_id).map_err(|_| ApiError::not_found())?;
    let (parts, body) = request.into_parts();
    let bytes = axum::body::to_bytes(body, 64 * 1024).await.map_err(|e| ApiError::bad_request(format!("Could not read the request body: {e}")))?;
    let confirm_name = if bytes.iter().all(u8::is_ascii_whitespace) {
        super::extract::QueryInput::of(&parts).raw("confirm_name")
    } else {
        use axum::extract::FromRequest;
        let request = axum::extract::Request::from_parts(parts, axum::body::Body::from(bytes));
        JsonObject::from_request(request, &()).await?.raw("confirm_name")
    };
    state.services.delete_tenant(Some(&actor), tenant, confirm_name, &meta).await?;
    Ok(axum::http::StatusCode::NO_CONTENT)
}

/// Restores a deleted tenant within its grace period (superusers and the provisioning
/// partner): 200 with the tenant; 409 when it is not deleted or the grace period is over.
#[utoipa::path(post, path = "/api/tenants/{tenant_id}/restore/", tag = "tenants", operation_id = "restore_tenant", security(("bearer" = [])),
    params(("tenant_id" = uuid::Uuid, Path)),
    responses((status = 200, body = TenantDetailOut), (status = 401, body = Detail), (status = 403, body = Detail),
        (status = 404, body = Detail), (status = 409, body = Detail)))]
pub async fn restore(State(state): State<AppState>, Caller(actor): Caller, Meta(meta): Meta, Path(tenant_id): Path<String>) -> ApiResult<Json<TenantDetailOut>> {
    let tenant = TenantId::parse(&tenant_id).map_err(|_| ApiError::not_found())?;
    Ok(Json((&state.services.restore_tenant(Some(&actor), tenant, &meta).await?).into()))
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub struct TenantUpdateRequest {
    #[schema(max_length = 100)]
    display_name: Option<String>,
    #[schema(max_length = 1000)]
    description: Option<String>,
    #[schema(format = Email)]
    contact_email: Option<String>,
    /// Keys to set (`null` removes one); at most 16 KiB in all.
    #[schema(value_type = Option<Object>, example = json!({"timezone": "America/New_York", "data_retention_days": 365}))]
    settings: Option<Value>,
    /// Needs the `custom_branding` feature.
    #[schema(value_type = Option<Object>, example = json!({"company_name": "Acme", "logo_url": "https://cdn.acme.com/logo.png", "primary_color": "#1f6feb"}))]
    branding: Option<Value>,
}

/// A tenant with its settings. Its members; a superuser.
#[utoipa::path(get, path = "/api/tenants/{tenant_id}/", tag = "tenants", operation_id = "read_tenant", security(("bearer" = []), ("api_key" = [])),
    params(("tenant_id" = uuid::Uuid, Path)),
    responses((status = 200, body = TenantDetailOut), (status = 401, body = Detail), (status = 403, body = Detail), (status = 404, body = Detail)))]
pub async fn read(State(state): State<AppState>, Caller(actor): Caller, Path(tenant_id): Path<String>) -> ApiResult<Json<TenantDetailOut>> {
    let tenant = TenantId::parse(&tenant_id).map_err(|_| ApiError::not_found())?;
    Ok(Json((&state.services.tenant_details(&actor, tenant).await?).into()))
}

/// Changes the tenant's own settings (the fields given). `tenant:write` (ADMIN); branding
/// needs the `custom_branding` feature (403).
#[utoipa::path(patch, path = "/api/tenants/{tenant_id}/", tag = "tenants", operation_id = "update_tenant", security(("bearer" = []), ("api_key" = [])),
    params(("tenant_id" = uuid::Uuid, Path)), request_body = TenantUpdateRequest,
    responses((status = 200, body = TenantDetailOut), (status = 400, body = BadRequestOut), (status = 401, body = Detail), (status = 403, body = Detail),
        (status = 404, body = Detail)))]
pub async fn update(State(state): State<AppState>, Caller(actor): Caller, Meta(meta): Meta, Path(tenant_id): Path<String>, body: JsonObject) -> ApiResult<Json<TenantDetailOut>> {
    let tenant = TenantId::parse(&tenant_id).map_err(|_| ApiError::not_found())?;
    let input = TenantSettingsInput {
        display_name: body.raw("display_name"),
        description: body.raw("description"),
        contact_email: body.raw("contact_email"),
        settings: body.0.get("settings").cloned(),
        branding: body.0.get("branding").cloned(),
    };
    Ok(Json((&state.services.update_tenant_settings(&actor, tenant, input, &meta).await?).into()))
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub struct CustomDomainRequest {
    /// A bare domain name; `null` or `""` removes it.
    #[schema(example = "login.acme.com")]
    custom_domain: Option<String>,
}

/// Gives the tenant its own domain (or takes it away): with `TENANT_BASE_DOMAIN` set, requests
/// to it are inside the tenant. Superusers and the partner that provisioned the tenant; one
/// tenant per domain (409).
#[utoipa::path(put, path = "/api/tenants/{tenant_id}/domain/", tag = "tenants", operation_id = "set_custom_domain", security(("bearer" = [])),
    params(("tenant_id" = uuid::Uuid, Path)), request_body = CustomDomainRequest,
    responses((status = 200, body = TenantDetailOut), (status = 400, body = BadRequestOut), (status = 401, body = Detail), (status = 403, body = Detail),
        (status = 404, body = Detail), (status = 409, description = "Another tenant has this domain", body = DetailFieldsOut)))]
pub async fn set_domain(State(state): State<AppState>, Caller(actor): Caller, Meta(meta): Meta, Path(tenant_id): Path<String>, body: JsonObject) -> ApiResult<Json<TenantDetailOut>> {
    let tenant = TenantId::parse(&tenant_id).map_err(|_| ApiError::not_found())?;
    let domain = match body.0.get("custom_domain") {
        Some(Value::Null) => tenantry::service::Raw::text(""),
        _ => body.raw("custom_domain"),
    };
    Ok(Json((&state.services.set_custom_domain(&actor, tenant, domain, &meta).await?).into()))
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
