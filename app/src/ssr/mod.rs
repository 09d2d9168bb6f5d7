//! Server-only pieces shared by the server functions and the server crate.

mod session;
mod state;

pub use session::{end_session, keep_session_after_password_change, session_actor, start_session, SESSION_MFA, SESSION_TENANT, SESSION_USER, SESSION_VERSION};
pub use state::AppState;

use std::net::{IpAddr, SocketAddr};

use axum::{extract::ConnectInfo, http::{header, request::Parts}};
use tenantry::service::RequestMeta;

/// The tenant whose own host the request came to (`<slug>.<TENANT_BASE_DOMAIN>` or its custom
/// domain); set by the server's host layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HostTenantId(pub tenantry::domain::TenantId);

/// The tenant of the request's host, if any.
pub fn host_tenant(parts: &Parts) -> Option<tenantry::domain::TenantId> {
    parts.extensions.get::<HostTenantId>().map(|HostTenantId(id)| *id)
}

/// The client's address as the server resolved it (behind a trusted proxy, the address the
/// proxy reported); set on every request by the server's outermost layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientIp(pub IpAddr);

/// The Content-Security-Policy of a page: scripts run only when they carry this response's
/// `nonce` (the hydration script does) or were loaded by one that does (`strict-dynamic`), plus
/// the wasm module; nothing may frame the page, and forms post only to us.
pub fn page_policy(nonce: &str) -> String {
    format!(
        "default-src 'self'; script-src 'nonce-{nonce}' 'strict-dynamic' 'wasm-unsafe-eval'; style-src 'self'; \
         img-src 'self' data: https:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
    )
}

/// Sets the page's policy on the response being rendered (from `shell`).
pub fn set_page_policy() {
    use leptos::prelude::use_context;
    let (Some(nonce), Some(response)) = (leptos::nonce::use_nonce(), use_context::<leptos_axum::ResponseOptions>()) else { return };
    if let Ok(value) = axum::http::HeaderValue::from_str(&page_policy(&nonce)) {
        response.insert_header(header::CONTENT_SECURITY_POLICY, value);
    }
}

/// Client address and user agent of a request, for the audit trail and rate limits.
pub fn request_meta(parts: &Parts) -> RequestMeta {
    let ip = parts
        .extensions
        .get::<ClientIp>()
        .map(|ClientIp(ip)| *ip)
        .or_else(|| parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|ConnectInfo(addr)| addr.ip()));
    let user_agent = parts
        .headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(|ua| ua.chars().take(512).collect());
    RequestMeta { ip, user_agent }
}
