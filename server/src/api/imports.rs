//! Bulk member import (`…/users/bulk/` as JSON, `…/users/import/` as a CSV upload) and the
//! jobs larger imports become.

use app::ssr::AppState;
use axum::{
    extract::{DefaultBodyLimit, FromRequest, Multipart, Path, Request, State},
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::{get, post},
    Json, Router,
};
use serde::Serialize;
use serde_json::Value;
use tenantry::{
    domain::TenantId,
    service::{ImportInput, ImportOutcome, ImportReport, ImportRow, JobView, Raw, RowResult},
};
use utoipa::ToSchema;
use uuid::Uuid;

use super::{
    caller::Caller,
    dto::{BadRequestOut, Detail, PageOut},
    error::{ApiError, ApiResult},
    extract::{JsonObject, Meta, Pagination},
};

/// 10,000 rows with long names fit well inside this; the default 2 MB might not.
pub const UPLOAD_LIMIT: usize = 16 * 1024 * 1024;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/tenants/{tenant_id}/users/bulk/", post(bulk).layer(DefaultBodyLimit::max(UPLOAD_LIMIT)))
        .route("/tenants/{tenant_id}/users/import/", post(import).layer(DefaultBodyLimit::max(UPLOAD_LIMIT)))
        .route("/jobs/{id}/", get(job))
        .route("/jobs/{id}/results/", get(results))
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub struct BulkRow {
    #[schema(format = Email)]
    email: String,
    first_name: Option<String>,
    last_name: Option<String>,
    /// A role of the tenant; VIEWER when inviting, none when creating.
    role: Option<String>,
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub struct BulkRequest {
    /// Up to 10,000 rows; more than 100 run as a job (202).
    #[schema(max_items = 10000)]
    users: Vec<BulkRow>,
    /// `invite` (default): each person gets an invitation. `create`: accounts are made at once
    /// (an address that already has an account is invited instead).
    #[schema(example = "invite")]
    mode: Option<String>,
    /// Default true.
    send_welcome_emails: Option<bool>,
    /// Create mode: random passwords nobody sees; the welcome e-mail sets one. Default false.
    generate_passwords: Option<bool>,
}

/// One row's outcome.
#[derive(Serialize, ToSchema)]
pub struct RowOut {
    /// 1-based, as in the request (or the CSV's data lines).
    pub row: usize,
    pub email: Option<String>,
    /// `created`, `invited`, `exists`, `failed` (`null` while a job has not reached it).
    pub status: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub errors: Option<Value>,
}

impl RowOut {
    fn of(result: &RowResult, done: bool) -> Self {
        Self {
            row: result.row,
            email: result.email.clone(),
            status: done.then(|| result.status.as_str().to_owned()),
            errors: result.errors.as_ref().and_then(|e| serde_json::to_value(e).ok()),
        }
    }
}

/// An import answered inline.
#[derive(Serialize, ToSchema)]
pub struct ImportReportOut {
    pub created: usize,
    pub invited: usize,
    pub exists: usize,
    pub failed: usize,
    pub results: Vec<RowOut>,
}

impl From<&ImportReport> for ImportReportOut {
    fn from(report: &ImportReport) -> Self {
        Self {
            created: report.created,
            invited: report.invited,
            exists: report.exists,
            failed: report.failed,
            results: report.results.iter().map(|r| RowOut::of(r, true)).collect(),
        }
    }
}

/// A background job.
#[derive(Serialize, ToSchema)]
pub struct JobOut {
    pub id: Uuid,
    #[schema(example = "member_import")]
    pub kind: String,
    /// `preview`, `queued`, `running`, `done` or `failed`.
    pub status: String,
    pub total: i64,
    pub processed: i64,
    pub succeeded: i64,
    pub failed: i64,
    /// Why a failed job stopped.
    pub error: Option<String>,
    /// Each row's outcome, paged.
    pub results_url: String,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub finished_at: Option<String>,
}

impl JobOut {
    fn of(job: &JobView, base: &str) -> Self {
        let status = match job.status {
            // The API knows no preview; a queued job is, to a client, running.
            tenantry::store::JobStatus::Queued => "running",
            other => other.as_str(),
        };
        Self {
            id: job.id,
            kind: job.kind.clone(),
            status: status.to_owned(),
            total: job.total,
            processed: job.processed,
            succeeded: job.succeeded,
            failed: job.failed,
            error: job.error.clone(),
            results_url: format!("{base}/api/jobs/{}/results/", job.id),
            created_at: job.created_at.to_rfc3339(),
            finished_at: job.finished_at.map(|t| t.to_rfc3339()),
        }
    }
}

fn answer(state: &AppState, outcome: ImportOutcome) -> Response {
    match outcome {
        ImportOutcome::Done(report) => (StatusCode::OK, Json(ImportReportOut::from(&report))).into_response(),
        ImportOutcome::Job(job) => (StatusCode::ACCEPTED, Json(JobOut::of(&job, &state.services.config().frontend_base_url))).into_response(),
    }
}

/// Imports members from JSON rows. `members:write` and `invitations:write` in the tenant.
/// Each row stands alone (a bad row is reported and skipped); rows already members or invited
/// are `exists`, so the request is safe to repeat. Up to 100 rows answer at once (200); more
/// answer 202 with a job to follow at `GET /api/jobs/{id}/`.
#[utoipa::path(post, path = "/api/tenants/{tenant_id}/users/bulk/", tag = "users", operation_id = "bulk_import_users",
    security(("bearer" = []), ("api_key" = [])), params(("tenant_id" = Uuid, Path)), request_body = BulkRequest,
    responses(
        (status = 200, body = ImportReportOut),
        (status = 202, description = "More than 100 rows: a job", body = JobOut),
        (status = 400, body = BadRequestOut),
        (status = 401, body = Detail),
        (status = 403, body = Detail),
        (status = 404, body = Detail),
    ))]
pub async fn bulk(State(state): State<AppState>, Caller(actor): Caller, Meta(meta): Meta, Path(tenant_id): Path<String>, body: JsonObject) -> ApiResult<Response> {
    let tenant = TenantId::parse(&tenant_id).map_err(|_| ApiError::not_found())?;
    let (rows, rows_error) = match body.0.get("users") {
        None | Some(Value::Null) => (Vec::new(), Some(tenantry::domain::REQUIRED.to_owned())),
        Some(Value::Array(items)) => (items.iter().map(ImportRow::from_json).collect(), None),
        Some(_) => (Vec::new(), Some("Expected a list of items.".to_owned())),
    };
    let input = ImportInput { rows, rows_error, mode: body.raw("mode"), send_welcome_emails: body.flag("send_welcome_emails"), generate_passwords: body.flag("generate_passwords") };
    let outcome = state.services.import_members(&actor, tenant, input, &meta).await?;
    Ok(answer(&state, outcome))
}

/// The same import from a CSV upload (`multipart/form-data`): the file in a `file` part with
/// an `email,full_name,role` header (a `username` column is accepted and ignored); `mode`,
/// `send_welcome_emails` and `generate_passwords` as form fields.
#[utoipa::path(post, path = "/api/tenants/{tenant_id}/users/import/", tag = "users", operation_id = "import_users_csv",
    security(("bearer" = []), ("api_key" = [])), params(("tenant_id" = Uuid, Path)),
    request_body(content_type = "multipart/form-data", description = "`file` (CSV), `mode`, `send_welcome_emails`, `generate_passwords`"),
    responses(
        (status = 200, body = ImportReportOut),
        (status = 202, description = "More than 100 rows: a job", body = JobOut),
        (status = 400, body = BadRequestOut),
        (status = 401, body = Detail),
        (status = 403, body = Detail),
        (status = 404, body = Detail),
    ))]
pub async fn import(State(state): State<AppState>, Caller(actor): Caller, Meta(meta): Meta, Path(tenant_id): Path<String>, request: Request) -> ApiResult<Response> {
    let tenant = TenantId::parse(&tenant_id).map_err(|_| ApiError::not_found())?;
    let input = read_upload(request, &state).await?;
    let outcome = state.services.import_members(&actor, tenant, input, &meta).await?;
    Ok(answer(&state, outcome))
}

/// Reads the multipart upload: the CSV (`file`) and the option fields.
pub async fn read_upload(request: Request, state: &AppState) -> ApiResult<ImportInput> {
    let mut multipart = Multipart::from_request(request, state)
        .await
        .map_err(|e| ApiError::bad_request(format!("Send the CSV as multipart/form-data with a file part: {e}")))?;
    let mut input = ImportInput { rows_error: Some("Attach the CSV file in a part named file.".into()), ..Default::default() };
    while let Some(field) = multipart.next_field().await.map_err(|e| ApiError::bad_request(format!("Could not read the upload: {e}")))? {
        let name = field.name().unwrap_or("").to_owned();
        let bytes = field.bytes().await.map_err(|e| ApiError::bad_request(format!("Could not read the upload: {e}")))?;
        match name.as_str() {
            "file" => match tenantry::service::rows_from_csv(bytes.as_ref()) {
                Ok(rows) => (input.rows, input.rows_error) = (rows, None),
                Err(problem) => input.rows_error = Some(problem),
            },
            "mode" | "send_welcome_emails" | "generate_passwords" => {
                let text = Raw::text(String::from_utf8_lossy(&bytes).into_owned());
                match name.as_str() {
                    "mode" => input.mode = text,
                    "send_welcome_emails" => input.send_welcome_emails = text,
                    _ => input.generate_passwords = text,
                }
            }
            _ => {}
        }
    }
    Ok(input)
}

/// A job of the caller's tenant (`members:write`).
#[utoipa::path(get, path = "/api/jobs/{id}/", tag = "users", operation_id = "read_job", security(("bearer" = []), ("api_key" = [])),
    params(("id" = Uuid, Path)),
    responses((status = 200, body = JobOut), (status = 401, body = Detail), (status = 403, body = Detail), (status = 404, body = Detail)))]
pub async fn job(State(state): State<AppState>, Caller(actor): Caller, Path(id): Path<String>) -> ApiResult<Json<JobOut>> {
    let job = state.services.job(&actor, &id).await?;
    Ok(Json(JobOut::of(&job, &state.services.config().frontend_base_url)))
}

/// Each row's outcome, in row order, 100 a page.
#[utoipa::path(get, path = "/api/jobs/{id}/results/", tag = "users", operation_id = "job_results", security(("bearer" = []), ("api_key" = [])),
    params(("id" = Uuid, Path), ("page" = Option<u32>, Query, minimum = 1, description = "1-based page number")),
    responses((status = 200, body = PageOut<RowOut>), (status = 401, body = Detail), (status = 403, body = Detail),
        (status = 404, description = "No such job, or `page` is not a positive whole number", body = Detail)))]
pub async fn results(State(state): State<AppState>, Caller(actor): Caller, pagination: Pagination, Path(id): Path<String>) -> ApiResult<Json<PageOut<RowOut>>> {
    let page = state.services.job_results(&actor, &id, pagination.request).await?;
    Ok(super::dto::page(&page, &pagination, |(result, done)| RowOut::of(result, *done)))
}
