use super::*;
use crate::{
    service::{AssignRoleInput, AssignmentFilter},
    store::PageRequest,
    testing, ServiceError,
};

fn assign(user: &Actor, role: &str) -> AssignRoleInput {
    AssignRoleInput { user: Raw::text(user.user_id.to_string()), role: Raw::text(role) }
}

#[tokio::test]
async fn an_admin_assigns_a_role_once_and_gets_the_same_assignment_again() {
    let services = testing::services().await;
    let (tenant, admin) = tenant_with_admin(&services, "Acme").await;
    let bob = member(&services, &admin, "bob@acme.com").await;
    let (first, created) = services.assign_role(&admin, assign(&bob, "viewer"), &meta()).await.unwrap();
    assert!(created);
    assert_eq!(first.role.0, Role::Viewer);
    assert_eq!(first.assigned_by, Some(admin.user_id));
    let (again, created_again) = services.assign_role(&admin, assign(&bob, "VIEWER"), &meta()).await.unwrap();
    assert!(!created_again);
    assert_eq!(again.id, first.id);
    let page = services.list_assignments(&bob, AssignmentFilter::default(), PageRequest::first()).await.unwrap();
    assert_eq!(page.count, 2, "the admin's ADMIN and bob's VIEWER");
    let mut tx = services.db().read().await.unwrap();
    assert_eq!(tx.audit_actions(tenant.id).await.unwrap().iter().filter(|a| *a == "role_assigned").count(), 1);
}

#[tokio::test]
async fn a_non_admin_cannot_assign_roles() {
    let services = testing::services().await;
    let (_, admin) = tenant_with_admin(&services, "Acme").await;
    let bob = member(&services, &admin, "bob@acme.com").await;
    let error = services.assign_role(&bob, assign(&bob, "ADMIN"), &meta()).await.unwrap_err();
    assert!(matches!(error, ServiceError::Forbidden(_)), "{error:?}");
    assert!(!has_role(&services.actor_for(id_of(&bob), bob.tenant_id).await.unwrap().unwrap(), Role::Admin));
}

#[tokio::test]
async fn roles_can_only_be_given_to_members_of_the_callers_tenant() {
    let services = testing::services().await;
    let (_, admin_a) = tenant_with_admin(&services, "Alpha").await;
    let (_, admin_b) = tenant_with_admin(&services, "Beta").await;
    let error = services.assign_role(&admin_a, assign(&admin_b, "ADMIN"), &meta()).await.unwrap_err();
    let ServiceError::Validation(fields) = error else { panic!("{error:?}") };
    assert!(fields.get("user").is_some());
    assert_eq!(services.actor_for(admin_b.user_id, admin_a.tenant_id).await.unwrap().map(|a| a.roles), None);
}

#[tokio::test]
async fn unknown_roles_and_non_uuid_users_are_field_errors() {
    let services = testing::services().await;
    let (_, admin) = tenant_with_admin(&services, "Acme").await;
    let input = AssignRoleInput { user: Raw::text("not-a-uuid"), role: Raw::text("OWNER") };
    let ServiceError::Validation(fields) = services.assign_role(&admin, input, &meta()).await.unwrap_err() else { panic!() };
    assert!(fields.get("user").is_some() && fields.get("role").is_some());
}

#[tokio::test]
async fn assignments_filter_by_user_and_role_within_the_tenant() {
    let services = testing::services().await;
    let (_, admin) = tenant_with_admin(&services, "Acme").await;
    tenant_with_admin(&services, "Other").await;
    let bob = member(&services, &admin, "bob@acme.com").await;
    services.assign_role(&admin, assign(&bob, "ANALYST"), &meta()).await.unwrap();
    let by_role = AssignmentFilter { role: Raw::text("ANALYST"), ..Default::default() };
    let page = services.list_assignments(&admin, by_role, PageRequest::first()).await.unwrap();
    assert_eq!(page.items.len(), 1);
    assert_eq!(page.items[0].user_email, "bob@acme.com");
    let by_user = AssignmentFilter { user: Raw::text(admin.user_id.to_string()), ..Default::default() };
    let page = services.list_assignments(&admin, by_user, PageRequest::first()).await.unwrap();
    assert_eq!(page.items.iter().map(|a| a.role.0.clone()).collect::<Vec<_>>(), vec![Role::Admin]);
    let all = services.list_assignments(&admin, AssignmentFilter::default(), PageRequest::first()).await.unwrap();
    assert_eq!(all.count, 2, "the other tenant's admin is not listed");
}

/// Later pages bind an offset the first page does not (see `json_page::limit_offset`): each
/// page is the matching slice of the whole list, with or without a filter set.
#[tokio::test]
async fn assignment_pages_are_slices_of_the_whole_list() {
    let services = testing::services().await;
    let (_, admin) = tenant_with_admin(&services, "Acme").await;
    for email in ["a@acme.com", "b@acme.com", "c@acme.com", "d@acme.com"] {
        let member = member(&services, &admin, email).await;
        services.assign_role(&admin, assign(&member, "ANALYST"), &meta()).await.unwrap();
    }
    let ids = |page: crate::store::Page<crate::store::Assignment>| page.items.into_iter().map(|a| a.id).collect::<Vec<_>>();
    let all = ids(services.list_assignments(&admin, AssignmentFilter::default(), PageRequest::first()).await.unwrap());
    assert_eq!(all.len(), 5);
    for (number, slice) in [(1, &all[0..2]), (2, &all[2..4]), (3, &all[4..5])] {
        let page = services.list_assignments(&admin, AssignmentFilter::default(), PageRequest { page: number, page_size: 2 }).await.unwrap();
        assert_eq!(page.count, 5);
        assert_eq!(ids(page), slice, "page {number}");
    }
    let analysts = || AssignmentFilter { role: Raw::text("ANALYST"), ..Default::default() };
    let every_analyst = ids(services.list_assignments(&admin, analysts(), PageRequest::first()).await.unwrap());
    let second = services.list_assignments(&admin, analysts(), PageRequest { page: 2, page_size: 3 }).await.unwrap();
    assert_eq!(second.count, 4);
    assert_eq!(ids(second), &every_analyst[3..4]);
    let beyond = services.list_assignments(&admin, analysts(), PageRequest { page: 9, page_size: 3 }).await.unwrap();
    assert!(beyond.items.is_empty());
    assert_eq!(beyond.count, 4);
}
