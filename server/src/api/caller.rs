//! Who is calling: a bearer access token, or else the browser session cookie. Both resolve to
//! the same service-layer `Actor`.

use app::ssr::{session_actor, AppState};
use axum::{
    extract::FromRequestParts,
    http::{header, request::Parts},
};
use tenantry::{service::Actor, ServiceError};
use tower_sessions::Session;

use super::error::ApiError;

pub struct Caller(pub Actor);

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        if let Some(value) = parts.headers.get(header::AUTHORIZATION) {
            let value = value.to_str().unwrap_or("");
            let token = value
                .strip_prefix("Bearer ")
                .or_else(|| value.strip_prefix("bearer "))
                .ok_or_else(|| ServiceError::unauthenticated("Authorization header must contain two space-delimited values: Bearer <token>"))?;
            return Ok(Self(state.services.actor_from_access_token(token.trim()).await?));
        }
        if let Ok(session) = Session::from_request_parts(parts, state).await {
            if let Some(actor) = session_actor(&state.services, &session).await? {
                return Ok(Self(actor));
            }
        }
        Err(ServiceError::unauthenticated("Authentication credentials were not provided.").into())
    }
}
