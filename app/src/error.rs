//! The error a server function returns to a page: the same field messages the JSON API
//! returns, so a form shows them beside its fields. Built from the service error by the one
//! mapping below.

use std::collections::BTreeMap;

use leptos::server_fn::{codec::JsonEncoding, error::{FromServerFnError, ServerFnErrorErr}};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ErrorKind {
    Validation,
    Unauthenticated,
    Forbidden,
    NotFound,
    Conflict,
    Gone,
    RateLimited,
    Unavailable,
    Internal,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{message}")]
pub struct AppError {
    /// What the page makes of it (a sign-in prompt, the form's errors, …).
    pub kind: ErrorKind,
    /// The HTTP status a script caller gets: [`tenantry::ServiceError::status`], the JSON API's.
    pub status: u16,
    /// A sentence for the top of the form.
    pub message: String,
    /// Messages per form field.
    pub fields: BTreeMap<String, Vec<String>>,
    /// The non-secret values the user typed, so a page rendered without JavaScript can put them
    /// back into the form.
    pub values: BTreeMap<String, String>,
}

impl AppError {
    fn new(kind: ErrorKind, status: u16, message: impl Into<String>) -> Self {
        Self { kind, status, message: message.into(), fields: BTreeMap::new(), values: BTreeMap::new() }
    }

    pub fn field(&self, name: &str) -> Option<String> {
        self.fields.get(name).map(|messages| messages.join(" "))
    }

    pub fn value(&self, name: &str) -> Option<String> {
        self.values.get(name).cloned()
    }

    /// Keeps what the user typed (never pass passwords here).
    pub fn with_values<'a>(mut self, values: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        self.values.extend(values.into_iter().map(|(k, v)| (k.to_owned(), v.to_owned())));
        self
    }
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        // A form that arrives without its fields, or with fields that do not decode, is bad
        // input (400), not a server failure.
        match value {
            ServerFnErrorErr::Args(_) | ServerFnErrorErr::MissingArg(_) | ServerFnErrorErr::Deserialization(_) => {
                AppError::new(ErrorKind::Validation, 400, format!("The form was incomplete or malformed: {value}"))
            }
            other => AppError::new(ErrorKind::Internal, 500, format!("The request could not be completed: {other}")),
        }
    }
}

#[cfg(feature = "ssr")]
impl From<tenantry::ServiceError> for AppError {
    fn from(error: tenantry::ServiceError) -> Self {
        use tenantry::ServiceError as E;
        let fields_of = |f: &tenantry::FieldErrors| {
            f.iter().map(|(k, v)| (k.to_owned(), v.to_vec())).collect::<BTreeMap<_, _>>()
        };
        let status = error.status();
        let new = |kind, message: &str| AppError::new(kind, status, message);
        match error {
            E::Validation(fields) => AppError { fields: fields_of(&fields), ..new(ErrorKind::Validation, "Please correct the highlighted fields.") },
            E::Unauthenticated(detail) => new(ErrorKind::Unauthenticated, &detail),
            E::Forbidden(detail) => new(ErrorKind::Forbidden, &detail),
            E::NotFound => new(ErrorKind::NotFound, "Not found."),
            E::NotFoundField(fields) => AppError { fields: fields_of(&fields), ..new(ErrorKind::NotFound, "Not found.") },
            E::Conflict { detail, fields } => AppError { fields: fields_of(&fields), ..new(ErrorKind::Conflict, &detail) },
            E::Gone { detail, fields } => AppError { fields: fields_of(&fields), ..new(ErrorKind::Gone, &detail) },
            E::RateLimited { retry_after_secs } => {
                new(ErrorKind::RateLimited, &format!("Too many attempts. Try again in {retry_after_secs} seconds."))
            }
            E::QuotaExceeded { detail, .. } => new(ErrorKind::Forbidden, &detail),
            E::DailyQuotaExceeded { detail, .. } => new(ErrorKind::RateLimited, &detail),
            E::Refused { reason: tenantry::Refusal::IpNotAllowed | tenantry::Refusal::TwoFactorEnrollmentRequired, detail } => new(ErrorKind::Forbidden, &detail),
            E::Refused { reason: tenantry::Refusal::SessionExpired, detail } => new(ErrorKind::Unauthenticated, &detail),
            E::Unavailable(_) => new(ErrorKind::Unavailable, "The service is temporarily unavailable. Try again shortly."),
            E::Internal(error) => {
                tracing::error!(error = format!("{error:#}"), "internal error in a server function");
                new(ErrorKind::Internal, "Something went wrong on our side. Please try again.")
            }
        }
    }
}
