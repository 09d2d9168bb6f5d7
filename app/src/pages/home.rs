use leptos::{form::ActionForm, prelude::*};
use leptos_meta::Title;
use leptos_router::{components::Redirect, hooks::use_query_map};

use super::layout::Header;
use serde::{Deserialize, Serialize};

use super::layout::{LogOut, TenantChoice};
use crate::error::AppError;

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

/// What the signed-in home page shows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HomeView {
    pub tenant_name: Option<String>,
    pub tenant_slug: Option<String>,
    pub email: String,
    pub roles: Vec<String>,
    pub is_admin: bool,
    pub is_superuser: bool,
    /// The caller's tenants, for the switcher in the header.
    pub tenants: Vec<TenantChoice>,
    pub members: Vec<MemberView>,
    pub member_count: i64,
    /// Every role of the tenant (built-in and its own), for the grant menus.
    pub role_names: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MemberView {
    pub id: String,
    pub email: String,
    pub name: String,
    pub roles: Vec<String>,
    pub is_self: bool,
}

/// The home page's data, or `None` when nobody is signed in.
#[server(name = HomeData, prefix = "/fn", endpoint = "home")]
pub async fn home() -> Result<Option<HomeView>, AppError> {
    use tenantry::store::PageRequest;
    crate::server_fns::context::serve(|call| async move {
        let Some(actor) = call.actor().await? else { return Ok(None) };
        let profile = call.services.me(&actor);
        let tenant = call.services.current_tenant(&actor).await?;
        // Each member comes with their roles (one query): no second list to join, so nobody's
        // roles go missing however many assignments the tenant has.
        let (members, member_count, role_names) = if actor.tenant_id.is_some() {
            let page = call.services.list_users(&actor, PageRequest::first()).await?;
            let members = page
                .items
                .iter()
                .map(|p| MemberView {
                    id: p.user.id.to_string(),
                    email: p.user.email.clone(),
                    name: format!("{} {}", p.user.first_name, p.user.last_name).trim().to_owned(),
                    roles: p.roles.iter().map(|r| r.as_str().to_owned()).collect(),
                    is_self: p.user.id == actor.user_id,
                })
                .collect();
            let role_names = call.services.list_roles(&actor).await?.into_iter().map(|r| r.name).collect();
            (members, page.count, role_names)
        } else {
            (Vec::new(), 0, Vec::new())
        };
        let tenants = call
            .services
            .my_tenants(&actor)
            .await?
            .into_iter()
            .map(|m| TenantChoice { id: m.tenant.id.to_string(), name: m.tenant.name, current: m.current })
            .collect();
        Ok(Some(HomeView {
            tenant_name: tenant.as_ref().map(|t| t.name.clone()),
            tenant_slug: tenant.as_ref().map(|t| t.slug.clone()),
            email: profile.user.email,
            roles: profile.roles.iter().map(|r| r.as_str().to_owned()).collect(),
            is_admin: actor.can(tenantry::domain::Permission::RolesWrite),
            is_superuser: actor.is_superuser,
            tenants,
            members,
            member_count,
            role_names,
        }))
    })
    .await
}

#[server(prefix = "/fn", endpoint = "grant-role")]
pub async fn grant_role(user: String, role: String) -> Result<(), AppError> {
    crate::server_fns::context::serve(|call| async move {
        use tenantry::service::{AssignRoleInput, Raw};
        let actor = call.signed_in().await?;
        call.services.assign_role(&actor, AssignRoleInput { user: Raw::text(user), role: Raw::text(role) }, &call.meta).await?;
        Ok(())
    })
    .await
}

#[server(prefix = "/fn", endpoint = "revoke-role")]
pub async fn revoke_role(user: String, role: String) -> Result<(), AppError> {
    crate::server_fns::context::serve(|call| async move {
        let actor = call.signed_in().await?;
        call.services.revoke_member_role(&actor, &user, &role, &call.meta).await?;
        Ok(())
    })
    .await
}

#[server(prefix = "/fn", endpoint = "remove-member")]
pub async fn remove_member(user: String) -> Result<(), AppError> {
    crate::server_fns::context::serve(|call| async move {
        let actor = call.signed_in().await?;
        let user = tenantry::domain::UserId::parse(&user).map_err(|_| AppError::from(tenantry::ServiceError::NotFound))?;
        let tenant = actor.tenant().map_err(AppError::from)?;
        call.services.remove_member(&actor, tenant, user, &call.meta).await?;
        Ok(())
    })
    .await
}
