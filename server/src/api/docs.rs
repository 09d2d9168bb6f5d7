//! The OpenAPI 3.1 description, assembled from the `#[utoipa::path]` annotations that sit on
//! each handler, served at `/api/openapi.json` with Swagger UI at `/api/docs`.

use utoipa::{
    openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme},
    Modify, OpenApi,
};

use super::{api_keys, audit, imports, passkeys, plans, auth, invitations, members, meta, metrics, password_reset, permissions, platform, provisioning, roles, security, tenant_export, tenants, users, webhooks};

#[derive(OpenApi)]
#[openapi(
    info(title = "Tenantry API", description = "Multi-tenant onboarding and access. Paths, fields and status codes follow the Django service Tenantry replaces."),
    paths(
        meta::health, meta::timezone,
        tenants::sign_up, tenants::list, tenants::read, tenants::update, tenants::remove, tenants::restore, tenant_export::export, tenants::set_domain, tenants::check_subdomain,
        auth::login, auth::login_mfa, auth::refresh, auth::logout, auth::me,
        password_reset::request, password_reset::confirm,
        invitations::invite_into_tenant, invitations::invite, invitations::accept,
        invitations::list, invitations::resend, invitations::revoke,
        users::list, users::create, users::add_member,
        imports::bulk, imports::import, imports::job, imports::results,
        roles::list, roles::assign, roles::revoke, permissions::list,
        roles::list_roles, roles::create_role, roles::read_role, roles::update_role, roles::delete_role, roles::change_role,
        members::my_tenants, members::switch_tenant, members::remove_member,
        platform::suspend, platform::reactivate,
        audit::list,
        api_keys::create, api_keys::list, api_keys::revoke,
        plans::list, plans::create, plans::update, plans::usage, plans::set_usage, plans::check, plans::change_plan, plans::features, plans::set_features,
        security::read, security::update, security::change_password, security::start_totp, security::confirm_totp, security::remove_totp,
        passkeys::list, passkeys::registration_options, passkeys::register, passkeys::remove,
        passkeys::sign_in_options, passkeys::sign_in, passkeys::second_factor_options,
        provisioning::create, provisioning::list, provisioning::read, provisioning::update, provisioning::remove, provisioning::templates,
        webhooks::create, webhooks::list, webhooks::events, webhooks::read, webhooks::update, webhooks::remove, webhooks::rotate_secret, webhooks::test,
        webhooks::deliveries, webhooks::retry,
        metrics::tenant_metrics, metrics::analytics,
    ),
    components(schemas(webhooks::WebhookEventPayload)),
    modifiers(&BearerAuth),
    tags(
        (name = "tenants", description = "Sign-up and tenants"),
        (name = "auth", description = "Tokens and the caller"),
        (name = "users", description = "Members of the caller's tenant"),
        (name = "roles", description = "Roles (built-in and custom), permissions and role assignments"),
        (name = "invitations", description = "Inviting people and joining by invitation"),
        (name = "meta", description = "Health and configuration"),
        (name = "provisioning", description = "Partner provisioning of tenants"),
        (name = "audit", description = "The audit trail of a tenant"),
        (name = "api_keys", description = "API keys: a tenant's machine credentials"),
        (name = "plans", description = "Plans, quotas, usage and feature flags"),
        (name = "security", description = "Tenant security policies, and the caller's password, authenticator app and passkeys"),
        (name = "webhooks", description = "Signed event deliveries (Standard Webhooks) to a tenant's or the platform's endpoints"),
        (name = "metrics", description = "Tenant metrics and the platform's analytics"),
    )
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).bearer_format("JWT").build()),
        );
        // An API key (`tnt_…`) goes in `X-API-Key`, or as the bearer token.
        components.add_security_scheme("api_key", SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("X-API-Key"))));
    }
}
