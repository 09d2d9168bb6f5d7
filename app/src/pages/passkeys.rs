//! Passkeys in the pages. WebAuthn is a browser API, so these are the one part of the pages
//! that needs JavaScript: `public/passkeys.js` runs each ceremony against the server functions
//! below and says so where it cannot run. The server functions call the same service methods
//! as the JSON API (`/api/me/passkeys/…`, `/api/auth/passkey/…`).
//!
//! Options travel as JSON text (`{"ceremony", "publicKey"}`), the browser's credential back as
//! JSON text too; forms post them url-encoded like every other server function.

use leptos::prelude::*;

use crate::error::AppError;

/// The markup the script looks for: a button (`data-passkey` = `register`, `sign-in` or
/// `second-factor`) inside a box that also holds the place for its error message.
#[component]
pub fn PasskeyButton(action: &'static str, label: &'static str, #[prop(optional)] rp_id: Option<String>, #[prop(optional)] children: Option<Children>) -> impl IntoView {
    view! {
        <div class="passkey-box stack" data-passkey-box="" data-rp-id=rp_id>
            {children.map(|c| c())}
            <button type="button" class="secondary" data-passkey=action>{label}</button>
            <p class="hint needs-js">"Passkeys need JavaScript, which is off in this browser."</p>
            <p class="error" role="alert" data-passkey-error=""></p>
        </div>
    }
}

#[cfg(feature = "ssr")]
fn options_text(challenge: tenantry::service::PasskeyChallenge) -> Result<String, AppError> {
    let mut options = challenge.options;
    if let Some(object) = options.as_object_mut() {
        object.insert("ceremony".into(), serde_json::Value::String(challenge.ceremony));
    }
    Ok(options.to_string())
}

/// Options to register a passkey for whoever is signed in.
#[server(prefix = "/fn", endpoint = "passkey-register-options")]
pub async fn passkey_register_options() -> Result<String, AppError> {
    crate::server_fns::context::serve(|call| async move {
        let actor = call.signed_in().await?;
        options_text(call.services.start_passkey_registration(&actor).await?)
    })
    .await
}

#[server(prefix = "/fn", endpoint = "passkey-register")]
pub async fn passkey_register(ceremony: String, name: String, credential: String) -> Result<(), AppError> {
    crate::server_fns::context::serve(|call| async move {
        use tenantry::service::Raw;
        let actor = call.signed_in().await?;
        call.services.finish_passkey_registration(&actor, Raw::text(ceremony), Raw::text(name), Raw::text(credential), &call.meta).await?;
        Ok(())
    })
    .await
}

/// The security page's "Remove" form (a plain form: works without JavaScript).
#[server(prefix = "/fn", endpoint = "remove-passkey")]
pub async fn remove_passkey_form(id: String, password: String) -> Result<(), AppError> {
    crate::server_fns::context::serve(|call| async move {
        use tenantry::service::Raw;
        let actor = call.signed_in().await?;
        call.services.remove_passkey(&actor, &id, Raw::text(password), &call.meta).await?;
        Ok(())
    })
    .await
}

#[server(prefix = "/fn", endpoint = "passkey-sign-in-options")]
pub async fn passkey_sign_in_options() -> Result<String, AppError> {
    crate::server_fns::context::serve(|call| async move { options_text(call.services.start_passkey_sign_in(&call.meta).await?) }).await
}

/// Signs this browser in with a passkey; answers where to go next.
#[server(prefix = "/fn", endpoint = "passkey-sign-in")]
pub async fn passkey_sign_in(ceremony: String, credential: String) -> Result<String, AppError> {
    crate::server_fns::context::serve(|call| async move {
        use tenantry::service::Raw;
        let (profile, _) = call.services.passkey_sign_in(Raw::text(ceremony), Raw::text(credential), call.host, &call.meta, false).await?;
        crate::ssr::start_session(&call.session, &profile.user, profile.tenant_id).await.map_err(crate::server_fns::context::session_error)?;
        Ok("/".to_owned())
    })
    .await
}

/// Options for the second step of the sign-in waiting in this browser.
#[server(prefix = "/fn", endpoint = "passkey-mfa-options")]
pub async fn passkey_mfa_options() -> Result<String, AppError> {
    crate::server_fns::context::serve(|call| async move {
        use tenantry::service::Raw;
        let token = super::login::pending_mfa_token(&call.session).await?;
        let options = call.services.passkey_second_factor_options(Raw::text(token), &call.meta).await?;
        Ok(options.to_string())
    })
    .await
}

/// Answers the second step with a passkey; answers where to go next.
#[server(prefix = "/fn", endpoint = "passkey-mfa")]
pub async fn passkey_mfa(credential: String) -> Result<String, AppError> {
    crate::server_fns::context::serve(|call| async move {
        use tenantry::service::Raw;
        let token = super::login::pending_mfa_token(&call.session).await?;
        let done = call.services.complete_sign_in_with_passkey(Raw::text(token), Raw::text(credential), &call.meta, false).await;
        super::login::finish_second_step(&call, done).await?;
        Ok("/".to_owned())
    })
    .await
}
