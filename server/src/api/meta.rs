use app::ssr::AppState;
use axum::{extract::State, routing::get, Json, Router};
use serde_json::{json, Value};

use super::error::ApiResult;

pub fn router() -> Router<AppState> {
    Router::new().route("/health/", get(health)).route("/timezone/", get(timezone))
}

/// `{"status": "ok"}`, or 503 with the reason when the database does not answer.
async fn health(State(state): State<AppState>) -> ApiResult<Json<Value>> {
    state.services.health().await?;
    Ok(Json(json!({ "status": "ok" })))
}

async fn timezone(State(state): State<AppState>) -> Json<Value> {
    Json(json!({ "timezone": state.services.config().time_zone }))
}
