use super::*;
use crate::{
    domain::AssignmentId,
    service::{AssignRoleInput, AssignmentFilter, InviteInput, AcceptInvitationInput},
    store::PageRequest,
    testing, ServiceError,
};

async fn assign(services: &Services, admin: &Actor, user: &Actor, role: &str) -> AssignmentId {
    let input = AssignRoleInput { user: Raw::text(user.user_id.to_string()), role: Raw::text(role) };
    services.assign_role(admin, input, &meta()).await.unwrap().0.id
}

/// Makes `email` (a new account) a member of `admin`'s tenant through an invitation.
async fn join(services: &Services, admin: &Actor, email: &str) {
    let issued = services.invite(admin, None, InviteInput { email: Raw::text(email), role: Raw::text("VIEWER") }, &meta()).await.unwrap();
    let input = AcceptInvitationInput { token: Raw::text(&issued.token), password: Raw::text(PASSWORD), ..Default::default() };
    services.accept_invitation(input, &meta()).await.unwrap();
}

#[tokio::test]
async fn an_admin_revokes_a_role_and_it_is_gone_on_the_next_request() {
    let services = testing::services().await;
    let (tenant, admin) = tenant_with_admin(&services, "Acme").await;
    let bob = member(&services, &admin, "bob@acme.com").await;
    let id = assign(&services, &admin, &bob, "ANALYST").await;
    services.revoke_role(&admin, &id.to_string(), &meta()).await.unwrap();
    let next = services.actor_for(bob.user_id, bob.tenant_id).await.unwrap().unwrap();
    assert!(next.roles.is_empty());
    let actions = services.db().read().await.unwrap().audit_actions(tenant.id).await.unwrap();
    assert_eq!(actions[0], "role_revoked");
}

#[tokio::test]
async fn revoking_is_admin_only_and_other_tenants_assignments_are_not_found() {
    let services = testing::services().await;
    let (_, admin) = tenant_with_admin(&services, "Acme").await;
    let (_, other_admin) = tenant_with_admin(&services, "Globex").await;
    let bob = member(&services, &admin, "bob@acme.com").await;
    let id = assign(&services, &admin, &bob, "VIEWER").await;
    assert!(matches!(services.revoke_role(&bob, &id.to_string(), &meta()).await, Err(ServiceError::Forbidden(_))));
    assert!(matches!(services.revoke_role(&other_admin, &id.to_string(), &meta()).await, Err(ServiceError::NotFound)));
    assert!(matches!(services.revoke_role(&admin, &AssignmentId::new().to_string(), &meta()).await, Err(ServiceError::NotFound)));
    let page = services.list_assignments(&admin, AssignmentFilter::default(), PageRequest::first()).await.unwrap();
    assert!(page.items.iter().any(|a| a.id == id), "still there");
}

#[tokio::test]
async fn the_last_admin_can_be_neither_revoked_nor_removed() {
    let services = testing::services().await;
    let (tenant, admin) = tenant_with_admin(&services, "Acme").await;
    let page = services.list_assignments(&admin, AssignmentFilter::default(), PageRequest::first()).await.unwrap();
    let own = page.items[0].id;
    let error = services.revoke_role(&admin, &own.to_string(), &meta()).await.unwrap_err();
    assert!(matches!(&error, ServiceError::Conflict { detail, .. } if detail.contains("last administrator")), "{error:?}");
    assert!(matches!(services.remove_member(&admin, tenant.id, admin.user_id, &meta()).await, Err(ServiceError::Conflict { .. })));
    // With a second admin, the first may go.
    let bob = member(&services, &admin, "bob@acme.com").await;
    assign(&services, &admin, &bob, "ADMIN").await;
    services.revoke_role(&admin, &own.to_string(), &meta()).await.unwrap();
}

#[tokio::test]
async fn removing_a_member_takes_their_roles_and_keeps_the_account() {
    let services = testing::services().await;
    let (tenant, admin) = tenant_with_admin(&services, "Acme").await;
    let bob = member(&services, &admin, "bob@acme.com").await;
    assign(&services, &admin, &bob, "ANALYST").await;
    services.remove_member(&admin, tenant.id, bob.user_id, &meta()).await.unwrap();
    assert!(services.actor_for(bob.user_id, Some(tenant.id)).await.unwrap().is_none(), "no longer acts there");
    let page = services.list_assignments(&admin, AssignmentFilter::default(), PageRequest::first()).await.unwrap();
    assert!(page.items.iter().all(|a| a.user_id != bob.user_id));
    assert!(services.db().read().await.unwrap().user(bob.user_id).await.unwrap().is_some(), "the account stays");
    assert!(matches!(services.remove_member(&admin, tenant.id, bob.user_id, &meta()).await, Err(ServiceError::NotFound)));
    // Every request loads its caller afresh (the line above: bob no longer acts there); even
    // an actor loaded before the removal cannot remove anyone.
    assert!(services.remove_member(&bob, tenant.id, admin.user_id, &meta()).await.is_err());
    assert!(services.actor_for(admin.user_id, Some(tenant.id)).await.unwrap().is_some(), "the admin stays");
}

#[tokio::test]
async fn people_in_several_tenants_list_them_and_switch_only_into_their_own() {
    let services = testing::services().await;
    let (acme, acme_admin) = tenant_with_admin(&services, "Acme").await;
    let (globex, globex_admin) = tenant_with_admin(&services, "Globex").await;
    let (initech, _) = tenant_with_admin(&services, "Initech").await;
    join(&services, &acme_admin, "jane@x.com").await;
    join(&services, &globex_admin, "jane@x.com").await;
    let (_, profile) = services.login(login_input("jane@x.com", PASSWORD), &meta()).await.unwrap();
    assert_eq!(profile.tenant_id, Some(acme.id), "the oldest membership first");
    let jane = services.actor_for(profile.user.id, profile.tenant_id).await.unwrap().unwrap();
    let tenants = services.my_tenants(&jane).await.unwrap();
    assert_eq!(tenants.iter().map(|m| (m.tenant.id, m.current)).collect::<Vec<_>>(), vec![(acme.id, true), (globex.id, false)]);
    assert!(tenants.iter().all(|m| m.roles == vec![Role::Viewer]));

    let (pair, switched) = services.switch_tenant_tokens(&jane, Raw::text(globex.id.to_string()), &meta()).await.unwrap();
    assert_eq!(switched.tenant_id, Some(globex.id));
    assert_eq!(services.actor_from_access_token(&pair.access, &meta()).await.unwrap().tenant_id, Some(globex.id));
    assert!(matches!(services.switch_tenant(&jane, Raw::text(initech.id.to_string()), &meta()).await, Err(ServiceError::Forbidden(_))));
    assert!(matches!(services.switch_tenant(&jane, Raw::text("nope"), &meta()).await, Err(ServiceError::Validation(_))));
    let actions = services.db().read().await.unwrap().audit_actions(globex.id).await.unwrap();
    assert_eq!(actions[0], "tenant_switched");
}

#[tokio::test]
async fn a_suspended_tenant_cannot_log_in_or_be_invited_to_and_keeps_its_data() {
    let services = testing::services().await;
    let (acme, admin) = tenant_with_admin(&services, "Acme").await;
    member(&services, &admin, "bob@acme.com").await;
    let (root, _) = services.create_superuser("root@platform.test", Some(PASSWORD)).await.unwrap();
    let root = services.actor_for(root.id, None).await.unwrap().unwrap();
    assert!(matches!(services.set_tenant_suspended(&admin, acme.id, true, &meta()).await, Err(ServiceError::Forbidden(_))));
    let suspended = services.set_tenant_suspended(&root, acme.id, true, &meta()).await.unwrap();
    assert_eq!(suspended.status, crate::domain::TenantStatus::Suspended);
    assert!(matches!(services.login(login_input("bob@acme.com", PASSWORD), &meta()).await, Err(ServiceError::Unauthenticated(_))));
    assert!(services.actor_for(admin.user_id, Some(acme.id)).await.unwrap().is_none(), "existing sessions stop acting there");
    let invite = InviteInput { email: Raw::text("new@x.com"), role: Raw::Missing };
    assert!(services.invite(&root, Some(acme.id), invite, &meta()).await.is_err());
    services.set_tenant_suspended(&root, acme.id, false, &meta()).await.unwrap();
    let admin = services.actor_for(admin.user_id, Some(acme.id)).await.unwrap().unwrap();
    assert_eq!(services.list_users(&admin, PageRequest::first()).await.unwrap().count, 2, "data kept");
}
