//! Kept list pages (service::page_cache) and the list versions that say when they are current.

use std::sync::{
    atomic::{AtomicUsize, Ordering},
    Arc,
};

use super::{member, meta, tenant_with_admin};
use crate::{
    domain::TenantId,
    service::{page_cache::PageCache, AssignRoleInput, AssignmentFilter, AuditFilter, InvitationFilter, InviteInput, Raw, Services, TenantSettingsInput},
    store::{List, ListVersion, PageRequest},
    testing,
};

const LISTS: [List; 4] = [List::Members, List::Assignments, List::Invitations, List::Audit];

/// The tenant's version of each of [`LISTS`], in that order.
async fn versions(services: &Services, tenant: TenantId) -> [ListVersion; 4] {
    let mut tx = services.db().read_in(tenant).await.unwrap();
    let mut out = [ListVersion(0); 4];
    for (i, list) in LISTS.into_iter().enumerate() {
        out[i] = tx.list_version(list, tenant).await.unwrap();
    }
    out
}

/// Follows a tenant's list versions from step to step: after each, exactly the lists named
/// must have moved, and every other list must have stayed, so that its kept pages stay current.
struct Watch<'a> {
    services: &'a Services,
    tenant: TenantId,
    last: [ListVersion; 4],
}

impl<'a> Watch<'a> {
    async fn new(services: &'a Services, tenant: TenantId) -> Self {
        Self { services, tenant, last: versions(services, tenant).await }
    }

    async fn moved(&mut self, step: &str, lists: &[List]) {
        let now = versions(self.services, self.tenant).await;
        for (i, list) in LISTS.into_iter().enumerate() {
            if lists.contains(&list) {
                assert!(now[i] > self.last[i], "{step}: {list:?} should have moved from {:?}, is {:?}", self.last[i], now[i]);
            } else {
                assert_eq!(now[i], self.last[i], "{step}: {list:?} should have stayed");
            }
        }
        self.last = now;
    }
}

fn invite(email: &str) -> InviteInput {
    InviteInput { email: Raw::text(email), role: Raw::Missing }
}

/// Every page is read through one replica and kept there; every change is made through
/// another. The next read through the first shows the change, for each of the four lists.
#[tokio::test]
async fn a_page_kept_by_one_replica_shows_a_change_made_through_another_on_the_next_request() {
    let one = testing::services().await;
    let two = testing::replica_of(&one).await;
    let (_, admin) = tenant_with_admin(&one, "Acme").await;
    let first = PageRequest::first();
    let emails = |s: &Services| {
        let (s, admin) = (s.clone(), admin.clone());
        async move { s.list_users(&admin, first).await.unwrap().items.into_iter().map(|p| p.user.email).collect::<Vec<_>>() }
    };
    let roles = |s: &Services| {
        let (s, admin) = (s.clone(), admin.clone());
        async move { s.list_assignments(&admin, AssignmentFilter::default(), first).await.unwrap().count }
    };
    let invited = |s: &Services| {
        let (s, admin) = (s.clone(), admin.clone());
        async move { s.list_invitations(&admin, InvitationFilter::default(), first).await.unwrap().items.into_iter().map(|i| (i.email, i.revoked_at.is_some())).collect::<Vec<_>>() }
    };
    let events = |s: &Services| {
        let (s, admin) = (s.clone(), admin.clone());
        async move { s.list_audit_log(&admin, AuditFilter::default(), first).await.unwrap().count }
    };

    // Read (and keep) each page twice through the first replica.
    for _ in 0..2 {
        assert_eq!(emails(&one).await, vec!["admin@acme.example.com"]);
        assert_eq!(roles(&one).await, 1);
        assert!(invited(&one).await.is_empty());
    }
    let events_before = events(&one).await;
    assert_eq!(events(&one).await, events_before);

    // A member added through the other replica.
    let admin_two = two.actor_for(admin.user_id, admin.tenant_id).await.unwrap().unwrap();
    let bob = member(&two, &admin_two, "bob@acme.example.com").await;
    assert_eq!(emails(&one).await, vec!["admin@acme.example.com", "bob@acme.example.com"]);
    assert!(events(&one).await > events_before, "the new member's event is listed");

    // A role given and taken away.
    let input = AssignRoleInput { user: Raw::text(bob.user_id.to_string()), role: Raw::text("VIEWER") };
    let (assignment, _) = two.assign_role(&admin_two, input, &meta()).await.unwrap();
    assert_eq!(roles(&one).await, 2);
    two.revoke_role(&admin_two, &assignment.id.to_string(), &meta()).await.unwrap();
    assert_eq!(roles(&one).await, 1);

    // An invitation sent, then revoked.
    let issued = two.invite(&admin_two, None, invite("carol@acme.example.com"), &meta()).await.unwrap();
    assert_eq!(invited(&one).await, vec![("carol@acme.example.com".to_string(), false)]);
    two.revoke_invitation(&admin_two, issued.invitation.id, &meta()).await.unwrap();
    assert_eq!(invited(&one).await, vec![("carol@acme.example.com".to_string(), true)]);

    // A change to the account alone (no row of the tenant's own): the member's new password
    // moves the credentials version the page carries.
    let auth_version = |s: &Services| {
        let (s, admin) = (s.clone(), admin.clone());
        async move { s.list_users(&admin, first).await.unwrap().items.into_iter().find(|p| p.user.email.starts_with("bob@")).unwrap().user.auth_version }
    };
    let before = auth_version(&one).await;
    two.change_password(&bob, Raw::text(super::PASSWORD), Raw::text("a quite different passphrase"), &meta()).await.unwrap();
    assert_eq!(auth_version(&one).await, before + 1);
}

/// Every change raises the versions of the lists that show it, in its tenant only, and leaves
/// the other lists' alone (an invitation sent keeps the members page current); a change to an
/// account (shown in every tenant it belongs to) raises the lists showing accounts everywhere.
/// Each change here also writes an audit entry, so the audit list always moves.
#[tokio::test]
async fn every_change_raises_the_versions_of_the_lists_that_show_it_and_no_other() {
    use List::*;
    let services = testing::services().await;
    let (acme, admin) = tenant_with_admin(&services, "Acme").await;
    let (globex, _) = tenant_with_admin(&services, "Globex").await;
    let mut other = Watch::new(&services, globex.id).await;
    let mut watch = Watch::new(&services, acme.id).await;

    let bob = member(&services, &admin, "bob@acme.example.com").await;
    watch.moved("a new member", &[Members, Audit]).await;
    let input = AssignRoleInput { user: Raw::text(bob.user_id.to_string()), role: Raw::text("ANALYST") };
    let (assignment, _) = services.assign_role(&admin, input, &meta()).await.unwrap();
    watch.moved("a role given", &[Members, Assignments, Audit]).await;
    services.revoke_role(&admin, &assignment.id.to_string(), &meta()).await.unwrap();
    watch.moved("a role taken", &[Members, Assignments, Audit]).await;
    let issued = services.invite(&admin, None, invite("carol@acme.example.com"), &meta()).await.unwrap();
    watch.moved("an invitation", &[Invitations, Audit]).await;
    services.revoke_invitation(&admin, issued.invitation.id, &meta()).await.unwrap();
    watch.moved("an invitation revoked", &[Invitations, Audit]).await;
    let settings = TenantSettingsInput { display_name: Raw::text("Acme Corporation"), ..Default::default() };
    services.update_tenant_settings(&admin, acme.id, settings, &meta()).await.unwrap();
    watch.moved("the tenant renamed", &[Invitations, Audit]).await;
    other.moved("nothing of Globex changed", &[]).await;

    services.change_password(&bob, Raw::text(super::PASSWORD), Raw::text("a quite different passphrase"), &meta()).await.unwrap();
    watch.moved("a member's account", &[Members, Assignments, Invitations, Audit]).await;
    other.moved("an account change may show in any tenant", &[Members, Assignments, Invitations]).await;
}

/// A kept page is served while its list's version stands, and read again once it moves.
#[tokio::test]
async fn a_kept_page_is_read_again_only_when_what_it_shows_changed() {
    let services = testing::services().await;
    let (acme, admin) = tenant_with_admin(&services, "Acme").await;
    let cache = PageCache::new(List::Members, 4);
    let reads = AtomicUsize::new(0);
    let page = async || {
        let mut tx = services.db().read_in(acme.id).await.unwrap();
        let listed = cache
            .page(&mut tx, acme.id, (acme.id, PageRequest::first()), async |tx| {
                reads.fetch_add(1, Ordering::SeqCst);
                tx.members(acme.id, PageRequest::first()).await
            })
            .await
            .unwrap();
        listed.total
    };
    assert_eq!((page().await, page().await), (1, 1));
    assert_eq!(reads.load(Ordering::SeqCst), 1, "the second request is served the kept page");
    services.invite(&admin, None, invite("carol@acme.example.com"), &meta()).await.unwrap();
    assert_eq!(page().await, 1);
    assert_eq!(reads.load(Ordering::SeqCst), 1, "an invitation is not on the members page, which stays current");
    member(&services, &admin, "bob@acme.example.com").await;
    assert_eq!(page().await, 2);
    assert_eq!(page().await, 2);
    assert_eq!(reads.load(Ordering::SeqCst), 2, "read again once, after the change");
}

/// However many pages are asked for, a list keeps at most its capacity, and an older read
/// finishing late does not replace a newer one.
#[tokio::test]
async fn a_list_keeps_at_most_its_capacity_and_never_an_older_page_over_a_newer() {
    let services = testing::services().await;
    let (acme, admin) = tenant_with_admin(&services, "Acme").await;
    let cache = PageCache::new(List::Members, 3);
    let mut tx = services.db().read_in(acme.id).await.unwrap();
    for number in 1..=10 {
        let page = PageRequest::number(number);
        cache.page(&mut tx, acme.id, (acme.id, page), async |tx| tx.members(acme.id, page).await).await.unwrap();
        assert!(cache.len() <= 3, "{} pages kept", cache.len());
    }
    assert_eq!(cache.len(), 3);

    // A read that began before a change and finished after the read that followed it.
    let key = (acme.id, PageRequest::first());
    let old = tx.members(acme.id, key.1).await.unwrap();
    drop(tx);
    member(&services, &admin, "bob@acme.example.com").await;
    let mut tx = services.db().read_in(acme.id).await.unwrap();
    cache.keep(key, Arc::new(tx.members(acme.id, key.1).await.unwrap()));
    cache.keep(key, Arc::new(old));
    let reads = AtomicUsize::new(0);
    let served = cache
        .page(&mut tx, acme.id, key, async |tx| {
            reads.fetch_add(1, Ordering::SeqCst);
            tx.members(acme.id, key.1).await
        })
        .await
        .unwrap();
    assert_eq!((served.total, reads.load(Ordering::SeqCst)), (2, 0), "the newer page stayed, and is current");
}

/// Each table the lists read raises the versions of exactly the lists that read it. The
/// service's changes all write an audit entry too, which would blur this; here every change
/// goes straight through the store, one transaction each, with no audit entry.
#[tokio::test]
async fn each_table_raises_exactly_the_lists_that_read_it() {
    use List::*;
    use crate::{
        domain::{AuditAction, Email, Role, RoleName},
        store::NewAuditEntry,
    };
    let services = testing::services().await;
    let (acme, _) = tenant_with_admin(&services, "Acme").await;
    let (globex, globex_admin) = tenant_with_admin(&services, "Globex").await;
    let (now, user) = (chrono::Utc::now(), globex_admin.user_id);
    let (mut watch, mut other) = (Watch::new(&services, acme.id).await, Watch::new(&services, globex.id).await);
    let mut rose = async |what: &str, lists: &[List], in_globex_too: bool| {
        watch.moved(what, lists).await;
        other.moved(what, if in_globex_too { lists } else { &[] }).await;
    };
    let write = || services.db().write();

    let mut tx = write().await.unwrap();
    tx.insert_membership(acme.id, user, now).await.unwrap();
    tx.commit().await.unwrap();
    rose("a membership", &[Members], false).await;
    let mut tx = write().await.unwrap();
    let viewer: RoleName = Role::Viewer.into();
    let (assignment, _) = tx.assign_role(acme.id, user, &viewer, None, now).await.unwrap();
    tx.commit().await.unwrap();
    rose("a role given", &[Members, Assignments], false).await;
    let mut tx = write().await.unwrap();
    assert!(tx.delete_assignment(acme.id, assignment.id).await.unwrap());
    tx.commit().await.unwrap();
    rose("a role taken", &[Members, Assignments], false).await;
    let mut tx = write().await.unwrap();
    tx.delete_membership(acme.id, user).await.unwrap();
    tx.commit().await.unwrap();
    rose("a membership ended", &[Members], false).await;
    let mut tx = write().await.unwrap();
    let email = Email::parse("carol@acme.example.com").unwrap();
    let invitation = tx.insert_invitation(acme.id, &email, None, "hash", None, now + chrono::Duration::days(7), now).await.unwrap();
    tx.commit().await.unwrap();
    rose("an invitation", &[Invitations], false).await;
    let mut tx = write().await.unwrap();
    assert!(tx.revoke_invitation(acme.id, invitation, now).await.unwrap());
    tx.commit().await.unwrap();
    rose("an invitation revoked", &[Invitations], false).await;
    let mut tx = write().await.unwrap();
    let entry = NewAuditEntry {
        tenant_id: Some(acme.id),
        actor_id: None,
        actor_email: None,
        action: AuditAction::UserCreated,
        resource_type: "user",
        resource_id: None,
        metadata: serde_json::json!({}),
        ip_address: None,
        user_agent: None,
    };
    tx.insert_audit(&entry, now).await.unwrap();
    tx.commit().await.unwrap();
    rose("an audit entry", &[Audit], false).await;
    let mut tx = write().await.unwrap();
    tx.set_custom_domain(acme.id, Some("login.acme.example.com"), now).await.unwrap();
    tx.commit().await.unwrap();
    rose("the tenant's own row", &[Invitations], false).await;
    let mut tx = write().await.unwrap();
    tx.set_platform_role(user, Some("PARTNER_ADMIN"), now).await.unwrap();
    tx.commit().await.unwrap();
    rose("an account's shown field", &[Members, Assignments, Invitations], true).await;
}

/// The totals of the unfiltered lists come from the row counts `list_stats` keeps, not from
/// counting: after members come and go, roles are given and taken and invitations are sent,
/// revoked and accepted, each count still equals the rows there are, in both tenants.
#[tokio::test]
async fn the_kept_row_counts_agree_with_counting_after_rows_come_and_go() {
    let services = testing::services().await;
    let (acme, admin) = tenant_with_admin(&services, "Acme").await;
    let (globex, globex_admin) = tenant_with_admin(&services, "Globex").await;
    let bob = member(&services, &admin, "bob@acme.example.com").await;
    let carol = member(&services, &admin, "carol@acme.example.com").await;
    member(&services, &globex_admin, "dave@globex.example.com").await;
    let input = AssignRoleInput { user: Raw::text(bob.user_id.to_string()), role: Raw::text("ANALYST") };
    let (assignment, _) = services.assign_role(&admin, input, &meta()).await.unwrap();
    let input = AssignRoleInput { user: Raw::text(carol.user_id.to_string()), role: Raw::text("ANALYST") };
    services.assign_role(&admin, input, &meta()).await.unwrap();
    services.revoke_role(&admin, &assignment.id.to_string(), &meta()).await.unwrap();
    services.remove_member(&admin, acme.id, carol.user_id, &meta()).await.unwrap();
    let revoked = services.invite(&admin, None, invite("erin@acme.example.com"), &meta()).await.unwrap();
    services.revoke_invitation(&admin, revoked.invitation.id, &meta()).await.unwrap();
    services.invite(&admin, None, invite("frank@acme.example.com"), &meta()).await.unwrap();
    let accepted = services.invite(&admin, None, invite("grace@acme.example.com"), &meta()).await.unwrap();
    let accept = crate::service::AcceptInvitationInput { token: Raw::text(&accepted.token), password: Raw::text(super::PASSWORD), ..Default::default() };
    services.accept_invitation(accept, &meta()).await.unwrap();

    for tenant in [acme.id, globex.id] {
        let mut tx = services.db().read_in(tenant).await.unwrap();
        for table in ["memberships", "user_roles", "invitations", "audit_log"] {
            let (kept, counted) = tx.kept_and_counted(table, tenant).await.unwrap();
            assert_eq!(kept, counted, "{table} of {tenant:?}");
        }
    }
    let listed = services.list_users(&admin, PageRequest::first()).await.unwrap();
    assert_eq!((listed.count, listed.items.len()), (3, 3), "admin, bob and grace; carol left");
    let invitations = services.list_invitations(&admin, InvitationFilter::default(), PageRequest::first()).await.unwrap();
    assert_eq!(invitations.count, 3);
    let assignments = services.list_assignments(&admin, AssignmentFilter::default(), PageRequest::first()).await.unwrap();
    assert_eq!(assignments.count as usize, assignments.items.len());
    let events = services.list_audit_log(&admin, AuditFilter::default(), PageRequest::first()).await.unwrap();
    assert_eq!(events.count as usize, events.items.len());
}

/// PostgreSQL raises a tenant's list counters when a transaction commits (migration 0024), not
/// as each row is written: a transaction writing in the tenant does not hold the tenant's row
/// of `list_stats` while it runs, so a second writer in the same tenant commits without waiting
/// for the first, and the counts agree with counting once both have. (SQLite has one writer at
/// a time, so there the second would wait whatever the counters did.)
#[tokio::test]
async fn a_writer_in_a_tenant_does_not_wait_for_another_ones_list_counters_on_postgres() {
    if testing::backend() != "postgres" {
        return;
    }
    let services = testing::services().await;
    let (acme, admin) = tenant_with_admin(&services, "Acme").await;
    let entry = |n: u32| crate::store::NewAuditEntry {
        tenant_id: Some(acme.id),
        actor_id: None,
        actor_email: None,
        action: crate::domain::AuditAction::ReportViewed,
        resource_type: "report",
        resource_id: Some(format!("r-{n}")),
        metadata: serde_json::json!({}),
        ip_address: None,
        user_agent: None,
    };
    let before = versions(&services, acme.id).await;
    let mut first = services.db().write_in(acme.id).await.unwrap();
    first.insert_audit(&entry(1), chrono::Utc::now()).await.unwrap();
    // A row made and removed again in one transaction: its counter changes still run at the
    // commit, each with the row as it was when it was queued.
    let role = crate::domain::RoleName::parse("ANALYST").unwrap();
    let (assignment, _) = first.assign_role(acme.id, admin.user_id, &role, None, chrono::Utc::now()).await.unwrap();
    assert!(first.delete_assignment(acme.id, assignment.id).await.unwrap());
    let second = async {
        let mut tx = services.db().write_in(acme.id).await?;
        tx.insert_audit(&entry(2), chrono::Utc::now()).await?;
        tx.commit().await
    };
    tokio::time::timeout(std::time::Duration::from_secs(5), second)
        .await
        .expect("the second writer waited for the first one's transaction to end")
        .unwrap();
    first.commit().await.unwrap();
    let mut tx = services.db().read_in(acme.id).await.unwrap();
    for table in ["audit_log", "user_roles"] {
        let (kept, counted) = tx.kept_and_counted(table, acme.id).await.unwrap();
        assert_eq!(kept, counted, "{table}");
    }
    drop(tx);
    assert_ne!(versions(&services, acme.id).await[3], before[3], "the entries raised the audit list's version");
}
