use chrono::{Duration, Utc};

use super::*;
use crate::{
    service::{AcceptInvitationInput, InvitationFilter, InvitationPreview, InviteInput},
    store::PageRequest,
    testing, ServiceError,
};

fn invite_input(email: &str, role: &str) -> InviteInput {
    InviteInput { email: Raw::text(email), role: Raw::text(role) }
}

fn accept_input(token: &str, password: &str) -> AcceptInvitationInput {
    AcceptInvitationInput { token: Raw::text(token), password: Raw::text(password), first_name: Raw::text("Jane"), last_name: Raw::Missing }
}

fn token_field(error: &ServiceError) -> bool {
    match error {
        ServiceError::Validation(f) | ServiceError::NotFoundField(f) => f.get("token").is_some(),
        ServiceError::Conflict { fields, .. } | ServiceError::Gone { fields, .. } => fields.get("token").is_some(),
        _ => false,
    }
}

#[tokio::test]
async fn an_admin_invites_and_the_invitee_joins_with_the_role() {
    let services = testing::services().await;
    let (tenant, admin) = tenant_with_admin(&services, "Acme").await;
    let issued = services.invite(&admin, None, invite_input("Jane@Example.com", "analyst"), &meta()).await.unwrap();
    assert_eq!(issued.invitation.email, "jane@example.com");
    assert_eq!(issued.invitation.role.as_ref().map(|r| r.as_str()), Some("ANALYST"));
    assert_eq!(issued.token.len(), 43);
    assert!(issued.invitation.expires_at > Utc::now() + Duration::days(6));
    let mailed = token_mailed_to(&services, "invitation", "jane@example.com").await;
    assert_eq!(mailed, issued.token);

    let profile = services.accept_invitation(accept_input(&issued.token, PASSWORD), &meta()).await.unwrap();
    assert_eq!(profile.user.email, "jane@example.com");
    assert_eq!(profile.user.first_name, "Jane");
    assert_eq!(profile.tenant_id, Some(tenant.id));
    assert_eq!(profile.roles, vec![Role::Analyst]);
    assert!(services.login(login_input("jane@example.com", PASSWORD), &meta()).await.is_ok());
    let actions = services.db().read().await.unwrap().audit_actions(tenant.id).await.unwrap();
    assert!(actions.contains(&crate::domain::AuditAction::InvitationCreated) && actions.contains(&crate::domain::AuditAction::InvitationAccepted));
}

#[tokio::test]
async fn the_role_defaults_to_viewer_and_unknown_roles_are_field_errors() {
    let services = testing::services().await;
    let (_, admin) = tenant_with_admin(&services, "Acme").await;
    let input = InviteInput { email: Raw::text("a@b.com"), role: Raw::Missing };
    assert_eq!(services.invite(&admin, None, input, &meta()).await.unwrap().invitation.role.as_ref().map(|r| r.as_str()), Some("VIEWER"));
    let ServiceError::Validation(fields) = services.invite(&admin, None, invite_input("c@b.com", "OWNER"), &meta()).await.unwrap_err() else { panic!() };
    assert!(fields.get("role").is_some());
}

#[tokio::test]
async fn only_admins_invite_and_other_tenants_are_not_found() {
    let services = testing::services().await;
    let (_, admin) = tenant_with_admin(&services, "Acme").await;
    let (other, _) = tenant_with_admin(&services, "Globex").await;
    let bob = member(&services, &admin, "bob@acme.com").await;
    assert!(matches!(services.invite(&bob, None, InviteInput::default(), &meta()).await, Err(ServiceError::Forbidden(_))));
    assert!(matches!(services.invite(&admin, Some(other.id), invite_input("x@y.com", "VIEWER"), &meta()).await, Err(ServiceError::NotFound)));
    let (root, _) = services.create_superuser("root@platform.test", Some(PASSWORD)).await.unwrap();
    let root = services.actor_for(root.id, None).await.unwrap().unwrap();
    let issued = services.invite(&root, Some(other.id), invite_input("x@y.com", "ADMIN"), &meta()).await.unwrap();
    assert_eq!(issued.invitation.tenant_id, other.id);
}

#[tokio::test]
async fn inviting_a_member_is_refused_and_a_second_invite_replaces_the_first() {
    let services = testing::services().await;
    let (_, admin) = tenant_with_admin(&services, "Acme").await;
    member(&services, &admin, "bob@acme.com").await;
    let error = services.invite(&admin, None, invite_input("BOB@acme.com", "VIEWER"), &meta()).await.unwrap_err();
    assert!(matches!(&error, ServiceError::Conflict { fields, .. } if fields.get("email").is_some()), "{error:?}");

    let first = services.invite(&admin, None, invite_input("jane@x.com", "VIEWER"), &meta()).await.unwrap();
    let second = services.invite(&admin, None, invite_input("jane@x.com", "ANALYST"), &meta()).await.unwrap();
    let error = services.accept_invitation(accept_input(&first.token, PASSWORD), &meta()).await.unwrap_err();
    assert!(token_field(&error), "{error:?}");
    let profile = services.accept_invitation(accept_input(&second.token, PASSWORD), &meta()).await.unwrap();
    assert_eq!(profile.roles, vec![Role::Analyst]);
}

#[tokio::test]
async fn every_token_failure_names_the_token_with_its_own_status() {
    let services = testing::services().await;
    let (_, admin) = tenant_with_admin(&services, "Acme").await;
    let missing = services.accept_invitation(AcceptInvitationInput::default(), &meta()).await.unwrap_err();
    assert!(matches!(&missing, ServiceError::Validation(f) if f.get("token").is_some()), "{missing:?}");
    let garbage = services.accept_invitation(accept_input("garbage", PASSWORD), &meta()).await.unwrap_err();
    assert!(matches!(&garbage, ServiceError::Validation(f) if f.get("token").is_some()), "{garbage:?}");
    let unknown = services.accept_invitation(accept_input(&crate::auth::random_token(), PASSWORD), &meta()).await.unwrap_err();
    assert!(matches!(&unknown, ServiceError::NotFoundField(f) if f.get("token").is_some()), "{unknown:?}");

    let used = services.invite(&admin, None, invite_input("used@x.com", "VIEWER"), &meta()).await.unwrap();
    services.accept_invitation(accept_input(&used.token, PASSWORD), &meta()).await.unwrap();
    let again = services.accept_invitation(accept_input(&used.token, PASSWORD), &meta()).await.unwrap_err();
    assert!(matches!(&again, ServiceError::Conflict { fields, .. } if fields.get("token").is_some()), "{again:?}");

    let revoked = services.invite(&admin, None, invite_input("revoked@x.com", "VIEWER"), &meta()).await.unwrap();
    services.revoke_invitation(&admin, revoked.invitation.id, &meta()).await.unwrap();
    let error = services.accept_invitation(accept_input(&revoked.token, PASSWORD), &meta()).await.unwrap_err();
    assert!(matches!(&error, ServiceError::Gone { fields, .. } if fields.get("token").is_some()), "{error:?}");

    let expired = services.invite(&admin, None, invite_input("late@x.com", "VIEWER"), &meta()).await.unwrap();
    services.expire_invitation(&expired.token).await.unwrap();
    let error = services.accept_invitation(accept_input(&expired.token, PASSWORD), &meta()).await.unwrap_err();
    assert!(matches!(&error, ServiceError::Gone { fields, .. } if fields.get("token").is_some()), "{error:?}");
}

#[tokio::test]
async fn a_request_that_fails_validation_leaves_the_token_usable() {
    let services = testing::services().await;
    let (_, admin) = tenant_with_admin(&services, "Acme").await;
    let issued = services.invite(&admin, None, invite_input("jane@x.com", "VIEWER"), &meta()).await.unwrap();
    let weak = services.accept_invitation(accept_input(&issued.token, "short"), &meta()).await.unwrap_err();
    assert!(matches!(&weak, ServiceError::Validation(f) if f.get("password").is_some()), "{weak:?}");
    let missing = AcceptInvitationInput { token: Raw::text(&issued.token), ..Default::default() };
    assert!(services.accept_invitation(missing, &meta()).await.is_err());
    assert!(services.accept_invitation(accept_input(&issued.token, PASSWORD), &meta()).await.is_ok());
}

#[tokio::test]
async fn an_existing_account_joins_with_its_current_password_and_is_otherwise_unchanged() {
    let services = testing::services().await;
    let (_, acme_admin) = tenant_with_admin(&services, "Acme").await;
    let (globex, globex_admin) = tenant_with_admin(&services, "Globex").await;
    let issued = services.invite(&globex_admin, None, invite_input("admin@acme.example.com", "ANALYST"), &meta()).await.unwrap();
    let wrong = AcceptInvitationInput { token: Raw::text(&issued.token), password: Raw::text("not my password"), first_name: Raw::text("Changed"), last_name: Raw::Missing };
    let error = services.accept_invitation(wrong, &meta()).await.unwrap_err();
    assert!(matches!(&error, ServiceError::Validation(f) if f.get("password").is_some()), "{error:?}");

    let right = AcceptInvitationInput { token: Raw::text(&issued.token), password: Raw::text(PASSWORD), first_name: Raw::text("Changed"), last_name: Raw::Missing };
    let profile = services.accept_invitation(right, &meta()).await.unwrap();
    assert_eq!(profile.user.id, acme_admin.user_id);
    assert_eq!(profile.user.first_name, "Ada", "names are not changed for an existing account");
    assert_eq!(profile.tenant_id, Some(globex.id));
    assert_eq!(profile.roles, vec![Role::Analyst]);
    // Still the admin of Acme, with the same password.
    assert_eq!(services.actor_for(acme_admin.user_id, acme_admin.tenant_id).await.unwrap().unwrap().roles, vec![Role::Admin]);
    assert!(services.login(login_input("admin@acme.example.com", PASSWORD), &meta()).await.is_ok());
}

#[tokio::test]
async fn two_concurrent_accepts_of_one_token_have_exactly_one_winner() {
    let services = testing::services().await;
    let (tenant, admin) = tenant_with_admin(&services, "Acme").await;
    let issued = services.invite(&admin, None, invite_input("race@x.com", "VIEWER"), &meta()).await.unwrap();
    let (a, b) = (services.clone(), services.clone());
    let (ta, tb) = (issued.token.clone(), issued.token.clone());
    let first = tokio::spawn(async move { a.accept_invitation(accept_input(&ta, PASSWORD), &meta()).await });
    let second = tokio::spawn(async move { b.accept_invitation(accept_input(&tb, PASSWORD), &meta()).await });
    let results = [first.await.unwrap(), second.await.unwrap()];
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 1, "{results:?}");
    let page = services.list_users(&admin, PageRequest::first()).await.unwrap();
    assert_eq!(page.items.iter().filter(|p| p.user.email == "race@x.com").count(), 1);
    let accepted = services.db().read().await.unwrap().audit_actions(tenant.id).await.unwrap();
    assert_eq!(accepted.iter().filter(|a| *a == "invitation_accepted").count(), 1);
}

#[tokio::test]
async fn opening_the_link_does_not_consume_it() {
    let services = testing::services().await;
    let (_, admin) = tenant_with_admin(&services, "Acme").await;
    let issued = services.invite(&admin, None, invite_input("jane@x.com", "VIEWER"), &meta()).await.unwrap();
    for _ in 0..3 {
        let preview = services.invitation_preview(&issued.token).await.unwrap();
        assert!(matches!(preview, InvitationPreview::Pending { ref email, account_exists: false, .. } if email == "jane@x.com"), "{preview:?}");
    }
    assert!(matches!(services.invitation_preview("garbage").await.unwrap(), InvitationPreview::Unknown));
    services.accept_invitation(accept_input(&issued.token, PASSWORD), &meta()).await.unwrap();
    assert!(matches!(services.invitation_preview(&issued.token).await.unwrap(), InvitationPreview::Accepted { .. }));
}

#[tokio::test]
async fn resend_rotates_the_token_and_listing_filters_by_status() {
    let services = testing::services().await;
    let (_, admin) = tenant_with_admin(&services, "Acme").await;
    let issued = services.invite(&admin, None, invite_input("jane@x.com", "VIEWER"), &meta()).await.unwrap();
    services.invite(&admin, None, invite_input("gone@x.com", "VIEWER"), &meta()).await.map(|i| i.invitation.id).map(|id| id).unwrap();
    let resent = services.resend_invitation(&admin, issued.invitation.id, &meta()).await.unwrap();
    assert_ne!(resent.token, issued.token);
    assert_eq!(token_mailed_to(&services, "invitation", "jane@x.com").await, resent.token);
    assert!(services.accept_invitation(accept_input(&issued.token, PASSWORD), &meta()).await.is_err());

    let pending = InvitationFilter { status: Raw::text("pending"), ..Default::default() };
    assert_eq!(services.list_invitations(&admin, pending, PageRequest::first()).await.unwrap().count, 2);
    services.accept_invitation(accept_input(&resent.token, PASSWORD), &meta()).await.unwrap();
    let accepted = InvitationFilter { status: Raw::text("accepted"), ..Default::default() };
    let page = services.list_invitations(&admin, accepted, PageRequest::first()).await.unwrap();
    assert_eq!(page.items.iter().map(|i| i.email.as_str()).collect::<Vec<_>>(), ["jane@x.com"]);
    let bad = InvitationFilter { status: Raw::text("sideways"), ..Default::default() };
    assert!(matches!(services.list_invitations(&admin, bad, PageRequest::first()).await, Err(ServiceError::Validation(_))));
}

#[tokio::test]
async fn invitations_of_another_tenant_cannot_be_listed_resent_or_revoked() {
    let services = testing::services().await;
    let (_, acme) = tenant_with_admin(&services, "Acme").await;
    let (_, globex) = tenant_with_admin(&services, "Globex").await;
    let theirs = services.invite(&globex, None, invite_input("jane@x.com", "VIEWER"), &meta()).await.unwrap();
    assert_eq!(services.list_invitations(&acme, InvitationFilter::default(), PageRequest::first()).await.unwrap().count, 0);
    assert!(matches!(services.resend_invitation(&acme, theirs.invitation.id, &meta()).await, Err(ServiceError::NotFound)));
    assert!(matches!(services.revoke_invitation(&acme, theirs.invitation.id, &meta()).await, Err(ServiceError::NotFound)));
    assert!(services.accept_invitation(accept_input(&theirs.token, PASSWORD), &meta()).await.is_ok(), "untouched");
}

#[tokio::test]
async fn support_can_expire_extend_and_purge_invitations() {
    let services = testing::services().await;
    let (_, admin) = tenant_with_admin(&services, "Acme").await;
    let a = services.invite(&admin, None, invite_input("a@x.com", "VIEWER"), &meta()).await.unwrap();
    let b = services.invite(&admin, None, invite_input("b@x.com", "VIEWER"), &meta()).await.unwrap();
    services.expire_invitation(&a.invitation.id.to_string()).await.unwrap();
    services.expire_invitation(&b.token).await.unwrap();
    assert!(matches!(services.invitation_preview(&a.token).await.unwrap(), InvitationPreview::Expired { .. }));
    let extended = services.extend_invitation(a.invitation.id, 3).await.unwrap();
    assert!(extended.expires_at > Utc::now() + Duration::days(2));
    assert!(matches!(services.invitation_preview(&a.token).await.unwrap(), InvitationPreview::Pending { .. }));
    assert_eq!(services.purge_expired_invitations().await.unwrap(), 1);
    assert!(matches!(services.invitation_preview(&b.token).await.unwrap(), InvitationPreview::Unknown));
    assert!(matches!(services.extend_invitation(a.invitation.id, 0).await, Err(ServiceError::Validation(_))));
}

/// Sweeps across tenants (the worker noticing expiries, the purge) update the kept counts of
/// many tenants in one transaction; on PostgreSQL two of them (two replicas' workers) take
/// turns instead of locking those counts in different orders and deadlocking. Without the turn
/// the second sweep would not wait here: it skips the row the first one holds and takes the
/// other tenant's.
#[tokio::test]
async fn sweeps_of_expired_invitations_take_turns_on_postgres() {
    if testing::backend() != "postgres" {
        return;
    }
    let services = testing::services().await;
    let (acme, admin) = tenant_with_admin(&services, "Acme").await;
    let (_, other) = tenant_with_admin(&services, "Other").await;
    let first_to_expire = services.invite(&admin, None, invite_input("a@acme.com", "VIEWER"), &meta()).await.unwrap();
    services.invite(&other, None, invite_input("b@other.com", "VIEWER"), &meta()).await.unwrap();
    let mut tx = services.db().write().await.unwrap();
    assert!(tx.renew_invitation(acme.id, first_to_expire.invitation.id, None, Utc::now() + Duration::days(6), Utc::now()).await.unwrap());
    tx.commit().await.unwrap();
    let later = Utc::now() + Duration::days(8);
    let mut first = services.db().write().await.unwrap();
    let noticed = first.notice_expired_invitations(later, 1).await.unwrap();
    assert_eq!(noticed.iter().map(|n| n.2.as_str()).collect::<Vec<_>>(), ["a@acme.com"]);
    let db = services.db().clone();
    let second = tokio::spawn(async move {
        let mut tx = db.write().await.unwrap();
        let noticed = tx.notice_expired_invitations(later, 10).await.unwrap();
        tx.commit().await.unwrap();
        noticed.into_iter().map(|n| n.2).collect::<Vec<_>>()
    });
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(!second.is_finished(), "the second sweep waits for the first one's turn");
    first.commit().await.unwrap();
    let noticed = tokio::time::timeout(std::time::Duration::from_secs(10), second).await.expect("its turn came").unwrap();
    assert_eq!(noticed, ["b@other.com"], "then it notices the other tenant's invitation");
}

/// Later pages bind an offset the first page does not (see `json_page::limit_offset`): each
/// page is the matching slice of the whole list, with or without a filter set.
#[tokio::test]
async fn invitation_pages_are_slices_of_the_whole_list() {
    let services = testing::services().await;
    let (_, admin) = tenant_with_admin(&services, "Acme").await;
    for email in ["a@x.com", "b@x.com", "c@x.com", "d@x.com", "e@x.com"] {
        services.invite(&admin, None, invite_input(email, "VIEWER"), &meta()).await.unwrap();
    }
    let ids = |page: crate::store::Page<crate::store::Invitation>| page.items.into_iter().map(|i| i.id).collect::<Vec<_>>();
    let all = ids(services.list_invitations(&admin, InvitationFilter::default(), PageRequest::first()).await.unwrap());
    assert_eq!(all.len(), 5);
    for (number, slice) in [(1, &all[0..2]), (2, &all[2..4]), (3, &all[4..5])] {
        let page = services.list_invitations(&admin, InvitationFilter::default(), PageRequest { page: number, page_size: 2 }).await.unwrap();
        assert_eq!(page.count, 5);
        assert_eq!(ids(page), slice, "page {number}");
    }
    let pending = || InvitationFilter { status: Raw::text("pending"), ..Default::default() };
    let second = services.list_invitations(&admin, pending(), PageRequest { page: 2, page_size: 4 }).await.unwrap();
    assert_eq!(second.count, 5);
    assert_eq!(ids(second), &all[4..5]);
    let by_email = InvitationFilter { email: Raw::text("c@x.com"), ..Default::default() };
    let beyond = services.list_invitations(&admin, by_email, PageRequest { page: 2, page_size: 1 }).await.unwrap();
    assert!(beyond.items.is_empty());
    assert_eq!(beyond.count, 1);
}
