//! Webhooks: events written with their change, fanned out to subscribers, delivered signed and
//! in order to a real receiver that checks signatures with the Standard Webhooks reference
//! implementation, retried, given up, and kept to their owners.

use chrono::{DateTime, Duration, SubsecRound, Utc};
use serde_json::{json, Value};

use super::*;
use crate::{
    service::{AcceptInvitationInput, AssignRoleInput, InviteInput, IssuedWebhook, RawList, WebhookInput},
    store::Webhook,
    testing,
    webhooks::{test_receiver::Receiver, worker, Sender, WebhookWorkerOptions},
    ServiceError,
};

/// Services that may send to the local receiver (plain http, loopback).
async fn local_services() -> Services {
    testing::services_with(&[("WEBHOOK_ALLOW_HTTP", "1"), ("WEBHOOK_ALLOW_PRIVATE", "1")]).await
}

fn sender() -> Sender {
    Sender::new(true, true)
}

fn hook_input(url: &str, events: &[&str]) -> WebhookInput {
    WebhookInput { url: Raw::text(url), events: RawList::Items(events.iter().map(|e| e.to_string()).collect()), ..Default::default() }
}

async fn invite(services: &Services, admin: &Actor, email: &str) -> String {
    let input = InviteInput { email: Raw::text(email), role: Raw::text("VIEWER") };
    services.invite(admin, None, input, &meta()).await.expect("invite").token
}

async fn accept(services: &Services, token: &str) {
    let input = AcceptInvitationInput { token: Raw::text(token), password: Raw::text(PASSWORD), ..Default::default() };
    services.accept_invitation(input, &meta()).await.expect("accept");
}

/// Passes of the worker at `at` until one does nothing more.
async fn run(services: &Services, at: DateTime<Utc>) -> worker::Pass {
    let options = WebhookWorkerOptions::for_services(services);
    let mut total = worker::Pass::default();
    loop {
        let pass = worker::pass_at(services, &sender(), &options, at).await.expect("worker pass");
        total.events += pass.events;
        total.deliveries_made += pass.deliveries_made;
        total.sent += pass.sent;
        total.failed_attempts += pass.failed_attempts;
        total.given_up += pass.given_up;
        total.expired_invitations += pass.expired_invitations;
        if pass.events == 0 && pass.endpoints == 0 && pass.expired_invitations == 0 {
            return total;
        }
    }
}

async fn hook_row(services: &Services, hook: &IssuedWebhook) -> Webhook {
    services.db().read().await.unwrap().webhook(hook.webhook.tenant_id, hook.webhook.id).await.unwrap().unwrap()
}

fn types(received: &[crate::webhooks::test_receiver::Received]) -> Vec<String> {
    received.iter().map(|r| r.event_type()).collect()
}

#[tokio::test]
async fn each_change_announces_its_events_once_and_a_refused_change_announces_none() {
    let services = local_services().await;
    let receiver = Receiver::start();
    let (tenant, admin) = tenant_with_admin(&services, "Acme").await;
    let hook = services.create_webhook(&admin, hook_input(&receiver.url("/in"), &["*"]), &meta()).await.unwrap();
    receiver.verify_with(&[&hook.secret]);

    let token = invite(&services, &admin, "bob@acme.com").await;
    accept(&services, &token).await;
    let bob = services.db().read().await.unwrap().user_by_email(&crate::domain::Email::parse("bob@acme.com").unwrap()).await.unwrap().unwrap();
    let (assignment, _) = services.assign_role(&admin, AssignRoleInput { user: Raw::text(bob.id.to_string()), role: Raw::text("ANALYST") }, &meta()).await.unwrap();
    services.revoke_role(&admin, &assignment.id.to_string(), &meta()).await.unwrap();
    let carol = services.invite(&admin, None, InviteInput { email: Raw::text("carol@acme.com"), role: Raw::Missing }, &meta()).await.unwrap();
    services.revoke_invitation(&admin, carol.invitation.id, &meta()).await.unwrap();
    services.remove_member(&admin, tenant.id, bob.id, &meta()).await.unwrap();
    // Refused changes write nothing, so announce nothing: inviting a member, revoking twice.
    let before = services.db().read().await.unwrap().unfanned_events(100).await.unwrap().len();
    assert!(services.invite(&admin, None, InviteInput { email: Raw::text(admin.email.clone()), role: Raw::Missing }, &meta()).await.is_err());
    assert!(services.revoke_invitation(&admin, carol.invitation.id, &meta()).await.is_err());
    assert_eq!(services.db().read().await.unwrap().unfanned_events(100).await.unwrap().len(), before);

    let pass = run(&services, Utc::now()).await;
    assert_eq!(pass.sent, 7, "{pass:?}");
    let received = receiver.accepted();
    assert_eq!(
        types(&received),
        ["member.invited", "member.joined", "role.assigned", "role.revoked", "member.invited", "invitation.revoked", "member.removed"].map(str::to_owned),
        "in the order of the changes, each once"
    );
    for delivery in &received {
        assert_eq!(delivery.verified.get(&hook.secret), Some(&true), "signed as the reference implementation verifies");
        let body = delivery.json();
        assert_eq!(body["id"].as_str(), delivery.id.as_deref(), "the body's id is the Webhook-Id");
        assert_eq!(body["tenant_id"], json!(tenant.id.0));
        assert!(body["created_at"].as_str().is_some_and(|t| t.ends_with('Z')));
    }
    let joined = received[1].json();
    assert_eq!(joined["data"]["email"], "bob@acme.com");
    assert_eq!(joined["data"]["user_id"], json!(bob.id.0));
    assert_eq!(joined["data"]["role"], "VIEWER");
    assert_eq!(received[0].json()["data"]["actor"], json!({"type": "user", "id": admin.user_id.0, "email": admin.email}));
    // Nothing is sent twice.
    assert_eq!(run(&services, Utc::now()).await.sent, 0);
}

/// A pass claims at most `endpoints_per_pass` due endpoints and says it left work, so the
/// worker goes straight on instead of waiting for new events to gather; the pass that takes
/// the rest says it did not.
#[tokio::test]
async fn a_pass_that_claims_as_many_endpoints_as_it_may_says_it_left_work() {
    let services = local_services().await;
    let receiver = Receiver::start();
    let (_, admin) = tenant_with_admin(&services, "Acme").await;
    for n in 0..3 {
        services.create_webhook(&admin, hook_input(&receiver.url(&format!("/in/{n}")), &["member.invited"]), &meta()).await.unwrap();
    }
    invite(&services, &admin, "bob@acme.com").await;
    let options = WebhookWorkerOptions { endpoints_per_pass: 2, ..WebhookWorkerOptions::for_services(&services) };
    let at = Utc::now();
    let first = worker::pass_at(&services, &sender(), &options, at).await.unwrap();
    assert_eq!((first.deliveries_made, first.endpoints, first.sent), (3, 2, 2), "one invitation, three endpoints hearing of it");
    assert!(first.left_work(&options), "a third endpoint is still due");
    let second = worker::pass_at(&services, &sender(), &options, at).await.unwrap();
    assert_eq!((second.endpoints, second.sent), (1, 1));
    assert!(!second.left_work(&options), "everything that was due went out");
    assert_eq!(receiver.received().len(), 3);
}

#[tokio::test]
async fn a_receiver_that_fails_three_times_then_succeeds_gets_each_event_exactly_once_more() {
    let services = local_services().await;
    let receiver = Receiver::start();
    let (_, admin) = tenant_with_admin(&services, "Acme").await;
    let hook = services.create_webhook(&admin, hook_input(&receiver.url("/in"), &["member.invited"]), &meta()).await.unwrap();
    receiver.verify_with(&[&hook.secret]);
    receiver.fail_next(3);
    invite(&services, &admin, "bob@acme.com").await;
    invite(&services, &admin, "carol@acme.com").await;
    let t0 = Utc::now();
    let first = run(&services, t0).await;
    assert_eq!((first.sent, first.failed_attempts), (0, 1), "the first attempt fails and holds back the second event");
    assert_eq!(run(&services, t0 + Duration::seconds(2)).await.failed_attempts, 0, "not due again before its backoff");
    // Retry on a delivery waiting out its backoff tries it now.
    let id = hook.webhook.id.to_string();
    let waiting = services.webhook_deliveries(&admin, &id, crate::store::PageRequest::first()).await.unwrap().items.into_iter().find(|d| d.attempts == 1).unwrap();
    let retried = services.retry_webhook_delivery(&admin, &id, &waiting.id.to_string(), &meta()).await.unwrap();
    assert_eq!((retried.status.as_str(), retried.attempts), ("pending", 1), "still pending, its attempts kept");
    assert_eq!(run(&services, t0 + Duration::seconds(2)).await.failed_attempts, 1);
    // Each later pass is past any backoff so far (5 s, 10 s …, jittered).
    assert_eq!(run(&services, t0 + Duration::minutes(1)).await.failed_attempts, 1);
    let last = run(&services, t0 + Duration::minutes(2)).await;
    assert_eq!((last.sent, last.failed_attempts), (2, 0));
    let received = receiver.received();
    assert_eq!(received.iter().map(|r| r.status).collect::<Vec<_>>(), [500, 500, 500, 204, 204]);
    let ids: Vec<_> = received.iter().map(|r| r.id.clone().unwrap()).collect();
    assert!(ids[..4].iter().all(|id| *id == ids[0]), "every retry carries the same Webhook-Id: {ids:?}");
    assert_ne!(ids[3], ids[4]);
    assert!(received.iter().all(|r| r.verified[&hook.secret]), "each attempt is signed afresh and verifies");
    assert_eq!(received[3].json()["data"]["email"], "bob@acme.com");
    assert_eq!(received[4].json()["data"]["email"], "carol@acme.com", "in order, after the retries");
    let deliveries = services.webhook_deliveries(&admin, &hook.webhook.id.to_string(), crate::store::PageRequest::first()).await.unwrap();
    let bob = deliveries.items.iter().find(|d| d.event_id.to_string() == ids[0]).unwrap();
    assert_eq!((bob.status.as_str(), bob.attempts), ("succeeded", 4));
    assert_eq!(bob.attempt_log.0.iter().map(|a| a.status).collect::<Vec<_>>(), [Some(500), Some(500), Some(500), Some(204)]);
    assert_eq!(bob.last_error, None);
    assert!(bob.attempt_log.0[0].error.as_deref().is_some_and(|e| e.contains("500")), "{:?}", bob.attempt_log.0[0]);
    assert_eq!(run(&services, t0 + Duration::hours(2)).await.sent, 0, "nothing twice");
}

#[tokio::test]
async fn a_receiver_down_for_a_while_gets_every_event_in_order_exactly_as_signed() {
    let services = local_services().await;
    let mut receiver = Receiver::start();
    let (tenant, admin) = tenant_with_admin(&services, "Acme").await;
    let hook = services.create_webhook(&admin, hook_input(&receiver.url("/hooks"), &["member.*"]), &meta()).await.unwrap();
    receiver.verify_with(&[&hook.secret]);
    receiver.down();
    let t0 = Utc::now();
    let emails: Vec<String> = (1..=5).map(|i| format!("person{i}@acme.com")).collect();
    for email in &emails {
        invite(&services, &admin, email).await;
    }
    let down = run(&services, t0).await;
    assert_eq!((down.deliveries_made, down.sent, down.failed_attempts), (5, 0, 1));
    let deliveries = services.webhook_deliveries(&admin, &hook.webhook.id.to_string(), crate::store::PageRequest::first()).await.unwrap();
    let failing = deliveries.items.iter().find(|d| d.attempts == 1).unwrap();
    assert!(failing.last_error.as_deref().is_some_and(|e| e.contains("connection")), "{:?}", failing.last_error);
    assert_eq!(failing.last_status, None);
    run(&services, t0 + Duration::minutes(1)).await;
    receiver.up();
    let back = run(&services, t0 + Duration::minutes(10)).await;
    assert_eq!(back.sent, 5);
    // The five were recorded together: each row has its own attempt, not its neighbour's.
    let recorded = services.webhook_deliveries(&admin, &hook.webhook.id.to_string(), crate::store::PageRequest::first()).await.unwrap().items;
    assert_eq!(recorded.len(), 5);
    for delivery in &recorded {
        let statuses: Vec<_> = delivery.attempt_log.0.iter().map(|a| a.status).collect();
        let expected = if delivery.id == failing.id { vec![None, None, Some(204)] } else { vec![Some(204)] };
        assert_eq!((delivery.status.as_str(), delivery.attempts as usize, statuses), ("succeeded", expected.len(), expected));
        assert_eq!((delivery.last_status, delivery.last_error.as_deref()), (Some(204), None));
        let last = delivery.attempt_log.0.last().unwrap();
        // (PostgreSQL keeps microseconds.)
        let micros = |at: Option<DateTime<Utc>>| at.map(|at| at.trunc_subsecs(6));
        assert_eq!(micros(delivery.completed_at), Some(last.at.trunc_subsecs(6)));
        assert_eq!(delivery.last_duration_ms, Some(last.duration_ms as i32));
        assert_eq!(micros(delivery.first_attempt_at), Some(delivery.attempt_log.0[0].at.trunc_subsecs(6)), "the first attempt's time is kept");
    }
    let accepted = receiver.accepted();
    assert_eq!(accepted.iter().map(|r| r.json()["data"]["email"].as_str().unwrap().to_owned()).collect::<Vec<_>>(), emails, "in event order");
    let mut ids: Vec<_> = accepted.iter().map(|r| r.id.clone()).collect();
    ids.dedup();
    assert_eq!(ids.len(), 5, "each exactly once");
    for delivery in &accepted {
        assert_eq!(delivery.path, "/hooks");
        assert!(delivery.verified[&hook.secret], "verified by standardwebhooks");
        assert_eq!(delivery.json()["tenant_id"], json!(tenant.id.0));
        assert_eq!(delivery.event_type(), "member.invited");
    }
}

#[tokio::test]
async fn three_days_of_failures_give_the_delivery_up_switch_the_endpoint_off_and_tell_the_admins() {
    let services = local_services().await;
    let receiver = Receiver::start();
    receiver.answer_with(503);
    let (_, admin) = tenant_with_admin(&services, "Acme").await;
    let hook = services.create_webhook(&admin, hook_input(&receiver.url("/in"), &["member.invited"]), &meta()).await.unwrap();
    invite(&services, &admin, "bob@acme.com").await;
    invite(&services, &admin, "carol@acme.com").await;
    let t0 = Utc::now();
    assert_eq!(run(&services, t0).await.failed_attempts, 1);
    assert_eq!(run(&services, t0 + Duration::days(2)).await.given_up, 0, "two days are not three");
    let last = run(&services, t0 + Duration::days(3) + Duration::hours(1)).await;
    assert_eq!((last.failed_attempts, last.given_up), (1, 1));
    let row = hook_row(&services, &hook).await;
    assert!(!row.active && row.disabled_at.is_some());
    assert!(row.disabled_reason.as_deref().is_some_and(|r| r.contains("503")), "{:?}", row.disabled_reason);
    let outbox = services.db().read().await.unwrap().outbox().await.unwrap();
    let mail = outbox.iter().find(|m| m.kind == "webhook_disabled").expect("the admins are told");
    assert_eq!(mail.to_address, admin.email);
    assert!(mail.text_body.contains(&receiver.url("/in")));
    let page = services.webhook_deliveries(&admin, &hook.webhook.id.to_string(), crate::store::PageRequest::first()).await.unwrap();
    let statuses: Vec<&str> = page.items.iter().map(|d| d.status.as_str()).collect();
    assert_eq!(statuses, ["pending", "failed"], "newest first: the second waits, the first was given up");
    // Switched off, it gets nothing; new events are not queued for it.
    invite(&services, &admin, "dave@acme.com").await;
    assert_eq!(run(&services, t0 + Duration::days(4)).await.sent, 0);
    // Switched on again (receiver fixed), what was waiting goes out; Retry sends the failed one.
    receiver.answer_with(200);
    let id = hook.webhook.id.to_string();
    let on = WebhookInput { active: Raw::text("true"), ..Default::default() };
    let updated = services.update_webhook(&admin, &id, on, &meta()).await.unwrap();
    assert!(updated.active && updated.disabled_at.is_none() && updated.disabled_reason.is_none());
    assert_eq!(run(&services, t0 + Duration::days(4)).await.sent, 1);
    let failed = page.items.iter().find(|d| d.status == "failed").unwrap();
    let retried = services.retry_webhook_delivery(&admin, &id, &failed.id.to_string(), &meta()).await.unwrap();
    assert_eq!(retried.status, "pending");
    assert_eq!(run(&services, t0 + Duration::days(4)).await.sent, 1);
    let emails: Vec<String> = receiver.accepted().iter().map(|r| r.json()["data"]["email"].as_str().unwrap().to_owned()).collect();
    assert_eq!(emails, ["carol@acme.com", "bob@acme.com"]);
}

#[tokio::test]
async fn endpoints_on_internal_or_metadata_addresses_or_plain_http_are_refused_when_made_and_when_sent() {
    let strict = testing::services().await;
    let (_, admin) = tenant_with_admin(&strict, "Acme").await;
    let refused = |url: &str| hook_input(url, &["*"]);
    for url in ["https://127.0.0.1/in", "https://10.1.2.3/in", "https://[::1]/in", "https://169.254.169.254/latest/meta-data", "https://localhost/in", "http://hooks.example.com/in", "ftp://hooks.example.com/in", "https://u:p@hooks.example.com/"] {
        match strict.create_webhook(&admin, refused(url), &meta()).await {
            Err(ServiceError::Validation(fields)) => assert!(fields.get("url").is_some(), "{url}: {fields:?}"),
            other => panic!("{url} was not refused: {other:?}"),
        }
    }
    // Allowing private targets still refuses the metadata service.
    let lax = local_services().await;
    let (_, lax_admin) = tenant_with_admin(&lax, "Acme").await;
    for url in ["https://169.254.169.254/latest/meta-data", "http://[fd00:ec2::254]/", "https://0.0.0.0/"] {
        let error = lax.create_webhook(&lax_admin, refused(url), &meta()).await.unwrap_err();
        assert!(matches!(&error, ServiceError::Validation(f) if f.get("url").is_some()), "{url}: {error:?}");
    }
    // At delivery the rule is applied again, to the addresses the name resolves to then: an
    // endpoint saved while private targets were allowed gets nothing once they are not.
    let receiver = Receiver::start();
    lax.create_webhook(&lax_admin, hook_input(&receiver.url("/in"), &["*"]), &meta()).await.unwrap();
    lax.create_webhook(&lax_admin, hook_input(&format!("http://localhost:{}/named", receiver.port), &["*"]), &meta()).await.unwrap();
    invite(&lax, &lax_admin, "bob@acme.com").await;
    let options = WebhookWorkerOptions::for_services(&lax);
    let pass = worker::pass_at(&lax, &Sender::new(false, true), &options, Utc::now()).await.unwrap();
    assert_eq!((pass.sent, pass.failed_attempts), (0, 2));
    assert!(receiver.received().is_empty(), "nothing reached the loopback receiver");
    let mut errors = Vec::new();
    for hook in lax.list_webhooks(&lax_admin, false).await.unwrap() {
        let page = lax.webhook_deliveries(&lax_admin, &hook.id.to_string(), crate::store::PageRequest::first()).await.unwrap();
        errors.push(page.items[0].last_error.clone().unwrap());
    }
    assert!(errors[0].starts_with("refused: 127.0.0.1 is a loopback"), "{errors:?}");
    assert!(errors[1].starts_with("refused: localhost resolves to a loopback"), "{errors:?}");
    // And redirects are not followed: a 3xx is a failure.
    receiver.answer_with(302);
    let redirected = local_services().await;
    let (_, boss) = tenant_with_admin(&redirected, "Acme").await;
    redirected.create_webhook(&boss, hook_input(&receiver.url("/moved"), &["*"]), &meta()).await.unwrap();
    invite(&redirected, &boss, "bob@acme.com").await;
    assert_eq!(run(&redirected, Utc::now()).await.failed_attempts, 1);
}

#[tokio::test]
async fn endpoints_and_deliveries_stay_with_their_tenant_and_need_tenant_write() {
    let services = local_services().await;
    let receiver = Receiver::start();
    let (_, alice) = tenant_with_admin(&services, "Acme").await;
    let (_, mallory) = tenant_with_admin(&services, "Evil").await;
    let hook = services.create_webhook(&alice, hook_input(&receiver.url("/in"), &["*"]), &meta()).await.unwrap();
    let evil = services.create_webhook(&mallory, hook_input(&receiver.url("/evil"), &["*"]), &meta()).await.unwrap();
    invite(&services, &alice, "bob@acme.com").await;
    run(&services, Utc::now()).await;
    // Another tenant's endpoint taking every event hears nothing of this one's.
    assert_eq!(receiver.received().iter().map(|r| r.path.as_str()).collect::<Vec<_>>(), ["/in"]);
    assert!(services.webhook_deliveries(&mallory, &evil.webhook.id.to_string(), crate::store::PageRequest::first()).await.unwrap().items.is_empty());
    let delivery = services.webhook_deliveries(&alice, &hook.webhook.id.to_string(), crate::store::PageRequest::first()).await.unwrap().items[0].id.to_string();
    let id = hook.webhook.id.to_string();
    // Another tenant's admin: not found, whatever the call.
    assert!(matches!(services.webhook(&mallory, &id).await, Err(ServiceError::NotFound)));
    assert!(matches!(services.update_webhook(&mallory, &id, WebhookInput { active: Raw::text("false"), ..Default::default() }, &meta()).await, Err(ServiceError::NotFound)));
    assert!(matches!(services.delete_webhook(&mallory, &id, &meta()).await, Err(ServiceError::NotFound)));
    assert!(matches!(services.test_webhook(&mallory, &id).await, Err(ServiceError::NotFound)));
    assert!(matches!(services.rotate_webhook_secret(&mallory, &id, &meta()).await, Err(ServiceError::NotFound)));
    assert!(matches!(services.webhook_deliveries(&mallory, &id, crate::store::PageRequest::first()).await, Err(ServiceError::NotFound)));
    assert!(matches!(services.retry_webhook_delivery(&mallory, &id, &delivery, &meta()).await, Err(ServiceError::NotFound)));
    assert_eq!(services.list_webhooks(&mallory, false).await.unwrap().iter().map(|w| w.id).collect::<Vec<_>>(), [evil.webhook.id], "its own only");
    // Its own delivery id under another endpoint is not found either.
    let other = services.create_webhook(&alice, hook_input(&receiver.url("/other"), &["*"]), &meta()).await.unwrap();
    assert!(matches!(services.retry_webhook_delivery(&alice, &other.webhook.id.to_string(), &delivery, &meta()).await, Err(ServiceError::NotFound)));
    // A member without tenant:write, and a key without it, may not; a key with it may.
    let viewer = member(&services, &alice, "viewer@acme.com").await;
    assert!(matches!(services.list_webhooks(&viewer, false).await, Err(ServiceError::Forbidden(_))));
    assert!(matches!(services.webhook(&viewer, &id).await, Err(ServiceError::Forbidden(_))));
    let key_input = |scopes: &[&str]| crate::service::ApiKeyInput { name: Raw::text("ci"), scopes: RawList::Items(scopes.iter().map(|s| s.to_string()).collect()), expires_days: Raw::Missing };
    let reader = services.create_api_key(&alice, key_input(&["members:read"]), &meta()).await.unwrap();
    let reader = services.actor_from_api_key(&reader.secret, &meta()).await.unwrap();
    assert!(matches!(services.list_webhooks(&reader, false).await, Err(ServiceError::Forbidden(_))));
    let writer = services.create_api_key(&alice, key_input(&["tenant:write"]), &meta()).await.unwrap();
    let writer = services.actor_from_api_key(&writer.secret, &meta()).await.unwrap();
    assert_eq!(services.list_webhooks(&writer, false).await.unwrap().len(), 2);
    assert!(matches!(services.list_webhooks(&writer, true).await, Err(ServiceError::Forbidden(_))), "keys never manage the platform's");
    // The secret is sealed at rest.
    let row = hook_row(&services, &hook).await;
    assert!(!row.secret.contains(hook.secret.trim_start_matches("whsec_")) && row.secret.starts_with("v1."));
}

#[tokio::test]
async fn platform_endpoints_hear_tenant_events_of_every_tenant_and_nothing_else() {
    let services = local_services().await;
    let receiver = Receiver::start();
    let (root, _) = services.create_superuser("root@platform.test", Some(PASSWORD)).await.unwrap();
    let root = services.actor_for(root.id, None).await.unwrap().unwrap();
    let platform = WebhookInput { platform: Raw::text("true"), ..hook_input(&receiver.url("/platform"), &["*"]) };
    let hook = services.create_webhook(&root, platform, &meta()).await.unwrap();
    assert_eq!(hook.webhook.tenant_id, None);
    receiver.verify_with(&[&hook.secret]);
    let (acme, alice) = tenant_with_admin(&services, "Acme").await;
    let (globex, _) = tenant_with_admin(&services, "Globex").await;
    invite(&services, &alice, "bob@acme.com").await;
    // Globex's whole life: suspended and back, renamed, on a plan, deleted and restored.
    services.set_tenant_suspended(&root, globex.id, true, &meta()).await.unwrap();
    services.set_tenant_suspended(&root, globex.id, false, &meta()).await.unwrap();
    let rename = crate::service::TenantSettingsInput { display_name: Raw::text("Globex Corporation"), ..Default::default() };
    services.update_tenant_settings(&root, globex.id, rename, &meta()).await.unwrap();
    let plan = crate::service::PlanChange { plan: Raw::text("basic"), ..Default::default() };
    services.change_plan(&root, globex.id, plan, &meta()).await.unwrap();
    services.delete_tenant(Some(&root), globex.id, Raw::text("Globex"), &meta()).await.unwrap();
    services.restore_tenant(Some(&root), globex.id, &meta()).await.unwrap();
    run(&services, Utc::now()).await;
    let got: Vec<(String, Value)> = receiver.accepted().iter().map(|r| (r.event_type(), r.json()["tenant_id"].clone())).collect();
    let globex_events = ["suspended", "reactivated", "updated", "updated", "deleted", "reactivated"].map(|e| (format!("tenant.{e}"), json!(globex.id.0)));
    assert_eq!(got[..2], [("tenant.created".to_owned(), json!(acme.id.0)), ("tenant.created".to_owned(), json!(globex.id.0))]);
    assert_eq!(got[2..], globex_events, "each change once, from the tenant's trail (deletion and restore are written in both)");
    // Tenants' admins neither see nor reach it; member events are not for it.
    assert!(services.list_webhooks(&alice, false).await.unwrap().is_empty());
    assert!(matches!(services.webhook(&alice, &hook.webhook.id.to_string()).await, Err(ServiceError::NotFound)));
    assert!(matches!(services.list_webhooks(&alice, true).await, Err(ServiceError::Forbidden(_))));
    let member_events = WebhookInput { platform: Raw::text("true"), ..hook_input(&receiver.url("/p2"), &["member.joined"]) };
    assert!(matches!(services.create_webhook(&root, member_events, &meta()).await, Err(ServiceError::Validation(f)) if f.get("events").is_some()));
    let id = hook.webhook.id.to_string();
    let to_members = WebhookInput { events: RawList::Items(vec!["member.joined".into()]), ..Default::default() };
    assert!(matches!(services.update_webhook(&root, &id, to_members, &meta()).await, Err(ServiceError::Validation(f)) if f.get("events").is_some()));
    let to_suspensions = WebhookInput { events: RawList::Items(vec!["tenant.suspended".into()]), ..Default::default() };
    services.update_webhook(&root, &id, to_suspensions, &meta()).await.expect("tenant events stay allowed");
    assert_eq!(services.list_webhooks(&root, true).await.unwrap().len(), 1);
}

#[tokio::test]
async fn a_rotated_secret_keeps_signing_beside_the_new_one_for_a_day() {
    let services = local_services().await;
    let receiver = Receiver::start();
    let (_, admin) = tenant_with_admin(&services, "Acme").await;
    let hook = services.create_webhook(&admin, hook_input(&receiver.url("/in"), &["member.invited"]), &meta()).await.unwrap();
    let rotated = services.rotate_webhook_secret(&admin, &hook.webhook.id.to_string(), &meta()).await.unwrap();
    assert_ne!(rotated.secret, hook.secret);
    assert!(rotated.webhook.previous_secret_expires_at.is_some());
    receiver.verify_with(&[&hook.secret, &rotated.secret]);
    invite(&services, &admin, "bob@acme.com").await;
    let t0 = Utc::now();
    run(&services, t0).await;
    invite(&services, &admin, "carol@acme.com").await;
    run(&services, t0 + Duration::hours(25)).await;
    let received = receiver.accepted();
    assert_eq!(received.len(), 2);
    assert_eq!(received[0].signature.as_deref().unwrap().split(' ').count(), 2, "both secrets sign during the overlap");
    assert!(received[0].verified[&hook.secret] && received[0].verified[&rotated.secret]);
    assert_eq!(received[1].signature.as_deref().unwrap().split(' ').count(), 1);
    assert!(!received[1].verified[&hook.secret] && received[1].verified[&rotated.secret], "after a day only the new one");
}

#[tokio::test]
async fn a_test_pings_one_endpoint_and_an_expired_invitation_is_announced_once() {
    let services = local_services().await;
    let receiver = Receiver::start();
    let (_, admin) = tenant_with_admin(&services, "Acme").await;
    let one = services.create_webhook(&admin, hook_input(&receiver.url("/one"), &["*"]), &meta()).await.unwrap();
    services.create_webhook(&admin, hook_input(&receiver.url("/two"), &["*"]), &meta()).await.unwrap();
    let ping = services.test_webhook(&admin, &one.webhook.id.to_string()).await.unwrap();
    assert_eq!((ping.event_type.as_str(), ping.status.as_str()), ("ping", "pending"));
    run(&services, Utc::now()).await;
    let received = receiver.accepted();
    assert_eq!(received.len(), 1);
    assert_eq!((received[0].path.as_str(), received[0].event_type()), ("/one", "ping".to_owned()));
    services.update_webhook(&admin, &one.webhook.id.to_string(), WebhookInput { active: Raw::text("false"), ..Default::default() }, &meta()).await.unwrap();
    assert!(matches!(services.test_webhook(&admin, &one.webhook.id.to_string()).await, Err(ServiceError::Conflict { .. })));

    let token = invite(&services, &admin, "late@acme.com").await;
    let later = Utc::now() + Duration::days(8);
    let pass = run(&services, later).await;
    assert_eq!(pass.expired_invitations, 1);
    assert_eq!(run(&services, later + Duration::days(1)).await.expired_invitations, 0, "announced once");
    let expired: Vec<_> = receiver.accepted().into_iter().filter(|r| r.event_type() == "invitation.expired").collect();
    assert_eq!(expired.len(), 1);
    assert_eq!(expired[0].path, "/two");
    assert_eq!(expired[0].json()["data"]["email"], "late@acme.com");
    // The audit trail has it too, by nobody.
    let mut tx = services.db().read().await.unwrap();
    let query = crate::store::AuditQuery { tenant: admin.tenant_id.unwrap(), action: Some("invitation_expired".into()), actor_id: None, actor_email: None, since: None, before: None };
    assert_eq!(tx.audit_page(&query, crate::store::PageRequest::first()).await.unwrap().rows.len(), 1);
    drop(tx);
    // An invitation expired by hand is announced by that, not again by the worker.
    let other = invite(&services, &admin, "early@acme.com").await;
    services.expire_invitation(&other).await.unwrap();
    assert_eq!(run(&services, later + Duration::days(2)).await.expired_invitations, 0);
    let _ = token;
}

#[tokio::test]
async fn a_description_is_trimmed_kept_to_500_characters_and_free_of_control_characters() {
    let services = local_services().await;
    let (_, admin) = tenant_with_admin(&services, "Acme").await;
    let with = |description: String| WebhookInput { description: Raw::text(description), ..hook_input("http://127.0.0.1:9/hook", &["*"]) };
    let made = services.create_webhook(&admin, with(format!("  {}  ", "é".repeat(500))), &meta()).await.expect("exactly 500 characters fit");
    assert_eq!(made.webhook.description, "é".repeat(500), "kept trimmed");
    let lines = services.create_webhook(&admin, with("CRM sync\nowner: ops".into()), &meta()).await.expect("line breaks are allowed");
    assert_eq!(lines.webhook.description, "CRM sync\nowner: ops");
    for bad in ["x".repeat(501), "bell\u{7}".to_owned(), "tab\tseparated".to_owned()] {
        match services.create_webhook(&admin, with(bad.clone()), &meta()).await {
            Err(ServiceError::Validation(fields)) => assert!(fields.get("description").is_some(), "{bad:?}: {fields:?}"),
            other => panic!("{bad:?}: {other:?}"),
        }
    }
}

#[tokio::test]
async fn a_superuser_inside_a_tenant_manages_that_tenants_endpoints_unless_asking_for_the_platforms() {
    let services = local_services().await;
    let (acme, _) = tenant_with_admin(&services, "Acme").await;
    let (root, _) = services.create_superuser("root@platform.test", Some(PASSWORD)).await.unwrap();
    let inside = services.actor_for(root.id, Some(acme.id)).await.unwrap().unwrap();
    let tenants = services.create_webhook(&inside, hook_input("http://127.0.0.1:9/a", &["*"]), &meta()).await.unwrap();
    assert_eq!(tenants.webhook.tenant_id, Some(acme.id));
    let platform = WebhookInput { platform: Raw::text("true"), ..hook_input("http://127.0.0.1:9/b", &["tenant.created"]) };
    assert_eq!(services.create_webhook(&inside, platform, &meta()).await.unwrap().webhook.tenant_id, None);
    let outside = services.actor_for(root.id, None).await.unwrap().unwrap();
    assert_eq!(services.create_webhook(&outside, hook_input("http://127.0.0.1:9/c", &["*"]), &meta()).await.unwrap().webhook.tenant_id, None);
}

#[tokio::test]
async fn an_update_audits_each_changed_field_with_before_and_after_and_a_no_op_audits_nothing() {
    let services = local_services().await;
    let (_, admin) = tenant_with_admin(&services, "Acme").await;
    let hook = services.create_webhook(&admin, hook_input("http://127.0.0.1:9/old", &["member.joined"]), &meta()).await.unwrap().webhook;
    let id = hook.id.to_string();
    let updates = || async {
        let filter = crate::service::AuditFilter { action: Raw::text("webhook_updated"), ..Default::default() };
        services.list_audit_log(&admin, filter, crate::store::PageRequest::first()).await.unwrap().items
    };
    let change = WebhookInput {
        url: Raw::text("http://127.0.0.1:9/new"),
        events: RawList::Items(vec!["*".into()]),
        description: Raw::text("CRM"),
        active: Raw::text("false"),
        ..Default::default()
    };
    services.update_webhook(&admin, &id, change.clone(), &meta()).await.unwrap();
    let audited = updates().await;
    assert_eq!(audited.len(), 1);
    assert_eq!(
        audited[0].metadata,
        json!({
            "url": {"from": "http://127.0.0.1:9/old", "to": "http://127.0.0.1:9/new"},
            "events": {"from": ["member.joined"], "to": ["*"]},
            "active": {"from": true, "to": false},
            "description": {"from": "", "to": "CRM"},
        })
    );
    services.update_webhook(&admin, &id, change, &meta()).await.unwrap();
    services.update_webhook(&admin, &id, WebhookInput::default(), &meta()).await.unwrap();
    assert_eq!(updates().await.len(), 1, "saving what is already there changes nothing and records nothing");
    let only_active = WebhookInput { active: Raw::text("true"), ..Default::default() };
    services.update_webhook(&admin, &id, only_active, &meta()).await.unwrap();
    assert_eq!(updates().await[0].metadata, json!({"active": {"from": false, "to": true}}), "newest first, naming only what changed");
    // The picker offers every event of the catalogue.
    assert_eq!(services.webhook_event_catalogue(), crate::domain::EventType::ALL.to_vec());
}
