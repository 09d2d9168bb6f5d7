//! Passkeys (WebAuthn): the caller's own (list, register, remove), signing in with one alone,
//! and one as the second step of a sign-in. Each ceremony is two calls: options, whose
//! `publicKey` goes to `navigator.credentials.create()` / `.get()` as it is (binary fields in
//! base64url), then the credential the browser returned, as JSON with its binary fields in
//! base64url (what `PublicKeyCredential.toJSON()` gives).

use app::ssr::AppState;
use axum::{
    extract::{Path, State},
    http::StatusCode,
    routing::{delete, get, post},
    Json, Router,
};
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use tenantry::service::{PasskeyChallenge, PasskeyView};
use utoipa::ToSchema;
use uuid::Uuid;

use super::{
    caller::Caller,
    dto::{BadRequestOut, Detail, LoginOut},
    error::ApiResult,
    extract::{HostTenant, JsonObject, Meta},
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/me/passkeys/", get(list).post(register))
        .route("/me/passkeys/options/", post(registration_options))
        .route("/me/passkeys/{id}/", delete(remove))
        .route("/auth/passkey/options/", post(sign_in_options))
        .route("/auth/passkey/", post(sign_in))
        .route("/auth/login/mfa/webauthn/", post(second_factor_options))
}

/// One of the caller's passkeys.
#[derive(Serialize, ToSchema)]
pub struct PasskeyOut {
    id: Uuid,
    #[schema(example = "Laptop")]
    name: String,
    created_at: DateTime<Utc>,
    last_used_at: Option<DateTime<Utc>>,
}

impl From<PasskeyView> for PasskeyOut {
    fn from(view: PasskeyView) -> Self {
        Self { id: view.id, name: view.name, created_at: view.created_at, last_used_at: view.last_used_at }
    }
}

/// A WebAuthn challenge: `publicKey` for the browser, `ceremony` to send back with its answer
/// (single use, 5 minutes).
#[derive(Serialize, ToSchema)]
#[allow(dead_code)]
pub struct CeremonyOut {
    ceremony: String,
    #[serde(rename = "publicKey")]
    #[schema(value_type = Object, example = json!({"challenge": "…", "rp": {"id": "example.com", "name": "Tenantry"}}))]
    public_key: Value,
}

/// The options with the ceremony's token beside them.
fn ceremony_out(challenge: PasskeyChallenge) -> Json<Value> {
    let mut out = challenge.options;
    if let Some(object) = out.as_object_mut() {
        object.insert("ceremony".into(), Value::String(challenge.ceremony));
    }
    Json(out)
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub struct RegisterPasskeyRequest {
    /// From `/api/me/passkeys/options/`.
    ceremony: String,
    /// Up to 64 characters; default "Passkey".
    #[schema(example = "Laptop")]
    name: Option<String>,
    /// The `PublicKeyCredential` from `navigator.credentials.create()`, as JSON.
    #[schema(value_type = Object)]
    credential: Value,
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub struct RemovePasskeyRequest {
    password: String,
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub struct PasskeySignInRequest {
    /// From `/api/auth/passkey/options/`.
    ceremony: String,
    /// The `PublicKeyCredential` from `navigator.credentials.get()`, as JSON.
    #[schema(value_type = Object)]
    credential: Value,
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub struct MfaTokenRequest {
    mfa_token: String,
}

/// The caller's passkeys, oldest first.
#[utoipa::path(get, path = "/api/me/passkeys/", tag = "security", operation_id = "list_passkeys", security(("bearer" = [])),
    responses((status = 200, body = Vec<PasskeyOut>), (status = 401, body = Detail), (status = 403, body = Detail)))]
pub async fn list(State(state): State<AppState>, Caller(actor): Caller) -> ApiResult<Json<Vec<PasskeyOut>>> {
    Ok(Json(state.services.list_passkeys(&actor).await?.into_iter().map(PasskeyOut::from).collect()))
}

/// Starts registering a passkey for the caller: the creation options (the caller's passkeys
/// excluded; a discoverable key with user verification asked for). 409 at 20 passkeys.
#[utoipa::path(post, path = "/api/me/passkeys/options/", tag = "security", operation_id = "passkey_registration_options", security(("bearer" = [])),
    responses((status = 200, body = CeremonyOut), (status = 401, body = Detail), (status = 403, body = Detail), (status = 409, body = Detail),
        (status = 503, description = "Passkeys are not configured on this server (WEBAUTHN_RP_ID)", body = Detail)))]
pub async fn registration_options(State(state): State<AppState>, Caller(actor): Caller) -> ApiResult<Json<Value>> {
    Ok(ceremony_out(state.services.start_passkey_registration(&actor).await?))
}

/// Finishes the registration with the browser's credential → 201 with the passkey. A bad or
/// unverifiable credential is a 400 on `credential`, a spent or expired ceremony on `ceremony`;
/// a credential already registered is a 409.
#[utoipa::path(post, path = "/api/me/passkeys/", tag = "security", operation_id = "register_passkey", security(("bearer" = [])),
    request_body = RegisterPasskeyRequest,
    responses((status = 201, body = PasskeyOut), (status = 400, body = BadRequestOut), (status = 401, body = Detail), (status = 403, body = Detail), (status = 409, body = Detail)))]
pub async fn register(State(state): State<AppState>, Caller(actor): Caller, Meta(meta): Meta, body: JsonObject) -> ApiResult<(StatusCode, Json<PasskeyOut>)> {
    let view = state.services.finish_passkey_registration(&actor, body.raw("ceremony"), body.raw("name"), body.document("credential"), &meta).await?;
    Ok((StatusCode::CREATED, Json(view.into())))
}

/// Removes one of the caller's passkeys; needs the password → 204.
#[utoipa::path(delete, path = "/api/me/passkeys/{id}/", tag = "security", operation_id = "remove_passkey", security(("bearer" = [])),
    params(("id" = Uuid, Path)), request_body = RemovePasskeyRequest,
    responses((status = 204), (status = 400, body = BadRequestOut), (status = 401, body = Detail), (status = 404, body = Detail)))]
pub async fn remove(State(state): State<AppState>, Caller(actor): Caller, Meta(meta): Meta, Path(id): Path<String>, body: JsonObject) -> ApiResult<StatusCode> {
    state.services.remove_passkey(&actor, &id, body.raw("password"), &meta).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Starts a sign-in with a passkey alone (no e-mail: the device offers its passkeys for this
/// site). Counts against the client's sign-in attempts.
#[utoipa::path(post, path = "/api/auth/passkey/options/", tag = "auth", operation_id = "passkey_sign_in_options",
    responses((status = 200, body = CeremonyOut), (status = 429, body = Detail), (status = 503, body = Detail)))]
pub async fn sign_in_options(State(state): State<AppState>, Meta(meta): Meta) -> ApiResult<Json<Value>> {
    Ok(ceremony_out(state.services.start_passkey_sign_in(&meta).await?))
}

/// Signs in with the browser's passkey answer → the login body. No second step follows: a
/// passkey is both factors. An unknown or unverifiable passkey is a 401.
#[utoipa::path(post, path = "/api/auth/passkey/", tag = "auth", operation_id = "passkey_sign_in", request_body = PasskeySignInRequest,
    responses((status = 200, body = LoginOut), (status = 400, body = BadRequestOut), (status = 401, body = Detail), (status = 403, body = Detail), (status = 429, body = Detail)))]
pub async fn sign_in(State(state): State<AppState>, Meta(meta): Meta, HostTenant(host): HostTenant, body: JsonObject) -> ApiResult<Json<LoginOut>> {
    let (profile, pair) = state.services.passkey_sign_in(body.raw("ceremony"), body.document("credential"), host, &meta, true).await?;
    Ok(Json(LoginOut::new(pair.expect("tokens were asked for"), &profile)))
}

/// For a sign-in whose second step is owed (`methods` listed `webauthn`): the request options
/// for the account's passkeys. The answer goes to `/api/auth/login/mfa/` as `webauthn`.
#[utoipa::path(post, path = "/api/auth/login/mfa/webauthn/", tag = "auth", operation_id = "passkey_second_factor_options", request_body = MfaTokenRequest,
    responses((status = 200, description = "`{\"publicKey\": {…}}` for `navigator.credentials.get()`", body = Object), (status = 400, body = BadRequestOut),
        (status = 401, body = Detail), (status = 429, body = Detail)))]
pub async fn second_factor_options(State(state): State<AppState>, Meta(meta): Meta, body: JsonObject) -> ApiResult<Json<Value>> {
    Ok(Json(state.services.passkey_second_factor_options(body.raw("mfa_token"), &meta).await?))
}
