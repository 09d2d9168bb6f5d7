//! Two-factor sign-in with TOTP: enrolment, the second step (replay, recovery codes, expiry,
//! attempt limit), removal, and the `require_2fa` gate.

use serde_json::json;

use super::*;
use crate::{
    domain::{Permission, TotpSecret},
    service::{ApiKeyInput, MfaPending, RawList, SignInStep},
    testing, Refusal, ServiceError,
};

/// A six-digit code that is none of the codes accepted now (`n` picks among them).
fn not_a_code(secret: &TotpSecret, n: u32) -> String {
    let live: Vec<String> = (-2..=2).map(|d| secret.code_at_step(step_now() + d)).collect();
    (n..).map(|k| format!("{:06}", (k * 7919) % 1_000_000)).find(|c| !live.contains(c)).unwrap()
}

fn step_now() -> i64 {
    chrono::Utc::now().timestamp().div_euclid(30)
}

/// Turns TOTP on for `actor`; returns the secret and the recovery codes.
async fn enrol(services: &Services, actor: &Actor) -> (TotpSecret, Vec<String>) {
    let (secret, codes, _) = enrol_at_step(services, actor).await;
    (secret, codes)
}

/// [`enrol`], also returning the time step whose code confirmed it (which may be a step
/// before the current one by the time the caller looks).
async fn enrol_at_step(services: &Services, actor: &Actor) -> (TotpSecret, Vec<String>, i64) {
    let enrolment = services.start_totp(actor).await.unwrap();
    let secret = TotpSecret::from_base32(&enrolment.secret).unwrap();
    let step = step_now();
    let codes = services.confirm_totp(actor, Raw::text(secret.code_at_step(step)), &meta()).await.unwrap();
    (secret, codes, step)
}

async fn pending(services: &Services, email: &str) -> MfaPending {
    match services.sign_in(login_input(email, PASSWORD), &meta(), true).await.unwrap() {
        SignInStep::SecondFactor(pending) => pending,
        SignInStep::Done(..) => panic!("signed in without the second factor"),
    }
}

fn is_field(result: &Result<(Profile, Option<crate::service::TokenPair>), ServiceError>, field: &str) -> bool {
    matches!(result, Err(ServiceError::Validation(f)) if f.get(field).is_some())
}

use crate::service::Profile;

#[tokio::test]
async fn enrolment_needs_a_right_first_code_and_gives_ten_recovery_codes_once() {
    let services = testing::services().await;
    let (_, admin) = tenant_with_admin(&services, "Acme").await;
    let enrolment = services.start_totp(&admin).await.unwrap();
    assert!(enrolment.otpauth_uri.starts_with("otpauth://totp/Tenantry:admin%40acme.example.com?secret="), "{}", enrolment.otpauth_uri);
    let secret = TotpSecret::from_base32(&enrolment.secret).unwrap();
    let stored = services.db().read().await.unwrap().totp_factor(admin.user_id).await.unwrap().unwrap();
    assert!(!stored.secret_sealed.contains(&enrolment.secret), "the secret is encrypted at rest");

    let wrong = services.confirm_totp(&admin, Raw::text(not_a_code(&secret, 0)), &meta()).await;
    assert!(matches!(&wrong, Err(ServiceError::Validation(f)) if f.get("code").is_some()), "{wrong:?}");
    // Until confirmed, signing in is as before.
    assert!(matches!(services.sign_in(login_input("admin@acme.example.com", PASSWORD), &meta(), true).await.unwrap(), SignInStep::Done(..)));

    let codes = services.confirm_totp(&admin, Raw::text(secret.code_at_step(step_now())), &meta()).await.unwrap();
    assert_eq!(codes.len(), 10);
    let mut unique = codes.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), 10);
    assert!(matches!(services.start_totp(&admin).await, Err(ServiceError::Conflict { .. })), "on already: remove it first");
    assert!(matches!(services.confirm_totp(&admin, Raw::text("123456"), &meta()).await, Err(ServiceError::Conflict { .. })));
    let status = services.two_factor_status(&admin).await.unwrap();
    assert!(status.totp && status.recovery_codes_left == 10);
    let actions = services.db().read().await.unwrap().audit_actions(admin.tenant_id.unwrap()).await.unwrap();
    assert!(actions.contains(&crate::domain::AuditAction::TwoFactorEnabled));
}

#[tokio::test]
async fn sign_in_asks_for_a_code_that_works_once_and_recovery_codes_work_once() {
    let services = testing::services().await;
    let (tenant, admin) = tenant_with_admin(&services, "Acme").await;
    let (secret, codes, confirmed_at) = enrol_at_step(&services, &admin).await;
    assert!(matches!(services.login(login_input("admin@acme.example.com", PASSWORD), &meta()).await, Err(ServiceError::Forbidden(_))));

    let first = pending(&services, "admin@acme.example.com").await;
    assert_eq!(first.methods, vec!["totp", "recovery_code"]);
    // The code used to confirm cannot be used again; the next step's code can (drift of one).
    // Both by the step that confirmed, not the clock now: a 30 s boundary passing since then
    // made "the code used" a fresh one and failed the test.
    let used = secret.code_at_step(confirmed_at);
    let replay = services.complete_sign_in(Raw::text(&first.mfa_token), Raw::text(&used), Raw::Missing, &meta(), true).await;
    assert!(is_field(&replay, "code"), "{replay:?}");
    let next = secret.code_at_step(confirmed_at + 1);
    let (profile, pair) = services.complete_sign_in(Raw::text(&first.mfa_token), Raw::text(&next), Raw::Missing, &meta(), true).await.unwrap();
    assert_eq!(profile.tenant_id, Some(tenant.id));
    assert!(services.actor_from_access_token(&pair.unwrap().access, &meta()).await.is_ok());
    let again = services.complete_sign_in(Raw::text(&first.mfa_token), Raw::text(&next), Raw::Missing, &meta(), true).await;
    assert!(matches!(again, Err(ServiceError::Unauthenticated(_))), "the token is single-use: {again:?}");

    let second = pending(&services, "admin@acme.example.com").await;
    let replayed = services.complete_sign_in(Raw::text(&second.mfa_token), Raw::text(&next), Raw::Missing, &meta(), true).await;
    assert!(is_field(&replayed, "code"), "a code is accepted once: {replayed:?}");
    let by_recovery = services.complete_sign_in(Raw::text(&second.mfa_token), Raw::Missing, Raw::text(codes[0].to_uppercase()), &meta(), true).await;
    assert!(by_recovery.is_ok(), "{by_recovery:?}");
    let third = pending(&services, "admin@acme.example.com").await;
    let reused = services.complete_sign_in(Raw::text(&third.mfa_token), Raw::Missing, Raw::text(&codes[0]), &meta(), true).await;
    assert!(is_field(&reused, "recovery_code"), "{reused:?}");
    assert_eq!(services.two_factor_status(&admin).await.unwrap().recovery_codes_left, 9);

    let missing = services.complete_sign_in(Raw::text(&third.mfa_token), Raw::Missing, Raw::Missing, &meta(), true).await;
    assert!(is_field(&missing, "code"));
    let garbage = services.complete_sign_in(Raw::text("not a token"), Raw::text("123456"), Raw::Missing, &meta(), true).await;
    assert!(is_field(&garbage, "mfa_token"));
    let unknown = services.complete_sign_in(Raw::text(crate::auth::random_token()), Raw::text("123456"), Raw::Missing, &meta(), true).await;
    assert!(matches!(unknown, Err(ServiceError::Unauthenticated(_))));
}

#[tokio::test]
async fn an_mfa_token_expires_and_five_wrong_codes_spend_it() {
    let services = testing::services().await;
    let (_, admin) = tenant_with_admin(&services, "Acme").await;
    let (secret, codes) = enrol(&services, &admin).await;
    let good = || secret.code_at_step(step_now() + 1);
    let wrong = |n: u32| not_a_code(&secret, n);

    let spent = pending(&services, "admin@acme.example.com").await;
    for n in 0..4 {
        let answer = services.complete_sign_in(Raw::text(&spent.mfa_token), Raw::text(wrong(n)), Raw::Missing, &meta(), true).await;
        assert!(is_field(&answer, "code"), "attempt {n}: {answer:?}");
    }
    let fifth = services.complete_sign_in(Raw::text(&spent.mfa_token), Raw::text(wrong(4)), Raw::Missing, &meta(), true).await;
    assert!(matches!(fifth, Err(ServiceError::Unauthenticated(_))), "{fifth:?}");
    let after = services.complete_sign_in(Raw::text(&spent.mfa_token), Raw::text(good()), Raw::Missing, &meta(), true).await;
    assert!(matches!(after, Err(ServiceError::Unauthenticated(_))), "spent, even with the right code");

    let expired = services.expired_copy_of_mfa_token(&pending(&services, "admin@acme.example.com").await.mfa_token);
    let late = services.complete_sign_in(Raw::text(&expired), Raw::text(good()), Raw::Missing, &meta(), true).await;
    assert!(matches!(late, Err(ServiceError::Unauthenticated(_))), "{late:?}");

    // A step signed in with a recovery code is used: the right code is refused on it too.
    let used = pending(&services, "admin@acme.example.com").await;
    services.complete_sign_in(Raw::text(&used.mfa_token), Raw::Missing, Raw::text(&codes[0]), &meta(), true).await.unwrap();
    let again = services.complete_sign_in(Raw::text(&used.mfa_token), Raw::text(good()), Raw::Missing, &meta(), true).await;
    assert!(matches!(again, Err(ServiceError::Unauthenticated(_))), "{again:?}");

    // The right code refused on the spent and the used step was not used up by either.
    let fresh = pending(&services, "admin@acme.example.com").await;
    let signed_in = services.complete_sign_in(Raw::text(&fresh.mfa_token), Raw::text(good()), Raw::Missing, &meta(), true).await;
    assert!(signed_in.is_ok(), "{signed_in:?}");
}

/// The password step writes nothing: its token carries the pending step. The first answer
/// writes the step's row (a wrong one hands it back with one attempt counted); a token sealed
/// for another server's key, or altered, is refused without a row.
#[tokio::test]
async fn the_password_step_writes_nothing_and_the_first_answer_records_the_step() {
    let services = testing::services().await;
    let (tenant, admin) = tenant_with_admin(&services, "Acme").await;
    let (secret, _) = enrol(&services, &admin).await;
    let step = pending(&services, "admin@acme.example.com").await;
    let hash = crate::auth::token_hash(&step.mfa_token);
    let row = || async { services.db().read().await.unwrap().mfa_challenge(&hash).await.unwrap() };
    assert!(row().await.is_none(), "nothing written by the password step");

    let wrong = services.complete_sign_in(Raw::text(&step.mfa_token), Raw::text(not_a_code(&secret, 0)), Raw::Missing, &meta(), true).await;
    assert!(is_field(&wrong, "code"), "{wrong:?}");
    let answered = row().await.expect("the first answer writes the step");
    assert_eq!((answered.user_id, answered.tenant_id, answered.attempts, answered.used_at), (admin.user_id, Some(tenant.id), 1, None));

    let (profile, _) = services.complete_sign_in(Raw::text(&step.mfa_token), Raw::text(secret.code_at_step(step_now() + 1)), Raw::Missing, &meta(), true).await.unwrap();
    assert_eq!(profile.tenant_id, Some(tenant.id), "lands in the tenant the token carries");
    assert!(row().await.unwrap().used_at.is_some());

    let other_server = crate::service::PendingStep { user: admin.user_id, tenant: Some(tenant.id), expires_at: chrono::Utc::now() + chrono::Duration::minutes(5) }
        .seal(b"another server's secret key, long enough");
    let mut altered = pending(&services, "admin@acme.example.com").await.mfa_token.into_bytes();
    let last = altered.len() - 1;
    altered[last] = if altered[last] == b'A' { b'B' } else { b'A' };
    for token in [other_server, String::from_utf8(altered).unwrap()] {
        let refused = services.complete_sign_in(Raw::text(&token), Raw::text(secret.code_at_step(step_now() + 1)), Raw::Missing, &meta(), true).await;
        assert!(matches!(refused, Err(ServiceError::Unauthenticated(_))), "{refused:?}");
        assert!(services.db().read().await.unwrap().mfa_challenge(&crate::auth::token_hash(&token)).await.unwrap().is_none());
    }
}

/// An account removed between the two steps (its only tenant purged): the answer is the
/// token's 401, not an error from the row that can no longer name it.
#[tokio::test]
async fn a_step_whose_account_is_gone_is_refused() {
    let services = testing::services().await;
    let (tenant, admin) = tenant_with_admin(&services, "Acme").await;
    let (secret, _) = enrol(&services, &admin).await;
    let step = pending(&services, "admin@acme.example.com").await;
    let mut tx = services.db().write().await.unwrap();
    assert_eq!(tx.purge_tenant(tenant.id).await.unwrap(), 1, "the admin had no other tenant");
    tx.commit().await.unwrap();
    let late = services.complete_sign_in(Raw::text(&step.mfa_token), Raw::text(secret.code_at_step(step_now() + 1)), Raw::Missing, &meta(), true).await;
    assert!(matches!(late, Err(ServiceError::Unauthenticated(_))), "{late:?}");
}

/// The second step signs in as the account stands when it is answered, not as it stood at
/// the password step: a role granted in between comes with it, and a tenant suspended in
/// between lets nobody in.
#[tokio::test]
async fn the_second_step_signs_in_as_the_account_stands_when_answered() {
    let services = testing::services().await;
    let (tenant, admin) = tenant_with_admin(&services, "Acme").await;
    let (secret, codes) = enrol(&services, &admin).await;
    let step = pending(&services, "admin@acme.example.com").await;
    let grant = crate::service::AssignRoleInput { user: Raw::text(admin.user_id.to_string()), role: Raw::text("ANALYST") };
    services.assign_role(&admin, grant, &meta()).await.unwrap();
    let (profile, _) = services.complete_sign_in(Raw::text(&step.mfa_token), Raw::text(secret.code_at_step(step_now() + 1)), Raw::Missing, &meta(), true).await.unwrap();
    let roles: Vec<&str> = profile.roles.iter().map(|r| r.as_str()).collect();
    assert_eq!(roles, ["ADMIN", "ANALYST"]);

    let step = pending(&services, "admin@acme.example.com").await;
    let (root, _) = services.create_superuser("root@platform.test", Some(PASSWORD)).await.unwrap();
    let root = services.actor_for(root.id, None).await.unwrap().unwrap();
    services.set_tenant_suspended(&root, tenant.id, true, &meta()).await.unwrap();
    let refused = services.complete_sign_in(Raw::text(&step.mfa_token), Raw::Missing, Raw::text(&codes[0]), &meta(), true).await;
    assert!(matches!(refused, Err(ServiceError::Unauthenticated(_))), "a right answer, refused: {refused:?}");
}

/// Two answers to one pending sign-in at once (two recovery codes, from two tabs): the
/// challenge is claimed by one of them, so exactly one signs in, and the loser's recovery code
/// is not spent.
#[tokio::test]
async fn two_answers_at_once_sign_in_once() {
    let services = testing::services().await;
    let (_, admin) = tenant_with_admin(&services, "Acme").await;
    let (_, codes) = enrol(&services, &admin).await;
    for round in 0..3 {
        let (pending, meta) = (pending(&services, "admin@acme.example.com").await, meta());
        let answer = |code: &str| services.complete_sign_in(Raw::text(&pending.mfa_token), Raw::Missing, Raw::text(code), &meta, true);
        let (a, b) = tokio::join!(answer(&codes[2 * round]), answer(&codes[2 * round + 1]));
        assert!(a.is_ok() != b.is_ok(), "round {round}: exactly one wins: {a:?} / {b:?}");
        let loser = if a.is_ok() { b } else { a };
        assert!(matches!(loser, Err(ServiceError::Unauthenticated(_))), "the other finds the token used: {loser:?}");
        assert_eq!(services.two_factor_status(&admin).await.unwrap().recovery_codes_left, 9 - round as i64, "one code spent per round");
    }
}

/// A right code is recorded all at once or not at all (`Db::answer_with_code`, one statement
/// on PostgreSQL): its time step, the claim of the pending step, the audit row and the refresh
/// token. A step claimed meanwhile still spends the code's time step but signs nobody in; a
/// time step used meanwhile writes nothing.
#[tokio::test]
async fn a_right_code_is_recorded_all_at_once_or_not_at_all() {
    use crate::store::{CodeAnswer, CodeOutcome, NewAuditEntry, NewRefreshToken};
    let services = testing::services().await;
    let (tenant, admin) = tenant_with_admin(&services, "Acme").await;
    enrol(&services, &admin).await;
    let db = services.db();
    let logins = || async {
        let actions = db.read().await.unwrap().audit_actions(tenant.id).await.unwrap();
        actions.iter().filter(|a| **a == crate::domain::AuditAction::LoginSucceeded).count()
    };
    let audit = NewAuditEntry {
        tenant_id: Some(tenant.id),
        actor_id: Some(admin.user_id),
        actor_email: Some(admin.email.clone()),
        action: crate::domain::AuditAction::LoginSucceeded,
        resource_type: "user",
        resource_id: Some(admin.user_id.to_string()),
        metadata: json!({"second_factor": "totp"}),
        ip_address: None,
        user_agent: None,
    };
    let at = chrono::Utc::now();
    let refresh = |n: u128| NewRefreshToken {
        jti: uuid::Uuid::from_u128(n),
        family_id: uuid::Uuid::from_u128(n),
        user_id: admin.user_id,
        tenant_id: Some(tenant.id),
        expires_at: at + chrono::Duration::days(1),
        created_at: at,
    };
    let (first, second) = (refresh(1), refresh(2));
    let token = pending(&services, "admin@acme.example.com").await.mfa_token;
    let hash = crate::auth::token_hash(&token);
    let step = step_now() + 1;
    let answer = CodeAnswer {
        hash: &hash,
        user: admin.user_id,
        tenant: Some(tenant.id),
        expires_at: at + chrono::Duration::minutes(5),
        max_attempts: 5,
        time_step: step,
        audit: &audit,
        refresh: Some(&first),
        now: at,
    };
    let before = logins().await;

    assert_eq!(db.answer_with_code(db.read().await.unwrap(), answer).await.unwrap(), CodeOutcome::SignedIn);
    assert_eq!(logins().await, before + 1);
    let mut read = db.read().await.unwrap();
    assert!(read.refresh_token(first.jti).await.unwrap().is_some(), "the refresh token is recorded");
    assert!(read.mfa_challenge(&hash).await.unwrap().unwrap().used_at.is_some(), "the step is claimed");
    assert_eq!(read.totp_factor(admin.user_id).await.unwrap().unwrap().last_used_step, Some(step));
    drop(read);

    // The same pending step again, with a later time step: claimed already.
    assert_eq!(db.answer_with_code(db.read().await.unwrap(), CodeAnswer { time_step: step + 1, refresh: Some(&second), ..answer }).await.unwrap(), CodeOutcome::Spent);
    assert_eq!(logins().await, before + 1, "no audit row");
    let mut read = db.read().await.unwrap();
    assert!(read.refresh_token(second.jti).await.unwrap().is_none(), "no refresh token");
    assert_eq!(read.totp_factor(admin.user_id).await.unwrap().unwrap().last_used_step, Some(step + 1), "the time step is spent");
    drop(read);

    // A new pending step with a time step already used: nothing is written, not even its row.
    let other = crate::auth::token_hash(&pending(&services, "admin@acme.example.com").await.mfa_token);
    for used in [step, step + 1] {
        assert_eq!(db.answer_with_code(db.read().await.unwrap(), CodeAnswer { hash: &other, time_step: used, refresh: Some(&second), ..answer }).await.unwrap(), CodeOutcome::StepUsed);
    }
    let mut read = db.read().await.unwrap();
    assert!(read.mfa_challenge(&other).await.unwrap().is_none(), "the step is not claimed");
    assert!(read.refresh_token(second.jti).await.unwrap().is_none());
    drop(read);
    assert_eq!(logins().await, before + 1);

    // It can still be answered with a code of a later step.
    assert_eq!(db.answer_with_code(db.read().await.unwrap(), CodeAnswer { hash: &other, time_step: step + 2, refresh: Some(&second), ..answer }).await.unwrap(), CodeOutcome::SignedIn);
    assert_eq!(logins().await, before + 2);
}

/// One right code answered twice at once (two tabs) signs in once. Answering two sign-ins
/// of the account, the other is told the code is wrong (its own step stays open); answering
/// one sign-in twice, the other finds the step used.
#[tokio::test]
async fn one_code_answered_twice_at_once_signs_in_once() {
    let services = testing::services().await;
    let (_, admin) = tenant_with_admin(&services, "Acme").await;
    for (email, same_step) in [("two-steps@acme.example.com", false), ("one-step@acme.example.com", true)] {
        let person = member(&services, &admin, email).await;
        let (secret, _) = enrol(&services, &person).await;
        // The step after the enrolment's: the one code that is sure to be accepted now.
        let code = secret.code_at_step(step_now() + 1);
        let (a, b) = (pending(&services, email).await, pending(&services, email).await);
        let second_token = if same_step { &a.mfa_token } else { &b.mfa_token };
        let meta = meta();
        let answer = |token: &str| services.complete_sign_in(Raw::text(token), Raw::text(&code), Raw::Missing, &meta, true);
        let (first, second) = tokio::join!(answer(&a.mfa_token), answer(second_token));
        assert!(first.is_ok() != second.is_ok(), "{email}: exactly one wins: {first:?} / {second:?}");
        let loser = if first.is_ok() { second } else { first };
        match same_step {
            false => assert!(is_field(&loser, "code"), "{email}: {loser:?}"),
            true => assert!(matches!(loser, Err(ServiceError::Unauthenticated(_))), "{email}: {loser:?}"),
        }
    }
}

#[tokio::test]
async fn removal_needs_the_password_and_a_code() {
    let services = testing::services().await;
    let (_, admin) = tenant_with_admin(&services, "Acme").await;
    let (secret, codes) = enrol(&services, &admin).await;
    let code = secret.code_at_step(step_now() + 1);
    let bad_password = services.remove_totp(&admin, Raw::text("wrong password"), Raw::text(&code), &meta()).await.unwrap_err();
    assert!(matches!(&bad_password, ServiceError::Validation(f) if f.get("password").is_some()), "{bad_password:?}");
    let bad_code = services.remove_totp(&admin, Raw::text(PASSWORD), Raw::text(not_a_code(&secret, 0)), &meta()).await.unwrap_err();
    assert!(matches!(&bad_code, ServiceError::Validation(f) if f.get("code").is_some()), "{bad_code:?}");
    services.remove_totp(&admin, Raw::text(PASSWORD), Raw::text(&codes[3]), &meta()).await.unwrap();
    assert!(!services.two_factor_status(&admin).await.unwrap().totp);
    assert!(matches!(services.sign_in(login_input("admin@acme.example.com", PASSWORD), &meta(), true).await.unwrap(), SignInStep::Done(..)));
    assert!(matches!(services.remove_totp(&admin, Raw::text(PASSWORD), Raw::text(&code), &meta()).await, Err(ServiceError::NotFound)));
}

#[tokio::test]
async fn require_2fa_gates_members_without_a_factor_until_they_enrol() {
    let services = testing::services().await;
    let (tenant, admin) = tenant_with_admin(&services, "Acme").await;
    enrol(&services, &admin).await;
    let admin = services.actor_for(admin.user_id, Some(tenant.id)).await.unwrap().unwrap();
    let key_input = ApiKeyInput { name: Raw::text("ci"), scopes: RawList::Items(vec!["members:read".into()]), expires_days: Raw::Missing };
    let key = services.create_api_key(&admin, key_input, &meta()).await.unwrap();
    member(&services, &admin, "bob@acme.example.com").await;
    services.set_security_policy(&admin, tenant.id, &json!({"require_2fa": true}), &meta()).await.unwrap();

    // Bob can still sign in, but may do nothing in the tenant until he enrols.
    let (_, profile) = services.login(login_input("bob@acme.example.com", PASSWORD), &meta()).await.unwrap();
    let bob = services.actor_for(profile.user.id, Some(tenant.id)).await.unwrap().unwrap();
    let gated = bob.require(Permission::MembersRead);
    assert!(matches!(gated, Err(ServiceError::Refused { reason: Refusal::TwoFactorEnrollmentRequired, .. })), "{gated:?}");
    assert!(services.list_users(&bob, crate::store::PageRequest::first()).await.is_err());
    assert!(matches!(services.security_policy(&bob, tenant.id).await, Err(ServiceError::Refused { .. })));
    // Acting from another tenant of his and naming this one by id changes nothing.
    let (other, other_admin) = tenant_with_admin(&services, "Globex").await;
    joins_by_invitation(&services, &other_admin, "bob@acme.example.com", None).await;
    let bob_elsewhere = services.actor_for(bob.user_id, Some(other.id)).await.unwrap().unwrap();
    let named = services.security_policy(&bob_elsewhere, tenant.id).await;
    assert!(matches!(named, Err(ServiceError::Refused { reason: Refusal::TwoFactorEnrollmentRequired, .. })), "{named:?}");
    let _ = services.me(&bob);
    // Enrolment is open to him, and lifts the gate.
    enrol(&services, &bob).await;
    let bob = services.actor_for(bob.user_id, Some(tenant.id)).await.unwrap().unwrap();
    assert!(services.list_users(&bob, crate::store::PageRequest::first()).await.is_ok());
    // The admin has a factor; API keys are machines and are not asked.
    assert!(services.list_users(&admin, crate::store::PageRequest::first()).await.is_ok());
    let key_actor = services.actor_from_api_key(&key.secret, &meta()).await.unwrap();
    assert!(services.list_users(&key_actor, crate::store::PageRequest::first()).await.is_ok());
    // The CLI reset lifts the requirement for support.
    services.reset_security_policy(&tenant.slug).await.unwrap();
    assert!(!services.security_policy(&admin, tenant.id).await.unwrap().require_2fa);
}
