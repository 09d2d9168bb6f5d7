//! `/platform/analytics`: for platform superusers, every tenant's value of one metric over a
//! period, highest first, with the platform's total. A plain GET form and links: no JavaScript
//! needed.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{components::Redirect, hooks::use_query_map};
use serde::{Deserialize, Serialize};

use super::layout::Header;
use crate::error::AppError;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnalyticsView {
    pub email: String,
    pub allowed: bool,
    pub metric: String,
    pub period: String,
    /// Every metric: (name, label).
    pub metrics: Vec<(String, String)>,
    pub rows: Vec<TenantLine>,
    pub count: i64,
    pub total: i64,
    pub page: u32,
    pub has_next: bool,
    pub has_previous: bool,
    pub errors: Vec<(String, String)>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TenantLine {
    pub name: String,
    pub slug: String,
    pub value: i64,
}

#[server(prefix = "/fn", endpoint = "platform-analytics")]
pub async fn platform_analytics(metric: String, period: String, page: u32) -> Result<Option<AnalyticsView>, AppError> {
    use tenantry::{domain::Metric, store::PageRequest, ServiceError};
    crate::server_fns::context::serve(|call| async move {
        let Some(actor) = call.actor().await? else { return Ok(None) };
        let mut view = AnalyticsView {
            email: actor.email.clone(),
            allowed: true,
            metric: if metric.trim().is_empty() { "logins".into() } else { metric.trim().to_owned() },
            period: if period.trim().is_empty() { "30d".into() } else { period.trim().to_owned() },
            metrics: Metric::ALL.iter().map(|m| (m.as_str().to_owned(), m.label().to_owned())).collect(),
            rows: Vec::new(),
            count: 0,
            total: 0,
            page: page.max(1),
            has_next: false,
            has_previous: false,
            errors: Vec::new(),
        };
        // The total needs every tenant's value; the table shows one page of them.
        match call.services.tenant_analytics(&actor, &metric, &period, PageRequest { page: 1, page_size: u32::MAX }).await {
            Ok((_, _, all)) => {
                view.total = all.items.iter().map(|r| r.value).sum();
                view.count = all.count;
                let shown = PageRequest::number(page);
                view.has_previous = shown.page > 1;
                view.has_next = shown.offset() + shown.limit() < all.count;
                view.rows = all
                    .items
                    .into_iter()
                    .skip(shown.offset() as usize)
                    .take(shown.limit() as usize)
                    .map(|r| TenantLine { name: r.name, slug: r.slug, value: r.value })
                    .collect();
            }
            Err(ServiceError::Forbidden(_)) => view.allowed = false,
            Err(ServiceError::Validation(fields)) => view.errors = fields.iter().map(|(f, m)| (f.to_owned(), m.join(" "))).collect(),
            Err(other) => return Err(other.into()),
        }
        Ok(Some(view))
    })
    .await
}

#[component]
pub fn Analytics() -> impl IntoView {
    let query = use_query_map();
    let params = move || {
        let query = query.get();
        (query.get("metric").unwrap_or_default(), query.get("period").unwrap_or_default(), query.get("page").and_then(|p| p.parse().ok()).unwrap_or(1u32))
    };
    let data = Resource::new_blocking(params, |(metric, period, page)| platform_analytics(metric, period, page));
    view! {
        <Title text="Platform analytics"/>
        <Suspense fallback=|| view! { <main><p>"Loading…"</p></main> }>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(Some(view)) => view! { <Page view/> }.into_any(),
                    Ok(None) => view! { <Redirect path="/login"/> }.into_any(),
                    Err(error) => view! { <main class="narrow"><div class="banner error" role="alert">{error.message}</div></main> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn Page(view: AnalyticsView) -> impl IntoView {
    let header = view! { <Header email=view.email.clone() tenant=None is_superuser=view.allowed/> };
    if !view.allowed {
        return view! {
            {header}
            <main><h1>"Platform analytics"</h1><p>"Only platform administrators see every tenant's analytics."</p></main>
        }
        .into_any();
    }
    let error_of = |field: &str| view.errors.iter().find(|(f, _)| f == field).map(|(_, m)| m.clone());
    let (metric_error, period_error) = (error_of("metric"), error_of("period"));
    let (metric_invalid, period_invalid) = (metric_error.is_some(), period_error.is_some());
    let link = |page: u32| format!("/platform/analytics?metric={}&period={}&page={page}", view.metric, view.period);
    let (newer, older) = (link(view.page.saturating_sub(1)), link(view.page + 1));
    let label = view.metrics.iter().find(|(name, _)| *name == view.metric).map(|(_, l)| l.clone()).unwrap_or_default();
    let periods = [("7d", "Last 7 days"), ("30d", "Last 30 days"), ("90d", "Last 90 days")];
    view! {
        {header}
        <main>
            <h1>"Platform analytics"</h1>
            <form method="get" action="/platform/analytics" class="inline-filter">
                <div class="field" class:invalid=metric_invalid>
                    <label for="metric">"Metric"</label>
                    <select id="metric" name="metric" aria-describedby="metric-error">
                        {view.metrics.iter().map(|(name, label)| view! { <option value=name.clone() selected=*name == view.metric>{label.clone()}</option> }).collect_view()}
                    </select>
                    <p class="error" id="metric-error" role="alert">{metric_error}</p>
                </div>
                <div class="field" class:invalid=period_invalid>
                    <label for="period">"Period"</label>
                    <select id="period" name="period" aria-describedby="period-error">
                        {periods.into_iter().map(|(value, text)| view! { <option value=value selected=view.period == value>{text}</option> }).collect_view()}
                    </select>
                    <p class="error" id="period-error" role="alert">{period_error}</p>
                </div>
                <button type="submit">"Show"</button>
            </form>
            <ul class="counts">
                <li><strong>{view.total}</strong> " " {label.to_lowercase()} " in all"</li>
                <li><strong>{view.count}</strong> " tenants"</li>
            </ul>
            {if view.rows.is_empty() {
                view! { <p class="muted">"No tenants."</p> }.into_any()
            } else {
                view! {
                    <div class="table-wrap">
                        <table class="members analytics">
                            <thead><tr><th>"Tenant"</th><th>"Subdomain"</th><th class="number">{label}</th></tr></thead>
                            <tbody>
                                {view.rows.iter().map(|row| view! {
                                    <tr><td>{row.name.clone()}</td><td><code>{row.slug.clone()}</code></td><td class="number">{row.value}</td></tr>
                                }).collect_view()}
                            </tbody>
                        </table>
                    </div>
                }.into_any()
            }}
            <nav class="pager" aria-label="Pages">
                {view.has_previous.then(|| view! { <a href=newer rel="prev">"← Previous"</a> })}
                " "
                <span class="muted">"Page " {view.page}</span>
                " "
                {view.has_next.then(|| view! { <a href=older rel="next">"Next →"</a> })}
            </nav>
        </main>
    }
    .into_any()
}
