//! The one place where service errors become HTTP responses.
//!
//! Bodies follow Django REST framework: `{"detail": "…"}` for 401/403/404/409/410/429/5xx,
//! `{"field": ["message", …]}` for 400 (409 and 410 carry field errors too when they have them).

use axum::{
    http::{header, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use serde_json::{json, Map, Value};
use tenantry::{FieldErrors, ServiceError};

/// A service error on its way out of a JSON handler.
#[derive(Debug)]
pub struct ApiError(pub ServiceError);

pub type ApiResult<T> = Result<T, ApiError>;

impl From<ServiceError> for ApiError {
    fn from(error: ServiceError) -> Self {
        Self(error)
    }
}

impl ApiError {
    /// 400 with a message that is not about one field (malformed JSON and the like).
    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self(ServiceError::field("detail", detail))
    }

    pub fn not_found() -> Self {
        Self(ServiceError::NotFound)
    }
}

fn fields_body(fields: &FieldErrors, detail: Option<&str>) -> Value {
    let mut body = match serde_json::to_value(fields) {
        Ok(Value::Object(map)) => map,
        _ => Map::new(),
    };
    if let Some(detail) = detail {
        body.entry("detail").or_insert_with(|| Value::String(detail.to_owned()));
    }
    Value::Object(body)
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, body) = match &self.0 {
            ServiceError::Validation(fields) => {
                // A body-level problem is reported as a plain `detail` string, as DRF does.
                match fields.get("detail") {
                    Some([detail]) if fields.iter().count() == 1 => (StatusCode::BAD_REQUEST, json!({ "detail": detail })),
                    _ => (StatusCode::BAD_REQUEST, fields_body(fields, None)),
                }
            }
            ServiceError::Unauthenticated(detail) => (StatusCode::UNAUTHORIZED, json!({ "detail": detail })),
            ServiceError::Forbidden(detail) => (StatusCode::FORBIDDEN, json!({ "detail": detail })),
            ServiceError::NotFound => (StatusCode::NOT_FOUND, json!({ "detail": "Not found." })),
            ServiceError::NotFoundField(fields) => (StatusCode::NOT_FOUND, fields_body(fields, Some("Not found."))),
            ServiceError::Conflict { detail, fields } => (StatusCode::CONFLICT, fields_body(fields, Some(detail))),
            ServiceError::Gone { detail, fields } => (StatusCode::GONE, fields_body(fields, Some(detail))),
            ServiceError::RateLimited { retry_after_secs } => {
                let body = json!({ "detail": format!("Request was throttled. Expected available in {retry_after_secs} seconds.") });
                let mut response = (StatusCode::TOO_MANY_REQUESTS, Json(body)).into_response();
                response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(*retry_after_secs));
                return response;
            }
            ServiceError::QuotaExceeded { detail, quota, limit, usage } => (
                StatusCode::FORBIDDEN,
                json!({ "detail": detail, "code": "quota_exceeded", "quota": quota, "limit": limit, "usage": usage }),
            ),
            ServiceError::DailyQuotaExceeded { detail, quota, limit, retry_after_secs } => {
                let body = json!({ "detail": detail, "code": "quota_exceeded", "quota": quota, "limit": limit });
                let mut response = (StatusCode::TOO_MANY_REQUESTS, Json(body)).into_response();
                response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(*retry_after_secs));
                return response;
            }
            ServiceError::Refused { reason, detail } => {
                let status = match reason {
                    tenantry::Refusal::IpNotAllowed | tenantry::Refusal::TwoFactorEnrollmentRequired => StatusCode::FORBIDDEN,
                    tenantry::Refusal::SessionExpired => StatusCode::UNAUTHORIZED,
                };
                (status, json!({ "detail": detail, "code": reason.code() }))
            }
            ServiceError::Unavailable(reason) => {
                tracing::error!(%reason, "dependency unavailable");
                (StatusCode::SERVICE_UNAVAILABLE, json!({ "detail": reason }))
            }
            ServiceError::Internal(error) => {
                tracing::error!(error = format!("{error:#}"), "internal error");
                (StatusCode::INTERNAL_SERVER_ERROR, json!({ "detail": "A server error occurred." }))
            }
        };
        let mut response = (status, Json(body)).into_response();
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer realm=\"api\""));
        }
        response
    }
}
