//! `/import`: bulk member import for administrators. The CSV is uploaded by a plain
//! multipart form (to `/import/upload`, which checks every row and keeps them as a job in
//! preview), then `/import?job=<id>` shows the dry run's table; "Run the import" queues it and
//! the same page shows the progress, reloading itself every two seconds while the job runs
//! (so it needs no JavaScript), then the outcome of each row.

use leptos::{form::ActionForm, prelude::*};
use leptos_meta::{Meta, Title};
use leptos_router::{components::Redirect, hooks::use_query_map};
use serde::{Deserialize, Serialize};

use super::layout::Header;
use crate::error::AppError;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImportView {
    pub email: String,
    pub tenant_name: Option<String>,
    pub can_import: bool,
    pub is_superuser: bool,
    pub job: Option<JobSummary>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobSummary {
    pub id: String,
    /// `preview`, `queued`, `running`, `done` or `failed`.
    pub status: String,
    pub mode: String,
    pub total: i64,
    pub processed: i64,
    pub succeeded: i64,
    pub failed: i64,
    pub error: Option<String>,
    /// (outcome, rows): planned for a preview, actual afterwards.
    pub counts: Vec<(String, i64)>,
    /// The first rows: number, e-mail, outcome (planned or actual), the errors as text.
    pub rows: Vec<(usize, String, String, String)>,
}

#[server(prefix = "/fn", endpoint = "import-page")]
pub async fn import_page(job: Option<String>) -> Result<Option<ImportView>, AppError> {
    use tenantry::{domain::Permission, store::PageRequest};
    crate::server_fns::context::serve(|call| async move {
        let Some(actor) = call.actor().await? else { return Ok(None) };
        let tenant = call.services.current_tenant(&actor).await?;
        let can_import = actor.can(Permission::MembersWrite) && actor.can(Permission::InvitationsWrite);
        let job = match job.filter(|j| !j.trim().is_empty()) {
            Some(id) if can_import => {
                let found = call.services.job(&actor, &id).await?;
                let errors_text = |errors: Option<String>| -> String {
                    errors
                        .and_then(|e| serde_json::from_str::<std::collections::BTreeMap<String, Vec<String>>>(&e).ok())
                        .map(|map| map.into_iter().map(|(field, m)| format!("{field}: {}", m.join(" "))).collect::<Vec<_>>().join("; "))
                        .unwrap_or_default()
                };
                let (rows, counts) = if found.status == tenantry::store::JobStatus::Preview {
                    let plan = call.services.job_plan(&actor, &id, PageRequest::first()).await?;
                    let rows = plan.rows.into_iter().map(|r| (r.row, r.email.unwrap_or_default(), r.planned.unwrap_or_default(), errors_text(r.errors))).collect();
                    let counts = plan.counts.into_iter().map(|(k, n)| (k.unwrap_or_else(|| "—".into()), n)).collect();
                    (rows, counts)
                } else {
                    let page = call.services.job_results(&actor, &id, PageRequest::first()).await?;
                    let rows = page
                        .items
                        .iter()
                        .map(|(r, done)| {
                            let errors = r.errors.as_ref().map(|e| e.iter().map(|(f, m)| format!("{f}: {}", m.join(" "))).collect::<Vec<_>>().join("; ")).unwrap_or_default();
                            (r.row, r.email.clone().unwrap_or_default(), if *done { r.status.as_str().to_owned() } else { "waiting".to_owned() }, errors)
                        })
                        .collect();
                    let counts = vec![("succeeded".to_owned(), found.succeeded), ("failed".to_owned(), found.failed), ("waiting".to_owned(), found.total - found.processed)];
                    (rows, counts)
                };
                Some(JobSummary {
                    id: found.id.to_string(),
                    status: found.status.as_str().to_owned(),
                    mode: found.options.map(|o| format!("{:?}", o.mode).to_lowercase()).unwrap_or_default(),
                    total: found.total,
                    processed: found.processed,
                    succeeded: found.succeeded,
                    failed: found.failed,
                    error: found.error,
                    counts,
                    rows,
                })
            }
            _ => None,
        };
        Ok(Some(ImportView { email: actor.email.clone(), tenant_name: tenant.map(|t| t.name), can_import, is_superuser: actor.is_superuser, job }))
    })
    .await
}

#[server(prefix = "/fn", endpoint = "start-import")]
pub async fn start_import(id: String) -> Result<(), AppError> {
    crate::server_fns::context::serve(|call| async move {
            let actor = call.signed_in().await?;
            let job = call.services.start_job(&actor, &id).await?;
            leptos_axum::redirect(&format!("/import?job={}", job.id));
            Ok(())
        })
        .await
}

#[component]
pub fn Import() -> impl IntoView {
    let start = ServerAction::<StartImport>::new();
    let query = use_query_map();
    let data = Resource::new_blocking(move || (start.version().get(), query.read().get("job")), |(_, job)| import_page(job));
    view! {
        <Title text="Import members"/>
        <Suspense fallback=|| view! { <main><p>"Loading…"</p></main> }>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(Some(view)) => view! { <Page view start/> }.into_any(),
                    Ok(None) => view! { <Redirect path="/login"/> }.into_any(),
                    Err(error) => view! { <main class="narrow"><div class="banner error" role="alert">{error.message}</div></main> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn Page(view: ImportView, start: ServerAction<StartImport>) -> impl IntoView {
    let query = use_query_map();
    let header = view! { <Header email=view.email.clone() tenant=view.tenant_name.clone() is_admin=view.can_import is_superuser=view.is_superuser/> };
    if !view.can_import {
        return view! { {header} <main><h1>"Import members"</h1><p>"Only administrators of this organisation can import members."</p></main> }.into_any();
    }
    let upload_error = move || query.read().get("error");
    let start_error = move || start.value().get().and_then(Result::err).map(|e| e.message);
    view! {
        {header}
        <main>
            <h1>"Import members"</h1>
            {move || upload_error().map(|e| view! { <div class="banner error" role="alert">{e}</div> })}
            {move || start_error().map(|e| view! { <div class="banner error" role="alert">{e}</div> })}
            {match view.job.clone() {
                Some(job) => view! { <JobPanel job start/> }.into_any(),
                None => view! { <Upload/> }.into_any(),
            }}
        </main>
    }
    .into_any()
}

#[component]
fn Upload() -> impl IntoView {
    view! {
        <section>
            <h2>"Upload a CSV"</h2>
            <p class="muted">"A header line, then one person per line: " <code>"email,full_name,role"</code> " (a username column is ignored). The file is checked first; nothing happens until you run it."</p>
            <form method="post" action="/import/upload" enctype="multipart/form-data" class="stack">
                <div class="field">
                    <label for="import-file">"CSV file"</label>
                    <input id="import-file" type="file" name="file" accept=".csv,text/csv" required=true/>
                </div>
                <div class="row">
                    <div class="field">
                        <label for="import-mode">"How"</label>
                        <select id="import-mode" name="mode">
                            <option value="invite">"Invite each person"</option>
                            <option value="create">"Create their accounts"</option>
                        </select>
                    </div>
                    <div class="field">
                        <label for="import-emails">"E-mail"</label>
                        <select id="import-emails" name="send_welcome_emails">
                            <option value="true">"Send the e-mails now"</option>
                            <option value="false">"Do not e-mail anyone yet"</option>
                        </select>
                    </div>
                </div>
                <button type="submit">"Check the file"</button>
            </form>
        </section>
    }
}

#[component]
fn JobPanel(job: JobSummary, start: ServerAction<StartImport>) -> impl IntoView {
    let running = job.status == "queued" || job.status == "running";
    let percent = if job.total > 0 { job.processed * 100 / job.total } else { 100 };
    let title = match job.status.as_str() {
        "preview" => "Check before importing",
        "queued" | "running" => "Importing…",
        "done" => "Import finished",
        _ => "Import stopped",
    };
    let counts = job.counts.clone();
    let rows = job.rows.clone();
    let more = job.total as usize > rows.len();
    let (form_id, results_path) = (job.id.clone(), format!("/api/jobs/{}/results/", job.id));
    view! {
        {running.then(|| view! { <Meta http_equiv="refresh" content="2"/> })}
        <section>
            <h2>{title}</h2>
            <p>{format!("{} rows, mode: {}.", job.total, job.mode)}</p>
            {job.error.clone().map(|e| view! { <div class="banner error" role="alert">{e}</div> })}
            {(job.status != "preview").then(|| view! {
                <div class="quota">
                    <progress max="100" value=percent.to_string() aria-label="Rows imported">{format!("{percent}%")}</progress>
                    <p>{format!("{} of {} rows ({percent}%): {} imported or already there, {} failed.", job.processed, job.total, job.succeeded, job.failed)}</p>
                </div>
            })}
            <ul class="counts">
                {counts.into_iter().map(|(outcome, n)| view! { <li><strong>{n}</strong> " " {outcome}</li> }).collect_view()}
            </ul>
            {(job.status == "preview").then(|| view! {
                <ActionForm action=start attr:class="inline">
                    <input type="hidden" name="id" value=form_id.clone()/>
                    <button type="submit">"Run the import"</button>
                </ActionForm>
                " "
                <a href="/import">"Upload another file"</a>
            })}
            {(job.status == "done" || job.status == "failed").then(|| view! { <p><a href="/import">"Import another file"</a></p> })}
            <div class="table-wrap">
                <table class="members import-rows">
                    <thead><tr><th>"Row"</th><th>"E-mail"</th><th>{if job.status == "preview" { "Will be" } else { "Outcome" }}</th><th>"Problems"</th></tr></thead>
                    <tbody>
                        {rows.into_iter().map(|(n, email, outcome, errors)| {
                            let class = format!("outcome-{outcome}");
                            view! { <tr class=class><td>{n}</td><td>{email}</td><td>{outcome}</td><td>{errors}</td></tr> }
                        }).collect_view()}
                    </tbody>
                </table>
            </div>
            {more.then(|| view! { <p class="muted">"The first 100 rows are shown; every row's outcome is at " <code>{results_path.clone()}</code> "."</p> })}
        </section>
    }
}
