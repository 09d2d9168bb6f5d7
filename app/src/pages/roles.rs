//! `/roles`: the built-in roles and the tenant's own, with what each grants. Members see them;
//! holders of `roles:write` create, edit (`/roles?edit=<id>`) and delete them. Every form is a
//! plain form post, so all of it works without JavaScript.

use leptos::{form::ActionForm, prelude::*};
use leptos_meta::Title;
use leptos_router::{components::Redirect, hooks::use_query_map};
use serde::{Deserialize, Serialize};

use super::{
    form::{last_error, FormError},
    layout::Header,
};
use crate::error::AppError;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RolesView {
    pub email: String,
    pub tenant_name: Option<String>,
    /// Holds `roles:write`.
    pub can_manage: bool,
    pub is_superuser: bool,
    pub roles: Vec<RoleRow>,
    /// The catalogue, in order, with whether the caller holds each (only held ones can be
    /// granted).
    pub catalogue: Vec<PermissionChoice>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoleRow {
    pub id: Option<String>,
    pub name: String,
    pub description: String,
    pub permissions: Vec<String>,
    /// Each catalogue permission the role's grants cover.
    pub covers: Vec<String>,
    pub built_in: bool,
    pub member_count: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PermissionChoice {
    pub name: String,
    pub resource: String,
    pub description: String,
    pub held: bool,
}

#[server(prefix = "/fn", endpoint = "roles-page")]
pub async fn roles_page() -> Result<Option<RolesView>, AppError> {
    use tenantry::domain::{covered, Permission};
    crate::server_fns::context::serve(|call| async move {
        let Some(actor) = call.actor().await? else { return Ok(None) };
        let tenant = call.services.current_tenant(&actor).await?;
        let held = actor.permissions();
        let roles = match actor.tenant_id {
            Some(_) => call.services.list_roles(&actor).await?,
            None => Vec::new(),
        };
        let roles = roles
            .into_iter()
            .map(|r| RoleRow {
                id: r.id.map(|id| id.to_string()),
                covers: covered(&r.permissions).iter().map(|p| p.as_str().to_owned()).collect(),
                permissions: r.permissions.iter().map(|g| g.to_text()).collect(),
                name: r.name,
                description: r.description,
                built_in: r.built_in,
                member_count: r.member_count,
            })
            .collect();
        let catalogue = Permission::ALL
            .iter()
            .map(|p| PermissionChoice { name: p.as_str().to_owned(), resource: p.resource().to_owned(), description: p.description().to_owned(), held: held.contains(p) })
            .collect();
        Ok(Some(RolesView {
            email: actor.email.clone(),
            tenant_name: tenant.map(|t| t.name),
            can_manage: actor.can(Permission::RolesWrite),
            is_superuser: actor.is_superuser,
            roles,
            catalogue,
        }))
    })
    .await
}

#[cfg(feature = "ssr")]
fn role_input(name: String, description: Option<String>, permissions: Option<Vec<String>>) -> tenantry::service::RoleInput {
    use tenantry::service::{Raw, RawList};
    tenantry::service::RoleInput {
        name: Raw::text(name),
        description: Raw::from_form(description),
        permissions: RawList::Items(permissions.unwrap_or_default()),
    }
}

/// Creates a role; the new role's name comes back.
#[server(prefix = "/fn", endpoint = "create-role")]
pub async fn create_role(name: String, description: Option<String>, permissions: Option<Vec<String>>) -> Result<String, AppError> {
    crate::server_fns::context::serve(|call| async move {
            let actor = call.signed_in().await?;
            let echo = [("name", name.clone()), ("description", description.clone().unwrap_or_default())];
            let role = call
                .services
                .create_role(&actor, role_input(name, description, permissions), &call.meta)
                .await
                .map_err(|e| AppError::from(e).with_values(echo.iter().map(|(k, v)| (*k, v.as_str()))))?;
            Ok(role.name)
        })
        .await
}

#[server(prefix = "/fn", endpoint = "update-role")]
pub async fn update_role(id: String, name: String, description: Option<String>, permissions: Option<Vec<String>>) -> Result<String, AppError> {
    crate::server_fns::context::serve(|call| async move {
            let actor = call.signed_in().await?;
            let role = call.services.update_role(&actor, &id, role_input(name, description, permissions), &call.meta).await?;
            leptos_axum::redirect("/roles");
            Ok(role.name)
        })
        .await
}

#[server(prefix = "/fn", endpoint = "delete-role")]
pub async fn delete_role(id: String, reassign_to: Option<String>) -> Result<(), AppError> {
    crate::server_fns::context::serve(|call| async move {
            let actor = call.signed_in().await?;
            let target = tenantry::service::Raw::from_form(reassign_to.filter(|r| !r.trim().is_empty()));
            call.services.delete_role(&actor, &id, target, &call.meta).await?;
            Ok(())
        })
        .await
}

#[component]
pub fn Roles() -> impl IntoView {
    let create = ServerAction::<CreateRole>::new();
    let update = ServerAction::<UpdateRole>::new();
    let remove = ServerAction::<DeleteRole>::new();
    let data = Resource::new_blocking(move || (create.version().get(), update.version().get(), remove.version().get()), |_| roles_page());
    view! {
        <Title text="Roles"/>
        <Suspense fallback=|| view! { <main><p>"Loading…"</p></main> }>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(Some(view)) => view! { <Page view create update remove/> }.into_any(),
                    Ok(None) => view! { <Redirect path="/login"/> }.into_any(),
                    Err(error) => view! { <main class="narrow"><div class="banner error" role="alert">{error.message}</div></main> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn Page(view: RolesView, create: ServerAction<CreateRole>, update: ServerAction<UpdateRole>, remove: ServerAction<DeleteRole>) -> impl IntoView {
    let query = use_query_map();
    let editing = move || query.read().get("edit");
    let row_error = Signal::derive(move || remove.value().get().and_then(Result::err));
    let can_manage = view.can_manage;
    let header = view! { <Header email=view.email.clone() tenant=view.tenant_name.clone() is_admin=can_manage is_superuser=view.is_superuser/> };
    let names: Vec<String> = view.roles.iter().map(|r| r.name.clone()).collect();
    let rows = view.roles.clone();
    let catalogue = view.catalogue.clone();
    let roles_for_edit = view.roles.clone();
    view! {
        {header}
        <main>
            <h1>"Roles"</h1>
            <p class="muted">"Every member may read the organisation, its members and their roles; a role adds what it lists."</p>
            {move || row_error.get().map(|e| view! { <div class="banner error" role="alert">{e.message}</div> })}
            <div class="table-wrap">
                <table class="members roles">
                    <thead><tr><th>"Role"</th><th>"Permissions"</th><th>"Members"</th>{can_manage.then(|| view! { <th>"Manage"</th> })}</tr></thead>
                    <tbody>
                        {rows.into_iter().map(|role| view! { <RoleLine role can_manage names=names.clone() remove/> }).collect_view()}
                    </tbody>
                </table>
            </div>
            {can_manage.then(move || {
                let catalogue = catalogue.clone();
                let roles_for_edit = roles_for_edit.clone();
                move || {
                    let target = editing().and_then(|id| roles_for_edit.iter().find(|r| r.id.as_deref() == Some(id.as_str())).cloned());
                    match target {
                        Some(role) => view! { <EditRole role catalogue=catalogue.clone() update/> }.into_any(),
                        None => view! { <NewRole catalogue=catalogue.clone() create/> }.into_any(),
                    }
                }
            })}
        </main>
    }
    .into_any()
}

#[component]
fn RoleLine(role: RoleRow, can_manage: bool, names: Vec<String>, remove: ServerAction<DeleteRole>) -> impl IntoView {
    let permissions = if role.permissions.is_empty() { "— (the member baseline only)".to_owned() } else { role.permissions.join(", ") };
    let name = role.name.clone();
    let manage = can_manage.then(|| match (role.id.clone(), role.built_in) {
        (Some(id), false) => {
            let others: Vec<String> = names.iter().filter(|n| **n != name).cloned().collect();
            let select_id = format!("reassign-{id}");
            let delete_label = format!("Delete the role {name}");
            let move_label = format!("Move the members of {name} to");
            let edit_href = format!("/roles?edit={id}");
            view! {
                <td class="actions">
                    <a href=edit_href class="small">"Edit"</a>
                    <ActionForm action=remove attr:class="inline">
                        <input type="hidden" name="id" value=id.clone()/>
                        <label for=select_id.clone() class="visually-hidden">{move_label}</label>
                        <select id=select_id name="reassign_to">
                            <option value="">"(members: none)"</option>
                            {others.into_iter().map(|n| { let text = format!("move members to {n}"); view! { <option value=n>{text}</option> } }).collect_view()}
                        </select>
                        <button type="submit" class="link danger" aria-label=delete_label>"Delete"</button>
                    </ActionForm>
                </td>
            }
            .into_any()
        }
        _ => view! { <td class="muted">"built-in"</td> }.into_any(),
    });
    view! {
        <tr data-role=role.name.clone()>
            <td><strong>{role.name.clone()}</strong><br/><span class="muted">{role.description.clone()}</span></td>
            <td class="permissions">{permissions}</td>
            <td>{role.member_count}</td>
            {manage}
        </tr>
    }
}

/// The permission checkboxes, grouped by resource; only held permissions can be ticked.
#[component]
fn PermissionBoxes(catalogue: Vec<PermissionChoice>, checked: Vec<String>) -> impl IntoView {
    let mut groups: Vec<(String, Vec<PermissionChoice>)> = Vec::new();
    for choice in catalogue {
        match groups.iter_mut().find(|(resource, _)| *resource == choice.resource) {
            Some((_, items)) => items.push(choice),
            None => groups.push((choice.resource.clone(), vec![choice])),
        }
    }
    view! {
        <div class="permission-groups">
            {groups.into_iter().map(|(resource, items)| view! {
                <fieldset class="permission-group">
                    <legend>{resource}</legend>
                    {items.into_iter().map(|item| {
                        let id = format!("perm-{}", item.name.replace(':', "-"));
                        let is_checked = checked.contains(&item.name);
                        view! {
                            <div class="check">
                                <input type="checkbox" id=id.clone() name="permissions[]" value=item.name.clone() checked=is_checked disabled=!item.held/>
                                <label for=id title=item.description.clone()>{item.name.clone()}</label>
                            </div>
                        }
                    }).collect_view()}
                </fieldset>
            }).collect_view()}
        </div>
    }
}

#[component]
fn NewRole(catalogue: Vec<PermissionChoice>, create: ServerAction<CreateRole>) -> impl IntoView {
    let error = last_error(create.value());
    let created = move || create.value().get().and_then(Result::ok);
    view! {
        <section>
            <h2>"New role"</h2>
            {move || created().map(|name| view! { <div class="banner ok" role="status">"Role " {name} " created."</div> })}
            <ActionForm action=create attr:class="stack" attr:novalidate=true>
                <FormError error/>
                <RoleFields name=String::new() description=String::new() error/>
                <PermissionBoxes catalogue checked=Vec::new()/>
                <p class="error" role="alert">{move || error.get().and_then(|e| e.field("permissions"))}</p>
                <button type="submit" disabled=move || create.pending().get()>"Create role"</button>
            </ActionForm>
        </section>
    }
}

#[component]
fn EditRole(role: RoleRow, catalogue: Vec<PermissionChoice>, update: ServerAction<UpdateRole>) -> impl IntoView {
    let error = last_error(update.value());
    view! {
        <section>
            <h2>"Edit " {role.name.clone()}</h2>
            <ActionForm action=update attr:class="stack" attr:novalidate=true>
                <FormError error/>
                <input type="hidden" name="id" value=role.id.clone().unwrap_or_default()/>
                <RoleFields name=role.name.clone() description=role.description.clone() error/>
                <PermissionBoxes catalogue checked=role.covers.clone()/>
                <p class="error" role="alert">{move || error.get().and_then(|e| e.field("permissions"))}</p>
                <div class="row">
                    <button type="submit" disabled=move || update.pending().get()>"Save role"</button>
                    <a href="/roles">"Cancel"</a>
                </div>
            </ActionForm>
        </section>
    }
}

/// Name and description, with their errors; typed values come back after a failed post.
#[component]
fn RoleFields(name: String, description: String, error: Signal<Option<AppError>>) -> impl IntoView {
    let name_value = {
        let name = name.clone();
        move || error.get().and_then(|e| e.value("name")).unwrap_or_else(|| name.clone())
    };
    let description_value = move || error.get().and_then(|e| e.value("description")).unwrap_or_else(|| description.clone());
    let name_error = move || error.get().and_then(|e| e.field("name"));
    let description_error = move || error.get().and_then(|e| e.field("description"));
    view! {
        <div class="row">
            <div class="field" class:invalid=move || name_error().is_some()>
                <label for="field-name">"Name"</label>
                <input id="field-name" name="name" type="text" required=true value=name_value
                    aria-invalid=move || name_error().is_some().then_some("true") aria-describedby="field-name-error"/>
                <p class="hint">"2–50 letters, digits, _ or -"</p>
                <p class="error" id="field-name-error" role="alert">{name_error}</p>
            </div>
            <div class="field" class:invalid=move || description_error().is_some()>
                <label for="field-description">"Description"</label>
                <input id="field-description" name="description" type="text" value=description_value
                    aria-invalid=move || description_error().is_some().then_some("true") aria-describedby="field-description-error"/>
                <p class="error" id="field-description-error" role="alert">{description_error}</p>
            </div>
        </div>
    }
}
