//! The OpenAPI 3.1 description, assembled from the `#[utoipa::path]` annotations that sit on
//! each handler, served at `/api/openapi.json` with Swagger UI at `/api/docs`.

use utoipa::{
    openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme},
    Modify, OpenApi,
};

use super::{audit, auth, invitations, members, meta, password_reset, permissions, platform, provisioning, roles, tenants, users};

#[derive(OpenApi)]
#[openapi(
    info(title = "Tenantry API", description = "Multi-tenant onboarding and access. Paths, fields and status codes follow the Django service Tenantry replaces."),
    paths(
        meta::health, meta::timezone,
        tenants::sign_up, tenants::list,
        auth::login, auth::refresh, auth::logout, auth::me,
        password_reset::request, password_reset::confirm,
        invitations::invite_into_tenant, invitations::invite, invitations::accept,
        invitations::list, invitations::resend, invitations::revoke,
        users::list, users::create,
        roles::list, roles::assign, roles::revoke, permissions::list,
        members::my_tenants, members::switch_tenant, members::remove_member,
        platform::suspend, platform::reactivate,
        audit::list,
        provisioning::create, provisioning::list, provisioning::read, provisioning::update, provisioning::remove,
    ),
    modifiers(&BearerAuth),
    tags(
        (name = "tenants", description = "Sign-up and tenants"),
        (name = "auth", description = "Tokens and the caller"),
        (name = "users", description = "Members of the caller's tenant"),
        (name = "roles", description = "Role assignments"),
        (name = "invitations", description = "Inviting people and joining by invitation"),
        (name = "meta", description = "Health and configuration"),
        (name = "provisioning", description = "Partner provisioning of tenants"),
        (name = "audit", description = "The audit trail of a tenant"),
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
    }
}
