use app::ssr::AppState;
use axum::{
    extract::{Path, State},
    http::{request::Parts, StatusCode},
    response::IntoResponse,
    routing::{delete, get, post},
    Json, Router,
};
use serde::Serialize;
use tenantry::{
    domain::TenantId,
    service::{AcceptInvitationInput, InvitationFilter, InvitationStatus, InviteInput, IssuedInvitation},
    store::Invitation,
};
use utoipa::ToSchema;
use uuid::Uuid;

use super::{
    caller::Caller,
    dto::{self, BadRequestOut, Detail, DetailFieldsOut, FieldErrorsOut, PageOut, UserOut},
    error::{ApiError, ApiResult},
    extract::{JsonObject, Meta, Pagination, QueryInput},
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/tenants/{tenant_id}/invite/", post(invite_into_tenant))
        .route("/users/invite/", post(invite))
        .route("/users/accept-invite/", post(accept))
        .route("/invitations/", get(list))
        .route("/invitations/{id}/resend/", post(resend))
        .route("/invitations/{id}/", delete(revoke))
}

/// An invitation. `token` is present only in the answer that created it (or resent it).
#[derive(Serialize, ToSchema)]
pub struct InvitationOut {
    pub id: Uuid,
    pub tenant: Uuid,
    pub email: String,
    #[schema(example = "VIEWER")]
    pub role: Option<String>,
    /// 256 random bits, URL-safe base64; shown once, stored only as a hash.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// `pending`, `accepted`, `expired` or `revoked`.
    pub status: String,
    #[schema(format = DateTime)]
    pub expires_at: String,
    #[schema(format = DateTime)]
    pub accepted_at: Option<String>,
    #[schema(format = DateTime)]
    pub revoked_at: Option<String>,
    pub invited_by: Option<Uuid>,
    #[schema(format = DateTime)]
    pub created_at: String,
}

impl InvitationOut {
    fn new(invitation: &Invitation, token: Option<String>) -> Self {
        Self {
            id: invitation.id,
            tenant: invitation.tenant_id.0,
            email: invitation.email.clone(),
            role: invitation.role.as_ref().map(|r| r.as_str().to_owned()),
            token,
            status: InvitationStatus::of(invitation, chrono::Utc::now()).as_str().to_owned(),
            expires_at: invitation.expires_at.to_rfc3339(),
            accepted_at: invitation.accepted_at.map(|t| t.to_rfc3339()),
            revoked_at: invitation.revoked_at.map(|t| t.to_rfc3339()),
            invited_by: invitation.invited_by.map(|u| u.0),
            created_at: invitation.created_at.to_rfc3339(),
        }
    }

    pub fn issued(issued: IssuedInvitation) -> Self {
        Self::new(&issued.invitation, Some(issued.token))
    }
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub struct InviteRequest {
    #[schema(format = Email, max_length = 254)]
    email: String,
    /// ADMIN, ANALYST or VIEWER (default VIEWER).
    role: Option<String>,
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub struct AcceptInviteRequest {
    /// The token from the invitation link.
    #[schema(pattern = r"^[A-Za-z0-9_-]{43}$")]
    token: String,
    /// A new password, or the current password when the e-mail already has an account.
    password: String,
    first_name: Option<String>,
    last_name: Option<String>,
}

fn invite_input(body: &JsonObject) -> InviteInput {
    InviteInput { email: body.raw("email"), role: body.raw("role") }
}

/// Invites an e-mail address into a tenant with a role; the link is e-mailed. Tenant ADMIN
/// (of that tenant) or superuser.
#[utoipa::path(post, path = "/api/tenants/{tenant_id}/invite/", tag = "invitations", security(("bearer" = [])),
    params(("tenant_id" = Uuid, Path)), request_body = InviteRequest,
    responses(
        (status = 201, body = InvitationOut),
        (status = 400, body = BadRequestOut),
        (status = 401, body = Detail), (status = 403, body = Detail),
        (status = 404, description = "No tenant with this id is visible to the caller", body = Detail),
        (status = 409, description = "Already a member", body = DetailFieldsOut),
        (status = 429, description = "Too many invitation mails for this tenant or address this hour", body = Detail),
    ))]
pub async fn invite_into_tenant(State(state): State<AppState>, Caller(actor): Caller, Meta(meta): Meta, Path(tenant_id): Path<String>, body: JsonObject) -> ApiResult<impl IntoResponse> {
    let tenant = TenantId::parse(&tenant_id).map_err(|_| ApiError::not_found())?;
    let issued = state.services.invite(&actor, Some(tenant), invite_input(&body), &meta).await?;
    Ok(dto::created(InvitationOut::issued(issued)))
}

/// Invites into the caller's current tenant (the Django service's route).
#[utoipa::path(post, path = "/api/users/invite/", tag = "invitations", security(("bearer" = [])), request_body = InviteRequest,
    responses((status = 201, body = InvitationOut), (status = 400, body = BadRequestOut), (status = 401, body = Detail), (status = 403, body = Detail), (status = 409, body = DetailFieldsOut),
        (status = 429, description = "Too many invitation mails for this tenant or address this hour", body = Detail)))]
pub async fn invite(State(state): State<AppState>, Caller(actor): Caller, Meta(meta): Meta, body: JsonObject) -> ApiResult<impl IntoResponse> {
    let issued = state.services.invite(&actor, None, invite_input(&body), &meta).await?;
    Ok(dto::created(InvitationOut::issued(issued)))
}

/// Accepts an invitation: creates the account (or confirms the existing one with its current
/// password), joins the tenant with the invited role. Every token failure names `token`.
#[utoipa::path(post, path = "/api/users/accept-invite/", tag = "invitations", request_body = AcceptInviteRequest,
    responses(
        (status = 201, body = UserOut),
        (status = 400, description = "Malformed token, or a bad password / name; `detail` when the body is unusable", body = BadRequestOut),
        (status = 404, description = "Unknown token", body = DetailFieldsOut),
        (status = 409, description = "Already used", body = DetailFieldsOut),
        (status = 410, description = "Expired or revoked", body = DetailFieldsOut),
        (status = 429, body = Detail),
    ))]
pub async fn accept(State(state): State<AppState>, Meta(meta): Meta, body: JsonObject) -> ApiResult<impl IntoResponse> {
    let input = AcceptInvitationInput {
        token: body.raw("token"),
        password: body.raw("password"),
        first_name: body.raw("first_name"),
        last_name: body.raw("last_name"),
    };
    let profile = state.services.accept_invitation(input, &meta).await?;
    Ok(dto::created(UserOut::from(&profile)))
}

/// The invitations of the caller's tenant, newest first. ADMIN only.
#[utoipa::path(get, path = "/api/invitations/", tag = "invitations", operation_id = "list_invitations", security(("bearer" = [])),
    params(
        ("status" = Option<String>, Query, description = "pending, accepted, expired or revoked"),
        ("email" = Option<String>, Query),
        ("page" = Option<u32>, Query, minimum = 1, description = "1-based page number"),
    ),
    responses((status = 200, body = PageOut<InvitationOut>), (status = 400, body = FieldErrorsOut), (status = 401, body = Detail), (status = 403, body = Detail),
        (status = 404, description = "`page` is not a positive whole number", body = Detail)))]
pub async fn list(State(state): State<AppState>, Caller(actor): Caller, pagination: Pagination, parts: Parts) -> ApiResult<Json<PageOut<InvitationOut>>> {
    let query = QueryInput::of(&parts);
    let param = |name: &str| query.raw(name);
    let filter = InvitationFilter { status: param("status"), email: param("email") };
    let page = state.services.list_invitations(&actor, filter, pagination.request).await?;
    Ok(dto::page(&page, &pagination, |i| InvitationOut::new(i, None)))
}

/// Sends the invitation again with a new link (the old one stops working) and a fresh expiry.
#[utoipa::path(post, path = "/api/invitations/{id}/resend/", tag = "invitations", security(("bearer" = [])), params(("id" = Uuid, Path)),
    responses((status = 200, body = InvitationOut), (status = 401, body = Detail), (status = 403, body = Detail), (status = 404, body = Detail), (status = 409, body = Detail),
        (status = 429, description = "Too many invitation mails for this tenant or address this hour", body = Detail)))]
pub async fn resend(State(state): State<AppState>, Caller(actor): Caller, Meta(meta): Meta, Path(id): Path<String>) -> ApiResult<Json<InvitationOut>> {
    let id = Uuid::parse_str(&id).map_err(|_| ApiError::not_found())?;
    Ok(Json(InvitationOut::issued(state.services.resend_invitation(&actor, id, &meta).await?)))
}

/// Revokes a pending invitation.
#[utoipa::path(delete, path = "/api/invitations/{id}/", tag = "invitations", operation_id = "revoke_invitation", security(("bearer" = [])), params(("id" = Uuid, Path)),
    responses((status = 204), (status = 401, body = Detail), (status = 403, body = Detail), (status = 404, body = Detail), (status = 409, body = Detail)))]
pub async fn revoke(State(state): State<AppState>, Caller(actor): Caller, Meta(meta): Meta, Path(id): Path<String>) -> ApiResult<StatusCode> {
    let id = Uuid::parse_str(&id).map_err(|_| ApiError::not_found())?;
    state.services.revoke_invitation(&actor, id, &meta).await?;
    Ok(StatusCode::NO_CONTENT)
}
