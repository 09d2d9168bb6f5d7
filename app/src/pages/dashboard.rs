//! `/dashboard`: the tenant's metrics for those who may read its audit trail: each number over
//! the period with its trend against the period before, and a 30-day sparkline drawn on the
//! server as SVG. The period is a plain GET form; nothing here needs JavaScript.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{components::Redirect, hooks::use_query_map};
use serde::{Deserialize, Serialize};

use super::layout::Header;
use crate::error::AppError;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DashboardView {
    pub email: String,
    pub tenant_name: Option<String>,
    pub is_admin: bool,
    pub is_superuser: bool,
    /// Whether the caller may see the numbers (`audit:read`).
    pub allowed: bool,
    pub period: String,
    pub cards: Vec<MetricCard>,
    pub period_error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricCard {
    pub name: String,
    pub label: String,
    pub value: i64,
    pub previous: i64,
    pub trend: Option<f64>,
    /// The last 30 days, oldest first.
    pub series: Vec<i64>,
}

#[server(prefix = "/fn", endpoint = "dashboard")]
pub async fn dashboard(period: String) -> Result<Option<DashboardView>, AppError> {
    use tenantry::{domain::Metric, ServiceError};
    crate::server_fns::context::serve(|call| async move {
        let Some(actor) = call.actor().await? else { return Ok(None) };
        let tenant = call.services.current_tenant(&actor).await?;
        let mut view = DashboardView {
            email: actor.email.clone(),
            tenant_name: tenant.map(|t| t.name),
            is_admin: actor.can(tenantry::domain::Permission::MembersWrite),
            is_superuser: actor.is_superuser,
            allowed: true,
            period: if period.trim().is_empty() { "30d".into() } else { period.trim().to_owned() },
            cards: Vec::new(),
            period_error: None,
        };
        match call.services.tenant_metrics(&actor, None, &period).await {
            Ok(report) => {
                view.cards = Metric::ALL
                    .iter()
                    .map(|metric| MetricCard {
                        name: metric.as_str().to_owned(),
                        label: metric.label().to_owned(),
                        value: report.values[metric],
                        previous: report.previous[metric],
                        trend: report.trend(*metric),
                        series: report.daily.iter().map(|(_, values)| values[metric]).collect(),
                    })
                    .collect();
            }
            Err(ServiceError::Forbidden(_)) => view.allowed = false,
            Err(ServiceError::Validation(fields)) => view.period_error = fields.get("period").map(|m| m.join(" ")),
            Err(other) => return Err(other.into()),
        }
        Ok(Some(view))
    })
    .await
}

/// The points of a sparkline of `series` in a `width` × `height` box (a flat line for an
/// all-zero series, at the bottom).
pub fn sparkline_points(series: &[i64], width: f64, height: f64) -> String {
    let top = series.iter().copied().max().unwrap_or(0).max(1) as f64;
    let step = if series.len() > 1 { width / (series.len() - 1) as f64 } else { 0.0 };
    series
        .iter()
        .enumerate()
        .map(|(i, value)| format!("{:.1},{:.1}", i as f64 * step, height - 1.0 - (*value as f64 / top) * (height - 2.0)))
        .collect::<Vec<_>>()
        .join(" ")
}

#[component]
pub fn Dashboard() -> impl IntoView {
    let query = use_query_map();
    let data = Resource::new_blocking(move || query.get().get("period").unwrap_or_default(), dashboard);
    view! {
        <Title text="Dashboard"/>
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
fn Page(view: DashboardView) -> impl IntoView {
    let header = view! { <Header email=view.email.clone() tenant=view.tenant_name.clone() is_admin=view.is_admin is_superuser=view.is_superuser/> };
    if !view.allowed {
        return view! {
            {header}
            <main><h1>"Dashboard"</h1><p>"Only those who may read this organisation's audit log see its metrics."</p></main>
        }
        .into_any();
    }
    let periods = [("7d", "Last 7 days"), ("30d", "Last 30 days"), ("90d", "Last 90 days")];
    let current = view.period.clone();
    let error = view.period_error.clone();
    view! {
        {header}
        <main>
            <h1>"Dashboard"</h1>
            <form method="get" action="/dashboard" class="inline-filter">
                <div class="field" class:invalid=error.is_some()>
                    <label for="period">"Period"</label>
                    <select id="period" name="period" aria-describedby="period-error">
                        {periods.into_iter().map(|(value, label)| view! { <option value=value selected=current == value>{label}</option> }).collect_view()}
                    </select>
                    <p class="error" id="period-error" role="alert">{error.clone()}</p>
                </div>
                <button type="submit">"Show"</button>
            </form>
            <p class="hint">"Each number is over the period, compared with the period of the same length before it. The lines show the last 30 days."</p>
            <ul class="metric-cards">
                {view.cards.into_iter().map(|card| view! { <Card card/> }).collect_view()}
            </ul>
        </main>
    }
    .into_any()
}

#[component]
fn Card(card: MetricCard) -> impl IntoView {
    let (arrow, class, said) = match card.trend {
        Some(t) if t > 0.0 => ("▲", "trend up", format!("up {t}% from {}", card.previous)),
        Some(t) if t < 0.0 => ("▼", "trend down", format!("down {}% from {}", -t, card.previous)),
        Some(_) => ("–", "trend flat", format!("the same as before ({})", card.previous)),
        None => ("▲", "trend up", format!("up from {}", card.previous)),
    };
    let points = sparkline_points(&card.series, 120.0, 32.0);
    let described = format!("{} over the last 30 days: {}", card.label, card.series.iter().map(i64::to_string).collect::<Vec<_>>().join(", "));
    view! {
        <li class="metric-card" data-metric=card.name.clone()>
            <h2>{card.label.clone()}</h2>
            <p class="metric-value">{card.value}</p>
            <p class=class><span aria-hidden="true">{arrow}</span> " " {said}</p>
            <svg class="sparkline" viewBox="0 0 120 32" preserveAspectRatio="none" role="img" aria-label=described>
                <polyline points=points fill="none" stroke="currentColor" stroke-width="1.5" vector-effect="non-scaling-stroke"/>
            </svg>
        </li>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sparklines_scale_to_the_highest_day_and_lie_flat_at_zero() {
        assert_eq!(sparkline_points(&[0, 5, 10], 120.0, 32.0), "0.0,31.0 60.0,16.0 120.0,1.0");
        assert_eq!(sparkline_points(&[0, 0], 120.0, 32.0), "0.0,31.0 120.0,31.0");
        assert_eq!(sparkline_points(&[3], 120.0, 32.0), "0.0,1.0");
        assert_eq!(sparkline_points(&[], 120.0, 32.0), "");
    }
}
