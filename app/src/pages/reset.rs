use leptos::{form::ActionForm, prelude::*};
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use super::form::{last_error, Field, FormError};
use crate::error::AppError;

/// `/password-reset`: ask for a link; `/password-reset?token=…`: choose a new password.
#[component]
pub fn PasswordReset() -> impl IntoView {
    let query = use_query_map();
    let token = move || query.read().get("token");
    let sent = move || query.read().get("sent").is_some();
    view! {
        <Title text="Reset your password"/>
        <main class="narrow">
            {move || match (token(), sent()) {
                (Some(token), _) => view! { <ChooseNewPassword token/> }.into_any(),
                (None, true) => view! {
                    <h1>"Check your e-mail"</h1>
                    <div class="banner ok" role="status">
                        "If an account exists for that address, we sent it a link to reset the password. The link works once, for an hour."
                    </div>
                    <p>"Nothing arrived? Check your spam folder, or " <a href="/password-reset">"ask again"</a> "."</p>
                }.into_any(),
                (None, false) => view! { <RequestLink/> }.into_any(),
            }}
        </main>
    }
}

#[component]
fn RequestLink() -> impl IntoView {
    let action = ServerAction::<RequestReset>::new();
    let error = last_error(action.value());
    view! {
        <h1>"Reset your password"</h1>
        <p class="lead">"Enter the e-mail address of your account and we will send you a link to choose a new password."</p>
        <ActionForm action=action attr:class="stack" attr:novalidate=true>
            <FormError error/>
            <Field name="email" label="E-mail" kind="email" autocomplete="email" required=true error/>
            <button type="submit" disabled=move || action.pending().get()>"Send reset link"</button>
        </ActionForm>
        <p><a href="/login">"Back to sign in"</a></p>
    }
}

#[component]
fn ChooseNewPassword(token: String) -> impl IntoView {
    let link = Resource::new_blocking({
        let token = token.clone();
        move || token.clone()
    }, reset_link);
    let action = ServerAction::<ConfirmReset>::new();
    let error = last_error(action.value());
    view! {
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || {
                let token = token.clone();
                Suspend::new(async move {
                    match link.await {
                        Ok(Some(email)) => view! {
                            <h1>"Choose a new password"</h1>
                            <p class="lead">"For " <strong>{email}</strong> ". You will be signed out everywhere else."</p>
                            <ActionForm action=action attr:class="stack" attr:novalidate=true>
                                <FormError error/>
                                <input type="hidden" name="token" value=token/>
                                <Field name="password" label="New password" kind="password" autocomplete="new-password" required=true
                                    hint="At least 8 characters; not a common password." error/>
                                <button type="submit" disabled=move || action.pending().get()>"Set new password"</button>
                            </ActionForm>
                        }.into_any(),
                        Ok(None) => view! {
                            <h1>"This reset link no longer works"</h1>
                            <p>"It was already used, has expired (links last an hour), or a newer link replaced it. "
                               <a href="/password-reset">"Ask for a new link"</a> "."</p>
                        }.into_any(),
                        Err(error) => view! { <div class="banner error" role="alert">{error.message}</div> }.into_any(),
                    }
                })
            }}
        </Suspense>
    }
}

#[server(prefix = "/fn", endpoint = "request-reset")]
pub async fn request_reset(email: String) -> Result<(), AppError> {
    use tenantry::service::Raw;
    crate::server_fns::context::serve(|call| async move {
        call.services
            .request_password_reset(Raw::text(email.clone()), &call.meta)
            .await
            .map_err(|e| AppError::from(e).with_values([("email", email.as_str())]))?;
        leptos_axum::redirect("/password-reset?sent=1");
        Ok(())
    })
    .await
}

/// Whether a reset link still works, and for which account.
#[server(prefix = "/fn", endpoint = "reset-link")]
pub async fn reset_link(token: String) -> Result<Option<String>, AppError> {
    use tenantry::service::ResetPreview;
    crate::server_fns::context::serve(|call| async move {
        Ok(match call.services.password_reset_preview(&token).await? {
            ResetPreview::Valid { email } => Some(email),
            ResetPreview::Invalid => None,
        })
    })
    .await
}

#[server(prefix = "/fn", endpoint = "confirm-reset")]
pub async fn confirm_reset(token: String, password: String) -> Result<(), AppError> {
    use tenantry::service::Raw;
    crate::server_fns::context::serve(|call| async move {
        call.services.confirm_password_reset(Raw::text(token), Raw::text(password), &call.meta).await?;
        // Any session in this browser belonged to the old password.
        crate::ssr::end_session(&call.session).await.map_err(crate::server_fns::context::session_error)?;
        leptos_axum::redirect("/login?reset=1");
        Ok(())
    })
    .await
}
