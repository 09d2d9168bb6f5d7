use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{on, Backend, PageRequest, Reader, Tx};
use crate::domain::{TenantId, UserId};

/// A background job as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Job {
    pub id: Uuid,
    pub tenant_id: TenantId,
    pub kind: String,
    #[sqlx(try_from = "String")]
    pub status: JobStatus,
    /// The job's options (JSON), as the service wrote them.
    pub options: String,
    pub total: i64,
    pub processed: i64,
    pub succeeded: i64,
    pub failed: i64,
    pub error: Option<String>,
    pub created_by: Option<UserId>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

/// Where a job is: `preview` (checked, waiting to be started), `queued`, `running`, `done`,
/// `failed` (stopped by an error that was not one row's).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobStatus {
    Preview,
    Queued,
    Running,
    Done,
    Failed,
}

impl JobStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Preview => "preview",
            Self::Queued => "queued",
            Self::Running => "running",
            Self::Done => "done",
            Self::Failed => "failed",
        }
    }
}

impl TryFrom<String> for JobStatus {
    type Error = String;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        match value.as_str() {
            "preview" => Ok(Self::Preview),
            "queued" => Ok(Self::Queued),
            "running" => Ok(Self::Running),
            "done" => Ok(Self::Done),
            "failed" => Ok(Self::Failed),
            other => Err(format!("unknown job status {other:?}")),
        }
    }
}

/// One input row of a job and, once processed, its outcome.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct JobRow {
    pub row_number: i64,
    /// The row as the service stored it (JSON).
    pub input: String,
    pub email: Option<String>,
    /// `None` until processed.
    pub status: Option<String>,
    /// What a dry run said the row would come to (previewed jobs).
    pub planned: Option<String>,
    /// Field errors (JSON), for a failed row.
    pub errors: Option<String>,
}

/// A row to store with a new job: outcome already known (a row that failed its checks) or not.
pub struct NewJobRow<'a> {
    pub row_number: i64,
    pub input: &'a str,
    pub email: Option<&'a str>,
    pub status: Option<&'a str>,
    pub planned: Option<&'a str>,
    pub errors: Option<&'a str>,
}

const COLUMNS: &str = "id, tenant_id, kind, status, options, total, processed, succeeded, failed, error, created_by, created_at, updated_at, finished_at";

impl Reader {

    #[tracing::instrument(skip_all)]
    pub async fn job(&mut self, tenant: TenantId, id: Uuid) -> Result<Option<Job>, sqlx::Error> {
        let sql = format!("SELECT {COLUMNS} FROM jobs WHERE tenant_id = $1 AND id = $2");
        on!(self, c => sqlx::query_as(&sql).bind(tenant).bind(id).fetch_optional(c).await)
    }

    /// The next rows of a job that have no outcome yet, in order.
    #[tracing::instrument(skip_all)]
    pub async fn pending_job_rows(&mut self, job: Uuid, limit: i64) -> Result<Vec<JobRow>, sqlx::Error> {
        on!(self, c => sqlx::query_as(
            "SELECT row_number, input, email, status, planned, errors FROM job_rows WHERE job_id = $1 AND status IS NULL ORDER BY row_number LIMIT $2")
            .bind(job).bind(limit).fetch_all(c).await)
    }

    /// One page of a job's rows in order, and how many it has.
    #[tracing::instrument(skip_all)]
    pub async fn job_rows(&mut self, tenant: TenantId, job: Uuid, page: PageRequest) -> Result<(Vec<JobRow>, i64), sqlx::Error> {
        let rows = on!(self, c => sqlx::query_as(
            "SELECT row_number, input, email, status, planned, errors FROM job_rows WHERE tenant_id = $1 AND job_id = $2 ORDER BY row_number LIMIT $3 OFFSET $4")
            .bind(tenant).bind(job).bind(page.limit()).bind(page.offset()).fetch_all(c).await)?;
        let count: i64 = on!(self, c => sqlx::query_scalar("SELECT COUNT(*) FROM job_rows WHERE tenant_id = $1 AND job_id = $2")
            .bind(tenant).bind(job).fetch_one(c).await)?;
        Ok((rows, count))
    }

    /// How many rows of a job a dry run planned for each outcome.
    #[tracing::instrument(skip_all)]
    pub async fn job_plan_counts(&mut self, job: Uuid) -> Result<Vec<(Option<String>, i64)>, sqlx::Error> {
        on!(self, c => sqlx::query_as("SELECT planned, COUNT(*) FROM job_rows WHERE job_id = $1 GROUP BY planned")
            .bind(job).fetch_all(c).await)
    }

    /// Counts of a job's outcomes by status.
    #[tracing::instrument(skip_all)]
    pub async fn job_outcomes(&mut self, job: Uuid) -> Result<Vec<(Option<String>, i64)>, sqlx::Error> {
        on!(self, c => sqlx::query_as("SELECT status, COUNT(*) FROM job_rows WHERE job_id = $1 GROUP BY status")
            .bind(job).fetch_all(c).await)
    }
}

impl Tx {
    #[tracing::instrument(skip_all)]
    pub async fn insert_job(&mut self, tenant: TenantId, kind: &str, status: JobStatus, options: &str, by: Option<UserId>, now: DateTime<Utc>) -> Result<Uuid, sqlx::Error> {
        let id = Uuid::new_v4();
        on!(self, c => sqlx::query(
            "INSERT INTO jobs (id, tenant_id, kind, status, options, created_by, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7)")
            .bind(id).bind(tenant).bind(kind).bind(status.as_str()).bind(options).bind(by).bind(now)
            .execute(c).await.map(|r| r.rows_affected()))?;
        Ok(id)
    }

    /// Stores a job's rows (many per statement) and sets its totals from them.
    #[tracing::instrument(skip_all)]
    pub async fn insert_job_rows(&mut self, job: Uuid, tenant: TenantId, rows: &[NewJobRow<'_>]) -> Result<(), sqlx::Error> {
        for chunk in rows.chunks(200) {
            let sql = format!(
                "INSERT INTO job_rows (job_id, tenant_id, row_number, input, email, status, planned, errors) VALUES {}",
                super::value_groups(chunk.len(), 6, "$1, $2, ", 3)
            );
            on!(self, c => {
                let mut query = sqlx::query(&sql).bind(job).bind(tenant);
                for row in chunk {
                    query = query.bind(row.row_number).bind(row.input).bind(row.email).bind(row.status).bind(row.planned).bind(row.errors);
                }
                query.execute(c).await.map(|r| r.rows_affected())
            })?;
        }
        on!(self, c => sqlx::query(
            "UPDATE jobs SET total = (SELECT COUNT(*) FROM job_rows WHERE job_id = $1), \
                    processed = (SELECT COUNT(*) FROM job_rows WHERE job_id = $1 AND status IS NOT NULL), \
                    failed = (SELECT COUNT(*) FROM job_rows WHERE job_id = $1 AND status = 'failed') WHERE id = $1")
            .bind(job).execute(c).await.map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// Moves a job from `from` to `to`; `false` when it was not in `from`.
    #[tracing::instrument(skip_all)]
    pub async fn set_job_status(&mut self, tenant: TenantId, id: Uuid, from: JobStatus, to: JobStatus, now: DateTime<Utc>) -> Result<bool, sqlx::Error> {
        let rows = on!(self, c => sqlx::query("UPDATE jobs SET status = $4, updated_at = $5 WHERE tenant_id = $1 AND id = $2 AND status = $3")
            .bind(tenant).bind(id).bind(from.as_str()).bind(to.as_str()).bind(now).execute(c).await.map(|r| r.rows_affected()))?;
        Ok(rows == 1)
    }

    /// Leases the oldest job (or `only` that one) that is queued, or running under a lapsed
    /// lease (its worker stopped), to this worker until `until`.
    #[tracing::instrument(skip_all)]
    pub async fn claim_job(&mut self, only: Option<Uuid>, now: DateTime<Utc>, until: DateTime<Utc>) -> Result<Option<Job>, sqlx::Error> {
        let pick = "SELECT id FROM jobs WHERE (status = 'queued' OR status = 'running') AND (locked_until IS NULL OR locked_until < $1) \
                    AND ($2 IS NULL OR id = $2) ORDER BY created_at, id LIMIT 1";
        let pick = match self.backend() {
            Backend::Postgres => format!("{pick} FOR UPDATE SKIP LOCKED"),
            Backend::Sqlite => pick.to_string(),
        };
        let id: Option<Uuid> = on!(self, c => sqlx::query_scalar(&pick).bind(now).bind(only).fetch_optional(c).await)?;
        let Some(id) = id else { return Ok(None) };
        let sql = format!("UPDATE jobs SET status = 'running', locked_until = $2, updated_at = $3 WHERE id = $1 RETURNING {COLUMNS}");
        on!(self, c => sqlx::query_as(&sql).bind(id).bind(until).bind(now).fetch_optional(c).await)
    }

    /// Extends this worker's lease on a job.
    #[tracing::instrument(skip_all)]
    pub async fn renew_job_lease(&mut self, id: Uuid, until: DateTime<Utc>) -> Result<(), sqlx::Error> {
        on!(self, c => sqlx::query("UPDATE jobs SET locked_until = $2 WHERE id = $1").bind(id).bind(until).execute(c).await.map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// Records one row's outcome and counts it on its job, in the transaction of what the row
    /// made. `false` when the row already had an outcome (then nothing may be committed).
    #[tracing::instrument(skip_all)]
    pub async fn finish_job_row(&mut self, job: Uuid, row: i64, status: &str, succeeded: bool, errors: Option<&str>, now: DateTime<Utc>) -> Result<bool, sqlx::Error> {
        let rows = on!(self, c => sqlx::query("UPDATE job_rows SET status = $3, errors = $4 WHERE job_id = $1 AND row_number = $2 AND status IS NULL")
            .bind(job).bind(row).bind(status).bind(errors).execute(c).await.map(|r| r.rows_affected()))?;
        if rows != 1 {
            return Ok(false);
        }
        let (ok, bad) = if succeeded { (1, 0) } else { (0, 1) };
        on!(self, c => sqlx::query("UPDATE jobs SET processed = processed + 1, succeeded = succeeded + $2, failed = failed + $3, updated_at = $4 WHERE id = $1")
            .bind(job).bind(ok).bind(bad).bind(now).execute(c).await.map(|r| r.rows_affected()))?;
        Ok(true)
    }

    /// Marks a job finished (`done` or `failed` with the reason).
    #[tracing::instrument(skip_all)]
    pub async fn finish_job(&mut self, id: Uuid, status: JobStatus, error: Option<&str>, now: DateTime<Utc>) -> Result<(), sqlx::Error> {
        on!(self, c => sqlx::query("UPDATE jobs SET status = $2, error = $3, finished_at = $4, updated_at = $4, locked_until = NULL WHERE id = $1")
            .bind(id).bind(status.as_str()).bind(error).bind(now).execute(c).await.map(|r| r.rows_affected()))?;
        Ok(())
    }
}
