//! Background work in the binary: the outbox worker and the job worker as tasks of `serve`,
//! the standalone `worker` subcommand, and `check-email` (the SES production-readiness
//! checklist).

use std::{future::Future, sync::Arc, time::Duration};

use anyhow::Context;
use tenantry::{
    config::{Config, EmailProvider},
    mail::{self, ses_check, Mailer, WorkerOptions},
    service::Services,
};
use tokio::{sync::oneshot, task::JoinHandle};

/// The outbox worker running as a task; [`WorkerTask::stop`] lets its current pass finish.
pub struct WorkerTask {
    stop: oneshot::Sender<()>,
    task: JoinHandle<()>,
}

impl WorkerTask {
    pub async fn stop(self) {
        let _ = self.stop.send(());
        if tokio::time::timeout(Duration::from_secs(30), self.task).await.is_err() {
            tracing::warn!("a background worker did not stop within 30 s; what it had claimed is retried after its lease");
        }
    }
}

/// Starts delivering the outbox in the background: woken by every commit that enqueues mail,
/// polling every few seconds for retries.
pub async fn spawn_worker(services: &Services) -> anyhow::Result<WorkerTask> {
    let mailer = Arc::new(build_mailer(services.config()).await?);
    let (stop, stopped) = oneshot::channel();
    let task = tokio::spawn(mail::worker::run(services.db().clone(), mailer, services.mail_wakeup(), WorkerOptions::for_services(services), async {
        let _ = stopped.await;
    }));
    Ok(WorkerTask { stop, task })
}

/// Starts running background jobs (large imports): woken by commits that queue one, polling
/// for jobs queued by other processes (the CLI) or left by a stopped worker.
pub fn spawn_job_worker(services: &Services) -> WorkerTask {
    let (stop, stopped) = oneshot::channel();
    let services = services.clone();
    let task = tokio::spawn(async move {
        services
            .run_jobs(JOB_POLL, async {
                let _ = stopped.await;
            })
            .await
    });
    WorkerTask { stop, task }
}

/// Starts the events worker (webhook deliveries, invitation expiry, metric roll-ups).
pub fn spawn_webhook_worker(services: &Services) -> WorkerTask {
    let (stop, stopped) = oneshot::channel();
    let config = services.config();
    let sender = tenantry::webhooks::Sender::new(config.webhook_allow_private, config.webhook_allow_http);
    let options = tenantry::webhooks::WebhookWorkerOptions::for_services(services);
    let task = tokio::spawn(tenantry::webhooks::worker::run(services.clone(), sender, options, async {
        let _ = stopped.await;
    }));
    WorkerTask { stop, task }
}

/// How often job workers look for work nobody woke them for.
const JOB_POLL: Duration = Duration::from_secs(2);

/// `worker`: the outbox worker and the job worker, until `shutdown` (Ctrl-C or SIGTERM)
/// completes.
pub async fn run_worker(config: Config, shutdown: impl Future<Output = ()>) -> anyhow::Result<()> {
    let services = Services::start(config).await?;
    let mailer = Arc::new(build_mailer(services.config()).await?);
    println!("Delivering the e-mail outbox through {} and webhooks, and running jobs (database: {}). Ctrl-C to stop.", mailer.provider_name(), services.db().backend_name());
    let jobs = spawn_job_worker(&services);
    let webhooks = spawn_webhook_worker(&services);
    // Commits in other processes (the server) do not wake this one: it relies on the poll.
    mail::worker::run(services.db().clone(), mailer, services.mail_wakeup(), WorkerOptions::for_services(&services), shutdown).await;
    webhooks.stop().await;
    jobs.stop().await;
    services.db().close().await;
    Ok(())
}

async fn build_mailer(config: &Config) -> anyhow::Result<Mailer> {
    Mailer::from_config(&config.email).await.context("cannot set up e-mail delivery (EMAIL_PROVIDER)")
}

/// `check-email [--send-test ADDRESS]`: one PASS/FAIL/UNKNOWN line per checklist item; an
/// error (so a non-zero exit) when any item fails.
pub async fn check_email(config: Config, send_test: Option<String>) -> anyhow::Result<()> {
    let EmailProvider::Ses(ses) = &config.email.provider else {
        anyhow::bail!(
            "check-email needs EMAIL_PROVIDER=ses: it reads the SES account through the SES API (EMAIL_PROVIDER is {})",
            match config.email.provider {
                EmailProvider::Log => "log",
                EmailProvider::Smtp(_) => "smtp",
                EmailProvider::Ses(_) => "ses",
            }
        );
    };
    let client = mail::ses_client(ses, None).await;
    println!(
        "SES production-readiness checklist for {} in {}{}",
        ses_check::sending_domain(&config.email),
        ses.region,
        ses.endpoint_url.as_deref().map(|url| format!(" (endpoint {url})")).unwrap_or_default()
    );
    let mut items = ses_check::check(&client, &config.email).await;
    if let Some(to) = send_test {
        let mailer = Mailer::Ses(mail::SesMailer::new(client, &config.email));
        items.extend(ses_check::send_tests(&mailer, &to, &config.frontend_base_url).await);
    }
    for item in &items {
        println!("{item}");
    }
    let count = |status| items.iter().filter(|i| i.status == status).count();
    let (failed, unknown) = (count(ses_check::Status::Fail), count(ses_check::Status::Unknown));
    println!("{} passed, {failed} failed, {unknown} unknown", count(ses_check::Status::Pass));
    if failed > 0 {
        anyhow::bail!("{failed} check(s) failed");
    }
    Ok(())
}
