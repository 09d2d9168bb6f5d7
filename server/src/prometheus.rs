//! `GET /metrics` in the Prometheus text format (`METRICS_ENABLED=1`, optionally behind
//! `METRICS_TOKEN`). Counters and histograms are recorded with the `metrics` crate wherever
//! things happen (requests here; sign-ins, rate-limit refusals and deliveries in the core) and
//! rendered by `metrics-exporter-prometheus`; pool and outbox gauges are read at each scrape.
//! With metrics off none of this is installed: the macros in the core record nowhere.

use std::{sync::OnceLock, time::Duration};

use app::ssr::AppState;
use axum::{
    extract::{MatchedPath, Request, State},
    http::{header, HeaderMap, StatusCode},
    middleware::Next,
    response::{IntoResponse, Response},
};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

const REQUESTS: &str = "tenantry_http_requests_total";
const DURATION: &str = "tenantry_http_request_duration_seconds";
const IN_FLIGHT: &str = "tenantry_http_requests_in_flight";

/// Request latency buckets, in seconds.
const BUCKETS: [f64; 14] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

/// The process's recorder, installed once (tests build many apps in one process).
pub fn handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let handle = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Full(DURATION.into()), &BUCKETS)
                .expect("the buckets are not empty")
                .install_recorder()
                .expect("no other metrics recorder is installed");
            describe();
            let upkeep = handle.clone();
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(Duration::from_secs(5)).await;
                    upkeep.run_upkeep();
                }
            });
            handle
        })
        .clone()
}

fn describe() {
    metrics::describe_counter!(REQUESTS, "HTTP requests answered, by method, route template and status.");
    metrics::describe_histogram!(DURATION, metrics::Unit::Seconds, "Time to answer HTTP requests, by method, route template and status.");
    metrics::describe_gauge!(IN_FLIGHT, "HTTP requests being answered now.");
    metrics::describe_gauge!("tenantry_db_pool_connections", "Database connections of each pool, by state (in_use, idle).");
    metrics::describe_gauge!("tenantry_outbox_depth", "Deliveries waiting to be sent, by kind (email, webhook).");
    metrics::describe_gauge!("tenantry_outbox_oldest_pending_age_seconds", "Age of the oldest delivery waiting to be sent, by kind.");
    metrics::describe_counter!("tenantry_delivery_attempts_total", "Delivery attempts, by kind (email, webhook) and outcome (success, failure).");
    metrics::describe_counter!("tenantry_logins_total", "Sign-ins, by outcome (success, failure).");
    metrics::describe_counter!("tenantry_rate_limit_refusals_total", "Requests refused by a rate limit (429).");
}

/// The route template a request matched, carried from the router out to [`track`].
#[derive(Clone)]
struct Route(String);

/// On matched routes only (`Router::route_layer`): notes the route's template on the response.
pub async fn label_route(matched: MatchedPath, request: Request, next: Next) -> Response {
    let route = Route(matched.as_str().to_owned());
    let mut response = next.run(request).await;
    response.extensions_mut().insert(route);
    response
}

/// Around everything: counts requests in flight, and each answer with its latency, labelled by
/// method, route template (`fallback` for static files and pages not found) and status.
pub async fn track(request: Request, next: Next) -> Response {
    let method = request.method().as_str().to_owned();
    let started = std::time::Instant::now();
    metrics::gauge!(IN_FLIGHT).increment(1.0);
    let response = next.run(request).await;
    metrics::gauge!(IN_FLIGHT).decrement(1.0);
    let route = response.extensions().get::<Route>().map_or_else(|| "fallback".to_owned(), |r| r.0.clone());
    let labels = [("method", method), ("route", route), ("status", response.status().as_u16().to_string())];
    metrics::counter!(REQUESTS, &labels).increment(1);
    metrics::histogram!(DURATION, &labels).record(started.elapsed().as_secs_f64());
    response
}

/// `GET /metrics`.
pub async fn scrape(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let authorization = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
    if let Err(error) = state.services.check_metrics_access(authorization) {
        return (StatusCode::UNAUTHORIZED, [(header::WWW_AUTHENTICATE, "Bearer realm=\"metrics\"")], format!("{error}\n")).into_response();
    }
    for (pool, open, idle) in state.services.db().pool_usage() {
        metrics::gauge!("tenantry_db_pool_connections", "pool" => pool, "state" => "idle").set(idle as f64);
        metrics::gauge!("tenantry_db_pool_connections", "pool" => pool, "state" => "in_use").set(open.saturating_sub(idle as u32) as f64);
    }
    match state.services.outbox_backlog().await {
        Ok(kinds) => {
            for (kind, depth, oldest) in kinds {
                metrics::gauge!("tenantry_outbox_depth", "kind" => kind).set(depth as f64);
                metrics::gauge!("tenantry_outbox_oldest_pending_age_seconds", "kind" => kind).set(oldest);
            }
        }
        Err(error) => tracing::warn!(error = %error, "reading the outbox depth for /metrics failed"),
    }
    let handle = handle();
    handle.run_upkeep();
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], handle.render()).into_response()
}
