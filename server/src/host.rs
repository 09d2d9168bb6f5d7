//! Which tenant a request's host names. With `TENANT_BASE_DOMAIN=example.com`, a request to
//! `acme.example.com` (or to a tenant's custom domain) is inside that tenant: pages and
//! sign-in act there ([`app::ssr::HostTenantId`]), and a host under the base domain that no
//! tenant has is a 404 — never another tenant's pages. Without the variable nothing changes
//! and no request pays a lookup.

use app::ssr::{AppState, HostTenantId};
use axum::{
    extract::{Request, State},
    http::{header, StatusCode},
    middleware::Next,
    response::{Html, IntoResponse, Response},
    Json,
};
use serde_json::json;
use tenantry::service::HostTenant;

pub async fn resolve_host_tenant(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    if state.services.config().tenant_base_domain.is_none() {
        return next.run(request).await;
    }
    let host = request.headers().get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    match state.services.tenant_for_host(&host).await {
        Ok(HostTenant::Tenant(tenant)) => {
            request.extensions_mut().insert(HostTenantId(tenant.id));
            next.run(request).await
        }
        Ok(HostTenant::Unknown) => unknown_host(request.uri().path()),
        Ok(HostTenant::None | HostTenant::Apex) => next.run(request).await,
        Err(error) => crate::api::error::ApiError::from(error).into_response(),
    }
}

fn unknown_host(path: &str) -> Response {
    if path.starts_with("/api/") {
        return (StatusCode::NOT_FOUND, Json(json!({ "detail": "No organisation uses this address." }))).into_response();
    }
    let page = "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
                <title>No organisation here · Tenantry</title></head><body><main><h1>No organisation uses this address</h1>\
                <p>Check the address you were given, or ask the organisation for its sign-in link.</p></main></body></html>";
    let mut response = (StatusCode::NOT_FOUND, Html(page)).into_response();
    response.headers_mut().insert(header::CONTENT_SECURITY_POLICY, header::HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'"));
    response
}
