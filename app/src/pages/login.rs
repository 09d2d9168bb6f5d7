use leptos::{form::ActionForm, prelude::*};
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use super::form::{last_error, Field, FormError};
use crate::error::AppError;

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
            <super::passkeys::PasskeyButton action="sign-in" label="Use a passkey">
                <p>"Have a passkey? Sign in with it, no password needed."</p>
            </super::passkeys::PasskeyButton>
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
                        Ok(methods) if !methods.is_empty() => {
                            let totp = methods.iter().any(|m| m == "totp");
                            let passkey = methods.iter().any(|m| m == "webauthn");
                            view! {
                                {passkey.then(|| view! {
                                    <p class="lead">"Confirm with one of your passkeys."</p>
                                    <super::passkeys::PasskeyButton action="second-factor" label="Use a passkey"/>
                                })}
                                {totp.then(|| view! {
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
                                })}
                                <p><a href="/login">"Start again"</a></p>
                            }.into_any()
                        }
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

#[server(prefix = "/fn", endpoint = "log-in")]
pub async fn log_in(email: String, password: String) -> Result<(), AppError> {
    use tenantry::service::{LoginInput, Raw};
    crate::server_fns::context::serve(|call| async move {
        let input = LoginInput { email: Raw::text(email.clone()), password: Raw::text(password), tenant: call.host };
        let step = call
            .services
            .sign_in(input, &call.meta, false)
            .await
            .map_err(|e| AppError::from(e).with_values([("email", email.as_str())]))?;
        match step {
            tenantry::service::SignInStep::Done(profile, _) => {
                crate::ssr::start_session(&call.session, &profile.user, profile.tenant_id).await.map_err(crate::server_fns::context::session_error)?;
                leptos_axum::redirect("/");
            }
            // The code is owed: the token waits in this browser's session, never in a URL.
            tenantry::service::SignInStep::SecondFactor(pending) => {
                call.session.insert(crate::ssr::SESSION_MFA, pending.mfa_token).await.map_err(|e| crate::server_fns::context::session_error(e.into()))?;
                call.session.insert(SESSION_MFA_METHODS, pending.methods).await.map_err(|e| crate::server_fns::context::session_error(e.into()))?;
                leptos_axum::redirect("/login/mfa");
            }
        }
        Ok(())
    })
    .await
}

/// Which second factors the sign-in waiting in this browser accepts (the session keeps them
/// beside its token).
#[cfg(feature = "ssr")]
const SESSION_MFA_METHODS: &str = "mfa_methods";

/// The methods that can answer the sign-in waiting in this browser for its second step; none
/// when no sign-in is waiting.
#[server(prefix = "/fn", endpoint = "mfa-pending")]
pub async fn mfa_pending() -> Result<Vec<String>, AppError> {
    crate::server_fns::context::serve(|call| async move {
        let token: Option<String> = call.session.get(crate::ssr::SESSION_MFA).await.ok().flatten();
        if token.is_none() {
            return Ok(Vec::new());
        }
        let methods: Option<Vec<String>> = call.session.get(SESSION_MFA_METHODS).await.ok().flatten();
        Ok(methods.unwrap_or_else(|| vec!["totp".into(), "recovery_code".into()]))
    })
    .await
}

/// The `mfa_token` of the sign-in waiting in this browser: 401 when there is none.
#[cfg(feature = "ssr")]
pub(super) async fn pending_mfa_token(session: &tower_sessions::Session) -> Result<String, AppError> {
    let token: Option<String> = session.get(crate::ssr::SESSION_MFA).await.ok().flatten();
    token.ok_or_else(|| tenantry::ServiceError::unauthenticated("Sign in with your password first.").into())
}

/// Ends the second step of a browser sign-in: signed in, or, when the step cannot be tried
/// again (spent or expired), back to the password.
#[cfg(feature = "ssr")]
pub(super) async fn finish_second_step(
    call: &crate::server_fns::context::Call,
    done: tenantry::ServiceResult<(tenantry::service::Profile, Option<tenantry::service::TokenPair>)>,
) -> Result<(), AppError> {
    match done {
        Ok((profile, _)) => {
            crate::ssr::start_session(&call.session, &profile.user, profile.tenant_id).await.map_err(crate::server_fns::context::session_error)?;
            let _ = call.session.remove::<String>(crate::ssr::SESSION_MFA).await;
            let _ = call.session.remove::<Vec<String>>(SESSION_MFA_METHODS).await;
            Ok(())
        }
        Err(error) => {
            if matches!(error, tenantry::ServiceError::Unauthenticated(_)) {
                let _ = call.session.remove::<String>(crate::ssr::SESSION_MFA).await;
            }
            Err(error.into())
        }
    }
}

#[server(prefix = "/fn", endpoint = "log-in-mfa")]
pub async fn log_in_mfa(code: String, recovery_code: Option<String>) -> Result<(), AppError> {
    crate::server_fns::context::serve(|call| async move {
        use tenantry::service::Raw;
        let token = pending_mfa_token(&call.session).await?;
        let recovery = Raw::from_form(recovery_code.filter(|c| !c.trim().is_empty()));
        let code = if recovery.as_text().is_some() { Raw::Missing } else { Raw::text(code) };
        let done = call.services.complete_sign_in(Raw::text(token), code, recovery, &call.meta, false).await;
        finish_second_step(&call, done).await?;
        leptos_axum::redirect("/");
        Ok(())
    })
    .await
}
