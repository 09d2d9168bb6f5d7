use app::ssr::AppState;
use axum::{extract::State, http::StatusCode, routing::post, Json, Router};
use utoipa::ToSchema;

use super::{
    dto::{Detail, FieldErrorsOut},
    error::ApiResult,
    extract::{JsonObject, Meta},
};
use crate::rate_limit::RateLimits;

pub fn router(limits: &RateLimits) -> Router<AppState> {
    Router::new()
        .route("/auth/password-reset/", post(request).route_layer(limits.per_ip()))
        .route("/auth/password-reset/confirm/", post(confirm).route_layer(limits.per_ip()))
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ResetRequest {
    email: String,
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ResetConfirmRequest {
    token: String,
    password: String,
}

/// E-mails a reset link if an active account has this address. The answer is the same either
/// way.
#[utoipa::path(post, path = "/api/auth/password-reset/", tag = "auth", request_body = ResetRequest,
    responses((status = 202, body = Detail), (status = 400, body = FieldErrorsOut), (status = 429, body = Detail)))]
pub async fn request(State(state): State<AppState>, Meta(meta): Meta, body: JsonObject) -> ApiResult<(StatusCode, Json<Detail>)> {
    state.services.request_password_reset(body.raw("email"), &meta).await?;
    let detail = "If an account exists for this e-mail address, a link to reset its password has been sent.".to_owned();
    Ok((StatusCode::ACCEPTED, Json(Detail { detail })))
}

/// Sets a new password with the token from the link. Every session and token of the account
/// stops working.
#[utoipa::path(post, path = "/api/auth/password-reset/confirm/", tag = "auth", request_body = ResetConfirmRequest,
    responses((status = 204), (status = 400, description = "Bad, used or expired token (`token`), or a weak password (`password`)", body = FieldErrorsOut)))]
pub async fn confirm(State(state): State<AppState>, Meta(meta): Meta, body: JsonObject) -> ApiResult<StatusCode> {
    state.services.confirm_password_reset(body.raw("token"), body.raw("password"), &meta).await?;
    Ok(StatusCode::NO_CONTENT)
}
