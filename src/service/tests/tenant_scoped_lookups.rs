//! Every store lookup of a tenant-owned row by id takes the tenant, and another tenant's id
//! finds nothing *in the SQL*: these run on an unscoped transaction, so neither a filter in the
//! service nor PostgreSQL's row-level security is what keeps the rows apart (on SQLite there is
//! no row-level security at all).

use chrono::Utc;

use super::*;
use crate::{
    domain::CustomRoleName,
    service::{ApiKeyInput, AssignRoleInput, InviteInput, RawList, RoleInput, WebhookInput},
    store::{InvitationState, PageRequest},
    testing,
};

#[tokio::test]
async fn another_tenants_ids_find_nothing_and_change_nothing_through_the_store() {
    let services = testing::services_with(&[("WEBHOOK_ALLOW_HTTP", "1"), ("WEBHOOK_ALLOW_PRIVATE", "1")]).await;
    let (acme, _acme_admin) = tenant_with_admin(&services, "Acme").await;
    let (globex, admin) = tenant_with_admin(&services, "Globex").await;
    let invited = services
        .invite(&admin, None, InviteInput { email: Raw::text("new@globex.example.com"), role: Raw::text("VIEWER") }, &meta())
        .await
        .unwrap()
        .invitation;
    let member = member(&services, &admin, "member@globex.example.com").await;
    let (assignment, _) = services
        .assign_role(&admin, AssignRoleInput { user: Raw::text(member.user_id.to_string()), role: Raw::text("ANALYST") }, &meta())
        .await
        .unwrap();
    let role = services
        .create_role(&admin, RoleInput { name: Raw::text("developer"), permissions: RawList::Items(vec!["members:read".into()]), ..Default::default() }, &meta())
        .await
        .unwrap();
    let role_id = role.id.expect("a custom role has an id");
    let key = services
        .create_api_key(&admin, ApiKeyInput { name: Raw::text("ci"), scopes: RawList::Items(vec!["members:read".into()]), ..Default::default() }, &meta())
        .await
        .unwrap()
        .key;
    let hook = services
        .create_webhook(&admin, WebhookInput { url: Raw::text("http://127.0.0.1:9/hook"), events: RawList::Items(vec!["*".into()]), ..Default::default() }, &meta())
        .await
        .unwrap()
        .webhook;

    let at = Utc::now();
    let mut tx = services.db().write().await.unwrap();
    // Reads with Acme's id find none of Globex's rows…
    assert!(tx.invitation(acme.id, invited.id).await.unwrap().is_none());
    assert!(tx.assignment(acme.id, assignment.id).await.unwrap().is_none());
    assert!(tx.custom_role(acme.id, role_id).await.unwrap().is_none());
    assert!(tx.custom_role_named(acme.id, &CustomRoleName::parse("developer").unwrap()).await.unwrap().is_none());
    assert!(tx.api_key(acme.id, key.id).await.unwrap().is_none());
    assert!(tx.webhook(Some(acme.id), hook.id).await.unwrap().is_none());
    assert!(tx.webhook(None, hook.id).await.unwrap().is_none(), "a tenant's endpoint is not the platform's either");
    let crate::store::Listed { rows: listed, total: count, .. } = tx.invitations(acme.id, None, None, at, PageRequest::first()).await.unwrap();
    assert!(listed.iter().all(|i| i.tenant_id == acme.id) && count == listed.len() as i64);
    // …and writes with Acme's id change none of them.
    assert!(!tx.revoke_invitation(acme.id, invited.id, at).await.unwrap());
    assert!(!tx.renew_invitation(acme.id, invited.id, Some("stolen"), at, at).await.unwrap());
    assert!(!tx.expire_invitation(acme.id, invited.id, at).await.unwrap());
    assert!(!tx.redeem_invitation(acme.id, invited.id, member.user_id, at).await.unwrap());
    tx.count_invitation_failure(acme.id, invited.id, 5, at).await.unwrap();
    assert!(!tx.delete_assignment(acme.id, assignment.id).await.unwrap());
    assert!(!tx.delete_custom_role(acme.id, role_id).await.unwrap());
    assert!(!tx.revoke_api_key(acme.id, key.id, at).await.unwrap());
    assert!(!tx.delete_webhook(Some(acme.id), hook.id).await.unwrap());
    tx.commit().await.unwrap();

    // Globex's rows are as they were, and its own id reaches them.
    let mut tx = services.db().write().await.unwrap();
    let still = tx.invitation(globex.id, invited.id).await.unwrap().expect("Globex reaches its invitation");
    assert_eq!((still.failed_attempts, still.revoked_at, still.accepted_at, still.expires_at), (0, None, None, invited.expires_at));
    let pending = tx.invitations(globex.id, Some(InvitationState::Pending), None, at, PageRequest::first()).await.unwrap().rows;
    assert_eq!(pending.iter().map(|i| i.id).collect::<Vec<_>>(), vec![invited.id]);
    assert!(tx.assignment(globex.id, assignment.id).await.unwrap().is_some());
    assert!(tx.custom_role(globex.id, role_id).await.unwrap().is_some());
    assert!(tx.api_key(globex.id, key.id).await.unwrap().is_some_and(|k| k.revoked_at.is_none()));
    assert!(tx.webhook(Some(globex.id), hook.id).await.unwrap().is_some());
    // The CLI's lookup across tenants is the one explicit exception.
    assert_eq!(tx.invitation_anywhere(invited.id).await.unwrap().map(|i| i.tenant_id), Some(globex.id));
    assert!(tx.revoke_invitation(globex.id, invited.id, at).await.unwrap(), "the owner's id does reach it");
}
