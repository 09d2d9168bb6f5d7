//! The Tenantry server: the JSON API, the Leptos pages, sessions, and the CLI around them.

pub mod api;
pub mod cli;
pub mod edge;
pub mod enrolment;
pub mod host;
pub mod http;
pub mod import_cli;
pub mod mail_cli;
pub mod prometheus;
pub mod provision_cli;
pub mod sessions;
pub mod telemetry;
pub mod uploads;
