//! API keys in the service layer: who may make them, what they hold, when they stop working.

use super::*;
use crate::{
    domain::{Grant, Permission},
    service::{ApiKeyInput, RawList, RoleInput},
    testing, ServiceError,
};

fn key_input(scopes: &[&str]) -> ApiKeyInput {
    ApiKeyInput { name: Raw::text("Primary API Key"), scopes: RawList::Items(scopes.iter().map(|s| s.to_string()).collect()), expires_days: Raw::text("365") }
}

#[tokio::test]
async fn a_key_holds_exactly_its_scopes_and_names_itself_in_the_audit_trail() {
    let services = testing::services().await;
    let (tenant, admin) = tenant_with_admin(&services, "Acme").await;
    let issued = services.create_api_key(&admin, key_input(&["members:*", "usage:read"]), &meta()).await.unwrap();
    assert!(issued.secret.starts_with(&issued.key.prefix));
    assert_eq!(issued.key.scopes.0, vec![Grant::One(Permission::UsageRead), Grant::Resource("members")]);
    assert_eq!(issued.key.created_by, admin.user_id);
    let days = (issued.key.expires_at.unwrap() - issued.key.created_at).num_days();
    assert_eq!(days, 365);
    let key = services.actor_from_api_key(&issued.secret, &meta()).await.unwrap();
    assert_eq!(key.tenant_id, Some(tenant.id));
    assert!(!key.is_superuser && key.roles.is_empty());
    assert!(key.can(Permission::MembersWrite) && key.can(Permission::MembersRead) && key.can(Permission::UsageRead));
    assert!(!key.can(Permission::TenantRead) && !key.can(Permission::RolesRead), "no member baseline");
    let bob = member(&services, &key, "bob@acme.com").await;
    let mut tx = services.db().read().await.unwrap();
    let query = crate::store::AuditQuery { tenant: tenant.id, action: Some("user_created".into()), actor_id: None, actor_email: None, since: None, before: None };
    let entry = tx.audit_page(&query, crate::store::PageRequest::first()).await.unwrap().rows;
    drop(tx);
    let created = entry.iter().find(|e| e.action == "user_created" && e.resource_id == Some(bob.user_id.to_string())).unwrap();
    assert_eq!(created.actor_id, None, "a key is not a person");
    assert_eq!(created.metadata["api_key"]["id"], serde_json::json!(issued.key.id));
    assert_eq!(created.metadata["api_key"]["name"], "Primary API Key");
    // Its last use is recorded (in the background).
    services.settled().await;
    let listed = services.list_api_keys(&admin).await.unwrap();
    assert!(listed[0].last_used_at.is_some());
    assert_eq!(listed[0].last_used_ip.as_deref(), Some("127.0.0.1"));
}

#[tokio::test]
async fn keys_are_made_by_people_with_the_right_and_never_beyond_what_they_hold() {
    let services = testing::services().await;
    let (_, admin) = tenant_with_admin(&services, "Acme").await;
    let bob = member(&services, &admin, "bob@acme.com").await;
    assert!(matches!(services.create_api_key(&bob, key_input(&["members:read"]), &meta()).await, Err(ServiceError::Forbidden(_))));
    assert!(matches!(services.list_api_keys(&bob).await, Err(ServiceError::Forbidden(_))));
    let role = RoleInput { name: Raw::text("integrator"), permissions: RawList::Items(vec!["api_keys:manage".into(), "members:read".into()]), ..Default::default() };
    services.create_role(&admin, role, &meta()).await.unwrap();
    services.assign_role(&admin, crate::service::AssignRoleInput { user: Raw::text(bob.user_id.to_string()), role: Raw::text("integrator") }, &meta()).await.unwrap();
    let bob = services.actor_for(bob.user_id, bob.tenant_id).await.unwrap().unwrap();
    let error = services.create_api_key(&bob, key_input(&["*"]), &meta()).await.unwrap_err();
    assert!(matches!(&error, ServiceError::Forbidden(d) if d.contains("audit:read")), "{error:?}");
    let made = services.create_api_key(&bob, key_input(&["members:read", "api_keys:manage"]), &meta()).await.unwrap();
    let key = services.actor_from_api_key(&made.secret, &meta()).await.unwrap();
    assert!(matches!(services.create_api_key(&key, key_input(&["members:read"]), &meta()).await, Err(ServiceError::Forbidden(_))), "keys make no keys");
    assert!(matches!(services.my_tenants(&key).await, Err(ServiceError::Forbidden(_))));
    assert!(matches!(services.switch_tenant(&key, Raw::text(admin.tenant_id.unwrap().to_string()), &meta()).await, Err(ServiceError::Forbidden(_))));
    let bad = ApiKeyInput { name: Raw::Missing, scopes: RawList::Items(vec![]), expires_days: Raw::text("0") };
    let ServiceError::Validation(fields) = services.create_api_key(&admin, bad, &meta()).await.unwrap_err() else { panic!() };
    assert!(fields.get("name").is_some() && fields.get("scopes").is_some() && fields.get("expires_days").is_some());
    let never = services.create_api_key(&admin, ApiKeyInput { expires_days: Raw::Missing, ..key_input(&["members:read"]) }, &meta()).await.unwrap();
    assert!(never.key.expires_at.is_none());
}

#[tokio::test]
async fn revoked_expired_unknown_and_suspended_keys_are_refused_saying_which() {
    let services = testing::services().await;
    let (tenant, admin) = tenant_with_admin(&services, "Acme").await;
    let (_, other) = tenant_with_admin(&services, "Globex").await;
    let issued = services.create_api_key(&admin, key_input(&["members:read"]), &meta()).await.unwrap();
    let id = issued.key.id.to_string();
    assert!(matches!(services.revoke_api_key(&other, &id, &meta()).await, Err(ServiceError::NotFound)), "another tenant's key");
    assert!(services.actor_from_api_key(&issued.secret, &meta()).await.is_ok(), "still alive");
    services.revoke_api_key(&admin, &id, &meta()).await.unwrap();
    services.revoke_api_key(&admin, &id, &meta()).await.unwrap();
    let actions = services.db().read().await.unwrap().audit_actions(tenant.id).await.unwrap();
    assert_eq!(actions.iter().filter(|a| *a == "api_key_revoked").count(), 1, "revoking twice is one revocation");
    let reason = |r: crate::ServiceResult<Actor>| match r {
        Err(ServiceError::Unauthenticated(detail)) => detail,
        other => panic!("expected 401, got {other:?}"),
    };
    assert!(reason(services.actor_from_api_key(&issued.secret, &meta()).await).contains("revoked"));
    assert!(reason(services.actor_from_api_key("tnt_nothing", &meta()).await).contains("Invalid"));
    assert!(reason(services.actor_from_api_key(&format!("tnt_{}", "a".repeat(43)), &meta()).await).contains("Invalid"));
    let expiring = services.create_api_key(&admin, key_input(&["members:read"]), &meta()).await.unwrap();
    let mut tx = services.db().write().await.unwrap();
    tx.expire_api_key_for_tests(expiring.key.id).await.unwrap();
    tx.commit().await.unwrap();
    assert!(reason(services.actor_from_api_key(&expiring.secret, &meta()).await).contains("expired"));
    let live = services.create_api_key(&admin, key_input(&["members:read"]), &meta()).await.unwrap();
    let (root, _) = services.create_superuser("root@platform.test", Some(PASSWORD)).await.unwrap();
    let root = services.actor_for(root.id, None).await.unwrap().unwrap();
    services.set_tenant_suspended(&root, tenant.id, true, &meta()).await.unwrap();
    assert!(reason(services.actor_from_api_key(&live.secret, &meta()).await).contains("suspended"));
}

#[tokio::test]
async fn the_cli_makes_keys_for_the_first_admin_or_a_named_member() {
    let services = testing::services().await;
    let (tenant, admin) = tenant_with_admin(&services, "Acme").await;
    let made = services.create_api_key_for_tenant(&tenant.slug, None, key_input(&["members:read"])).await.unwrap();
    assert_eq!(made.key.created_by, admin.user_id);
    let bob = member(&services, &admin, "bob@acme.com").await;
    let denied = services.create_api_key_for_tenant(&tenant.slug, Some("bob@acme.com"), key_input(&["members:read"])).await;
    assert!(matches!(denied, Err(ServiceError::Forbidden(_))), "bob may not manage keys: {denied:?}");
    let stranger = services.create_api_key_for_tenant(&tenant.slug, Some("nobody@acme.com"), key_input(&["members:read"])).await;
    assert!(matches!(stranger, Err(ServiceError::Validation(f)) if f.get("created_by").is_some()));
    assert!(matches!(services.create_api_key_for_tenant("no-such-tenant", None, key_input(&["members:read"])).await, Err(ServiceError::NotFound)));
    assert_eq!(services.api_keys_of_tenant(&tenant.slug).await.unwrap().len(), 1);
    let revoked = services.revoke_api_key_anywhere(&made.key.id.to_string()).await.unwrap();
    assert!(revoked.revoked_at.is_some());
    assert!(matches!(services.revoke_api_key_anywhere("not-an-id").await, Err(ServiceError::NotFound)));
    let _ = bob;
}

/// Last use is written at most once a minute per address: a second call from the same
/// address at once leaves the record alone, a call from another address records it.
#[tokio::test]
async fn a_keys_last_use_is_recorded_once_a_minute_per_address() {
    let services = testing::services().await;
    let (_, admin) = tenant_with_admin(&services, "Acme").await;
    let issued = services.create_api_key(&admin, key_input(&["members:read"]), &meta()).await.unwrap();
    let last_use = || async { services.list_api_keys(&admin).await.unwrap().remove(0) };
    assert!(last_use().await.last_used_at.is_none(), "never used yet");

    services.actor_from_api_key(&issued.secret, &meta()).await.unwrap();
    services.settled().await;
    let first = last_use().await;
    assert_eq!(first.last_used_ip.as_deref(), Some("127.0.0.1"));
    let first_at = first.last_used_at.expect("recorded");

    services.actor_from_api_key(&issued.secret, &meta()).await.unwrap();
    services.settled().await;
    assert_eq!(last_use().await.last_used_at, Some(first_at), "the same address within a minute is not written again");

    let elsewhere = RequestMeta { ip: Some([10, 0, 0, 7].into()), ..meta() };
    services.actor_from_api_key(&issued.secret, &elsewhere).await.unwrap();
    services.settled().await;
    let moved = last_use().await;
    assert_eq!(moved.last_used_ip.as_deref(), Some("10.0.0.7"), "a new address is recorded at once");
    assert!(moved.last_used_at.unwrap() >= first_at);
}

#[tokio::test]
async fn a_key_name_has_at_most_100_characters() {
    let services = testing::services().await;
    let (_, admin) = tenant_with_admin(&services, "Acme").await;
    let named = |name: String| ApiKeyInput { name: Raw::text(name), ..key_input(&["members:read"]) };
    let made = services.create_api_key(&admin, named("k".repeat(100)), &meta()).await.unwrap();
    assert_eq!(made.key.name.chars().count(), 100);
    let ServiceError::Validation(fields) = services.create_api_key(&admin, named("k".repeat(101)), &meta()).await.unwrap_err() else { panic!() };
    assert!(fields.get("name").is_some());
    let ServiceError::Validation(fields) = services.create_api_key(&admin, named("tab\there".into()), &meta()).await.unwrap_err() else { panic!() };
    assert!(fields.get("name").is_some(), "control characters");
    let ServiceError::Validation(fields) = services.create_api_key(&admin, named("   ".into()), &meta()).await.unwrap_err() else { panic!() };
    assert!(fields.get("name").is_some(), "blank");
}
