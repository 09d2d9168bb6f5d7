use axum::extract::FromRef;
use leptos::prelude::LeptosOptions;
use tenantry::service::Services;

/// Everything a request handler or server function needs; provided to server functions as
/// Leptos context by `leptos_routes_with_context`.
#[derive(Clone)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub services: Services,
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}

impl FromRef<AppState> for Services {
    fn from_ref(state: &AppState) -> Self {
        state.services.clone()
    }
}
