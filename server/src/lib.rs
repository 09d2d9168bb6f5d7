//! The Tenantry server: the JSON API, the Leptos pages, sessions, and the CLI around them.

pub mod api;
pub mod cli;
pub mod http;
pub mod mail_cli;
pub mod rate_limit;
pub mod sessions;
pub mod telemetry;
