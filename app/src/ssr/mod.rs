//! Server-only pieces shared by the server functions and the server crate.

mod session;
mod state;

pub use session::{end_session, session_actor, start_session, SESSION_TENANT, SESSION_USER, SESSION_VERSION};
pub use state::AppState;

use std::net::SocketAddr;

use axum::{extract::ConnectInfo, http::{header, request::Parts}};
use tenantry::service::RequestMeta;

/// Client address and user agent of a request, for the audit trail and rate limits.
pub fn request_meta(parts: &Parts) -> RequestMeta {
    let ip = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|ConnectInfo(addr)| addr.ip().to_string());
    let user_agent = parts
        .headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(|ua| ua.chars().take(512).collect());
    RequestMeta { ip, user_agent }
}
