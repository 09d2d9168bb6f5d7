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
    service::{IfExists, ProvisionInput, ProvisionOptions, ProvisionUpdate, Provisioned, TenantDescription},
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
        .route("/provisioning/templates", get(templates))
        .route("/provisioning/templates/", get(templates))
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
            status: t.status.as_str().to_owned(),
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

/// A tenant made from a description: the tenant, its domain, the invitations queued and the
/// owners who got an account at once.
#[derive(Serialize, ToSchema)]
pub struct DescribedTenantOut {
    #[serde(flatten)]
    pub tenant: ProvisionedTenantOut,
    pub subdomain: String,
    pub custom_domain: Option<String>,
    pub invitations: Vec<InvitationOut>,
    pub accounts: Vec<AccountOut>,
}

/// What `POST /api/provisioning/tenants` answers: the flat form's answer, or a description's.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
#[allow(dead_code)]
pub enum ProvisionCreatedOut {
    Flat(ProvisionedOut),
    Described(DescribedTenantOut),
}

/// A tenant template of `TENANT_TEMPLATES_FILE`.
#[derive(Serialize, ToSchema)]
pub struct TemplateOut {
    pub name: String,
    pub description: Option<String>,
    pub plan: Option<String>,
    #[schema(value_type = Object)]
    pub limits: std::collections::BTreeMap<String, Option<i64>>,
    #[schema(value_type = Object)]
    pub features: std::collections::BTreeMap<String, bool>,
    #[schema(value_type = Object)]
    pub settings: serde_json::Map<String, serde_json::Value>,
    pub default_roles: Vec<TemplateRoleOut>,
}

#[derive(Serialize, ToSchema)]
pub struct TemplateRoleOut {
    pub name: String,
    pub description: Option<String>,
    pub permissions: Vec<String>,
    /// As written in the file (`${VAR}`s unfilled).
    pub users: Vec<String>,
}

/// The tenant templates a description may name (`"template": …`). Partners and superusers.
#[utoipa::path(get, path = "/api/provisioning/templates", tag = "provisioning", operation_id = "list_provisioning_templates", security(("bearer" = [])),
    responses((status = 200, body = Vec<TemplateOut>), (status = 401, body = Detail), (status = 403, body = Detail)))]
pub async fn templates(State(state): State<AppState>, Caller(actor): Caller) -> ApiResult<Json<Vec<TemplateOut>>> {
    let list = state.services.provisioning_templates(&actor).await?;
    Ok(Json(
        list.into_iter()
            .map(|(name, t)| TemplateOut {
                name,
                description: t.description,
                plan: t.plan,
                limits: t.limits,
                features: t.features,
                settings: t.settings,
                default_roles: t.default_roles.into_iter().map(|r| TemplateRoleOut { name: r.name, description: r.description, permissions: r.permissions, users: r.users }).collect(),
            })
            .collect(),
    ))
}

/// An account made for an owner given a password.
#[derive(Serialize, ToSchema)]
pub struct AccountOut {
    pub id: Uuid,
    pub email: String,
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
/// or superuser. The body is either the flat form below or a tenant description
/// (`{"tenant": {"name", "subdomain", "plan_type", "contact_email", "max_users", …,
/// "custom_domain"}, "users": [{"email", "role": "owner"|"admin"|role, "password"?}],
/// "features": {…}, "settings": {…}}`), which applies fully or not at all and answers 201 with
/// `DescribedTenantOut`; its errors are keyed by path (`tenant.subdomain`, `users[1].email`).
#[utoipa::path(post, path = "/api/provisioning/tenants", tag = "provisioning", operation_id = "provision_tenant", security(("bearer" = [])), request_body = ProvisionRequest,
    responses((status = 201, body = ProvisionCreatedOut), (status = 400, body = BadRequestOut), (status = 401, body = Detail),
        (status = 403, body = Detail), (status = 409, body = DetailFieldsOut),
        (status = 429, description = "Too many invitation mails for this tenant or address this hour", body = Detail)))]
pub async fn create(State(state): State<AppState>, Caller(actor): Caller, Meta(meta): Meta, body: JsonObject) -> ApiResult<axum::response::Response> {
    if TenantDescription::is_description(&body.0) {
        let description = TenantDescription::parse(&serde_json::Value::Object(body.0)).map_err(tenantry::ServiceError::Validation)?;
        let options = ProvisionOptions { dry_run: false, if_exists: IfExists::Conflict };
        let made = match state.services.provision(Some(&actor), description, options, &meta).await? {
            Provisioned::Created(made) => made,
            // Neither a dry run nor IfExists::Report was asked for.
            Provisioned::WouldCreate(_) | Provisioned::Exists(_) => return Err(ApiError::not_found()),
        };
        let out = DescribedTenantOut {
            tenant: (&made.tenant).into(),
            subdomain: made.tenant.slug.clone(),
            custom_domain: made.tenant.custom_domain.clone(),
            invitations: made.invitations.into_iter().map(InvitationOut::issued).collect(),
            accounts: made.accounts.iter().map(|a| AccountOut { id: a.id.0, email: a.email.clone() }).collect(),
        };
        return Ok(dto::created(out).into_response());
    }
    let input = ProvisionInput {
        company_name: body.raw("company_name"),
        email: body.raw("email"),
        phone_number: body.raw("phone_number"),
        industry: body.raw("industry"),
    };
    let (tenant, issued) = state.services.provision_tenant(&actor, input, &meta).await?;
    Ok(dto::created(ProvisionedOut { tenant: (&tenant).into(), invitation: InvitationOut::issued(issued) }).into_response())
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
