//! `/api/webhooks/`: signed event deliveries to a tenant's (or the platform's) endpoints.

use std::collections::HashMap;

use app::ssr::AppState;
use axum::{
    extract::{Path, Query, State},
    http::StatusCode,
    response::IntoResponse,
    routing::{get, post},
    Json, Router,
};
use serde::Serialize;
use tenantry::{
    service::{parse_flag, WebhookInput},
    store::{Delivery, Webhook},
};
use utoipa::ToSchema;
use uuid::Uuid;

use super::{
    caller::Caller,
    dto::{self, BadRequestOut, Detail, PageOut},
    error::{ApiError, ApiResult},
    extract::{JsonObject, Meta, Pagination},
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/webhooks/", get(list).post(create))
        .route("/webhooks/events/", get(events))
        .route("/webhooks/{id}/", get(read).patch(update).delete(remove))
        .route("/webhooks/{id}/rotate-secret/", post(rotate_secret))
        .route("/webhooks/{id}/test/", post(test))
        .route("/webhooks/{id}/deliveries/", get(deliveries))
        .route("/webhooks/{id}/deliveries/{delivery_id}/retry/", post(retry))
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub struct WebhookRequest {
    /// `https://…` (`http://` only with `WEBHOOK_ALLOW_HTTP=1`). Loopback, private and
    /// link-local targets are refused unless `WEBHOOK_ALLOW_PRIVATE=1`; cloud metadata
    /// addresses always.
    #[schema(example = "https://hooks.example.com/tenantry", max_length = 2000)]
    url: String,
    /// Event names from `GET /api/webhooks/events/`, a group (`member.*`), or `["*"]`.
    #[schema(example = json!(["member.joined", "member.removed"]), min_items = 1)]
    events: Vec<String>,
    #[schema(max_length = 500)]
    description: Option<String>,
    /// Default `true`.
    active: Option<bool>,
    /// A platform endpoint (superusers): it receives the `tenant.*` events of every tenant.
    platform: Option<bool>,
}

/// An endpoint: never its secret (that is shown once, by create and rotate-secret).
#[derive(Serialize, ToSchema)]
pub struct WebhookOut {
    pub id: Uuid,
    /// `null`: a platform endpoint.
    pub tenant_id: Option<Uuid>,
    pub url: String,
    pub description: String,
    #[schema(example = json!(["member.joined"]))]
    pub events: Vec<String>,
    pub active: bool,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub updated_at: String,
    /// When and why the endpoint was switched off after its deliveries kept failing.
    #[schema(format = DateTime)]
    pub disabled_at: Option<String>,
    pub disabled_reason: Option<String>,
    /// Until when the secret replaced by the last rotation still signs too.
    #[schema(format = DateTime)]
    pub previous_secret_expires_at: Option<String>,
}

impl From<&Webhook> for WebhookOut {
    fn from(hook: &Webhook) -> Self {
        Self {
            id: hook.id,
            tenant_id: hook.tenant_id.map(|t| t.0),
            url: hook.url.clone(),
            description: hook.description.clone(),
            events: hook.events.0.to_list(),
            active: hook.active,
            created_at: hook.created_at.to_rfc3339(),
            updated_at: hook.updated_at.to_rfc3339(),
            disabled_at: hook.disabled_at.map(|t| t.to_rfc3339()),
            disabled_reason: hook.disabled_reason.clone(),
            previous_secret_expires_at: hook.previous_secret_expires_at.filter(|t| *t > chrono::Utc::now()).map(|t| t.to_rfc3339()),
        }
    }
}

/// An endpoint just made (or its secret just rotated): `secret` is shown this once.
#[derive(Serialize, ToSchema)]
pub struct WebhookCreatedOut {
    #[serde(flatten)]
    pub webhook: WebhookOut,
    /// `whsec_` + base64, as the Standard Webhooks specification formats it: verify
    /// `Webhook-Signature` with it. Store it now; it is not shown again.
    #[schema(example = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")]
    pub secret: String,
}

/// One attempt of a delivery (never the response body).
#[derive(Serialize, ToSchema)]
pub struct AttemptOut {
    #[schema(format = DateTime)]
    pub at: String,
    /// The HTTP status the endpoint answered; `null` when it did not answer.
    pub status_code: Option<i32>,
    pub duration_ms: i64,
    pub error: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct DeliveryOut {
    pub id: Uuid,
    /// The event's id: the `Webhook-Id` header and the body's `id`, the same on every attempt.
    pub event_id: Uuid,
    #[schema(example = "member.joined")]
    pub event_type: String,
    /// `pending` (waiting or retrying), `succeeded`, or `failed` (given up).
    #[schema(example = "succeeded")]
    pub status: String,
    pub attempts: i32,
    pub last_status_code: Option<i32>,
    pub last_error: Option<String>,
    pub last_duration_ms: Option<i32>,
    /// The latest attempts, oldest first (at most 20).
    pub attempt_log: Vec<AttemptOut>,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub completed_at: Option<String>,
}

impl From<&Delivery> for DeliveryOut {
    fn from(d: &Delivery) -> Self {
        Self {
            id: d.id,
            event_id: d.event_id,
            event_type: d.event_type.clone(),
            status: d.status.clone(),
            attempts: d.attempts,
            last_status_code: d.last_status,
            last_error: d.last_error.clone(),
            last_duration_ms: d.last_duration_ms,
            attempt_log: d
                .attempt_log
                .0
                .iter()
                .map(|a| AttemptOut { at: a.at.to_rfc3339(), status_code: a.status, duration_ms: a.duration_ms, error: a.error.clone() })
                .collect(),
            created_at: d.created_at.to_rfc3339(),
            completed_at: d.completed_at.map(|t| t.to_rfc3339()),
        }
    }
}

/// What each delivery `POST`s to an endpoint (documentation only), with the headers
/// `Webhook-Id` (the event id), `Webhook-Timestamp` (Unix seconds) and `Webhook-Signature`
/// (`v1,<base64 HMAC-SHA256 of "id.timestamp.body">`, one entry per signing secret), as the
/// Standard Webhooks specification defines them.
#[derive(ToSchema)]
#[allow(dead_code)]
#[schema(example = json!({"id": "0b7d5a0e-2a55-4a7c-9d77-1f0f4d9a3c11", "type": "member.joined", "created_at": "2026-12-04T10:00:00.123456Z",
    "tenant_id": "5f0c…", "data": {"email": "bob@acme.test", "user_id": "9a1e…", "role": "VIEWER", "invitation_id": "c3d2…",
    "actor": {"type": "user", "id": "9a1e…", "email": "bob@acme.test"}}}))]
pub struct WebhookEventPayload {
    /// The event's id: the same on every attempt, for deduplication.
    id: Uuid,
    /// One of `GET /api/webhooks/events/`, or `ping`.
    #[schema(example = "member.joined")]
    r#type: String,
    #[schema(format = DateTime)]
    created_at: String,
    /// `null` only for a ping to a platform endpoint.
    tenant_id: Option<Uuid>,
    /// The event's details (see the README's table) and `actor`: `{"type": "user", "id",
    /// "email"}`, `{"type": "api_key", "id", "name"}`, or `null` for the system.
    data: Object,
}

/// Any JSON object (documentation only).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct Object {}

#[derive(Serialize, ToSchema)]
pub struct EventTypeOut {
    #[schema(example = "member.joined")]
    pub name: String,
    pub description: String,
}

fn input(body: &JsonObject) -> WebhookInput {
    WebhookInput { url: body.raw("url"), events: body.raw_list("events"), description: body.raw("description"), active: body.flag("active"), platform: body.flag("platform") }
}

/// Makes an endpoint. `tenant:write` (tenant ADMINs); with `"platform": true`, a superuser
/// makes a platform endpoint. The signing secret is in `secret`, this once.
#[utoipa::path(post, path = "/api/webhooks/", tag = "webhooks", operation_id = "create_webhook", security(("bearer" = []), ("api_key" = [])), request_body = WebhookRequest,
    responses(
        (status = 201, body = WebhookCreatedOut),
        (status = 400, body = BadRequestOut),
        (status = 401, body = Detail),
        (status = 403, body = Detail),
        (status = 409, description = "The owner already has 50 endpoints", body = Detail),
    ))]
pub async fn create(State(state): State<AppState>, Caller(actor): Caller, Meta(meta): Meta, body: JsonObject) -> ApiResult<impl IntoResponse> {
    let issued = state.services.create_webhook(&actor, input(&body), &meta).await?;
    Ok(dto::created(WebhookCreatedOut { webhook: WebhookOut::from(&issued.webhook), secret: issued.secret }))
}

/// The tenant's endpoints, oldest first; `?platform=true` (superusers) lists the platform's.
/// `tenant:write`.
#[utoipa::path(get, path = "/api/webhooks/", tag = "webhooks", operation_id = "list_webhooks", security(("bearer" = []), ("api_key" = [])),
    params(("platform" = Option<bool>, Query, description = "The platform's endpoints (superusers)")),
    responses((status = 200, body = PageOut<WebhookOut>), (status = 400, body = dto::FieldErrorsOut), (status = 401, body = Detail), (status = 403, body = Detail)))]
pub async fn list(State(state): State<AppState>, Caller(actor): Caller, Query(query): Query<HashMap<String, String>>) -> ApiResult<Json<PageOut<WebhookOut>>> {
    let platform = match query.get("platform") {
        Some(raw) => parse_flag(raw).map_err(|m| ApiError(tenantry::ServiceError::field("platform", m)))?,
        None => false,
    };
    let hooks = state.services.list_webhooks(&actor, platform).await?;
    let results: Vec<WebhookOut> = hooks.iter().map(WebhookOut::from).collect();
    Ok(Json(PageOut { count: results.len() as i64, next: None, previous: None, results }))
}

/// The events an endpoint can subscribe to.
#[utoipa::path(get, path = "/api/webhooks/events/", tag = "webhooks", operation_id = "webhook_events", security(("bearer" = []), ("api_key" = [])),
    responses((status = 200, body = Vec<EventTypeOut>), (status = 401, body = Detail)))]
pub async fn events(State(state): State<AppState>, Caller(_actor): Caller) -> Json<Vec<EventTypeOut>> {
    Json(state.services.webhook_event_catalogue().into_iter().map(|e| EventTypeOut { name: e.as_str().to_owned(), description: e.description().to_owned() }).collect())
}

#[utoipa::path(get, path = "/api/webhooks/{id}/", tag = "webhooks", operation_id = "read_webhook", security(("bearer" = []), ("api_key" = [])),
    params(("id" = Uuid, Path)),
    responses((status = 200, body = WebhookOut), (status = 401, body = Detail), (status = 403, body = Detail), (status = 404, body = Detail)))]
pub async fn read(State(state): State<AppState>, Caller(actor): Caller, Path(id): Path<String>) -> ApiResult<Json<WebhookOut>> {
    Ok(Json(WebhookOut::from(&state.services.webhook(&actor, &id).await?)))
}

/// Changes an endpoint; fields left out stay. `"active": true` switches a disabled endpoint on
/// again: what queued meanwhile is delivered, in order.
#[utoipa::path(patch, path = "/api/webhooks/{id}/", tag = "webhooks", operation_id = "update_webhook", security(("bearer" = []), ("api_key" = [])),
    params(("id" = Uuid, Path)), request_body = WebhookRequest,
    responses((status = 200, body = WebhookOut), (status = 400, body = BadRequestOut), (status = 401, body = Detail), (status = 403, body = Detail), (status = 404, body = Detail)))]
pub async fn update(State(state): State<AppState>, Caller(actor): Caller, Meta(meta): Meta, Path(id): Path<String>, body: JsonObject) -> ApiResult<Json<WebhookOut>> {
    Ok(Json(WebhookOut::from(&state.services.update_webhook(&actor, &id, input(&body), &meta).await?)))
}

/// Deletes an endpoint and its deliveries.
#[utoipa::path(delete, path = "/api/webhooks/{id}/", tag = "webhooks", operation_id = "delete_webhook", security(("bearer" = []), ("api_key" = [])),
    params(("id" = Uuid, Path)),
    responses((status = 204), (status = 401, body = Detail), (status = 403, body = Detail), (status = 404, body = Detail)))]
pub async fn remove(State(state): State<AppState>, Caller(actor): Caller, Meta(meta): Meta, Path(id): Path<String>) -> ApiResult<StatusCode> {
    state.services.delete_webhook(&actor, &id, &meta).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A new signing secret, in `secret` this once; the old one keeps signing for 24 hours, so
/// deliveries carry both signatures meanwhile.
#[utoipa::path(post, path = "/api/webhooks/{id}/rotate-secret/", tag = "webhooks", operation_id = "rotate_webhook_secret", security(("bearer" = []), ("api_key" = [])),
    params(("id" = Uuid, Path)),
    responses((status = 200, body = WebhookCreatedOut), (status = 401, body = Detail), (status = 403, body = Detail), (status = 404, body = Detail)))]
pub async fn rotate_secret(State(state): State<AppState>, Caller(actor): Caller, Meta(meta): Meta, Path(id): Path<String>) -> ApiResult<Json<WebhookCreatedOut>> {
    let issued = state.services.rotate_webhook_secret(&actor, &id, &meta).await?;
    Ok(Json(WebhookCreatedOut { webhook: WebhookOut::from(&issued.webhook), secret: issued.secret }))
}

/// Sends a `ping` event to this endpoint (after what it already has queued).
#[utoipa::path(post, path = "/api/webhooks/{id}/test/", tag = "webhooks", operation_id = "test_webhook", security(("bearer" = []), ("api_key" = [])),
    params(("id" = Uuid, Path)),
    responses((status = 202, body = DeliveryOut), (status = 401, body = Detail), (status = 403, body = Detail), (status = 404, body = Detail),
        (status = 409, description = "The endpoint is switched off", body = Detail)))]
pub async fn test(State(state): State<AppState>, Caller(actor): Caller, Path(id): Path<String>) -> ApiResult<impl IntoResponse> {
    let delivery = state.services.test_webhook(&actor, &id).await?;
    Ok((StatusCode::ACCEPTED, Json(DeliveryOut::from(&delivery))))
}

/// The endpoint's deliveries, newest first, 100 a page.
#[utoipa::path(get, path = "/api/webhooks/{id}/deliveries/", tag = "webhooks", operation_id = "webhook_deliveries", security(("bearer" = []), ("api_key" = [])),
    params(("id" = Uuid, Path), ("page" = Option<u32>, Query, minimum = 1)),
    responses((status = 200, body = PageOut<DeliveryOut>), (status = 401, body = Detail), (status = 403, body = Detail), (status = 404, body = Detail)))]
pub async fn deliveries(State(state): State<AppState>, Caller(actor): Caller, Path(id): Path<String>, pagination: Pagination) -> ApiResult<Json<PageOut<DeliveryOut>>> {
    let page = state.services.webhook_deliveries(&actor, &id, pagination.request).await?;
    Ok(dto::page(&page, &pagination, |d| DeliveryOut::from(d)))
}

/// Sends a delivery again: pending from now, with three more days to succeed in (one still
/// pending is tried now instead of after its backoff).
#[utoipa::path(post, path = "/api/webhooks/{id}/deliveries/{delivery_id}/retry/", tag = "webhooks", operation_id = "retry_webhook_delivery", security(("bearer" = []), ("api_key" = [])),
    params(("id" = Uuid, Path), ("delivery_id" = Uuid, Path)),
    responses((status = 202, body = DeliveryOut), (status = 401, body = Detail), (status = 403, body = Detail), (status = 404, body = Detail)))]
pub async fn retry(State(state): State<AppState>, Caller(actor): Caller, Meta(meta): Meta, Path((id, delivery_id)): Path<(String, String)>) -> ApiResult<impl IntoResponse> {
    let delivery = state.services.retry_webhook_delivery(&actor, &id, &delivery_id, &meta).await?;
    Ok((StatusCode::ACCEPTED, Json(DeliveryOut::from(&delivery))))
}
