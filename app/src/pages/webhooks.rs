//! `/webhooks`: a tenant's webhook endpoints for holders of `tenant:write`: add one (its signing
//! secret is shown once), pick its events, switch it off and on, send a test, rotate its
//! secret, delete it; `/webhooks?endpoint=<id>` lists that endpoint's deliveries with a Retry
//! for each. Every control is a plain form, so all of it works without JavaScript.

use leptos::{form::ActionForm, prelude::*};
use leptos_meta::Title;
use leptos_router::{components::Redirect, hooks::use_query_map};
use serde::{Deserialize, Serialize};

use super::{
    form::{last_error, Field, FormError},
    layout::Header,
};
use crate::error::AppError;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WebhooksView {
    pub email: String,
    pub tenant_name: Option<String>,
    pub can_manage: bool,
    pub is_superuser: bool,
    pub hooks: Vec<HookRow>,
    /// Every event that can be chosen: (name, what makes it happen).
    pub events: Vec<(String, String)>,
    /// A secret made by the last form post of this browser, shown this once.
    pub new_secret: Option<NewSecret>,
    /// The endpoint whose deliveries are shown (`?endpoint=`).
    pub selected: Option<Selected>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HookRow {
    pub id: String,
    pub url: String,
    pub description: String,
    pub events: String,
    pub active: bool,
    pub disabled_reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Selected {
    pub id: String,
    pub url: String,
    pub deliveries: Vec<DeliveryRow>,
    pub count: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeliveryRow {
    pub id: String,
    pub event_type: String,
    pub event_id: String,
    pub status: String,
    pub attempts: i32,
    pub last_status: Option<i32>,
    pub last_error: Option<String>,
    pub last_duration_ms: Option<i32>,
    pub created_at: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewSecret {
    pub url: String,
    pub secret: String,
}

/// Where a secret made by a form post waits for the page that shows it (once).
#[cfg(feature = "ssr")]
const NEW_SECRET: &str = "tenantry.new_webhook_secret";

#[server(prefix = "/fn", endpoint = "webhooks-page")]
pub async fn webhooks_page(endpoint: String) -> Result<Option<WebhooksView>, AppError> {
    use tenantry::domain::Permission;
    crate::server_fns::context::serve(|call| async move {
        let Some(actor) = call.actor().await? else { return Ok(None) };
        let tenant = call.services.current_tenant(&actor).await?;
        let can_manage = actor.tenant_id.is_some() && actor.can(Permission::TenantWrite);
        let hooks = if can_manage { call.services.list_webhooks(&actor, false).await? } else { Vec::new() };
        let time = |t: chrono::DateTime<chrono::Utc>| t.format("%Y-%m-%d %H:%M:%S UTC").to_string();
        let selected = match endpoint.trim() {
            "" => None,
            id if can_manage => {
                let hook = call.services.webhook(&actor, id).await?;
                let page = call.services.webhook_deliveries(&actor, id, tenantry::store::PageRequest::first()).await?;
                Some(Selected {
                    id: hook.id.to_string(),
                    url: hook.url.clone(),
                    count: page.count,
                    deliveries: page
                        .items
                        .iter()
                        .map(|d| DeliveryRow {
                            id: d.id.to_string(),
                            event_type: d.event_type.clone(),
                            event_id: d.event_id.to_string(),
                            status: d.status.clone(),
                            attempts: d.attempts,
                            last_status: d.last_status,
                            last_error: d.last_error.clone(),
                            last_duration_ms: d.last_duration_ms,
                            created_at: time(d.created_at),
                        })
                        .collect(),
                })
            }
            _ => None,
        };
        let new_secret = call.session.remove::<NewSecret>(NEW_SECRET).await.ok().flatten();
        Ok(Some(WebhooksView {
            email: actor.email.clone(),
            tenant_name: tenant.map(|t| t.name),
            can_manage,
            is_superuser: actor.is_superuser,
            hooks: hooks
                .iter()
                .map(|h| HookRow {
                    id: h.id.to_string(),
                    url: h.url.clone(),
                    description: h.description.clone(),
                    events: h.events.0.to_list().join(" "),
                    active: h.active,
                    disabled_reason: h.disabled_reason.clone(),
                })
                .collect(),
            events: call.services.webhook_event_catalogue().into_iter().map(|e| (e.as_str().to_owned(), e.description().to_owned())).collect(),
            new_secret,
            selected,
        }))
    })
    .await
}

/// Keeps a secret in the session for the page after a plain form post, and hands it back.
#[cfg(feature = "ssr")]
async fn show_once(call: &crate::server_fns::context::Call, made: NewSecret) -> Result<NewSecret, AppError> {
    call.session.insert(NEW_SECRET, made.clone()).await.map_err(|e| crate::server_fns::context::session_error(e.into()))?;
    Ok(made)
}

#[server(prefix = "/fn", endpoint = "create-webhook")]
pub async fn create_webhook(url: String, description: Option<String>, events: Option<Vec<String>>) -> Result<NewSecret, AppError> {
    crate::server_fns::context::serve(|call| async move {
            use tenantry::service::{Raw, RawList, WebhookInput};
            let actor = call.signed_in().await?;
            let input = WebhookInput {
                url: Raw::text(url.clone()),
                events: RawList::Items(events.unwrap_or_default()),
                description: Raw::from_form(description.clone()),
                ..Default::default()
            };
            let issued = call
                .services
                .create_webhook(&actor, input, &call.meta)
                .await
                .map_err(|e| AppError::from(e).with_values([("url", url.as_str()), ("description", description.as_deref().unwrap_or(""))]))?;
            show_once(&call, NewSecret { url: issued.webhook.url, secret: issued.secret }).await
        })
        .await
}

#[server(prefix = "/fn", endpoint = "set-webhook-active")]
pub async fn set_webhook_active(id: String, active: String) -> Result<(), AppError> {
    crate::server_fns::context::serve(|call| async move {
            use tenantry::service::{Raw, WebhookInput};
            let actor = call.signed_in().await?;
            call.services.update_webhook(&actor, &id, WebhookInput { active: Raw::text(active), ..Default::default() }, &call.meta).await?;
            Ok(())
        })
        .await
}

#[server(prefix = "/fn", endpoint = "test-webhook")]
pub async fn test_webhook(id: String) -> Result<(), AppError> {
    crate::server_fns::context::serve(|call| async move {
            let actor = call.signed_in().await?;
            call.services.test_webhook(&actor, &id).await?;
            Ok(())
        })
        .await
}

#[server(prefix = "/fn", endpoint = "rotate-webhook-secret")]
pub async fn rotate_webhook_secret(id: String) -> Result<NewSecret, AppError> {
    crate::server_fns::context::serve(|call| async move {
            let actor = call.signed_in().await?;
            let issued = call.services.rotate_webhook_secret(&actor, &id, &call.meta).await?;
            show_once(&call, NewSecret { url: issued.webhook.url, secret: issued.secret }).await
        })
        .await
}

#[server(prefix = "/fn", endpoint = "delete-webhook")]
pub async fn delete_webhook(id: String) -> Result<(), AppError> {
    crate::server_fns::context::serve(|call| async move {
            let actor = call.signed_in().await?;
            call.services.delete_webhook(&actor, &id, &call.meta).await?;
            Ok(())
        })
        .await
}

#[server(prefix = "/fn", endpoint = "retry-webhook-delivery")]
pub async fn retry_delivery(id: String, delivery: String) -> Result<(), AppError> {
    crate::server_fns::context::serve(|call| async move {
            let actor = call.signed_in().await?;
            call.services.retry_webhook_delivery(&actor, &id, &delivery, &call.meta).await?;
            Ok(())
        })
        .await
}

#[component]
pub fn Webhooks() -> impl IntoView {
    let query = use_query_map();
    let create = ServerAction::<CreateWebhook>::new();
    let toggle = ServerAction::<SetWebhookActive>::new();
    let test = ServerAction::<TestWebhook>::new();
    let rotate = ServerAction::<RotateWebhookSecret>::new();
    let delete = ServerAction::<DeleteWebhook>::new();
    let retry = ServerAction::<RetryDelivery>::new();
    let actions = Actions { create, toggle, test, rotate, delete, retry };
    let data = Resource::new_blocking(
        move || {
            (
                query.get().get("endpoint").unwrap_or_default(),
                create.version().get(),
                toggle.version().get(),
                test.version().get(),
                rotate.version().get(),
                delete.version().get(),
                retry.version().get(),
            )
        },
        |(endpoint, ..)| webhooks_page(endpoint),
    );
    view! {
        <Title text="Webhooks"/>
        <Suspense fallback=|| view! { <main><p>"Loading…"</p></main> }>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(Some(view)) => view! { <Page view actions/> }.into_any(),
                    Ok(None) => view! { <Redirect path="/login"/> }.into_any(),
                    Err(error) => view! { <main class="narrow"><div class="banner error" role="alert">{error.message}</div></main> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[derive(Clone, Copy)]
struct Actions {
    create: ServerAction<CreateWebhook>,
    toggle: ServerAction<SetWebhookActive>,
    test: ServerAction<TestWebhook>,
    rotate: ServerAction<RotateWebhookSecret>,
    delete: ServerAction<DeleteWebhook>,
    retry: ServerAction<RetryDelivery>,
}

#[component]
fn Page(view: WebhooksView, actions: Actions) -> impl IntoView {
    let header = view! { <Header email=view.email.clone() tenant=view.tenant_name.clone() is_admin=view.can_manage is_superuser=view.is_superuser/> };
    if !view.can_manage {
        return view! {
            {header}
            <main><h1>"Webhooks"</h1><p>"Only administrators of this organisation (with tenant:write) manage its webhooks."</p></main>
        }
        .into_any();
    }
    let error = last_error(actions.create.value());
    let row_error = Signal::derive(move || {
        [actions.toggle.value().get().and_then(Result::err), actions.test.value().get().and_then(Result::err), actions.rotate.value().get().and_then(Result::err)]
            .into_iter()
            .flatten()
            .next()
            .or_else(|| actions.delete.value().get().and_then(Result::err))
            .or_else(|| actions.retry.value().get().and_then(Result::err))
    });
    let shown = view.new_secret.clone();
    let fresh = move || actions.create.value().get().and_then(Result::ok).or_else(|| actions.rotate.value().get().and_then(Result::ok)).or_else(|| shown.clone());
    let mut groups: Vec<(String, Vec<(String, String)>)> = Vec::new();
    for (name, description) in view.events.clone() {
        let group = name.split('.').next().unwrap_or_default().to_owned();
        match groups.last_mut() {
            Some((last, items)) if *last == group => items.push((name, description)),
            _ => groups.push((group, vec![(name, description)])),
        }
    }
    let hooks = view.hooks.clone();
    view! {
        {header}
        <main>
            <h1>"Webhooks"</h1>
            <p class="lead">"Tenantry sends each chosen event to your endpoint as a signed JSON POST (Standard Webhooks): verify the "
                <code>"Webhook-Signature"</code> " header with the endpoint's secret. Failed deliveries are retried for three days, in order."</p>
            {move || fresh().map(|made| view! { <SecretOnce made/> })}
            {move || row_error.get().map(|e| view! { <div class="banner error" role="alert">{e.message}</div> })}
            <section>
                <h2>"New endpoint"</h2>
                <ActionForm action=actions.create attr:class="stack" attr:novalidate=true>
                    <FormError error/>
                    <div class="row">
                        <Field name="url" label="URL" kind="url" required=true hint="https://…" error/>
                        <Field name="description" label="Description" error/>
                    </div>
                    <div class="permission-groups" role="group" aria-labelledby="events-label">
                        <p id="events-label" class="visually-hidden">"Events"</p>
                        <fieldset class="permission-group">
                            <legend>"All"</legend>
                            <div class="check">
                                <input type="checkbox" id="event-all" name="events[]" value="*"/>
                                <label for="event-all">"Every event (*)"</label>
                            </div>
                        </fieldset>
                        {groups.into_iter().map(|(group, items)| view! {
                            <fieldset class="permission-group">
                                <legend>{group}</legend>
                                {items.into_iter().map(|(name, description)| {
                                    let id = format!("event-{}", name.replace('.', "-"));
                                    view! {
                                        <div class="check">
                                            <input type="checkbox" id=id.clone() name="events[]" value=name.clone()/>
                                            <label for=id title=description>{name.clone()}</label>
                                        </div>
                                    }
                                }).collect_view()}
                            </fieldset>
                        }).collect_view()}
                    </div>
                    <p class="error" role="alert">{move || error.get().and_then(|e| e.field("events"))}</p>
                    <button type="submit" disabled=move || actions.create.pending().get()>"Add endpoint"</button>
                </ActionForm>
            </section>
            <section>
                <h2>"Endpoints " <span class="count">{hooks.len()}</span></h2>
                {if hooks.is_empty() {
                    view! { <p class="muted">"No endpoints yet."</p> }.into_any()
                } else {
                    view! {
                        <div class="table-wrap">
                            <table class="members webhooks">
                                <thead><tr><th>"URL"</th><th>"Events"</th><th>"State"</th><th></th></tr></thead>
                                <tbody>
                                    {hooks.into_iter().map(|hook| view! { <HookLine hook actions/> }).collect_view()}
                                </tbody>
                            </table>
                        </div>
                    }.into_any()
                }}
            </section>
            {view.selected.clone().map(|selected| view! { <Deliveries selected retry=actions.retry/> })}
        </main>
    }
    .into_any()
}

#[component]
fn HookLine(hook: HookRow, actions: Actions) -> impl IntoView {
    let deliveries = format!("/webhooks?endpoint={}", hook.id);
    let (toggle_to, toggle_label) = if hook.active { ("false", "Switch off") } else { ("true", "Switch on") };
    let ids = [hook.id.clone(), hook.id.clone(), hook.id.clone(), hook.id.clone()];
    let [for_toggle, for_test, for_rotate, for_delete] = ids;
    let url = hook.url.clone();
    let (toggle_aria, test_aria, rotate_aria, delete_aria) =
        (format!("{toggle_label} {url}"), format!("Send a test event to {url}"), format!("Rotate the secret of {url}"), format!("Delete {url}"));
    view! {
        <tr data-webhook-id=hook.id.clone()>
            <td class="permissions"><code>{hook.url.clone()}</code>
                {(!hook.description.is_empty()).then(|| view! { <br/><span class="muted">{hook.description.clone()}</span> })}
            </td>
            <td class="permissions">{hook.events.clone()}</td>
            <td>
                {if hook.active { view! { <span class="status ok">"active"</span> }.into_any() } else { view! { <span class="status off">"off"</span> }.into_any() }}
                {hook.disabled_reason.clone().map(|why| view! { <br/><span class="muted">{why}</span> })}
            </td>
            <td class="actions">
                <a href=deliveries>"Deliveries"</a>
                " "
                <ActionForm action=actions.toggle attr:class="inline">
                    <input type="hidden" name="id" value=for_toggle/>
                    <input type="hidden" name="active" value=toggle_to/>
                    <button type="submit" class="link" aria-label=toggle_aria>{toggle_label}</button>
                </ActionForm>
                " "
                <ActionForm action=actions.test attr:class="inline">
                    <input type="hidden" name="id" value=for_test/>
                    <button type="submit" class="link" aria-label=test_aria>"Test"</button>
                </ActionForm>
                " "
                <ActionForm action=actions.rotate attr:class="inline">
                    <input type="hidden" name="id" value=for_rotate/>
                    <button type="submit" class="link" aria-label=rotate_aria>"Rotate secret"</button>
                </ActionForm>
                " "
                <ActionForm action=actions.delete attr:class="inline">
                    <input type="hidden" name="id" value=for_delete/>
                    <button type="submit" class="link danger" aria-label=delete_aria>"Delete"</button>
                </ActionForm>
            </td>
        </tr>
    }
}

#[component]
fn Deliveries(selected: Selected, retry: ServerAction<RetryDelivery>) -> impl IntoView {
    let rows = selected.deliveries.clone();
    view! {
        <section id="deliveries">
            <h2>"Deliveries to " <code>{selected.url.clone()}</code> " " <span class="count">{selected.count}</span></h2>
            <p><a href="/webhooks">"Close"</a> " · " <a href=format!("/webhooks?endpoint={}", selected.id)>"Refresh"</a></p>
            {if rows.is_empty() {
                view! { <p class="muted">"Nothing sent yet."</p> }.into_any()
            } else {
                view! {
                    <div class="table-wrap">
                        <table class="members deliveries">
                            <thead><tr><th>"Event"</th><th>"Status"</th><th>"Attempts"</th><th>"Last answer"</th><th>"Queued"</th><th></th></tr></thead>
                            <tbody>
                                {rows.into_iter().map(|d| {
                                    let hook = selected.id.clone();
                                    let answer = match (d.last_status, d.last_error.clone()) {
                                        (_, Some(error)) => error,
                                        (Some(status), None) => format!("HTTP {status}"),
                                        (None, None) => "—".to_owned(),
                                    };
                                    let took = d.last_duration_ms.map(|ms| format!(" in {ms} ms")).unwrap_or_default();
                                    let class = format!("status {}", d.status);
                                    let label = format!("Retry the {} delivery of {}", d.event_type, d.created_at);
                                    let (row_id, delivery_id) = (d.id.clone(), d.id.clone());
                                    view! {
                                        <tr data-delivery-id=row_id>
                                            <td><code>{d.event_type.clone()}</code><br/><span class="muted small-id">{d.event_id.clone()}</span></td>
                                            <td><span class=class>{d.status.clone()}</span></td>
                                            <td>{d.attempts}</td>
                                            <td class="permissions">{answer}{took}</td>
                                            <td>{d.created_at.clone()}</td>
                                            <td class="actions">
                                                <ActionForm action=retry attr:class="inline">
                                                    <input type="hidden" name="id" value=hook/>
                                                    <input type="hidden" name="delivery" value=delivery_id/>
                                                    <button type="submit" class="link" aria-label=label>"Retry"</button>
                                                </ActionForm>
                                            </td>
                                        </tr>
                                    }
                                }).collect_view()}
                            </tbody>
                        </table>
                    </div>
                }.into_any()
            }}
        </section>
    }
}

/// A signing secret just made, with a warning.
#[component]
fn SecretOnce(made: NewSecret) -> impl IntoView {
    view! {
        <div class="banner ok new-key" role="status">
            <p><strong>"Signing secret for " {made.url.clone()}</strong> " Copy it now: it is shown only this once. Verify each delivery's Webhook-Signature with it."</p>
            <label for="new-webhook-secret" class="visually-hidden">"The signing secret"</label>
            <input id="new-webhook-secret" type="text" readonly=true value=made.secret.clone()/>
        </div>
    }
}
