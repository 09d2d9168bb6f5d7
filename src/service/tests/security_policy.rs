//! Tenant security policies: who reads and saves them, the password rules and history they
//! add, the network rule on every way in, and the idle timeout of tokens.

use serde_json::{json, Value};

use super::*;
use crate::{
    domain::SecurityPolicy,
    service::{AcceptInvitationInput, ApiKeyInput, InviteInput, RawList},
    testing, Refusal, ServiceError,
};

fn from(ip: &str) -> RequestMeta {
    RequestMeta { ip: Some(ip.parse().unwrap()), user_agent: Some("tests".into()) }
}

fn field_error(result: &ServiceError, field: &str) -> Vec<String> {
    match result {
        ServiceError::Validation(fields) => fields.get(field).map(<[String]>::to_vec).unwrap_or_default(),
        _ => Vec::new(),
    }
}

fn is_ip_refusal<T: std::fmt::Debug>(result: &Result<T, ServiceError>) -> bool {
    matches!(result, Err(ServiceError::Refused { reason: Refusal::IpNotAllowed, .. }))
}

async fn set(services: &Services, admin: &Actor, body: Value) -> SecurityPolicy {
    services.set_security_policy(admin, admin.tenant_id.unwrap(), &body, &meta()).await.expect("policy saved")
}

/// `admin`'s tenant accepts requests from 10.0.0.0/8 only (saved from inside it).
async fn only_ten(services: &Services, admin: &Actor) {
    services
        .set_security_policy(admin, admin.tenant_id.unwrap(), &json!({"allowed_ip_ranges": ["10.0.0.0/8"]}), &from("10.1.1.1"))
        .await
        .expect("policy saved");
}

#[tokio::test]
async fn members_read_the_policy_admins_change_it_and_the_change_is_audited() {
    let services = testing::services().await;
    let (tenant, admin) = tenant_with_admin(&services, "Acme").await;
    let bob = member(&services, &admin, "bob@acme.example.com").await;
    assert_eq!(services.security_policy(&bob, tenant.id).await.unwrap(), SecurityPolicy::default());

    let forbidden = services.set_security_policy(&bob, tenant.id, &json!({"require_2fa": false}), &meta()).await;
    assert!(matches!(forbidden, Err(ServiceError::Forbidden(_))), "{forbidden:?}");

    let body = json!({"password_policy": {"min_length": 12, "require_uppercase": true, "require_lowercase": true,
        "require_numbers": true, "require_symbols": true, "password_history": 5},
        "session_timeout_minutes": 240, "allowed_ip_ranges": ["127.0.0.0/8", "10.0.0.0/8"], "require_2fa": false});
    let saved = set(&services, &admin, body.clone()).await;
    assert_eq!(saved.to_json(), body);
    assert_eq!(services.security_policy(&bob, tenant.id).await.unwrap(), saved, "stored as answered");

    let entries = services.db().read().await.unwrap().audit_batch(&crate::store::AuditQuery::tenant(tenant.id), None, 100).await.unwrap();
    let changed: Vec<_> = entries.iter().filter(|e| e.action == "security_policy_changed").collect();
    assert_eq!(changed.len(), 1);
    assert_eq!(changed[0].metadata["before"], SecurityPolicy::default().to_json());
    assert_eq!(changed[0].metadata["after"], body);

    // The same body again changes nothing and records nothing.
    set(&services, &admin, body).await;
    let entries = services.db().read().await.unwrap().audit_batch(&crate::store::AuditQuery::tenant(tenant.id), None, 100).await.unwrap();
    assert_eq!(entries.iter().filter(|e| e.action == "security_policy_changed").count(), 1);
}

#[tokio::test]
async fn another_tenant_cannot_read_or_change_the_policy() {
    let services = testing::services().await;
    let (acme, _) = tenant_with_admin(&services, "Acme").await;
    let (_, globex) = tenant_with_admin(&services, "Globex").await;
    assert!(matches!(services.security_policy(&globex, acme.id).await, Err(ServiceError::NotFound)));
    let change = services.set_security_policy(&globex, acme.id, &json!({"allowed_ip_ranges": ["10.0.0.0/8"]}), &meta()).await;
    assert!(matches!(change, Err(ServiceError::NotFound)), "{change:?}");
}

#[tokio::test]
async fn bad_fields_and_a_lockout_are_refused_and_nothing_changes() {
    let services = testing::services().await;
    let (tenant, admin) = tenant_with_admin(&services, "Acme").await;
    set(&services, &admin, json!({"password_policy": {"min_length": 10}})).await;

    let bad = services
        .set_security_policy(&admin, tenant.id, &json!({"password_policy": {"min_length": 3}, "session_timeout_minutes": 1, "allowed_ip_ranges": ["x"]}), &meta())
        .await
        .unwrap_err();
    for field in ["password_policy.min_length", "session_timeout_minutes", "allowed_ip_ranges"] {
        assert!(!field_error(&bad, field).is_empty(), "{field}: {bad:?}");
    }

    // 127.0.0.1 (the caller) is outside 10.0.0.0/8.
    let lockout = services.set_security_policy(&admin, tenant.id, &json!({"allowed_ip_ranges": ["10.0.0.0/8"]}), &meta()).await.unwrap_err();
    assert!(field_error(&lockout, "allowed_ip_ranges")[0].contains("127.0.0.1"), "{lockout:?}");
    let not_bool = services.set_security_policy(&admin, tenant.id, &json!({"confirm_lockout": "yes"}), &meta()).await.unwrap_err();
    assert!(!field_error(&not_bool, "confirm_lockout").is_empty());
    let kept = services.security_policy(&admin, tenant.id).await.unwrap();
    assert_eq!(kept.password_policy.min_length, 10);
    assert!(kept.allowed_ip_ranges.is_empty());

    let confirmed = services
        .set_security_policy(&admin, tenant.id, &json!({"allowed_ip_ranges": ["10.0.0.0/8"], "confirm_lockout": true}), &meta())
        .await
        .unwrap();
    assert_eq!(confirmed.allowed_ip_ranges.len(), 1);
    assert_eq!(confirmed.password_policy.min_length, 10, "fields left out keep their value");
}

#[tokio::test]
async fn every_way_in_is_refused_outside_the_allowed_networks() {
    let services = testing::services().await;
    let (tenant, admin) = tenant_with_admin(&services, "Acme").await;
    let (pair, _) = services.login(login_input("admin@acme.example.com", PASSWORD), &from("10.0.0.5")).await.unwrap();
    let key_input = ApiKeyInput { name: Raw::text("ci"), scopes: RawList::Items(vec!["members:read".into()]), expires_days: Raw::Missing };
    let key = services.create_api_key(&admin, key_input, &meta()).await.unwrap();
    only_ten(&services, &admin).await;

    let outside = from("192.0.2.7");
    let inside = from("10.200.0.1");
    assert!(is_ip_refusal(&services.actor_from_access_token(&pair.access, &outside).await));
    assert!(services.actor_from_access_token(&pair.access, &inside).await.is_ok());
    assert!(is_ip_refusal(&services.actor_for_request(admin.user_id, Some(tenant.id), &outside).await));
    assert!(services.actor_for_request(admin.user_id, Some(tenant.id), &inside).await.unwrap().is_some());
    assert!(is_ip_refusal(&services.actor_from_api_key(&key.secret, &outside).await));
    assert!(services.actor_from_api_key(&key.secret, &inside).await.is_ok());
    assert!(is_ip_refusal(&services.login(login_input("admin@acme.example.com", PASSWORD), &outside).await));
    assert!(is_ip_refusal(&services.refresh(Raw::text(&pair.refresh), &outside).await));
    assert!(services.refresh(Raw::text(&pair.refresh), &inside).await.is_ok(), "the refusal did not spend the token");
    // Work that is not a request (jobs, the CLI) has no address and is not limited.
    assert!(services.actor_for(admin.user_id, Some(tenant.id)).await.unwrap().is_some());
}

#[tokio::test]
async fn a_superuser_is_bound_inside_the_tenant_and_sign_in_lands_in_an_open_tenant() {
    let services = testing::services().await;
    let (acme, acme_admin) = tenant_with_admin(&services, "Acme").await;
    let (globex, globex_admin) = tenant_with_admin(&services, "Globex").await;
    // Ada joins Globex too; Acme (her first tenant) then limits networks.
    let ada = member(&services, &acme_admin, "ada@acme.example.com").await;
    joins_by_invitation(&services, &globex_admin, "ada@acme.example.com", Some("VIEWER")).await;
    only_ten(&services, &acme_admin).await;

    let outside = from("192.0.2.7");
    let (_, profile) = services.login(login_input("ada@acme.example.com", PASSWORD), &outside).await.unwrap();
    assert_eq!(profile.tenant_id, Some(globex.id), "the first tenant open to this network");
    let (_, profile) = services.login(login_input("ada@acme.example.com", PASSWORD), &from("10.0.0.1")).await.unwrap();
    assert_eq!(profile.tenant_id, Some(acme.id));
    let ada_in_globex = services.actor_for(ada.user_id, Some(globex.id)).await.unwrap().unwrap();
    assert!(is_ip_refusal(&services.switch_tenant(&ada_in_globex, Raw::text(acme.id.to_string()), &outside).await));
    assert!(services.switch_tenant(&ada_in_globex, Raw::text(acme.id.to_string()), &from("10.9.9.9")).await.is_ok());
    // Naming Acme by id while acting in Globex is acting in Acme: its rule applies.
    let ada_outside = services.actor_for_request(ada.user_id, Some(globex.id), &outside).await.unwrap().unwrap();
    assert!(is_ip_refusal(&services.security_policy(&ada_outside, acme.id).await));
    let ada_inside = services.actor_for_request(ada.user_id, Some(globex.id), &from("10.9.9.9")).await.unwrap().unwrap();
    assert!(services.security_policy(&ada_inside, acme.id).await.is_ok());

    let root = services.create_superuser("root@platform.example.com", Some(PASSWORD)).await.unwrap().0;
    assert!(is_ip_refusal(&services.actor_for_request(root.id, Some(acme.id), &outside).await));
    assert!(services.actor_for_request(root.id, None, &outside).await.unwrap().is_some(), "outside any tenant, no tenant's rule");
}

#[tokio::test]
async fn the_strictest_rule_of_all_tenants_applies_to_a_reset() {
    let services = testing::services().await;
    let (_, acme_admin) = tenant_with_admin(&services, "Acme").await;
    let (_, globex_admin) = tenant_with_admin(&services, "Globex").await;
    member(&services, &acme_admin, "ada@acme.example.com").await;
    joins_by_invitation(&services, &globex_admin, "ada@acme.example.com", None).await;
    set(&services, &acme_admin, json!({"password_policy": {"min_length": 14}})).await;
    set(&services, &globex_admin, json!({"password_policy": {"require_numbers": true, "require_symbols": true}})).await;

    services.request_password_reset(Raw::text("ada@acme.example.com"), &meta()).await.unwrap();
    let token = token_mailed_to(&services, "password_reset", "ada@acme.example.com").await;
    let refused = services.confirm_password_reset(Raw::text(&token), Raw::text("tiny horse 1"), &meta()).await.unwrap_err();
    let messages = field_error(&refused, "password").join(" ");
    assert!(messages.contains("at least 14 characters") && messages.contains("symbol") && !messages.contains("number"), "{messages}");
    services.confirm_password_reset(Raw::text(&token), Raw::text("a much longer horse #1"), &meta()).await.unwrap();
    assert!(services.login(login_input("ada@acme.example.com", "a much longer horse #1"), &meta()).await.is_ok());
}

#[tokio::test]
async fn new_accounts_meet_the_rule_of_the_tenant_that_makes_them() {
    let services = testing::services().await;
    let (_, admin) = tenant_with_admin(&services, "Acme").await;
    set(&services, &admin, json!({"password_policy": {"min_length": 12, "require_uppercase": true}})).await;

    let input = CreateUserInput { email: Raw::text("bob@acme.example.com"), password: Raw::text(PASSWORD), ..Default::default() };
    let refused = services.create_user(&admin, input, &meta()).await.unwrap_err();
    assert!(field_error(&refused, "password").join(" ").contains("uppercase"), "{refused:?}");
    let input = CreateUserInput { email: Raw::text("bob@acme.example.com"), password: Raw::text("Correct horse battery"), ..Default::default() };
    services.create_user(&admin, input, &meta()).await.unwrap();

    let invite = services.invite(&admin, None, InviteInput { email: Raw::text("new@elsewhere.test"), role: Raw::Missing }, &meta()).await.unwrap();
    let accept = |password: &str| AcceptInvitationInput { token: Raw::text(&invite.token), password: Raw::text(password), ..Default::default() };
    let refused = services.accept_invitation(accept("short horse"), &meta()).await.unwrap_err();
    let messages = field_error(&refused, "password").join(" ");
    assert!(messages.contains("at least 12") && messages.contains("uppercase"), "{messages}");
    services.accept_invitation(accept("Long enough horse"), &meta()).await.unwrap();
}

#[tokio::test]
async fn a_password_change_checks_the_current_one_and_ends_every_other_session() {
    let services = testing::services().await;
    let (tenant, admin) = tenant_with_admin(&services, "Acme").await;
    let (pair, _) = services.login(login_input("admin@acme.example.com", PASSWORD), &meta()).await.unwrap();

    let wrong = services.change_password(&admin, Raw::text("not it at all"), Raw::text("a brand new secret"), &meta()).await.unwrap_err();
    assert_eq!(field_error(&wrong, "current_password").len(), 1, "{wrong:?}");
    let missing = services.change_password(&admin, Raw::Missing, Raw::Missing, &meta()).await.unwrap_err();
    assert!(!field_error(&missing, "current_password").is_empty() && !field_error(&missing, "new_password").is_empty());
    let weak = services.change_password(&admin, Raw::text(PASSWORD), Raw::text("short"), &meta()).await.unwrap_err();
    assert!(!field_error(&weak, "new_password").is_empty(), "{weak:?}");

    let version = services.change_password(&admin, Raw::text(PASSWORD), Raw::text("a brand new secret"), &meta()).await.unwrap();
    assert_eq!(version, admin.user.auth_version + 1);
    assert!(services.login(login_input("admin@acme.example.com", PASSWORD), &meta()).await.is_err());
    assert!(services.login(login_input("admin@acme.example.com", "a brand new secret"), &meta()).await.is_ok());
    assert!(services.refresh(Raw::text(&pair.refresh), &meta()).await.is_err(), "refresh tokens end");
    assert!(services.actor_from_access_token(&pair.access, &meta()).await.is_err(), "access tokens end");
    let actions = services.db().read().await.unwrap().audit_actions(tenant.id).await.unwrap();
    assert!(actions.contains(&crate::domain::AuditAction::PasswordChanged));

    let key_input = ApiKeyInput { name: Raw::text("ci"), scopes: RawList::Items(vec!["*".into()]), expires_days: Raw::Missing };
    let admin = services.actor_for(admin.user_id, Some(tenant.id)).await.unwrap().unwrap();
    let key = services.create_api_key(&admin, key_input, &meta()).await.unwrap();
    let key_actor = services.actor_from_api_key(&key.secret, &meta()).await.unwrap();
    let by_key = services.change_password(&key_actor, Raw::text("a brand new secret"), Raw::text("another new secret"), &meta()).await;
    assert!(matches!(by_key, Err(ServiceError::Forbidden(_))), "{by_key:?}");
}

#[tokio::test]
async fn the_history_refuses_recent_passwords_and_forgets_older_ones() {
    let services = testing::services().await;
    let (_, admin) = tenant_with_admin(&services, "Acme").await;
    set(&services, &admin, json!({"password_policy": {"password_history": 2}})).await;
    let change = |from: &'static str, to: &'static str| {
        let (services, admin) = (services.clone(), admin.clone());
        async move { services.change_password(&admin, Raw::text(from), Raw::text(to), &meta()).await }
    };
    // The current password (set before history was kept) counts.
    let same = change(PASSWORD, PASSWORD).await.unwrap_err();
    assert!(field_error(&same, "new_password")[0].contains("used recently"), "{same:?}");
    change(PASSWORD, "second secret phrase").await.unwrap();
    change("second secret phrase", "third secret phrase").await.unwrap();
    let recent = change("third secret phrase", "second secret phrase").await.unwrap_err();
    assert!(!field_error(&recent, "new_password").is_empty(), "{recent:?}");
    // Two kept: the third and the second. The first has been forgotten.
    change("third secret phrase", PASSWORD).await.unwrap();
    let rows = services.db().read().await.unwrap().password_history(admin.user_id, 24).await.unwrap();
    assert_eq!(rows.len(), 2, "only as many hashes as the policy asks for");
    assert!(rows.iter().all(|h| h.starts_with("$argon2id$")), "hashes, never plaintext");

    // A reset is checked the same way, on its own field.
    services.request_password_reset(Raw::text("admin@acme.example.com"), &meta()).await.unwrap();
    let token = token_mailed_to(&services, "password_reset", "admin@acme.example.com").await;
    let reused = services.confirm_password_reset(Raw::text(&token), Raw::text("third secret phrase"), &meta()).await.unwrap_err();
    assert!(!field_error(&reused, "password").is_empty(), "{reused:?}");
}

#[tokio::test]
async fn tokens_never_outlive_the_idle_timeout_and_an_idle_refresh_is_refused() {
    let services = testing::services().await;
    let (_, admin) = tenant_with_admin(&services, "Acme").await;
    set(&services, &admin, json!({"session_timeout_minutes": 5})).await;
    let (pair, _) = services.login(login_input("admin@acme.example.com", PASSWORD), &meta()).await.unwrap();
    let claims = services.jwt().verify(&pair.access, crate::auth::TokenKind::Access).unwrap();
    assert!(claims.exp - claims.iat <= 300, "access token lives {} s", claims.exp - claims.iat);

    let fresh = services.refresh(Raw::text(&pair.refresh), &meta()).await.unwrap();
    let mut tx = services.db().write().await.unwrap();
    tx.age_refresh_tokens_for_tests(admin.user_id, 6).await.unwrap();
    tx.commit().await.unwrap();
    let idle = services.refresh(Raw::text(&fresh.refresh), &meta()).await;
    assert!(matches!(idle, Err(ServiceError::Refused { reason: Refusal::SessionExpired, .. })), "{idle:?}");
    assert!(services.refresh(Raw::text(&fresh.refresh), &meta()).await.is_err(), "and it stays over");

    let actor = services.actor_for(admin.user_id, admin.tenant_id).await.unwrap().unwrap();
    let now = chrono::Utc::now();
    assert!(actor.idle_expired(now - chrono::Duration::minutes(6), now));
    assert!(!actor.idle_expired(now - chrono::Duration::minutes(4), now));
    assert!(!actor.idle_expired(now - chrono::Duration::minutes(5), now), "exactly the timeout is not past it");
    assert!(!admin.idle_expired(now - chrono::Duration::days(60), now), "without a timeout, never");
}

#[tokio::test]
async fn the_cli_reset_clears_the_network_list_and_keeps_the_rest() {
    let services = testing::services().await;
    let (tenant, admin) = tenant_with_admin(&services, "Acme").await;
    set(&services, &admin, json!({"password_policy": {"min_length": 16}})).await;
    only_ten(&services, &admin).await;
    let reset = services.reset_security_policy(&tenant.slug).await.unwrap();
    assert!(reset.allowed_ip_ranges.is_empty() && !reset.require_2fa);
    assert_eq!(reset.password_policy.min_length, 16);
    assert!(services.actor_for_request(admin.user_id, Some(tenant.id), &from("192.0.2.1")).await.unwrap().is_some());
    assert!(matches!(services.reset_security_policy("no-such-tenant").await, Err(ServiceError::NotFound)));
    let actions = services.db().read().await.unwrap().audit_actions(tenant.id).await.unwrap();
    assert_eq!(actions.iter().filter(|a| *a == "security_policy_changed").count(), 3);
}

#[tokio::test]
async fn a_history_from_before_the_current_password_still_counts_it_and_keeps_to_its_length() {
    let services = testing::services().await;
    let (_, admin) = tenant_with_admin(&services, "Acme").await;
    set(&services, &admin, json!({"password_policy": {"password_history": 2}})).await;
    // Two older hashes, newest first "older one", then "oldest one"; the current password
    // (set at sign-up, when nothing was kept) is not among them.
    let mut tx = services.db().write().await.unwrap();
    let now = chrono::Utc::now();
    for (age, password) in [(2, "oldest one here"), (1, "older one here")] {
        let hash = services.hasher().hash(password).await.unwrap();
        tx.remember_password(admin.user_id, &hash, None, 2, now - chrono::Duration::minutes(age)).await.unwrap();
    }
    tx.commit().await.unwrap();
    let change = |to: &'static str| {
        let (services, admin) = (services.clone(), admin.clone());
        async move { services.change_password(&admin, Raw::text(PASSWORD), Raw::text(to), &meta()).await }
    };
    // The last two passwords are the current one and "older one here".
    assert!(!field_error(&change(PASSWORD).await.unwrap_err(), "new_password").is_empty());
    assert!(!field_error(&change("older one here").await.unwrap_err(), "new_password").is_empty());
    change("oldest one here").await.expect("third from last: forgotten");
}
