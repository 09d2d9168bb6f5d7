//! The JSON shapes of the Django service. Each response type is both what is serialized and
//! what the OpenAPI description shows, so the two cannot drift apart.

use axum::{http::StatusCode, response::IntoResponse, Json};
use serde::Serialize;
use tenantry::{
    service::{Profile, TokenPair},
    store::{Assignment, Page, Tenant},
};
use utoipa::ToSchema;
use uuid::Uuid;

use super::extract::Pagination;

/// A user as seen from one tenant.
#[derive(Serialize, ToSchema)]
pub struct UserOut {
    pub id: Uuid,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    /// The tenant these roles belong to (the caller's current tenant).
    pub tenant: Option<Uuid>,
    /// IANA time zone for displaying times to this user.
    #[schema(example = "America/Jamaica")]
    pub timezone: String,
    /// Role names held in `tenant`: `ADMIN`, `ANALYST`, `VIEWER`, or the tenant's own.
    #[schema(example = json!(["ADMIN"]))]
    pub roles: Vec<String>,
    /// Shown about the caller themselves, and about others only to a platform superuser.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub is_superuser: Option<bool>,
}

impl From<&Profile> for UserOut {
    fn from(profile: &Profile) -> Self {
        Self {
            id: profile.user.id.0,
            email: profile.user.email.clone(),
            first_name: profile.user.first_name.clone(),
            last_name: profile.user.last_name.clone(),
            tenant: profile.tenant_id.map(|t| t.0),
            timezone: profile.timezone.clone(),
            roles: profile.roles.iter().map(|r| r.as_str().to_owned()).collect(),
            is_superuser: profile.is_superuser,
        }
    }
}

/// `GET /api/me/`: the signed-in person, or (`user` null) the API key that calls.
#[derive(Serialize, ToSchema)]
pub struct MeOut {
    pub tenant_id: Option<Uuid>,
    pub user: Option<UserOut>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_key: Option<KeyRefOut>,
}

/// The API key behind a request or an audit row.
#[derive(Serialize, ToSchema)]
pub struct KeyRefOut {
    pub id: Uuid,
    pub name: String,
    /// Only in `GET /api/me/`: what the key may do.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scopes: Option<Vec<String>>,
}

impl From<&Profile> for MeOut {
    fn from(profile: &Profile) -> Self {
        Self { tenant_id: profile.tenant_id.map(|t| t.0), user: Some(profile.into()), api_key: None }
    }
}

impl MeOut {
    pub fn of(actor: &tenantry::service::Actor, profile: &Profile) -> Self {
        match &actor.api_key {
            None => profile.into(),
            Some(key) => Self {
                tenant_id: actor.tenant_id.map(|t| t.0),
                user: None,
                api_key: Some(KeyRefOut { id: key.id, name: key.name.clone(), scopes: Some(key.scopes.iter().map(|g| g.to_text()).collect()) }),
            },
        }
    }
}

/// `POST /api/auth/login/`.
#[derive(Serialize, ToSchema)]
pub struct LoginOut {
    /// Bearer token for API calls (JWT, `token_type: access`, 30 minutes by default).
    pub access: String,
    /// Trades for a new pair at `/api/auth/refresh/` (JWT, `token_type: refresh`; single use).
    pub refresh: String,
    pub tenant_id: Option<Uuid>,
    pub user: UserOut,
}

impl LoginOut {
    pub fn new(pair: TokenPair, profile: &Profile) -> Self {
        Self { access: pair.access, refresh: pair.refresh, tenant_id: profile.tenant_id.map(|t| t.0), user: profile.into() }
    }
}

/// A new access/refresh pair.
#[derive(Serialize, ToSchema)]
pub struct TokenPairOut {
    pub access: String,
    pub refresh: String,
}

impl From<TokenPair> for TokenPairOut {
    fn from(pair: TokenPair) -> Self {
        Self { access: pair.access, refresh: pair.refresh }
    }
}

#[derive(Serialize, ToSchema)]
pub struct TenantOut {
    pub id: Uuid,
    pub name: String,
    pub slug: String,
    /// `active` or `suspended`.
    pub status: String,
    /// The tenant's plan (`basic`, `professional`, `enterprise` or an operator's own), or
    /// `null`: no plan, no limits.
    pub plan: Option<String>,
    /// RFC 3339 with offset.
    #[schema(format = DateTime)]
    pub created_at: String,
}

impl From<&Tenant> for TenantOut {
    fn from(tenant: &Tenant) -> Self {
        Self {
            id: tenant.id.0,
            name: tenant.name.clone(),
            slug: tenant.slug.clone(),
            status: tenant.status.as_str().to_owned(),
            plan: tenant.plan.clone(),
            created_at: tenant.created_at.to_rfc3339(),
        }
    }
}

/// `POST /api/tenants/`: the new tenant and the id of its first admin.
#[derive(Serialize, ToSchema)]
pub struct TenantCreatedOut {
    #[serde(flatten)]
    pub tenant: TenantOut,
    pub admin_user_id: Uuid,
}

#[derive(Serialize, ToSchema)]
pub struct AssignmentOut {
    pub id: Uuid,
    /// The member holding the role.
    pub user: Uuid,
    pub user_email: String,
    pub tenant: Uuid,
    #[schema(example = "ANALYST")]
    pub role: String,
    /// Who granted it (`null` for the tenant's founding admin).
    pub assigned_by: Option<Uuid>,
    #[schema(format = DateTime)]
    pub created_at: String,
}

impl From<&Assignment> for AssignmentOut {
    fn from(a: &Assignment) -> Self {
        Self {
            id: a.id.0,
            user: a.user_id.0,
            user_email: a.user_email.clone(),
            tenant: a.tenant_id.0,
            role: a.role.0.as_str().to_owned(),
            assigned_by: a.assigned_by.map(|u| u.0),
            created_at: a.created_at.to_rfc3339(),
        }
    }
}

/// The list envelope: 100 results a page, `next`/`previous` are absolute URLs or `null`.
#[derive(Serialize, ToSchema)]
pub struct PageOut<T> {
    pub count: i64,
    pub next: Option<String>,
    pub previous: Option<String>,
    pub results: Vec<T>,
}

pub fn page<T, O>(page: &Page<T>, pagination: &Pagination, item: impl Fn(&T) -> O) -> Json<PageOut<O>> {
    Json(PageOut {
        count: page.count,
        next: page.has_next().then(|| pagination.link(page.page + 1)),
        previous: page.has_previous().then(|| pagination.link(page.page - 1)),
        results: page.items.iter().map(item).collect(),
    })
}

/// `{"detail": "…"}`: the body of 401, 403, 404, 409, 410, 429 and 5xx answers.
#[derive(Serialize, ToSchema)]
pub struct Detail {
    pub detail: String,
}

/// 400: messages per field, e.g. `{"admin_email": ["Enter a valid email address."]}` (a bad
/// query parameter, or a bad field of a JSON body: see [`BadRequestOut`]).
#[derive(Serialize, ToSchema)]
#[schema(example = json!({"admin_email": ["Enter a valid email address."], "name": ["This field is required."]}))]
pub struct FieldErrorsOut(pub std::collections::BTreeMap<String, Vec<String>>);

/// 409 and 410 (and 404 of an invitation token): `{"detail": "…"}`, with messages per field
/// when the problem is about fields, e.g. `{"detail": "…", "email": ["…"]}`. Documentation only.
#[derive(ToSchema)]
#[schema(example = json!({"detail": "A user with this email already exists.", "email": ["A user with this email already exists."]}))]
#[allow(dead_code)]
pub struct DetailFieldsOut {
    pub detail: String,
    #[serde(flatten)]
    pub fields: std::collections::BTreeMap<String, Vec<String>>,
}

/// 400 of an operation with a JSON body: field errors, or `{"detail": "…"}` when the body as a
/// whole is unusable (not `application/json`, malformed JSON, not an object). Documentation
/// only: the bodies are built in `error.rs`.
#[derive(ToSchema)]
#[serde(untagged)]
#[allow(dead_code)]
pub enum BadRequestOut {
    Fields(FieldErrorsOut),
    Detail(Detail),
}

pub fn created<T: Serialize>(body: T) -> impl IntoResponse {
    (StatusCode::CREATED, Json(body))
}
