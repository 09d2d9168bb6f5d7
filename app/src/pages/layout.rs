use leptos::{form::ActionForm, prelude::*};
use serde::{Deserialize, Serialize};

use crate::error::AppError;

/// The bar at the top of signed-in pages: where you are, where you can go, the tenant
/// switcher (for people in several tenants) and signing out.
#[component]
pub fn Header(
    email: String,
    tenant: Option<String>,
    #[prop(optional)] is_admin: bool,
    #[prop(optional)] is_superuser: bool,
    #[prop(optional)] tenants: Vec<TenantChoice>,
) -> impl IntoView {
    let log_out = ServerAction::<LogOut>::new();
    let brand = Resource::new(|| (), |_| current_brand());
    let switch = ServerAction::<SwitchTenant>::new();
    let switcher = (tenants.len() > 1).then(|| {
        view! {
            <ActionForm action=switch attr:class="inline switcher">
                <label for="tenant-switcher" class="visually-hidden">"Organisation"</label>
                <select id="tenant-switcher" name="tenant_id">
                    {tenants.into_iter().map(|t| view! { <option value=t.id selected=t.current>{t.name}</option> }).collect_view()}
                </select>
                <button type="submit" class="small">"Switch"</button>
            </ActionForm>
        }
    });
    view! {
        <header class="top">
            <a class="brand" href="/">"Tenantry"</a>
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    brand.await.ok().flatten().filter(|b| b.company_name.is_some() || b.logo_url.is_some() || b.primary_color.is_some()).map(|b| view! { <Brand brand=b/> })
                })}
            </Suspense>
            {match switcher {
                Some(switcher) => switcher.into_any(),
                None => view! { <span class="tenant">{tenant}</span> }.into_any(),
            }}
            <nav>
                <a href="/">"People"</a>
                <a href="/roles">"Roles"</a>
                <a href="/usage">"Plan"</a>
                <a href="/security">"Security"</a>
                {is_admin.then(|| view! { <a href="/invitations">"Invitations"</a> <a href="/import">"Import"</a> <a href="/api-keys">"API keys"</a> <a href="/webhooks">"Webhooks"</a> <a href="/dashboard">"Dashboard"</a> <a href="/audit">"Audit log"</a> <a href="/settings">"Settings"</a> })}
                {is_superuser.then(|| view! { <a href="/platform">"Platform"</a> <a href="/platform/analytics">"Analytics"</a> })}
            </nav>
            <span class="who">{email}</span>
            <ActionForm action=log_out attr:class="inline">
                <button type="submit" class="link">"Sign out"</button>
            </ActionForm>
        </header>
    }
    .into_any()
}

/// An organisation's branding as pages show it (only with the `custom_branding` feature).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BrandView {
    pub tenant_name: String,
    pub company_name: Option<String>,
    pub logo_url: Option<String>,
    pub primary_color: Option<String>,
}

/// The branding of the organisation this request is in: the one whose own host it came to
/// (`acme.example.com`), else the signed-in person's current one.
#[server(prefix = "/fn", endpoint = "brand")]
pub async fn current_brand() -> Result<Option<BrandView>, crate::error::AppError> {
    crate::server_fns::context::serve(|call| async move {
        let tenant = match call.host {
            Some(id) => call.services.db().read().await.map_err(tenantry::ServiceError::from)?.tenant(id).await.map_err(tenantry::ServiceError::from)?,
            None => match call.actor().await? {
                Some(actor) => call.services.current_tenant(&actor).await?,
                None => None,
            },
        };
        let Some(tenant) = tenant else { return Ok(None) };
        let brand = call.services.branding_of(&tenant).await?;
        Ok(Some(BrandView {
            tenant_name: tenant.display_name.clone().unwrap_or_else(|| tenant.name.clone()),
            company_name: brand.as_ref().and_then(|b| b.company_name.clone()),
            logo_url: brand.as_ref().and_then(|b| b.logo_url.clone()),
            primary_color: brand.and_then(|b| b.primary_color),
        }))
    })
    .await
}

/// The organisation's logo, name and colour. The colour comes as `--brand` from
/// `/brand.css?color=rrggbb`, a style sheet of our own origin: the page's policy lets no inline
/// style through, and the colour was checked as `#rrggbb` when saved (and again there).
#[component]
pub fn Brand(brand: BrandView) -> impl IntoView {
    let name = brand.company_name.clone().unwrap_or_else(|| brand.tenant_name.clone());
    let sheet = brand.primary_color.clone().map(|c| format!("/brand.css?color={}", c.trim_start_matches('#')));
    view! {
        {sheet.map(|href| view! { <leptos_meta::Stylesheet id="brand" href=href/> })}
        <span class="brand-mark">
            {brand.logo_url.clone().map(|src| view! { <img class="brand-logo" src=src alt=""/> })}
            <span class="brand-name">{name}</span>
        </span>
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TenantChoice {
    pub id: String,
    pub name: String,
    pub current: bool,
}

#[server(prefix = "/fn", endpoint = "log-out")]
pub async fn log_out() -> Result<(), AppError> {
    crate::server_fns::context::serve(|call| async move {
        crate::ssr::end_session(&call.session).await.map_err(crate::server_fns::context::session_error)?;
        leptos_axum::redirect("/login");
        Ok(())
    })
    .await
}

/// The tenant switcher: the session moves to another of the caller's tenants.
#[server(prefix = "/fn", endpoint = "switch-tenant")]
pub async fn switch_tenant(tenant_id: String) -> Result<(), AppError> {
    crate::server_fns::context::serve(|call| async move {
        use tenantry::service::Raw;
        let actor = call.signed_in().await?;
        let profile = call.services.switch_tenant(&actor, Raw::text(tenant_id), &call.meta).await?;
        call.session
            .insert(crate::ssr::SESSION_TENANT, profile.tenant_id)
            .await
            .map_err(|e| crate::server_fns::context::session_error(e.into()))?;
        // A distinct URL, so a hydrated home page (already at "/") loads the new tenant's data.
        let tenant = profile.tenant_id.map(|t| t.to_string()).unwrap_or_default();
        leptos_axum::redirect(&format!("/?tenant={tenant}"));
        Ok(())
    })
    .await
}
