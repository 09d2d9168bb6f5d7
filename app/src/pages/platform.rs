use leptos::{form::ActionForm, prelude::*};
use serde::{Deserialize, Serialize};
use leptos_meta::Title;
use leptos_router::components::Redirect;

use super::{
    form::{last_error, Field, FormError},
    layout::Header,
};
use crate::error::AppError;

/// `/platform`: every tenant for platform superusers, with a form to create one from a
/// description, suspend and reactivate, delete (the name typed back), restore, and export.
#[component]
pub fn Platform() -> impl IntoView {
    let suspend = ServerAction::<SetSuspended>::new();
    let create = ServerAction::<CreateTenant>::new();
    let delete = ServerAction::<DeleteTenant>::new();
    let restore = ServerAction::<RestoreTenant>::new();
    let changes = move || (suspend.version().get(), create.version().get(), delete.version().get(), restore.version().get());
    let data = Resource::new_blocking(changes, |_| platform());
    view! {
        <Title text="Platform"/>
        <Suspense fallback=|| view! { <main><p>"Loading…"</p></main> }>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(Some(view)) => view! { <Tenants view suspend create delete restore/> }.into_any(),
                    Ok(None) => view! { <Redirect path="/login"/> }.into_any(),
                    Err(error) => view! { <main class="narrow"><div class="banner error" role="alert">{error.message}</div></main> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn Tenants(
    view: PlatformView,
    suspend: ServerAction<SetSuspended>,
    create: ServerAction<CreateTenant>,
    delete: ServerAction<DeleteTenant>,
    restore: ServerAction<RestoreTenant>,
) -> impl IntoView {
    let header = view! { <Header email=view.email.clone() tenant=None is_superuser=view.is_superuser/> };
    if !view.is_superuser {
        return view! { {header} <main><h1>"Platform"</h1><p>"Only platform administrators can see this page."</p></main> }.into_any();
    }
    let row_failure = move || {
        [suspend.value().get().and_then(Result::err), delete.value().get().and_then(Result::err), restore.value().get().and_then(Result::err)]
            .into_iter()
            .flatten()
            .next()
    };
    let query = leptos_router::hooks::use_query_map();
    let created = move || {
        create.value().get().and_then(Result::ok).map(|made| (made.slug, !made.invited.is_empty())).or_else(|| {
            let query = query.read();
            query.get("created").map(|slug| (slug, query.get("invited").is_some()))
        })
    };
    view! {
        {header}
        <main>
            <h1>"Tenants " <span class="count">{view.count}</span></h1>
            <p><a href="/platform/bulk">"Create tenants in bulk from a CSV file"</a></p>
            {move || created().map(|(slug, invited)| view! {
                <div class="banner ok" role="status">
                    "Created " <code>{slug}</code> "." {invited.then_some(" The owner's invitation is queued.")}
                </div>
            })}
            {move || row_failure().map(|e| {
                // A field's message (the typed name) says more than the summary line.
                let text = e.fields.values().flatten().cloned().collect::<Vec<_>>().join(" ");
                let text = if text.is_empty() { e.message } else { text };
                view! { <div class="banner error" role="alert">{text}</div> }
            })}
            <div class="table-wrap">
            <table class="members">
                <thead><tr><th>"Name"</th><th>"Handle"</th><th>"Status"</th><th>"Since"</th><th>"Actions"</th></tr></thead>
                <tbody>
                    {view.tenants.into_iter().map(|t| view! { <TenantRow t suspend delete restore/> }).collect_view()}
                </tbody>
            </table>
            </div>
            <CreateForm plans=view.plans templates=view.templates create/>
        </main>
    }
    .into_any()
}

#[component]
fn TenantRow(t: PlatformTenant, suspend: ServerAction<SetSuspended>, delete: ServerAction<DeleteTenant>, restore: ServerAction<RestoreTenant>) -> impl IntoView {
    let deleted = t.status == "deleted";
    let suspended = t.status == "suspended";
    let (verb, value) = if suspended { ("Reactivate", "false") } else { ("Suspend", "true") };
    let suspend_label = format!("{verb} {}", t.name);
    let confirm_id = format!("confirm-{}", t.id);
    let confirm_label = format!("Type \u{201c}{}\u{201d} to delete it", t.name);
    let delete_label = format!("Delete {}", t.name);
    let restore_label = format!("Restore {}", t.name);
    let export_label = format!("Export {}", t.name);
    let export_href = format!("/api/tenants/{}/export/", t.id);
    let actions = if deleted {
        let id = t.id.clone();
        view! {
            <ActionForm action=restore attr:class="inline">
                <input type="hidden" name="tenant_id" value=id/>
                <button type="submit" class="small" aria-label=restore_label>"Restore"</button>
            </ActionForm>
        }
        .into_any()
    } else {
        let (id, id2) = (t.id.clone(), t.id.clone());
        view! {
            <ActionForm action=suspend attr:class="inline">
                <input type="hidden" name="tenant_id" value=id/>
                <input type="hidden" name="suspend" value=value/>
                <button type="submit" class="small" aria-label=suspend_label>{verb}</button>
            </ActionForm>
            " "
            <a href=export_href class="small" aria-label=export_label download="">"Export"</a>
            <details class="danger-zone">
                <summary>"Delete…"</summary>
                <ActionForm action=delete attr:class="inline">
                    <input type="hidden" name="tenant_id" value=id2/>
                    <label for=confirm_id.clone()>{confirm_label}</label>
                    <input id=confirm_id name="confirm_name" type="text" size="14" autocomplete="off" required=true/>
                    <button type="submit" class="small danger" aria-label=delete_label>"Delete"</button>
                </ActionForm>
            </details>
        }
        .into_any()
    };
    view! {
        <tr data-tenant-id=t.id.clone()>
            <td>{t.name}</td>
            <td><code>{t.slug}</code></td>
            <td class:danger=suspended || deleted>{t.status}</td>
            <td>{t.created_at}</td>
            <td>{actions}</td>
        </tr>
    }
}

/// The tenant description as a form: what the provisioning API and `create-tenant` take.
#[component]
fn CreateForm(plans: Vec<String>, templates: Vec<String>, create: ServerAction<CreateTenant>) -> impl IntoView {
    let error = last_error(create.value());
    let plan_error = move || error.get().and_then(|e| e.field("plan"));
    let template_error = move || error.get().and_then(|e| e.field("template"));
    let has_templates = !templates.is_empty();
    view! {
        <section aria-labelledby="create-heading">
            <h2 id="create-heading">"Create a tenant"</h2>
            <ActionForm action=create attr:class="stack" attr:novalidate=true>
                <FormError error/>
                <div class="row">
                    <Field name="name" label="Organisation name" required=true error/>
                    <Field name="subdomain" label="Subdomain (optional)" hint="Made from the name when left empty." error/>
                </div>
                <div class="field" class:invalid=move || plan_error().is_some()>
                    <label for="field-plan">"Plan"</label>
                    <select id="field-plan" name="plan" aria-describedby="field-plan-error">
                        <option value="">"No plan (no limits)"</option>
                        {plans.into_iter().map(|p| view! { <option value=p.clone()>{p.clone()}</option> }).collect_view()}
                    </select>
                    <p class="error" id="field-plan-error" role="alert">{plan_error}</p>
                </div>
                {has_templates.then(|| view! {
                    <div class="field" class:invalid=move || template_error().is_some()>
                        <label for="field-template">"Template"</label>
                        <select id="field-template" name="template" aria-describedby="field-template-error">
                            <option value="">"None"</option>
                            {templates.into_iter().map(|t| view! { <option value=t.clone()>{t.clone()}</option> }).collect_view()}
                        </select>
                        <p class="error" id="field-template-error" role="alert">{template_error}</p>
                    </div>
                })}
                <div class="row">
                    <Field name="owner_email" label="Owner's e-mail (invited)" kind="email" error/>
                    <Field name="contact_email" label="Billing contact e-mail" kind="email" error/>
                </div>
                <Field name="max_users" label="User limit (optional)" hint="Over the plan's; empty keeps the plan's." error/>
                <button type="submit" disabled=move || create.pending().get()>"Create tenant"</button>
            </ActionForm>
        </section>
    }
}

/// The platform page: every tenant, for superusers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlatformView {
    pub email: String,
    pub is_superuser: bool,
    pub tenants: Vec<PlatformTenant>,
    pub count: i64,
    /// The plans and templates the create form offers.
    pub plans: Vec<String>,
    pub templates: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlatformTenant {
    pub id: String,
    pub name: String,
    pub slug: String,
    pub status: String,
    pub created_at: String,
}

#[server(name = PlatformData, prefix = "/fn", endpoint = "platform")]
pub async fn platform() -> Result<Option<PlatformView>, AppError> {
    use tenantry::store::PageRequest;
    crate::server_fns::context::serve(|call| async move {
        let Some(actor) = call.actor().await? else { return Ok(None) };
        if !actor.is_superuser {
            return Ok(Some(PlatformView { email: actor.email.clone(), is_superuser: false, tenants: Vec::new(), count: 0, plans: Vec::new(), templates: Vec::new() }));
        }
        let page = call.services.platform_tenants(&actor, PageRequest::first()).await?;
        let tenants = page
            .items
            .iter()
            .map(|t| PlatformTenant {
                id: t.id.to_string(),
                name: t.name.clone(),
                slug: t.slug.clone(),
                status: t.status.as_str().to_owned(),
                created_at: t.created_at.format("%Y-%m-%d").to_string(),
            })
            .collect();
        let plans = call.services.list_plans(&actor).await?.into_iter().map(|p| p.name).collect();
        let templates = call.services.provisioning_templates(&actor).await?.into_iter().map(|(name, _)| name).collect();
        Ok(Some(PlatformView { email: actor.email.clone(), is_superuser: true, tenants, count: page.count, plans, templates }))
    })
    .await
}

/// What the platform's create form made.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CreatedTenant {
    pub name: String,
    pub slug: String,
    pub invited: Vec<String>,
}

/// The platform's create form: the same tenant description the provisioning API takes, as
/// form fields (errors come back under the fields' names).
#[server(prefix = "/fn", endpoint = "create-tenant")]
#[allow(clippy::too_many_arguments)]
pub async fn create_tenant(
    name: String,
    subdomain: Option<String>,
    plan: Option<String>,
    owner_email: Option<String>,
    contact_email: Option<String>,
    max_users: Option<String>,
    template: Option<String>,
) -> Result<CreatedTenant, AppError> {
    crate::server_fns::context::serve(|call| async move {
        use serde_json::{json, Map, Value};
        use tenantry::service::{IfExists, ProvisionOptions, Provisioned, TenantDescription};
        let actor = call.signed_in().await?;
        let echo: Vec<(&str, String)> = vec![
            ("name", name.clone()),
            ("subdomain", subdomain.clone().unwrap_or_default()),
            ("owner_email", owner_email.clone().unwrap_or_default()),
            ("contact_email", contact_email.clone().unwrap_or_default()),
            ("max_users", max_users.clone().unwrap_or_default()),
        ];
        let fail = |e: tenantry::ServiceError| {
            let e = match e {
                tenantry::ServiceError::Validation(fields) => tenantry::ServiceError::Validation(fields.renamed(tenantry::service::csv_field)),
                tenantry::ServiceError::Conflict { detail, fields } => tenantry::ServiceError::Conflict { detail, fields: fields.renamed(tenantry::service::csv_field) },
                other => other,
            };
            AppError::from(e).with_values(echo.iter().map(|(k, v)| (*k, v.as_str())))
        };
        let mut tenant = Map::new();
        tenant.insert("name".into(), json!(name));
        let given = |v: &Option<String>| v.as_deref().map(str::trim).filter(|v| !v.is_empty()).map(str::to_owned);
        for (key, value) in [("subdomain", &subdomain), ("plan", &plan), ("contact_email", &contact_email)] {
            if let Some(value) = given(value) {
                tenant.insert(key.into(), json!(value));
            }
        }
        if let Some(max) = given(&max_users) {
            tenant.insert("max_users".into(), max.parse::<i64>().map_or_else(|_| json!(max), |n| json!(n)));
        }
        let users: Vec<Value> = given(&owner_email).map(|e| json!({"email": e, "role": "owner"})).into_iter().collect();
        let mut description = json!({"tenant": tenant, "users": users});
        if let Some(template) = given(&template) {
            description["template"] = json!(template);
        }
        let description = TenantDescription::parse(&description).map_err(|f| fail(tenantry::ServiceError::Validation(f)))?;
        let options = ProvisionOptions { dry_run: false, if_exists: IfExists::Conflict };
        match call.services.provision(Some(&actor), description, options, &call.meta).await.map_err(fail)? {
            Provisioned::Created(made) => {
                // A form posted without JavaScript lands on the list with the banner.
                let invited = if made.invitations.is_empty() { "" } else { "&invited=1" };
                leptos_axum::redirect(&format!("/platform?created={}{invited}", made.tenant.slug));
                Ok(CreatedTenant {
                name: made.tenant.name,
                slug: made.tenant.slug,
                invited: made.invitations.into_iter().map(|i| i.invitation.email).collect(),
                })
            }
            _ => Err(AppError::from(tenantry::ServiceError::NotFound)),
        }

    })
    .await
}

/// Deletes a tenant from the platform page (the exact name typed back).
#[server(prefix = "/fn", endpoint = "delete-tenant")]
pub async fn delete_tenant(tenant_id: String, confirm_name: String) -> Result<(), AppError> {
    crate::server_fns::context::serve(|call| async move {
        let actor = call.signed_in().await?;
        let tenant = tenantry::domain::TenantId::parse(&tenant_id).map_err(|_| AppError::from(tenantry::ServiceError::NotFound))?;
        call.services.delete_tenant(Some(&actor), tenant, tenantry::service::Raw::text(confirm_name), &call.meta).await?;
        Ok(())
    })
    .await
}

/// Restores a deleted tenant from the platform page.
#[server(prefix = "/fn", endpoint = "restore-tenant")]
pub async fn restore_tenant(tenant_id: String) -> Result<(), AppError> {
    crate::server_fns::context::serve(|call| async move {
        let actor = call.signed_in().await?;
        let tenant = tenantry::domain::TenantId::parse(&tenant_id).map_err(|_| AppError::from(tenantry::ServiceError::NotFound))?;
        call.services.restore_tenant(Some(&actor), tenant, &call.meta).await?;
        Ok(())
    })
    .await
}

#[server(prefix = "/fn", endpoint = "set-suspended")]
pub async fn set_suspended(tenant_id: String, suspend: String) -> Result<(), AppError> {
    crate::server_fns::context::serve(|call| async move {
        let actor = call.signed_in().await?;
        let tenant = tenantry::domain::TenantId::parse(&tenant_id).map_err(|_| AppError::from(tenantry::ServiceError::NotFound))?;
        call.services.set_tenant_suspended(&actor, tenant, suspend == "true", &call.meta).await?;
        Ok(())
    })
    .await
}
