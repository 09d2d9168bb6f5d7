use app::ssr::AppState;
use axum::{
    extract::{Path, State},
    http::StatusCode,
    response::IntoResponse,
    routing::get,
    Json, Router,
};
use serde::Serialize;
use tenantry::{
    domain::TenantId,
    service::{ProvisionInput, ProvisionUpdate},
    store::Tenant,
};
use utoipa::ToSchema;
use uuid::Uuid;

use super::{
    caller::Caller,
    dto::{self, BadRequestOut, Detail, DetailFieldsOut, PageOut},
    error::{ApiError, ApiResult},
    extract::{JsonObject, Meta, Pagination},
    invitations::InvitationOut,
};

pub fn router() -> Router<AppState> {
    // The Django service spelled these without a trailing slash; both spellings work.
    Router::new()
        .route("/provisioning/tenants", get(list).post(create))
        .route("/provisioning/tenants/", get(list).post(create))
        .route("/provisioning/tenants/{id}", get(read).patch(update).delete(remove))
        .route("/provisioning/tenants/{id}/", get(read).patch(update).delete(remove))
}

/// A tenant as its partner sees it.
#[derive(Serialize, ToSchema)]
pub struct ProvisionedTenantOut {
    pub id: Uuid,
    pub company_name: String,
    pub name: String,
    pub slug: String,
    pub status: String,
    pub plan: Option<String>,
    pub email: Option<String>,
    pub phone_number: Option<String>,
    pub industry: Option<String>,
    pub created_by: Option<Uuid>,
    #[schema(format = DateTime)]
    pub created_at: String,
}

impl From<&Tenant> for ProvisionedTenantOut {
    fn from(t: &Tenant) -> Self {
        Self {
            id: t.id.0,
            company_name: t.name.clone(),
            name: t.name.clone(),
            slug: t.slug.clone(),
            status: t.status.clone(),
            plan: t.plan.clone(),
            email: t.contact_email.clone(),
            phone_number: t.phone_number.clone(),
            industry: t.industry.clone(),
            created_by: t.created_by_partner.map(|u| u.0),
            created_at: t.created_at.to_rfc3339(),
        }
    }
}

/// The new tenant and the invitation sent to its first admin.
#[derive(Serialize, ToSchema)]
pub struct ProvisionedOut {
    #[serde(flatten)]
    pub tenant: ProvisionedTenantOut,
    pub invitation: InvitationOut,
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ProvisionRequest {
    #[schema(example = "Acme Inc")]
    company_name: String,
    /// The first admin; receives an invitation (the partner never sets a password).
    #[schema(format = Email, max_length = 254)]
    email: String,
    phone_number: Option<String>,
    industry: Option<String>,
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ProvisionPatch {
    company_name: Option<String>,
    phone_number: Option<String>,
    industry: Option<String>,
}

fn tenant_id(raw: &str) -> ApiResult<TenantId> {
    TenantId::parse(raw).map_err(|_| ApiError::not_found())
}

/// Creates a tenant and invites its first admin. Platform role PARTNER_ADMIN (`tenant:create`)
/// or superuser.
#[utoipa::path(post, path = "/api/provisioning/tenants", tag = "provisioning", operation_id = "provision_tenant", security(("bearer" = [])), request_body = ProvisionRequest,
    responses((status = 201, body = ProvisionedOut), (status = 400, body = BadRequestOut), (status = 401, body = Detail),
        (status = 403, body = Detail), (status = 409, body = DetailFieldsOut),
        (status = 429, description = "Too many invitation mails for this tenant or address this hour", body = Detail)))]
pub async fn create(State(state): State<AppState>, Caller(actor): Caller, Meta(meta): Meta, body: JsonObject) -> ApiResult<impl IntoResponse> {
    let input = ProvisionInput {
        company_name: body.raw("company_name"),
        email: body.raw("email"),
        phone_number: body.raw("phone_number"),
        industry: body.raw("industry"),
    };
    let (tenant, issued) = state.services.provision_tenant(&actor, input, &meta).await?;
    Ok(dto::created(ProvisionedOut { tenant: (&tenant).into(), invitation: InvitationOut::issued(issued) }))
}

/// The tenants this partner created (a superuser sees all).
#[utoipa::path(get, path = "/api/provisioning/tenants", tag = "provisioning", operation_id = "list_provisioned_tenants", security(("bearer" = [])),
    params(("page" = Option<u32>, Query, minimum = 1, description = "1-based page number")),
    responses((status = 200, body = PageOut<ProvisionedTenantOut>), (status = 401, body = Detail), (status = 403, body = Detail),
        (status = 404, description = "`page` is not a positive whole number", body = Detail)))]
pub async fn list(State(state): State<AppState>, Caller(actor): Caller, pagination: Pagination) -> ApiResult<Json<PageOut<ProvisionedTenantOut>>> {
    let page = state.services.provisioned_tenants(&actor, pagination.request).await?;
    Ok(dto::page(&page, &pagination, |t| ProvisionedTenantOut::from(t)))
}

#[utoipa::path(get, path = "/api/provisioning/tenants/{id}", tag = "provisioning", security(("bearer" = [])), params(("id" = Uuid, Path)),
    responses((status = 200, body = ProvisionedTenantOut), (status = 401, body = Detail), (status = 403, body = Detail), (status = 404, body = Detail)))]
pub async fn read(State(state): State<AppState>, Caller(actor): Caller, Path(id): Path<String>) -> ApiResult<Json<ProvisionedTenantOut>> {
    let tenant = state.services.provisioned_tenant(&actor, tenant_id(&id)?).await?;
    Ok(Json((&tenant).into()))
}

#[utoipa::path(patch, path = "/api/provisioning/tenants/{id}", tag = "provisioning", security(("bearer" = [])), params(("id" = Uuid, Path)),
    request_body = ProvisionPatch,
    responses((status = 200, body = ProvisionedTenantOut), (status = 400, body = BadRequestOut), (status = 401, body = Detail),
        (status = 403, body = Detail), (status = 404, body = Detail), (status = 409, body = DetailFieldsOut)))]
pub async fn update(State(state): State<AppState>, Caller(actor): Caller, Meta(meta): Meta, Path(id): Path<String>, body: JsonObject) -> ApiResult<Json<ProvisionedTenantOut>> {
    let id = tenant_id(&id)?;
    let input = ProvisionUpdate {
        company_name: body.raw("company_name"),
        phone_number: body.raw("phone_number"),
        industry: body.raw("industry"),
    };
    let tenant = state.services.update_provisioned_tenant(&actor, id, input, &meta).await?;
    Ok(Json((&tenant).into()))
}

#[utoipa::path(delete, path = "/api/provisioning/tenants/{id}", tag = "provisioning", security(("bearer" = [])), params(("id" = Uuid, Path)),
    responses((status = 204), (status = 401, body = Detail), (status = 403, body = Detail), (status = 404, body = Detail)))]
pub async fn remove(State(state): State<AppState>, Caller(actor): Caller, Meta(meta): Meta, Path(id): Path<String>) -> ApiResult<StatusCode> {
    state.services.delete_provisioned_tenant(&actor, tenant_id(&id)?, &meta).await?;
    Ok(StatusCode::NO_CONTENT)
}
