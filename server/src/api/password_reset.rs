use app::ssr::AppState;
use axum::{extract::State, http::StatusCode, routing::post, Json, Router};
use utoipa::ToSchema;

use super::{
    dto::{BadRequestOut, Detail},
    error::ApiResult,
    extract::{JsonObject, Meta},
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/auth/password-reset/", post(request))
        .route("/auth/password-reset/confirm/", post(confirm))
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ResetRequest {
    #[schema(format = Email, max_length = 254)]
    email: String,
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ResetConfirmRequest {
    /// The token from the link.
    #[schema(pattern = r"^[A-Za-z0-9_-]{43}$")]
    token: String,
    /// At least 8 characters, not common, not the e-mail.
    #[schema(min_length = 8, max_length = 128)]
    password: String,
}

/// E-mails a reset link if an active account has this address. The answer is the same either
/// way.
#[utoipa::path(post, path = "/api/auth/password-reset/", tag = "auth", request_body = ResetRequest,
    responses((status = 202, body = Detail), (status = 400, body = BadRequestOut), (status = 429, body = Detail)))]
pub async fn request(State(state): State<AppState>, Meta(meta): Meta, body: JsonObject) -> ApiResult<(StatusCode, Json<Detail>)> {
    state.services.request_password_reset(body.raw("email"), &meta).await?;
    let detail = "If an account exists for this e-mail address, a link to reset its password has been sent.".to_owned();
    Ok((StatusCode::ACCEPTED, Json(Detail { detail })))
}

/// Sets a new password with the token from the link. Every session and token of the account
/// stops working.
#[utoipa::path(post, path = "/api/auth/password-reset/confirm/", tag = "auth", request_body = ResetConfirmRequest,
    responses((status = 204), (status = 400, description = "Bad, used or expired token (`token`), or a weak password (`password`); `detail` when the body is unusable", body = BadRequestOut),
        (status = 429, body = Detail)))]
pub async fn confirm(State(state): State<AppState>, Meta(meta): Meta, body: JsonObject) -> ApiResult<StatusCode> {
    state.services.confirm_password_reset(body.raw("token"), body.raw("password"), &meta).await?;
    Ok(StatusCode::NO_CONTENT)
}
