//! The one error type the service layer returns, and the one table of the HTTP status each
//! variant becomes ([`ServiceError::status`]): the JSON API (`server/src/api/error.rs`, which
//! adds the bodies) and the pages' server functions (`app/src/error.rs`) both answer with it.

use std::collections::BTreeMap;

use serde::Serialize;

/// Messages per input field, e.g. `{"admin_email": ["Enter a valid email address."]}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct FieldErrors(BTreeMap<String, Vec<String>>);

impl FieldErrors {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn single(field: &str, message: impl Into<String>) -> Self {
        let mut errors = Self::new();
        errors.add(field, message);
        errors
    }

    pub fn add(&mut self, field: &str, message: impl Into<String>) {
        self.0.entry(field.to_owned()).or_default().push(message.into());
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn get(&self, field: &str) -> Option<&[String]> {
        self.0.get(field).map(Vec::as_slice)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &[String])> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_slice()))
    }

    /// Records the error of a parse and keeps its value, so a caller can parse every field
    /// and report all problems at once.
    pub fn check<T>(&mut self, field: &str, parsed: Result<T, String>) -> Option<T> {
        match parsed {
            Ok(value) => Some(value),
            Err(message) => {
                self.add(field, message);
                None
            }
        }
    }

    /// The same messages under other field names (a description's `tenant.max_users` as a
    /// CSV file's `max_users`, or a form's field).
    pub fn renamed(&self, rename: impl Fn(&str) -> String) -> Self {
        let mut out = Self::new();
        for (field, messages) in self.iter() {
            for message in messages {
                out.add(&rename(field), message.clone());
            }
        }
        out
    }

    /// `Ok(())` when nothing was recorded, else a validation error with every message.
    pub fn into_result(self) -> ServiceResult<()> {
        if self.is_empty() {
            Ok(())
        } else {
            Err(ServiceError::Validation(self))
        }
    }
}

pub type ServiceResult<T> = Result<T, ServiceError>;

/// Why a [`ServiceError::Refused`] request was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// 403: the tenant's security policy does not allow the client's network.
    IpNotAllowed,
    /// 401: the tenant's idle timeout passed since the session or token was last used.
    SessionExpired,
    /// 403: the tenant requires a second factor and the person has none yet.
    TwoFactorEnrollmentRequired,
}

impl Refusal {
    /// The `code` of the JSON body.
    pub fn code(self) -> &'static str {
        match self {
            Self::IpNotAllowed => "ip_not_allowed",
            Self::SessionExpired => "session_expired",
            Self::TwoFactorEnrollmentRequired => "2fa_enrollment_required",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// 400: input that does not parse, with a message per field.
    #[error("invalid input: {0:?}")]
    Validation(FieldErrors),
    /// 401: no credentials, or credentials that are not (or no longer) valid.
    #[error("unauthenticated: {0}")]
    Unauthenticated(String),
    /// 403: the caller is known but may not do this.
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// 404: nothing the caller can see has this id.
    #[error("not found")]
    NotFound,
    /// 404 about one input field (an unknown token in a body).
    #[error("not found: {0:?}")]
    NotFoundField(FieldErrors),
    /// 409: the request clashes with what is stored (duplicates, last admin …).
    #[error("conflict: {detail}")]
    Conflict { detail: String, fields: FieldErrors },
    /// 410: a token that was valid once but is expired, used or revoked.
    #[error("gone: {detail}")]
    Gone { detail: String, fields: FieldErrors },
    /// 429: too many attempts; retry after the given number of seconds.
    #[error("rate limited")]
    RateLimited { retry_after_secs: u64 },
    /// 403 (`code: quota_exceeded`): the change would take the tenant past a limit of its plan.
    #[error("quota exceeded: {detail}")]
    QuotaExceeded { detail: String, quota: String, limit: i64, usage: i64 },
    /// 429 (`code: quota_exceeded`): a per-day quota is used up until `retry_after_secs` from now.
    #[error("daily quota exceeded: {detail}")]
    DailyQuotaExceeded { detail: String, quota: String, limit: i64, retry_after_secs: u64 },
    /// A refusal clients tell apart by its `code` (see [`Refusal`] for each status).
    #[error("refused ({reason:?}): {detail}")]
    Refused { reason: Refusal, detail: String },
    /// 503: a dependency (the database) is down.
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// 500: a bug or an unexpected failure below us; logged, never shown.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl ServiceError {
    /// The HTTP status this error is answered with, on the JSON API and to a page's script.
    pub fn status(&self) -> u16 {
        match self {
            Self::Validation(_) => 400,
            Self::Unauthenticated(_) => 401,
            Self::Forbidden(_) | Self::QuotaExceeded { .. } => 403,
            Self::NotFound | Self::NotFoundField(_) => 404,
            Self::Conflict { .. } => 409,
            Self::Gone { .. } => 410,
            Self::RateLimited { .. } | Self::DailyQuotaExceeded { .. } => 429,
            Self::Refused { reason: Refusal::IpNotAllowed | Refusal::TwoFactorEnrollmentRequired, .. } => 403,
            Self::Refused { reason: Refusal::SessionExpired, .. } => 401,
            Self::Unavailable(_) => 503,
            Self::Internal(_) => 500,
        }
    }

    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::Forbidden(detail.into())
    }

    pub fn unauthenticated(detail: impl Into<String>) -> Self {
        Self::Unauthenticated(detail.into())
    }

    pub fn field(field: &str, message: impl Into<String>) -> Self {
        Self::Validation(FieldErrors::single(field, message))
    }

    pub fn conflict(field: &str, message: impl Into<String>) -> Self {
        let message = message.into();
        Self::Conflict { fields: FieldErrors::single(field, message.clone()), detail: message }
    }

    pub fn conflict_detail(detail: impl Into<String>) -> Self {
        Self::Conflict { detail: detail.into(), fields: FieldErrors::new() }
    }
}

impl From<sqlx::Error> for ServiceError {
    fn from(error: sqlx::Error) -> Self {
        match &error {
            sqlx::Error::PoolTimedOut | sqlx::Error::Io(_) | sqlx::Error::PoolClosed => {
                Self::Unavailable("the database is not reachable".into())
            }
            _ => Self::Internal(anyhow::Error::new(error).context("database error")),
        }
    }
}

/// True when the error is a UNIQUE violation (either backend), so callers can turn it into a
/// 409 without matching constraint names.
pub fn is_unique_violation(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Database(db) if db.is_unique_violation())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_error_has_the_status_its_clients_expect() {
        let cases = [
            (ServiceError::field("email", "bad"), 400),
            (ServiceError::unauthenticated("who?"), 401),
            (ServiceError::forbidden("no"), 403),
            (ServiceError::QuotaExceeded { detail: "full".into(), quota: "max_users".into(), limit: 1, usage: 1 }, 403),
            (ServiceError::NotFound, 404),
            (ServiceError::NotFoundField(FieldErrors::single("token", "unknown")), 404),
            (ServiceError::conflict("name", "taken"), 409),
            (ServiceError::Gone { detail: "used".into(), fields: FieldErrors::new() }, 410),
            (ServiceError::RateLimited { retry_after_secs: 3 }, 429),
            (ServiceError::DailyQuotaExceeded { detail: "spent".into(), quota: "max_api_calls_per_day".into(), limit: 5, retry_after_secs: 60 }, 429),
            (ServiceError::Refused { reason: Refusal::IpNotAllowed, detail: "network".into() }, 403),
            (ServiceError::Refused { reason: Refusal::TwoFactorEnrollmentRequired, detail: "2fa".into() }, 403),
            (ServiceError::Refused { reason: Refusal::SessionExpired, detail: "idle".into() }, 401),
            (ServiceError::Unavailable("db".into()), 503),
            (ServiceError::Internal(anyhow::anyhow!("bug")), 500),
        ];
        for (error, status) in cases {
            assert_eq!(error.status(), status, "{error:?}");
        }
    }
}
