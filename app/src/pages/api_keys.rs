//! `/api-keys`: a tenant's API keys for holders of `api_keys:manage`: make one (its key is
//! shown once, with a copy button when JavaScript runs), see them all, revoke one.

use leptos::{form::ActionForm, prelude::*};
use leptos_meta::Title;
use leptos_router::components::Redirect;
use serde::{Deserialize, Serialize};

use super::{
    form::{last_error, Field, FormError},
    layout::Header,
};
use crate::error::AppError;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KeysView {
    pub email: String,
    pub tenant_name: Option<String>,
    pub can_manage: bool,
    pub is_superuser: bool,
    pub keys: Vec<KeyRow>,
    /// Permissions the caller holds (a key can be given only those).
    pub grantable: Vec<String>,
    /// A key made by the last form post of this browser, shown this once.
    pub new_key: Option<NewKey>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KeyRow {
    pub id: String,
    pub name: String,
    pub prefix: String,
    pub scopes: String,
    pub created_by: String,
    pub created_at: String,
    pub expires_at: Option<String>,
    pub last_used: Option<String>,
    pub revoked: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewKey {
    pub name: String,
    pub key: String,
}

/// Where a key made by a form post waits for the page that shows it (once): a plain form
/// post is answered with a redirect, which cannot carry the key.
#[cfg(feature = "ssr")]
const NEW_KEY: &str = "tenantry.new_api_key";

#[server(prefix = "/fn", endpoint = "api-keys-page")]
pub async fn api_keys_page() -> Result<Option<KeysView>, AppError> {
    use tenantry::domain::Permission;
    crate::server_fns::context::serve(|call| async move {
        let Some(actor) = call.actor().await? else { return Ok(None) };
        let tenant = call.services.current_tenant(&actor).await?;
        let can_manage = actor.can(Permission::ApiKeysManage);
        let keys = if can_manage { call.services.list_api_keys(&actor).await? } else { Vec::new() };
        let day = |t: chrono::DateTime<chrono::Utc>| t.format("%Y-%m-%d").to_string();
        let new_key = call.session.remove::<NewKey>(NEW_KEY).await.ok().flatten();
        Ok(Some(KeysView {
            email: actor.email.clone(),
            tenant_name: tenant.map(|t| t.name),
            can_manage,
            is_superuser: actor.is_superuser,
            keys: keys
                .iter()
                .map(|k| KeyRow {
                    id: k.id.to_string(),
                    name: k.name.clone(),
                    prefix: k.prefix.clone(),
                    scopes: k.scopes.0.iter().map(|g| g.to_text()).collect::<Vec<_>>().join(" "),
                    created_by: k.created_by_email.clone(),
                    created_at: day(k.created_at),
                    expires_at: k.expires_at.map(day),
                    last_used: k.last_used_at.map(|t| format!("{} from {}", day(t), k.last_used_ip.clone().unwrap_or_default())),
                    revoked: k.revoked_at.is_some(),
                })
                .collect(),
            grantable: actor.permissions().iter().map(|p| p.as_str().to_owned()).collect(),
            new_key,
        }))
    })
    .await
}

#[server(prefix = "/fn", endpoint = "create-api-key")]
pub async fn create_api_key(name: String, scopes: Option<Vec<String>>, expires_days: Option<String>) -> Result<NewKey, AppError> {
    crate::server_fns::context::serve(|call| async move {
            use tenantry::service::{ApiKeyInput, Raw, RawList};
            let actor = call.signed_in().await?;
            let input = ApiKeyInput {
                name: Raw::text(name.clone()),
                scopes: RawList::Items(scopes.unwrap_or_default()),
                expires_days: Raw::from_form(expires_days.filter(|d| !d.trim().is_empty())),
            };
            let issued = call.services.create_api_key(&actor, input, &call.meta).await.map_err(|e| AppError::from(e).with_values([("name", name.as_str())]))?;
            let made = NewKey { name: issued.key.name, key: issued.secret };
            call.session.insert(NEW_KEY, made.clone()).await.map_err(|e| crate::server_fns::context::session_error(e.into()))?;
            Ok(made)
        })
        .await
}

#[server(prefix = "/fn", endpoint = "revoke-api-key")]
pub async fn revoke_api_key(id: String) -> Result<(), AppError> {
    crate::server_fns::context::serve(|call| async move {
            let actor = call.signed_in().await?;
            call.services.revoke_api_key(&actor, &id, &call.meta).await?;
            Ok(())
        })
        .await
}

#[component]
pub fn ApiKeys() -> impl IntoView {
    let create = ServerAction::<CreateApiKey>::new();
    let revoke = ServerAction::<RevokeApiKey>::new();
    let data = Resource::new_blocking(move || (create.version().get(), revoke.version().get()), |_| api_keys_page());
    view! {
        <Title text="API keys"/>
        <Suspense fallback=|| view! { <main><p>"Loading…"</p></main> }>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(Some(view)) => view! { <Page view create revoke/> }.into_any(),
                    Ok(None) => view! { <Redirect path="/login"/> }.into_any(),
                    Err(error) => view! { <main class="narrow"><div class="banner error" role="alert">{error.message}</div></main> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn Page(view: KeysView, create: ServerAction<CreateApiKey>, revoke: ServerAction<RevokeApiKey>) -> impl IntoView {
    let header = view! { <Header email=view.email.clone() tenant=view.tenant_name.clone() is_admin=view.can_manage is_superuser=view.is_superuser/> };
    if !view.can_manage {
        return view! {
            {header}
            <main><h1>"API keys"</h1><p>"You may not manage this organisation's API keys."</p></main>
        }
        .into_any();
    }
    let error = last_error(create.value());
    let row_error = Signal::derive(move || revoke.value().get().and_then(Result::err));
    let shown = view.new_key.clone();
    let fresh = move || create.value().get().and_then(Result::ok).or_else(|| shown.clone());
    let grantable = view.grantable.clone();
    let keys = view.keys.clone();
    view! {
        {header}
        <main>
            <h1>"API keys"</h1>
            {move || fresh().map(|made| view! { <ShowOnce made/> })}
            <section>
                <h2>"New key"</h2>
                <ActionForm action=create attr:class="stack" attr:novalidate=true>
                    <FormError error/>
                    <div class="row">
                        <Field name="name" label="Name" required=true error/>
                        <Field name="expires_days" label="Expires after (days)" kind="number" hint="Empty: never" error/>
                    </div>
                    <fieldset class="permission-group">
                        <legend>"Scopes"</legend>
                        {grantable.into_iter().map(|scope| {
                            let id = format!("scope-{}", scope.replace(':', "-"));
                            view! {
                                <div class="check">
                                    <input type="checkbox" id=id.clone() name="scopes[]" value=scope.clone()/>
                                    <label for=id>{scope.clone()}</label>
                                </div>
                            }
                        }).collect_view()}
                    </fieldset>
                    <p class="error" role="alert">{move || error.get().and_then(|e| e.field("scopes"))}</p>
                    <button type="submit" disabled=move || create.pending().get()>"Create key"</button>
                </ActionForm>
            </section>
            <section>
                <h2>"Keys " <span class="count">{keys.len()}</span></h2>
                {move || row_error.get().map(|e| view! { <div class="banner error" role="alert">{e.message}</div> })}
                {if keys.is_empty() {
                    view! { <p class="muted">"No API keys yet."</p> }.into_any()
                } else {
                    view! {
                        <div class="table-wrap">
                            <table class="members keys">
                                <thead><tr><th>"Name"</th><th>"Key"</th><th>"Scopes"</th><th>"Made by"</th><th>"Expires"</th><th>"Last used"</th><th></th></tr></thead>
                                <tbody>
                                    {keys.into_iter().map(|key| {
                                        let label = format!("Revoke the key {}", key.name);
                                        let (row_id, form_id) = (key.id.clone(), key.id.clone());
                                        view! {
                                            <tr data-key-id=row_id>
                                                <td>{key.name.clone()}</td>
                                                <td><code>{format!("{}…", key.prefix)}</code></td>
                                                <td class="permissions">{key.scopes.clone()}</td>
                                                <td>{key.created_by.clone()} <br/><span class="muted">{key.created_at.clone()}</span></td>
                                                <td>{key.expires_at.clone().unwrap_or_else(|| "never".into())}</td>
                                                <td>{key.last_used.clone().unwrap_or_else(|| "never".into())}</td>
                                                <td class="actions">
                                                    {if key.revoked {
                                                        view! { <span class="muted">"revoked"</span> }.into_any()
                                                    } else {
                                                        view! {
                                                            <ActionForm action=revoke attr:class="inline">
                                                                <input type="hidden" name="id" value=form_id.clone()/>
                                                                <button type="submit" class="link danger" aria-label=label>"Revoke"</button>
                                                            </ActionForm>
                                                        }.into_any()
                                                    }}
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
        </main>
    }
    .into_any()
}

/// The key just made, with a warning and a copy button.
#[component]
fn ShowOnce(made: NewKey) -> impl IntoView {
    let copied = RwSignal::new(false);
    let key = made.key.clone();
    // The clipboard is the browser's; without JavaScript the key is selectable text.
    let copy = move |_| {
        #[cfg(feature = "hydrate")]
        if let Some(window) = web_sys::window() {
            let _ = window.navigator().clipboard().write_text(&key);
            copied.set(true);
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = &key;
    };
    view! {
        <div class="banner ok new-key" role="status">
            <p><strong>"Key “" {made.name.clone()} "” created."</strong> " Copy it now: it is shown only this once and cannot be recovered."</p>
            <div class="row">
                <label for="new-api-key" class="visually-hidden">"The new API key"</label>
                <input id="new-api-key" type="text" readonly=true value=made.key.clone()/>
                <button type="button" class="small" on:click=copy>{move || if copied.get() { "Copied" } else { "Copy" }}</button>
            </div>
        </div>
    }
}
