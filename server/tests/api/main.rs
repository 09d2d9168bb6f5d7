//! API tests: the real server on a random port over a fresh database (the backend named by
//! `TENANTRY_TEST_DB`), driven over HTTP with reqwest.

mod api_keys;
mod audit;
mod custom_roles;
mod imports;
mod auth;
mod fuzz;
mod invitations;
mod members;
mod pages;
mod passkeys;
mod plans;
mod provisioning;
mod helpers;
mod roles;
mod security;
mod security_policy;
mod two_factor;
mod tenants;
mod tenant_provisioning;
mod users;
mod webhooks;
