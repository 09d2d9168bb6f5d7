//! Passkeys: registration and removal, signing in with a passkey alone, a passkey as the
//! second factor, and `require_2fa` met by one. The browser's side is a software passkey
//! (`testing::authenticator`) whose answers go through webauthn-rs's real verification.

use serde_json::{json, Value};

use super::*;
use crate::{
    domain::{AuditAction, TotpSecret},
    service::{PasskeyChallenge, SignInStep, TokenPair},
    testing::{self, authenticator::SoftPasskey},
    ServiceError,
};

fn text(value: &Value) -> Raw {
    Raw::text(value.to_string())
}

fn field_error<T: std::fmt::Debug>(result: &Result<T, ServiceError>, field: &str) -> bool {
    matches!(result, Err(ServiceError::Validation(f)) if f.get(field).is_some())
}

/// Registers a new software passkey for `actor`, named `name`.
async fn register(services: &Services, actor: &Actor, name: &str) -> (SoftPasskey, crate::service::PasskeyView) {
    let mut key = SoftPasskey::new();
    let PasskeyChallenge { ceremony, options } = services.start_passkey_registration(actor).await.unwrap();
    let credential = key.register(&options);
    let view = services.finish_passkey_registration(actor, Raw::text(ceremony), Raw::text(name), text(&credential), &meta()).await.unwrap();
    (key, view)
}

async fn sign_in_with(services: &Services, key: &mut SoftPasskey) -> Result<(Profile, Option<TokenPair>), ServiceError> {
    let PasskeyChallenge { ceremony, options } = services.start_passkey_sign_in(&meta()).await.unwrap();
    services.passkey_sign_in(Raw::text(ceremony), text(&key.sign(&options)), None, &meta(), true).await
}

use crate::service::Profile;

#[tokio::test]
async fn a_registered_passkey_is_listed_counts_as_a_factor_and_needs_the_password_to_go() {
    let services = testing::services().await;
    let (tenant, admin) = tenant_with_admin(&services, "Acme").await;
    let PasskeyChallenge { ceremony, options } = services.start_passkey_registration(&admin).await.unwrap();
    let selection = &options["publicKey"]["authenticatorSelection"];
    assert_eq!(selection["residentKey"], "required", "discoverable, to sign in without a password: {options}");
    assert_eq!(selection["userVerification"], "required");
    assert_eq!(options["publicKey"]["rp"]["id"], "localhost");

    let mut key = SoftPasskey::new();
    let credential = key.register(&options);
    let view = services.finish_passkey_registration(&admin, Raw::text(&ceremony), Raw::text(" Laptop "), text(&credential), &meta()).await.unwrap();
    assert_eq!(view.name, "Laptop");
    assert!(view.last_used_at.is_none());
    assert_eq!(key.user_handle, admin.user_id.0.as_bytes().to_vec(), "the passkey names the account by its id");
    // The ceremony is single-use.
    let again = services.finish_passkey_registration(&admin, Raw::text(&ceremony), Raw::Missing, text(&credential), &meta()).await;
    assert!(field_error(&again, "ceremony"), "{again:?}");

    assert_eq!(services.list_passkeys(&admin).await.unwrap(), vec![view.clone()]);
    assert_eq!(services.two_factor_status(&admin).await.unwrap().passkeys, 1);
    let reloaded = services.actor_for(admin.user_id, Some(tenant.id)).await.unwrap().unwrap();
    assert!(reloaded.has_second_factor, "a passkey is a second factor");
    // The next registration excludes it, so a device does not make a second one.
    let next = services.start_passkey_registration(&admin).await.unwrap();
    let excluded: Vec<&str> = next.options["publicKey"]["excludeCredentials"].as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap()).collect();
    assert_eq!(excluded, vec![credential["id"].as_str().unwrap()]);

    // Someone else cannot remove it, and its owner needs the password.
    let other = member(&services, &admin, "bob@acme.example.com").await;
    let id = view.id.to_string();
    assert!(matches!(services.remove_passkey(&other, &id, Raw::text(PASSWORD), &meta()).await, Err(ServiceError::NotFound)));
    let wrong = services.remove_passkey(&admin, &id, Raw::text("not the password"), &meta()).await;
    assert!(field_error(&wrong, "password"), "{wrong:?}");
    assert!(field_error(&services.remove_passkey(&admin, &id, Raw::Missing, &meta()).await, "password"));
    assert_eq!(services.list_passkeys(&admin).await.unwrap().len(), 1);
    services.remove_passkey(&admin, &id, Raw::text(PASSWORD), &meta()).await.unwrap();
    assert!(services.list_passkeys(&admin).await.unwrap().is_empty());
    assert!(matches!(services.remove_passkey(&admin, &id, Raw::text(PASSWORD), &meta()).await, Err(ServiceError::NotFound)));
    assert!(matches!(services.remove_passkey(&admin, "not-an-id", Raw::text(PASSWORD), &meta()).await, Err(ServiceError::NotFound)));
    let reloaded = services.actor_for(admin.user_id, Some(tenant.id)).await.unwrap().unwrap();
    assert!(!reloaded.has_second_factor);

    let actions = services.db().read().await.unwrap().audit_actions(tenant.id).await.unwrap();
    assert!(actions.contains(&AuditAction::PasskeyAdded) && actions.contains(&AuditAction::PasskeyRemoved), "{actions:?}");
}

#[tokio::test]
async fn a_registration_is_refused_for_a_bad_answer_another_origin_or_someone_elses_ceremony() {
    let services = testing::services().await;
    let (_, admin) = tenant_with_admin(&services, "Acme").await;
    let other = member(&services, &admin, "bob@acme.example.com").await;

    let missing = services.finish_passkey_registration(&admin, Raw::Missing, Raw::Missing, Raw::Missing, &meta()).await;
    assert!(field_error(&missing, "ceremony") && field_error(&missing, "credential"), "every missing field at once: {missing:?}");
    let challenge = services.start_passkey_registration(&admin).await.unwrap();
    let garbage = services.finish_passkey_registration(&admin, Raw::text(&challenge.ceremony), Raw::Missing, Raw::text("{\"id\": 1}"), &meta()).await;
    assert!(field_error(&garbage, "credential"), "{garbage:?}");
    let long = services.finish_passkey_registration(&admin, Raw::text(&challenge.ceremony), Raw::text("x".repeat(65)), Raw::text("{}"), &meta()).await;
    assert!(field_error(&long, "name"), "{long:?}");

    // Made on another site: the browser's origin is not ours.
    let mut phished = SoftPasskey::new();
    phished.origin = "https://evil.example".into();
    let answer = phished.register(&challenge.options);
    let refused = services.finish_passkey_registration(&admin, Raw::text(&challenge.ceremony), Raw::Missing, text(&answer), &meta()).await;
    assert!(field_error(&refused, "credential"), "{refused:?}");

    // A ceremony is its starter's alone, and a sign-in's cannot register.
    let challenge = services.start_passkey_registration(&admin).await.unwrap();
    let answer = SoftPasskey::new().register(&challenge.options);
    let stolen = services.finish_passkey_registration(&other, Raw::text(&challenge.ceremony), Raw::Missing, text(&answer), &meta()).await;
    assert!(field_error(&stolen, "ceremony"), "{stolen:?}");
    let sign_in = services.start_passkey_sign_in(&meta()).await.unwrap();
    let wrong_kind = services.finish_passkey_registration(&admin, Raw::text(&sign_in.ceremony), Raw::Missing, text(&answer), &meta()).await;
    assert!(field_error(&wrong_kind, "ceremony"), "{wrong_kind:?}");
    assert!(services.list_passkeys(&admin).await.unwrap().is_empty());
    assert!(services.list_passkeys(&other).await.unwrap().is_empty());

    // One credential belongs to one account.
    let (key, _) = register(&services, &admin, "Laptop").await;
    let mut copy = SoftPasskey::new();
    copy.credential_id = key.credential_id.clone();
    let challenge = services.start_passkey_registration(&other).await.unwrap();
    let taken = services.finish_passkey_registration(&other, Raw::text(&challenge.ceremony), Raw::Missing, text(&copy.register(&challenge.options)), &meta()).await;
    assert!(matches!(taken, Err(ServiceError::Conflict { .. })), "{taken:?}");
}

#[tokio::test]
async fn an_account_holds_at_most_twenty_passkeys() {
    let services = testing::services().await;
    let (_, admin) = tenant_with_admin(&services, "Acme").await;
    for n in 0..crate::service::MAX_PASSKEYS {
        register(&services, &admin, &format!("Key {n}")).await;
    }
    assert!(matches!(services.start_passkey_registration(&admin).await, Err(ServiceError::Conflict { .. })));
}

#[tokio::test]
async fn a_passkey_signs_in_without_a_password_once_per_challenge() {
    let services = testing::services().await;
    let (tenant, admin) = tenant_with_admin(&services, "Acme").await;
    let (mut key, view) = register(&services, &admin, "Laptop").await;

    let PasskeyChallenge { ceremony, options } = services.start_passkey_sign_in(&meta()).await.unwrap();
    assert!(options.get("mediation").is_none(), "asked with a button, not by autofill: {options}");
    assert!(options["publicKey"]["allowCredentials"].as_array().is_none_or(Vec::is_empty), "the device offers its own passkeys");
    let answer = key.sign(&options);
    let (profile, pair) = services.passkey_sign_in(Raw::text(&ceremony), text(&answer), None, &meta(), true).await.unwrap();
    assert_eq!(profile.user.id, admin.user_id);
    assert_eq!(profile.tenant_id, Some(tenant.id));
    let pair = pair.expect("tokens were asked for");
    assert_eq!(services.actor_from_access_token(&pair.access, &meta()).await.unwrap().user_id, admin.user_id);
    let used = services.list_passkeys(&admin).await.unwrap();
    assert!(used[0].last_used_at.is_some() && used[0].id == view.id);
    let actions = services.db().read().await.unwrap().audit_actions(tenant.id).await.unwrap();
    assert_eq!(actions.iter().filter(|a| **a == AuditAction::LoginSucceeded).count(), 1);

    // The same answer again: the ceremony is spent; with a new ceremony, the old signature
    // answers another challenge.
    let replay = services.passkey_sign_in(Raw::text(&ceremony), text(&answer), None, &meta(), true).await;
    assert!(field_error(&replay, "ceremony"), "{replay:?}");
    let fresh = services.start_passkey_sign_in(&meta()).await.unwrap();
    let replay = services.passkey_sign_in(Raw::text(&fresh.ceremony), text(&answer), None, &meta(), true).await;
    assert!(matches!(replay, Err(ServiceError::Unauthenticated(_))), "{replay:?}");
    // A registration's ceremony cannot sign in.
    let registration = services.start_passkey_registration(&admin).await.unwrap();
    let wrong_kind = services.passkey_sign_in(Raw::text(&registration.ceremony), text(&key.sign(&fresh.options)), None, &meta(), true).await;
    assert!(field_error(&wrong_kind, "ceremony"), "{wrong_kind:?}");

    // Still works (the counter went up), and no second factor is asked even with TOTP on.
    let enrolment = services.start_totp(&admin).await.unwrap();
    let secret = TotpSecret::from_base32(&enrolment.secret).unwrap();
    services.confirm_totp(&admin, Raw::text(secret.code_at_step(chrono::Utc::now().timestamp().div_euclid(30))), &meta()).await.unwrap();
    assert!(sign_in_with(&services, &mut key).await.is_ok());
}

#[tokio::test]
async fn an_unknown_or_removed_or_foreign_passkey_does_not_sign_in() {
    let services = testing::services().await;
    let (_, admin) = tenant_with_admin(&services, "Acme").await;
    let (mut key, view) = register(&services, &admin, "Laptop").await;
    let bob = member(&services, &admin, "bob@acme.example.com").await;

    // Never registered, though it claims to be the admin's.
    let mut stranger = SoftPasskey::new();
    stranger.user_handle = admin.user_id.0.as_bytes().to_vec();
    assert!(matches!(sign_in_with(&services, &mut stranger).await, Err(ServiceError::Unauthenticated(_))));
    // The admin's credential presented as Bob's account.
    let mut lying = SoftPasskey::new();
    lying.credential_id = key.credential_id.clone();
    lying.user_handle = bob.user_id.0.as_bytes().to_vec();
    assert!(matches!(sign_in_with(&services, &mut lying).await, Err(ServiceError::Unauthenticated(_))));
    // The right credential id signed by another key.
    let mut forged = SoftPasskey::new();
    forged.credential_id = key.credential_id.clone();
    forged.user_handle = key.user_handle.clone();
    assert!(matches!(sign_in_with(&services, &mut forged).await, Err(ServiceError::Unauthenticated(_))));
    // From another site.
    key.origin = "https://evil.example".into();
    assert!(matches!(sign_in_with(&services, &mut key).await, Err(ServiceError::Unauthenticated(_))));
    key.origin = testing::authenticator::ORIGIN.into();
    assert!(sign_in_with(&services, &mut key).await.is_ok());

    services.remove_passkey(&admin, &view.id.to_string(), Raw::text(PASSWORD), &meta()).await.unwrap();
    assert!(matches!(sign_in_with(&services, &mut key).await, Err(ServiceError::Unauthenticated(_))));
    let bad = services.passkey_sign_in(Raw::text("not a ceremony"), Raw::text("[]"), None, &meta(), true).await;
    assert!(field_error(&bad, "ceremony") && field_error(&bad, "credential"), "{bad:?}");
}

#[tokio::test]
async fn a_passkey_answers_the_second_step_after_a_password() {
    let services = testing::services().await;
    let (_, admin) = tenant_with_admin(&services, "Acme").await;
    let (mut key, _) = register(&services, &admin, "Laptop").await;
    let bob = member(&services, &admin, "bob@acme.example.com").await;
    let (mut bobs_key, _) = register(&services, &bob, "Phone").await;

    let pending = match services.sign_in(login_input("admin@acme.example.com", PASSWORD), &meta(), true).await.unwrap() {
        SignInStep::SecondFactor(pending) => pending,
        SignInStep::Done(..) => panic!("a passkey is a second factor"),
    };
    assert_eq!(pending.methods, vec!["webauthn"]);
    let token = Raw::text(&pending.mfa_token);
    // The challenge comes first.
    let early = services.complete_sign_in_with_passkey(token.clone(), text(&json!({})), &meta(), true).await;
    assert!(field_error(&early, "webauthn"), "{early:?}");
    let options = services.passkey_second_factor_options(token.clone(), &meta()).await.unwrap();
    let allowed: Vec<&str> = options["publicKey"]["allowCredentials"].as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap()).collect();
    assert_eq!(allowed.len(), 1, "only the admin's passkey: {options}");
    // Bob's passkey is not the admin's: a wrong answer, counted.
    let wrong = services.complete_sign_in_with_passkey(token.clone(), text(&bobs_key.sign(&options)), &meta(), true).await;
    assert!(matches!(&wrong, Err(ServiceError::Validation(f)) if f.get("webauthn").is_some_and(|m| m.iter().any(|m| m.contains("passkey could not be verified")))), "{wrong:?}");
    let missing = services.complete_sign_in_with_passkey(token.clone(), Raw::Missing, &meta(), true).await;
    assert!(field_error(&missing, "webauthn"), "{missing:?}");
    // A code cannot answer for an account without an authenticator app.
    assert!(field_error(&services.complete_sign_in(token.clone(), Raw::text("123456"), Raw::Missing, &meta(), true).await, "code"));

    let (profile, pair) = services.complete_sign_in_with_passkey(token.clone(), text(&key.sign(&options)), &meta(), true).await.unwrap();
    assert_eq!(profile.user.id, admin.user_id);
    assert!(pair.is_some());
    // Spent.
    let again = services.complete_sign_in_with_passkey(token.clone(), text(&key.sign(&options)), &meta(), true).await;
    assert!(matches!(again, Err(ServiceError::Unauthenticated(_))), "{again:?}");
    assert!(matches!(services.passkey_second_factor_options(token, &meta()).await, Err(ServiceError::Unauthenticated(_))));

    // With TOTP as well, every method is offered.
    let enrolment = services.start_totp(&admin).await.unwrap();
    let secret = TotpSecret::from_base32(&enrolment.secret).unwrap();
    services.confirm_totp(&admin, Raw::text(secret.code_at_step(chrono::Utc::now().timestamp().div_euclid(30))), &meta()).await.unwrap();
    let pending = match services.sign_in(login_input("admin@acme.example.com", PASSWORD), &meta(), true).await.unwrap() {
        SignInStep::SecondFactor(pending) => pending,
        SignInStep::Done(..) => panic!("a second factor is owed"),
    };
    assert_eq!(pending.methods, vec!["totp", "recovery_code", "webauthn"]);

    // Five wrong answers spend the step.
    let pending = match services.sign_in(login_input("bob@acme.example.com", PASSWORD), &meta(), true).await.unwrap() {
        SignInStep::SecondFactor(pending) => pending,
        SignInStep::Done(..) => panic!("a second factor is owed"),
    };
    let token = Raw::text(&pending.mfa_token);
    for _ in 0..crate::service::MFA_MAX_ATTEMPTS {
        let options = services.passkey_second_factor_options(token.clone(), &meta()).await.unwrap();
        assert!(services.complete_sign_in_with_passkey(token.clone(), text(&key.sign(&options)), &meta(), true).await.is_err());
    }
    assert!(matches!(services.passkey_second_factor_options(token.clone(), &meta()).await, Err(ServiceError::Unauthenticated(_))));
}

#[tokio::test]
async fn an_expired_second_step_gets_no_passkey_challenge() {
    let services = testing::services().await;
    let (_, admin) = tenant_with_admin(&services, "Acme").await;
    let (mut key, _) = register(&services, &admin, "Laptop").await;
    let pending = match services.sign_in(login_input("admin@acme.example.com", PASSWORD), &meta(), true).await.unwrap() {
        SignInStep::SecondFactor(pending) => pending,
        SignInStep::Done(..) => panic!("a passkey is a second factor"),
    };
    let options = services.passkey_second_factor_options(Raw::text(&pending.mfa_token), &meta()).await.unwrap();
    let token = Raw::text(services.expired_copy_of_mfa_token(&pending.mfa_token));
    assert!(matches!(services.passkey_second_factor_options(token.clone(), &meta()).await, Err(ServiceError::Unauthenticated(_))));
    let late = services.complete_sign_in_with_passkey(token, text(&key.sign(&options)), &meta(), true).await;
    assert!(matches!(late, Err(ServiceError::Unauthenticated(_))), "{late:?}");
}

#[tokio::test]
async fn a_passkey_meets_require_2fa() {
    let services = testing::services().await;
    let (tenant, admin) = tenant_with_admin(&services, "Acme").await;
    register(&services, &admin, "Laptop").await;
    services.set_security_policy(&admin, tenant.id, &json!({"require_2fa": true}), &meta()).await.unwrap();
    let bob = member(&services, &admin, "bob@acme.example.com").await;
    assert!(bob.check_enrolment().is_err(), "no factor yet");
    register(&services, &bob, "Phone").await;
    let bob = services.actor_for(bob.user_id, Some(tenant.id)).await.unwrap().unwrap();
    bob.check_enrolment().unwrap();
}

#[tokio::test]
async fn spent_sign_in_steps_and_ceremonies_are_forgotten_after_an_hour() {
    let services = testing::services().await;
    let (_, admin) = tenant_with_admin(&services, "Acme").await;
    register(&services, &admin, "Laptop").await;
    services.start_passkey_sign_in(&meta()).await.unwrap();
    let SignInStep::SecondFactor(pending) = services.sign_in(login_input("admin@acme.example.com", PASSWORD), &meta(), true).await.unwrap() else {
        panic!("a passkey is a second factor");
    };
    // A pending second step has a row once something answers it or asks for its passkey
    // challenge (signing in with the password writes none).
    services.passkey_second_factor_options(Raw::text(&pending.mfa_token), &meta()).await.unwrap();
    let now = chrono::Utc::now();
    let mut tx = services.db().write().await.unwrap();
    assert_eq!(tx.forget_spent_sign_in_steps(now).await.unwrap(), 0, "all still live");
    // Ceremonies and steps live five minutes: an hour on, the registration's, the sign-in's
    // ceremony and the pending second step all go.
    assert_eq!(tx.forget_spent_sign_in_steps(now + chrono::Duration::minutes(6)).await.unwrap(), 3);
    tx.commit().await.unwrap();
}

#[tokio::test]
async fn passkeys_are_off_with_a_relying_party_that_does_not_fit_and_the_rest_still_works() {
    // The origin (localhost) is not under the configured domain.
    let services = testing::services_with(&[("WEBAUTHN_RP_ID", "example.com")]).await;
    assert_eq!(services.passkey_domain(), None);
    let (_, admin) = tenant_with_admin(&services, "Acme").await;
    assert!(matches!(services.start_passkey_registration(&admin).await, Err(ServiceError::Unavailable(_))));
    assert!(matches!(services.start_passkey_sign_in(&meta()).await, Err(ServiceError::Unavailable(_))));
    assert!(services.list_passkeys(&admin).await.unwrap().is_empty());
    assert!(matches!(services.sign_in(login_input("admin@acme.example.com", PASSWORD), &meta(), true).await, Ok(SignInStep::Done(..))));
    let on = testing::services().await;
    assert_eq!(on.passkey_domain(), Some("localhost"));
}
