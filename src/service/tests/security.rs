//! The findings of the outside review (issue 15), each as the rule that now holds.

use super::*;
use crate::{
    service::{AcceptInvitationInput, InviteInput},
    store::PageRequest,
    testing, ServiceError,
};

fn from(ip: [u8; 4]) -> RequestMeta {
    RequestMeta { ip: Some(ip.into()), user_agent: Some("tests".into()) }
}

fn is_throttled<T: std::fmt::Debug>(result: &Result<T, ServiceError>) -> bool {
    matches!(result, Err(ServiceError::RateLimited { retry_after_secs }) if *retry_after_secs >= 1)
}

async fn invite(services: &Services, admin: &Actor, email: &str) -> String {
    let input = InviteInput { email: Raw::text(email), role: Raw::text("VIEWER") };
    services.invite(admin, None, input, &meta()).await.expect("invite").token
}

fn accept(token: &str, password: &str) -> AcceptInvitationInput {
    AcceptInvitationInput { token: Raw::text(token), password: Raw::text(password), ..Default::default() }
}

async fn actions(services: &Services, tenant: crate::domain::TenantId) -> Vec<crate::domain::AuditAction> {
    services.settled().await;
    services.db().read().await.unwrap().audit_actions(tenant).await.unwrap()
}

async fn mails(services: &Services, kind: &str, to: &str) -> usize {
    services.settled().await;
    let outbox = services.db().read().await.unwrap().outbox().await.unwrap();
    outbox.iter().filter(|e| e.kind == kind && e.to_address == to).count()
}

#[tokio::test]
async fn an_invitation_token_is_spent_after_five_wrong_passwords_for_an_existing_account() {
    let services = testing::services().await;
    let (victim_tenant, _) = tenant_with_admin(&services, "Victim").await;
    let (attacker_tenant, attacker) = tenant_with_admin(&services, "Attacker").await;
    // The attacker invites the victim's address and holds the token from the API answer.
    let token = invite(&services, &attacker, "admin@victim.example.com").await;
    for attempt in 1..=4 {
        let error = services.accept_invitation(accept(&token, &format!("guess number {attempt}")), &meta()).await.unwrap_err();
        assert!(matches!(&error, ServiceError::Validation(f) if f.get("password").is_some()), "{error:?}");
    }
    let fifth = services.accept_invitation(accept(&token, "guess number 5"), &meta()).await.unwrap_err();
    assert!(matches!(&fifth, ServiceError::Gone { fields, .. } if fields.get("token").is_some()), "{fifth:?}");
    // Spent: even the right password no longer works with it.
    let right = services.accept_invitation(accept(&token, PASSWORD), &meta()).await.unwrap_err();
    assert!(matches!(&right, ServiceError::Gone { .. }), "{right:?}");
    // The victim's own tenant sees every failed check; the inviting tenant sees the lock.
    let seen = actions(&services, victim_tenant.id).await;
    assert_eq!(seen.iter().filter(|a| *a == "invitation_password_failed").count(), 5, "{seen:?}");
    assert!(actions(&services, attacker_tenant.id).await.contains(&crate::domain::AuditAction::InvitationLocked));
}

#[tokio::test]
async fn wrong_passwords_on_every_path_share_one_per_account_limit() {
    let services = testing::services_with(&[("RATE_LIMIT_DISABLED", "0"), ("RATE_LIMIT_PER_ACCOUNT_PER_MINUTE", "3")]).await;
    tenant_with_admin(&services, "Victim").await;
    let (_, attacker) = tenant_with_admin(&services, "Attacker").await;
    let token = invite(&services, &attacker, "admin@victim.example.com").await;
    let attacker_ip = from([203, 0, 113, 1]);
    for _ in 0..2 {
        let _ = services.login(login_input("admin@victim.example.com", "wrong guess!"), &attacker_ip).await;
    }
    assert!(services.accept_invitation(accept(&token, "wrong guess!"), &attacker_ip).await.is_err());
    // The fourth check of this account from that address is refused, whichever path asks.
    assert!(is_throttled(&services.accept_invitation(accept(&token, PASSWORD), &attacker_ip).await));
    assert!(is_throttled(&services.login(login_input("admin@victim.example.com", PASSWORD), &attacker_ip).await));
    // The owner, elsewhere, still signs in: the limit is per account *and* address.
    let owner = from([198, 51, 100, 20]);
    services.login(login_input("admin@victim.example.com", PASSWORD), &owner).await.expect("the owner is not locked out");
}

#[tokio::test]
async fn past_the_all_addresses_ceiling_checks_are_slowed_not_refused() {
    let services = testing::services_with(&[
        ("RATE_LIMIT_DISABLED", "0"),
        ("RATE_LIMIT_PER_ACCOUNT_PER_MINUTE", "2"),
        ("RATE_LIMIT_ACCOUNT_CEILING_PER_MINUTE", "3"),
    ])
    .await;
    tenant_with_admin(&services, "Acme").await;
    for last in 1..=3 {
        let _ = services.login(login_input("admin@acme.example.com", "spray spray"), &from([10, 0, 0, last])).await;
    }
    let started = std::time::Instant::now();
    services.login(login_input("admin@acme.example.com", PASSWORD), &from([10, 9, 9, 9])).await.expect("allowed, only slower");
    assert!(started.elapsed() >= crate::service::SLOW_DOWN, "slowed by {:?}", started.elapsed());
}

#[tokio::test]
async fn every_credential_call_counts_against_the_client_address() {
    let services = testing::services_with(&[("RATE_LIMIT_DISABLED", "0"), ("RATE_LIMIT_PER_IP_PER_MINUTE", "4")]).await;
    let ip = from([192, 0, 2, 7]);
    services.sign_up(sign_up_input("Acme", "admin@acme.example.com"), &ip).await.unwrap();
    let _ = services.login(login_input("admin@acme.example.com", PASSWORD), &ip).await.unwrap();
    services.request_password_reset(Raw::text("admin@acme.example.com"), &ip).await.unwrap();
    let _ = services.confirm_password_reset(Raw::text("x"), Raw::text("y"), &ip).await;
    assert!(is_throttled(&services.accept_invitation(accept("x", "y"), &ip).await));
    assert!(is_throttled(&services.sign_up(sign_up_input("Globex", "admin@globex.example.com"), &ip).await));
    assert!(is_throttled(&services.login(login_input("admin@acme.example.com", PASSWORD), &ip).await));
    services.login(login_input("admin@acme.example.com", PASSWORD), &from([192, 0, 2, 8])).await.expect("another address");
}

#[tokio::test]
async fn invitation_mail_is_limited_per_recipient_and_per_tenant_per_hour() {
    let services = testing::services_with(&[
        ("RATE_LIMIT_DISABLED", "0"),
        ("INVITATIONS_PER_RECIPIENT_PER_HOUR", "2"),
        ("INVITATIONS_PER_TENANT_PER_HOUR", "4"),
    ])
    .await;
    let (_, admin) = tenant_with_admin(&services, "Acme").await;
    invite(&services, &admin, "target@x.test").await;
    let second = services.invite(&admin, None, InviteInput { email: Raw::text("target@x.test"), role: Raw::Missing }, &meta()).await.unwrap();
    let third = services.invite(&admin, None, InviteInput { email: Raw::text("target@x.test"), role: Raw::Missing }, &meta()).await;
    assert!(is_throttled(&third));
    assert!(is_throttled(&services.resend_invitation(&admin, second.invitation.id, &meta()).await), "resends count too");
    assert_eq!(mails(&services, "invitation", "target@x.test").await, 2);
    invite(&services, &admin, "a@x.test").await;
    invite(&services, &admin, "b@x.test").await;
    let over = services.invite(&admin, None, InviteInput { email: Raw::text("c@x.test"), role: Raw::Missing }, &meta()).await;
    assert!(is_throttled(&over), "the tenant's hourly budget");
}

#[tokio::test]
async fn reset_mail_is_limited_per_address_and_per_client() {
    let services = testing::services_with(&[
        ("RATE_LIMIT_DISABLED", "0"),
        ("RESET_MAILS_PER_RECIPIENT_PER_HOUR", "2"),
        ("RESET_MAILS_PER_IP_PER_HOUR", "3"),
    ])
    .await;
    tenant_with_admin(&services, "Acme").await;
    let to = "admin@acme.example.com";
    services.request_password_reset(Raw::text(to), &from([10, 0, 0, 1])).await.unwrap();
    services.request_password_reset(Raw::text(to), &from([10, 0, 0, 2])).await.unwrap();
    assert!(is_throttled(&services.request_password_reset(Raw::text(to), &from([10, 0, 0, 3])).await));
    assert_eq!(mails(&services, "password_reset", to).await, 2);
    let ip = from([10, 0, 0, 9]);
    for n in 0..3 {
        services.request_password_reset(Raw::text(format!("nobody{n}@x.test")), &ip).await.unwrap();
    }
    assert!(is_throttled(&services.request_password_reset(Raw::text("nobody9@x.test"), &ip).await));
}

#[tokio::test]
async fn accepting_an_invitation_tells_the_owner_of_the_address() {
    let services = testing::services().await;
    tenant_with_admin(&services, "Home").await;
    let (_, admin) = tenant_with_admin(&services, "Acme").await;
    // An existing account joins: its owner is told.
    let token = invite(&services, &admin, "admin@home.example.com").await;
    services.accept_invitation(accept(&token, PASSWORD), &meta()).await.unwrap();
    assert_eq!(mails(&services, "joined_tenant", "admin@home.example.com").await, 1);
    // A new account is made from a link the admin also saw: the address gets a take-over link.
    let token = invite(&services, &admin, "fresh@x.test").await;
    services.accept_invitation(accept(&token, "chosen by the admin"), &meta()).await.unwrap();
    let takeover = token_mailed_to(&services, "account_created", "fresh@x.test").await;
    services.confirm_password_reset(Raw::text(&takeover), Raw::text("the owner's own secret"), &meta()).await.unwrap();
    assert!(services.login(login_input("fresh@x.test", "chosen by the admin"), &meta()).await.is_err());
    assert!(services.login(login_input("fresh@x.test", "the owner's own secret"), &meta()).await.is_ok());
}

#[tokio::test]
async fn an_account_an_admin_creates_signs_in_at_once_and_its_owner_can_take_it_over() {
    let services = testing::services().await;
    let (_, admin) = tenant_with_admin(&services, "Acme").await;
    let bob = member(&services, &admin, "bob@x.test").await;
    let (pair, _) = services.login(login_input("bob@x.test", PASSWORD), &meta()).await.expect("the admin-set password works");
    let takeover = token_mailed_to(&services, "account_created", "bob@x.test").await;
    services.confirm_password_reset(Raw::text(&takeover), Raw::text("bob's real secret"), &meta()).await.unwrap();
    assert!(services.login(login_input("bob@x.test", PASSWORD), &meta()).await.is_err(), "the admin's password is gone");
    assert!(services.refresh(Raw::text(&pair.refresh), &meta()).await.is_err(), "and every session with it");
    let _ = bob;
}

#[tokio::test]
async fn a_failed_sign_in_is_audited_in_every_tenant_of_the_account() {
    let services = testing::services().await;
    let (home, _) = tenant_with_admin(&services, "Home").await;
    let (acme, admin) = tenant_with_admin(&services, "Acme").await;
    let token = invite(&services, &admin, "admin@home.example.com").await;
    services.accept_invitation(accept(&token, PASSWORD), &meta()).await.unwrap();
    services.login(login_input("admin@home.example.com", PASSWORD), &meta()).await.unwrap();
    assert!(!actions(&services, home.id).await.contains(&crate::domain::AuditAction::LoginFailed), "a good password is no failure");
    let _ = services.login(login_input("admin@home.example.com", "not it at all"), &meta()).await.unwrap_err();
    assert!(actions(&services, home.id).await.contains(&crate::domain::AuditAction::LoginFailed));
    assert!(actions(&services, acme.id).await.contains(&crate::domain::AuditAction::LoginFailed));
}

#[tokio::test]
async fn an_admin_cannot_change_a_suspended_tenant_from_another_one() {
    let services = testing::services().await;
    let (acme, acme_admin) = tenant_with_admin(&services, "Acme").await;
    let bob = member(&services, &acme_admin, "bob@x.test").await;
    let (_, globex_admin) = tenant_with_admin(&services, "Globex").await;
    // Acme's admin also administers Globex, and acts from there.
    let token = invite(&services, &globex_admin, "admin@acme.example.com").await;
    services.accept_invitation(accept(&token, PASSWORD), &meta()).await.unwrap();
    let globex_id = globex_admin.tenant_id;
    let grant = crate::service::AssignRoleInput { user: Raw::text(acme_admin.user_id.to_string()), role: Raw::text("ADMIN") };
    services.assign_role(&globex_admin, grant, &meta()).await.unwrap();
    let from_globex = services.actor_for(acme_admin.user_id, globex_id).await.unwrap().unwrap();
    let (root, _) = services.create_superuser("root@platform.test", Some(PASSWORD)).await.unwrap();
    let root = services.actor_for(root.id, None).await.unwrap().unwrap();
    services.set_tenant_suspended(&root, acme.id, true, &meta()).await.unwrap();
    let removed = services.remove_member(&from_globex, acme.id, bob.user_id, &meta()).await;
    assert!(matches!(removed, Err(ServiceError::Conflict { .. })), "{removed:?}");
    services.set_tenant_suspended(&root, acme.id, false, &meta()).await.unwrap();
    let acme_admin = services.actor_for(acme_admin.user_id, Some(acme.id)).await.unwrap().unwrap();
    assert_eq!(services.list_users(&acme_admin, PageRequest::first()).await.unwrap().count, 2, "bob is still there");
}

#[tokio::test]
async fn the_member_list_shows_superusers_only_to_superusers() {
    let services = testing::services().await;
    let (acme, admin) = tenant_with_admin(&services, "Acme").await;
    let bob = member(&services, &admin, "bob@x.test").await;
    services.create_superuser("bob@x.test", None).await.unwrap();
    let page = services.list_users(&admin, PageRequest::first()).await.unwrap();
    let shown = |id| page.items.iter().find(|p| p.user.id == id).unwrap().is_superuser;
    assert_eq!(shown(bob.user_id), None, "hidden from a tenant admin");
    assert_eq!(shown(admin.user_id), Some(false), "everyone may know it of themselves");
    let bob = services.actor_for(bob.user_id, Some(acme.id)).await.unwrap().unwrap();
    let page = services.list_users(&bob, PageRequest::first()).await.unwrap();
    assert_eq!(page.items.iter().find(|p| p.user.id == bob.user_id).unwrap().is_superuser, Some(true));
    assert_eq!(page.items.iter().find(|p| p.user.id == admin.user_id).unwrap().is_superuser, Some(false), "a superuser sees it");
}

#[tokio::test]
async fn empty_token_forms_report_every_missing_field_at_once() {
    let services = testing::services().await;
    let ServiceError::Validation(f) = services.accept_invitation(AcceptInvitationInput::default(), &meta()).await.unwrap_err() else { panic!() };
    assert!(f.get("token").is_some() && f.get("password").is_some(), "{f:?}");
    let ServiceError::Validation(f) = services.confirm_password_reset(Raw::Missing, Raw::Missing, &meta()).await.unwrap_err() else { panic!() };
    assert!(f.get("token").is_some() && f.get("password").is_some(), "{f:?}");
}

#[tokio::test]
async fn what_a_caller_holds_comes_from_the_policy() {
    let services = testing::services().await;
    let (_, admin) = tenant_with_admin(&services, "Acme").await;
    let bob = member(&services, &admin, "bob@x.test").await;
    assert_eq!(services.permission_catalogue(), crate::domain::Permission::ALL.to_vec());
    assert_eq!(services.permissions_of(&admin), crate::domain::Permission::ALL.to_vec());
    assert_eq!(services.permissions_of(&bob), crate::service::policy::MEMBER_BASELINE.to_vec());
    assert!(bob.require(crate::domain::Permission::MembersWrite).is_err() && bob.require(crate::domain::Permission::MembersRead).is_ok());
}

#[tokio::test]
async fn the_reset_mail_says_how_long_its_link_works() {
    let services = testing::services().await;
    tenant_with_admin(&services, "Acme").await;
    services.request_password_reset(Raw::text("admin@acme.example.com"), &meta()).await.unwrap();
    services.settled().await;
    let outbox = services.db().read().await.unwrap().outbox().await.unwrap();
    let mail = outbox.iter().find(|e| e.kind == "password_reset").unwrap().open(services.sealer()).unwrap();
    assert!(mail.text_body.contains("expires in 60 minutes"), "{}", mail.text_body);
}
