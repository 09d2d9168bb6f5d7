//! `/usage`: the organisation's plan and each quota as a labelled bar with its percentage
//! (rendered on the server), over-quota states marked. The platform (a superuser, or the
//! partner that provisioned the tenant) changes the plan and feature overrides here; every
//! form works without JavaScript.

use leptos::{form::ActionForm, prelude::*};
use leptos_meta::Title;
use leptos_router::components::Redirect;
use serde::{Deserialize, Serialize};

use super::{form::FormError, layout::Header};
use crate::error::AppError;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UsageView {
    pub email: String,
    pub tenant_name: Option<String>,
    pub is_admin: bool,
    pub is_superuser: bool,
    pub plan: Option<String>,
    /// resource, used, limit (None: unlimited), percent.
    pub quotas: Vec<(String, i64, Option<i64>, Option<f64>)>,
    /// feature, on, source.
    pub features: Vec<(String, bool, String)>,
    pub can_manage: bool,
    pub plans: Vec<String>,
}

#[server(prefix = "/fn", endpoint = "usage-page")]
pub async fn usage_page() -> Result<Option<UsageView>, AppError> {
    use tenantry::domain::Permission;
    crate::server_fns::context::serve(|call| async move {
        let Some(actor) = call.actor().await? else { return Ok(None) };
        let tenant = call.services.current_tenant(&actor).await?;
        let mut view = UsageView {
            email: actor.email.clone(),
            tenant_name: tenant.as_ref().map(|t| t.name.clone()),
            is_admin: actor.can(Permission::RolesWrite),
            is_superuser: actor.is_superuser,
            plan: None,
            quotas: Vec::new(),
            features: Vec::new(),
            can_manage: false,
            plans: Vec::new(),
        };
        let Some(tenant) = tenant else { return Ok(Some(view)) };
        let report = call.services.quota_usage(&actor, tenant.id).await?;
        view.plan = report.plan.clone();
        view.quotas = report
            .usage
            .iter()
            .map(|(resource, used)| {
                let limit = tenantry::domain::Resource::parse(resource).ok().and_then(|r| report.limits.get(r.limit().as_str()).copied().flatten());
                (resource.clone(), *used, limit, report.percentages.get(resource).copied().flatten())
            })
            .collect();
        view.features = call.services.tenant_features(&actor, tenant.id).await?.into_iter().map(|(f, (on, source))| (f, on, source.as_str().to_owned())).collect();
        view.can_manage = actor.is_superuser || (actor.platform_role().is_some() && tenant.created_by_partner == Some(actor.user_id));
        if view.can_manage {
            view.plans = call.services.list_plans(&actor).await?.into_iter().map(|p| p.name).collect();
        }
        Ok(Some(view))
    })
    .await
}

#[server(prefix = "/fn", endpoint = "change-plan")]
pub async fn change_plan(plan: String, force: Option<String>) -> Result<(), AppError> {
    crate::server_fns::context::serve(|call| async move {
            use tenantry::service::{PlanChange, Raw};
            let actor = call.signed_in().await?;
            let tenant = actor.tenant().map_err(AppError::from)?;
            let change = PlanChange { plan: Raw::text(plan), limits: None, force: force.is_some() };
            call.services.change_plan(&actor, tenant, change, &call.meta).await?;
            Ok(())
        })
        .await
}

#[server(prefix = "/fn", endpoint = "set-feature")]
pub async fn set_feature(feature: String, value: String) -> Result<(), AppError> {
    crate::server_fns::context::serve(|call| async move {
            let actor = call.signed_in().await?;
            let tenant = actor.tenant().map_err(AppError::from)?;
            let setting = match value.as_str() {
                "on" => serde_json::Value::Bool(true),
                "off" => serde_json::Value::Bool(false),
                _ => serde_json::Value::Null,
            };
            let mut changes = serde_json::Map::new();
            changes.insert(feature, setting);
            call.services.set_features(&actor, tenant, &changes, &call.meta).await?;
            Ok(())
        })
        .await
}

#[component]
pub fn Usage() -> impl IntoView {
    let change = ServerAction::<ChangePlan>::new();
    let feature = ServerAction::<SetFeature>::new();
    let data = Resource::new_blocking(move || (change.version().get(), feature.version().get()), |_| usage_page());
    view! {
        <Title text="Plan and usage"/>
        <Suspense fallback=|| view! { <main><p>"Loading…"</p></main> }>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(Some(view)) => view! { <Page view change feature/> }.into_any(),
                    Ok(None) => view! { <Redirect path="/login"/> }.into_any(),
                    Err(error) => view! { <main class="narrow"><div class="banner error" role="alert">{error.message}</div></main> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn Page(view: UsageView, change: ServerAction<ChangePlan>, feature: ServerAction<SetFeature>) -> impl IntoView {
    let change_error = Signal::derive(move || change.value().get().and_then(Result::err));
    let feature_error = Signal::derive(move || feature.value().get().and_then(Result::err));
    let plan_label = view.plan.clone().unwrap_or_else(|| "No plan (no limits)".to_owned());
    let quotas = view.quotas.clone();
    let features = view.features.clone();
    let can_manage = view.can_manage;
    let plans = view.plans.clone();
    let current = view.plan.clone().unwrap_or_default();
    view! {
        <Header email=view.email.clone() tenant=view.tenant_name.clone() is_admin=view.is_admin is_superuser=view.is_superuser/>
        <main>
            <h1>"Plan and usage"</h1>
            <p>"Plan: " <strong class="plan-name">{plan_label}</strong></p>
            <section>
                <h2>"Quotas"</h2>
                <ul class="quotas">
                    {quotas.into_iter().map(|(resource, used, limit, pct)| {
                        let over = limit.is_some_and(|l| used > l);
                        let full = limit.is_some_and(|l| used >= l);
                        let id = format!("quota-{resource}");
                        let text = match (limit, pct) {
                            (Some(l), Some(p)) => format!("{used} of {l} ({p:.1}%)"),
                            _ => format!("{used} (unlimited)"),
                        };
                        let state = if over { "Over quota" } else if full { "At the limit" } else { "" };
                        view! {
                            <li class="quota" class:over=over class:full=full data-resource=resource.clone()>
                                <label for=id.clone()>{resource.clone()}</label>
                                {limit.map(|l| view! { <meter id=id.clone() min="0" max=l.max(1).to_string() low=(l * 8 / 10).to_string() high=l.to_string() optimum="0" value=used.to_string()>{text.clone()}</meter> })}
                                <span class="quota-text">{text.clone()}</span>
                                {(!state.is_empty()).then(|| view! { <strong class="quota-state">{state}</strong> })}
                            </li>
                        }.into_any()
                    }).collect_view()}
                </ul>
            </section>
            <section>
                <h2>"Features"</h2>
                {move || feature_error.get().map(|e| view! { <div class="banner error" role="alert">{e.message}</div> })}
                <div class="table-wrap">
                    <table class="members features">
                        <thead><tr><th>"Feature"</th><th>"State"</th><th>"From"</th>{can_manage.then(|| view! { <th>"Change"</th> })}</tr></thead>
                        <tbody>
                            {features.into_iter().map(|(name, on, source)| {
                                let label = format!("Set {name}");
                                let select_id = format!("feature-{name}");
                                let hidden = name.clone();
                                view! {
                                    <tr data-feature=name.clone()>
                                        <td>{name.clone()}</td>
                                        <td>{if on { "on" } else { "off" }}</td>
                                        <td>{source}</td>
                                        {can_manage.then(|| view! {
                                            <td>
                                                <ActionForm action=feature attr:class="inline">
                                                    <input type="hidden" name="feature" value=hidden.clone()/>
                                                    <label for=select_id.clone() class="visually-hidden">{label.clone()}</label>
                                                    <select id=select_id.clone() name="value">
                                                        <option value="plan">"as the plan says"</option>
                                                        <option value="on">"on"</option>
                                                        <option value="off">"off"</option>
                                                    </select>
                                                    <button type="submit" class="small">"Set"</button>
                                                </ActionForm>
                                            </td>
                                        })}
                                    </tr>
                                }.into_any()
                            }).collect_view()}
                        </tbody>
                    </table>
                </div>
            </section>
            {can_manage.then(move || view! {
                <section>
                    <h2>"Change the plan"</h2>
                    <ActionForm action=change attr:class="stack">
                        <FormError error=change_error/>
                        <div class="field">
                            <label for="field-plan">"Plan"</label>
                            <select id="field-plan" name="plan">
                                <option value="">"No plan (no limits)"</option>
                                {plans.into_iter().map(|p| { let selected = p == current; let label = p.clone(); view! { <option value=p selected=selected>{label}</option> } }).collect_view()}
                            </select>
                        </div>
                        <div class="check"><input type="checkbox" id="field-force" name="force" value="on"/><label for="field-force">"Even if the organisation uses more than the new plan allows"</label></div>
                        <button type="submit">"Change plan"</button>
                    </ActionForm>
                </section>
            }.into_any())}
        </main>
    }
    .into_any()
}
