//! Bulk tenant runs from the platform page: an uploaded CSV is checked with a dry run (the
//! preview table), then created in the background while the page shows its progress. The run
//! is kept in `bulk_runs`, so any replica can show it; the rows themselves go through
//! [`Services::bulk_provision`] like `bulk-create-tenants`.

use std::sync::{
    atomic::{AtomicU64, Ordering},
    Arc,
};

use uuid::Uuid;

use super::{bulk_csv_items, csv_field, now, Actor, BulkOptions, BulkRowResult, BulkSummary, Services};
use crate::{store::BulkRun, ServiceError, ServiceResult};

/// The most rows the page takes; larger files are for `bulk-create-tenants`.
pub const PAGE_BULK_MAX_ROWS: usize = 2_000;

/// A run as the page shows it.
#[derive(Debug, Clone)]
pub struct BulkRunView {
    pub id: Uuid,
    pub file_name: String,
    pub status: String,
    pub total: i64,
    pub processed: i64,
    /// The dry run's rows, or the run's once it is done.
    pub rows: Vec<BulkRowResult>,
    pub summary: BulkSummary,
}

impl BulkRunView {
    fn of(run: BulkRun) -> ServiceResult<Self> {
        let rows: Vec<BulkRowResult> = serde_json::from_str(run.results.as_deref().unwrap_or(&run.preview)).map_err(|e| ServiceError::Internal(e.into()))?;
        let summary = BulkSummary::of(&rows);
        Ok(Self { id: run.id, file_name: run.file_name, status: run.status, total: run.total, processed: run.processed, rows, summary })
    }
}

fn platform_only(actor: &Actor) -> ServiceResult<()> {
    if actor.is_superuser { Ok(()) } else { Err(ServiceError::forbidden("Only platform administrators can create tenants in bulk from the page.")) }
}

impl Services {
    /// Checks an uploaded file with a dry run and keeps it for [`Services::start_bulk_run`].
    #[tracing::instrument(skip_all)]
    pub async fn preview_bulk_run(&self, actor: &Actor, file_name: &str, csv: &str) -> ServiceResult<BulkRunView> {
        platform_only(actor)?;
        let items = bulk_csv_items(csv.as_bytes()).map_err(|m| ServiceError::field("file", m))?;
        let items: Vec<_> = items.take(PAGE_BULK_MAX_ROWS + 1).collect();
        if items.len() > PAGE_BULK_MAX_ROWS {
            return Err(ServiceError::field("file", format!("The page takes up to {PAGE_BULK_MAX_ROWS} rows; use `tenantry-server bulk-create-tenants` for more.")));
        }
        if items.is_empty() {
            return Err(ServiceError::field("file", "The file has a header but no rows."));
        }
        let total = items.len() as i64;
        let options = BulkOptions { dry_run: true, concurrency: 2, rename: csv_field };
        let rows = self.bulk_provision(Some(actor), items.into_iter(), options, &|_| {}).await;
        let preview = serde_json::to_string(&rows).map_err(|e| ServiceError::Internal(e.into()))?;
        let name: String = file_name.chars().filter(|c| !c.is_control()).take(200).collect();
        let mut tx = self.db().write().await?;
        let id = tx.insert_bulk_run(actor.user_id, &name, csv, total, &preview, now()).await?;
        let run = tx.bulk_run(id).await?.ok_or(ServiceError::NotFound)?;
        tx.commit().await?;
        BulkRunView::of(run)
    }

    #[tracing::instrument(skip_all)]
    pub async fn bulk_run_view(&self, actor: &Actor, id: Uuid) -> ServiceResult<BulkRunView> {
        platform_only(actor)?;
        let run = self.db().read().await?.bulk_run(id).await?.ok_or(ServiceError::NotFound)?;
        BulkRunView::of(run)
    }

    /// Starts creating the previewed tenants in the background (once; a second start is 409).
    /// Progress is written every half second; the outcome replaces the preview when done.
    #[tracing::instrument(skip_all)]
    pub async fn start_bulk_run(&self, actor: &Actor, id: Uuid) -> ServiceResult<()> {
        platform_only(actor)?;
        let mut tx = self.db().write().await?;
        let run = tx.bulk_run(id).await?.ok_or(ServiceError::NotFound)?;
        if !tx.start_bulk_run(id, now()).await? {
            return Err(ServiceError::conflict_detail("This file was already run."));
        }
        tx.commit().await?;
        let services = self.clone();
        let by = actor.clone();
        self.in_background("bulk tenant run", async move {
            // Read before the progress writer starts, so an error leaves nothing looping.
            let items = bulk_csv_items(run.csv.as_bytes()).map_err(|m| ServiceError::Internal(anyhow::anyhow!(m)))?;
            let done = Arc::new(AtomicU64::new(0));
            let reporter = {
                let (services, done) = (services.clone(), done.clone());
                tokio::spawn(async move {
                    loop {
                        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
                        let processed = done.load(Ordering::Relaxed) as i64;
                        if let Ok(mut tx) = services.db().write().await {
                            if tx.bulk_run_progress(id, processed, now()).await.is_ok() {
                                let _ = tx.commit().await;
                            }
                        }
                    }
                })
            };
            let options = BulkOptions { dry_run: false, concurrency: 2, rename: csv_field };
            let rows = services.bulk_provision(Some(&by), items, options, &|n| done.store(n, Ordering::Relaxed)).await;
            reporter.abort();
            let results = serde_json::to_string(&rows).map_err(|e| ServiceError::Internal(e.into()))?;
            let mut tx = services.db().write().await?;
            tx.finish_bulk_run(id, rows.len() as i64, &results, now()).await?;
            tx.commit().await?;
            Ok(())
        });
        Ok(())
    }
}
