use super::*;
use crate::{service::ResetPreview, testing, ServiceError};

/// Asks for a reset and waits for its writes, which happen after the answer.
async fn request(services: &Services, email: &str) {
    services.request_password_reset(Raw::text(email), &meta()).await.unwrap();
    services.settled().await;
}

#[tokio::test]
async fn a_reset_changes_the_password_once_and_ends_sessions_and_tokens() {
    let services = testing::services().await;
    let (tenant, admin) = tenant_with_admin(&services, "Acme").await;
    let (pair, _) = services.login(login_input("admin@acme.example.com", PASSWORD), &meta()).await.unwrap();
    request(&services, "ADMIN@acme.example.com").await;
    let token = token_mailed_to(&services, "password_reset", "admin@acme.example.com").await;
    assert_eq!(services.password_reset_preview(&token).await.unwrap(), ResetPreview::Valid { email: "admin@acme.example.com".into() });

    services.confirm_password_reset(Raw::text(&token), Raw::text("a brand new secret"), &meta()).await.unwrap();
    assert!(services.login(login_input("admin@acme.example.com", PASSWORD), &meta()).await.is_err());
    assert!(services.login(login_input("admin@acme.example.com", "a brand new secret"), &meta()).await.is_ok());
    assert!(services.refresh(Raw::text(&pair.refresh), &meta()).await.is_err(), "refresh tokens are revoked");
    assert!(services.actor_from_access_token(&pair.access, &meta()).await.is_err(), "access tokens issued before stop working");
    let again = services.confirm_password_reset(Raw::text(&token), Raw::text("yet another secret"), &meta()).await.unwrap_err();
    assert!(matches!(&again, ServiceError::Validation(f) if f.get("token").is_some()), "{again:?}");
    assert_eq!(services.password_reset_preview(&token).await.unwrap(), ResetPreview::Invalid);
    let actions = services.db().read().await.unwrap().audit_actions(tenant.id).await.unwrap();
    assert!(actions.contains(&crate::domain::AuditAction::PasswordResetRequested) && actions.contains(&crate::domain::AuditAction::PasswordResetCompleted));
    let _ = admin;
}

#[tokio::test]
async fn unknown_accounts_get_the_same_answer_and_no_mail() {
    let services = testing::services().await;
    request(&services, "nobody@nowhere.test").await;
    assert!(services.db().read().await.unwrap().outbox().await.unwrap().is_empty());
    let missing = services.request_password_reset(Raw::Missing, &meta()).await.unwrap_err();
    assert!(matches!(&missing, ServiceError::Validation(f) if f.get("email").is_some()));
    let malformed = services.request_password_reset(Raw::text("nope"), &meta()).await.unwrap_err();
    assert!(matches!(&malformed, ServiceError::Validation(f) if f.get("email").is_some()));
}

/// Timing must not tell a known address from an unknown one: the answer comes before the
/// database is asked anything, so both do the same work up to it. With the database gone the
/// answer is still the same `Ok` for both (only the background lookup fails).
#[tokio::test]
async fn the_answer_comes_before_the_account_is_looked_up() {
    let services = testing::services().await;
    tenant_with_admin(&services, "Acme").await;
    services.db().close().await;
    for email in ["admin@acme.example.com", "nobody@nowhere.test"] {
        let answer = services.request_password_reset(Raw::text(email), &meta()).await;
        assert!(answer.is_ok(), "{email}: {answer:?}");
    }
    services.settled().await;
}

#[tokio::test]
async fn a_newer_request_invalidates_older_tokens() {
    let services = testing::services().await;
    tenant_with_admin(&services, "Acme").await;
    request(&services, "admin@acme.example.com").await;
    let old = token_mailed_to(&services, "password_reset", "admin@acme.example.com").await;
    request(&services, "admin@acme.example.com").await;
    let new = token_mailed_to(&services, "password_reset", "admin@acme.example.com").await;
    assert_ne!(old, new);
    assert!(services.confirm_password_reset(Raw::text(&old), Raw::text("a brand new secret"), &meta()).await.is_err());
    assert!(services.confirm_password_reset(Raw::text(&new), Raw::text("a brand new secret"), &meta()).await.is_ok());
}

#[tokio::test]
async fn a_failed_validation_leaves_the_token_usable_and_bad_tokens_name_token() {
    let services = testing::services().await;
    tenant_with_admin(&services, "Acme").await;
    request(&services, "admin@acme.example.com").await;
    let token = token_mailed_to(&services, "password_reset", "admin@acme.example.com").await;
    let missing = services.confirm_password_reset(Raw::text(&token), Raw::Missing, &meta()).await.unwrap_err();
    assert!(matches!(&missing, ServiceError::Validation(f) if f.get("password").is_some()));
    let similar = services.confirm_password_reset(Raw::text(&token), Raw::text("admin@acme.example.com"), &meta()).await.unwrap_err();
    assert!(matches!(&similar, ServiceError::Validation(f) if f.get("password").is_some()));
    for bad in ["garbage".to_owned(), crate::auth::random_token()] {
        let error = services.confirm_password_reset(Raw::text(&bad), Raw::text("a brand new secret"), &meta()).await.unwrap_err();
        assert!(matches!(&error, ServiceError::Validation(f) if f.get("token").is_some()), "{error:?}");
    }
    assert!(services.confirm_password_reset(Raw::text(&token), Raw::text("a brand new secret"), &meta()).await.is_ok());
}

#[tokio::test]
async fn two_concurrent_resets_with_one_token_have_exactly_one_winner() {
    let services = testing::services().await;
    tenant_with_admin(&services, "Acme").await;
    request(&services, "admin@acme.example.com").await;
    let token = token_mailed_to(&services, "password_reset", "admin@acme.example.com").await;
    let (a, b) = (services.clone(), services.clone());
    let (ta, tb) = (token.clone(), token.clone());
    let first = tokio::spawn(async move { a.confirm_password_reset(Raw::text(&ta), Raw::text("first new secret"), &meta()).await });
    let second = tokio::spawn(async move { b.confirm_password_reset(Raw::text(&tb), Raw::text("second new secret"), &meta()).await });
    let results = [first.await.unwrap(), second.await.unwrap()];
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 1, "{results:?}");
    let winner = if results[0].is_ok() { "first new secret" } else { "second new secret" };
    assert!(services.login(login_input("admin@acme.example.com", winner), &meta()).await.is_ok());
}
