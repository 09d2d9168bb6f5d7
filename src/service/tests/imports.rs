//! Bulk member import: per-row isolation, repeats, jobs that survive a restart, and who may.

use super::*;
use crate::{
    service::{ImportInput, ImportOutcome, ImportRow, RoleInput, RawList, RowStatus},
    store::{JobStatus, PageRequest},
    testing, ServiceError,
};

fn rows(emails: &[&str]) -> Vec<ImportRow> {
    emails.iter().map(|e| ImportRow { email: Some(e.to_string()), ..Default::default() }).collect()
}

fn input(rows: Vec<ImportRow>) -> ImportInput {
    ImportInput { rows, ..Default::default() }
}

async fn outbox_to(services: &Services, to: &str) -> usize {
    let mut tx = services.db().read().await.unwrap();
    tx.outbox().await.unwrap().iter().filter(|e| e.to_address == to).count()
}

fn report(outcome: ImportOutcome) -> crate::service::ImportReport {
    match outcome {
        ImportOutcome::Done(report) => report,
        ImportOutcome::Job(job) => panic!("expected an inline answer, got job {job:?}"),
    }
}

#[tokio::test]
async fn each_row_stands_alone_and_repeating_the_import_makes_nothing_twice() {
    let services = testing::services().await;
    let (tenant, admin) = tenant_with_admin(&services, "Acme").await;
    member(&services, &admin, "already@acme.com").await;
    let mut batch = rows(&["ada@example.com", "not-an-email", "already@acme.com", "Ada@Example.com", "grace@example.com"]);
    batch[4].role = Some("ANALYST".into());
    batch.push(ImportRow { email: Some("lin@example.com".into()), role: Some("wizard".into()), ..Default::default() });
    let first = report(services.import_members(&admin, tenant.id, input(batch.clone()), &meta()).await.unwrap());
    let statuses: Vec<RowStatus> = first.results.iter().map(|r| r.status).collect();
    assert_eq!(statuses, [RowStatus::Invited, RowStatus::Failed, RowStatus::Exists, RowStatus::Failed, RowStatus::Invited, RowStatus::Failed]);
    assert_eq!((first.invited, first.exists, first.failed, first.created), (2, 1, 3, 0));
    assert!(first.results[1].errors.as_ref().unwrap().get("email").is_some());
    assert!(first.results[3].errors.as_ref().unwrap().get("email").unwrap()[0].contains("row 1"), "a repeat names the first row");
    assert!(first.results[5].errors.as_ref().unwrap().get("role").is_some());
    assert_eq!(outbox_to(&services, "ada@example.com").await, 1);
    assert_eq!(outbox_to(&services, "lin@example.com").await, 0, "a bad row writes nothing");
    // The same request again: every good row already exists, nobody is mailed again.
    let again = report(services.import_members(&admin, tenant.id, input(batch), &meta()).await.unwrap());
    assert_eq!((again.invited, again.exists, again.failed), (0, 3, 3));
    assert_eq!(outbox_to(&services, "ada@example.com").await, 1);
    assert_eq!(outbox_to(&services, "grace@example.com").await, 1);
    // Grace's invitation carries the role she was imported with.
    let token = token_mailed_to(&services, "invitation", "grace@example.com").await;
    let accepted = services
        .accept_invitation(crate::service::AcceptInvitationInput { token: Raw::text(token), password: Raw::text(PASSWORD), ..Default::default() }, &meta())
        .await
        .unwrap();
    assert_eq!(accepted.roles, vec![crate::domain::RoleName::BuiltIn(Role::Analyst)]);
}

#[tokio::test]
async fn create_mode_makes_accounts_nobody_knows_the_password_of_and_mails_a_set_password_link() {
    let services = testing::services().await;
    let (tenant, admin) = tenant_with_admin(&services, "Acme").await;
    let (_, other) = tenant_with_admin(&services, "Globex").await;
    let existing = other.email.clone();
    let batch = vec![
        ImportRow { email: Some("new@example.com".into()), first_name: Some("New".into()), role: Some("viewer".into()), ..Default::default() },
        ImportRow { email: Some(existing.clone()), ..Default::default() },
    ];
    let options = ImportInput { rows: batch, mode: Raw::text("create"), generate_passwords: Raw::text("true"), ..Default::default() };
    let result = report(services.import_members(&admin, tenant.id, options, &meta()).await.unwrap());
    assert_eq!(result.results[0].status, RowStatus::Created);
    assert_eq!(result.results[1].status, RowStatus::Invited, "an account of another tenant is invited, never joined silently");
    let made = services.db().read().await.unwrap().user_by_email(&crate::domain::Email::parse("new@example.com").unwrap()).await.unwrap().unwrap();
    assert!(made.password_hash.starts_with('!'), "no usable password");
    assert_eq!(made.first_name, "New");
    let refused = services.login(login_input("new@example.com", &made.password_hash), &meta()).await;
    assert!(matches!(refused, Err(ServiceError::Unauthenticated(_))));
    // The welcome mail's link sets a password; then the account signs in.
    let token = token_mailed_to(&services, "account_created", "new@example.com").await;
    let link = services.db().read().await.unwrap().reset_token(&crate::auth::token_hash(&token)).await.unwrap().expect("stored");
    let valid_for = link.expires_at - chrono::Utc::now();
    assert!(valid_for > chrono::Duration::days(7) - chrono::Duration::minutes(5) && valid_for <= chrono::Duration::days(7), "the link lasts 7 days: {valid_for}");
    services.confirm_password_reset(Raw::text(token), Raw::text("a brand new passphrase"), &meta()).await.unwrap();
    let (_, profile) = services.login(login_input("new@example.com", "a brand new passphrase"), &meta()).await.unwrap();
    assert_eq!(profile.tenant_id, Some(tenant.id));
    assert_eq!(profile.roles, vec![crate::domain::RoleName::BuiltIn(Role::Viewer)]);
}

#[tokio::test]
async fn importing_needs_both_rights_in_that_tenant_and_checks_the_request() {
    let services = testing::services().await;
    let (tenant, admin) = tenant_with_admin(&services, "Acme").await;
    let (other_tenant, _) = tenant_with_admin(&services, "Globex").await;
    let bob = member(&services, &admin, "bob@acme.com").await;
    let denied = services.import_members(&bob, tenant.id, input(rows(&["x@example.com"])), &meta()).await;
    assert!(matches!(denied, Err(ServiceError::Forbidden(_))), "{denied:?}");
    services.create_role(&admin, RoleInput { name: Raw::text("inviter"), permissions: RawList::Items(vec!["invitations:write".into()]), ..Default::default() }, &meta()).await.unwrap();
    services.assign_role(&admin, crate::service::AssignRoleInput { user: Raw::text(bob.user_id.to_string()), role: Raw::text("inviter") }, &meta()).await.unwrap();
    let bob = services.actor_for(bob.user_id, bob.tenant_id).await.unwrap().unwrap();
    let half = services.import_members(&bob, tenant.id, input(rows(&["x@example.com"])), &meta()).await;
    assert!(matches!(half, Err(ServiceError::Forbidden(_))), "invitations:write alone is not enough");
    let across = services.import_members(&admin, other_tenant.id, input(rows(&["x@example.com"])), &meta()).await;
    assert!(matches!(across, Err(ServiceError::NotFound)), "{across:?}");
    let bad = ImportInput { mode: Raw::text("merge"), send_welcome_emails: Raw::text("maybe"), ..Default::default() };
    let ServiceError::Validation(fields) = services.import_members(&admin, tenant.id, bad, &meta()).await.unwrap_err() else { panic!() };
    assert!(fields.get("mode").is_some() && fields.get("send_welcome_emails").is_some() && fields.get("users").is_some());
    let too_many = input(vec![ImportRow::default(); crate::service::MAX_ROWS + 1]);
    let ServiceError::Validation(fields) = services.import_members(&admin, tenant.id, too_many, &meta()).await.unwrap_err() else { panic!() };
    assert!(fields.get("users").unwrap()[0].contains("10000"));
    let most = input(vec![ImportRow::default(); crate::service::MAX_ROWS]);
    assert!(services.checked_import(&most).is_ok(), "exactly the most rows an import carries");
}

#[test]
fn a_csv_file_carries_at_most_10000_rows() {
    let file = |rows: usize| {
        let mut text = String::from("email,full_name,role\n");
        for i in 0..rows {
            text.push_str(&format!("p{i}@example.com,Person {i},VIEWER\n"));
        }
        text
    };
    let rows = crate::service::rows_from_csv(file(crate::service::MAX_ROWS).as_bytes()).unwrap();
    assert_eq!(rows.len(), crate::service::MAX_ROWS);
    assert_eq!(rows[9_999].email.as_deref(), Some("p9999@example.com"));
    let error = crate::service::rows_from_csv(file(crate::service::MAX_ROWS + 1).as_bytes()).unwrap_err();
    assert!(error.contains("at most 10000 rows"), "{error}");
}

#[tokio::test]
async fn a_row_may_not_grant_a_role_beyond_the_importer() {
    let services = testing::services().await;
    let (tenant, admin) = tenant_with_admin(&services, "Acme").await;
    let grants = ["members:write", "invitations:write", "members:read"];
    services.create_role(&admin, RoleInput { name: Raw::text("hr"), permissions: RawList::Items(grants.iter().map(|g| g.to_string()).collect()), ..Default::default() }, &meta()).await.unwrap();
    let bob = member(&services, &admin, "bob@acme.com").await;
    services.assign_role(&admin, crate::service::AssignRoleInput { user: Raw::text(bob.user_id.to_string()), role: Raw::text("hr") }, &meta()).await.unwrap();
    let bob = services.actor_for(bob.user_id, bob.tenant_id).await.unwrap().unwrap();
    let mut batch = rows(&["boss@example.com", "peer@example.com"]);
    batch[0].role = Some("ADMIN".into());
    batch[1].role = Some("hr".into());
    let result = report(services.import_members(&bob, tenant.id, input(batch), &meta()).await.unwrap());
    assert_eq!(result.results[0].status, RowStatus::Failed);
    assert!(result.results[0].errors.as_ref().unwrap().get("role").unwrap()[0].contains("cannot grant"));
    assert_eq!(result.results[1].status, RowStatus::Invited);
}

#[tokio::test]
async fn a_large_import_is_a_job_that_resumes_after_a_stop_and_mails_each_person_once() {
    let services = testing::services().await;
    let (tenant, admin) = tenant_with_admin(&services, "Acme").await;
    let emails: Vec<String> = (0..250).map(|i| format!("person{i:03}@example.com")).collect();
    let mut batch = rows(&emails.iter().map(String::as_str).collect::<Vec<_>>());
    batch[10].email = Some("broken".into());
    let ImportOutcome::Job(job) = services.import_members(&admin, tenant.id, input(batch.clone()), &meta()).await.unwrap() else { panic!("expected a job") };
    assert_eq!((job.total, job.status), (250, JobStatus::Queued));
    assert_eq!(job.failed, 1, "a row that fails its own checks is settled at once");
    // A worker imports one batch and dies: the job stays running under its lease, which no
    // other worker may take until it lapses.
    services.run_job_partly(job.id, 1).await.unwrap();
    let half = services.job(&admin, &job.id.to_string()).await.unwrap();
    assert_eq!((half.status, half.processed), (JobStatus::Running, 101), "one batch of 100 and the row settled at once");
    assert!(!services.run_next_job().await.unwrap(), "the lease still holds");
    assert_eq!(outbox_to(&services, "person000@example.com").await, 1);
    {
        let mut tx = services.db().write().await.unwrap();
        tx.renew_job_lease(job.id, crate::service::now() - chrono::Duration::seconds(1)).await.unwrap();
        tx.commit().await.unwrap();
    }
    // Someone is invited meanwhile through the normal route; the job must call them `exists`.
    services.invite(&admin, None, crate::service::InviteInput { email: Raw::text("person200@example.com"), role: Raw::Missing }, &meta()).await.unwrap();
    assert!(services.run_next_job().await.unwrap(), "the lapsed lease lets the next worker take over where the first stopped");
    let done = services.job(&admin, &job.id.to_string()).await.unwrap();
    assert_eq!(done.status, JobStatus::Done);
    assert_eq!((done.processed, done.succeeded, done.failed), (250, 249, 1));
    assert!(!services.run_next_job().await.unwrap(), "nothing left");
    assert_eq!(outbox_to(&services, "person000@example.com").await, 1);
    assert_eq!(outbox_to(&services, "person200@example.com").await, 1, "invited once, by the admin");
    let results = services.job_results(&admin, &job.id.to_string(), PageRequest::number(3)).await.unwrap();
    assert_eq!(results.count, 250);
    let row = results.items.iter().find(|(r, _)| r.row == 201).unwrap();
    assert_eq!(row.0.status, RowStatus::Exists);
    let first_page = services.job_results(&admin, &job.id.to_string(), PageRequest::first()).await.unwrap();
    assert_eq!(first_page.items[10].0.status, RowStatus::Failed);
    // The whole file again: nothing new, nobody mailed twice.
    let ImportOutcome::Job(again) = services.import_members(&admin, tenant.id, input(batch), &meta()).await.unwrap() else { panic!() };
    services.run_next_job().await.unwrap();
    let again = services.job(&admin, &again.id.to_string()).await.unwrap();
    assert_eq!((again.status, again.succeeded, again.failed), (JobStatus::Done, 249, 1));
    assert_eq!(outbox_to(&services, "person100@example.com").await, 1);
    // Another tenant's admin cannot see the job.
    let (_, other) = tenant_with_admin(&services, "Globex").await;
    assert!(matches!(services.job(&other, &job.id.to_string()).await, Err(ServiceError::NotFound)));
    assert!(matches!(services.job_results(&other, &job.id.to_string(), PageRequest::first()).await, Err(ServiceError::NotFound)));
}

#[tokio::test]
async fn a_previewed_import_shows_its_plan_and_runs_only_when_started() {
    let services = testing::services().await;
    let (_, admin) = tenant_with_admin(&services, "Acme").await;
    member(&services, &admin, "already@acme.com").await;
    let job = services.preview_import(&admin, input(rows(&["new@example.com", "already@acme.com", "nope"]))).await.unwrap();
    assert_eq!(job.status, JobStatus::Preview);
    assert!(!services.run_next_job().await.unwrap(), "a preview is not run");
    let plan = services.job_plan(&admin, &job.id.to_string(), PageRequest::first()).await.unwrap();
    assert_eq!(plan.total, 3);
    let planned: Vec<(usize, Option<&str>, Option<&str>)> = plan.rows.iter().map(|r| (r.row, r.email.as_deref(), r.planned.as_deref())).collect();
    assert_eq!(planned, [(1, Some("new@example.com"), Some("invited")), (2, Some("already@acme.com"), Some("exists")), (3, Some("nope"), Some("failed"))]);
    assert!(plan.rows[2].errors.as_deref().is_some_and(|e| e.contains("email")), "{:?}", plan.rows[2]);
    assert_eq!(plan.counts.iter().map(|(_, n)| n).sum::<i64>(), 3);
    assert_eq!(outbox_to(&services, "new@example.com").await, 0, "a preview writes nothing");
    services.start_job(&admin, &job.id.to_string()).await.unwrap();
    assert!(matches!(services.start_job(&admin, &job.id.to_string()).await, Err(ServiceError::Conflict { .. })));
    services.run_next_job().await.unwrap();
    assert_eq!(services.job(&admin, &job.id.to_string()).await.unwrap().status, JobStatus::Done);
    assert_eq!(outbox_to(&services, "new@example.com").await, 1);
}

#[tokio::test]
async fn the_cli_dry_run_checks_everything_and_writes_nothing() {
    let services = testing::services().await;
    let (tenant, admin) = tenant_with_admin(&services, "Acme").await;
    member(&services, &admin, "already@acme.com").await;
    let options = crate::service::ImportOptions { mode: crate::service::ImportMode::Invite, send_welcome_emails: true, generate_passwords: false };
    let batch = rows(&["a@example.com", "already@acme.com", "A@example.com", "bad"]);
    let before = services.db().read().await.unwrap().audit_actions(tenant.id).await.unwrap().len();
    let dry = services.import_dry_run(&tenant.slug, &batch, options).await.unwrap();
    assert_eq!((dry.invited, dry.exists, dry.failed), (1, 1, 2));
    assert_eq!(services.db().read().await.unwrap().audit_actions(tenant.id).await.unwrap().len(), before);
    assert_eq!(outbox_to(&services, "a@example.com").await, 0);
    let job = services.queue_import(&tenant.slug, &batch, options).await.unwrap();
    assert!(services.run_job(job.id).await.unwrap());
    let outcomes = services.job_outcomes_all(job.tenant_id, job.id).await.unwrap();
    assert_eq!(outcomes.iter().filter(|r| r.status == RowStatus::Invited).count(), 1);
    assert!(matches!(services.import_dry_run("no-such-tenant", &batch, options).await, Err(ServiceError::NotFound)));
}

/// A repeated address is settled as failed when the job is stored, on the repeat (row 3
/// here), never on the row before it.
#[tokio::test]
async fn a_queued_job_fails_a_repeated_row_on_the_repeat() {
    let services = testing::services().await;
    let (tenant, _) = tenant_with_admin(&services, "Acme").await;
    let options = crate::service::ImportOptions { mode: crate::service::ImportMode::Invite, send_welcome_emails: false, generate_passwords: false };
    let job = services.queue_import(&tenant.slug, &rows(&["a@example.com", "b@example.com", "A@example.com"]), options).await.unwrap();
    let settled = services.job_outcomes_all(job.tenant_id, job.id).await.unwrap();
    assert_eq!(settled.iter().map(|r| r.row).collect::<Vec<_>>(), [3], "only the repeat is settled before the run");
    assert!(settled[0].errors.as_ref().unwrap().get("email").unwrap()[0].contains("row 1"), "{:?}", settled[0].errors);
    // A worker that has claimed the job and not yet finished a batch holds it under the
    // claim's lease: no other worker takes it.
    services.run_job_partly(job.id, 0).await.unwrap();
    assert!(!services.run_next_job().await.unwrap(), "a fresh claim's lease holds");
}

/// The CLI queues files of up to 10,000 rows, and its summary reads every outcome, page
/// after page.
#[tokio::test]
async fn the_cli_queues_at_most_10000_rows_and_reads_back_every_outcome() {
    let services = testing::services().await;
    let (tenant, _) = tenant_with_admin(&services, "Acme").await;
    let options = crate::service::ImportOptions { mode: crate::service::ImportMode::Invite, send_welcome_emails: false, generate_passwords: false };
    let too_many = vec![ImportRow::default(); crate::service::MAX_ROWS + 1];
    let ServiceError::Validation(fields) = services.queue_import(&tenant.slug, &too_many, options).await.unwrap_err() else { panic!() };
    assert!(fields.get("file").is_some());
    let most = vec![ImportRow::default(); crate::service::MAX_ROWS];
    let job = services.queue_import(&tenant.slug, &most, options).await.unwrap();
    assert_eq!(job.total, crate::service::MAX_ROWS as i64);
    let emails: Vec<String> = (0..150).map(|i| format!("p{i:03}@example.com")).collect();
    let job = services.queue_import(&tenant.slug, &rows(&emails.iter().map(String::as_str).collect::<Vec<_>>()), options).await.unwrap();
    assert!(services.run_job(job.id).await.unwrap());
    let outcomes = services.job_outcomes_all(job.tenant_id, job.id).await.unwrap();
    assert_eq!(outcomes.iter().map(|r| r.row).collect::<Vec<_>>(), (1..=150).collect::<Vec<_>>(), "both pages, each row once");
    assert!(outcomes.iter().all(|r| r.status == RowStatus::Invited));
}

/// The worker loop: a queued job wakes it at once (its poll here is an hour), and the
/// hourly retention pass runs when it starts and not again within the hour.
#[tokio::test]
async fn the_worker_wakes_for_a_queued_job_and_applies_retention_hourly() {
    let services = testing::services().await;
    let (tenant, admin) = tenant_with_admin(&services, "Acme").await;
    let keep_30 = crate::service::TenantSettingsInput { settings: Some(serde_json::json!({"data_retention_days": 30})), ..Default::default() };
    services.update_tenant_settings(&admin, tenant.id, keep_30, &meta()).await.unwrap();
    let age_every_event = || async {
        let mut tx = services.db().write().await.unwrap();
        let old = crate::service::now() - chrono::Duration::days(40);
        crate::store::on!(&mut tx, c => sqlx::query("UPDATE audit_log SET created_at = $1").bind(old).execute(c).await.map(drop)).unwrap();
        tx.commit().await.unwrap();
    };
    let actions = || async { services.db().read().await.unwrap().audit_actions(tenant.id).await.unwrap() };
    age_every_event().await;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let worker = services.clone();
    let running = tokio::spawn(async move {
        worker.run_jobs(std::time::Duration::from_secs(3600), async { let _ = stopped.await; }).await;
    });
    let done = |job: uuid::Uuid| {
        let (services, admin) = (&services, &admin);
        async move {
            for _ in 0..600 {
                if services.job(admin, &job.to_string()).await.unwrap().status == JobStatus::Done {
                    return;
                }
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
            panic!("the worker did not run the job within 30 s");
        }
    };
    let emails: Vec<String> = (0..101).map(|i| format!("w{i:03}@example.com")).collect();
    let ImportOutcome::Job(job) = services.import_members(&admin, tenant.id, input(rows(&emails.iter().map(String::as_str).collect::<Vec<_>>())), &meta()).await.unwrap() else { panic!() };
    done(job.id).await;
    assert!(actions().await.contains(&crate::domain::AuditAction::AuditRetentionApplied), "retention ran when the worker started");
    // Within the hour the pass does not run again, however often the worker wakes.
    age_every_event().await;
    let ImportOutcome::Job(job) = services.import_members(&admin, tenant.id, input(rows(&emails.iter().map(String::as_str).collect::<Vec<_>>())), &meta()).await.unwrap() else { panic!() };
    done(job.id).await;
    let invited = actions().await.iter().filter(|a| **a == crate::domain::AuditAction::InvitationCreated).count();
    assert_eq!(invited, 101, "the first job's (aged) events stay until the next hourly pass; the second invited nobody new");
    stop.send(()).unwrap();
    running.await.unwrap();
}
