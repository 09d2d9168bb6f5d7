//! Tenant metrics and the platform's analytics: counted from the audit trail and the API-call
//! counters, the same whether a day is rolled up or counted live.

use chrono::{Duration, Utc};

use super::*;
use crate::{
    domain::{Metric, TenantId},
    service::{AcceptInvitationInput, ApiKeyInput, InviteInput, RawList},
    store::{NewAuditEntry, PageRequest},
    testing, ServiceError,
};

async fn past_action(services: &Services, tenant: TenantId, actor: &Actor, action: &'static str, days_ago: i64) {
    let mut tx = services.db().write().await.unwrap();
    let entry = NewAuditEntry {
        tenant_id: Some(tenant),
        actor_id: Some(actor.user_id),
        actor_email: Some(actor.email.clone()),
        action: crate::domain::AuditAction::from_stored(action),
        resource_type: "user",
        resource_id: None,
        metadata: serde_json::json!({}),
        ip_address: None,
        user_agent: None,
    };
    tx.insert_audit(&entry, Utc::now() - Duration::days(days_ago)).await.unwrap();
    tx.commit().await.unwrap();
}

fn value(report: &crate::service::MetricsReport, metric: Metric) -> (i64, i64) {
    (report.values[&metric], report.previous[&metric])
}

#[tokio::test]
async fn todays_activity_counts_at_once() {
    let services = testing::services().await;
    let (tenant, admin) = tenant_with_admin(&services, "Acme").await;
    services.login(login_input(&admin.email, PASSWORD), &meta()).await.unwrap();
    services.login(login_input(&admin.email, PASSWORD), &meta()).await.unwrap();
    assert!(services.login(login_input(&admin.email, "wrong password"), &meta()).await.is_err());
    services.settled().await;
    let bob = services.invite(&admin, None, InviteInput { email: Raw::text("bob@acme.com"), role: Raw::Missing }, &meta()).await.unwrap();
    services.invite(&admin, None, InviteInput { email: Raw::text("carol@acme.com"), role: Raw::Missing }, &meta()).await.unwrap();
    let accept = AcceptInvitationInput { token: Raw::text(bob.token), password: Raw::text(PASSWORD), ..Default::default() };
    let bob = services.accept_invitation(accept, &meta()).await.unwrap();
    let dave = member(&services, &admin, "dave@acme.com").await;
    services.remove_member(&admin, tenant.id, dave.user_id, &meta()).await.unwrap();
    let key = ApiKeyInput { name: Raw::text("ci"), scopes: RawList::Items(vec!["members:read".into()]), expires_days: Raw::Missing };
    let key = services.create_api_key(&admin, key, &meta()).await.unwrap();
    for _ in 0..3 {
        services.actor_from_api_key(&key.secret, &meta()).await.unwrap();
    }
    services.flush_api_calls().await.unwrap();

    let report = services.tenant_metrics(&admin, Some(tenant.id), "7d").await.unwrap();
    assert_eq!(report.period.days(), 7);
    assert_eq!(value(&report, Metric::Logins), (2, 0));
    assert_eq!(value(&report, Metric::FailedLogins), (1, 0));
    assert_eq!(value(&report, Metric::InvitationsSent), (2, 0));
    assert_eq!(value(&report, Metric::InvitationsAccepted), (1, 0));
    assert_eq!(value(&report, Metric::MembersAdded), (2, 0), "bob by invitation, dave directly");
    assert_eq!(value(&report, Metric::MembersRemoved), (1, 0));
    assert_eq!(value(&report, Metric::ApiCalls), (3, 0));
    assert_eq!(value(&report, Metric::ActiveUsers), (2, 0), "the admin and bob (who accepted); dave did nothing");
    assert_eq!(report.trend(Metric::Logins), None, "a rise from nothing has no percentage");
    assert_eq!(report.daily.len(), 30);
    assert_eq!(report.daily.last().unwrap().0, Utc::now().date_naive());
    assert_eq!(report.daily.last().unwrap().1[&Metric::Logins], 2);
    let _ = bob;
}

#[tokio::test]
async fn past_days_roll_up_to_the_same_numbers_the_trail_gives_live() {
    let services = testing::services().await;
    let (tenant, admin) = tenant_with_admin(&services, "Acme").await;
    let bob = member(&services, &admin, "bob@acme.com").await;
    // This week: the admin twice (3 and 1 days ago), bob once; the week before: bob twice.
    past_action(&services, tenant.id, &admin, "login_succeeded", 3).await;
    past_action(&services, tenant.id, &admin, "login_succeeded", 1).await;
    past_action(&services, tenant.id, &bob, "login_succeeded", 2).await;
    past_action(&services, tenant.id, &bob, "login_failed", 2).await;
    past_action(&services, tenant.id, &bob, "login_succeeded", 9).await;
    past_action(&services, tenant.id, &bob, "login_succeeded", 10).await;
    past_action(&services, tenant.id, &admin, "member_removed", 12).await;
    let live = services.tenant_metrics(&admin, Some(tenant.id), "7d").await.unwrap();
    assert_eq!(value(&live, Metric::Logins), (3, 2));
    assert_eq!(value(&live, Metric::FailedLogins), (1, 0));
    assert_eq!(value(&live, Metric::MembersRemoved), (0, 1));
    assert_eq!(value(&live, Metric::ActiveUsers), (2, 2), "people are counted once over a period");
    assert_eq!(live.trend(Metric::Logins), Some(50.0));
    assert_eq!(live.trend(Metric::MembersRemoved), Some(-100.0));

    let rolled = services.roll_up_metrics(rollup_moment(), 31).await.unwrap();
    assert!(rolled >= 12, "every day since the oldest row ({rolled})");
    assert_eq!(services.roll_up_metrics(rollup_moment(), 31).await.unwrap(), 0, "each day once");
    let from_rollups = services.tenant_metrics(&admin, Some(tenant.id), "7d").await.unwrap();
    assert_eq!(from_rollups, live, "rolled-up days give what the trail gave");
    // Rolled-up days outlive the audit rows they came from (audit retention).
    let mut tx = services.db().write().await.unwrap();
    tx.purge_audit_before(tenant.id, Utc::now() - Duration::hours(12), 10_000).await.unwrap();
    tx.commit().await.unwrap();
    let after_retention = services.tenant_metrics(&admin, Some(tenant.id), "7d").await.unwrap();
    assert_eq!(value(&after_retention, Metric::Logins), (3, 2));
    let month = services.tenant_metrics(&admin, Some(tenant.id), "30d").await.unwrap();
    assert_eq!(month.values[&Metric::Logins], 5);
    let day = |n: i64| month.daily.iter().find(|(d, _)| *d == (Utc::now() - Duration::days(n)).date_naive()).unwrap().1.clone();
    assert_eq!((day(3)[&Metric::Logins], day(2)[&Metric::ActiveUsers], day(4)[&Metric::Logins]), (1, 1, 0));
}

#[tokio::test]
async fn metrics_are_for_the_tenants_admins_and_analytics_for_the_platform() {
    let services = testing::services().await;
    let (acme, alice) = tenant_with_admin(&services, "Acme").await;
    let (globex, mallory) = tenant_with_admin(&services, "Globex").await;
    let (initech, _) = tenant_with_admin(&services, "Initech").await;
    let viewer = member(&services, &alice, "viewer@acme.com").await;
    assert!(matches!(services.tenant_metrics(&viewer, Some(acme.id), "30d").await, Err(ServiceError::Forbidden(_))));
    assert!(matches!(services.tenant_metrics(&mallory, Some(acme.id), "30d").await, Err(ServiceError::NotFound)));
    match services.tenant_metrics(&alice, Some(acme.id), "1y").await {
        Err(ServiceError::Validation(fields)) => assert!(fields.get("period").is_some()),
        other => panic!("{other:?}"),
    }
    for _ in 0..3 {
        services.login(login_input(&mallory.email, PASSWORD), &meta()).await.unwrap();
    }
    services.login(login_input(&alice.email, PASSWORD), &meta()).await.unwrap();
    assert!(matches!(services.tenant_analytics(&alice, "logins", "30d", PageRequest::first()).await, Err(ServiceError::Forbidden(_))));
    let (root, _) = services.create_superuser("root@platform.test", Some(PASSWORD)).await.unwrap();
    let root = services.actor_for(root.id, None).await.unwrap().unwrap();
    assert_eq!(services.tenant_metrics(&root, Some(acme.id), "30d").await.unwrap().values[&Metric::Logins], 1);
    let (metric, period, page) = services.tenant_analytics(&root, "logins", "30d", PageRequest::first()).await.unwrap();
    assert_eq!((metric, period.days()), (Metric::Logins, 30));
    let rows: Vec<(TenantId, i64)> = page.items.iter().map(|r| (r.tenant_id, r.value)).collect();
    assert_eq!(rows, [(globex.id, 3), (acme.id, 1), (initech.id, 0)], "highest first; tenants with none too");
    assert_eq!(page.count, 3);
    match services.tenant_analytics(&root, "logons", "30d", PageRequest::first()).await {
        Err(ServiceError::Validation(fields)) => assert!(fields.get("metric").is_some()),
        other => panic!("{other:?}"),
    }
    services.roll_up_metrics(rollup_moment() + Duration::days(1), 31).await.unwrap();
    let (_, _, rolled) = services.tenant_analytics(&root, "logins", "7d", PageRequest::first()).await.unwrap();
    assert_eq!(rolled.items, page.items, "the same once rolled up (the counting moves to the roll-ups tomorrow)");
}
