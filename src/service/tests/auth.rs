use super::*;
use crate::{testing, ServiceError};

#[tokio::test]
async fn login_returns_profile_in_the_oldest_tenant_and_a_token_pair() {
    let services = testing::services().await;
    let (tenant, admin) = tenant_with_admin(&services, "Acme").await;
    let (pair, profile) = services.login(login_input("ADMIN@acme.example.com", PASSWORD), &meta()).await.unwrap();
    assert_eq!(profile.tenant_id, Some(tenant.id));
    assert_eq!(profile.roles, vec![Role::Admin]);
    assert_eq!(profile.timezone, "America/Jamaica");
    let actor = services.actor_from_access_token(&pair.access, &meta()).await.unwrap();
    assert_eq!(actor.user_id, admin.user_id);
    let mut tx = services.db().read().await.unwrap();
    assert!(tx.audit_actions(tenant.id).await.unwrap().contains(&crate::domain::AuditAction::LoginSucceeded));
}

#[tokio::test]
async fn wrong_password_and_unknown_account_get_the_same_answer() {
    let services = testing::services().await;
    let (tenant, _) = tenant_with_admin(&services, "Acme").await;
    let wrong = services.login(login_input("admin@acme.example.com", "nope nope nope"), &meta()).await.unwrap_err();
    let unknown = services.login(login_input("ghost@acme.example.com", PASSWORD), &meta()).await.unwrap_err();
    let (ServiceError::Unauthenticated(a), ServiceError::Unauthenticated(b)) = (&wrong, &unknown) else { panic!("{wrong:?} {unknown:?}") };
    assert_eq!(a, b);
    services.settled().await;
    let mut tx = services.db().read().await.unwrap();
    assert!(tx.audit_actions(tenant.id).await.unwrap().contains(&crate::domain::AuditAction::LoginFailed));
}

#[tokio::test]
async fn missing_login_fields_are_field_errors() {
    let services = testing::services().await;
    let ServiceError::Validation(fields) = services.login(LoginInput::default(), &meta()).await.unwrap_err() else { panic!() };
    assert!(fields.get("email").is_some() && fields.get("password").is_some());
}

#[tokio::test]
async fn a_refresh_token_is_never_an_access_token() {
    let services = testing::services().await;
    tenant_with_admin(&services, "Acme").await;
    let (pair, _) = services.login(login_input("admin@acme.example.com", PASSWORD), &meta()).await.unwrap();
    assert!(matches!(services.actor_from_access_token(&pair.refresh, &meta()).await, Err(ServiceError::Unauthenticated(_))));
}

#[tokio::test]
async fn refresh_rotates_and_reuse_revokes_the_whole_family() {
    let services = testing::services().await;
    tenant_with_admin(&services, "Acme").await;
    let (first, _) = services.login(login_input("admin@acme.example.com", PASSWORD), &meta()).await.unwrap();
    let second = services.refresh(Raw::text(&first.refresh), &meta()).await.unwrap();
    assert_ne!(second.refresh, first.refresh);
    assert!(services.actor_from_access_token(&second.access, &meta()).await.is_ok());
    // Replaying the rotated token is refused and burns the newer one too.
    assert!(matches!(services.refresh(Raw::text(&first.refresh), &meta()).await, Err(ServiceError::Unauthenticated(_))));
    assert!(matches!(services.refresh(Raw::text(&second.refresh), &meta()).await, Err(ServiceError::Unauthenticated(_))));
}

#[tokio::test]
async fn logout_revokes_the_refresh_token() {
    let services = testing::services().await;
    tenant_with_admin(&services, "Acme").await;
    let (pair, _) = services.login(login_input("admin@acme.example.com", PASSWORD), &meta()).await.unwrap();
    services.logout(Raw::text(&pair.refresh)).await.unwrap();
    assert!(matches!(services.refresh(Raw::text(&pair.refresh), &meta()).await, Err(ServiceError::Unauthenticated(_))));
}

#[tokio::test]
async fn per_account_attempts_are_limited_when_limits_are_on() {
    let services = testing::services_with(&[("RATE_LIMIT_DISABLED", "0"), ("RATE_LIMIT_PER_ACCOUNT_PER_MINUTE", "2")]).await;
    for _ in 0..2 {
        let _ = services.login(login_input("who@x.com", "whatever pass"), &meta()).await;
    }
    let error = services.login(login_input("WHO@x.com", "whatever pass"), &meta()).await.unwrap_err();
    assert!(matches!(error, ServiceError::RateLimited { retry_after_secs } if retry_after_secs >= 1), "{error:?}");
}

#[tokio::test]
async fn a_superuser_without_tenant_logs_in_with_no_tenant() {
    let services = testing::services().await;
    services.create_superuser("root@platform.test", Some(PASSWORD)).await.unwrap();
    let (_, profile) = services.login(login_input("root@platform.test", PASSWORD), &meta()).await.unwrap();
    assert_eq!(profile.tenant_id, None);
    assert!(profile.user.is_superuser);
}

#[tokio::test]
async fn create_superuser_promotes_an_existing_account_and_keeps_its_password() {
    let services = testing::services().await;
    let (_, admin) = tenant_with_admin(&services, "Acme").await;
    let (user, created) = services.create_superuser("admin@acme.example.com", Some("another password!")).await.unwrap();
    assert!(!created);
    assert!(user.is_superuser);
    assert_eq!(user.id, admin.user_id);
    assert!(services.login(login_input("admin@acme.example.com", PASSWORD), &meta()).await.is_ok());
}

#[tokio::test]
async fn a_sign_in_on_a_tenants_host_lands_there_only_for_its_members_and_superusers() {
    let services = testing::services().await;
    let (acme, _) = tenant_with_admin(&services, "Acme").await;
    let (globex, _) = tenant_with_admin(&services, "Globex").await;
    let on_host = |email: &str, tenant| LoginInput { tenant: Some(tenant), ..login_input(email, PASSWORD) };
    let (_, profile) = services.login(on_host("admin@acme.example.com", acme.id), &meta()).await.unwrap();
    assert_eq!(profile.tenant_id, Some(acme.id));
    // Acme's admin on Globex's host: not a member there (their own tenant being active changes nothing).
    let elsewhere = services.login(on_host("admin@acme.example.com", globex.id), &meta()).await;
    assert!(matches!(elsewhere, Err(ServiceError::Forbidden(_))), "{elsewhere:?}");
    // The platform lands anywhere.
    services.create_superuser("root@platform.test", Some(PASSWORD)).await.unwrap();
    let (_, profile) = services.login(on_host("root@platform.test", globex.id), &meta()).await.unwrap();
    assert_eq!(profile.tenant_id, Some(globex.id));
    // A suspended tenant's host lets nobody of it in.
    let root = services.login(login_input("root@platform.test", PASSWORD), &meta()).await.unwrap().1;
    let root = services.actor_for(root.user.id, None).await.unwrap().unwrap();
    services.set_tenant_suspended(&root, acme.id, true, &meta()).await.unwrap();
    let suspended = services.login(on_host("admin@acme.example.com", acme.id), &meta()).await;
    assert!(matches!(suspended, Err(ServiceError::Forbidden(_))), "{suspended:?}");
}

#[tokio::test]
async fn a_member_of_only_suspended_tenants_cannot_sign_in_but_a_superuser_can() {
    let services = testing::services().await;
    let (acme, _) = tenant_with_admin(&services, "Acme").await;
    let (root, _) = services.create_superuser("root@platform.test", Some(PASSWORD)).await.unwrap();
    let root = services.actor_for(root.id, None).await.unwrap().unwrap();
    // The superuser is a member of Acme too.
    services.add_member(&root, acme.id, crate::service::AddMemberInput { user_id: Raw::text(root.user_id.to_string()), role: Raw::Missing, send_notification: Raw::text("false") }, &meta()).await.unwrap();
    services.set_tenant_suspended(&root, acme.id, true, &meta()).await.unwrap();
    let refused = services.login(login_input("admin@acme.example.com", PASSWORD), &meta()).await;
    assert!(matches!(&refused, Err(ServiceError::Unauthenticated(m)) if m.contains("suspended")), "{refused:?}");
    let (_, profile) = services.login(login_input("root@platform.test", PASSWORD), &meta()).await.unwrap();
    assert_eq!(profile.tenant_id, None, "outside any tenant");
}

#[tokio::test]
async fn a_sign_in_passes_over_a_suspended_older_tenant_and_carries_the_roles_of_the_one_it_lands_in() {
    let services = testing::services().await;
    let (acme, acme_admin) = tenant_with_admin(&services, "Acme").await;
    let (globex, globex_admin) = tenant_with_admin(&services, "Globex").await;
    // Ada: in Acme (her oldest tenant) without a role, an analyst in Globex.
    member(&services, &acme_admin, "ada@acme.example.com").await;
    joins_by_invitation(&services, &globex_admin, "ada@acme.example.com", Some("ANALYST")).await;
    let (_, profile) = services.login(login_input("ada@acme.example.com", PASSWORD), &meta()).await.unwrap();
    assert_eq!((profile.tenant_id, profile.roles), (Some(acme.id), vec![]));

    let (root, _) = services.create_superuser("root@platform.test", Some(PASSWORD)).await.unwrap();
    let root = services.actor_for(root.id, None).await.unwrap().unwrap();
    services.set_tenant_suspended(&root, acme.id, true, &meta()).await.unwrap();
    let (_, profile) = services.login(login_input("ada@acme.example.com", PASSWORD), &meta()).await.unwrap();
    assert_eq!((profile.tenant_id, profile.roles), (Some(globex.id), vec![Role::Analyst.into()]), "the oldest active tenant");
    // Asking for the suspended one by its host is refused, not sent elsewhere.
    let mut on_acme = login_input("ada@acme.example.com", PASSWORD);
    on_acme.tenant = Some(acme.id);
    assert!(matches!(services.login(on_acme, &meta()).await, Err(ServiceError::Forbidden(_))));
}

#[tokio::test]
async fn an_access_token_lives_its_configured_time_capped_by_the_tenants_idle_timeout() {
    let services = testing::services().await;
    let (acme, admin) = tenant_with_admin(&services, "Acme").await;
    let lifetime = |access: &str| {
        let claims = services.jwt().verify(access, crate::auth::TokenKind::Access).unwrap();
        claims.exp - claims.iat
    };
    let (pair, _) = services.login(login_input("admin@acme.example.com", PASSWORD), &meta()).await.unwrap();
    assert_eq!(lifetime(&pair.access), 30 * 60, "ACCESS_TOKEN_LIFETIME_MINUTES' default");
    services.set_security_policy(&admin, acme.id, &serde_json::json!({"session_timeout_minutes": 240}), &meta()).await.unwrap();
    let (pair, _) = services.login(login_input("admin@acme.example.com", PASSWORD), &meta()).await.unwrap();
    assert_eq!(lifetime(&pair.access), 30 * 60, "a longer timeout does not lengthen it");
    services.set_security_policy(&admin, acme.id, &serde_json::json!({"session_timeout_minutes": 5}), &meta()).await.unwrap();
    let (pair, _) = services.login(login_input("admin@acme.example.com", PASSWORD), &meta()).await.unwrap();
    assert_eq!(lifetime(&pair.access), 5 * 60);
    let refreshed = services.refresh(Raw::text(pair.refresh), &meta()).await.unwrap();
    assert_eq!(lifetime(&refreshed.access), 5 * 60, "a refresh too");
}
