use leptos::{form::ActionForm, prelude::*};
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use super::form::{last_error, Field, FormError};
use crate::server_fns::LogIn;

#[component]
pub fn Login() -> impl IntoView {
    let action = ServerAction::<LogIn>::new();
    let query = use_query_map();
    let error = last_error(action.value());
    // On an organisation's own address the page is theirs: its name, logo and colour.
    let brand = Resource::new(|| (), |_| super::layout::current_brand());
    view! {
        <Title text="Sign in"/>
        <main class="narrow">
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    brand.await.ok().flatten().map(|b| view! { <p class="sign-in-brand"><super::layout::Brand brand=b/></p> })
                })}
            </Suspense>
            <h1>"Sign in"</h1>
            {move || query.read().get("reset").map(|_| view! {
                <div class="banner ok" role="status">"Your password was changed. Sign in with the new one."</div>
            })}
            <ActionForm action=action attr:class="stack" attr:novalidate=true>
                <FormError error/>
                <Field name="email" label="E-mail" kind="email" autocomplete="username" required=true error/>
                <Field name="password" label="Password" kind="password" autocomplete="current-password" required=true error/>
                <button type="submit" disabled=move || action.pending().get()>"Sign in"</button>
            </ActionForm>
            <p><a href="/password-reset">"Forgot your password?"</a></p>
            <p>"New here? " <a href="/signup">"Create an organisation"</a></p>
        </main>
    }
}
