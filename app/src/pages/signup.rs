use leptos::{form::ActionForm, prelude::*};
use leptos_meta::Title;

use super::form::{last_error, Field, FormError};
use crate::server_fns::SignUp as SignUpFn;

/// Open sign-up: a new organisation and its first admin.
#[component]
pub fn SignUp() -> impl IntoView {
    let action = ServerAction::<SignUpFn>::new();
    let error = last_error(action.value());
    view! {
        <Title text="Create your organisation"/>
        <main class="narrow">
            <h1>"Create your organisation"</h1>
            <p class="lead">"You will be its first administrator and can invite your team next."</p>
            <ActionForm action=action attr:class="stack" attr:novalidate=true>
                <FormError error/>
                <Field name="name" label="Organisation name" autocomplete="organization" required=true error/>
                <Field name="admin_email" label="Your work e-mail" kind="email" autocomplete="email" required=true error/>
                <Field name="admin_password" label="Password" kind="password" autocomplete="new-password" required=true
                    hint="At least 8 characters; not a common password." error/>
                <div class="row">
                    <Field name="first_name" label="First name (optional)" autocomplete="given-name" error/>
                    <Field name="last_name" label="Last name (optional)" autocomplete="family-name" error/>
                </div>
                <button type="submit" disabled=move || action.pending().get()>"Create organisation"</button>
            </ActionForm>
            <p>"Already have an account? " <a href="/login">"Sign in"</a></p>
        </main>
    }
}
