use leptos::{form::ActionForm, prelude::*};
use leptos_meta::Title;
use leptos_router::components::Redirect;

use super::layout::Header;
use crate::server_fns::{platform, PlatformView, SetSuspended};

/// `/platform`: every tenant, with suspend and reactivate, for platform superusers.
#[component]
pub fn Platform() -> impl IntoView {
    let action = ServerAction::<SetSuspended>::new();
    let data = Resource::new_blocking(move || action.version().get(), |_| platform());
    view! {
        <Title text="Platform"/>
        <Suspense fallback=|| view! { <main><p>"Loading…"</p></main> }>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(Some(view)) => view! { <Tenants view action/> }.into_any(),
                    Ok(None) => view! { <Redirect path="/login"/> }.into_any(),
                    Err(error) => view! { <main class="narrow"><div class="banner error" role="alert">{error.message}</div></main> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn Tenants(view: PlatformView, action: ServerAction<SetSuspended>) -> impl IntoView {
    let header = view! { <Header email=view.email.clone() tenant=None is_superuser=view.is_superuser/> };
    if !view.is_superuser {
        return view! { {header} <main><h1>"Platform"</h1><p>"Only platform administrators can see this page."</p></main> }.into_any();
    }
    let failure = move || action.value().get().and_then(Result::err);
    view! {
        {header}
        <main>
            <h1>"Tenants " <span class="count">{view.count}</span></h1>
            {move || failure().map(|e| view! { <div class="banner error" role="alert">{e.message}</div> })}
            <table class="members">
                <thead><tr><th>"Name"</th><th>"Handle"</th><th>"Status"</th><th>"Since"</th><th></th></tr></thead>
                <tbody>
                    {view.tenants.into_iter().map(|t| {
                        let suspended = t.status == "suspended";
                        let (verb, value) = if suspended { ("Reactivate", "false") } else { ("Suspend", "true") };
                        let label = format!("{verb} {}", t.name);
                        let id = t.id.clone();
                        view! {
                            <tr data-tenant-id=t.id.clone()>
                                <td>{t.name}</td>
                                <td><code>{t.slug}</code></td>
                                <td class:danger=suspended>{t.status}</td>
                                <td>{t.created_at}</td>
                                <td>
                                    <ActionForm action=action attr:class="inline">
                                        <input type="hidden" name="tenant_id" value=id/>
                                        <input type="hidden" name="suspend" value=value/>
                                        <button type="submit" class="small" aria-label=label>{verb}</button>
                                    </ActionForm>
                                </td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        </main>
    }
    .into_any()
}
