use leptos::{form::ActionForm, prelude::*};

use crate::server_fns::LogOut;

/// The bar at the top of signed-in pages.
#[component]
pub fn Header(email: String, tenant: Option<String>, #[prop(optional)] is_admin: bool) -> impl IntoView {
    let action = ServerAction::<LogOut>::new();
    view! {
        <header class="top">
            <a class="brand" href="/">"Tenantry"</a>
            <span class="tenant">{tenant}</span>
            <nav>
                <a href="/">"People"</a>
                {is_admin.then(|| view! { <a href="/invitations">"Invitations"</a> })}
            </nav>
            <span class="who">{email}</span>
            <ActionForm action=action attr:class="inline">
                <button type="submit" class="link">"Sign out"</button>
            </ActionForm>
        </header>
    }
}
