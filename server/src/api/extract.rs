//! Request parsing that never lets axum's plain-text 415/422 rejections reach a client:
//! every problem is a 400 with a JSON body that names it.

use axum::{
    body::Bytes,
    extract::{FromRequest, FromRequestParts, OriginalUri, Request},
    http::{header, request::Parts},
};
use serde_json::{Map, Value};
use tenantry::{service::Raw, store::PageRequest};

use super::error::ApiError;

/// A JSON object body. Its fields are read with [`JsonObject::raw`], so that the service sees
/// missing, mistyped and present fields alike and can report all of them at once.
pub struct JsonObject(pub Map<String, Value>);

impl JsonObject {
    pub fn raw(&self, field: &str) -> Raw {
        Raw::from_json(self.0.get(field))
    }

    /// A boolean field: JSON `true`/`false` (or their text, as forms send them).
    pub fn flag(&self, field: &str) -> Raw {
        match self.0.get(field) {
            Some(Value::Bool(b)) => Raw::text(b.to_string()),
            other => Raw::from_json(other),
        }
    }

    /// A field holding a JSON object, as its text (see [`Raw::from_json_document`]).
    pub fn document(&self, field: &str) -> Raw {
        Raw::from_json_document(self.0.get(field))
    }

    pub fn raw_list(&self, field: &str) -> tenantry::service::RawList {
        tenantry::service::RawList::from_json(self.0.get(field))
    }

    /// The first of several accepted spellings that is present (`email` / `username`).
    pub fn raw_any(&self, fields: &[&str]) -> Raw {
        fields.iter().map(|f| self.raw(f)).find(|r| *r != Raw::Missing).unwrap_or_default()
    }
}

impl<S: Send + Sync> FromRequest<S> for JsonObject {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let content_type = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
        let is_json = content_type
            .split(';')
            .next()
            .map(|mime| {
                let mime = mime.trim().to_ascii_lowercase();
                mime == "application/json" || (mime.starts_with("application/") && mime.ends_with("+json"))
            })
            .unwrap_or(false);
        if !is_json {
            let shown = if content_type.is_empty() { "none" } else { content_type };
            return Err(ApiError::bad_request(format!(
                "Unsupported media type \"{shown}\" in request; send the body as application/json."
            )));
        }
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|e| ApiError::bad_request(format!("Could not read the request body: {e}")))?;
        let value: Value = serde_json::from_slice(&bytes)
            .map_err(|e| ApiError::bad_request(format!("JSON parse error - {e}")))?;
        match value {
            Value::Object(map) => Ok(Self(map)),
            other => Err(ApiError::bad_request(format!(
                "Invalid data. Expected a dictionary, but got {}.",
                match other {
                    Value::Array(_) => "list",
                    Value::String(_) => "str",
                    Value::Number(_) => "number",
                    Value::Bool(_) => "bool",
                    _ => "null",
                }
            ))),
        }
    }
}

/// Client address and user agent, for the audit trail.
pub struct Meta(pub tenantry::service::RequestMeta);

impl<S: Send + Sync> FromRequestParts<S> for Meta {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Self(app::ssr::request_meta(parts)))
    }
}

/// The tenant of the request's host (`TENANT_BASE_DOMAIN`), if it came to one.
pub struct HostTenant(pub Option<tenantry::domain::TenantId>);

impl<S: Send + Sync> FromRequestParts<S> for HostTenant {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Self(app::ssr::host_tenant(parts)))
    }
}

/// `?page=N` (1-based). A page that is not a positive number is a 404, as in DRF.
pub struct Pagination {
    pub request: PageRequest,
    /// The public base URL (`FRONTEND_BASE_URL`) and this request's path, to build
    /// `next`/`previous` links. Never the request's `Host` header, which the client chooses.
    base: String,
    /// The other query parameters, kept in the links.
    rest: Vec<(String, String)>,
}

impl FromRequestParts<app::ssr::AppState> for Pagination {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &app::ssr::AppState) -> Result<Self, Self::Rejection> {
        let pairs = query_pairs(parts);
        let mut page = 1;
        let mut rest = Vec::new();
        for (key, value) in pairs {
            if key == "page" {
                page = value.parse::<u32>().ok().filter(|p| *p >= 1).ok_or_else(ApiError::not_found)?;
            } else {
                rest.push((key, value));
            }
        }
        // Inside the nested `/api` router `uri` lacks the prefix; the original has it.
        let path = parts.extensions.get::<OriginalUri>().map(|o| o.0.path().to_owned()).unwrap_or_else(|| parts.uri.path().to_owned());
        let base = format!("{}{path}", state.services.config().frontend_base_url);
        Ok(Self { request: PageRequest::number(page), base, rest })
    }
}

impl Pagination {
    pub fn link(&self, page: u32) -> String {
        let mut query: Vec<String> = self.rest.iter().map(|(k, v)| format!("{}={}", encode(k), encode(v))).collect();
        if page > 1 {
            query.push(format!("page={page}"));
        }
        if query.is_empty() {
            self.base.clone()
        } else {
            format!("{}?{}", self.base, query.join("&"))
        }
    }
}

/// A tenant id from a path: anything that is not one names no tenant (404).
pub fn tenant_path(raw: &str) -> Result<tenantry::domain::TenantId, ApiError> {
    tenantry::domain::TenantId::parse(raw).map_err(|_| ApiError::not_found())
}

/// Decoded query pairs of a request.
pub fn query_pairs(parts: &Parts) -> Vec<(String, String)> {
    form_urlencoded::parse(parts.uri.query().unwrap_or("").as_bytes()).into_owned().collect()
}

/// The query parameters of a request, read as raw service input: an empty value counts as not
/// given (as browsers send empty filter fields).
pub struct QueryInput(Vec<(String, String)>);

impl QueryInput {
    pub fn of(parts: &Parts) -> Self {
        Self(query_pairs(parts))
    }

    pub fn raw(&self, name: &str) -> Raw {
        Raw::from_form(self.0.iter().find(|(k, v)| k == name && !v.is_empty()).map(|(_, v)| v.clone()))
    }
}

fn encode(text: &str) -> String {
    form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

