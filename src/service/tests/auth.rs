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
