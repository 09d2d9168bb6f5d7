use leptos::{form::ActionForm, prelude::*};
use leptos_meta::Title;
use leptos_router::{components::Redirect, hooks::use_query_map};

use super::layout::Header;
use crate::server_fns::{home, GrantRole, HomeView, LogOut, MemberView, RemoveMember, RevokeRole};

/// The signed-in home: the tenant and its members with their roles; admins manage them here.
#[component]
pub fn Home() -> impl IntoView {
    let grant = ServerAction::<GrantRole>::new();
    let revoke = ServerAction::<RevokeRole>::new();
    let remove = ServerAction::<RemoveMember>::new();
    // `?tenant=` changes after a switch in the header: a new source, so the data reloads.
    let query = use_query_map();
    let data = Resource::new_blocking(
        move || (grant.version().get(), revoke.version().get(), remove.version().get(), query.read().get("tenant")),
        |_| home(),
    );
    view! {
        <Suspense fallback=|| view! { <main><p>"Loading…"</p></main> }>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(Some(view)) => view! { <Dashboard view grant revoke remove/> }.into_any(),
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
fn Dashboard(view: HomeView, grant: ServerAction<GrantRole>, revoke: ServerAction<RevokeRole>, remove: ServerAction<RemoveMember>) -> impl IntoView {
    let title = view.tenant_name.clone().unwrap_or_else(|| "Platform".to_owned());
    let is_admin = view.is_admin;
    let members = view.members.clone();
    // The last failure of any member action, shown above the table.
    let failure = Signal::derive(move || {
        grant.value().get().and_then(Result::err)
            .or_else(|| revoke.value().get().and_then(Result::err))
            .or_else(|| remove.value().get().and_then(Result::err))
    });
    view! {
        <Title text=title.clone()/>
        <Header email=view.email.clone() tenant=view.tenant_name.clone() is_admin=view.is_admin is_superuser=view.is_superuser tenants=view.tenants.clone()/>
        <main>
            <h1>{title}</h1>
            {view.tenant_slug.clone().map(|slug| view! { <p class="muted">"Workspace handle: " <code>{slug}</code></p> })}
            <p>"Your roles: " {if view.roles.is_empty() { "none (read-only)".to_owned() } else { view.roles.join(", ") }}</p>
            <h2>"People " <span class="count">{view.member_count}</span></h2>
            {move || failure.get().map(|e| view! { <div class="banner error" role="alert">{e.message}</div> })}
            <table class="members">
                <thead><tr><th>"E-mail"</th><th>"Name"</th><th>"Roles"</th>{is_admin.then(|| view! { <th>"Manage"</th> })}</tr></thead>
                <tbody>
                    {members.into_iter().map(|m| view! { <MemberRow member=m is_admin role_names=view.role_names.clone() grant revoke remove/> }).collect_view()}
                </tbody>
            </table>
        </main>
    }
    .into_any()
}

#[component]
fn MemberRow(member: MemberView, is_admin: bool, role_names: Vec<String>, grant: ServerAction<GrantRole>, revoke: ServerAction<RevokeRole>, remove: ServerAction<RemoveMember>) -> impl IntoView {
    let email = member.email.clone();
    let roles = member.roles.clone();
    let held: Vec<String> = roles.clone();
    let member_id = member.id.clone();
    let roles_cell = if roles.is_empty() {
        view! { <span class="muted">"—"</span> }.into_any()
    } else if is_admin {
        roles
            .into_iter()
            .map(|role| {
                let label = format!("Revoke {role} from {email}");
                let (user, held_role) = (member_id.clone(), role.clone());
                view! {
                    <ActionForm action=revoke attr:class="inline chip">
                        <input type="hidden" name="user" value=user/>
                        <input type="hidden" name="role" value=held_role/>
                        {role.clone()}
                        <button type="submit" class="link danger" aria-label=label title="Revoke">"×"</button>
                    </ActionForm>
                }
            })
            .collect_view()
            .into_any()
    } else {
        view! { <span>{held.join(", ")}</span> }.into_any()
    };
    let manage = is_admin.then(|| {
        let options: Vec<String> = role_names.into_iter().filter(|r| !held.iter().any(|h| h == r)).collect();
        let grant_label = format!("Role to grant to {}", member.email);
        let remove_label = format!("Remove {} from this organisation", member.email);
        let (user_for_grant, user_for_remove) = (member.id.clone(), member.id.clone());
        view! {
            <td class="actions">
                {(!options.is_empty()).then(|| view! {
                    <ActionForm action=grant attr:class="inline">
                        <input type="hidden" name="user" value=user_for_grant/>
                        <select name="role" aria-label=grant_label>
                            {options.into_iter().map(|r| { let value = r.clone(); view! { <option value=value>{r}</option> } }).collect_view()}
                        </select>
                        <button type="submit" class="small">"Grant"</button>
                    </ActionForm>
                })}
                {(!member.is_self).then(|| view! {
                    <ActionForm action=remove attr:class="inline">
                        <input type="hidden" name="user" value=user_for_remove/>
                        <button type="submit" class="link danger" aria-label=remove_label>"Remove"</button>
                    </ActionForm>
                })}
            </td>
        }
    });
    view! {
        <tr data-user-id=member.id.clone()>
            <td>{member.email.clone()}</td>
            <td>{member.name.clone()}</td>
            <td class="roles">{roles_cell}</td>
            {manage}
        </tr>
    }
    .into_any()
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
