use app::ssr::AppState;
use axum::{
    extract::State,
    routing::{get, post},
    Json, Router,
};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use tenantry::service::{LoginInput, SignInStep};
use utoipa::ToSchema;

use super::{
    caller::Caller,
    dto::{BadRequestOut, Detail, LoginOut, MeOut, TokenPairOut},
    error::ApiResult,
    extract::{HostTenant, JsonObject, Meta},
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/auth/login/", post(login))
        .route("/auth/login/mfa/", post(login_mfa))
        .route("/auth/refresh/", post(refresh))
        .route("/auth/logout/", post(logout))
        .route("/me/", get(me))
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub struct LoginRequest {
    /// Also accepted as `username`.
    #[schema(example = "owner@acme.com")]
    email: String,
    password: String,
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub struct RefreshRequest {
    refresh: String,
}

/// The password was right; the account has two-factor sign-in on, so the code is owed at
/// `/api/auth/login/mfa/` with this token (single use, 5 minutes, 5 wrong codes spend it).
#[derive(Serialize, ToSchema)]
pub struct MfaRequiredOut {
    mfa_required: bool,
    mfa_token: String,
    #[schema(example = json!(["totp", "recovery_code", "webauthn"]))]
    methods: Vec<&'static str>,
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub struct LoginMfaRequest {
    mfa_token: String,
    /// The authenticator's current 6-digit code …
    code: Option<String>,
    /// … or one of the recovery codes (each works once) …
    recovery_code: Option<String>,
    /// … or the passkey's answer (`PublicKeyCredential` as JSON) to the options from
    /// `/api/auth/login/mfa/webauthn/`.
    #[schema(value_type = Option<Object>)]
    webauthn: Option<serde_json::Value>,
}

/// E-mail and password for an access/refresh pair, acting in the caller's oldest tenant open
/// to the client's network. With two-factor sign-in on, the answer is `MfaRequiredOut` instead.
#[utoipa::path(post, path = "/api/auth/login/", tag = "auth", request_body = LoginRequest,
    responses(
        (status = 200, description = "Signed in. For an account with two-factor sign-in on, the body is instead \
            `{\"mfa_required\": true, \"mfa_token\", \"methods\": [\"totp\", \"recovery_code\", \"webauthn\"]}` (MfaRequiredOut; the methods the account has) and the code is owed at \
            `/api/auth/login/mfa/`", body = LoginOut),
        (status = 400, body = BadRequestOut),
        (status = 401, description = "Wrong e-mail or password (same answer and timing either way)", body = Detail),
        (status = 403, description = "On a tenant's own host: the account is not a member there", body = Detail),
        (status = 429, body = Detail),
    ))]
pub async fn login(State(state): State<AppState>, Meta(meta): Meta, HostTenant(host): HostTenant, body: JsonObject) -> ApiResult<Response> {
    let input = LoginInput { email: body.raw_any(&["email", "username"]), password: body.raw("password"), tenant: host };
    Ok(match state.services.sign_in(input, &meta, true).await? {
        SignInStep::Done(profile, pair) => Json(LoginOut::new(pair.expect("tokens were asked for"), &profile)).into_response(),
        SignInStep::SecondFactor(pending) => {
            Json(MfaRequiredOut { mfa_required: true, mfa_token: pending.mfa_token, methods: pending.methods }).into_response()
        }
    })
}

/// The second step of a sign-in: `mfa_token` with `code`, `recovery_code` or `webauthn` → the
/// login body. A wrong answer is a 400 on its field; an expired, used or spent token a 401.
#[utoipa::path(post, path = "/api/auth/login/mfa/", tag = "auth", request_body = LoginMfaRequest,
    responses((status = 200, body = LoginOut), (status = 400, body = BadRequestOut), (status = 401, body = Detail), (status = 403, body = Detail), (status = 429, body = Detail)))]
pub async fn login_mfa(State(state): State<AppState>, Meta(meta): Meta, body: JsonObject) -> ApiResult<Json<LoginOut>> {
    let services = &state.services;
    let (profile, pair) = match body.document("webauthn") {
        tenantry::service::Raw::Missing => services.complete_sign_in(body.raw("mfa_token"), body.raw("code"), body.raw("recovery_code"), &meta, true).await?,
        webauthn => services.complete_sign_in_with_passkey(body.raw("mfa_token"), webauthn, &meta, true).await?,
    };
    Ok(Json(LoginOut::new(pair.expect("tokens were asked for"), &profile)))
}

/// Trades a refresh token for a new pair. Each refresh token works once; presenting a spent
/// one revokes every token of that login.
#[utoipa::path(post, path = "/api/auth/refresh/", tag = "auth", request_body = RefreshRequest,
    responses((status = 200, body = TokenPairOut), (status = 400, body = BadRequestOut), (status = 401, body = Detail)))]
pub async fn refresh(State(state): State<AppState>, Meta(meta): Meta, body: JsonObject) -> ApiResult<Json<TokenPairOut>> {
    Ok(Json(state.services.refresh(body.raw("refresh"), &meta).await?.into()))
}

/// Revokes the refresh token (and every token of that login).
#[utoipa::path(post, path = "/api/auth/logout/", tag = "auth", request_body = RefreshRequest,
    responses((status = 200, body = Detail), (status = 400, body = BadRequestOut), (status = 401, body = Detail)))]
pub async fn logout(State(state): State<AppState>, body: JsonObject) -> ApiResult<Json<Detail>> {
    state.services.logout(body.raw("refresh")).await?;
    Ok(Json(Detail { detail: "Successfully logged out.".into() }))
}

/// The caller in their current tenant, with the roles they hold there now.
/// With an API key: `user` is null and `api_key` names the key and its scopes.
#[utoipa::path(get, path = "/api/me/", tag = "auth", security(("bearer" = []), ("api_key" = [])),
    responses((status = 200, body = MeOut), (status = 401, body = Detail)))]
pub async fn me(State(state): State<AppState>, Caller(actor): Caller) -> ApiResult<Json<MeOut>> {
    Ok(Json(MeOut::of(&actor, &state.services.me(&actor))))
}
