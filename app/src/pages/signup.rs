use leptos::{form::ActionForm, prelude::*};
use leptos_meta::Title;

use super::form::{last_error, Field, FormError};
use crate::error::AppError;

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

#[server(name = SignUpFn, prefix = "/fn", endpoint = "sign-up")]
pub async fn sign_up(
    name: String,
    admin_email: String,
    admin_password: String,
    first_name: Option<String>,
    last_name: Option<String>,
) -> Result<(), AppError> {
    use tenantry::service::{Raw, SignUpInput};
    crate::server_fns::context::serve(|call| async move {
        let echo = [
            ("name", name.as_str()),
            ("admin_email", admin_email.as_str()),
            ("first_name", first_name.as_deref().unwrap_or("")),
            ("last_name", last_name.as_deref().unwrap_or("")),
        ];
        let input = SignUpInput {
            name: Raw::text(name.clone()),
            admin_email: Raw::text(admin_email.clone()),
            admin_password: Raw::text(admin_password),
            first_name: Raw::from_form(first_name.clone()),
            last_name: Raw::from_form(last_name.clone()),
        };
        let outcome = call.services.sign_up(input, &call.meta).await.map_err(|e| AppError::from(e).with_values(echo))?;
        crate::ssr::start_session(&call.session, &outcome.admin, Some(outcome.tenant.id))
            .await
            .map_err(crate::server_fns::context::session_error)?;
        leptos_axum::redirect("/");
        Ok(())
    })
    .await
}
