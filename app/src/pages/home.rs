use leptos::{form::ActionForm, prelude::*};
use leptos_meta::Title;
use leptos_router::components::Redirect;

use super::layout::Header;
use crate::server_fns::{home, HomeView, LogOut};

/// The signed-in home: the tenant and its members with their roles.
#[component]
pub fn Home() -> impl IntoView {
    let data = Resource::new_blocking(|| (), |_| home());
    view! {
        <Suspense fallback=|| view! { <main><p>"Loading…"</p></main> }>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(Some(view)) => view! { <Dashboard view/> }.into_any(),
                    Ok(None) => view! { <Redirect path="/login"/> }.into_any(),
                    Err(error) => view! {
                        <main class="narrow"><div class="banner error" role="alert">{error.message}</div></main>
                    }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn Dashboard(view: HomeView) -> impl IntoView {
    let title = view.tenant_name.clone().unwrap_or_else(|| "Platform".to_owned());
    let members = view.members.clone();
    view! {
        <Title text=title.clone()/>
        <Header email=view.email.clone() tenant=view.tenant_name.clone() is_admin=view.roles.iter().any(|r| r == "ADMIN")/>
        <main>
            <h1>{title}</h1>
            {view.tenant_slug.clone().map(|slug| view! { <p class="muted">"Workspace handle: " <code>{slug}</code></p> })}
            <p>"Your roles: " {if view.roles.is_empty() { "none (read-only)".to_owned() } else { view.roles.join(", ") }}</p>
            <h2>"People " <span class="count">{view.member_count}</span></h2>
            <table class="members">
                <thead><tr><th>"E-mail"</th><th>"Name"</th><th>"Roles"</th></tr></thead>
                <tbody>
                    {members.into_iter().map(|m| view! {
                        <tr data-user-id=m.id>
                            <td>{m.email}</td>
                            <td>{m.name}</td>
                            <td>{if m.roles.is_empty() { "—".to_owned() } else { m.roles.join(", ") }}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
        </main>
    }
}

/// `/logout`: a button, because signing out changes state and must be a POST.
#[component]
pub fn Logout() -> impl IntoView {
    let action = ServerAction::<LogOut>::new();
    view! {
        <Title text="Sign out"/>
        <main class="narrow">
            <h1>"Sign out"</h1>
            <ActionForm action=action>
                <button type="submit">"Sign out"</button>
            </ActionForm>
            <p><a href="/">"Back to your home page"</a></p>
        </main>
    }
}
