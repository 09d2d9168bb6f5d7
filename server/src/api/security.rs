//! A tenant's security policy, and the caller's own password.

use app::ssr::AppState;
use axum::{
    extract::{Path, State},
    http::StatusCode,
    routing::{get, post},
    Json, Router,
};
use serde_json::Value;
use tenantry::domain::{SecurityPolicy, UserId};
use tower_sessions::Session;
use utoipa::ToSchema;

use super::{
    caller::Caller,
    dto::{BadRequestOut, Detail},
    error::{ApiError, ApiResult},
    extract::{JsonObject, Meta},
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/tenants/{tenant_id}/security-policy/", get(read).put(update))
        .route("/me/password/", post(change_password))
        .route("/me/2fa/totp/", post(start_totp).delete(remove_totp))
        .route("/me/2fa/totp/confirm/", post(confirm_totp))
}

/// What a new password must be in this tenant, on top of the global rules.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct PasswordPolicyOut {
    /// 8–128.
    #[schema(example = 12)]
    min_length: u32,
    require_uppercase: bool,
    require_lowercase: bool,
    require_numbers: bool,
    require_symbols: bool,
    /// How many of the last passwords may not be used again: 0–24.
    #[schema(example = 5)]
    password_history: u32,
}

/// A tenant's security policy. The defaults (min 8, no classes, no history, no timeout, no
/// network limits, no 2FA) are the behaviour of a tenant that never set one. A `GET` answer
/// can be sent back as a `PUT`; fields left out of a `PUT` keep their value.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct SecurityPolicyOut {
    password_policy: PasswordPolicyOut,
    /// Idle minutes (5–43,200) after which a session or refresh token of the tenant ends;
    /// `null`: the global token lifetimes.
    #[schema(example = 240)]
    session_timeout_minutes: Option<u32>,
    /// IPv4 and IPv6 CIDR ranges requests must come from; `[]`: anywhere.
    #[schema(example = json!(["192.168.1.0/24", "10.0.0.0/8"]))]
    allowed_ip_ranges: Vec<String>,
    /// Not available yet on this server: `true` is refused.
    require_2fa: bool,
}

/// A `PUT` body: any fields of the policy, and `confirm_lockout` to save a network list that
/// excludes the caller's own address.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct SecurityPolicyRequest {
    password_policy: Option<PasswordPolicyOut>,
    session_timeout_minutes: Option<u32>,
    allowed_ip_ranges: Option<Vec<String>>,
    require_2fa: Option<bool>,
    confirm_lockout: Option<bool>,
}

fn shown(policy: &SecurityPolicy) -> Json<Value> {
    Json(policy.to_json())
}

/// The tenant's security policy. Its members (`tenant:read`); a superuser.
#[utoipa::path(get, path = "/api/tenants/{tenant_id}/security-policy/", tag = "security", operation_id = "read_security_policy",
    security(("bearer" = []), ("api_key" = [])), params(("tenant_id" = uuid::Uuid, Path)),
    responses((status = 200, body = SecurityPolicyOut), (status = 401, body = Detail), (status = 403, body = Detail), (status = 404, body = Detail)))]
pub async fn read(State(state): State<AppState>, Caller(actor): Caller, Path(tenant_id): Path<String>) -> ApiResult<Json<Value>> {
    Ok(shown(&state.services.security_policy(&actor, super::extract::tenant_path(&tenant_id)?).await?))
}

/// Changes the tenant's security policy (the fields given; every bad one reported at once).
/// `security:manage` (ADMIN). Audited as `security_policy_changed` with before and after.
#[utoipa::path(put, path = "/api/tenants/{tenant_id}/security-policy/", tag = "security", operation_id = "update_security_policy",
    security(("bearer" = []), ("api_key" = [])), params(("tenant_id" = uuid::Uuid, Path)), request_body = SecurityPolicyRequest,
    responses((status = 200, body = SecurityPolicyOut), (status = 400, body = BadRequestOut), (status = 401, body = Detail), (status = 403, body = Detail),
        (status = 404, body = Detail)))]
pub async fn update(State(state): State<AppState>, Caller(actor): Caller, Meta(meta): Meta, Path(tenant_id): Path<String>, body: JsonObject) -> ApiResult<Json<Value>> {
    let tenant = super::extract::tenant_path(&tenant_id)?;
    Ok(shown(&state.services.set_security_policy(&actor, tenant, &Value::Object(body.0), &meta).await?))
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub struct PasswordChangeRequest {
    current_password: String,
    /// Must meet the strictest password policy of the caller's tenants, and not be one of the
    /// passwords their history keeps.
    new_password: String,
}

/// Changes the caller's own password. Ends every other session, access and refresh token of
/// the account; a browser session making the change stays signed in (a token caller signs in
/// again). A wrong current password is a 400 on `current_password`, rate-limited per account.
#[utoipa::path(post, path = "/api/me/password/", tag = "security", operation_id = "change_password",
    security(("bearer" = [])), request_body = PasswordChangeRequest,
    responses((status = 204), (status = 400, body = BadRequestOut), (status = 401, body = Detail), (status = 403, body = Detail), (status = 429, body = Detail)))]
pub async fn change_password(State(state): State<AppState>, Caller(actor): Caller, Meta(meta): Meta, session: Session, body: JsonObject) -> ApiResult<StatusCode> {
    let version = state.services.change_password(&actor, body.raw("current_password"), body.raw("new_password"), &meta).await?;
    // The browser session that made the change (not merely one that exists beside a token).
    let signed_in: Option<UserId> = session.get(app::ssr::SESSION_USER).await.ok().flatten();
    if signed_in == Some(actor.user_id) && actor.api_key.is_none() {
        app::ssr::keep_session_after_password_change(&session, version).await.map_err(|e| ApiError(tenantry::ServiceError::Internal(e)))?;
    }
    Ok(StatusCode::NO_CONTENT)
}

/// A TOTP secret to add to an authenticator app (not on until confirmed with a code).
#[derive(serde::Serialize, ToSchema)]
pub struct TotpEnrolmentOut {
    #[schema(example = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP")]
    secret: String,
    #[schema(example = "otpauth://totp/Tenantry:ada%40acme.com?secret=JBSW…&issuer=Tenantry&algorithm=SHA1&digits=6&period=30")]
    otpauth_uri: String,
}

#[derive(serde::Serialize, ToSchema)]
pub struct RecoveryCodesOut {
    /// Ten one-time codes, shown this once (only their hashes are kept).
    recovery_codes: Vec<String>,
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub struct CodeRequest {
    #[schema(example = "287082")]
    code: String,
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub struct RemoveTotpRequest {
    password: String,
    /// A current code (or a recovery code).
    code: String,
}

/// Starts TOTP set-up for the caller: the secret and its `otpauth://` URI. 409 when it is on
/// already (remove it first); an unconfirmed set-up is replaced.
#[utoipa::path(post, path = "/api/me/2fa/totp/", tag = "security", operation_id = "start_totp", security(("bearer" = [])),
    responses((status = 200, body = TotpEnrolmentOut), (status = 401, body = Detail), (status = 403, body = Detail), (status = 409, body = Detail)))]
pub async fn start_totp(State(state): State<AppState>, Caller(actor): Caller) -> ApiResult<Json<TotpEnrolmentOut>> {
    let enrolment = state.services.start_totp(&actor).await?;
    Ok(Json(TotpEnrolmentOut { secret: enrolment.secret, otpauth_uri: enrolment.otpauth_uri }))
}

/// Turns TOTP on with a first code from the app; answers the ten recovery codes once.
#[utoipa::path(post, path = "/api/me/2fa/totp/confirm/", tag = "security", operation_id = "confirm_totp", security(("bearer" = [])),
    request_body = CodeRequest,
    responses((status = 200, body = RecoveryCodesOut), (status = 400, body = BadRequestOut), (status = 401, body = Detail), (status = 409, body = Detail)))]
pub async fn confirm_totp(State(state): State<AppState>, Caller(actor): Caller, Meta(meta): Meta, body: JsonObject) -> ApiResult<Json<RecoveryCodesOut>> {
    let recovery_codes = state.services.confirm_totp(&actor, body.raw("code"), &meta).await?;
    Ok(Json(RecoveryCodesOut { recovery_codes }))
}

/// Turns TOTP off: the password and a current code (or a recovery code) → 204.
#[utoipa::path(delete, path = "/api/me/2fa/totp/", tag = "security", operation_id = "remove_totp", security(("bearer" = [])),
    request_body = RemoveTotpRequest,
    responses((status = 204), (status = 400, body = BadRequestOut), (status = 401, body = Detail), (status = 404, body = Detail)))]
pub async fn remove_totp(State(state): State<AppState>, Caller(actor): Caller, Meta(meta): Meta, body: JsonObject) -> ApiResult<StatusCode> {
    state.services.remove_totp(&actor, body.raw("password"), body.raw("code"), &meta).await?;
    Ok(StatusCode::NO_CONTENT)
}
