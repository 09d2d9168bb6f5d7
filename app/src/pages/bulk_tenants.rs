//! `/platform/bulk`: tenants in bulk for platform administrators. A CSV (the columns of
//! `bulk-create-tenants`) is uploaded by a plain multipart form to `/platform/bulk/upload`,
//! which dry-runs every row and keeps the file; `/platform/bulk?run=<id>` shows the preview
//! table; "Create these tenants" starts the run in the background and the same page shows its
//! progress, reloading itself every two seconds while it runs (no JavaScript needed), then
//! each row's outcome.

use leptos::{form::ActionForm, prelude::*};
use leptos_meta::{Meta, Title};
use leptos_router::{components::Redirect, hooks::use_query_map};
use serde::{Deserialize, Serialize};

use super::layout::Header;
use crate::error::AppError;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BulkPage {
    pub email: String,
    pub is_superuser: bool,
    pub run: Option<BulkRunSummary>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BulkRunSummary {
    pub id: String,
    pub file_name: String,
    /// `preview`, `running` or `done`.
    pub status: String,
    pub total: i64,
    pub processed: i64,
    pub successful: u64,
    pub failed: u64,
    pub exists: u64,
    /// Row, name, subdomain, outcome, problems.
    pub rows: Vec<(u64, String, String, String, String)>,
}

#[server(prefix = "/fn", endpoint = "bulk-tenants-page")]
pub async fn bulk_tenants_page(run: Option<String>) -> Result<Option<BulkPage>, AppError> {
    crate::server_fns::context::serve(|call| async move {
        let Some(actor) = call.actor().await? else { return Ok(None) };
        if !actor.is_superuser {
            return Ok(Some(BulkPage { email: actor.email.clone(), is_superuser: false, run: None }));
        }
        let run = match run.as_deref().map(str::trim).filter(|r| !r.is_empty()) {
            Some(id) => {
                let id = uuid::Uuid::parse_str(id).map_err(|_| AppError::from(tenantry::ServiceError::NotFound))?;
                let view = call.services.bulk_run_view(&actor, id).await?;
                let rows = view
                    .rows
                    .iter()
                    .take(200)
                    .map(|r| {
                        let problems = r.errors.as_ref().map(|e| e.iter().map(|(f, m)| format!("{f}: {}", m.join(" "))).collect::<Vec<_>>().join("; ")).unwrap_or_default();
                        let outcome = serde_json::to_value(r.status).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default();
                        (r.row, r.name.clone().unwrap_or_default(), r.subdomain.clone().unwrap_or_default(), outcome.replace('_', " "), problems)
                    })
                    .collect();
                Some(BulkRunSummary {
                    id: view.id.to_string(),
                    file_name: view.file_name,
                    status: view.status,
                    total: view.total,
                    processed: view.processed,
                    successful: view.summary.successful,
                    failed: view.summary.failed,
                    exists: view.summary.skipped_exists,
                    rows,
                })
            }
            None => None,
        };
        Ok(Some(BulkPage { email: actor.email.clone(), is_superuser: true, run }))
    })
    .await
}

#[server(prefix = "/fn", endpoint = "start-bulk-tenants")]
pub async fn start_bulk_tenants(id: String) -> Result<(), AppError> {
    crate::server_fns::context::serve(|call| async move {
            let actor = call.signed_in().await?;
            let run = uuid::Uuid::parse_str(id.trim()).map_err(|_| AppError::from(tenantry::ServiceError::NotFound))?;
            call.services.start_bulk_run(&actor, run).await?;
            leptos_axum::redirect(&format!("/platform/bulk?run={run}"));
            Ok(())
        })
        .await
}

#[component]
pub fn BulkTenants() -> impl IntoView {
    let start = ServerAction::<StartBulkTenants>::new();
    let query = use_query_map();
    let data = Resource::new_blocking(move || (start.version().get(), query.read().get("run")), |(_, run)| bulk_tenants_page(run));
    view! {
        <Title text="Tenants in bulk"/>
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
fn Page(view: BulkPage, start: ServerAction<StartBulkTenants>) -> impl IntoView {
    let query = use_query_map();
    let header = view! { <Header email=view.email.clone() tenant=None is_superuser=view.is_superuser/> };
    if !view.is_superuser {
        return view! { {header} <main><h1>"Tenants in bulk"</h1><p>"Only platform administrators can see this page."</p></main> }.into_any();
    }
    let upload_error = move || query.read().get("error");
    let start_error = move || start.value().get().and_then(Result::err).map(|e| e.message);
    view! {
        {header}
        <main>
            <h1>"Tenants in bulk"</h1>
            <p><a href="/platform">"Back to the tenants"</a></p>
            {move || upload_error().map(|e| view! { <div class="banner error" role="alert">{e}</div> })}
            {move || start_error().map(|e| view! { <div class="banner error" role="alert">{e}</div> })}
            {match view.run.clone() {
                Some(run) => view! { <RunPanel run start/> }.into_any(),
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
            <p class="muted">"A header line naming some of " <code>"name,subdomain,plan,owner_email,contact_email,max_users,max_assets,max_devices,storage_quota_gb,custom_domain"</code>
                " (only name is required), then one tenant per line, up to 2,000. Every row is checked first; nothing is created until you say so."</p>
            <form method="post" action="/platform/bulk/upload" enctype="multipart/form-data" class="stack">
                <div class="field">
                    <label for="bulk-file">"CSV file"</label>
                    <input id="bulk-file" type="file" name="file" accept=".csv,text/csv" required=true/>
                </div>
                <button type="submit">"Check the file"</button>
            </form>
        </section>
    }
}

#[component]
fn RunPanel(run: BulkRunSummary, start: ServerAction<StartBulkTenants>) -> impl IntoView {
    let running = run.status == "running";
    let percent = if run.total > 0 { run.processed * 100 / run.total } else { 100 };
    let title = match run.status.as_str() {
        "preview" => "Check before creating",
        "running" => "Creating…",
        _ => "Finished",
    };
    let rows = run.rows.clone();
    let more = run.total as usize > rows.len();
    let form_id = run.id.clone();
    let (good, bad, exists) = (run.successful, run.failed, run.exists);
    let good_label = if run.status == "preview" { "will be created" } else { "created" };
    view! {
        {running.then(|| view! { <Meta http_equiv="refresh" content="2"/> })}
        <section>
            <h2>{title}</h2>
            <p>{format!("{}: {} rows.", run.file_name, run.total)}</p>
            {(run.status != "preview").then(|| view! {
                <div class="quota">
                    <progress max="100" value=percent.to_string() aria-label="Rows done">{format!("{percent}%")}</progress>
                    <p>{format!("{} of {} rows ({percent}%).", run.processed, run.total)}</p>
                </div>
            })}
            {(!running).then(|| view! {
                <ul class="counts">
                    <li><strong>{good}</strong> " " {good_label}</li>
                    <li><strong>{exists}</strong> " exist already"</li>
                    <li><strong>{bad}</strong> " failed"</li>
                </ul>
            })}
            {(run.status == "preview").then(|| view! {
                <ActionForm action=start attr:class="inline">
                    <input type="hidden" name="id" value=form_id.clone()/>
                    <button type="submit">"Create these tenants"</button>
                </ActionForm>
                " "
                <a href="/platform/bulk">"Upload another file"</a>
            })}
            {(run.status == "done").then(|| view! { <p><a href="/platform/bulk">"Upload another file"</a></p> })}
            {(!running).then(|| view! {
            <div class="table-wrap">
                <table class="members bulk-rows">
                    <thead><tr><th>"Row"</th><th>"Name"</th><th>"Subdomain"</th><th>{if run.status == "preview" { "Will be" } else { "Outcome" }}</th><th>"Problems"</th></tr></thead>
                    <tbody>
                        {rows.into_iter().map(|(n, name, subdomain, outcome, problems)| {
                            let class = format!("outcome-{}", outcome.replace(' ', "-"));
                            view! { <tr class=class><td>{n}</td><td>{name}</td><td><code>{subdomain}</code></td><td>{outcome}</td><td>{problems}</td></tr> }
                        }).collect_view()}
                    </tbody>
                </table>
            </div>
            })}
            {more.then(|| view! { <p class="muted">"The first 200 rows are shown."</p> })}
        </section>
    }
}
