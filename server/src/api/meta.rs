use app::ssr::AppState;
use axum::{extract::State, routing::get, Json, Router};
use serde::Serialize;
use utoipa::ToSchema;

use super::{dto::Detail, error::ApiResult};

pub fn router() -> Router<AppState> {
    Router::new().route("/health/", get(health)).route("/timezone/", get(timezone))
}

#[derive(Serialize, ToSchema)]
pub struct HealthOut {
    #[schema(example = "ok")]
    status: &'static str,
}

#[derive(Serialize, ToSchema)]
pub struct TimezoneOut {
    #[schema(example = "America/Jamaica")]
    timezone: String,
}

/// Liveness and database reachability.
#[utoipa::path(get, path = "/api/health/", tag = "meta",
    responses((status = 200, body = HealthOut), (status = 503, description = "The database does not answer", body = Detail)))]
pub async fn health(State(state): State<AppState>) -> ApiResult<Json<HealthOut>> {
    state.services.health().await?;
    Ok(Json(HealthOut { status: "ok" }))
}

/// The service's configured time zone (`TIME_ZONE`).
#[utoipa::path(get, path = "/api/timezone/", tag = "meta", responses((status = 200, body = TimezoneOut)))]
pub async fn timezone(State(state): State<AppState>) -> Json<TimezoneOut> {
    Json(TimezoneOut { timezone: state.services.config().time_zone.clone() })
}
