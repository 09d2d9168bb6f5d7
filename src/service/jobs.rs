//! Background jobs: imports too large for one answer. A job stores its rows when it is made;
//! workers (a task of `serve`, or `worker`) lease one job at a time and import its rows in
//! batches, each batch one transaction that also records every row's outcome. A worker that
//! stops loses at most its current batch, which the next worker redoes after the lease: the
//! batch had not committed, so nothing of it exists twice.

use std::time::Duration;

use chrono::Duration as ChronoDuration;
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use super::{
    imports::{check_row, duplicate_error, duplicates, ImportContext, ImportOptions, ImportRow, RowResult, RowStatus},
    now, Actor, Audit, RequestMeta, Services,
};
pub use crate::store::JobStatus;
use crate::{
    domain::{AuditAction, Permission, TenantId},
    store::{Job, JobRow, NewJobRow, Page, PageRequest},
    FieldErrors, ServiceError, ServiceResult,
};

/// One row of a previewed job: what the import would do with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedRow {
    pub row: usize,
    pub email: Option<String>,
    /// `invited`, `created`, `exists` or `failed`.
    pub planned: Option<String>,
    /// The row's field errors as stored (a JSON object of messages), when it would fail.
    pub errors: Option<String>,
}

/// A page of a previewed job's rows, how many rows of each planned outcome it has, and its
/// row count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobPlan {
    pub rows: Vec<PlannedRow>,
    pub counts: Vec<(Option<String>, i64)>,
    pub total: i64,
}

/// A job as the API and pages show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobView {
    pub id: Uuid,
    pub tenant_id: TenantId,
    pub kind: String,
    pub status: JobStatus,
    pub total: i64,
    pub processed: i64,
    pub succeeded: i64,
    pub failed: i64,
    pub error: Option<String>,
    pub options: Option<ImportOptions>,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub finished_at: Option<chrono::DateTime<chrono::Utc>>,
}

impl From<Job> for JobView {
    fn from(job: Job) -> Self {
        Self {
            id: job.id,
            tenant_id: job.tenant_id,
            options: serde_json::from_str::<StoredOptions>(&job.options).ok().map(|o| o.import),
            kind: job.kind,
            status: job.status,
            total: job.total,
            processed: job.processed,
            succeeded: job.succeeded,
            failed: job.failed,
            error: job.error,
            created_at: job.created_at,
            finished_at: job.finished_at,
        }
    }
}

/// What a job keeps besides its rows.
#[derive(Debug, Serialize, Deserialize)]
struct StoredOptions {
    import: ImportOptions,
    /// Who made the job may grant only what they held: their rows are checked with their
    /// rights (`None`: the CLI, which acts for the platform).
    #[serde(default)]
    by: Option<crate::domain::UserId>,
}

pub const MEMBER_IMPORT: &str = "member_import";

/// Rows imported per transaction by a worker.
const BATCH: i64 = 100;
/// How long a worker's claim on a job lasts without being renewed.
const LEASE: Duration = Duration::from_secs(60);

fn row_result(row: &JobRow) -> RowResult {
    RowResult {
        row: row.row_number as usize,
        email: row.email.clone(),
        status: row.status.as_deref().and_then(RowStatus::parse).unwrap_or(RowStatus::Failed),
        errors: row.errors.as_deref().and_then(|e| serde_json::from_str::<std::collections::BTreeMap<String, Vec<String>>>(e).ok()).map(|map| {
            let mut errors = FieldErrors::new();
            for (field, messages) in map {
                for message in messages {
                    errors.add(&field, message);
                }
            }
            errors
        }),
    }
}

impl Services {
    /// Stores an import as a job: every row, and the outcome of those that already failed
    /// their own checks (or repeat an earlier row). `Preview` waits for [`Services::start_job`];
    /// `Queued` is picked up by the next worker.
    pub(crate) async fn create_import_job(&self, actor: &Actor, tenant: TenantId, rows: &[ImportRow], options: ImportOptions, status: JobStatus) -> ServiceResult<JobView> {
        self.store_job(tenant, Some(actor), rows, None, options, status).await
    }

    /// [`Services::create_import_job`], with what a dry run planned for each row when there
    /// was one.
    async fn store_job(&self, tenant: TenantId, actor: Option<&Actor>, rows: &[ImportRow], planned: Option<&[RowResult]>, options: ImportOptions, status: JobStatus) -> ServiceResult<JobView> {
        let repeated = duplicates(rows);
        let inputs: Vec<String> = rows.iter().map(|r| serde_json::to_string(r).unwrap_or_default()).collect();
        let early: Vec<Option<String>> = rows
            .iter()
            .enumerate()
            .map(|(index, row)| {
                let errors = match (repeated.get(&(index + 1)), check_row(row)) {
                    (Some(first), _) => Some(duplicate_error(*first)),
                    (None, Err(errors)) => Some(errors),
                    (None, Ok(_)) => None,
                };
                errors.map(|e| serde_json::to_string(&e).unwrap_or_default())
            })
            .collect();
        let new_rows: Vec<NewJobRow> = rows
            .iter()
            .enumerate()
            .map(|(index, row)| NewJobRow {
                row_number: index as i64 + 1,
                input: &inputs[index],
                email: row.email.as_deref(),
                status: early[index].as_ref().map(|_| RowStatus::Failed.as_str()),
                planned: planned.and_then(|p| p.get(index)).map(|r| r.status.as_str()),
                errors: early[index].as_deref(),
            })
            .collect();
        let by = actor.map(|a| a.user_id);
        let stored = serde_json::to_string(&StoredOptions { import: options, by }).map_err(anyhow::Error::from)?;
        let mut tx = self.db().write_in(tenant).await?;
        let at = now();
        let id = tx.insert_job(tenant, MEMBER_IMPORT, status, &stored, by, at).await?;
        tx.insert_job_rows(id, tenant, &new_rows).await?;
        let meta = RequestMeta::default();
        let audit = match actor {
            Some(actor) => actor.audit(&meta),
            None => Audit { meta: &meta, actor: None, key: None },
        };
        audit
            .write(&mut tx, Some(tenant), AuditAction::ImportStarted, "job", Some(id.to_string()),
                json!({"rows": rows.len(), "mode": options.mode, "status": status.as_str()}))
            .await?;
        let job = tx.job(tenant, id).await?.ok_or(ServiceError::NotFound)?;
        tx.commit().await?;
        self.wake_jobs();
        Ok(job.into())
    }

    /// A job of the caller's tenant; `members:write` there.
    #[tracing::instrument(skip_all)]
    pub async fn job(&self, actor: &Actor, id: &str) -> ServiceResult<JobView> {
        let tenant = actor.require(Permission::MembersWrite)?;
        let id = Uuid::parse_str(id.trim()).map_err(|_| ServiceError::NotFound)?;
        let job = self.db().read_in(tenant).await?.job(tenant, id).await?.ok_or(ServiceError::NotFound)?;
        Ok(job.into())
    }

    /// One page of a job's row outcomes (rows not yet imported show as `None`).
    #[tracing::instrument(skip_all)]
    pub async fn job_results(&self, actor: &Actor, id: &str, page: PageRequest) -> ServiceResult<Page<(RowResult, bool)>> {
        let tenant = actor.require(Permission::MembersWrite)?;
        let id = Uuid::parse_str(id.trim()).map_err(|_| ServiceError::NotFound)?;
        let mut tx = self.db().read_in(tenant).await?;
        tx.job(tenant, id).await?.ok_or(ServiceError::NotFound)?;
        let (rows, count) = tx.job_rows(tenant, id, page).await?;
        let items = rows.iter().map(|r| (row_result(r), r.status.is_some())).collect();
        Ok(Page { items, count, page: page.page, page_size: page.page_size })
    }

    /// Starts a job that waits in `preview` (the import page's "Run"); `members:write`.
    #[tracing::instrument(skip_all)]
    pub async fn start_job(&self, actor: &Actor, id: &str) -> ServiceResult<JobView> {
        let tenant = actor.require(Permission::MembersWrite)?;
        let id = Uuid::parse_str(id.trim()).map_err(|_| ServiceError::NotFound)?;
        let mut tx = self.db().write_in(tenant).await?;
        let job = tx.job(tenant, id).await?.ok_or(ServiceError::NotFound)?;
        if !tx.set_job_status(tenant, id, JobStatus::Preview, JobStatus::Queued, now()).await? {
            return Err(ServiceError::conflict_detail(format!("This import is {} and cannot be started again.", job.status.as_str())));
        }
        let job = tx.job(tenant, id).await?.ok_or(ServiceError::NotFound)?;
        tx.commit().await?;
        self.wake_jobs();
        Ok(job.into())
    }

    /// CLI `import-users`: queues an import of `rows` into the tenant `slug` as the platform
    /// (audit rows name no person), with the same per-row rules as the API.
    pub async fn queue_import(&self, slug: &str, rows: &[ImportRow], options: ImportOptions) -> ServiceResult<JobView> {
        let tenant = self.tenant_by_slug(slug).await?;
        if rows.len() > super::imports::MAX_ROWS {
            return Err(ServiceError::field("file", format!("An import carries at most {} rows.", super::imports::MAX_ROWS)));
        }
        self.store_job(tenant.id, None, rows, None, options, JobStatus::Queued).await
    }

    /// CLI `import-users --dry-run`: what each row would come to, writing nothing.
    pub async fn import_dry_run(&self, slug: &str, rows: &[ImportRow], options: ImportOptions) -> ServiceResult<super::ImportReport> {
        let tenant = self.tenant_by_slug(slug).await?;
        let results = self.dry_run_rows(&tenant, None, rows, options).await?;
        Ok(super::ImportReport::from_results(results))
    }

    /// What each row would come to (checked against the tenant as the rows would be
    /// imported, by `actor`'s rights), writing nothing.
    pub(crate) async fn dry_run_rows(&self, tenant: &crate::store::Tenant, actor: Option<&Actor>, rows: &[ImportRow], options: ImportOptions) -> ServiceResult<Vec<RowResult>> {
        let meta = RequestMeta::default();
        let context = ImportContext { tenant: tenant.id, tenant_name: tenant.name.clone(), options, by: None, actor, meta: &meta };
        let repeated = duplicates(rows);
        let mut tx = self.db().read_in(tenant.id).await?;
        // A preview counts the seats its earlier rows would take, as the import will.
        let mut seats = self.room_in(&mut tx, tenant, &crate::domain::Resource::users()).await?;
        let mut results = Vec::with_capacity(rows.len());
        for (index, row) in rows.iter().enumerate() {
            let number = index + 1;
            results.push(match (repeated.get(&number), check_row(row)) {
                (Some(first), _) => RowResult { row: number, email: row.email.clone(), status: RowStatus::Failed, errors: Some(duplicate_error(*first)) },
                (None, Err(errors)) => RowResult { row: number, email: row.email.clone(), status: RowStatus::Failed, errors: Some(errors) },
                (None, Ok(checked)) => match self.plan_row(&mut tx, &context, number, &checked, &seats).await? {
                    Err(result) => result,
                    Ok(planned) => {
                        seats.took(1);
                        let status = if planned.invite { RowStatus::Invited } else { RowStatus::Created };
                        RowResult { row: number, email: Some(checked.email.as_str().to_owned()), status, errors: None }
                    }
                },
            });
        }
        Ok(results)
    }

    /// The import page's upload: the rows are checked (a dry run) and kept as a job waiting in
    /// `preview` for [`Services::start_job`]. `members:write` and `invitations:write`.
    #[tracing::instrument(skip_all)]
    pub async fn preview_import(&self, actor: &Actor, input: super::ImportInput) -> ServiceResult<JobView> {
        let tenant = actor.require(Permission::MembersWrite)?;
        actor.require(Permission::InvitationsWrite)?;
        let options = self.checked_import(&input)?;
        let tenant_row = self.db().read_in(tenant).await?.tenant(tenant).await?.ok_or(ServiceError::NotFound)?;
        let planned = self.dry_run_rows(&tenant_row, Some(actor), &input.rows, options).await?;
        self.store_job(tenant, Some(actor), &input.rows, Some(&planned), options, JobStatus::Preview).await
    }

    /// The planned outcome of each row of a previewed job (one page) and the counts of each.
    #[tracing::instrument(skip_all)]
    pub async fn job_plan(&self, actor: &Actor, id: &str, page: PageRequest) -> ServiceResult<JobPlan> {
        let tenant = actor.require(Permission::MembersWrite)?;
        let id = Uuid::parse_str(id.trim()).map_err(|_| ServiceError::NotFound)?;
        let mut tx = self.db().read_in(tenant).await?;
        tx.job(tenant, id).await?.ok_or(ServiceError::NotFound)?;
        let (rows, total) = tx.job_rows(tenant, id, page).await?;
        let counts = tx.job_plan_counts(id).await?;
        let rows = rows.into_iter().map(|r| PlannedRow { row: r.row_number as usize, email: r.email, planned: r.planned, errors: r.errors }).collect();
        Ok(JobPlan { rows, counts, total })
    }

    /// A job by id, for the CLI that queued it.
    pub async fn job_anywhere(&self, tenant: TenantId, id: Uuid) -> ServiceResult<JobView> {
        Ok(self.db().read().await?.job(tenant, id).await?.ok_or(ServiceError::NotFound)?.into())
    }

    /// Every row outcome of a job, for the CLI's summary.
    pub async fn job_outcomes_all(&self, tenant: TenantId, id: Uuid) -> ServiceResult<Vec<RowResult>> {
        let mut tx = self.db().read().await?;
        let mut all = Vec::new();
        let mut page = 1;
        loop {
            let (rows, count) = tx.job_rows(tenant, id, PageRequest::number(page)).await?;
            all.extend(rows.iter().filter(|r| r.status.is_some()).map(row_result));
            if i64::from(page) * i64::from(PageRequest::SIZE) >= count {
                return Ok(all);
            }
            page += 1;
        }
    }

    /// Wakes the job workers of this process (after a commit that queued a job).
    pub(crate) fn wake_jobs(&self) {
        self.inner.job_wakeup.notify_one();
    }

    /// What job workers wait on between polls.
    pub fn job_wakeup(&self) -> std::sync::Arc<tokio::sync::Notify> {
        self.inner.job_wakeup.clone()
    }

    /// Runs jobs until `stop` completes: claims one, works through it, and looks again; waits
    /// for a wake-up or `poll` between jobs.
    pub async fn run_jobs(&self, poll: Duration, stop: impl std::future::Future<Output = ()>) {
        tokio::pin!(stop);
        let wakeup = self.job_wakeup();
        // Retention (tenants' `data_retention_days`) and the purge of deleted tenants run
        // beside the jobs, at most hourly.
        let mut retention_due = std::time::Instant::now();
        loop {
            if std::time::Instant::now() >= retention_due {
                retention_due = std::time::Instant::now() + Duration::from_secs(3600);
                match self.apply_audit_retention().await {
                    Ok(0) => {}
                    Ok(removed) => tracing::info!(removed, "audit retention applied"),
                    Err(error) => tracing::error!(error = %error, "audit retention failed"),
                }
                // Deleted tenants past their grace period go on the same hourly beat.
                match self.purge_deleted_tenants().await {
                    Ok(0) => {}
                    Ok(purged) => tracing::info!(purged, "deleted tenants purged"),
                    Err(error) => tracing::error!(error = %error, "tenant purge failed"),
                }
            }
            match self.run_next_job().await {
                Ok(true) => continue,
                Ok(false) => {}
                Err(error) => tracing::error!(error = %error, "job worker pass failed"),
            }
            tokio::select! {
                _ = &mut stop => return,
                _ = wakeup.notified() => {}
                _ = tokio::time::sleep(poll) => {}
            }
        }
    }

    /// Claims one due job (`only`: that one) and runs it to its end; `false` when none was due.
    pub async fn run_next_job(&self) -> ServiceResult<bool> {
        self.run_job_claimed(None).await
    }

    /// Runs one job now unless another worker holds it (the CLI runs the job it queued).
    pub async fn run_job(&self, id: Uuid) -> ServiceResult<bool> {
        self.run_job_claimed(Some(id)).await
    }

    /// Claims a due job (`only`: that one) for this worker, under a lease of [`LEASE`].
    async fn claim_job(&self, only: Option<Uuid>) -> ServiceResult<Option<Job>> {
        let at = now();
        let mut tx = self.db().write().await?;
        let job = tx.claim_job(only, at, at + ChronoDuration::from_std(LEASE).unwrap_or_default()).await?;
        tx.commit().await?;
        Ok(job)
    }

    async fn run_job_claimed(&self, only: Option<Uuid>) -> ServiceResult<bool> {
        let Some(job) = self.claim_job(only).await? else { return Ok(false) };
        tracing::info!(job = %job.id, tenant = %job.tenant_id, total = job.total, processed = job.processed, "job started");
        match self.work_on(&job, None).await {
            Ok(()) => {}
            Err(error) => {
                tracing::error!(job = %job.id, error = %error, "job failed");
                let mut tx = self.db().write().await?;
                tx.finish_job(job.id, JobStatus::Failed, Some("The import stopped on an unexpected error; the rows not yet imported were not."), now()).await?;
                tx.commit().await?;
            }
        }
        Ok(true)
    }

    /// Imports the job's remaining rows, batch by batch (at most `batches` of them: tests stop a
    /// worker half-way so).
    async fn work_on(&self, job: &Job, batches: Option<usize>) -> ServiceResult<()> {
        let stored: StoredOptions = serde_json::from_str(&job.options).map_err(|e| anyhow::anyhow!("job options: {e}"))?;
        let tenant = job.tenant_id;
        let tenant_name = self.db().read().await?.tenant(tenant).await?.map(|t| t.name).unwrap_or_default();
        // The maker's rights as of now decide what roles the rows may grant.
        let actor = match stored.by {
            Some(user) => self.actor_for(user, Some(tenant)).await?,
            None => None,
        };
        if stored.by.is_some() && actor.as_ref().is_none_or(|a| !a.can(Permission::MembersWrite)) {
            let mut tx = self.db().write().await?;
            tx.finish_job(job.id, JobStatus::Failed, Some("The person who started this import may no longer add members."), now()).await?;
            tx.commit().await?;
            return Ok(());
        }
        let meta = RequestMeta::default();
        let context = ImportContext { tenant, tenant_name, options: stored.import, by: stored.by, actor: actor.as_ref(), meta: &meta };
        let mut done = 0;
        loop {
            if batches.is_some_and(|limit| done >= limit) {
                return Ok(());
            }
            done += 1;
            let mut tx = self.db().write_in(tenant).await?;
            let rows = tx.pending_job_rows(job.id, BATCH).await?;
            if rows.is_empty() {
                tx.finish_job(job.id, JobStatus::Done, None, now()).await?;
                tx.commit().await?;
                tracing::info!(job = %job.id, "job done");
                return Ok(());
            }
            match self.import_batch(&mut tx, job, &context, &rows).await {
                Ok(()) => {
                    self.update_alerts(&mut tx, tenant, &meta).await?;
                    tx.renew_job_lease(job.id, now() + ChronoDuration::from_std(LEASE).unwrap_or_default()).await?;
                    tx.commit().await?;
                }
                // One row's unexpected failure must not sink its batch: redo the batch a row at
                // a time, recording the row that fails as failed.
                Err(error) => {
                    drop(tx);
                    tracing::warn!(job = %job.id, error = %error, "a batch failed; importing its rows one by one");
                    for row in &rows {
                        let mut tx = self.db().write_in(tenant).await?;
                        match self.import_batch(&mut tx, job, &context, std::slice::from_ref(row)).await {
                            Ok(()) => tx.commit().await?,
                            Err(error) => {
                                drop(tx);
                                tracing::error!(job = %job.id, row = row.row_number, error = %error, "a row failed");
                                let mut tx = self.db().write_in(tenant).await?;
                                let errors = serde_json::to_string(&FieldErrors::single("row", "This row could not be imported (an internal error); try it again.")).ok();
                                tx.finish_job_row(job.id, row.row_number, RowStatus::Failed.as_str(), false, errors.as_deref(), now()).await?;
                                tx.commit().await?;
                            }
                        }
                    }
                }
            }
            self.wake_mailer();
        }
    }

    /// Claims a job and imports `batches` of its rows, then stops as a worker that died would:
    /// the job stays `running` under its lease.
    #[cfg(test)]
    pub(crate) async fn run_job_partly(&self, id: Uuid, batches: usize) -> ServiceResult<()> {
        let job = self.claim_job(Some(id)).await?.ok_or(ServiceError::NotFound)?;
        self.work_on(&job, Some(batches)).await
    }

    async fn import_batch(&self, tx: &mut crate::store::Tx, job: &Job, context: &ImportContext<'_>, rows: &[JobRow]) -> ServiceResult<()> {
        // One seat count per batch: the batch is one transaction.
        let mut seats = None;
        for row in rows {
            let input: ImportRow = serde_json::from_str(&row.input).unwrap_or_default();
            let number = row.row_number as usize;
            let result = match check_row(&input) {
                Ok(checked) => self.import_row_in(tx, context, number, &checked, &mut seats).await?,
                Err(errors) => RowResult { row: number, email: input.email.clone(), status: RowStatus::Failed, errors: Some(errors) },
            };
            let errors = result.errors.as_ref().map(|e| serde_json::to_string(e).unwrap_or_default());
            let succeeded = result.status != RowStatus::Failed;
            if !tx.finish_job_row(job.id, row.row_number, result.status.as_str(), succeeded, errors.as_deref(), now()).await? {
                return Err(ServiceError::Internal(anyhow::anyhow!("row {} of job {} was imported by another worker", row.row_number, job.id)));
            }
        }
        Ok(())
    }
}
