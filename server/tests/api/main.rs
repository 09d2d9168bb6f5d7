//! API tests: the real server on a random port over a fresh database (the backend named by
//! `TENANTRY_TEST_DB`), driven over HTTP with reqwest.

mod audit;
mod auth;
mod invitations;
mod members;
mod provisioning;
mod helpers;
mod roles;
mod security;
mod tenants;
mod users;
