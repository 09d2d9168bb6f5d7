use leptos::{form::ActionForm, prelude::*};
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use super::form::{last_error, Field, FormError};
use crate::server_fns::{mfa_pending, LogIn, LogInMfa};

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

/// `/login/mfa`: the second step of a sign-in, after a right password, for an account with
/// two-factor sign-in on. The pending step lives in the browser session.
#[component]
pub fn LoginMfa() -> impl IntoView {
    let action = ServerAction::<LogInMfa>::new();
    let error = last_error(action.value());
    let pending = Resource::new_blocking(|| (), |_| mfa_pending());
    view! {
        <Title text="Two-factor sign-in"/>
        <main class="narrow">
            <h1>"Two-factor sign-in"</h1>
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match pending.await {
                        Ok(true) => view! {
                            <p class="lead">"Enter the 6-digit code from your authenticator app."</p>
                            <ActionForm action=action attr:class="stack" attr:novalidate=true>
                                <FormError error/>
                                <Field name="code" label="Code" autocomplete="one-time-code" error/>
                                <details>
                                    <summary>"Lost your device? Use a recovery code"</summary>
                                    <Field name="recovery_code" label="Recovery code" autocomplete="off" error/>
                                </details>
                                <button type="submit" disabled=move || action.pending().get()>"Verify"</button>
                            </ActionForm>
                            <p><a href="/login">"Start again"</a></p>
                        }.into_any(),
                        _ => view! {
                            <p>"There is no sign-in waiting for a code in this browser (it lasts five minutes). "
                               <a href="/login">"Sign in"</a> "."</p>
                        }.into_any(),
                    }
                })}
            </Suspense>
        </main>
    }
}
