//! The JSON shapes of the Django service, built from service-layer values.

use axum::{http::StatusCode, response::IntoResponse, Json};
use serde::Serialize;
use serde_json::{json, Value};
use tenantry::{
    service::{Profile, TokenPair},
    store::{Assignment, Page, Tenant},
};

use super::extract::Pagination;

/// `{id, email, first_name, last_name, tenant, timezone, roles}`.
pub fn user(profile: &Profile) -> Value {
    json!({
        "id": profile.user.id,
        "email": profile.user.email,
        "first_name": profile.user.first_name,
        "last_name": profile.user.last_name,
        "tenant": profile.tenant_id,
        "timezone": profile.timezone,
        "roles": profile.roles,
        "is_superuser": profile.user.is_superuser,
    })
}

/// `{tenant_id, user}`, the body of `GET /api/me/`.
pub fn me(profile: &Profile) -> Value {
    json!({ "tenant_id": profile.tenant_id, "user": user(profile) })
}

pub fn login(pair: &TokenPair, profile: &Profile) -> Value {
    json!({ "access": pair.access, "refresh": pair.refresh, "tenant_id": profile.tenant_id, "user": user(profile) })
}

pub fn tenant(tenant: &Tenant) -> Value {
    json!({
        "id": tenant.id,
        "name": tenant.name,
        "slug": tenant.slug,
        "status": tenant.status,
        "plan": tenant.plan,
        "created_at": tenant.created_at.to_rfc3339(),
    })
}

pub fn assignment(a: &Assignment) -> Value {
    json!({
        "id": a.id,
        "user": a.user_id,
        "user_email": a.user_email,
        "tenant": a.tenant_id,
        "role": a.role.0,
        "assigned_by": a.assigned_by,
        "created_at": a.created_at.to_rfc3339(),
    })
}

/// The list envelope `{count, next, previous, results}`.
pub fn page<T>(page: &Page<T>, pagination: &Pagination, item: impl Fn(&T) -> Value) -> Json<Value> {
    let next = page.has_next().then(|| pagination.link(page.page + 1));
    let previous = page.has_previous().then(|| pagination.link(page.page - 1));
    Json(json!({
        "count": page.count,
        "next": next,
        "previous": previous,
        "results": page.items.iter().map(item).collect::<Vec<_>>(),
    }))
}

pub fn created(body: impl Serialize) -> impl IntoResponse {
    (StatusCode::CREATED, Json(body))
}
