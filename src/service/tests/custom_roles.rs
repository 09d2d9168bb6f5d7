//! Custom roles: what they grant, who may make and hand them out, and the last-administrator
//! rule over them.

use super::*;
use crate::{
    domain::{Grant, Permission, RoleName},
    service::{AssignRoleInput, AssignmentFilter, InviteInput, RawList, RoleInput},
    store::PageRequest,
    testing, ServiceError,
};

fn role(name: &str, permissions: &[&str]) -> RoleInput {
    RoleInput {
        name: Raw::text(name),
        description: Raw::text(format!("The {name} role")),
        permissions: RawList::Items(permissions.iter().map(|p| p.to_string()).collect()),
    }
}

async fn assign(services: &Services, by: &Actor, user: &Actor, role: &str) -> Result<(), ServiceError> {
    let input = AssignRoleInput { user: Raw::text(user.user_id.to_string()), role: Raw::text(role) };
    services.assign_role(by, input, &meta()).await.map(drop)
}

async fn fresh(services: &Services, actor: &Actor) -> Actor {
    services.actor_for(actor.user_id, actor.tenant_id).await.unwrap().unwrap()
}

fn forbidden_naming(error: ServiceError, permission: &str) {
    match error {
        ServiceError::Forbidden(detail) => assert!(detail.contains(permission), "{detail}"),
        other => panic!("expected 403 naming {permission}, got {other:?}"),
    }
}

#[tokio::test]
async fn a_custom_role_grants_its_permissions_from_the_next_request() {
    let services = testing::services().await;
    let (tenant, admin) = tenant_with_admin(&services, "Acme").await;
    let created = services.create_role(&admin, role("developer", &["members:read", "invitations:*", "usage:read"]), &meta()).await.unwrap();
    assert_eq!(created.name, "developer");
    assert!(!created.built_in && created.id.is_some());
    assert_eq!(created.permissions, vec![Grant::One(Permission::MembersRead), Grant::One(Permission::UsageRead), Grant::Resource("invitations")]);
    let bob = member(&services, &admin, "bob@acme.com").await;
    assert!(!bob.can(Permission::InvitationsWrite));
    assign(&services, &admin, &bob, "Developer").await.unwrap();
    let bob = fresh(&services, &bob).await;
    assert_eq!(bob.roles, vec![RoleName::from_stored("developer")], "stored under the role's own spelling");
    assert!(bob.can(Permission::InvitationsWrite) && bob.can(Permission::InvitationsRead));
    assert!(!bob.can(Permission::RolesWrite) && !bob.can(Permission::AuditRead));
    // Inviting as VIEWER (the default) hands out usage:read, which the role holds too.
    services.invite(&bob, None, InviteInput { email: Raw::text("carol@acme.com"), role: Raw::Missing }, &meta()).await.unwrap();
    // Editing the role changes what its holders may do at once.
    let update = RoleInput { permissions: RawList::Items(vec!["members:read".into()]), ..Default::default() };
    services.update_role(&admin, "developer", update, &meta()).await.unwrap();
    let bob = fresh(&services, &bob).await;
    assert!(!bob.can(Permission::InvitationsWrite));
    let actions = services.db().read().await.unwrap().audit_actions(tenant.id).await.unwrap();
    assert!(actions.contains(&crate::domain::AuditAction::RoleCreated) && actions.contains(&crate::domain::AuditAction::RoleUpdated));
}

#[tokio::test]
async fn role_names_are_checked_unique_and_every_unknown_permission_is_named() {
    let services = testing::services().await;
    let (_, admin) = tenant_with_admin(&services, "Acme").await;
    let (_, other) = tenant_with_admin(&services, "Globex").await;
    services.create_role(&admin, role("ops", &[]), &meta()).await.unwrap();
    let clash = services.create_role(&admin, role("OPS", &[]), &meta()).await.unwrap_err();
    assert!(matches!(&clash, ServiceError::Conflict { fields, .. } if fields.get("name").is_some()), "{clash:?}");
    // Names are per tenant.
    services.create_role(&other, role("ops", &[]), &meta()).await.unwrap();
    let bad = RoleInput { name: Raw::text("admin"), description: Raw::Missing, permissions: RawList::Items(vec!["assets:*".into(), "members:delete".into(), "members:read".into()]) };
    let ServiceError::Validation(fields) = services.create_role(&admin, bad, &meta()).await.unwrap_err() else { panic!() };
    assert!(fields.get("name").unwrap()[0].contains("built-in"));
    let messages = fields.get("permissions").unwrap();
    assert_eq!(messages.len(), 2, "{messages:?}");
    assert!(messages[0].contains("assets:*") && messages[1].contains("members:delete"));
    let missing = RoleInput::default();
    let ServiceError::Validation(fields) = services.create_role(&admin, missing, &meta()).await.unwrap_err() else { panic!() };
    assert_eq!(fields.get("name").unwrap(), [crate::domain::REQUIRED]);
    let typed = RoleInput { name: Raw::text("x"), permissions: RawList::WrongType("Expected a list of items but got type \"str\".".into()), ..Default::default() };
    let ServiceError::Validation(fields) = services.create_role(&admin, typed, &meta()).await.unwrap_err() else { panic!() };
    assert!(fields.get("name").is_some() && fields.get("permissions").is_some(), "every bad field at once");
}

#[tokio::test]
async fn nobody_grants_what_they_do_not_hold() {
    let services = testing::services().await;
    let (_, admin) = tenant_with_admin(&services, "Acme").await;
    services.create_role(&admin, role("role-manager", &["roles:write", "members:read"]), &meta()).await.unwrap();
    services.create_role(&admin, role("auditor", &["audit:read"]), &meta()).await.unwrap();
    let bob = member(&services, &admin, "bob@acme.com").await;
    let carol = member(&services, &admin, "carol@acme.com").await;
    assign(&services, &admin, &bob, "role-manager").await.unwrap();
    let bob = fresh(&services, &bob).await;
    // Bob may write roles, but not hand out what he lacks: in a new role, an edit, or a grant.
    forbidden_naming(services.create_role(&bob, role("snoop", &["audit:read"]), &meta()).await.unwrap_err(), "audit:read");
    forbidden_naming(services.create_role(&bob, role("all", &["*"]), &meta()).await.unwrap_err(), "audit:read");
    let widen = RoleInput { permissions: RawList::Items(vec!["roles:write".into(), "members:write".into()]), ..Default::default() };
    forbidden_naming(services.update_role(&bob, "role-manager", widen, &meta()).await.unwrap_err(), "members:write");
    forbidden_naming(assign(&services, &bob, &carol, "auditor").await.unwrap_err(), "audit:read");
    forbidden_naming(assign(&services, &bob, &carol, "ADMIN").await.unwrap_err(), "tenant:write");
    forbidden_naming(assign(&services, &bob, &carol, "VIEWER").await.unwrap_err(), "usage:read");
    let invite = InviteInput { email: Raw::text("dan@acme.com"), role: Raw::text("auditor") };
    assert!(matches!(services.invite(&bob, None, invite, &meta()).await, Err(ServiceError::Forbidden(_))));
    // What he holds, he may grant.
    services.create_role(&bob, role("reader", &["members:read"]), &meta()).await.unwrap();
    assign(&services, &bob, &carol, "reader").await.unwrap();
    assert!(fresh(&services, &carol).await.roles.contains(&RoleName::from_stored("reader")));
}

#[tokio::test]
async fn built_in_roles_are_listed_and_fixed() {
    let services = testing::services().await;
    let (_, admin) = tenant_with_admin(&services, "Acme").await;
    services.create_role(&admin, role("developer", &["members:read"]), &meta()).await.unwrap();
    let bob = member(&services, &admin, "bob@acme.com").await;
    let roles = services.list_roles(&bob).await.unwrap();
    let names: Vec<&str> = roles.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["ADMIN", "ANALYST", "VIEWER", "developer"]);
    assert_eq!(roles[0].permissions, vec![Grant::All]);
    assert_eq!(roles[0].member_count, 1);
    assert!(roles[..3].iter().all(|r| r.built_in && r.id.is_none()));
    let error = services.update_role(&admin, "ADMIN", role("boss", &[]), &meta()).await.unwrap_err();
    assert!(matches!(&error, ServiceError::Forbidden(d) if d.contains("Built-in")), "{error:?}");
    assert!(matches!(services.delete_role(&admin, "viewer", Raw::Missing, &meta()).await, Err(ServiceError::Forbidden(_))));
    assert!(matches!(services.delete_role(&admin, "nobody", Raw::Missing, &meta()).await, Err(ServiceError::NotFound)));
    assert!(matches!(services.create_role(&bob, role("mine", &[]), &meta()).await, Err(ServiceError::Forbidden(_))), "members cannot write roles");
    assert_eq!(services.role(&bob, "DEVELOPER").await.unwrap().name, "developer");
    let viewer = services.role(&bob, "viewer").await.unwrap();
    assert_eq!((viewer.name.as_str(), viewer.built_in), ("VIEWER", true), "a built-in role by its name in any case");
}

#[tokio::test]
async fn a_held_role_is_deleted_only_with_reassignment_which_moves_its_holders() {
    let services = testing::services().await;
    let (tenant, admin) = tenant_with_admin(&services, "Acme").await;
    let developer = services.create_role(&admin, role("developer", &["members:read"]), &meta()).await.unwrap();
    services.create_role(&admin, role("senior_developer", &["members:read", "invitations:read"]), &meta()).await.unwrap();
    let bob = member(&services, &admin, "bob@acme.com").await;
    assign(&services, &admin, &bob, "developer").await.unwrap();
    let invite = InviteInput { email: Raw::text("carol@acme.com"), role: Raw::text("developer") };
    let issued = services.invite(&admin, None, invite, &meta()).await.unwrap();
    let error = services.delete_role(&admin, &developer.id.unwrap().to_string(), Raw::Missing, &meta()).await.unwrap_err();
    assert!(matches!(&error, ServiceError::Conflict { detail, .. } if detail.contains("1 member")), "{error:?}");
    let same = services.delete_role(&admin, "developer", Raw::text("developer"), &meta()).await.unwrap_err();
    assert!(matches!(same, ServiceError::Validation(f) if f.get("reassign_to").is_some()));
    let unknown = services.delete_role(&admin, "developer", Raw::text("wizard"), &meta()).await.unwrap_err();
    assert!(matches!(unknown, ServiceError::Validation(f) if f.get("reassign_to").is_some()));
    services.delete_role(&admin, "developer", Raw::text("senior_developer"), &meta()).await.unwrap();
    assert_eq!(fresh(&services, &bob).await.roles, vec![RoleName::from_stored("senior_developer")]);
    let mut tx = services.db().read().await.unwrap();
    assert!(tx.custom_role(tenant.id, developer.id.unwrap()).await.unwrap().is_none());
    drop(tx);
    // The pending invitation moved too: accepting it grants the new role.
    let input = crate::service::AcceptInvitationInput { token: Raw::text(&issued.token), password: Raw::text(PASSWORD), ..Default::default() };
    let carol = services.accept_invitation(input, &meta()).await.unwrap();
    assert_eq!(carol.roles, vec![RoleName::from_stored("senior_developer")]);
    // Held by members alone, or only promised by a pending invitation: either keeps it.
    services.create_role(&admin, role("qa", &["members:read"]), &meta()).await.unwrap();
    assign(&services, &admin, &bob, "qa").await.unwrap();
    let held = services.delete_role(&admin, "qa", Raw::Missing, &meta()).await.unwrap_err();
    assert!(matches!(&held, ServiceError::Conflict { detail, .. } if detail.contains("1 member(s) and 0 pending")), "{held:?}");
    services.create_role(&admin, role("ops", &["members:read"]), &meta()).await.unwrap();
    services.invite(&admin, None, InviteInput { email: Raw::text("dave@acme.com"), role: Raw::text("ops") }, &meta()).await.unwrap();
    let promised = services.delete_role(&admin, "ops", Raw::Missing, &meta()).await.unwrap_err();
    assert!(matches!(&promised, ServiceError::Conflict { detail, .. } if detail.contains("0 member(s) and 1 pending")), "{promised:?}");
    // A role nobody holds goes without reassignment.
    services.create_role(&admin, role("temp", &[]), &meta()).await.unwrap();
    services.delete_role(&admin, "temp", Raw::Missing, &meta()).await.unwrap();
}

#[tokio::test]
async fn renaming_a_role_carries_the_new_name_to_its_holders() {
    let services = testing::services().await;
    let (_, admin) = tenant_with_admin(&services, "Acme").await;
    services.create_role(&admin, role("dev", &["audit:read"]), &meta()).await.unwrap();
    let bob = member(&services, &admin, "bob@acme.com").await;
    assign(&services, &admin, &bob, "dev").await.unwrap();
    let rename = RoleInput { name: Raw::text("developer"), ..Default::default() };
    let renamed = services.update_role(&admin, "dev", rename, &meta()).await.unwrap();
    assert_eq!(renamed.permissions, vec![Grant::One(Permission::AuditRead)], "unchanged");
    let bob = fresh(&services, &bob).await;
    assert_eq!(bob.roles, vec![RoleName::from_stored("developer")]);
    assert!(bob.can(Permission::AuditRead));
    services.create_role(&admin, role("ops", &[]), &meta()).await.unwrap();
    let clash = RoleInput { name: Raw::text("Developer"), ..Default::default() };
    assert!(matches!(services.update_role(&admin, "ops", clash, &meta()).await, Err(ServiceError::Conflict { .. })));
}

#[tokio::test]
async fn a_tenant_keeps_a_member_who_can_manage_members_and_roles() {
    let services = testing::services().await;
    let (tenant, admin) = tenant_with_admin(&services, "Acme").await;
    services.create_role(&admin, role("owner", &["roles:*", "members:*"]), &meta()).await.unwrap();
    services.create_role(&admin, role("helper", &["members:read"]), &meta()).await.unwrap();
    // The founding admin swaps ADMIN for a custom role that still administers: allowed.
    let own = services.list_assignments(&admin, AssignmentFilter::default(), PageRequest::first()).await.unwrap().items[0].id;
    assign(&services, &admin, &admin, "owner").await.unwrap();
    services.revoke_role(&admin, &own.to_string(), &meta()).await.unwrap();
    let admin = fresh(&services, &admin).await;
    assert!(crate::service::policy::administers(&admin.roles, &admin.grants));
    // Now the custom role is what keeps the tenant administered: it cannot lose that.
    let narrow = RoleInput { permissions: RawList::Items(vec!["roles:*".into()]), ..Default::default() };
    let error = services.update_role(&admin, "owner", narrow, &meta()).await.unwrap_err();
    assert!(matches!(&error, ServiceError::Conflict { detail, .. } if detail.contains("last administrator")), "{error:?}");
    let error = services.change_role(&admin, tenant.id, &admin.user_id.to_string(), "owner", Raw::text("helper"), &meta()).await.unwrap_err();
    assert!(matches!(error, ServiceError::Conflict { .. }), "{error:?}");
    let error = services.delete_role(&admin, "owner", Raw::text("helper"), &meta()).await.unwrap_err();
    assert!(matches!(error, ServiceError::Conflict { .. }), "{error:?}");
    assert!(matches!(services.remove_member(&admin, tenant.id, admin.user_id, &meta()).await, Err(ServiceError::Conflict { .. })));
    // Holding only the custom role, the admin may not hand out ADMIN (it grants more)…
    forbidden_naming(services.delete_role(&admin, "owner", Raw::text("ADMIN"), &meta()).await.unwrap_err(), "tenant:write");
    // …but may move everyone to another role that administers.
    services.create_role(&admin, role("steward", &["roles:write", "members:write"]), &meta()).await.unwrap();
    services.delete_role(&admin, "owner", Raw::text("steward"), &meta()).await.unwrap();
    let admin = fresh(&services, &admin).await;
    assert_eq!(admin.roles, vec![RoleName::from_stored("steward")]);
    assert!(admin.can(Permission::MembersWrite) && admin.can(Permission::RolesRead));
}

#[tokio::test]
async fn changing_a_members_role_replaces_it_atomically() {
    let services = testing::services().await;
    let (tenant, admin) = tenant_with_admin(&services, "Acme").await;
    services.create_role(&admin, role("developer", &["members:read"]), &meta()).await.unwrap();
    services.create_role(&admin, role("senior_developer", &["members:read", "invitations:read"]), &meta()).await.unwrap();
    let bob = member(&services, &admin, "bob@acme.com").await;
    assign(&services, &admin, &bob, "developer").await.unwrap();
    let user = bob.user_id.to_string();
    let assignment = services.change_role(&admin, tenant.id, &user, "developer", Raw::text("senior_developer"), &meta()).await.unwrap();
    assert_eq!(assignment.role.0, RoleName::from_stored("senior_developer"));
    assert_eq!(assignment.user_id, bob.user_id);
    assert_eq!(fresh(&services, &bob).await.roles, vec![RoleName::from_stored("senior_developer")]);
    let entry = services.db().read().await.unwrap().audit_actions(tenant.id).await.unwrap();
    assert_eq!(entry[0], "role_changed");
    // Not held any more, unknown member, unknown target, and another tenant.
    let gone = services.change_role(&admin, tenant.id, &user, "developer", Raw::text("VIEWER"), &meta()).await;
    assert!(matches!(gone, Err(ServiceError::NotFound)));
    let nobody = services.change_role(&admin, tenant.id, &UserId::new().to_string(), "developer", Raw::text("VIEWER"), &meta()).await;
    assert!(matches!(nobody, Err(ServiceError::NotFound)));
    let bad = services.change_role(&admin, tenant.id, &user, "senior_developer", Raw::text("wizard"), &meta()).await.unwrap_err();
    assert!(matches!(bad, ServiceError::Validation(f) if f.get("role_name").is_some()));
    let (other_tenant, other_admin) = tenant_with_admin(&services, "Globex").await;
    let across = services.change_role(&other_admin, tenant.id, &user, "senior_developer", Raw::text("VIEWER"), &meta()).await;
    assert!(matches!(across, Err(ServiceError::NotFound)), "{across:?}");
    let across = services.change_role(&admin, other_tenant.id, &other_admin.user_id.to_string(), "ADMIN", Raw::text("VIEWER"), &meta()).await;
    assert!(matches!(across, Err(ServiceError::NotFound)), "{across:?}");
}

#[tokio::test]
async fn another_tenants_roles_are_out_of_reach() {
    let services = testing::services().await;
    let (_, admin_a) = tenant_with_admin(&services, "Alpha").await;
    let (_, admin_b) = tenant_with_admin(&services, "Beta").await;
    let secret = services.create_role(&admin_a, role("secret", &["audit:read"]), &meta()).await.unwrap();
    let id = secret.id.unwrap().to_string();
    assert!(matches!(services.role(&admin_b, &id).await, Err(ServiceError::NotFound)));
    assert!(matches!(services.role(&admin_b, "secret").await, Err(ServiceError::NotFound)));
    assert!(matches!(services.update_role(&admin_b, &id, role("mine", &[]), &meta()).await, Err(ServiceError::NotFound)));
    assert!(matches!(services.delete_role(&admin_b, &id, Raw::Missing, &meta()).await, Err(ServiceError::NotFound)));
    let bob = member(&services, &admin_b, "bob@beta.com").await;
    let error = assign(&services, &admin_b, &bob, "secret").await.unwrap_err();
    assert!(matches!(error, ServiceError::Validation(f) if f.get("role").is_some()));
    assert_eq!(services.list_roles(&admin_b).await.unwrap().len(), 3);
}
