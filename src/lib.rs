//! Tenantry core: everything that is not HTTP or HTML.
//!
//! Data flows one way: the server crate (JSON API, CLI) and the app crate (server functions)
//! call [`service`], which alone decides who may do what, validates input, and talks to
//! [`store`] (SQL) inside one transaction per call.

pub mod auth;
pub mod backoff;
pub mod config;
pub mod domain;
pub mod error;
pub mod mail;
pub mod service;
pub mod store;
pub mod webhooks;
#[cfg(any(test, feature = "testing"))]
pub mod testing;

pub use error::{FieldErrors, Refusal, ServiceError, ServiceResult};
