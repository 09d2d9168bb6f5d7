//! Provisioning from a description (one call for the API, the CLI and bulk runs), bulk files,
//! and safe deletion with its grace period, restore and purge.

use serde_json::{json, Value};

use super::*;
use crate::{
    domain::{PlatformRole, TenantId},
    service::{
        bulk_csv_items, config_items, csv_field, AcceptInvitationInput, BulkOptions, BulkStatus, BulkSummary, IfExists, InvitationPreview, ProvisionOptions, Provisioned,
        ProvisionedTenant, TenantDescription,
    },
    store::AuditQuery,
    testing, ServiceError,
};

const MAKE: ProvisionOptions = ProvisionOptions { dry_run: false, if_exists: IfExists::Conflict };

async fn partner(services: &Services, email: &str) -> Actor {
    let (user, _) = services.set_platform_role(email, Some(PlatformRole::PartnerAdmin), Some(PASSWORD)).await.unwrap();
    services.actor_for(user.id, None).await.unwrap().unwrap()
}

async fn superuser(services: &Services) -> Actor {
    let (root, _) = services.create_superuser("root@platform.test", Some(PASSWORD)).await.unwrap();
    services.actor_for(root.id, None).await.unwrap().unwrap()
}

fn describe(value: Value) -> TenantDescription {
    TenantDescription::parse(&value).expect("a valid description")
}

async fn made(services: &Services, by: Option<&Actor>, value: Value) -> ProvisionedTenant {
    match services.provision(by, describe(value), MAKE, &meta()).await.expect("provisioned") {
        Provisioned::Created(made) => made,
        other => panic!("not created: {other:?}"),
    }
}

fn fields_of(error: &ServiceError) -> Vec<String> {
    match error {
        ServiceError::Validation(fields) | ServiceError::Conflict { fields, .. } => fields.iter().map(|(f, _)| f.to_owned()).collect(),
        other => panic!("not a field error: {other:?}"),
    }
}

async fn no_tenant(services: &Services, slug: &str) {
    assert!(matches!(services.tenant_by_slug(slug).await, Err(ServiceError::NotFound)), "{slug} must not exist");
}

fn acme() -> Value {
    json!({"tenant": {"name": "Acme Corporation", "subdomain": "acme-corp", "plan_type": "professional",
        "contact_email": "billing@acme.com", "max_users": 40, "custom_domain": "dash.acme.com"},
     "users": [{"email": "admin@acme.com", "role": "owner"}, {"email": "m@acme.com", "role": "admin"}],
     "features": {"analytics_dashboard": true}, "settings": {"timezone": "America/New_York"}})
}

#[tokio::test]
async fn a_description_applies_every_part_and_invites_its_people() {
    let services = testing::services().await;
    let partner = partner(&services, "partner@reseller.test").await;
    let made = made(&services, Some(&partner), acme()).await;
    let tenant = services.tenant_by_slug("acme-corp").await.unwrap();
    assert_eq!(tenant.id, made.tenant.id);
    assert_eq!(tenant.name, "Acme Corporation");
    assert_eq!(tenant.plan.as_deref(), Some("professional"));
    assert_eq!(tenant.contact_email.as_deref(), Some("billing@acme.com"));
    assert_eq!(tenant.custom_domain.as_deref(), Some("dash.acme.com"));
    assert_eq!(tenant.created_by_partner, Some(partner.user_id), "the partner manages what it made");
    assert_eq!(tenant.limit_overrides.0.get("max_users"), Some(&Some(40)));
    assert_eq!(tenant.feature_overrides.0.get("analytics_dashboard"), Some(&true));
    assert_eq!(tenant.settings.0.get("timezone"), Some(&json!("America/New_York")));
    assert_eq!(made.invitations.len(), 2);
    assert!(made.invitations.iter().all(|i| i.invitation.role.as_ref().map(|r| r.as_str()) == Some("ADMIN")));
    assert!(made.accounts.is_empty());

    // The first owner's mail is in the outbox and makes them the tenant's ADMIN.
    let token = token_mailed_to(&services, "invitation", "admin@acme.com").await;
    let owner = services.accept_invitation(AcceptInvitationInput { token: Raw::text(&token), password: Raw::text(PASSWORD), ..Default::default() }, &meta()).await.unwrap();
    assert_eq!(owner.tenant_id, Some(tenant.id));
    assert_eq!(owner.roles, vec![Role::Admin]);

    let entries = services.db().read().await.unwrap().audit_batch(&AuditQuery::tenant(tenant.id), None, 100).await.unwrap();
    let provisioned = entries.iter().find(|e| e.action == "tenant_provisioned").expect("audited");
    assert_eq!(provisioned.actor_email.as_deref(), Some("partner@reseller.test"));
    assert_eq!(provisioned.metadata["users"][1]["email"], "m@acme.com");
    assert_eq!(entries.iter().filter(|e| e.action == "invitation_created").count(), 2);
}

#[tokio::test]
async fn an_owner_given_a_password_gets_an_account_at_once() {
    let services = testing::services().await;
    let made = made(&services, None, json!({"tenant": {"name": "Initech"}, "users": [
        {"email": "boss@initech.test", "role": "owner", "password": PASSWORD}, {"email": "peter@initech.test", "role": "VIEWER"}]})).await;
    assert_eq!(made.accounts.len(), 1);
    assert_eq!(made.invitations.len(), 1);
    assert_eq!(made.invitations[0].invitation.role.as_ref().map(|r| r.as_str()), Some("VIEWER"));
    let actor = services.actor_for(made.accounts[0].id, Some(made.tenant.id)).await.unwrap().expect("a member");
    assert!(has_role(&actor, Role::Admin));
    services.login(login_input("boss@initech.test", PASSWORD), &meta()).await.expect("the owner signs in");
    let entries = services.db().read().await.unwrap().audit_batch(&AuditQuery::tenant(made.tenant.id), None, 100).await.unwrap();
    let provisioned = entries.iter().find(|e| e.action == "tenant_provisioned").unwrap();
    assert_eq!(provisioned.actor_email, None);
    assert_eq!(provisioned.metadata["by"], "command line");
}

#[tokio::test]
async fn a_description_that_fails_anywhere_leaves_nothing() {
    let services = testing::services().await;
    let (_, admin) = tenant_with_admin(&services, "Existing").await;
    let root = superuser(&services).await;

    let no_plan = json!({"tenant": {"name": "Nowhere", "plan_type": "platinum"}, "users": [{"email": "a@nowhere.test", "role": "owner"}]});
    let error = services.provision(Some(&root), describe(no_plan), MAKE, &meta()).await.unwrap_err();
    assert_eq!(fields_of(&error), vec!["tenant.plan_type"]);
    no_tenant(&services, "nowhere").await;

    let unknown_role = json!({"tenant": {"name": "Nowhere"}, "users": [{"email": "a@nowhere.test", "role": "owner"}, {"email": "b@nowhere.test", "role": "developer"}]});
    let error = services.provision(Some(&root), describe(unknown_role), MAKE, &meta()).await.unwrap_err();
    assert_eq!(fields_of(&error), vec!["users[1].role"]);

    let too_many = json!({"tenant": {"name": "Nowhere", "plan_type": "basic", "max_users": 1},
        "users": [{"email": "a@nowhere.test", "role": "owner"}, {"email": "b@nowhere.test", "role": "VIEWER"}]});
    let error = services.provision(Some(&root), describe(too_many), MAKE, &meta()).await.unwrap_err();
    assert_eq!(fields_of(&error), vec!["users"]);

    let taken_account = json!({"tenant": {"name": "Nowhere"}, "users": [{"email": admin.email.clone(), "role": "owner", "password": PASSWORD}]});
    let error = services.provision(Some(&root), describe(taken_account), MAKE, &meta()).await.unwrap_err();
    assert_eq!(fields_of(&error), vec!["users[0].password"]);
    no_tenant(&services, "nowhere").await;

    let taken_subdomain = json!({"tenant": {"name": "Someone Else", "subdomain": "existing"}});
    let error = services.provision(Some(&root), describe(taken_subdomain), MAKE, &meta()).await.unwrap_err();
    assert!(matches!(error, ServiceError::Conflict { .. }));
    assert_eq!(fields_of(&error), vec!["tenant.subdomain"]);
    let taken_name = json!({"tenant": {"name": "EXISTING", "subdomain": "existing-2"}});
    assert_eq!(fields_of(&services.provision(Some(&root), describe(taken_name), MAKE, &meta()).await.unwrap_err()), vec!["tenant.name"]);
    no_tenant(&services, "existing-2").await;

    made(&services, Some(&root), json!({"tenant": {"name": "Domain Holder", "custom_domain": "app.holder.test"}})).await;
    let taken_domain = json!({"tenant": {"name": "Squatter", "custom_domain": "APP.holder.test"}});
    assert_eq!(fields_of(&services.provision(Some(&root), describe(taken_domain), MAKE, &meta()).await.unwrap_err()), vec!["tenant.custom_domain"]);
    no_tenant(&services, "squatter").await;

    // The same subdomain and name again: 409 for the API, "exists" for a re-run.
    let again = || describe(json!({"tenant": {"name": "existing", "subdomain": "existing"}}));
    assert!(matches!(services.provision(Some(&root), again(), MAKE, &meta()).await, Err(ServiceError::Conflict { .. })));
    let report = ProvisionOptions { dry_run: false, if_exists: IfExists::Report };
    assert!(matches!(services.provision(Some(&root), again(), report, &meta()).await.unwrap(), Provisioned::Exists(t) if t.slug == "existing"));
}

#[tokio::test]
async fn a_partner_never_sets_a_password() {
    let services = testing::services().await;
    let partner = partner(&services, "partner@reseller.test").await;
    let with_password = json!({"tenant": {"name": "Pwned"}, "users": [{"email": "victim@mail.test", "role": "owner", "password": PASSWORD}]});
    let error = services.provision(Some(&partner), describe(with_password.clone()), MAKE, &meta()).await.unwrap_err();
    assert_eq!(fields_of(&error), vec!["users[0].password"]);
    no_tenant(&services, "pwned").await;
    assert!(services.db().read().await.unwrap().user_by_email(&crate::domain::Email::parse("victim@mail.test").unwrap()).await.unwrap().is_none());
    let root = superuser(&services).await;
    assert_eq!(made(&services, Some(&root), with_password).await.accounts.len(), 1, "a superuser may");
}

#[tokio::test]
async fn only_partners_superusers_and_the_command_line_provision() {
    let services = testing::services().await;
    let (_, admin) = tenant_with_admin(&services, "Acme").await;
    let result = services.provision(Some(&admin), describe(json!({"tenant": {"name": "Sneaky"}})), MAKE, &meta()).await;
    assert!(matches!(result, Err(ServiceError::Forbidden(_))), "{result:?}");
    no_tenant(&services, "sneaky").await;
    let root = superuser(&services).await;
    made(&services, Some(&root), json!({"tenant": {"name": "By Root"}})).await;
    made(&services, None, json!({"tenant": {"name": "By Operator"}})).await;
}

#[tokio::test]
async fn a_dry_run_checks_against_the_database_and_keeps_nothing() {
    let services = testing::services().await;
    let options = ProvisionOptions { dry_run: true, if_exists: IfExists::Report };
    let outcome = services.provision(None, describe(acme()), options, &meta()).await.unwrap();
    let Provisioned::WouldCreate(would) = outcome else { panic!("{outcome:?}") };
    assert_eq!(would.tenant.slug, "acme-corp");
    assert_eq!(would.invitations.len(), 2);
    no_tenant(&services, "acme-corp").await;
    services.settled().await;
    assert!(services.db().read().await.unwrap().outbox().await.unwrap().is_empty(), "no mail from a dry run");
    let no_plan = json!({"tenant": {"name": "Nowhere", "plan": "platinum"}});
    let error = services.provision(None, describe(no_plan), options, &meta()).await.unwrap_err();
    assert_eq!(fields_of(&error), vec!["tenant.plan"], "the field as the input named it");
}

const FILE: &str = "name,subdomain,plan,owner_email,contact_email,max_users,max_assets,max_devices,storage_quota_gb,custom_domain
Globex,globex,basic,owner@globex.test,billing@globex.test,5,10,2,1,
Initech,,,owner@initech.test,,,,,,
Broken,-broken-,,not-an-email,,many,,,,
Second Globex,globex,,,,,,,,
Umbrella,umbrella,platinum,,,,,,,
Hooli,hooli,,owner@hooli.test,,,,,,hooli.example.org
";

fn bulk(dry_run: bool, concurrency: usize) -> BulkOptions {
    BulkOptions { dry_run, concurrency, rename: csv_field }
}

#[tokio::test]
async fn a_bulk_file_makes_each_row_alone_and_can_run_again() {
    let services = testing::services().await;
    let dry = services.bulk_provision(None, bulk_csv_items(FILE.as_bytes()).unwrap(), bulk(true, 1), &|_| {}).await;
    assert_eq!(dry.iter().map(|r| r.status).collect::<Vec<_>>(),
        [BulkStatus::WouldCreate, BulkStatus::WouldCreate, BulkStatus::Failed, BulkStatus::Failed, BulkStatus::Failed, BulkStatus::WouldCreate]);
    for slug in ["globex", "initech", "hooli"] {
        no_tenant(&services, slug).await;
    }

    let seen = std::sync::atomic::AtomicU64::new(0);
    let results = services.bulk_provision(None, bulk_csv_items(FILE.as_bytes()).unwrap(), bulk(false, 3), &|done| {
        seen.fetch_max(done, std::sync::atomic::Ordering::Relaxed);
    }).await;
    assert_eq!(seen.into_inner(), 6, "progress reaches every row");
    assert_eq!(results.iter().map(|r| r.row).collect::<Vec<_>>(), vec![2, 3, 4, 5, 6, 7], "in file order");
    assert_eq!(BulkSummary::of(&results), BulkSummary { successful: 3, failed: 3, skipped_exists: 0 });
    let broken = results[2].errors.as_ref().unwrap();
    for column in ["subdomain", "owner_email", "max_users"] {
        assert!(broken.get(column).is_some(), "{column} in {broken:?}");
    }
    assert!(results[3].errors.as_ref().unwrap().get("subdomain").unwrap()[0].contains("earlier row"), "the first row keeps the subdomain");
    assert!(results[4].errors.as_ref().unwrap().get("plan").is_some());
    let globex = services.tenant_by_slug("globex").await.unwrap();
    assert_eq!(globex.name, "Globex", "the second row did not take it");
    assert_eq!((globex.plan.as_deref(), globex.limit_overrides.0.get("max_assets")), (Some("basic"), Some(&Some(10))));
    assert_eq!(results[0].invited, vec!["owner@globex.test"]);
    assert_eq!(services.tenant_by_slug("hooli").await.unwrap().custom_domain.as_deref(), Some("hooli.example.org"));
    services.settled().await;
    let mails = services.db().read().await.unwrap().outbox().await.unwrap().len();
    assert_eq!(mails, 3);

    let again = services.bulk_provision(None, bulk_csv_items(FILE.as_bytes()).unwrap(), bulk(false, 2), &|_| {}).await;
    assert_eq!(BulkSummary::of(&again), BulkSummary { successful: 0, failed: 3, skipped_exists: 3 });
    services.settled().await;
    assert_eq!(services.db().read().await.unwrap().outbox().await.unwrap().len(), mails, "nothing made or mailed twice");
}

#[tokio::test]
async fn config_entries_are_descriptions() {
    let services = testing::services().await;
    let items = config_items(json!({"tenants": [acme(), {"tenant": {"name": ""}}]})).unwrap();
    let results = services.bulk_provision(None, items.into_iter(), BulkOptions { dry_run: false, concurrency: 1, rename: str::to_owned }, &|_| {}).await;
    assert_eq!(results[0].status, BulkStatus::Created);
    assert_eq!(results[1].status, BulkStatus::Failed);
    assert!(results[1].errors.as_ref().unwrap().get("tenant.name").is_some());
    assert_eq!(services.tenant_by_slug("acme-corp").await.unwrap().plan.as_deref(), Some("professional"));
}

#[tokio::test]
async fn a_deleted_tenant_stops_at_once_and_can_be_restored() {
    let services = testing::services().await;
    let partner = partner(&services, "partner@reseller.test").await;
    let other_partner = partner_two(&services).await;
    let made = made(&services, Some(&partner), json!({"tenant": {"name": "Acme Corp"}, "users": [
        {"email": "boss@acme.test", "role": "owner"}, {"email": "new@acme.test", "role": "VIEWER"}]})).await;
    let tenant = made.tenant.id;
    let accepted = AcceptInvitationInput { token: Raw::text(&made.invitations[0].token), password: Raw::text(PASSWORD), ..Default::default() };
    let boss = services.accept_invitation(accepted, &meta()).await.unwrap();
    let owner = services.actor_for(boss.user.id, Some(tenant)).await.unwrap().unwrap();
    let token = made.invitations[1].token.clone();

    let own_admin = services.delete_tenant(Some(&owner), tenant, Raw::text("Acme Corp"), &meta()).await;
    assert!(matches!(own_admin, Err(ServiceError::Forbidden(_))), "{own_admin:?}");
    let stranger = services.delete_tenant(Some(&other_partner), tenant, Raw::text("Acme Corp"), &meta()).await;
    assert!(matches!(stranger, Err(ServiceError::NotFound)), "{stranger:?}");
    for typed in [Raw::Missing, Raw::text("acme corp"), Raw::text("Acme")] {
        let error = services.delete_tenant(Some(&partner), tenant, typed, &meta()).await.unwrap_err();
        assert_eq!(fields_of(&error), vec!["confirm_name"]);
    }
    assert_eq!(services.tenant_by_slug("acme-corp").await.unwrap().status, crate::domain::TenantStatus::Active);

    let deleted = services.delete_tenant(Some(&partner), tenant, Raw::text(" Acme Corp "), &meta()).await.unwrap();
    assert_eq!(deleted.status, crate::domain::TenantStatus::Deleted);
    assert!(deleted.deleted_at.is_some());
    assert!(services.actor_for(owner.user_id, Some(tenant)).await.unwrap().is_none(), "members can no longer act in it");
    assert!(services.login(login_input("boss@acme.test", PASSWORD), &meta()).await.is_err());
    assert!(matches!(services.invitation_preview(&token).await.unwrap(), InvitationPreview::Revoked { .. }));
    let accept = services.accept_invitation(AcceptInvitationInput { token: Raw::text(&token), password: Raw::text(PASSWORD), ..Default::default() }, &meta()).await;
    assert!(accept.is_err(), "its invitations stop working");
    assert!(matches!(services.delete_tenant(Some(&partner), tenant, Raw::text("Acme Corp"), &meta()).await, Err(ServiceError::Conflict { .. })));
    let root = superuser(&services).await;
    assert!(services.set_tenant_suspended(&root, tenant, false, &meta()).await.is_err(), "reactivating is not restoring");
    assert!(matches!(services.purge_deleted_tenants().await, Ok(0)), "within the grace period nothing is purged");

    let restored = services.restore_tenant(Some(&partner), tenant, &meta()).await.unwrap();
    assert_eq!((restored.status, restored.deleted_at), (crate::domain::TenantStatus::Active, None));
    assert!(services.actor_for(owner.user_id, Some(tenant)).await.unwrap().is_some());
    assert!(matches!(services.invitation_preview(&token).await.unwrap(), InvitationPreview::Pending { .. }), "the invitation works again");
    assert!(matches!(services.restore_tenant(Some(&partner), tenant, &meta()).await, Err(ServiceError::Conflict { .. })));
    let platform = services.db().read().await.unwrap().platform_audit(10).await.unwrap();
    assert_eq!(platform.iter().map(|e| e.action.as_str()).collect::<Vec<_>>(), vec!["tenant_restored", "tenant_deleted"]);
    assert_eq!(platform[1].actor_email.as_deref(), Some("partner@reseller.test"));
}

async fn partner_two(services: &Services) -> Actor {
    partner(services, "other@reseller.test").await
}

#[tokio::test]
async fn the_purge_removes_the_tenant_and_accounts_nobody_else_has() {
    let services = testing::services_with(&[("TENANT_DELETION_GRACE_DAYS", "0")]).await;
    let (keeper, keeper_admin) = tenant_with_admin(&services, "Keeper").await;
    let made = made(&services, None, json!({"tenant": {"name": "Doomed"}, "users": [
        {"email": "only@doomed.test", "role": "owner", "password": PASSWORD}, {"email": "invitee@doomed.test", "role": "VIEWER"}]})).await;
    let doomed = made.tenant.id;
    // Someone who belongs to both tenants keeps their account.
    let both = member(&services, &keeper_admin, "both@keeper.test").await;
    {
        let mut tx = services.db().write().await.unwrap();
        tx.insert_membership(doomed, both.user_id, crate::service::now()).await.unwrap();
        tx.commit().await.unwrap();
    }
    services.delete_tenant(None, doomed, Raw::text("Doomed"), &meta()).await.unwrap();
    let late = services.restore_tenant(None, doomed, &meta()).await;
    assert!(matches!(late, Err(ServiceError::Conflict { .. })), "the grace period (0 days) is over: {late:?}");

    assert_eq!(services.purge_deleted_tenants().await.unwrap(), 1);
    no_tenant(&services, "doomed").await;
    let mut tx = services.db().read().await.unwrap();
    assert!(tx.user_by_email(&crate::domain::Email::parse("only@doomed.test").unwrap()).await.unwrap().is_none(), "an account of the tenant alone goes");
    assert!(tx.user(both.user_id).await.unwrap().is_some(), "an account of another tenant stays");
    assert!(tx.audit_batch(&AuditQuery::tenant(doomed), None, 10).await.unwrap().is_empty(), "the tenant's trail goes");
    assert!(!tx.outbox().await.unwrap().iter().any(|m| m.to_address == "invitee@doomed.test"), "so does its mail");
    assert!(!tx.audit_batch(&AuditQuery::tenant(keeper.id), None, 10).await.unwrap().is_empty(), "other tenants' trails stay");
    let platform = tx.platform_audit(10).await.unwrap();
    assert_eq!(platform[0].action, "tenant_purged");
    assert_eq!(platform[0].metadata["accounts_removed"], 1);
    assert_eq!(platform[0].metadata["slug"], "doomed");
    drop(tx);
    assert!(matches!(services.restore_tenant(None, doomed, &meta()).await, Err(ServiceError::NotFound)));
    assert!(matches!(services.delete_tenant(None, TenantId::new(), Raw::text("x"), &meta()).await, Err(ServiceError::NotFound)));
    assert_eq!(services.purge_deleted_tenants().await.unwrap(), 0);
}

const TEMPLATES: &str = r#"
templates:
  department_template:
    description: A department with a lead developer
    plan: professional
    limits: {max_users: 25}
    features: {analytics: true}
    settings: {timezone: "Europe/Paris"}
    default_roles:
      - name: developer
        permissions: ["members:read", "invitations:*"]
        users: ["${LEAD_EMAIL}"]
      - name: owner
        users: ["${OWNER_EMAIL}"]
"#;

async fn with_templates() -> Services {
    let dir = std::env::temp_dir().join("tenantry-tests").join(format!("templates-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("templates.yaml");
    std::fs::write(&path, TEMPLATES).unwrap();
    testing::services_with(&[("TENANT_TEMPLATES_FILE", path.to_str().unwrap())]).await
}

#[tokio::test]
async fn a_template_gives_its_settings_limits_features_and_default_roles() {
    let services = with_templates().await;
    let root = superuser(&services).await;
    let templates = services.provisioning_templates(&root).await.unwrap();
    assert_eq!(templates.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(), vec!["department_template"]);
    let made = made(&services, Some(&root), json!({"tenant": {"name": "Research", "max_users": 10}, "template": "department_template",
        "users": [{"email": "boss@research.test", "role": "owner"}],
        "vars": {"LEAD_EMAIL": "lead@research.test", "OWNER_EMAIL": "boss@research.test"}})).await;
    let tenant = &made.tenant;
    assert_eq!(tenant.plan.as_deref(), Some("professional"));
    assert_eq!(tenant.limit_overrides.0.get("max_users"), Some(&Some(10)), "the description's value wins");
    assert_eq!(tenant.feature_overrides.0.get("analytics"), Some(&true));
    assert_eq!(tenant.settings.0.get("timezone"), Some(&json!("Europe/Paris")));
    let roles = services.db().read().await.unwrap().custom_roles(tenant.id).await.unwrap();
    assert_eq!(roles.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(), vec!["developer"]);
    let invited: Vec<(String, Option<String>)> = made.invitations.iter().map(|i| (i.invitation.email.clone(), i.invitation.role.as_ref().map(|r| r.as_str().to_owned()))).collect();
    assert_eq!(invited, vec![("boss@research.test".to_owned(), Some("ADMIN".to_owned())), ("lead@research.test".to_owned(), Some("developer".to_owned()))]);
    // The lead joins holding the template's role and what it grants.
    let token = token_mailed_to(&services, "invitation", "lead@research.test").await;
    let lead = services.accept_invitation(AcceptInvitationInput { token: Raw::text(&token), password: Raw::text(PASSWORD), ..Default::default() }, &meta()).await.unwrap();
    let lead = services.actor_for(lead.user.id, Some(tenant.id)).await.unwrap().unwrap();
    assert!(lead.can(crate::domain::Permission::InvitationsWrite) && !lead.can(crate::domain::Permission::RolesWrite));

    let missing = services.provision(Some(&root), describe(json!({"tenant": {"name": "Other"}, "template": "department_template"})), MAKE, &meta()).await.unwrap_err();
    assert!(match &missing { ServiceError::Validation(f) => f.get("template").unwrap().join(" ").contains("LEAD_EMAIL"), _ => false }, "{missing:?}");
    let unknown = services.provision(Some(&root), describe(json!({"tenant": {"name": "Other"}, "template": "nope"})), MAKE, &meta()).await.unwrap_err();
    assert!(match &unknown { ServiceError::Validation(f) => f.get("template").unwrap()[0].contains("department_template"), _ => false }, "{unknown:?}");
    no_tenant(&services, "other").await;
    let (_, admin) = tenant_with_admin(&services, "Plain").await;
    assert!(matches!(services.provisioning_templates(&admin).await, Err(ServiceError::Forbidden(_))));
}

#[tokio::test]
async fn roles_in_a_description_are_made_before_its_people() {
    let services = testing::services().await;
    let made = made(&services, None, json!({"tenant": {"name": "Ops"}, "roles": [{"name": "operator", "permissions": ["members:read"]}],
        "users": [{"email": "o@ops.test", "role": "operator"}]})).await;
    assert_eq!(made.invitations[0].invitation.role.as_ref().map(|r| r.as_str()), Some("operator"));
    let error = TenantDescription::parse(&json!({"tenant": {"name": "Ops2"}, "roles": [{"name": "operator", "permissions": ["nope:read"]}, {"name": "operator"}]})).unwrap_err();
    assert!(error.get("roles[0].permissions").is_some() && error.get("roles[1].name").is_some(), "{error:?}");
}

/// A tenant with a bit of everything: a custom role, members with roles, a pending invitation,
/// settings and an audit trail.
async fn rich_tenant(services: &Services) -> (crate::store::Tenant, Actor) {
    let made = made(services, None, json!({"tenant": {"name": "Acme Corp", "plan_type": "basic", "max_users": 8, "contact_email": "billing@acme.test"},
        "roles": [{"name": "developer", "description": "Builds things", "permissions": ["members:read", "invitations:*"]}],
        "users": [{"email": "boss@acme.test", "role": "owner", "password": PASSWORD}, {"email": "dev@acme.test", "role": "developer"}],
        "features": {"analytics": true}, "settings": {"timezone": "America/New_York"}})).await;
    let owner = services.actor_for(made.accounts[0].id, Some(made.tenant.id)).await.unwrap().unwrap();
    member(services, &owner, "viewer@acme.test").await;
    (made.tenant, owner)
}

fn without_times(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter().filter(|(k, _)| !["exported_at", "created_at", "expires_at"].contains(&k.as_str())).map(|(k, v)| (k.clone(), without_times(v))).collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(without_times).collect()),
        other => other.clone(),
    }
}

#[tokio::test]
async fn an_export_holds_the_tenant_without_secrets() {
    let services = testing::services().await;
    let (tenant, owner) = rich_tenant(&services).await;
    let text = services.export_tenant(Some(&owner), tenant.id, "").await.unwrap().collect().await.unwrap();
    let document: Value = serde_json::from_str(&text).expect("one JSON document");
    assert_eq!((document["format"].as_str(), document["version"].as_i64()), (Some("tenantry.tenant-export"), Some(1)));
    assert_eq!(document["tenant"]["name"], "Acme Corp");
    assert_eq!(document["tenant"]["settings"]["timezone"], "America/New_York");
    assert_eq!(document["roles"][0]["permissions"], json!(["members:read", "invitations:*"]));
    let users: Vec<&str> = document["users"].as_array().unwrap().iter().map(|u| u["email"].as_str().unwrap()).collect();
    assert_eq!(users, vec!["boss@acme.test", "viewer@acme.test"]);
    assert_eq!(document["users"][0]["roles"], json!(["ADMIN"]));
    assert_eq!(document["invitations"][0]["email"], "dev@acme.test");
    assert!(document["audit"].as_array().unwrap().iter().any(|e| e["action"] == "tenant_provisioned"));
    assert!(!text.contains("argon2") && !text.contains("password_hash") && !text.contains("token_hash"), "no hashes: {text}");

    let only: Value = serde_json::from_str(&services.export_tenant(None, tenant.id, "users").await.unwrap().collect().await.unwrap()).unwrap();
    assert!(only.get("users").is_some() && only.get("audit").is_none() && only.get("roles").is_none() && only["tenant"].get("settings").is_none());
    let bad = services.export_tenant(None, tenant.id, "users,passwords").await.unwrap_err();
    assert_eq!(fields_of(&bad), vec!["include"]);

    let viewer = services.actor_for(services.db().read().await.unwrap().user_by_email(&crate::domain::Email::parse("viewer@acme.test").unwrap()).await.unwrap().unwrap().id, Some(tenant.id)).await.unwrap().unwrap();
    assert!(matches!(services.export_tenant(Some(&viewer), tenant.id, "").await, Err(ServiceError::Forbidden(_))));
    let (_, stranger) = tenant_with_admin(&services, "Stranger").await;
    assert!(matches!(services.export_tenant(Some(&stranger), tenant.id, "").await, Err(ServiceError::NotFound)));
}

#[tokio::test]
async fn export_import_export_gives_the_same_document_and_importing_twice_adds_nothing() {
    let here = testing::services().await;
    let (tenant, _) = rich_tenant(&here).await;
    let first = here.export_tenant(None, tenant.id, "").await.unwrap().collect().await.unwrap();
    let first: Value = serde_json::from_str(&first).unwrap();

    // Another installation: nobody has an account there yet.
    let there = testing::services().await;
    let imported = there.import_tenant(&first, None, &meta()).await.unwrap();
    assert!(!imported.existed);
    assert_eq!(imported.accounts_created, vec!["boss@acme.test", "viewer@acme.test"]);
    assert_eq!(imported.invitations.len(), 1);
    assert_eq!(imported.roles_created, vec!["developer"]);
    assert!(imported.notes.is_empty(), "{:?}", imported.notes);
    let link_token = token_mailed_to(&there, "account_created", "viewer@acme.test").await;
    assert!(!link_token.is_empty(), "people without an account get a set-password link");
    let second = there.export_tenant(None, imported.tenant.id, "").await.unwrap().collect().await.unwrap();
    let second: Value = serde_json::from_str(&second).unwrap();
    assert_eq!(without_times(&second), without_times(&first));

    let again = there.import_tenant(&first, None, &meta()).await.unwrap();
    assert!(again.existed);
    assert!(again.members_added.is_empty() && again.accounts_created.is_empty() && again.invitations.is_empty() && again.roles_created.is_empty() && again.audit_rows == 0);
    let third: Value = serde_json::from_str(&there.export_tenant(None, imported.tenant.id, "").await.unwrap().collect().await.unwrap()).unwrap();
    assert_eq!(without_times(&third), without_times(&first), "nothing duplicated");

    // On the same installation under a new subdomain the name clashes; a foreign document is refused.
    let clash = here.import_tenant(&first, Some("acme-copy"), &meta()).await.unwrap_err();
    assert_eq!(fields_of(&clash), vec!["tenant.name"]);
    let foreign = here.import_tenant(&json!({"format": "something-else", "tenant": {"name": "Xyz", "slug": "xyz"}}), None, &meta()).await.unwrap_err();
    assert_eq!(fields_of(&foreign), vec!["format"]);
}

#[tokio::test]
async fn the_platform_list_is_newest_first_and_for_superusers() {
    let services = testing::services().await;
    let (_, admin) = tenant_with_admin(&services, "Oldest").await;
    tenant_with_admin(&services, "Newest").await;
    let root = superuser(&services).await;
    let page = services.platform_tenants(&root, crate::store::PageRequest::first()).await.unwrap();
    assert_eq!(page.items.iter().map(|t| t.name.as_str()).collect::<Vec<_>>(), vec!["Newest", "Oldest"]);
    assert_eq!(page.count, 2);
    assert!(matches!(services.platform_tenants(&admin, crate::store::PageRequest::first()).await, Err(ServiceError::Forbidden(_))));
}

#[tokio::test]
async fn a_bulk_run_from_the_page_is_previewed_then_created_in_the_background() {
    let services = testing::services().await;
    let root = superuser(&services).await;
    let csv = "name,subdomain,owner_email\nPaged One,paged-one,one@paged.test\nPaged Two,,\nBroken,-x-,\n";
    let preview = services.preview_bulk_run(&root, "tenants.csv", csv).await.unwrap();
    assert_eq!((preview.status.as_str(), preview.total, preview.processed), ("preview", 3, 0));
    assert_eq!(preview.file_name, "tenants.csv");
    assert_eq!(preview.rows.iter().map(|r| r.status).collect::<Vec<_>>(), vec![BulkStatus::WouldCreate, BulkStatus::WouldCreate, BulkStatus::Failed]);
    no_tenant(&services, "paged-one").await;

    services.start_bulk_run(&root, preview.id).await.unwrap();
    assert!(matches!(services.start_bulk_run(&root, preview.id).await, Err(ServiceError::Conflict { .. })), "a run starts once");
    services.settled().await;
    let done = services.bulk_run_view(&root, preview.id).await.unwrap();
    assert_eq!((done.status.as_str(), done.processed), ("done", 3));
    assert_eq!(done.summary, BulkSummary { successful: 2, failed: 1, skipped_exists: 0 });
    let made = services.tenant_by_slug("paged-one").await.unwrap();
    assert_eq!(made.created_by_partner, Some(root.user_id), "the superuser answers for what the page made");

    let (_, admin) = tenant_with_admin(&services, "Plain").await;
    assert!(matches!(services.preview_bulk_run(&admin, "t.csv", csv).await, Err(ServiceError::Forbidden(_))));
    assert!(matches!(services.bulk_run_view(&admin, preview.id).await, Err(ServiceError::Forbidden(_))));
    assert_eq!(fields_of(&services.preview_bulk_run(&root, "t.csv", "subdomain\nx\n").await.unwrap_err()), vec!["file"]);
    assert_eq!(fields_of(&services.preview_bulk_run(&root, "t.csv", "name\n").await.unwrap_err()), vec!["file"]);
    let full = format!("name\n{}", (0..crate::service::PAGE_BULK_MAX_ROWS).map(|i| format!("Full {i}\n")).collect::<String>());
    assert_eq!(services.preview_bulk_run(&root, "full.csv", &full).await.unwrap().total, crate::service::PAGE_BULK_MAX_ROWS as i64, "exactly the most rows fit");
    let big = format!("name\n{}", (0..=crate::service::PAGE_BULK_MAX_ROWS).map(|i| format!("Big {i}\n")).collect::<String>());
    assert_eq!(fields_of(&services.preview_bulk_run(&root, "t.csv", &big).await.unwrap_err()), vec!["file"]);
    assert!(matches!(services.bulk_run_view(&root, uuid::Uuid::new_v4()).await, Err(ServiceError::NotFound)));
}

#[tokio::test]
async fn an_api_key_exports_only_the_parts_its_scopes_read() {
    let services = testing::services().await;
    let (tenant, owner) = rich_tenant(&services).await;
    let input = crate::service::ApiKeyInput { name: Raw::text("Exporter"), scopes: crate::service::RawList::from_json(Some(&json!(["tenant:*", "roles:read"]))), expires_days: Raw::Missing };
    let issued = services.create_api_key(&owner, input, &meta()).await.unwrap();
    let key = services.actor_from_api_key(&issued.secret, &meta()).await.unwrap();
    let roles = services.export_tenant(Some(&key), tenant.id, "roles,settings").await.unwrap().collect().await.unwrap();
    assert!(roles.contains("developer"));
    assert!(matches!(services.export_tenant(Some(&key), tenant.id, "users").await, Err(ServiceError::Forbidden(_))), "no members:read");
    assert!(matches!(services.export_tenant(Some(&key), tenant.id, "").await, Err(ServiceError::Forbidden(_))), "everything includes the audit trail");
}

#[tokio::test]
async fn limits_and_plans_apply_alone_and_the_edges_of_each_limit_hold() {
    let services = testing::services().await;
    let limits_only = made(&services, None, json!({"tenant": {"name": "Limited", "max_tasks": 3}})).await.tenant;
    assert_eq!((limits_only.plan.as_deref(), limits_only.limit_overrides.0.get("max_tasks")), (None, Some(&Some(3))), "limits without a plan are kept");
    let plan_only = made(&services, None, json!({"tenant": {"name": "Planned", "plan_type": "basic"}})).await.tenant;
    assert_eq!((plan_only.plan.as_deref(), plan_only.limit_overrides.0.is_empty()), (Some("basic"), true), "a plan without limits is kept");

    // Exactly max_users people fit; one more does not.
    let people = |n: usize| (0..n).map(|i| json!({"email": format!("p{i}@edge.test"), "role": "VIEWER"})).collect::<Vec<_>>();
    made(&services, None, json!({"tenant": {"name": "Full House", "max_users": 2}, "users": people(2)})).await;
    let over = services.provision(None, describe(json!({"tenant": {"name": "Over Full", "max_users": 2}, "users": people(3)})), MAKE, &meta()).await.unwrap_err();
    assert_eq!(fields_of(&over), vec!["users"]);

    // Settings of exactly the most a tenant may keep are accepted; a byte more is not.
    let max = crate::service::SETTINGS_MAX_BYTES;
    let settings = |len: usize| json!({"k": "x".repeat(len - r#"{"k":""}"#.len())});
    made(&services, None, json!({"tenant": {"name": "Heavy"}, "settings": settings(max)})).await;
    let too_heavy = services.provision(None, describe(json!({"tenant": {"name": "Too Heavy"}, "settings": settings(max + 1)})), MAKE, &meta()).await.unwrap_err();
    assert_eq!(fields_of(&too_heavy), vec!["settings"]);
    no_tenant(&services, "too-heavy").await;
}

#[tokio::test]
async fn a_deletion_records_when_the_purge_is_due() {
    let services = testing::services().await;
    let made = made(&services, None, json!({"tenant": {"name": "Short Lived"}})).await;
    let deleted = services.delete_tenant(None, made.tenant.id, Raw::text("Short Lived"), &meta()).await.unwrap();
    let platform = services.db().read().await.unwrap().platform_audit(5).await.unwrap();
    let due = chrono::DateTime::parse_from_rfc3339(platform[0].metadata["purge_after"].as_str().unwrap()).unwrap();
    // PostgreSQL keeps microseconds; the recorded time may carry more.
    let off = (due.with_timezone(&chrono::Utc) - deleted.deleted_at.unwrap() - chrono::Duration::days(30)).num_milliseconds().abs();
    assert!(off < 5, "TENANT_DELETION_GRACE_DAYS defaults to 30 days: {off} ms off");
}
