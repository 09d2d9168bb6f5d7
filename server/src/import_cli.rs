//! `import-users`: a CSV of people into a tenant, from the command line. The rows become a job
//! like a large API import (same rules, same restart safety); this process runs it at once and
//! shows its progress, a bar on a terminal and a line per 1,000 rows otherwise.

use std::{io::IsTerminal, path::Path, time::Duration};

use anyhow::Context;
use tenantry::{
    config::Config,
    service::{ImportMode, ImportOptions, ImportReport, RowResult, RowStatus, Services},
};

pub async fn run(config: Config, slug: &str, file: &Path, mode: &str, dry_run: bool, emails: bool) -> anyhow::Result<()> {
    let mode = match mode.trim().to_ascii_lowercase().as_str() {
        "invite" => ImportMode::Invite,
        "create" => ImportMode::Create,
        other => anyhow::bail!("--mode is invite or create, not {other:?}"),
    };
    let options = ImportOptions { mode, send_welcome_emails: emails, generate_passwords: mode == ImportMode::Create };
    let reader = std::fs::File::open(file).with_context(|| format!("cannot open {}", file.display()))?;
    let rows = tenantry::service::rows_from_csv(std::io::BufReader::new(reader)).map_err(anyhow::Error::msg)?;
    let services = Services::start(config).await?;
    if dry_run {
        let report = services.import_dry_run(slug, &rows, options).await.map_err(crate::cli::cli_error)?;
        println!("Dry run: nothing was written.");
        return summary(&report);
    }
    let job = services.queue_import(slug, &rows, options).await.map_err(crate::cli::cli_error)?;
    let progress = Progress::new(job.total as u64);
    // Run it here; should a server's worker hold it instead, follow that one's progress.
    let runner = {
        let services = services.clone();
        tokio::spawn(async move { services.run_job(job.id).await })
    };
    let finished = loop {
        let now = services.job_anywhere(job.tenant_id, job.id).await.map_err(crate::cli::cli_error)?;
        progress.show(now.processed as u64);
        if matches!(now.status, tenantry::store::JobStatus::Done | tenantry::store::JobStatus::Failed) {
            break now;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let _ = runner.await;
    progress.finish();
    services.settled().await;
    if let Some(error) = &finished.error {
        eprintln!("The import stopped: {error}");
    }
    let results = services.job_outcomes_all(job.tenant_id, job.id).await.map_err(crate::cli::cli_error)?;
    println!("Queued e-mail is delivered by the server's worker (or `worker`).");
    summary(&ImportReport::from_results(results))?;
    if finished.error.is_some() {
        anyhow::bail!("the import did not finish");
    }
    Ok(())
}

fn summary(report: &ImportReport) -> anyhow::Result<()> {
    println!("Successful: {} (invited {}, created {})", report.invited + report.created, report.invited, report.created);
    println!("Failed: {}", report.failed);
    println!("Skipped (exists): {}", report.exists);
    let failed: Vec<&RowResult> = report.results.iter().filter(|r| r.status == RowStatus::Failed).collect();
    for row in &failed {
        let reasons: Vec<String> = row
            .errors
            .as_ref()
            .map(|e| e.iter().map(|(field, messages)| format!("{field}: {}", messages.join(" "))).collect())
            .unwrap_or_default();
        println!("  row {} ({}): {}", row.row, row.email.as_deref().unwrap_or("no e-mail"), reasons.join("; "));
    }
    if failed.is_empty() {
        Ok(())
    } else {
        anyhow::bail!("{} row(s) failed", failed.len())
    }
}

/// A bar on a terminal; otherwise one line per 1,000 rows.
pub(crate) struct Progress {
    bar: Option<indicatif::ProgressBar>,
    total: u64,
    last_line: std::sync::atomic::AtomicU64,
}

impl Progress {
    pub(crate) fn new(total: u64) -> Self {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = indicatif::ProgressBar::new(total);
            if let Ok(style) = indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} rows ({per_sec}, {eta} left)") {
                bar.set_style(style);
            }
            bar
        });
        Self { bar, total, last_line: std::sync::atomic::AtomicU64::new(0) }
    }

    pub(crate) fn show(&self, done: u64) {
        match &self.bar {
            Some(bar) => bar.set_position(done),
            None => {
                let step = done / 1000;
                if step > self.last_line.fetch_max(step, std::sync::atomic::Ordering::Relaxed) {
                    eprintln!("{done}/{} rows", self.total);
                }
            }
        }
    }

    pub(crate) fn finish(&self) {
        match &self.bar {
            Some(bar) => bar.finish(),
            None => eprintln!("{}/{} rows", self.total, self.total),
        }
    }
}
