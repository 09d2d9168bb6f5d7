//! `GET /api/audit-logs/`: the tenant's audit trail as a page, or (with `?format=csv|json`)
//! the whole filtered set as a streamed download. Who may read it and which filters are valid
//! is decided by the service; this file only shapes rows into JSON and CSV.

use app::ssr::AppState;
use axum::{
    body::{Body, Bytes},
    extract::State,
    http::{header, request::Parts},
    response::{IntoResponse, Response},
    routing::get,
    Router,
};
use serde::Serialize;
use tenantry::{
    service::{AuditExport, AuditFilter, ExportFormat, Raw},
    store::AuditEntry,
    ServiceError,
};
use utoipa::ToSchema;
use uuid::Uuid;

use super::{
    caller::Caller,
    dto::{self, Detail, FieldErrorsOut, PageOut},
    error::ApiResult,
    extract::{Pagination, QueryInput},
};

pub fn router() -> Router<AppState> {
    Router::new().route("/audit-logs/", get(list))
}

/// Who did it.
#[derive(Serialize, ToSchema)]
pub struct AuditUserOut {
    pub id: Uuid,
    pub email: String,
}

/// One event of the audit trail.
#[derive(Serialize, ToSchema)]
pub struct AuditEntryOut {
    pub id: Uuid,
    pub tenant: Option<Uuid>,
    /// The actor; `null` for events nobody signed in caused (sign-up, a failed login …) and for
    /// those an API key caused (then `api_key` names it).
    pub user: Option<AuditUserOut>,
    /// The API key that acted, if one did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_key: Option<super::dto::KeyRefOut>,
    /// A snake_case verb.
    #[schema(example = "role_assigned")]
    pub action: String,
    #[schema(example = "user")]
    pub resource_type: String,
    /// The thing acted on (for role changes: the user whose role changed).
    pub resource_id: Option<String>,
    /// Details of the event (never secrets).
    #[schema(value_type = Object, example = json!({"role": "ANALYST"}))]
    pub metadata: serde_json::Value,
    pub ip_address: Option<String>,
    pub user_agent: Option<String>,
    #[schema(format = DateTime)]
    pub created_at: String,
}

/// The key a service call recorded in an entry's metadata (`{"api_key": {"id", "name"}}`).
fn key_of(metadata: &serde_json::Value) -> Option<super::dto::KeyRefOut> {
    let key = metadata.get("api_key")?;
    let id = key.get("id")?.as_str().and_then(|id| Uuid::parse_str(id).ok())?;
    let name = key.get("name")?.as_str()?.to_owned();
    Some(super::dto::KeyRefOut { id, name, scopes: None })
}

impl From<&AuditEntry> for AuditEntryOut {
    fn from(entry: &AuditEntry) -> Self {
        Self {
            id: entry.id,
            tenant: entry.tenant_id.map(|t| t.0),
            user: entry.actor_id.map(|id| AuditUserOut { id: id.0, email: entry.actor_email.clone().unwrap_or_default() }),
            api_key: key_of(&entry.metadata),
            action: entry.action.to_string(),
            resource_type: entry.resource_type.clone(),
            resource_id: entry.resource_id.clone(),
            metadata: entry.metadata.clone(),
            ip_address: entry.ip_address.clone(),
            user_agent: entry.user_agent.clone(),
            created_at: entry.created_at.to_rfc3339(),
        }
    }
}

/// The JSON answer of `GET /api/audit-logs/` (documentation only): a page, or with
/// `format=json` one array of every matching event.
#[derive(ToSchema)]
#[serde(untagged)]
#[allow(dead_code)]
pub enum AuditListJson {
    Page(PageOut<AuditEntryOut>),
    Export(Vec<AuditEntryOut>),
}

/// The audit trail of the caller's tenant, newest first. Tenant ADMIN, or a superuser acting
/// in the tenant. With `format=csv` or `format=json` the whole filtered set is downloaded
/// (streamed, not paginated): CSV with a header row, or one JSON array of the same objects as
/// `results`.
#[utoipa::path(get, path = "/api/audit-logs/", tag = "audit", operation_id = "list_audit_logs", security(("bearer" = [])),
    params(
        ("action" = Option<String>, Query, description = "An action such as role_assigned"),
        ("actor" = Option<String>, Query, description = "The actor's user id (or e-mail address)"),
        ("since" = Option<String>, Query, description = "RFC 3339, or YYYY-MM-DD (from midnight UTC)"),
        ("until" = Option<String>, Query, description = "RFC 3339 (inclusive), or YYYY-MM-DD (the whole day, UTC)"),
        ("format" = Option<String>, Query, description = "csv or json: download every matching event"),
        ("page" = Option<u32>, Query, minimum = 1, description = "1-based page number"),
    ),
    responses(
        (status = 200, description = "A page of events; with format=json a JSON array of events, with format=csv a CSV file",
            content((AuditListJson = "application/json"), (String = "text/csv"))),
        (status = 400, body = FieldErrorsOut),
        (status = 401, body = Detail),
        (status = 403, body = Detail),
        (status = 404, description = "`page` is not a positive whole number", body = Detail),
    ))]
pub async fn list(State(state): State<AppState>, Caller(actor): Caller, pagination: Pagination, parts: Parts) -> ApiResult<Response> {
    let query = QueryInput::of(&parts);
    let param = |name: &str| query.raw(name);
    let filter = AuditFilter { action: param("action"), actor: param("actor"), since: param("since"), until: param("until") };
    match param("format") {
        Raw::Missing => {
            let page = state.services.list_audit_log(&actor, filter, pagination.request).await?;
            Ok(dto::page(&page, &pagination, |e| AuditEntryOut::from(e)).into_response())
        }
        format => {
            let export = state.services.export_audit_log(&actor, filter, format).await?;
            Ok(download(export))
        }
    }
}

/// Streams an export: each batch the service reads becomes one chunk of the body, read only
/// when the client has taken the previous one. A failure part-way ends the response abruptly
/// (the client sees an incomplete transfer, never a file that merely looks complete).
fn download(export: AuditExport) -> Response {
    let content_type = match export.format {
        ExportFormat::Csv => "text/csv; charset=utf-8",
        ExportFormat::Json => "application/json",
    };
    let disposition = format!("attachment; filename=\"{}\"", export.file_name());
    use futures_util::StreamExt;
    let chunks = futures_util::stream::unfold(Some(Encoder { export, started: false, rows: 0, done: false }), |encoder| async move {
        let mut encoder = encoder?;
        match encoder.next_chunk().await {
            Ok(Some(chunk)) => Some((Ok(chunk), Some(encoder))),
            Ok(None) => None,
            Err(error) => {
                tracing::error!(error = format!("{error:#}"), "audit export failed part-way");
                Some((Err(error), None))
            }
        }
    })
    // The compression layer (every browser asks for gzip or br) polls a body again after its
    // end; a bare `unfold` panics when polled past its end, so it is fused.
    .fuse();
    ([(header::CONTENT_TYPE, content_type.to_owned()), (header::CONTENT_DISPOSITION, disposition)], Body::from_stream(chunks)).into_response()
}

/// Turns export batches into the bytes of the file: the opening (CSV header row, `[`), then
/// one chunk per batch, then the closing (`]`).
struct Encoder {
    export: AuditExport,
    started: bool,
    rows: u64,
    done: bool,
}

impl Encoder {
    /// The next piece of the file; `None` after its end (never before it: a batch that adds
    /// nothing is skipped, not taken for the end).
    async fn next_chunk(&mut self) -> Result<Option<Bytes>, ServiceError> {
        while !self.done {
            if let Some(chunk) = self.next_piece().await? {
                return Ok(Some(chunk));
            }
        }
        Ok(None)
    }

    async fn next_piece(&mut self) -> Result<Option<Bytes>, ServiceError> {
        if self.done {
            return Ok(None);
        }
        let format = self.export.format;
        let mut out = String::new();
        if !self.started {
            self.started = true;
            match format {
                ExportFormat::Csv => out.push_str(&csv_line(CSV_HEADER.iter().map(|h| h.to_string()))),
                ExportFormat::Json => out.push('['),
            }
        }
        match self.export.next_batch().await? {
            Some(batch) => {
                for entry in &batch {
                    match format {
                        ExportFormat::Csv => out.push_str(&csv_line(csv_row(entry))),
                        ExportFormat::Json => {
                            out.push_str(if self.rows == 0 { "\n" } else { ",\n" });
                            out.push_str(&serde_json::to_string(&AuditEntryOut::from(entry)).map_err(anyhow::Error::from)?);
                        }
                    }
                    self.rows += 1;
                }
            }
            None => {
                self.done = true;
                if format == ExportFormat::Json {
                    out.push_str("\n]\n");
                }
            }
        }
        Ok((!out.is_empty()).then(|| Bytes::from(out)))
    }
}

const CSV_HEADER: [&str; 11] =
    ["id", "tenant", "user_id", "user_email", "action", "resource_type", "resource_id", "metadata", "ip_address", "user_agent", "created_at"];

fn csv_row(entry: &AuditEntry) -> impl Iterator<Item = String> {
    let out = AuditEntryOut::from(entry);
    let (user_id, user_email) = match &out.user {
        Some(user) => (user.id.to_string(), user.email.clone()),
        None => (String::new(), String::new()),
    };
    [
        out.id.to_string(),
        out.tenant.map(|t| t.to_string()).unwrap_or_default(),
        user_id,
        user_email,
        out.action,
        out.resource_type,
        out.resource_id.unwrap_or_default(),
        out.metadata.to_string(),
        out.ip_address.unwrap_or_default(),
        out.user_agent.unwrap_or_default(),
        out.created_at,
    ]
    .into_iter()
}

/// One CSV record (RFC 4180): fields with a comma, quote or line break are quoted, quotes
/// doubled. A field that a spreadsheet would run as a formula (`=`, `+`, `-`, `@`, tab, CR
/// first) gets a leading `'`: user agents and e-mail addresses come from outside.
fn csv_line(fields: impl Iterator<Item = String>) -> String {
    let mut line = String::new();
    for (i, field) in fields.enumerate() {
        if i > 0 {
            line.push(',');
        }
        let field = if field.starts_with(['=', '+', '-', '@', '\t', '\r']) { format!("'{field}") } else { field };
        if field.contains([',', '"', '\n', '\r']) {
            line.push('"');
            line.push_str(&field.replace('"', "\"\""));
            line.push('"');
        } else {
            line.push_str(&field);
        }
    }
    line.push_str("\r\n");
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(fields: &[&str]) -> String {
        csv_line(fields.iter().map(|f| f.to_string()))
    }

    #[test]
    fn csv_fields_are_quoted_only_when_they_need_it() {
        assert_eq!(line(&["a", "b c", ""]), "a,b c,\r\n");
        assert_eq!(line(&["a,b", "say \"hi\"", "two\nlines"]), "\"a,b\",\"say \"\"hi\"\"\",\"two\nlines\"\r\n");
    }

    #[test]
    fn csv_fields_that_look_like_formulas_are_defused() {
        assert_eq!(line(&["=HYPERLINK(\"x\")", "@SUM(A1)", "-1", "ok"]), "\"'=HYPERLINK(\"\"x\"\")\",'@SUM(A1),'-1,ok\r\n");
    }
}
