//! Assembles the whole HTTP application: JSON API under `/api`, Leptos pages and server
//! functions, static files, sessions, request ids and tracing.

use app::{shell, ssr::AppState, App};
use axum::{
    http::{header, HeaderName, HeaderValue, Request},
    Router,
};
use leptos::prelude::LeptosOptions;
use leptos_axum::{generate_route_list, AxumRouteListing, LeptosRoutes};
use tenantry::service::Services;
use tower::ServiceBuilder;
use tower_http::{
    compression::CompressionLayer,
    request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer},
    set_header::SetResponseHeaderLayer,
    trace::TraceLayer,
};
use tower_sessions::{cookie::SameSite, Expiry, SessionManagerLayer};

use crate::{api, edge::{self, Edge}, sessions::DbSessionStore};

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The pages' routes, listed once per process. Listing them renders the app with resource loads
/// switched off by a process-wide flag (leptos_router's `generate_route_list` holds
/// leptos_server's `SuppressResourceLoad` meanwhile), so a page rendering at that moment in the
/// same process leaves its resources pending for ever and its response never comes. A server
/// builds its router once, before serving; the tests build one per test, in parallel, and hung
/// about one page in a few hundred before the list was kept here.
fn page_routes() -> Vec<AxumRouteListing> {
    static ROUTES: std::sync::OnceLock<Vec<AxumRouteListing>> = std::sync::OnceLock::new();
    ROUTES.get_or_init(|| generate_route_list(App)).clone()
}

pub async fn build(services: Services, leptos_options: LeptosOptions) -> anyhow::Result<Router> {
    let config = services.config().clone();
    let store = DbSessionStore::new(services.db());
    store.spawn_cleanup();
    let sessions = SessionManagerLayer::new(store)
        .with_name("tenantry_session")
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_secure(config.secure_cookies)
        .with_expiry(Expiry::OnInactivity(time::Duration::days(14)));
    let edge = Edge::new(&config);
    let state = AppState { leptos_options: leptos_options.clone(), services };

    let routes = page_routes();
    let pages = Router::new()
        .leptos_routes_with_context(&state, routes, || (), {
            let options = leptos_options.clone();
            move || shell(options.clone())
        })
        // Only on the pages' own routes (not static files): members held back by require_2fa
        // are sent to enrol.
        .route_layer(axum::middleware::from_fn_with_state(state.clone(), crate::enrolment::send_to_enrolment))
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(shell))
        // Hashed file names are not used, so keep caches for a day and let them revalidate.
        .layer(SetResponseHeaderLayer::if_not_present(header::CACHE_CONTROL, |response: &axum::http::Response<_>| {
            let is_static = response
                .headers()
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|ct| ct.starts_with("text/css") || ct.starts_with("application/wasm") || ct.contains("javascript") || ct.starts_with("image/"));
            is_static.then(|| HeaderValue::from_static("public, max-age=86400, stale-while-revalidate=604800"))
        }));

    let mut app = Router::new()
        .merge(api::docs())
        .nest("/api", api::router())
        .route("/brand.css", axum::routing::get(crate::uploads::brand_css))
        .route(
            "/platform/bulk/upload",
            axum::routing::post(crate::uploads::bulk_tenants).layer(axum::extract::DefaultBodyLimit::max(api::UPLOAD_LIMIT)),
        )
        .route(
            "/import/upload",
            axum::routing::post(crate::uploads::import).layer(axum::extract::DefaultBodyLimit::max(api::UPLOAD_LIMIT)),
        )
        .merge(pages);
    if config.metrics_enabled {
        crate::prometheus::handle();
        app = app.route("/metrics", axum::routing::get(crate::prometheus::scrape)).route_layer(axum::middleware::from_fn(crate::prometheus::label_route));
    }
    let app = app
        .layer(sessions)
        .layer(axum::middleware::from_fn_with_state(state.clone(), crate::host::resolve_host_tenant))
        .with_state(state)
        .layer(
            ServiceBuilder::new()
                .layer(axum::middleware::from_fn_with_state(edge.clone(), edge::resolve_client_ip))
                .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
                .layer(
                    TraceLayer::new_for_http().make_span_with(|request: &Request<_>| {
                        let id = request.headers().get(REQUEST_ID).and_then(|v| v.to_str().ok()).unwrap_or("-");
                        tracing::info_span!("request", request_id = %id, method = %request.method(), path = %request.uri().path())
                    }),
                )
                .layer(PropagateRequestIdLayer::new(REQUEST_ID))
                .layer(axum::middleware::from_fn_with_state(edge.clone(), edge::security_headers))
                .layer(CompressionLayer::new())
                .layer(axum::middleware::from_fn_with_state(edge, edge::refuse_cross_site)),
        );
    // Outermost, so that every answer is counted, refusals included.
    Ok(if config.metrics_enabled { app.layer(axum::middleware::from_fn(crate::prometheus::track)) } else { app })
}

