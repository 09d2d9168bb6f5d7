//! Structured logs. Every line of a request carries its request id (set by `http`).
//! Secrets never reach a log line: requests are logged by method, path and status only.

use tracing_subscriber::{fmt, prelude::*, EnvFilter};

pub fn init() {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_sessions=warn,leptos=warn"));
    let json = std::env::var("LOG_FORMAT").map(|f| f.eq_ignore_ascii_case("json")).unwrap_or(false);
    let registry = tracing_subscriber::registry().with(filter);
    if json {
        let _ = registry.with(fmt::layer().json().with_current_span(true)).try_init();
    } else {
        let _ = registry.with(fmt::layer().with_target(false)).try_init();
    }
}
