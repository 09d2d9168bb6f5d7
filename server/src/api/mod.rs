//! The JSON API under `/api`, path- and shape-compatible with the Django service it replaces.
//! Handlers are thin: read the request into raw input, call one service method, shape the
//! answer. Rules live in `tenantry::service`.

mod api_keys;
mod audit;
mod auth;
mod caller;
mod docs;
mod dto;
pub mod error;
mod extract;
mod imports;
mod invitations;
mod members;
mod meta;
mod metrics;
mod passkeys;
mod password_reset;
mod permissions;
mod plans;
mod platform;
mod provisioning;
mod roles;
mod security;
mod tenant_export;
mod tenants;
mod users;
mod webhooks;

use app::ssr::AppState;
use axum::Router;

pub use caller::Caller;
pub use imports::{read_upload as read_import_upload, UPLOAD_LIMIT};

/// Every API route, plus a JSON 404 for anything else under `/api`. Attempt limits are the
/// service layer's (`tenantry::service` counts them for every adapter alike).
pub fn router() -> Router<AppState> {
    Router::new()
        .merge(meta::router())
        .merge(auth::router())
        .merge(audit::router())
        .merge(tenants::router())
        .merge(users::router())
        .merge(members::router())
        .merge(platform::router())
        .merge(provisioning::router())
        .merge(invitations::router())
        .merge(password_reset::router())
        .merge(roles::router())
        .merge(permissions::router())
        .merge(api_keys::router())
        .merge(imports::router())
        .merge(plans::router())
        .merge(security::router())
        .merge(passkeys::router())
        .merge(tenant_export::router())
        .merge(webhooks::router())
        .merge(metrics::router())
        .fallback(|| async { error::ApiError::not_found() })
}

/// `/api/openapi.json` and the interactive docs at `/api/docs` (mounted beside `router`).
pub fn docs() -> Router<AppState> {
    use utoipa::OpenApi;
    utoipa_swagger_ui::SwaggerUi::new("/api/docs").url("/api/openapi.json", docs::ApiDoc::openapi()).into()
}
