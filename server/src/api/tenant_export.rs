//! `GET /api/tenants/{tenant_id}/export/`: the tenant as a portable document, streamed (and
//! gzip- or brotli-compressed when the client accepts it, by the compression layer).

use app::ssr::AppState;
use axum::{
    body::Body,
    extract::{Path, State},
    http::{header, request::Parts},
    response::{IntoResponse, Response},
    routing::get,
    Router,
};
use tenantry::{domain::TenantId, service::TenantExport};

use super::{
    caller::Caller,
    dto::{Detail, FieldErrorsOut},
    error::{ApiError, ApiResult},
    extract::QueryInput,
};

pub fn router() -> Router<AppState> {
    Router::new().route("/tenants/{tenant_id}/export/", get(export))
}

/// The tenant as a JSON document with `format: "tenantry.tenant-export"` and `version: 1`:
/// `tenant` (with its settings, plan and overrides), `roles` (custom), `users` (e-mail, names,
/// roles; never password hashes), `invitations` (pending; never tokens) and `audit`, as
/// `?include=users,roles,invitations,audit,settings` selects (all by default). Tenant ADMIN
/// (`tenant:write`), superusers, the provisioning partner. `import-tenant` reads it back.
#[utoipa::path(get, path = "/api/tenants/{tenant_id}/export/", tag = "provisioning", operation_id = "export_tenant", security(("bearer" = [])),
    params(("tenant_id" = uuid::Uuid, Path), ("include" = Option<String>, Query, example = "users,roles,invitations,audit,settings")),
    responses((status = 200, description = "The export document (application/json)", content_type = "application/json"),
        (status = 400, body = FieldErrorsOut), (status = 401, body = Detail), (status = 403, body = Detail), (status = 404, body = Detail)))]
pub async fn export(State(state): State<AppState>, Caller(actor): Caller, Path(tenant_id): Path<String>, parts: Parts) -> ApiResult<Response> {
    let tenant = TenantId::parse(&tenant_id).map_err(|_| ApiError::not_found())?;
    let include = match QueryInput::of(&parts).raw("include") {
        tenantry::service::Raw::Text(text) => text,
        _ => String::new(),
    };
    let export = state.services.export_tenant(Some(&actor), tenant, &include).await?;
    Ok(stream(export))
}

/// Each piece the service produces becomes one chunk; a failure part-way ends the body
/// abruptly, so a client never mistakes a broken transfer for a whole document.
fn stream(export: TenantExport) -> Response {
    use futures_util::StreamExt;
    let disposition = format!("attachment; filename=\"{}\"", export.file_name());
    let chunks = futures_util::stream::unfold(Some(export), |export| async move {
        let mut export = export?;
        match export.next_chunk().await {
            Ok(Some(chunk)) => Some((Ok::<_, tenantry::ServiceError>(chunk), Some(export))),
            Ok(None) => None,
            Err(error) => {
                tracing::error!(error = format!("{error:#}"), "tenant export failed part-way");
                Some((Err(error), None))
            }
        }
    })
    .fuse();
    ([(header::CONTENT_TYPE, "application/json".to_owned()), (header::CONTENT_DISPOSITION, disposition)], Body::from_stream(chunks)).into_response()
}
