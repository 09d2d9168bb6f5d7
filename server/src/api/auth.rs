use app::ssr::AppState;
use axum::{extract::State, routing::{get, post}, Json, Router};
use serde_json::{json, Value};
use tenantry::service::LoginInput;

use super::{
    caller::Caller,
    dto,
    error::ApiResult,
    extract::{JsonObject, Meta},
};
use crate::rate_limit::RateLimits;

pub fn router(limits: &RateLimits) -> Router<AppState> {
    Router::new()
        .route("/auth/login/", post(login).route_layer(limits.per_ip()))
        .route("/auth/refresh/", post(refresh))
        .route("/auth/logout/", post(logout))
        .route("/me/", get(me))
}

async fn login(State(state): State<AppState>, Meta(meta): Meta, body: JsonObject) -> ApiResult<Json<Value>> {
    let input = LoginInput { email: body.raw_any(&["email", "username"]), password: body.raw("password") };
    let (pair, profile) = state.services.login(input, &meta).await?;
    Ok(Json(dto::login(&pair, &profile)))
}

async fn refresh(State(state): State<AppState>, body: JsonObject) -> ApiResult<Json<Value>> {
    let pair = state.services.refresh(body.raw("refresh")).await?;
    Ok(Json(json!({ "access": pair.access, "refresh": pair.refresh })))
}

async fn logout(State(state): State<AppState>, body: JsonObject) -> ApiResult<Json<Value>> {
    state.services.logout(body.raw("refresh")).await?;
    Ok(Json(json!({ "detail": "Successfully logged out." })))
}

async fn me(State(state): State<AppState>, Caller(actor): Caller) -> ApiResult<Json<Value>> {
    let profile = state.services.me(&actor).await?;
    Ok(Json(dto::me(&profile)))
}
