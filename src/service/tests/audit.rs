use std::collections::HashSet;

use chrono::{DateTime, Duration, TimeZone, Utc};
use serde_json::json;

use super::*;
use crate::{
    domain::TenantId,
    service::{AuditExport, AuditFilter, ExportFormat},
    store::{AuditEntry, NewAuditEntry, PageRequest},
    testing, ServiceError,
};

fn at(day: u32, hour: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 5, day, hour, 0, 0).unwrap()
}

/// Writes one event at a chosen time, as the service layer would.
async fn record(services: &Services, tenant: TenantId, actor: Option<&Actor>, action: &'static str, when: DateTime<Utc>) {
    let mut tx = services.db().write().await.unwrap();
    let entry = NewAuditEntry {
        tenant_id: Some(tenant),
        actor_id: actor.map(|a| a.user_id),
        actor_email: actor.map(|a| a.email.clone()),
        action: crate::domain::AuditAction::from_stored(action),
        resource_type: "user",
        resource_id: Some("r-1".into()),
        metadata: json!({"n": 1}),
        ip_address: Some("10.0.0.1".into()),
        user_agent: Some("tests".into()),
    };
    tx.insert_audit(&entry, when).await.unwrap();
    tx.commit().await.unwrap();
}

fn filter(action: &str, actor: &str, since: &str, until: &str) -> AuditFilter {
    let raw = |v: &str| if v.is_empty() { Raw::Missing } else { Raw::text(v) };
    AuditFilter { action: raw(action), actor: raw(actor), since: raw(since), until: raw(until) }
}

async fn actions(services: &Services, actor: &Actor, filter: AuditFilter) -> Vec<String> {
    let page = services.list_audit_log(actor, filter, PageRequest::first()).await.unwrap();
    page.items.into_iter().map(|e| e.action.to_string()).collect()
}

async fn drain(mut export: AuditExport) -> (Vec<AuditEntry>, Vec<usize>) {
    let (mut rows, mut sizes) = (Vec::new(), Vec::new());
    while let Some(batch) = export.next_batch().await.unwrap() {
        sizes.push(batch.len());
        rows.extend(batch);
    }
    (rows, sizes)
}

fn is_newest_first(rows: &[AuditEntry]) -> bool {
    rows.windows(2).all(|w| (w[0].created_at, w[0].id) > (w[1].created_at, w[1].id))
}

#[tokio::test]
async fn an_admin_sees_the_tenants_events_newest_first() {
    let services = testing::services().await;
    let (tenant, admin) = tenant_with_admin(&services, "Acme").await;
    let bob = member(&services, &admin, "bob@acme.com").await;
    let assign = crate::service::AssignRoleInput { user: Raw::text(bob.user_id.to_string()), role: Raw::text("ANALYST") };
    services.assign_role(&admin, assign, &meta()).await.unwrap();

    let page = services.list_audit_log(&admin, AuditFilter::default(), PageRequest::first()).await.unwrap();
    let names: Vec<&str> = page.items.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(names.first(), Some(&"role_assigned"), "{names:?}");
    assert_eq!(names.last(), Some(&"tenant_created"), "{names:?}");
    assert!(names.contains(&"user_created"));
    assert_eq!(page.count, page.items.len() as i64);
    assert!(is_newest_first(&page.items));
    let role = &page.items[0];
    assert_eq!(role.tenant_id, Some(tenant.id));
    assert_eq!(role.actor_id, Some(admin.user_id));
    assert_eq!(role.actor_email.as_deref(), Some(admin.email.as_str()));
    assert_eq!(role.resource_id, Some(bob.user_id.to_string()), "the resource is the member whose role changed");
    assert_eq!(role.metadata, json!({"role": "ANALYST"}));
    assert_eq!(role.ip_address.as_deref(), Some("127.0.0.1"));
    assert_eq!(role.user_agent.as_deref(), Some("tests"));
}

#[tokio::test]
async fn filters_narrow_by_action_actor_and_time() {
    let services = testing::services().await;
    let (tenant, admin) = tenant_with_admin(&services, "Acme").await;
    let bob = member(&services, &admin, "bob@acme.com").await;
    record(&services, tenant.id, Some(&bob), "report_viewed", at(1, 9)).await;
    record(&services, tenant.id, Some(&admin), "report_viewed", at(2, 9)).await;
    record(&services, tenant.id, Some(&bob), "report_deleted", at(2, 23)).await;
    record(&services, tenant.id, None, "report_viewed", at(3, 0)).await;

    assert_eq!(actions(&services, &admin, filter("Report_Deleted", "", "", "")).await, ["report_deleted"]);
    let by_bob = services.list_audit_log(&admin, filter("", &bob.user_id.to_string(), "", "2024-05-31"), PageRequest::first()).await.unwrap();
    assert_eq!(by_bob.items.iter().map(|e| e.created_at).collect::<Vec<_>>(), [at(2, 23), at(1, 9)]);
    let by_email = services.list_audit_log(&admin, filter("", "BOB@acme.com", "", "2024-05-31"), PageRequest::first()).await.unwrap();
    assert_eq!(by_email.items.iter().map(|e| e.id).collect::<Vec<_>>(), by_bob.items.iter().map(|e| e.id).collect::<Vec<_>>());

    // A date covers its whole day; an instant includes events at that very moment.
    let day_two = services.list_audit_log(&admin, filter("", "", "2024-05-02", "2024-05-02"), PageRequest::first()).await.unwrap();
    assert_eq!(day_two.items.iter().map(|e| e.created_at).collect::<Vec<_>>(), [at(2, 23), at(2, 9)]);
    let exact = services.list_audit_log(&admin, filter("report_viewed", "", "2024-05-01T09:00:00Z", "2024-05-03T00:00:00Z"), PageRequest::first()).await.unwrap();
    assert_eq!(exact.items.iter().map(|e| e.created_at).collect::<Vec<_>>(), [at(3, 0), at(2, 9), at(1, 9)]);
    let with_offset = services.list_audit_log(&admin, filter("report_viewed", "", "2024-05-01T10:00:00+01:00", "2024-05-02T10:00:00+01:00"), PageRequest::first()).await.unwrap();
    assert_eq!(with_offset.items.iter().map(|e| e.created_at).collect::<Vec<_>>(), [at(2, 9), at(1, 9)]);
    assert_eq!(with_offset.count, 2);
}

#[tokio::test]
async fn pages_hold_a_hundred_events_and_count_them_all() {
    let services = testing::services().await;
    let (tenant, admin) = tenant_with_admin(&services, "Acme").await;
    for hour in 0..120 {
        record(&services, tenant.id, Some(&admin), "report_viewed", at(1, 0) + Duration::minutes(hour)).await;
    }
    let only = filter("report_viewed", "", "", "");
    let first = services.list_audit_log(&admin, only.clone(), PageRequest::first()).await.unwrap();
    let second = services.list_audit_log(&admin, only, PageRequest::number(2)).await.unwrap();
    assert_eq!((first.count, first.items.len(), second.items.len()), (120, 100, 20));
    assert!(first.has_next() && !second.has_next());
    assert_eq!(first.items[0].created_at, at(1, 0) + Duration::minutes(119));
    assert_eq!(second.items.last().unwrap().created_at, at(1, 0));
}

#[tokio::test]
async fn non_admins_are_forbidden_before_their_filters_are_read() {
    let services = testing::services().await;
    let (_, admin) = tenant_with_admin(&services, "Acme").await;
    let bob = member(&services, &admin, "bob@acme.com").await;
    let bad = filter("", "", "yesterday", "");
    let listed = services.list_audit_log(&bob, bad.clone(), PageRequest::first()).await;
    assert!(matches!(listed, Err(ServiceError::Forbidden(_))), "{listed:?}");
    let exported = services.export_audit_log(&bob, bad, Raw::text("xml")).await;
    assert!(matches!(exported, Err(ServiceError::Forbidden(_))), "{exported:?}");

    // Analysts and viewers read the tenant but not its audit trail.
    let assign = crate::service::AssignRoleInput { user: Raw::text(bob.user_id.to_string()), role: Raw::text("ANALYST") };
    services.assign_role(&admin, assign, &meta()).await.unwrap();
    let analyst = services.actor_for(bob.user_id, bob.tenant_id).await.unwrap().unwrap();
    assert!(matches!(services.list_audit_log(&analyst, AuditFilter::default(), PageRequest::first()).await, Err(ServiceError::Forbidden(_))));
}

#[tokio::test]
async fn a_bad_since_is_a_field_error_and_so_is_every_other_bad_filter() {
    let services = testing::services().await;
    let (_, admin) = tenant_with_admin(&services, "Acme").await;
    let error = services.list_audit_log(&admin, filter("", "", "yesterday", ""), PageRequest::first()).await.unwrap_err();
    let ServiceError::Validation(fields) = error else { panic!("{error:?}") };
    assert!(fields.get("since").unwrap()[0].contains("YYYY-MM-DD"));
    assert_eq!(fields.iter().count(), 1);

    let error = services.list_audit_log(&admin, filter("no such!", "nobody", "2024-05-02", "2024-05-01"), PageRequest::first()).await.unwrap_err();
    let ServiceError::Validation(fields) = error else { panic!("{error:?}") };
    let named: Vec<&str> = fields.iter().map(|(k, _)| k).collect();
    assert_eq!(named, ["action", "actor", "until"]);
}

#[tokio::test]
async fn a_tenant_never_sees_another_tenants_events() {
    let services = testing::services().await;
    let (acme, acme_admin) = tenant_with_admin(&services, "Acme").await;
    let (globex, globex_admin) = tenant_with_admin(&services, "Globex").await;
    record(&services, globex.id, Some(&globex_admin), "secret_globex_action", at(1, 9)).await;
    record(&services, acme.id, Some(&acme_admin), "acme_action", at(1, 9)).await;

    let page = services.list_audit_log(&acme_admin, AuditFilter::default(), PageRequest::first()).await.unwrap();
    assert!(!page.items.is_empty());
    assert!(page.items.iter().all(|e| e.tenant_id == Some(acme.id)));
    assert!(!page.items.iter().any(|e| e.action == "secret_globex_action"));
    let by_globex_admin = filter("", &globex_admin.user_id.to_string(), "", "");
    assert_eq!(services.list_audit_log(&acme_admin, by_globex_admin.clone(), PageRequest::first()).await.unwrap().count, 0);

    let export = services.export_audit_log(&acme_admin, AuditFilter::default(), Raw::text("csv")).await.unwrap();
    let (rows, _) = drain(export).await;
    assert_eq!(rows.len() as i64, page.count);
    assert!(rows.iter().all(|e| e.tenant_id == Some(acme.id)));
    let globex_rows = services.list_audit_log(&globex_admin, AuditFilter::default(), PageRequest::first()).await.unwrap();
    assert!(globex_rows.items.iter().any(|e| e.action == "secret_globex_action"));
    assert!(globex_rows.items.iter().all(|e| e.tenant_id == Some(globex.id)));
}

#[tokio::test]
async fn a_superuser_reads_the_trail_of_the_tenant_it_acts_in_and_no_other() {
    let services = testing::services().await;
    let (acme, _) = tenant_with_admin(&services, "Acme").await;
    let (root, _) = services.create_superuser("root@platform.test", Some(PASSWORD)).await.unwrap();
    let in_acme = services.actor_for(root.id, Some(acme.id)).await.unwrap().unwrap();
    let page = services.list_audit_log(&in_acme, AuditFilter::default(), PageRequest::first()).await.unwrap();
    assert!(page.items.iter().any(|e| e.action == "tenant_created"));
    let outside = services.actor_for(root.id, None).await.unwrap().unwrap();
    assert!(matches!(services.list_audit_log(&outside, AuditFilter::default(), PageRequest::first()).await, Err(ServiceError::Forbidden(_))));
}

#[tokio::test]
async fn an_export_reads_every_matching_event_once_in_keyset_batches() {
    let services = testing::services().await;
    let (tenant, admin) = tenant_with_admin(&services, "Acme").await;
    // 2,500 events, most sharing a timestamp with others, so that the id breaks the ties.
    let mut tx = services.db().write().await.unwrap();
    for i in 0..2500 {
        let entry = NewAuditEntry {
            tenant_id: Some(tenant.id),
            actor_id: Some(admin.user_id),
            actor_email: Some(admin.email.clone()),
            action: crate::domain::AuditAction::ReportViewed,
            resource_type: "report",
            resource_id: Some(i.to_string()),
            metadata: json!({}),
            ip_address: None,
            user_agent: None,
        };
        tx.insert_audit(&entry, at(1, 0) + Duration::seconds(i / 7)).await.unwrap();
    }
    tx.commit().await.unwrap();

    let export = services.export_audit_log(&admin, filter("report_viewed", "", "", ""), Raw::text("JSON")).await.unwrap();
    assert_eq!(export.format, ExportFormat::Json);
    assert_eq!(export.file_name(), format!("audit-{}-{}.json", tenant.slug, Utc::now().format("%Y-%m-%d")));
    let (rows, sizes) = drain(export).await;
    assert_eq!(sizes, [1000, 1000, 500]);
    assert_eq!(rows.iter().map(|e| e.id).collect::<HashSet<_>>().len(), 2500);
    assert!(is_newest_first(&rows));

    let since = filter("report_viewed", "", "2024-05-01T00:05:00Z", "2024-05-01");
    let (recent, _) = drain(services.export_audit_log(&admin, since, Raw::text("csv")).await.unwrap()).await;
    assert_eq!(recent.len(), 2500 - 300 * 7);
    assert!(recent.iter().all(|e| e.created_at >= at(1, 0) + Duration::minutes(5)));
}

#[tokio::test]
async fn an_export_checks_its_format_and_filters_before_reading_anything() {
    let services = testing::services().await;
    let (_, admin) = tenant_with_admin(&services, "Acme").await;
    let error = services.export_audit_log(&admin, filter("", "", "", "soon"), Raw::text("xml")).await.unwrap_err();
    let ServiceError::Validation(fields) = error else { panic!("{error:?}") };
    assert!(fields.get("format").unwrap()[0].contains("csv, json"));
    assert!(fields.get("until").is_some());
}
