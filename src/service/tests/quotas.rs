//! Plans, quotas, feature flags, settings and branding, subdomains.

use std::sync::Arc;

use serde_json::{json, Map, Value};

use super::*;
use crate::{
    domain::FlagSource,
    service::{CreateUserInput, InviteInput, PlanChange, PlanInput, TenantSettingsInput},
    testing, ServiceError,
};

async fn superuser(services: &Services) -> Actor {
    let (root, _) = services.create_superuser("root@platform.test", Some(PASSWORD)).await.unwrap();
    services.actor_for(root.id, None).await.unwrap().unwrap()
}

async fn set_plan(services: &Services, root: &Actor, tenant: crate::domain::TenantId, plan: &str, limits: Option<Value>, force: bool) -> Result<(), ServiceError> {
    let change = PlanChange { plan: Raw::text(plan), limits, force };
    services.change_plan(root, tenant, change, &meta()).await.map(drop)
}

fn invite(email: &str) -> InviteInput {
    InviteInput { email: Raw::text(email), role: Raw::Missing }
}

/// The quota-alert mails (their subjects) and `quota_threshold_reached` audit rows so far.
async fn alerts_of(services: &Services, tenant: crate::domain::TenantId) -> (Vec<String>, usize) {
    let mut tx = services.db().read().await.unwrap();
    let mails = tx.outbox().await.unwrap().iter().filter(|e| e.kind == "quota_alert").map(|e| e.subject.clone()).collect();
    let rows = tx.audit_actions(tenant).await.unwrap().iter().filter(|a| *a == "quota_threshold_reached").count();
    (mails, rows)
}

fn object(value: Value) -> Map<String, Value> {
    value.as_object().unwrap().clone()
}

#[tokio::test]
async fn three_plans_are_seeded_and_a_tenant_without_one_has_no_limits() {
    let services = testing::services().await;
    let (tenant, admin) = tenant_with_admin(&services, "Acme").await;
    let plans = services.list_plans(&admin).await.unwrap();
    let names: Vec<&str> = plans.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["basic", "professional", "enterprise"]);
    let basic = &plans[0];
    assert_eq!(basic.limits.0["max_users"], 10);
    assert_eq!(basic.limits.0["storage_quota_gb"], 10);
    assert_eq!(basic.price_monthly, Some(29.0));
    assert_eq!(basic.features.0, ["basic_dashboard", "standard_support"]);
    assert_eq!(plans[2].limits.0["max_devices"], 100);
    assert!(plans[2].features.0.contains(&"custom_branding".to_owned()));
    assert_eq!(tenant.plan, None);
    let report = services.quota_usage(&admin, tenant.id).await.unwrap();
    assert_eq!(report.plan, None);
    assert_eq!(report.usage["users"], 1);
    assert!(report.limits.values().all(Option::is_none));
    assert_eq!(report.percentages["users"], None);
    for i in 0..12 {
        services.invite(&admin, None, invite(&format!("p{i}@example.com")), &meta()).await.unwrap();
    }
}

#[tokio::test]
async fn the_last_seat_goes_once_and_the_refusal_names_the_limit() {
    let services = testing::services().await;
    let root = superuser(&services).await;
    let (tenant, admin) = tenant_with_admin(&services, "Acme").await;
    set_plan(&services, &root, tenant.id, "basic", Some(json!({"max_users": 3})), false).await.unwrap();
    member(&services, &admin, "bob@acme.com").await;
    // Two seats used (admin, bob); one left, and twenty people try for it at once.
    let services = Arc::new(services);
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let (services, admin) = (services.clone(), admin.clone());
            tokio::spawn(async move { services.invite(&admin, None, invite(&format!("racer{i}@example.com")), &meta()).await })
        })
        .collect();
    let mut won = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(_) => won += 1,
            Err(ServiceError::QuotaExceeded { quota, limit, usage, detail }) => {
                assert_eq!((quota.as_str(), limit, usage), ("max_users", 3, 3));
                assert!(detail.contains("max_users") && detail.contains("basic"), "{detail}");
            }
            Err(other) => panic!("{other:?}"),
        }
    }
    assert_eq!(won, 1, "exactly one invitation took the last seat");
    // Every other way in is refused too, and inviting the same pending address again is not a new seat.
    let denied = services.create_user(&admin, CreateUserInput { email: Raw::text("carol@acme.com"), password: Raw::text(PASSWORD), ..Default::default() }, &meta()).await;
    assert!(matches!(denied, Err(ServiceError::QuotaExceeded { .. })), "{denied:?}");
    let report = services.quota_usage(&admin, tenant.id).await.unwrap();
    assert_eq!((report.usage["users"], report.limits["max_users"], report.percentages["users"]), (3, Some(3), Some(100.0)));
    let pending = services.db().read().await.unwrap().outbox().await.unwrap().iter().filter(|e| e.kind == "invitation").count();
    assert_eq!(pending, 1);
}

/// Seats are members plus open invitations, each person once: an address invited twice, or
/// invited and then added directly, is one seat; an expired or revoked invitation is none.
#[tokio::test]
async fn each_person_takes_one_seat_however_they_came_in() {
    let services = testing::services().await;
    let (tenant, admin) = tenant_with_admin(&services, "Acme").await;
    let seats = |services: &Services| {
        let (services, admin) = (services.clone(), admin.clone());
        async move { services.quota_usage(&admin, tenant.id).await.unwrap().usage["users"] }
    };
    assert_eq!(seats(&services).await, 1);
    services.invite(&admin, None, invite("carol@acme.com"), &meta()).await.unwrap();
    let second = services.invite(&admin, None, invite("carol@acme.com"), &meta()).await.unwrap();
    assert_eq!(seats(&services).await, 2, "invited twice: one seat");
    // Added directly while invited: a member now, and the invitation closes with it.
    let input = CreateUserInput { email: Raw::text("carol@acme.com"), password: Raw::text(PASSWORD), ..Default::default() };
    services.create_user(&admin, input, &meta()).await.unwrap();
    assert_eq!(seats(&services).await, 2, "a member and her invitation are one seat");
    let link = services.invitation_preview(&second.token).await.unwrap();
    assert!(matches!(link, crate::service::InvitationPreview::Revoked { .. }), "her link no longer works: {link:?}");
    let filter = crate::service::InvitationFilter { status: Raw::text("pending"), ..Default::default() };
    let open = services.list_invitations(&admin, filter, crate::store::PageRequest::first()).await.unwrap();
    assert_eq!(open.count, 0, "carol's invitation is closed");
    // Expired and revoked invitations hold no seat.
    let late = services.invite(&admin, None, invite("late@acme.com"), &meta()).await.unwrap();
    let gone = services.invite(&admin, None, invite("gone@acme.com"), &meta()).await.unwrap();
    assert_eq!(seats(&services).await, 4);
    services.expire_invitation(&late.token).await.unwrap();
    services.revoke_invitation(&admin, gone.invitation.id, &meta()).await.unwrap();
    assert_eq!(seats(&services).await, 2);
    // Re-inviting an address whose invitation expired takes its seat back, once.
    services.invite(&admin, None, invite("late@acme.com"), &meta()).await.unwrap();
    assert_eq!(seats(&services).await, 3);
}

#[tokio::test]
async fn a_downgrade_below_usage_is_refused_unless_forced_then_nobody_more_joins() {
    let services = testing::services().await;
    let root = superuser(&services).await;
    let (tenant, admin) = tenant_with_admin(&services, "Acme").await;
    set_plan(&services, &root, tenant.id, "professional", None, false).await.unwrap();
    for i in 0..3 {
        member(&services, &admin, &format!("m{i}@acme.com")).await;
    }
    let issued = services.invite(&admin, None, invite("late@example.com"), &meta()).await.unwrap();
    // 5 seats used; a plan of 2 would be exceeded.
    let error = set_plan(&services, &root, tenant.id, "basic", Some(json!({"max_users": 2})), false).await.unwrap_err();
    match error {
        ServiceError::Conflict { detail, fields } => {
            assert!(detail.contains("max_users (5 used, limit 2)"), "{detail}");
            assert!(fields.get("max_users").is_some());
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(services.tenant_details(&admin, tenant.id).await.unwrap().plan.as_deref(), Some("professional"), "unchanged");
    set_plan(&services, &root, tenant.id, "basic", Some(json!({"max_users": 2})), true).await.unwrap();
    let accept = crate::service::AcceptInvitationInput { token: Raw::text(&issued.token), password: Raw::text(PASSWORD), ..Default::default() };
    assert!(matches!(services.accept_invitation(accept, &meta()).await, Err(ServiceError::QuotaExceeded { .. })), "over quota: the pending one cannot join");
    assert!(matches!(services.invite(&admin, None, invite("new@example.com"), &meta()).await, Err(ServiceError::QuotaExceeded { .. })));
    let actions = services.db().read().await.unwrap().audit_actions(tenant.id).await.unwrap();
    assert_eq!(actions.iter().filter(|a| *a == "plan_changed").count(), 2);
    // Tenant admins may not change their own plan.
    assert!(matches!(set_plan(&services, &admin, tenant.id, "enterprise", None, false).await, Err(ServiceError::Forbidden(_))));
    let unknown = set_plan(&services, &root, tenant.id, "platinum", None, false).await.unwrap_err();
    assert!(matches!(unknown, ServiceError::Validation(f) if f.get("plan").is_some()));
}

#[tokio::test]
async fn alerts_fire_once_per_crossing_and_rearm_below() {
    let services = testing::services().await;
    let root = superuser(&services).await;
    let (tenant, admin) = tenant_with_admin(&services, "Acme").await;
    set_plan(&services, &root, tenant.id, "basic", Some(json!({"max_assets": 10})), false).await.unwrap();
    let alerts = || async {
        let (mails, rows) = alerts_of(&services, tenant.id).await;
        (mails.len(), rows)
    };
    services.set_usage(&admin, tenant.id, &object(json!({"assets": 5})), &meta()).await.unwrap();
    assert_eq!(alerts().await, (0, 0));
    services.set_usage(&admin, tenant.id, &object(json!({"assets": 8})), &meta()).await.unwrap();
    assert_eq!(alerts().await, (1, 1), "80% crossed: the admin is mailed once");
    services.set_usage(&admin, tenant.id, &object(json!({"assets": 9})), &meta()).await.unwrap();
    assert_eq!(alerts().await, (1, 1), "still above: no second mail");
    services.set_usage(&admin, tenant.id, &object(json!({"assets": 10})), &meta()).await.unwrap();
    assert_eq!(alerts().await, (2, 2), "100% is its own threshold");
    services.set_usage(&admin, tenant.id, &object(json!({"assets": 2})), &meta()).await.unwrap();
    services.set_usage(&admin, tenant.id, &object(json!({"assets": 8})), &meta()).await.unwrap();
    assert_eq!(alerts().await, (3, 3), "dropping below re-armed 80%");
    let report = services.quota_usage(&admin, tenant.id).await.unwrap();
    assert_eq!((report.usage["assets"], report.percentages["assets"]), (8, Some(80.0)));
}

/// Seats alert as they fill, through every way in (invitations and members added directly),
/// once per threshold.
#[tokio::test]
async fn seats_alert_as_invitations_and_new_members_fill_them() {
    let services = testing::services().await;
    let root = superuser(&services).await;
    let (tenant, admin) = tenant_with_admin(&services, "Acme").await;
    set_plan(&services, &root, tenant.id, "basic", Some(json!({"max_users": 5})), false).await.unwrap();
    let alerts = || alerts_of(&services, tenant.id);
    services.invite(&admin, None, invite("a@example.com"), &meta()).await.unwrap();
    services.invite(&admin, None, invite("b@example.com"), &meta()).await.unwrap();
    assert_eq!(alerts().await.1, 0, "3 of 5 is below 80%");
    member(&services, &admin, "c@acme.com").await;
    let (mails, rows) = alerts().await;
    assert_eq!((mails.len(), rows), (1, 1), "4 of 5: 80% reached by a member added directly");
    services.invite(&admin, None, invite("a@example.com"), &meta()).await.unwrap();
    assert_eq!(alerts().await.1, 1, "a re-sent invitation takes no seat and alerts nothing");
    services.invite(&admin, None, invite("d@example.com"), &meta()).await.unwrap();
    let (mails, rows) = alerts().await;
    assert_eq!((mails.len(), rows), (2, 2), "5 of 5: 100% is its own alert");
    assert!(mails.iter().all(|subject| subject.contains("max_users")), "{mails:?}");
}

#[tokio::test]
async fn the_host_reports_usage_and_checks_room_through_tenantry() {
    let services = testing::services().await;
    let root = superuser(&services).await;
    let (tenant, admin) = tenant_with_admin(&services, "Acme").await;
    let bob = member(&services, &admin, "bob@acme.com").await;
    set_plan(&services, &root, tenant.id, "basic", None, false).await.unwrap();
    let report = services.set_usage(&admin, tenant.id, &object(json!({"assets": 99, "devices": 3, "storage_gb": 5})), &meta()).await.unwrap();
    assert_eq!(report.limits["max_assets"], Some(100));
    assert_eq!(report.percentages["storage_gb"], Some(50.0));
    assert_eq!(services.check_usage(&bob, tenant.id, Raw::text("assets"), None).await.unwrap(), ("assets".into(), 99, Some(100)));
    let over = services.check_usage(&bob, tenant.id, Raw::text("assets"), Some(&json!(2))).await;
    assert!(matches!(over, Err(ServiceError::QuotaExceeded { limit: 100, usage: 99, .. })), "{over:?}");
    assert!(matches!(services.set_usage(&bob, tenant.id, &object(json!({"assets": 1})), &meta()).await, Err(ServiceError::Forbidden(_))));
    let bad = services.set_usage(&admin, tenant.id, &object(json!({"users": 3, "assets": -1, "Bad Name": 1})), &meta()).await.unwrap_err();
    let ServiceError::Validation(fields) = bad else { panic!() };
    assert_eq!(fields.iter().count(), 3);
    let (other, _) = tenant_with_admin(&services, "Globex").await;
    assert!(matches!(services.quota_usage(&admin, other.id).await, Err(ServiceError::NotFound)));
    assert!(matches!(services.set_usage(&admin, other.id, &object(json!({"assets": 1})), &meta()).await, Err(ServiceError::NotFound)));
}

#[tokio::test]
async fn feature_overrides_sit_on_the_plan_and_say_where_they_come_from() {
    let services = testing::services().await;
    let root = superuser(&services).await;
    let (tenant, admin) = tenant_with_admin(&services, "Acme").await;
    set_plan(&services, &root, tenant.id, "professional", None, false).await.unwrap();
    let features = services.tenant_features(&admin, tenant.id).await.unwrap();
    assert_eq!(features["analytics"], (true, FlagSource::Plan));
    assert_eq!(features["custom_branding"], (false, FlagSource::Plan));
    let changed = services.set_features(&root, tenant.id, &object(json!({"custom_branding": true, "analytics": false})), &meta()).await.unwrap();
    assert_eq!(changed["custom_branding"], (true, FlagSource::Override));
    assert_eq!(changed["analytics"], (false, FlagSource::Override));
    let back = services.set_features(&root, tenant.id, &object(json!({"analytics": null})), &meta()).await.unwrap();
    assert_eq!(back["analytics"], (true, FlagSource::Plan));
    assert!(matches!(services.set_features(&admin, tenant.id, &object(json!({"analytics": true})), &meta()).await, Err(ServiceError::Forbidden(_))));
    let bad = services.set_features(&root, tenant.id, &object(json!({"analytics": "yes", "Bad": true})), &meta()).await.unwrap_err();
    assert!(matches!(bad, ServiceError::Validation(f) if f.iter().count() == 2));
}

#[tokio::test]
async fn plans_are_rows_the_platform_edits() {
    let services = testing::services().await;
    let root = superuser(&services).await;
    let (_, admin) = tenant_with_admin(&services, "Acme").await;
    let input = PlanInput { name: Raw::text("startup"), limits: Some(json!({"max_users": 5, "max_tasks": 20})), features: Some(json!(["api_access"])), ..Default::default() };
    assert!(matches!(services.create_plan(Some(&admin), input.clone()).await, Err(ServiceError::Forbidden(_))));
    let plan = services.create_plan(Some(&root), input.clone()).await.unwrap();
    assert_eq!(plan.limits.0["max_tasks"], 20);
    assert!(matches!(services.create_plan(Some(&root), input).await, Err(ServiceError::Conflict { .. })));
    let change = PlanInput { limits: Some(json!({"max_tasks": null, "max_users": 6})), features: Some(json!({"analytics": true})), ..Default::default() };
    let updated = services.update_plan(Some(&root), "startup", change, false).await.unwrap();
    assert_eq!(updated.limits.0.get("max_tasks"), None);
    assert_eq!(updated.limits.0["max_users"], 6);
    assert_eq!(updated.features.0, ["analytics", "api_access"]);
    let bad = PlanInput { name: Raw::text("Gold Plan"), limits: Some(json!({"users": 5, "max_x": -1})), features: Some(json!([1])), price_monthly: Some(json!("cheap")), ..Default::default() };
    let ServiceError::Validation(fields) = services.create_plan(Some(&root), bad).await.unwrap_err() else { panic!() };
    assert!(fields.get("name").is_some() && fields.get("limits").unwrap().len() == 2 && fields.get("features").is_some() && fields.get("price_monthly").is_some());
    assert!(matches!(services.update_plan(Some(&root), "nope", PlanInput::default(), false).await, Err(ServiceError::NotFound)));
    let made = services.update_plan(None, "cli-made", PlanInput { limits: Some(json!({"max_users": 1})), ..Default::default() }, true).await.unwrap();
    assert_eq!(made.limits.0["max_users"], 1);
}

#[tokio::test]
async fn settings_are_checked_and_branding_needs_its_feature() {
    let services = testing::services().await;
    let root = superuser(&services).await;
    let (tenant, admin) = tenant_with_admin(&services, "Acme").await;
    let bob = member(&services, &admin, "bob@acme.com").await;
    let input = || TenantSettingsInput {
        display_name: Raw::text("Acme Worldwide"),
        settings: Some(json!({"timezone": "America/New_York", "data_retention_days": 90, "notifications": {"email": true, "in_app": false}})),
        ..Default::default()
    };
    assert!(matches!(services.update_tenant_settings(&bob, tenant.id, input(), &meta()).await, Err(ServiceError::Forbidden(_))));
    let saved = services.update_tenant_settings(&admin, tenant.id, input(), &meta()).await.unwrap();
    assert_eq!(saved.display_name.as_deref(), Some("Acme Worldwide"));
    assert_eq!(saved.settings.0["timezone"], "America/New_York");
    // A second change keeps the keys it does not name; null removes one.
    let more = TenantSettingsInput { settings: Some(json!({"theme": "dark", "data_retention_days": null})), ..Default::default() };
    let saved = services.update_tenant_settings(&admin, tenant.id, more, &meta()).await.unwrap();
    assert_eq!(saved.settings.0.get("timezone"), Some(&json!("America/New_York")));
    assert_eq!(saved.settings.0.get("data_retention_days"), None);
    assert_eq!(saved.display_name.as_deref(), Some("Acme Worldwide"), "not given, not changed");
    let branding = || TenantSettingsInput { branding: Some(json!({"company_name": "Acme", "primary_color": "#1F6FEB", "logo_url": "https://cdn.acme.com/l.png"})), ..Default::default() };
    assert!(matches!(services.update_tenant_settings(&admin, tenant.id, branding(), &meta()).await, Err(ServiceError::Forbidden(_))), "no custom_branding yet");
    services.set_features(&root, tenant.id, &object(json!({"custom_branding": true})), &meta()).await.unwrap();
    let branded = services.update_tenant_settings(&admin, tenant.id, branding(), &meta()).await.unwrap();
    let shown = services.branding_of(&branded).await.unwrap().unwrap();
    assert_eq!(shown.primary_color.as_deref(), Some("#1f6feb"));
    assert_eq!(shown.company_name.as_deref(), Some("Acme"));
    let bad = TenantSettingsInput {
        contact_email: Raw::text("nope"),
        settings: Some(json!({"timezone": "Nowhere/Land", "big": "x".repeat(17 * 1024)})),
        branding: Some(json!({"primary_color": "red;}body{display:none", "logo_url": "javascript:alert(1)"})),
        ..Default::default()
    };
    let ServiceError::Validation(fields) = services.update_tenant_settings(&admin, tenant.id, bad, &meta()).await.unwrap_err() else { panic!() };
    assert!(fields.get("contact_email").is_some() && fields.get("settings.timezone").is_some());
    assert!(fields.get("branding.primary_color").is_some() && fields.get("branding.logo_url").is_some());
    let huge = TenantSettingsInput { settings: Some(json!({"big": "x".repeat(17 * 1024)})), ..Default::default() };
    let ServiceError::Validation(fields) = services.update_tenant_settings(&admin, tenant.id, huge, &meta()).await.unwrap_err() else { panic!() };
    assert!(fields.get("settings").unwrap()[0].contains("16 KiB"));
    // Losing the feature hides the branding, which stays stored.
    services.set_features(&root, tenant.id, &object(json!({"custom_branding": false})), &meta()).await.unwrap();
    let row = services.tenant_details(&admin, tenant.id).await.unwrap();
    assert!(services.branding_of(&row).await.unwrap().is_none());
}

/// The newest outbox mail of `kind` to `to`, after background writes.
async fn mailed(services: &Services, kind: &str, to: &str) -> crate::store::OutboxEmail {
    services.settled().await;
    let outbox = services.db().read().await.unwrap().outbox().await.unwrap();
    outbox.into_iter().rev().find(|e| e.kind == kind && e.to_address == to).unwrap_or_else(|| panic!("no {kind} mail to {to}"))
}

#[tokio::test]
async fn a_branded_organisation_sends_its_invitations_and_its_members_resets_under_its_name_and_colour() {
    let services = testing::services().await;
    let root = superuser(&services).await;
    let (tenant, admin) = tenant_with_admin(&services, "Acme").await;
    services.set_features(&root, tenant.id, &object(json!({"custom_branding": true})), &meta()).await.unwrap();
    let brand = json!({"company_name": "Acme <Rockets>", "primary_color": "#0A7E3D", "logo_url": "https://cdn.acme.test/logo.png"});
    services.update_tenant_settings(&admin, tenant.id, TenantSettingsInput { branding: Some(brand), ..Default::default() }, &meta()).await.unwrap();

    services.invite(&admin, None, invite("new@acme.test"), &meta()).await.unwrap();
    let mail = mailed(&services, "invitation", "new@acme.test").await;
    assert_eq!(mail.subject, "You're invited to join Acme <Rockets>");
    assert!(mail.html_body.contains("Acme &lt;Rockets&gt;") && !mail.html_body.contains("<Rockets>"));
    assert!(mail.html_body.contains("background:#0a7e3d") && mail.html_body.contains("https://cdn.acme.test/logo.png"));

    // A member of that organisation only: the reset speaks for it too.
    member(&services, &admin, "bob@acme.test").await;
    services.request_password_reset(Raw::text("bob@acme.test"), &meta()).await.unwrap();
    assert_eq!(mailed(&services, "password_reset", "bob@acme.test").await.subject, "Reset your Acme <Rockets> password");

    // An account in two organisations, and an organisation without the feature: Tenantry's own.
    let (globex, globex_admin) = tenant_with_admin(&services, "Globex").await;
    let both = id_of(&member(&services, &admin, "both@acme.test").await).to_string();
    let both = services.add_member(&root, globex.id, crate::service::AddMemberInput { user_id: Raw::text(&both), role: Raw::Missing, send_notification: Raw::text("false") }, &meta()).await;
    assert!(both.is_ok(), "{both:?}");
    services.request_password_reset(Raw::text("both@acme.test"), &meta()).await.unwrap();
    assert_eq!(mailed(&services, "password_reset", "both@acme.test").await.subject, "Reset your Tenantry password");
    services.invite(&globex_admin, None, invite("new@globex.test"), &meta()).await.unwrap();
    let plain = mailed(&services, "invitation", "new@globex.test").await;
    assert!(plain.subject.ends_with("on Tenantry") && plain.html_body.contains("background:#1f4e79"));
    // Losing the feature: the next invitation is plain again.
    services.set_features(&root, tenant.id, &object(json!({"custom_branding": false})), &meta()).await.unwrap();
    services.invite(&admin, None, invite("later@acme.test"), &meta()).await.unwrap();
    assert!(!mailed(&services, "invitation", "later@acme.test").await.subject.contains("Rockets"));
}

#[tokio::test]
async fn the_worker_applies_each_tenants_retention_and_records_it() {
    let services = testing::services().await;
    let (tenant, admin) = tenant_with_admin(&services, "Acme").await;
    let (other, _) = tenant_with_admin(&services, "Globex").await;
    // Age every event of both tenants by 40 days.
    let mut tx = services.db().write().await.unwrap();
    let old = crate::service::now() - chrono::Duration::days(40);
    crate::store::on!(&mut tx, c => sqlx::query("UPDATE audit_log SET created_at = $1").bind(old).execute(c).await.map(drop)).unwrap();
    tx.commit().await.unwrap();
    let keep_30 = TenantSettingsInput { settings: Some(json!({"data_retention_days": 30})), ..Default::default() };
    services.update_tenant_settings(&admin, tenant.id, keep_30, &meta()).await.unwrap();
    let removed = services.apply_audit_retention().await.unwrap();
    assert!(removed >= 1);
    let actions = services.db().read().await.unwrap().audit_actions(tenant.id).await.unwrap();
    assert_eq!(actions, ["audit_retention_applied", "tenant_updated"], "only the newer events stay, and the record of the purge");
    assert!(!services.db().read().await.unwrap().audit_actions(other.id).await.unwrap().is_empty(), "other tenants keep theirs");
    assert_eq!(services.apply_audit_retention().await.unwrap(), 0, "nothing more to remove");
}

#[tokio::test]
async fn subdomains_are_checked_reserved_and_suggested() {
    let services = testing::services_with(&[("TENANT_BASE_DOMAIN", "example.com")]).await;
    let (tenant, _) = tenant_with_admin(&services, "Acme Corp").await;
    let taken = services.check_subdomain("acme-corp").await.unwrap();
    assert!(!taken.available && taken.reason.as_deref().unwrap().contains("already"));
    assert_eq!(taken.suggestions.len(), 5);
    assert!(taken.suggestions.iter().all(|s| s.starts_with("acme-corp-")));
    let reserved = services.check_subdomain("www").await.unwrap();
    assert!(!reserved.available && reserved.reason.unwrap().contains("reserved"));
    assert!(services.check_subdomain("fresh-name").await.unwrap().available);
    assert!(matches!(services.check_subdomain("no way").await, Err(ServiceError::Validation(_))));
    assert_eq!(services.suggest_subdomains("Fresh Name").await.unwrap()[0], "fresh-name");
    assert_eq!(services.suggest_subdomains("Acme Corp").await.unwrap().len(), 5);
    let reserved_signup = services.sign_up(sign_up_input("Admin", "x@admin.test"), &meta()).await.unwrap_err();
    assert!(matches!(reserved_signup, ServiceError::Validation(f) if f.get("name").unwrap()[0].contains("reserved")));
    // Hosts: the tenant's subdomain, the apex, and an unknown one.
    assert!(matches!(services.tenant_for_host("acme-corp.example.com:3000").await.unwrap(), crate::service::HostTenant::Tenant(t) if t.id == tenant.id));
    assert!(matches!(services.tenant_for_host("Example.com").await.unwrap(), crate::service::HostTenant::Apex));
    assert!(matches!(services.tenant_for_host("nobody.example.com").await.unwrap(), crate::service::HostTenant::Unknown));
    assert!(matches!(services.tenant_for_host("a.b.example.com").await.unwrap(), crate::service::HostTenant::Unknown));
    assert!(matches!(services.tenant_for_host("elsewhere.org").await.unwrap(), crate::service::HostTenant::None));
    // A suspended tenant's subdomain names nobody.
    let root = superuser(&services).await;
    services.set_tenant_suspended(&root, tenant.id, true, &meta()).await.unwrap();
    assert!(matches!(services.tenant_for_host("acme-corp.example.com").await.unwrap(), crate::service::HostTenant::Unknown));
}

#[tokio::test]
async fn an_operator_gives_a_tenant_its_own_domain_which_then_names_it() {
    let services = testing::services_with(&[("TENANT_BASE_DOMAIN", "example.com")]).await;
    let root = superuser(&services).await;
    let (acme, admin) = tenant_with_admin(&services, "Acme").await;
    let (globex, _) = tenant_with_admin(&services, "Globex").await;
    let set = |actor: &Actor, tenant, domain: &str| {
        let (services, actor, domain) = (services.clone(), actor.clone(), domain.to_owned());
        async move { services.set_custom_domain(&actor, tenant, Raw::text(domain), &meta()).await }
    };
    assert!(matches!(set(&admin, acme.id, "login.acme.test").await, Err(ServiceError::Forbidden(_))), "a tenant's admin does not claim domains");
    assert!(matches!(set(&admin, globex.id, "login.acme.test").await, Err(ServiceError::NotFound)), "nor sees another tenant");
    let saved = set(&root, acme.id, " Login.Acme.TEST. ").await.unwrap();
    assert_eq!(saved.custom_domain.as_deref(), Some("login.acme.test"));
    assert!(matches!(services.tenant_for_host("login.acme.test:443").await.unwrap(), crate::service::HostTenant::Tenant(t) if t.id == acme.id));
    assert!(matches!(set(&root, globex.id, "login.acme.test").await, Err(ServiceError::Conflict { fields, .. }) if fields.get("custom_domain").is_some()));
    assert!(set(&root, acme.id, "login.acme.test").await.is_ok(), "giving it again to its owner is no clash");
    services.set_tenant_suspended(&root, acme.id, true, &meta()).await.unwrap();
    assert!(matches!(services.tenant_for_host("login.acme.test").await.unwrap(), crate::service::HostTenant::None), "a suspended tenant's domain names nobody");
    services.set_tenant_suspended(&root, acme.id, false, &meta()).await.unwrap();
    for bad in ["https://acme.test", "acme", "x.example.com"] {
        assert!(matches!(set(&root, acme.id, bad).await, Err(ServiceError::Validation(f)) if f.get("custom_domain").is_some()), "{bad}");
    }
    let missing = services.set_custom_domain(&root, acme.id, Raw::Missing, &meta()).await;
    assert!(matches!(missing, Err(ServiceError::Validation(f)) if f.get("custom_domain").is_some()));
    assert!(set(&root, acme.id, "").await.unwrap().custom_domain.is_none(), "empty removes it");
    assert!(matches!(services.tenant_for_host("login.acme.test").await.unwrap(), crate::service::HostTenant::None));
    let actions = services.db().read().await.unwrap().audit_actions(acme.id).await.unwrap();
    assert_eq!(actions.iter().filter(|a| a.as_str() == "custom_domain_changed").count(), 3);
}

#[tokio::test]
async fn signing_in_on_a_tenants_host_lands_there_and_refuses_strangers() {
    let services = testing::services().await;
    let (acme, admin) = tenant_with_admin(&services, "Acme").await;
    let (globex, _) = tenant_with_admin(&services, "Globex").await;
    let mut input = login_input(&admin.email, PASSWORD);
    input.tenant = Some(acme.id);
    let (_, profile) = services.login(input, &meta()).await.unwrap();
    assert_eq!(profile.tenant_id, Some(acme.id));
    let mut stranger = login_input(&admin.email, PASSWORD);
    stranger.tenant = Some(globex.id);
    let refused = services.login(stranger, &meta()).await.unwrap_err();
    assert!(matches!(&refused, ServiceError::Forbidden(d) if d.contains("not a member")), "{refused:?}");
}

#[tokio::test]
async fn a_keys_daily_calls_are_counted_against_its_plan() {
    let services = testing::services().await;
    let root = superuser(&services).await;
    let (tenant, admin) = tenant_with_admin(&services, "Acme").await;
    let key = crate::service::ApiKeyInput { name: Raw::text("k"), scopes: crate::service::RawList::Items(vec!["members:read".into()]), ..Default::default() };
    let issued = services.create_api_key(&admin, key, &meta()).await.unwrap();
    for _ in 0..5 {
        services.actor_from_api_key(&issued.secret, &meta()).await.expect("no limit without a plan");
    }
    set_plan(&services, &root, tenant.id, "basic", Some(json!({"max_api_calls_per_day": 2})), false).await.unwrap();
    services.actor_from_api_key(&issued.secret, &meta()).await.unwrap();
    services.actor_from_api_key(&issued.secret, &meta()).await.unwrap();
    match services.actor_from_api_key(&issued.secret, &meta()).await {
        Err(ServiceError::DailyQuotaExceeded { quota, limit, retry_after_secs, .. }) => {
            assert_eq!((quota.as_str(), limit), ("max_api_calls_per_day", 2));
            assert!((1..=86_400).contains(&retry_after_secs));
            let now = chrono::Utc::now();
            let midnight = (now + chrono::Duration::days(1)).date_naive().and_hms_opt(0, 0, 0).unwrap().and_utc();
            assert!(((midnight - now).num_seconds() - retry_after_secs as i64).abs() <= 5, "until the next midnight UTC: {retry_after_secs} s");
        }
        other => panic!("{other:?}"),
    }
    // The limit may come from the plan itself (three calls are counted today so far)…
    let metered = PlanInput { name: Raw::text("metered"), display_name: Raw::text("Metered"), limits: Some(json!({"max_api_calls_per_day": 5})), ..Default::default() };
    services.create_plan(Some(&root), metered).await.unwrap();
    set_plan(&services, &root, tenant.id, "metered", Some(json!({})), false).await.unwrap();
    services.actor_from_api_key(&issued.secret, &meta()).await.expect("the 4th call of 5");
    services.actor_from_api_key(&issued.secret, &meta()).await.expect("the 5th call of 5");
    assert!(matches!(services.actor_from_api_key(&issued.secret, &meta()).await, Err(ServiceError::DailyQuotaExceeded { limit: 5, .. })));
    // …and a null override lifts it.
    set_plan(&services, &root, tenant.id, "metered", Some(json!({"max_api_calls_per_day": null})), false).await.unwrap();
    services.actor_from_api_key(&issued.secret, &meta()).await.expect("unlimited by override");
}

/// An import takes seats row by row across its batches, and stops at the limit; its preview
/// counts the seats its own earlier rows would take, so it says the same beforehand.
#[tokio::test]
async fn an_import_stops_at_the_seat_limit_and_its_preview_says_so_first() {
    use crate::service::{ImportInput, ImportOutcome, ImportRow, RowStatus};
    let services = testing::services().await;
    let root = superuser(&services).await;
    let (tenant, admin) = tenant_with_admin(&services, "Acme").await;
    set_plan(&services, &root, tenant.id, "basic", Some(json!({"max_users": 120})), false).await.unwrap();
    let rows: Vec<ImportRow> = (0..150).map(|i| ImportRow { email: Some(format!("p{i:03}@example.com")), ..Default::default() }).collect();
    let input = ImportInput { rows, ..Default::default() };
    let preview = services.preview_import(&admin, input.clone()).await.unwrap();
    let crate::service::JobPlan { counts, total, .. } = services.job_plan(&admin, &preview.id.to_string(), crate::store::PageRequest::first()).await.unwrap();
    let count = |status: &str| counts.iter().find(|(s, _)| s.as_deref() == Some(status)).map_or(0, |(_, n)| *n);
    assert_eq!((total, count("invited"), count("failed")), (150, 119, 31), "{counts:?}");
    // The import itself: a job of two batches (100, then 50).
    let ImportOutcome::Job(job) = services.import_members(&admin, tenant.id, input, &meta()).await.unwrap() else { panic!("expected a job") };
    assert!(services.run_next_job().await.unwrap());
    let done = services.job(&admin, &job.id.to_string()).await.unwrap();
    assert_eq!((done.succeeded, done.failed), (119, 31));
    let results = services.job_results(&admin, &job.id.to_string(), crate::store::PageRequest::number(2)).await.unwrap();
    let last = results.items.iter().find(|(r, _)| r.row == 150).unwrap();
    assert_eq!(last.0.status, RowStatus::Failed);
    let message = &last.0.errors.as_ref().unwrap().get("quota").unwrap()[0];
    assert!(message.contains("120 of 120"), "{message}");
    let report = services.quota_usage(&admin, tenant.id).await.unwrap();
    assert_eq!(report.usage["users"], 120);
}

/// A key acts in its own tenant only: naming that tenant's id works, naming another's is 404
/// (never the key's own tenant under another id).
#[tokio::test]
async fn a_key_reads_usage_of_its_own_tenant_only() {
    let services = testing::services().await;
    let (tenant, admin) = tenant_with_admin(&services, "Acme").await;
    let (other, _) = tenant_with_admin(&services, "Globex").await;
    let key = crate::service::ApiKeyInput { name: Raw::text("k"), scopes: crate::service::RawList::Items(vec!["usage:read".into()]), ..Default::default() };
    let issued = services.create_api_key(&admin, key, &meta()).await.unwrap();
    let by_key = services.actor_from_api_key(&issued.secret, &meta()).await.unwrap();
    assert_eq!(services.quota_usage(&by_key, tenant.id).await.unwrap().usage["users"], 1);
    assert!(matches!(services.quota_usage(&by_key, other.id).await, Err(ServiceError::NotFound)));
}

/// A plan's display name and its features switched on and off by name, on creation and on
/// change; a blank display name keeps the one there is.
#[tokio::test]
async fn a_plans_display_name_and_feature_switches_are_kept() {
    let services = testing::services().await;
    let root = superuser(&services).await;
    let input = PlanInput {
        name: Raw::text("team"),
        display_name: Raw::text("Team Plan"),
        price_monthly: Some(json!(49)),
        features: Some(json!({"api_access": true, "analytics": false})),
        ..Default::default()
    };
    let plan = services.create_plan(Some(&root), input).await.unwrap();
    assert_eq!((plan.display_name.as_str(), plan.price_monthly), ("Team Plan", Some(49.0)));
    assert_eq!(plan.features.0, ["api_access"], "only the features switched on");
    let change = PlanInput { display_name: Raw::text("Team"), features: Some(json!({"analytics": true, "api_access": false})), ..Default::default() };
    let plan = services.update_plan(Some(&root), "team", change, false).await.unwrap();
    assert_eq!(plan.display_name, "Team");
    assert_eq!(plan.features.0, ["analytics"], "one switched on, the other off");
    let kept = services.update_plan(Some(&root), "team", PlanInput { display_name: Raw::text("  "), ..Default::default() }, false).await.unwrap();
    assert_eq!((kept.display_name.as_str(), kept.price_monthly), ("Team", Some(49.0)));
}

/// A partner manages the plan of the tenants it provisioned, and no other; a plan that
/// fits usage exactly is no downgrade below it.
#[tokio::test]
async fn a_partner_changes_the_plan_of_its_own_tenants_and_a_plan_may_fit_exactly() {
    let services = testing::services().await;
    let (user, _) = services.set_platform_role("partner@reseller.test", Some(crate::domain::PlatformRole::PartnerAdmin), Some(PASSWORD)).await.unwrap();
    let partner = services.actor_for(user.id, None).await.unwrap().unwrap();
    let description = crate::service::TenantDescription::parse(&json!({"tenant": {"name": "Made By Partner"}})).unwrap();
    let options = crate::service::ProvisionOptions { dry_run: false, if_exists: crate::service::IfExists::Conflict };
    let crate::service::Provisioned::Created(made) = services.provision(Some(&partner), description, options, &meta()).await.unwrap() else { panic!() };
    set_plan(&services, &partner, made.tenant.id, "basic", None, false).await.unwrap();
    assert_eq!(services.db().read().await.unwrap().tenant(made.tenant.id).await.unwrap().unwrap().plan.as_deref(), Some("basic"));
    let (other, admin) = tenant_with_admin(&services, "Acme").await;
    assert!(matches!(set_plan(&services, &partner, other.id, "basic", None, false).await, Err(ServiceError::NotFound)), "not its tenant");
    // Two seats used (the admin and a member); a limit of exactly 2 fits.
    member(&services, &admin, "m@acme.com").await;
    let root = superuser(&services).await;
    set_plan(&services, &root, other.id, "basic", Some(json!({"max_users": 2})), false).await.unwrap();
    assert!(set_plan(&services, &root, other.id, "basic", Some(json!({"max_users": 1})), false).await.is_err(), "one below usage is refused");
}

/// The plan's own limits alert too, without any override.
#[tokio::test]
async fn the_plans_own_limit_alerts_without_overrides() {
    let services = testing::services().await;
    let root = superuser(&services).await;
    let (tenant, admin) = tenant_with_admin(&services, "Acme").await;
    set_plan(&services, &root, tenant.id, "basic", None, false).await.unwrap();
    for i in 0..7 {
        services.invite(&admin, None, invite(&format!("p{i}@example.com")), &meta()).await.unwrap();
    }
    let (mails, rows) = alerts_of(&services, tenant.id).await;
    assert_eq!((mails.len(), rows), (1, 1), "8 of basic's 10 seats: 80% crossed");
    services.set_usage(&admin, tenant.id, &object(json!({"assets": 80})), &meta()).await.unwrap();
    let (mails, rows) = alerts_of(&services, tenant.id).await;
    assert_eq!((mails.len(), rows), (2, 2), "80 of basic's 100 assets, reported by the host");
}

/// Settings changed through the tenant's page or API may take exactly the most there is room
/// for, and not a byte more.
#[tokio::test]
async fn settings_take_at_most_their_size() {
    let services = testing::services().await;
    let (tenant, admin) = tenant_with_admin(&services, "Acme").await;
    let max = crate::service::SETTINGS_MAX_BYTES;
    let settings = |len: usize| TenantSettingsInput { settings: Some(json!({"k": "x".repeat(len - r#"{"k":""}"#.len())})), ..Default::default() };
    services.update_tenant_settings(&admin, tenant.id, settings(max), &meta()).await.unwrap();
    let error = services.update_tenant_settings(&admin, tenant.id, settings(max + 1), &meta()).await.unwrap_err();
    assert!(matches!(error, ServiceError::Validation(f) if f.get("settings").is_some()));
}

/// The seat count reads a per-tenant number of open invitations that the database keeps
/// (migration 0020) instead of counting them. After every kind of change to an invitation,
/// and at times before and after they expire, it must agree with counting them directly:
/// the members plus the invitations the store lists as pending at that time.
#[tokio::test]
async fn the_kept_seat_count_agrees_with_counting_through_every_change() {
    let services = testing::services().await;
    let (tenant, admin) = tenant_with_admin(&services, "Acme").await;
    let (other, other_admin) = tenant_with_admin(&services, "Other").await;
    let agree = |services: &Services, at: chrono::DateTime<chrono::Utc>, expected: i64, step: &'static str| {
        let services = services.clone();
        async move {
            let mut tx = services.db().read().await.unwrap();
            let members = tx.members(tenant.id, crate::store::PageRequest::first()).await.unwrap().total;
            let pending = tx.invitations(tenant.id, Some(crate::store::InvitationState::Pending), None, at, crate::store::PageRequest::first()).await.unwrap().total;
            let kept = tx.seats_used(tenant.id, at).await.unwrap();
            assert_eq!((kept, members + pending), (expected, expected), "{step}: kept count, then counted");
        }
    };
    let now = chrono::Utc::now();
    let (soon, later) = (now + chrono::Duration::minutes(1), now + chrono::Duration::days(8));
    agree(&services, soon, 1, "the admin alone").await;
    let a = services.invite(&admin, None, invite("a@acme.com"), &meta()).await.unwrap();
    let b = services.invite(&admin, None, invite("b@acme.com"), &meta()).await.unwrap();
    services.invite(&admin, None, invite("c@acme.com"), &meta()).await.unwrap();
    services.invite(&other_admin, None, invite("a@acme.com"), &meta()).await.unwrap();
    agree(&services, soon, 4, "three invited").await;
    services.invite(&admin, None, invite("c@acme.com"), &meta()).await.unwrap();
    agree(&services, soon, 4, "c invited again replaces hers").await;
    // Accepted: a member, and the invitation closed.
    let d = services.invite(&admin, None, invite("d@acme.com"), &meta()).await.unwrap();
    agree(&services, soon, 5, "d invited").await;
    let accept = crate::service::AcceptInvitationInput { token: Raw::text(&d.token), password: Raw::text(PASSWORD), ..Default::default() };
    services.accept_invitation(accept, &meta()).await.unwrap();
    agree(&services, soon, 5, "d accepted").await;
    // Expired by hand (support), and added directly while invited.
    let e = services.invite(&admin, None, invite("e@acme.com"), &meta()).await.unwrap();
    services.invite(&admin, None, invite("f@acme.com"), &meta()).await.unwrap();
    agree(&services, soon, 7, "e and f invited").await;
    services.expire_invitation(&e.token).await.unwrap();
    agree(&services, soon, 6, "e expired by hand").await;
    let input = CreateUserInput { email: Raw::text("f@acme.com"), password: Raw::text(PASSWORD), ..Default::default() };
    services.create_user(&admin, input, &meta()).await.unwrap();
    agree(&services, soon, 6, "f added directly: her invitation closes").await;
    services.revoke_invitation(&admin, b.invitation.id, &meta()).await.unwrap();
    agree(&services, soon, 5, "b revoked").await;
    // A week on: a and c expired, not yet noticed by the worker, then noticed. From here on
    // every time asked is after the worker's, as it is in a running service.
    agree(&services, later, 3, "a and c expired, unnoticed").await;
    let mut tx = services.db().write().await.unwrap();
    assert_eq!(tx.notice_expired_invitations(later, 100).await.unwrap().len(), 3, "a and c here, a in the other tenant");
    tx.commit().await.unwrap();
    agree(&services, later, 3, "a and c expired and noticed").await;
    // Renewed after its expiry was noticed: open again.
    let mut tx = services.db().write().await.unwrap();
    assert!(tx.renew_invitation(tenant.id, a.invitation.id, None, later + chrono::Duration::days(7), later).await.unwrap());
    tx.commit().await.unwrap();
    agree(&services, later, 4, "a renewed").await;
    services.revoke_invitation(&admin, a.invitation.id, &meta()).await.unwrap();
    agree(&services, later, 3, "a revoked").await;
    // Deleted: the worker's purge of expired invitations takes g, open and unnoticed, with the
    // closed ones; the count loses g.
    services.invite(&admin, None, invite("g@acme.com"), &meta()).await.unwrap();
    agree(&services, later, 3, "g expired, unnoticed").await;
    let mut tx = services.db().write().await.unwrap();
    assert!(tx.purge_expired_invitations(later).await.unwrap() >= 1);
    tx.commit().await.unwrap();
    agree(&services, later, 3, "g purged").await;
    let mut tx = services.db().read().await.unwrap();
    // The other tenant's invitations never moved this one's count, and its own is right too.
    assert_eq!(tx.seats_used(other.id, later).await.unwrap(), 1, "the other tenant: its admin; its invitation was noticed expired");
}
