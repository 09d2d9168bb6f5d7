use super::*;
use crate::{testing, ServiceError};

#[tokio::test]
async fn sign_up_creates_tenant_admin_membership_role_and_audit_row() {
    let services = testing::services().await;
    let outcome = services.sign_up(sign_up_input("Acme Inc.", "Owner@Acme.com"), &meta()).await.unwrap();
    assert_eq!(outcome.tenant.name, "Acme Inc.");
    assert_eq!(outcome.tenant.slug, "acme-inc");
    assert_eq!(outcome.admin.email, "owner@acme.com");
    assert!(outcome.admin.password_hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
    let actor = services.actor_for(outcome.admin.id, Some(outcome.tenant.id)).await.unwrap().unwrap();
    assert_eq!(actor.roles, vec![Role::Admin]);
    let mut tx = services.db().read().await.unwrap();
    assert_eq!(tx.audit_actions(outcome.tenant.id).await.unwrap(), vec!["tenant_created"]);
}

#[tokio::test]
async fn empty_sign_up_names_every_required_field_at_once() {
    let services = testing::services().await;
    let error = services.sign_up(SignUpInput::default(), &meta()).await.unwrap_err();
    let ServiceError::Validation(fields) = error else { panic!("expected validation, got {error:?}") };
    for field in ["name", "admin_email", "admin_password"] {
        assert_eq!(fields.get(field).unwrap(), [crate::domain::REQUIRED], "{field}");
    }
}

#[tokio::test]
async fn weak_password_and_bad_email_are_field_errors() {
    let services = testing::services().await;
    let input = SignUpInput { admin_password: Raw::text("password"), admin_email: Raw::text("not-an-email"), ..sign_up_input("Beta", "x@y.com") };
    let ServiceError::Validation(fields) = services.sign_up(input, &meta()).await.unwrap_err() else { panic!() };
    assert!(fields.get("admin_password").unwrap()[0].contains("too common"));
    assert_eq!(fields.get("admin_email").unwrap(), ["Enter a valid email address."]);
}

#[tokio::test]
async fn duplicate_tenant_name_or_slug_is_a_conflict_on_name() {
    let services = testing::services().await;
    services.sign_up(sign_up_input("Gamma Co", "a@gamma.com"), &meta()).await.unwrap();
    for clash in ["Gamma Co", "gamma co", "Gamma-Co"] {
        let error = services.sign_up(sign_up_input(clash, "b@gamma.com"), &meta()).await.unwrap_err();
        let ServiceError::Conflict { fields, .. } = error else { panic!("{clash}: {error:?}") };
        assert!(fields.get("name").is_some(), "{clash}");
    }
}

#[tokio::test]
async fn an_email_with_an_account_is_a_conflict_on_admin_email_whatever_its_case() {
    let services = testing::services().await;
    services.sign_up(sign_up_input("Delta", "same@delta.com"), &meta()).await.unwrap();
    let error = services.sign_up(sign_up_input("Epsilon", "SAME@Delta.com"), &meta()).await.unwrap_err();
    let ServiceError::Conflict { fields, .. } = error else { panic!("{error:?}") };
    assert!(fields.get("admin_email").is_some());
    assert!(fields.get("name").is_none());
}

#[tokio::test]
async fn concurrent_sign_ups_with_one_name_create_one_tenant() {
    let services = testing::services().await;
    let meta = meta();
    let a = services.sign_up(sign_up_input("Race", "one@race.com"), &meta);
    let b = services.sign_up(sign_up_input("Race", "two@race.com"), &meta);
    let (a, b) = tokio::join!(a, b);
    assert_eq!([a.is_ok(), b.is_ok()].iter().filter(|ok| **ok).count(), 1);
    let loser = if a.is_ok() { b } else { a };
    assert!(matches!(loser.unwrap_err(), ServiceError::Conflict { .. }));
}

#[tokio::test]
async fn members_see_only_their_tenant_and_superusers_see_all() {
    let services = testing::services().await;
    let (acme, admin) = tenant_with_admin(&services, "Acme").await;
    tenant_with_admin(&services, "Other").await;
    let page = services.list_tenants(&admin, crate::store::PageRequest::first()).await.unwrap();
    assert_eq!(page.count, 1);
    assert_eq!(page.items[0].id, acme.id);
    let (root, _) = services.create_superuser("root@platform.test", Some(PASSWORD)).await.unwrap();
    let root = services.actor_for(root.id, None).await.unwrap().unwrap();
    assert_eq!(services.list_tenants(&root, crate::store::PageRequest::first()).await.unwrap().count, 2);
}
