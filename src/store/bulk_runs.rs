//! `bulk_runs`: the platform page's bulk tenant runs (see `service::bulk_runs`).

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{on, Reader, Tx};
use crate::domain::UserId;

/// One uploaded file, its preview and (once started) its run.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct BulkRun {
    pub id: Uuid,
    pub created_by: Option<UserId>,
    pub file_name: String,
    pub csv: String,
    /// `preview`, `running` or `done`.
    pub status: String,
    pub total: i64,
    pub processed: i64,
    /// The dry run's rows (JSON).
    pub preview: String,
    /// The run's rows (JSON), once done.
    pub results: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

const COLUMNS: &str = "id, created_by, file_name, csv, status, total, processed, preview, results, created_at, updated_at";

impl Reader {

    #[tracing::instrument(skip_all)]
    pub async fn bulk_run(&mut self, id: Uuid) -> Result<Option<BulkRun>, sqlx::Error> {
        let sql = format!("SELECT {COLUMNS} FROM bulk_runs WHERE id = $1");
        on!(self, c => sqlx::query_as(&sql).bind(id).fetch_optional(c).await)
    }
}

impl Tx {
    #[tracing::instrument(skip_all)]
    pub async fn insert_bulk_run(&mut self, by: UserId, file_name: &str, csv: &str, total: i64, preview: &str, now: DateTime<Utc>) -> Result<Uuid, sqlx::Error> {
        let id = Uuid::new_v4();
        on!(self, c => sqlx::query(
            "INSERT INTO bulk_runs (id, created_by, file_name, csv, status, total, processed, preview, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, 'preview', $5, 0, $6, $7, $7)")
            .bind(id).bind(by).bind(file_name).bind(csv).bind(total).bind(preview).bind(now)
            .execute(c).await.map(drop))?;
        Ok(id)
    }

    /// `preview` → `running`, once: of two clicks on "Create" exactly one sees `true`.
    #[tracing::instrument(skip_all)]
    pub async fn start_bulk_run(&mut self, id: Uuid, now: DateTime<Utc>) -> Result<bool, sqlx::Error> {
        let rows = on!(self, c => sqlx::query("UPDATE bulk_runs SET status = 'running', updated_at = $2 WHERE id = $1 AND status = 'preview'")
            .bind(id).bind(now).execute(c).await.map(|r| r.rows_affected()))?;
        Ok(rows == 1)
    }

    #[tracing::instrument(skip_all)]
    pub async fn bulk_run_progress(&mut self, id: Uuid, processed: i64, now: DateTime<Utc>) -> Result<(), sqlx::Error> {
        on!(self, c => sqlx::query("UPDATE bulk_runs SET processed = $2, updated_at = $3 WHERE id = $1 AND status = 'running'")
            .bind(id).bind(processed).bind(now).execute(c).await.map(drop))
    }

    #[tracing::instrument(skip_all)]
    pub async fn finish_bulk_run(&mut self, id: Uuid, processed: i64, results: &str, now: DateTime<Utc>) -> Result<(), sqlx::Error> {
        on!(self, c => sqlx::query("UPDATE bulk_runs SET status = 'done', processed = $2, results = $3, updated_at = $4 WHERE id = $1")
            .bind(id).bind(processed).bind(results).bind(now).execute(c).await.map(drop))
    }
}
