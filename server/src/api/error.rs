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
        // The status comes from the service's one table; here only the bodies are chosen.
        let status = StatusCode::from_u16(self.0.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = match &self.0 {
            ServiceError::Validation(fields) => {
                // A body-level problem is reported as a plain `detail` string, as DRF does.
                match fields.get("detail") {
                    Some([detail]) if fields.iter().count() == 1 => json!({ "detail": detail }),
                    _ => fields_body(fields, None),
                }
            }
            ServiceError::Unauthenticated(detail) | ServiceError::Forbidden(detail) => json!({ "detail": detail }),
            ServiceError::NotFound => json!({ "detail": "Not found." }),
            ServiceError::NotFoundField(fields) => fields_body(fields, Some("Not found.")),
            ServiceError::Conflict { detail, fields } | ServiceError::Gone { detail, fields } => fields_body(fields, Some(detail)),
            ServiceError::RateLimited { retry_after_secs } => {
                let body = json!({ "detail": format!("Request was throttled. Expected available in {retry_after_secs} seconds.") });
                let mut response = (status, Json(body)).into_response();
                response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(*retry_after_secs));
                return response;
            }
            ServiceError::QuotaExceeded { detail, quota, limit, usage } => {
                json!({ "detail": detail, "code": "quota_exceeded", "quota": quota, "limit": limit, "usage": usage })
            }
            ServiceError::DailyQuotaExceeded { detail, quota, limit, retry_after_secs } => {
                let body = json!({ "detail": detail, "code": "quota_exceeded", "quota": quota, "limit": limit });
                let mut response = (status, Json(body)).into_response();
                response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(*retry_after_secs));
                return response;
            }
            ServiceError::Refused { reason, detail } => json!({ "detail": detail, "code": reason.code() }),
            ServiceError::Unavailable(reason) => {
                tracing::error!(%reason, "dependency unavailable");
                json!({ "detail": reason })
            }
            ServiceError::Internal(error) => {
                tracing::error!(error = format!("{error:#}"), "internal error");
                json!({ "detail": "A server error occurred." })
            }
        };
        let mut response = (status, Json(body)).into_response();
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer realm=\"api\""));
        }
        response
    }
}
