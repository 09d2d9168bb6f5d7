use leptos::{form::ActionForm, prelude::*};

use crate::server_fns::{LogOut, SwitchTenant, TenantChoice};

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
            {match switcher {
                Some(switcher) => switcher.into_any(),
                None => view! { <span class="tenant">{tenant}</span> }.into_any(),
            }}
            <nav>
                <a href="/">"People"</a>
                <a href="/roles">"Roles"</a>
                {is_admin.then(|| view! { <a href="/invitations">"Invitations"</a> <a href="/import">"Import"</a> <a href="/api-keys">"API keys"</a> <a href="/audit">"Audit log"</a> })}
                {is_superuser.then(|| view! { <a href="/platform">"Platform"</a> })}
            </nav>
            <span class="who">{email}</span>
            <ActionForm action=log_out attr:class="inline">
                <button type="submit" class="link">"Sign out"</button>
            </ActionForm>
        </header>
    }
    .into_any()
}
