//! `/security`: everyone changes their own password here; administrators (`security:manage`)
//! also set the organisation's security policy. Plain forms: they work without JavaScript.

use leptos::{form::ActionForm, prelude::*};
use leptos_meta::Title;
use leptos_router::components::Redirect;
use serde::{Deserialize, Serialize};

use super::{
    form::{last_error, Field, FormError},
    layout::Header,
};
use crate::error::AppError;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SecurityView {
    /// The tenant requires a second factor and the caller has none: everything else waits.
    pub must_enrol: bool,
    pub email: String,
    pub tenant_name: Option<String>,
    pub is_admin: bool,
    pub is_superuser: bool,
    /// Whether the caller may change the policy (then `policy` is shown as a form).
    pub can_manage: bool,
    pub policy: Option<PolicyForm>,
    /// The caller's address as the server sees it (the network list must include it).
    pub your_address: Option<String>,
    pub two_factor: TwoFactorView,
    pub passkeys: PasskeysView,
}

/// The caller's passkeys.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PasskeysView {
    pub list: Vec<PasskeyItem>,
    /// The domain passkeys work on (`None`: passkeys are off on this server).
    pub domain: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PasskeyItem {
    pub id: String,
    pub name: String,
    pub added: String,
    pub last_used: Option<String>,
}

/// The caller's own second factor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TwoFactorView {
    pub on: bool,
    pub recovery_codes_left: i64,
    /// A set-up started and not yet confirmed: what to put in the app.
    pub setup: Option<TotpSetup>,
    /// Recovery codes made by the confirmation just now, shown this once.
    pub new_codes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TotpSetup {
    pub secret: String,
    pub otpauth_uri: String,
    /// The URI as a QR code, SVG drawn on the server (no script needed to see it).
    pub qr_svg: String,
}

/// Where a started set-up and freshly made recovery codes wait for the page (a plain form
/// post is answered with a redirect, which cannot carry them).
#[cfg(feature = "ssr")]
const TOTP_SETUP: &str = "tenantry.totp_setup";
#[cfg(feature = "ssr")]
const NEW_CODES: &str = "tenantry.recovery_codes";

/// The policy as the form shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PolicyForm {
    pub min_length: u32,
    pub require_uppercase: bool,
    pub require_lowercase: bool,
    pub require_numbers: bool,
    pub require_symbols: bool,
    pub password_history: u32,
    pub session_timeout_minutes: Option<u32>,
    pub allowed_ip_ranges: Vec<String>,
    pub require_2fa: bool,
}

#[server(prefix = "/fn", endpoint = "security-page")]
pub async fn security_page() -> Result<Option<SecurityView>, AppError> {
    use tenantry::domain::Permission;
    crate::server_fns::context::serve(|call| async move {
        let Some(actor) = call.actor().await? else { return Ok(None) };
        let tenant = call.services.current_tenant(&actor).await?;
        // This page is where a member whom `require_2fa` holds back sets up a factor: the policy
        // it cannot read yet is left out, the rest of the page works.
        let policy = match actor.tenant_id {
            Some(id) => match call.services.security_policy(&actor, id).await {
                Ok(policy) => Some(policy),
                Err(tenantry::ServiceError::Refused { reason: tenantry::Refusal::TwoFactorEnrollmentRequired, .. }) => None,
                Err(error) => return Err(error.into()),
            },
            None => None,
        };
        Ok(Some(SecurityView {
            must_enrol: actor.check_enrolment().is_err(),
            email: actor.email.clone(),
            tenant_name: tenant.map(|t| t.name),
            is_admin: actor.can(Permission::MembersWrite),
            is_superuser: actor.is_superuser,
            can_manage: actor.can(Permission::SecurityManage),
            policy: policy.map(|p| PolicyForm {
                min_length: p.password_policy.min_length,
                require_uppercase: p.password_policy.require_uppercase,
                require_lowercase: p.password_policy.require_lowercase,
                require_numbers: p.password_policy.require_numbers,
                require_symbols: p.password_policy.require_symbols,
                password_history: p.password_policy.password_history,
                session_timeout_minutes: p.session_timeout_minutes,
                allowed_ip_ranges: p.allowed_ip_ranges.iter().map(ToString::to_string).collect(),
                require_2fa: p.require_2fa,
            }),
            your_address: call.meta.ip.map(|ip| ip.to_string()),
            two_factor: {
                let status = call.services.two_factor_status(&actor).await?;
                let setup = if status.totp { None } else { call.session.get::<TotpSetup>(TOTP_SETUP).await.ok().flatten() };
                let new_codes = call.session.remove::<Vec<String>>(NEW_CODES).await.ok().flatten().unwrap_or_default();
                TwoFactorView { on: status.totp, recovery_codes_left: status.recovery_codes_left, setup, new_codes }
            },
            passkeys: PasskeysView {
                list: call
                    .services
                    .list_passkeys(&actor)
                    .await?
                    .into_iter()
                    .map(|p| PasskeyItem {
                        id: p.id.to_string(),
                        name: p.name,
                        added: p.created_at.format("%Y-%m-%d").to_string(),
                        last_used: p.last_used_at.map(|at| at.format("%Y-%m-%d %H:%M UTC").to_string()),
                    })
                    .collect(),
                domain: call.services.passkey_domain().map(str::to_owned),
            },
        }))
    })
    .await
}

#[cfg(feature = "ssr")]
fn qr_svg(text: &str) -> String {
    use qrcode::{render::svg, QrCode};
    match QrCode::new(text.as_bytes()) {
        Ok(code) => {
            let image = code.render::<svg::Color>().min_dimensions(200, 200).dark_color(svg::Color("#000000")).light_color(svg::Color("#ffffff")).build();
            image.split_once("?>").map_or(image.clone(), |(_, svg)| svg.to_owned())
        }
        Err(_) => String::new(),
    }
}

#[server(prefix = "/fn", endpoint = "start-totp")]
pub async fn start_totp_setup() -> Result<(), AppError> {
    crate::server_fns::context::serve(|call| async move {
            let actor = call.signed_in().await?;
            let enrolment = call.services.start_totp(&actor).await?;
            let setup = TotpSetup { qr_svg: qr_svg(&enrolment.otpauth_uri), secret: enrolment.secret, otpauth_uri: enrolment.otpauth_uri };
            call.session.insert(TOTP_SETUP, setup).await.map_err(|e| crate::server_fns::context::session_error(e.into()))?;
            Ok(())
        })
        .await
}

#[server(prefix = "/fn", endpoint = "confirm-totp")]
pub async fn confirm_totp_setup(code: String) -> Result<(), AppError> {
    crate::server_fns::context::serve(|call| async move {
            use tenantry::service::Raw;
            let actor = call.signed_in().await?;
            let codes = call.services.confirm_totp(&actor, Raw::text(code), &call.meta).await?;
            let _ = call.session.remove::<TotpSetup>(TOTP_SETUP).await;
            call.session.insert(NEW_CODES, codes).await.map_err(|e| crate::server_fns::context::session_error(e.into()))?;
            Ok(())
        })
        .await
}

#[server(prefix = "/fn", endpoint = "remove-totp")]
pub async fn remove_totp_form(password: String, code: String) -> Result<(), AppError> {
    crate::server_fns::context::serve(|call| async move {
            use tenantry::service::Raw;
            let actor = call.signed_in().await?;
            call.services.remove_totp(&actor, Raw::text(password), Raw::text(code), &call.meta).await?;
            Ok(())
        })
        .await
}

#[server(prefix = "/fn", endpoint = "change-password")]
pub async fn change_my_password(current_password: String, new_password: String) -> Result<(), AppError> {
    crate::server_fns::context::serve(|call| async move {
            use tenantry::service::Raw;
            let actor = call.signed_in().await?;
            let version = call.services.change_password(&actor, Raw::text(current_password), Raw::text(new_password), &call.meta).await?;
            // Every other session ended; this one carries on.
            crate::ssr::keep_session_after_password_change(&call.session, version).await.map_err(crate::server_fns::context::session_error)?;
            // Said on the page it lands on, with or without JavaScript.
            leptos_axum::redirect("/security?done=password");
            Ok(())
        })
        .await
}

#[allow(clippy::too_many_arguments)]
#[server(prefix = "/fn", endpoint = "save-security-policy")]
pub async fn save_security_policy(
    min_length: String,
    password_history: String,
    session_timeout_minutes: String,
    allowed_ip_ranges: String,
    require_uppercase: Option<String>,
    require_lowercase: Option<String>,
    require_numbers: Option<String>,
    require_symbols: Option<String>,
    require_2fa: Option<String>,
    confirm_lockout: Option<String>,
) -> Result<(), AppError> {
    crate::server_fns::context::serve(|call| async move {
            use serde_json::{json, Value};
            let actor = call.signed_in().await?;
            let tenant = actor.tenant().map_err(AppError::from)?;
            // Numbers as the API takes them; anything else goes through as text and is refused
            // by the service with its message.
            let number = |v: &str| match v.trim() {
                "" => Value::Null,
                n => n.parse::<u64>().map(|n| json!(n)).unwrap_or_else(|_| Value::String(n.to_owned())),
            };
            let ranges: Vec<&str> = allowed_ip_ranges.split([',', '\n', ' ']).map(str::trim).filter(|r| !r.is_empty()).collect();
            let mut rules = serde_json::Map::new();
            for (key, value) in [("min_length", &min_length), ("password_history", &password_history)] {
                let parsed = number(value);
                if !parsed.is_null() {
                    rules.insert(key.into(), parsed);
                }
            }
            for (key, on) in [("require_uppercase", &require_uppercase), ("require_lowercase", &require_lowercase),
                ("require_numbers", &require_numbers), ("require_symbols", &require_symbols)] {
                rules.insert(key.into(), Value::Bool(on.is_some()));
            }
            let body = json!({"password_policy": rules, "session_timeout_minutes": number(&session_timeout_minutes),
                "allowed_ip_ranges": ranges, "require_2fa": require_2fa.is_some(), "confirm_lockout": confirm_lockout.is_some()});
            let typed = [("min_length", min_length.as_str()), ("password_history", password_history.as_str()),
                ("session_timeout_minutes", session_timeout_minutes.as_str()), ("allowed_ip_ranges", allowed_ip_ranges.as_str())];
            match call.services.set_security_policy(&actor, tenant, &body, &call.meta).await {
                Ok(_) => {
                    leptos_axum::redirect("/security?done=policy");
                    Ok(())
                }
                Err(error) => {
                    // The service names nested fields `password_policy.min_length`; the form's
                    // fields are the last part.
                    let mut app = AppError::from(error);
                    app.fields = app.fields.into_iter().map(|(k, v)| (k.rsplit('.').next().unwrap_or(&k).to_owned(), v)).collect();
                    Err(app.with_values(typed))
                }
            }
        })
        .await
}

#[component]
pub fn Security() -> impl IntoView {
    let change = ServerAction::<ChangeMyPassword>::new();
    let save = ServerAction::<SaveSecurityPolicy>::new();
    let totp = TotpActions { start: ServerAction::new(), confirm: ServerAction::new(), remove: ServerAction::new() };
    let remove_passkey = ServerAction::<super::passkeys::RemovePasskeyForm>::new();
    let data = Resource::new_blocking(
        move || (save.version().get(), totp.start.version().get(), totp.confirm.version().get(), totp.remove.version().get(), remove_passkey.version().get()),
        |_| security_page(),
    );
    view! {
        <Title text="Security"/>
        <Suspense fallback=|| view! { <main><p>"Loading…"</p></main> }>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(Some(view)) => view! { <Page view change save totp remove_passkey/> }.into_any(),
                    Ok(None) => view! { <Redirect path="/login"/> }.into_any(),
                    Err(error) => view! { <main class="narrow"><div class="banner error" role="alert">{error.message}</div></main> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn Page(
    view: SecurityView,
    change: ServerAction<ChangeMyPassword>,
    save: ServerAction<SaveSecurityPolicy>,
    totp: TotpActions,
    remove_passkey: ServerAction<super::passkeys::RemovePasskeyForm>,
) -> impl IntoView {
    let header = view! { <Header email=view.email.clone() tenant=view.tenant_name.clone() is_admin=view.is_admin is_superuser=view.is_superuser/> };
    let change_error = last_error(change.value());
    let query = leptos_router::hooks::use_query_map();
    let changed = move || change.value().get().is_some_and(|r| r.is_ok()) || query.read().get("done").as_deref() == Some("password");
    let policy = view.policy.clone().filter(|_| view.can_manage);
    let your_address = view.your_address.clone().unwrap_or_default();
    view! {
        {header}
        <main>
            <h1>"Security"</h1>
            {view.must_enrol.then(|| view! {
                <div class="banner error" role="alert">
                    "Your organisation requires two-factor sign-in. Set up an authenticator app or add a passkey below; until then this is the only page you can use."
                </div>
            })}
            <section>
                <h2>"Your password"</h2>
                {move || changed().then(|| view! { <div class="banner ok" role="status">"Password changed. You were signed out everywhere else."</div> })}
                <ActionForm action=change attr:class="stack" attr:novalidate=true>
                    <FormError error=change_error/>
                    <Field name="current_password" label="Current password" kind="password" autocomplete="current-password" required=true error=change_error/>
                    <Field name="new_password" label="New password" kind="password" autocomplete="new-password" required=true
                        hint="It must meet the rules of every organisation you belong to." error=change_error/>
                    <button type="submit" disabled=move || change.pending().get()>"Change password"</button>
                </ActionForm>
            </section>
            <TwoFactorSection view=view.two_factor.clone() actions=totp/>
            <PasskeysSection view=view.passkeys.clone() remove=remove_passkey/>
            {policy.map(|policy| view! { <PolicySection policy save your_address/> })}
        </main>
    }
}

#[component]
fn PolicySection(policy: PolicyForm, save: ServerAction<SaveSecurityPolicy>, your_address: String) -> impl IntoView {
    let error = last_error(save.value());
    let query = leptos_router::hooks::use_query_map();
    let saved = move || save.value().get().is_some_and(|r| r.is_ok()) || query.read().get("done").as_deref() == Some("policy");
    // After a failed post, what was typed; else what is saved.
    let value = move |name: &'static str, saved: String| move || error.get().and_then(|e| e.value(name)).unwrap_or_else(|| saved.clone());
    let message = move |name: &'static str| move || error.get().and_then(|e| e.field(name));
    let checkbox = |name: &'static str, label: &'static str, checked: bool| {
        let id = format!("field-{name}");
        view! { <div class="check"><input type="checkbox" id=id.clone() name=name value="on" checked=checked/><label for=id>{label}</label></div> }
    };
    view! {
        <section>
            <h2>"Organisation policy"</h2>
            {move || saved().then(|| view! { <div class="banner ok" role="status">"Security policy saved."</div> })}
            <ActionForm action=save attr:class="stack" attr:novalidate=true>
                <FormError error/>
                <div class="row">
                    <div class="field">
                        <label for="field-min_length">"Minimum password length"</label>
                        <input id="field-min_length" name="min_length" type="number" min="8" max="128" value=value("min_length", policy.min_length.to_string())/>
                        <p class="hint">"8–128"</p>
                        <p class="error" role="alert">{message("min_length")}</p>
                    </div>
                    <div class="field">
                        <label for="field-password_history">"Remember previous passwords"</label>
                        <input id="field-password_history" name="password_history" type="number" min="0" max="24" value=value("password_history", policy.password_history.to_string())/>
                        <p class="hint">"0–24; these cannot be used again"</p>
                        <p class="error" role="alert">{message("password_history")}</p>
                    </div>
                </div>
                <fieldset class="permission-group">
                    <legend>"Passwords must contain"</legend>
                    {checkbox("require_uppercase", "an uppercase letter", policy.require_uppercase)}
                    {checkbox("require_lowercase", "a lowercase letter", policy.require_lowercase)}
                    {checkbox("require_numbers", "a number", policy.require_numbers)}
                    {checkbox("require_symbols", "a symbol", policy.require_symbols)}
                </fieldset>
                <div class="field">
                    <label for="field-session_timeout_minutes">"Sign out after inactivity (minutes)"</label>
                    <input id="field-session_timeout_minutes" name="session_timeout_minutes" type="number" min="5" max="43200"
                        value=value("session_timeout_minutes", policy.session_timeout_minutes.map(|m| m.to_string()).unwrap_or_default())/>
                    <p class="hint">"5–43,200; empty: the service's token lifetimes"</p>
                    <p class="error" role="alert">{message("session_timeout_minutes")}</p>
                </div>
                <div class="field">
                    <label for="field-allowed_ip_ranges">"Allowed networks"</label>
                    <textarea id="field-allowed_ip_ranges" name="allowed_ip_ranges" rows="4">{value("allowed_ip_ranges", policy.allowed_ip_ranges.join("\n"))}</textarea>
                    <p class="hint">"CIDR ranges, one per line (e.g. 10.0.0.0/8, 2001:db8::/32); empty: anywhere. Your address: " {your_address}</p>
                    <p class="error" role="alert">{message("allowed_ip_ranges")}</p>
                </div>
                {checkbox("require_2fa", "Require two-factor sign-in of every member (members without it can only set it up)", policy.require_2fa)}
                {checkbox("confirm_lockout", "Save even if my own address is not in the list", false)}
                <button type="submit" disabled=move || save.pending().get()>"Save policy"</button>
            </ActionForm>
        </section>
    }
}

#[derive(Clone, Copy)]
struct TotpActions {
    start: ServerAction<StartTotpSetup>,
    confirm: ServerAction<ConfirmTotpSetup>,
    remove: ServerAction<RemoveTotpForm>,
}

#[component]
fn TwoFactorSection(view: TwoFactorView, actions: TotpActions) -> impl IntoView {
    let start_error = last_error(actions.start.value());
    let confirm_error = last_error(actions.confirm.value());
    let remove_error = last_error(actions.remove.value());
    let status = if view.on {
        format!("On, with an authenticator app. {} recovery codes left.", view.recovery_codes_left)
    } else {
        "Off.".to_owned()
    };
    let codes = view.new_codes.clone();
    view! {
        <section>
            <h2>"Two-factor sign-in"</h2>
            <p>{status}</p>
            {(!codes.is_empty()).then(|| view! {
                <div class="banner ok" role="status">
                    <p><strong>"Two-factor sign-in is on."</strong> " Keep these recovery codes somewhere safe: each signs you in once without your device, and they are shown only now."</p>
                    <ul class="recovery-codes">{codes.into_iter().map(|c| view! { <li><code>{c}</code></li> }).collect_view()}</ul>
                </div>
            })}
            {match (view.on, view.setup.clone()) {
                (true, _) => view! {
                    <ActionForm action=actions.remove attr:class="stack" attr:novalidate=true>
                        <FormError error=remove_error/>
                        <Field name="password" label="Your password" kind="password" autocomplete="current-password" required=true error=remove_error/>
                        <Field name="code" label="Current code (or a recovery code)" autocomplete="one-time-code" required=true error=remove_error/>
                        <button type="submit" class="danger" disabled=move || actions.remove.pending().get()>"Turn off two-factor sign-in"</button>
                    </ActionForm>
                }.into_any(),
                (false, Some(setup)) => view! {
                    <p>"Scan this code with your authenticator app, or type the key in, then enter the 6-digit code it shows."</p>
                    <div class="qr" role="img" aria-label="QR code of your authenticator set-up" inner_html=setup.qr_svg.clone()></div>
                    <p>"Key: " <code class="totp-secret">{setup.secret.clone()}</code></p>
                    <ActionForm action=actions.confirm attr:class="stack" attr:novalidate=true>
                        <FormError error=confirm_error/>
                        <Field name="code" label="Code from the app" autocomplete="one-time-code" required=true error=confirm_error/>
                        <button type="submit" disabled=move || actions.confirm.pending().get()>"Turn on"</button>
                    </ActionForm>
                }.into_any(),
                (false, None) => view! {
                    <ActionForm action=actions.start attr:class="stack">
                        <FormError error=start_error/>
                        <button type="submit" disabled=move || actions.start.pending().get()>"Set up an authenticator app"</button>
                    </ActionForm>
                }.into_any(),
            }}
        </section>
    }
}

#[component]
fn PasskeysSection(view: PasskeysView, remove: ServerAction<super::passkeys::RemovePasskeyForm>) -> impl IntoView {
    let error = last_error(remove.value());
    let query = leptos_router::hooks::use_query_map();
    let added = move || query.read().get("done").as_deref() == Some("passkey");
    let removed = move || remove.value().get().is_some_and(|r| r.is_ok());
    let empty = view.list.is_empty();
    let items = view
        .list
        .into_iter()
        .map(|passkey| {
            let used = passkey.last_used.map_or_else(|| "never used".to_owned(), |at| format!("last used {at}"));
            // One form per passkey: ids must stay unique on the page.
            let field = format!("passkey-password-{}", passkey.id);
            let message = move || error.get().and_then(|e| e.field("password"));
            view! {
                <li class="passkey">
                    <strong>{passkey.name.clone()}</strong>
                    <span class="muted">{format!(" · added {} · {used}", passkey.added)}</span>
                    <details>
                        <summary>"Remove"</summary>
                        <ActionForm action=remove attr:class="stack" attr:novalidate=true>
                            <input type="hidden" name="id" value=passkey.id/>
                            <FormError error/>
                            <div class="field">
                                <label for=field.clone()>"Your password"</label>
                                <input id=field name="password" type="password" autocomplete="current-password" required=true/>
                                <p class="error" role="alert">{message}</p>
                            </div>
                            <button type="submit" class="danger" disabled=move || remove.pending().get()>{format!("Remove “{}”", passkey.name)}</button>
                        </ActionForm>
                    </details>
                </li>
            }
        })
        .collect_view();
    view! {
        <section id="passkeys">
            <h2>"Passkeys"</h2>
            <p>"A passkey signs you in with your device’s screen lock or a security key, without a password, and counts as your second factor."</p>
            {move || added().then(|| view! { <div class="banner ok" role="status">"Passkey added."</div> })}
            {move || removed().then(|| view! { <div class="banner ok" role="status">"Passkey removed."</div> })}
            {empty.then(|| view! { <p class="muted">"You have no passkeys yet."</p> })}
            <ul class="passkeys">{items}</ul>
            {match view.domain {
                Some(domain) => view! {
                    <super::passkeys::PasskeyButton action="register" label="Add a passkey" rp_id=domain>
                        <div class="field">
                            <label for="field-passkey_name">"Name"</label>
                            <input id="field-passkey_name" name="passkey_name" type="text" maxlength="64" placeholder="Laptop"/>
                        </div>
                    </super::passkeys::PasskeyButton>
                }.into_any(),
                None => view! { <p class="hint">"Passkeys are not set up on this server (see WEBAUTHN_RP_ID)."</p> }.into_any(),
            }}
        </section>
    }
}
