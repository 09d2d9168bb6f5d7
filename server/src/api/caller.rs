//! Who is calling: an API key (`X-API-Key`, or `Authorization: Bearer tnt_…`), a bearer access
//! token, or else the browser session cookie. All resolve to the same service-layer `Actor`.

use app::ssr::{request_meta, session_actor, AppState};
use axum::{
    extract::FromRequestParts,
    http::{header, request::Parts},
};
use tenantry::{domain::ApiKeySecret, service::Actor, ServiceError};
use tower_sessions::Session;

use super::error::ApiError;

pub struct Caller(pub Actor);

/// The header an API key may come in (or as `Authorization: Bearer tnt_…`).
const API_KEY: &str = "x-api-key";

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        if let Some(value) = parts.headers.get(API_KEY) {
            let key = value.to_str().unwrap_or("");
            return Ok(Self(state.services.actor_from_api_key(key, &request_meta(parts)).await?));
        }
        if let Some(value) = parts.headers.get(header::AUTHORIZATION) {
            let value = value.to_str().unwrap_or("");
            let token = value
                .strip_prefix("Bearer ")
                .or_else(|| value.strip_prefix("bearer "))
                .ok_or_else(|| ServiceError::unauthenticated("Authorization header must contain two space-delimited values: Bearer <token>"))?
                .trim();
            // API keys are recognisable by their prefix; anything else is an access token.
            if ApiKeySecret::looks_like(token) {
                return Ok(Self(state.services.actor_from_api_key(token, &request_meta(parts)).await?));
            }
            return Ok(Self(state.services.actor_from_access_token(token, &request_meta(parts)).await?));
        }
        if let Ok(session) = Session::from_request_parts(parts, state).await {
            if let Some(actor) = session_actor(&state.services, &session, app::ssr::host_tenant(parts), &request_meta(parts)).await? {
                return Ok(Self(actor));
            }
        }
        Err(ServiceError::unauthenticated("Authentication credentials were not provided.").into())
    }
}
