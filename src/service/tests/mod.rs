//! Service-layer tests: every rule, on the backend named by `TENANTRY_TEST_DB`.

mod api_keys;
mod audit;
mod auth;
mod custom_roles;
mod imports;
mod invitations;
mod list_pages;
mod members;
mod passkeys;
mod password_reset;
mod provisioning;
mod quotas;
mod roles;
mod row_level_security;
mod security;
mod security_policy;
mod signup;
mod tenant_metrics;
mod tenant_provisioning;
mod tenant_scoped_lookups;
mod two_factor;
mod users;
mod webhooks;

use crate::{
    domain::{Role, UserId},
    service::{Actor, CreateUserInput, LoginInput, Raw, RequestMeta, Services, SignUpInput},
    store::Tenant,
};

pub const PASSWORD: &str = "correct horse battery";

/// A moment at which yesterday counts as complete for the metrics roll-ups: now, or, in the
/// first minutes after midnight UTC (when the roll-up still waits for yesterday's last
/// commits), the end of that wait. Tests that roll up "until now" use it so that they do not
/// fail when run just after midnight.
pub fn rollup_moment() -> chrono::DateTime<chrono::Utc> {
    let now = chrono::Utc::now();
    let midnight = now.date_naive().and_hms_opt(0, 0, 0).expect("midnight").and_utc();
    now.max(midnight + chrono::Duration::minutes(crate::service::tenant_metrics::ROLLUP_GRACE_MINUTES + 1))
}

pub fn meta() -> RequestMeta {
    RequestMeta { ip: Some([127, 0, 0, 1].into()), user_agent: Some("tests".into()) }
}

pub fn sign_up_input(name: &str, email: &str) -> SignUpInput {
    SignUpInput {
        name: Raw::text(name),
        admin_email: Raw::text(email),
        admin_password: Raw::text(PASSWORD),
        first_name: Raw::text("Ada"),
        last_name: Raw::Missing,
    }
}

/// A tenant and the actor of its admin.
pub async fn tenant_with_admin(services: &Services, name: &str) -> (Tenant, Actor) {
    let email = format!("admin@{}.example.com", name.to_lowercase().replace(' ', "-"));
    let outcome = services.sign_up(sign_up_input(name, &email), &meta()).await.expect("sign up");
    let actor = services.actor_for(outcome.admin.id, Some(outcome.tenant.id)).await.unwrap().unwrap();
    (outcome.tenant, actor)
}

/// A plain member (no role) of the admin's tenant.
pub async fn member(services: &Services, admin: &Actor, email: &str) -> Actor {
    let input = CreateUserInput { email: Raw::text(email), password: Raw::text(PASSWORD), ..Default::default() };
    let profile = services.create_user(admin, input, &meta()).await.expect("create user");
    services.actor_for(profile.user.id, admin.tenant_id).await.unwrap().unwrap()
}

/// An account that already exists joins the admin's tenant by invitation (accepting with its
/// password), with `role` (`None`: no role).
pub async fn joins_by_invitation(services: &Services, admin: &Actor, email: &str, role: Option<&str>) {
    let invite = crate::service::InviteInput { email: Raw::text(email), role: role.map_or(Raw::Missing, Raw::text) };
    let invite = services.invite(admin, None, invite, &meta()).await.expect("invite");
    let accept = crate::service::AcceptInvitationInput { token: Raw::text(&invite.token), password: Raw::text(PASSWORD), ..Default::default() };
    services.accept_invitation(accept, &meta()).await.expect("accept");
}

pub fn login_input(email: &str, password: &str) -> LoginInput {
    LoginInput { email: Raw::text(email), password: Raw::text(password), tenant: None }
}

pub fn has_role(actor: &Actor, role: Role) -> bool {
    actor.roles.contains(&role.into())
}

pub fn id_of(actor: &Actor) -> UserId {
    actor.user_id
}

/// The token in the link of the newest outbox message of `kind` sent to `to`.
/// Background writes (reset requests) are waited for first.
pub async fn token_mailed_to(services: &Services, kind: &str, to: &str) -> String {
    services.settled().await;
    let mut tx = services.db().read().await.unwrap();
    let outbox = tx.outbox().await.unwrap();
    let stored = outbox.iter().rev().find(|e| e.kind == kind && e.to_address == to).unwrap_or_else(|| panic!("no {kind} mail to {to}"));
    let email = stored.open(services.sealer()).expect("the sealed link opens");
    let link = email.link.clone().expect("the mail has a link");
    assert!(!stored.text_body.contains("token=") && !stored.html_body.contains("token="), "no live link at rest");
    assert!(email.text_body.contains(&link) && email.html_body.contains(&link));
    link.split("token=").nth(1).expect("token in link").to_owned()
}
