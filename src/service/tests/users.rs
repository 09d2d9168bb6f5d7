use super::*;
use crate::{store::PageRequest, testing, ServiceError};

#[tokio::test]
async fn an_admin_creates_a_member_with_no_role() {
    let services = testing::services().await;
    let (tenant, admin) = tenant_with_admin(&services, "Acme").await;
    let bob = member(&services, &admin, "Bob@Acme.com").await;
    assert_eq!(bob.email, "bob@acme.com");
    assert!(bob.roles.is_empty());
    let page = services.list_users(&admin, PageRequest::first()).await.unwrap();
    assert_eq!(page.count, 2);
    let listed: Vec<_> = page.items.iter().map(|p| (p.user.email.as_str(), p.roles.clone())).collect();
    assert!(listed.contains(&("bob@acme.com", vec![])));
    assert!(listed.contains(&("admin@acme.example.com", vec![crate::domain::RoleName::BuiltIn(Role::Admin)])));
    let mut tx = services.db().read().await.unwrap();
    assert!(tx.audit_actions(tenant.id).await.unwrap().contains(&crate::domain::AuditAction::UserCreated));
}

#[tokio::test]
async fn a_non_admin_cannot_create_users_even_with_bad_input() {
    let services = testing::services().await;
    let (_, admin) = tenant_with_admin(&services, "Acme").await;
    let bob = member(&services, &admin, "bob@acme.com").await;
    let error = services.create_user(&bob, CreateUserInput::default(), &meta()).await.unwrap_err();
    assert!(matches!(error, ServiceError::Forbidden(_)), "authorization comes before validation: {error:?}");
}

#[tokio::test]
async fn a_member_of_tenant_a_cannot_list_or_create_users_in_tenant_b() {
    let services = testing::services().await;
    let (_, admin_a) = tenant_with_admin(&services, "Alpha").await;
    let (_, admin_b) = tenant_with_admin(&services, "Beta").await;
    member(&services, &admin_b, "secret@beta.com").await;
    // Listing shows only A's people.
    let page = services.list_users(&admin_a, PageRequest::first()).await.unwrap();
    assert!(page.items.iter().all(|p| !p.user.email.contains("beta")));
    // A created user lands in A, never in B.
    member(&services, &admin_a, "new@alpha.com").await;
    let b_page = services.list_users(&admin_b, PageRequest::first()).await.unwrap();
    assert!(b_page.items.iter().all(|p| p.user.email != "new@alpha.com"));
    // An actor of A pointed at B's tenant does not resolve: no membership there.
    assert!(services.actor_for(admin_a.user_id, admin_b.tenant_id).await.unwrap().is_none());
}

#[tokio::test]
async fn creating_a_user_whose_email_has_an_account_is_a_conflict() {
    let services = testing::services().await;
    let (_, admin) = tenant_with_admin(&services, "Acme").await;
    member(&services, &admin, "bob@acme.com").await;
    let input = CreateUserInput { email: Raw::text("BOB@acme.com"), password: Raw::text(PASSWORD), ..Default::default() };
    let error = services.create_user(&admin, input, &meta()).await.unwrap_err();
    let ServiceError::Conflict { fields, .. } = error else { panic!("{error:?}") };
    assert!(fields.get("email").is_some());
}

#[tokio::test]
async fn me_reads_current_roles_not_frozen_ones() {
    let services = testing::services().await;
    let (_, admin) = tenant_with_admin(&services, "Acme").await;
    let bob = member(&services, &admin, "bob@acme.com").await;
    let input = crate::service::AssignRoleInput { user: Raw::text(bob.user_id.to_string()), role: Raw::text("ANALYST") };
    services.assign_role(&admin, input, &meta()).await.unwrap();
    // Each request resolves its actor afresh, so bob's next request sees the new role.
    let next_request = services.actor_for(bob.user_id, bob.tenant_id).await.unwrap().unwrap();
    assert_eq!(services.me(&next_request).roles, vec![Role::Analyst]);
}

#[tokio::test]
async fn members_are_listed_by_email_and_pages_are_slices_of_that_order() {
    let services = testing::services().await;
    let (_, admin) = tenant_with_admin(&services, "Acme").await;
    for email in ["zoe@acme.com", "bob@acme.com", "mia@acme.com", "al.x@acme.com"] {
        member(&services, &admin, email).await;
    }
    let emails = |page: crate::store::Page<crate::service::Profile>| page.items.into_iter().map(|p| p.user.email).collect::<Vec<_>>();
    let all = emails(services.list_users(&admin, PageRequest::first()).await.unwrap());
    assert_eq!(all, ["admin@acme.example.com", "al.x@acme.com", "bob@acme.com", "mia@acme.com", "zoe@acme.com"]);
    // The database orders before it cuts the page: page 2 of 2 is the 3rd and 4th e-mails.
    let second = services.list_users(&admin, PageRequest { page: 2, page_size: 2 }).await.unwrap();
    assert_eq!(second.count, 5);
    assert_eq!(emails(second), ["bob@acme.com", "mia@acme.com"]);
}

/// A page is cut from the e-mail order the database keeps on each membership (migration 0021),
/// not from the order people joined: here the two who joined last come first.
#[tokio::test]
async fn the_first_page_of_members_holds_the_first_emails_not_the_first_to_join() {
    let services = testing::services().await;
    let (_, admin) = tenant_with_admin(&services, "Acme").await;
    for email in ["zz1@acme.com", "zz2@acme.com", "aa1@acme.com", "aa2@acme.com"] {
        member(&services, &admin, email).await;
    }
    let first = services.list_users(&admin, PageRequest { page: 1, page_size: 2 }).await.unwrap();
    assert_eq!(first.count, 5);
    assert_eq!(first.items.into_iter().map(|p| p.user.email).collect::<Vec<_>>(), ["aa1@acme.com", "aa2@acme.com"]);
}
