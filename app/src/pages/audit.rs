//! `/audit`: the tenant's audit trail for its administrators. The filters are a plain GET form
//! and the pages plain links, so everything works without JavaScript; the exports are links to
//! the JSON API, which accepts this page's session cookie.

use std::collections::BTreeMap;

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{components::Redirect, hooks::use_query_map};
use serde::{Deserialize, Serialize};

use super::layout::Header;
use crate::error::AppError;

/// What the audit page shows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditView {
    pub email: String,
    pub tenant_name: Option<String>,
    pub is_admin: bool,
    pub rows: Vec<AuditRow>,
    pub count: i64,
    pub page: u32,
    pub has_next: bool,
    pub has_previous: bool,
    /// Messages per filter field when a filter did not parse.
    pub fields: BTreeMap<String, Vec<String>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditRow {
    pub id: String,
    pub time: String,
    pub actor: Option<String>,
    pub action: String,
    pub resource: String,
    pub ip_address: Option<String>,
}

/// The events of the caller's tenant, one page, filtered as the query string says. `None`
/// when nobody is signed in; `is_admin: false` when the caller may not read the trail.
#[server(prefix = "/fn", endpoint = "audit-log")]
pub async fn audit_log(action: String, actor: String, since: String, until: String, page: u32) -> Result<Option<AuditView>, AppError> {
    use tenantry::{
        service::{AuditFilter, Raw},
        store::PageRequest,
        ServiceError,
    };

    crate::server_fns::context::serve(|call| async move {
        let Some(caller) = call.actor().await? else { return Ok(None) };
        let services = call.services;
        let tenant = services.current_tenant(&caller).await?;
        let raw = |value: String| Raw::from_form(Some(value).filter(|v| !v.trim().is_empty()));
        let filter = AuditFilter { action: raw(action), actor: raw(actor), since: raw(since), until: raw(until) };
        let mut view = AuditView {
            email: caller.email.clone(),
            tenant_name: tenant.map(|t| t.name),
            is_admin: true,
            rows: Vec::new(),
            count: 0,
            page: page.max(1),
            has_next: false,
            has_previous: false,
            fields: BTreeMap::new(),
        };
        match services.list_audit_log(&caller, filter, PageRequest::number(page)).await {
            Ok(found) => {
                view.count = found.count;
                view.has_next = found.has_next();
                view.has_previous = found.has_previous();
                view.rows = found
                    .items
                    .iter()
                    .map(|e| AuditRow {
                        id: e.id.to_string(),
                        time: e.created_at.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
                        actor: e.actor_email.clone(),
                        action: e.action.to_string(),
                        resource: match &e.resource_id {
                            Some(id) => format!("{} {id}", e.resource_type),
                            None => e.resource_type.clone(),
                        },
                        ip_address: e.ip_address.clone(),
                    })
                    .collect();
            }
            Err(ServiceError::Forbidden(_)) => view.is_admin = false,
            Err(ServiceError::Validation(fields)) => {
                view.fields = fields.iter().map(|(k, v)| (k.to_owned(), v.to_vec())).collect();
            }
            Err(other) => return Err(other.into()),
        }
        Ok(Some(view))
    })
    .await
}

/// The filters as they are in the address bar.
#[derive(Debug, Clone, PartialEq, Default)]
struct Filters {
    action: String,
    actor: String,
    since: String,
    until: String,
    page: u32,
}

impl Filters {
    /// `key=value&…` of the filters that are set (and `extra` first), percent-encoded.
    fn query(&self, extra: &[(&str, String)]) -> String {
        let filters = [("action", &self.action), ("actor", &self.actor), ("since", &self.since), ("until", &self.until)];
        extra
            .iter()
            .map(|(k, v)| (*k, v))
            .chain(filters)
            .filter(|(_, v)| !v.trim().is_empty())
            .map(|(k, v)| format!("{k}={}", encode(v.trim())))
            .collect::<Vec<_>>()
            .join("&")
    }

    fn page_link(&self, page: u32) -> String {
        let extra = if page > 1 { vec![("page", page.to_string())] } else { Vec::new() };
        let query = self.query(&extra);
        if query.is_empty() {
            "/audit".to_owned()
        } else {
            format!("/audit?{query}")
        }
    }

    fn export_link(&self, format: &str) -> String {
        format!("/api/audit-logs/?{}", self.query(&[("format", format.to_owned())]))
    }
}

/// Percent-encodes everything but the unreserved characters of RFC 3986.
fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[component]
pub fn Audit() -> impl IntoView {
    let query = use_query_map();
    let filters = move || {
        let query = query.get();
        let get = |key: &str| query.get(key).unwrap_or_default();
        Filters {
            action: get("action"),
            actor: get("actor"),
            since: get("since"),
            until: get("until"),
            page: get("page").parse().ok().filter(|p| *p >= 1).unwrap_or(1),
        }
    };
    let data = Resource::new_blocking(filters, |f| audit_log(f.action, f.actor, f.since, f.until, f.page));
    view! {
        <Title text="Audit log"/>
        <Suspense fallback=|| view! { <main><p>"Loading…"</p></main> }>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(Some(view)) => view! { <Page view filters=filters()/> }.into_any(),
                    Ok(None) => view! { <Redirect path="/login"/> }.into_any(),
                    Err(error) => view! { <main class="narrow"><div class="banner error" role="alert">{error.message}</div></main> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn Page(view: AuditView, filters: Filters) -> impl IntoView {
    let header = view! { <Header email=view.email.clone() tenant=view.tenant_name.clone() is_admin=view.is_admin/> };
    if !view.is_admin {
        return view! {
            {header}
            <main><h1>"Audit log"</h1><p>"Only administrators of this organisation can see its audit log."</p></main>
        }
        .into_any();
    }
    let fields = view.fields.clone();
    let invalid = !fields.is_empty();
    let input = move |name: &'static str, label: &'static str, value: String, hint: &'static str| {
        let id = format!("audit-{name}");
        let error_id = format!("{id}-error");
        let message = fields.get(name).map(|m| m.join(" "));
        let invalid = message.is_some();
        view! {
            <div class="field" class:invalid=invalid>
                <label for=id.clone()>{label}</label>
                <input id=id name=name type="text" value=value placeholder=hint
                    aria-invalid=invalid.then_some("true") aria-describedby=error_id.clone()/>
                <p class="error" id=error_id role="alert">{message}</p>
            </div>
        }
    };
    let (newer, older) = (filters.page_link(view.page.saturating_sub(1)), filters.page_link(view.page + 1));
    let (csv, json) = (filters.export_link("csv"), filters.export_link("json"));
    let rows = view.rows.clone();
    view! {
        {header}
        <main>
            <h1>"Audit log"</h1>
            <form method="get" action="/audit" class="stack" novalidate>
                <div class="row">
                    {input("action", "Action", filters.action.clone(), "role_assigned")}
                    {input("actor", "Actor", filters.actor.clone(), "user id or e-mail")}
                </div>
                <div class="row">
                    {input("since", "Since", filters.since.clone(), "YYYY-MM-DD")}
                    {input("until", "Until", filters.until.clone(), "YYYY-MM-DD")}
                </div>
                <p class="hint">"Dates are UTC; a date and time may also be given in RFC 3339 (2024-05-01T12:00:00Z)."</p>
                <div><button type="submit">"Filter"</button> " " <a href="/audit">"Clear filters"</a></div>
            </form>
            <section>
                <h2>"Events " <span class="count">{view.count}</span></h2>
                <p>"Download every matching event: " <a href=csv download>"CSV"</a> " · " <a href=json download>"JSON"</a></p>
                {if invalid {
                    view! { <p class="muted">"Correct the filters above to see events."</p> }.into_any()
                } else if rows.is_empty() {
                    view! { <p class="muted">"No events match."</p> }.into_any()
                } else {
                    view! {
                        <table class="members audit">
                            <thead><tr><th>"Time"</th><th>"Actor"</th><th>"Action"</th><th>"Resource"</th><th>"IP address"</th></tr></thead>
                            <tbody>
                                {rows.into_iter().map(|row| view! {
                                    <tr data-audit-id=row.id>
                                        <td>{row.time}</td>
                                        <td>{row.actor.unwrap_or_else(|| "—".to_owned())}</td>
                                        <td><code>{row.action}</code></td>
                                        <td>{row.resource}</td>
                                        <td>{row.ip_address.unwrap_or_else(|| "—".to_owned())}</td>
                                    </tr>
                                }).collect_view()}
                            </tbody>
                        </table>
                    }.into_any()
                }}
                <nav class="pager" aria-label="Pages">
                    {view.has_previous.then(|| view! { <a href=newer rel="prev">"← Newer"</a> })}
                    " "
                    <span class="muted">"Page " {view.page}</span>
                    " "
                    {view.has_next.then(|| view! { <a href=older rel="next">"Older →"</a> })}
                </nav>
            </section>
        </main>
    }
    .into_any()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_keep_the_filters_that_are_set_encoded() {
        let filters = Filters { action: "role_assigned".into(), since: "2024-05-01T12:00:00+02:00".into(), ..Default::default() };
        assert_eq!(filters.export_link("csv"), "/api/audit-logs/?format=csv&action=role_assigned&since=2024-05-01T12%3A00%3A00%2B02%3A00");
        assert_eq!(filters.page_link(2), "/audit?page=2&action=role_assigned&since=2024-05-01T12%3A00%3A00%2B02%3A00");
        assert_eq!(Filters::default().page_link(1), "/audit");
    }
}
