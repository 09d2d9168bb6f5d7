//! `/settings`: an organisation's own settings for its administrators (`tenant:write`): name,
//! description, contact, time zone, notifications, retention, quota alert thresholds, and
//! branding when its plan includes it, with a preview. One plain form: it works without
//! JavaScript; with it, the preview follows what is typed.

use leptos::{form::ActionForm, prelude::*};
use leptos_meta::Title;
use leptos_router::components::Redirect;
use serde::{Deserialize, Serialize};

use super::{
    form::{last_error, FormError},
    layout::Header,
};
use crate::error::AppError;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SettingsView {
    pub email: String,
    pub tenant_name: Option<String>,
    pub is_superuser: bool,
    pub can_edit: bool,
    pub branding_allowed: bool,
    /// The values as saved, by form field name.
    pub values: Vec<(String, String)>,
    pub notify_email: bool,
    pub notify_in_app: bool,
}

impl SettingsView {
    fn value(&self, name: &str) -> String {
        self.values.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()).unwrap_or_default()
    }
}

const TEXT_FIELDS: [&str; 11] = [
    "display_name", "description", "contact_email", "timezone", "notification_email", "data_retention_days",
    "quota_alert_thresholds", "theme", "company_name", "logo_url", "primary_color",
];

#[server(prefix = "/fn", endpoint = "settings-page")]
pub async fn settings_page() -> Result<Option<SettingsView>, AppError> {
    use tenantry::domain::Permission;
    crate::server_fns::context::serve(|call| async move {
        let Some(actor) = call.actor().await? else { return Ok(None) };
        let Some(tenant_id) = actor.tenant_id else {
            return Ok(Some(SettingsView { email: actor.email.clone(), tenant_name: None, is_superuser: actor.is_superuser, can_edit: false, branding_allowed: false, values: Vec::new(), notify_email: false, notify_in_app: false }));
        };
        let tenant = call.services.tenant_details(&actor, tenant_id).await?;
        let features = call.services.tenant_features(&actor, tenant_id).await?;
        let settings = &tenant.settings.0;
        let text = |key: &str| settings.get(key).map(|v| v.as_str().map(str::to_owned).unwrap_or_else(|| v.to_string())).unwrap_or_default();
        let brand = |key: &str| tenant.branding.0.as_ref().and_then(|b| b.get(key)).and_then(|v| v.as_str()).unwrap_or("").to_owned();
        let thresholds = settings
            .get("quota_alert_thresholds")
            .and_then(|v| v.as_array())
            .map(|t| t.iter().map(|n| n.to_string()).collect::<Vec<_>>().join(", "))
            .unwrap_or_default();
        let flag = |key: &str| settings.get("notifications").and_then(|n| n.get(key)).and_then(|v| v.as_bool()).unwrap_or(false);
        let values = vec![
            ("display_name".to_owned(), tenant.display_name.clone().unwrap_or_default()),
            ("description".to_owned(), tenant.description.clone().unwrap_or_default()),
            ("contact_email".to_owned(), tenant.contact_email.clone().unwrap_or_default()),
            ("timezone".to_owned(), text("timezone")),
            ("notification_email".to_owned(), text("notification_email")),
            ("data_retention_days".to_owned(), text("data_retention_days")),
            ("quota_alert_thresholds".to_owned(), thresholds),
            ("theme".to_owned(), text("theme")),
            ("company_name".to_owned(), brand("company_name")),
            ("logo_url".to_owned(), brand("logo_url")),
            ("primary_color".to_owned(), brand("primary_color")),
        ];
        Ok(Some(SettingsView {
            email: actor.email.clone(),
            tenant_name: Some(tenant.name.clone()),
            is_superuser: actor.is_superuser,
            can_edit: actor.can(Permission::TenantWrite),
            branding_allowed: features.get("custom_branding").is_some_and(|(on, _)| *on),
            values,
            notify_email: flag("email"),
            notify_in_app: flag("in_app"),
        }))
    })
    .await
}

#[allow(clippy::too_many_arguments)]
#[server(prefix = "/fn", endpoint = "save-settings")]
pub async fn save_settings(
    display_name: String,
    description: String,
    contact_email: String,
    timezone: String,
    notification_email: String,
    data_retention_days: String,
    quota_alert_thresholds: String,
    theme: String,
    notify_email: Option<String>,
    notify_in_app: Option<String>,
    company_name: Option<String>,
    logo_url: Option<String>,
    primary_color: Option<String>,
) -> Result<(), AppError> {
    crate::server_fns::context::serve(|call| async move {
            use serde_json::{json, Map, Value};
            use tenantry::service::{Raw, TenantSettingsInput};
            let actor = call.signed_in().await?;
            let tenant = actor.tenant().map_err(AppError::from)?;
            let typed: Vec<(&str, String)> = vec![
                ("display_name", display_name.clone()), ("description", description.clone()), ("contact_email", contact_email.clone()),
                ("timezone", timezone.clone()), ("notification_email", notification_email.clone()), ("data_retention_days", data_retention_days.clone()),
                ("quota_alert_thresholds", quota_alert_thresholds.clone()), ("theme", theme.clone()),
                ("company_name", company_name.clone().unwrap_or_default()), ("logo_url", logo_url.clone().unwrap_or_default()),
                ("primary_color", primary_color.clone().unwrap_or_default()),
            ];
            // Empty fields remove a setting; numbers and lists are read as the API would take them.
            let text = |v: &str| if v.trim().is_empty() { Value::Null } else { Value::String(v.trim().to_owned()) };
            let number = |v: &str| match v.trim() {
                "" => Value::Null,
                n => n.parse::<i64>().map(|n| json!(n)).unwrap_or_else(|_| Value::String(n.to_owned())),
            };
            let thresholds = match quota_alert_thresholds.trim() {
                "" => Value::Null,
                list => Value::Array(list.split(',').map(|t| number(t)).collect()),
            };
            let mut settings = Map::new();
            settings.insert("timezone".into(), text(&timezone));
            settings.insert("notification_email".into(), text(&notification_email));
            settings.insert("data_retention_days".into(), number(&data_retention_days));
            settings.insert("quota_alert_thresholds".into(), thresholds);
            settings.insert("theme".into(), text(&theme));
            settings.insert("notifications".into(), json!({"email": notify_email.is_some(), "in_app": notify_in_app.is_some()}));
            // Branding is only in the form when the plan allows it.
            let branding = (company_name.is_some() || logo_url.is_some() || primary_color.is_some()).then(|| {
                let mut b = Map::new();
                for (key, value) in [("company_name", &company_name), ("logo_url", &logo_url), ("primary_color", &primary_color)] {
                    if let Some(v) = value.as_deref().filter(|v| !v.trim().is_empty()) {
                        b.insert(key.into(), Value::String(v.trim().to_owned()));
                    }
                }
                if b.is_empty() { Value::Null } else { Value::Object(b) }
            });
            let input = TenantSettingsInput {
                display_name: Raw::text(display_name),
                description: Raw::text(description),
                contact_email: Raw::text(contact_email),
                settings: Some(Value::Object(settings)),
                branding,
            };
            match call.services.update_tenant_settings(&actor, tenant, input, &call.meta).await {
                Ok(_) => Ok(()),
                Err(error) => {
                    // The service names nested fields `settings.timezone`, `branding.logo_url`;
                    // the form's fields are the last part.
                    let mut app = AppError::from(error);
                    app.fields = app.fields.into_iter().map(|(k, v)| (k.rsplit('.').next().unwrap_or(&k).to_owned(), v)).collect();
                    Err(app.with_values(typed.iter().map(|(k, v)| (*k, v.as_str()))))
                }
            }
        })
        .await
}

#[component]
pub fn Settings() -> impl IntoView {
    let save = ServerAction::<SaveSettings>::new();
    let data = Resource::new_blocking(move || save.version().get(), |_| settings_page());
    view! {
        <Title text="Settings"/>
        <Suspense fallback=|| view! { <main><p>"Loading…"</p></main> }>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(Some(view)) => view! { <Page view save/> }.into_any(),
                    Ok(None) => view! { <Redirect path="/login"/> }.into_any(),
                    Err(error) => view! { <main class="narrow"><div class="banner error" role="alert">{error.message}</div></main> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn Page(view: SettingsView, save: ServerAction<SaveSettings>) -> impl IntoView {
    let header = view! { <Header email=view.email.clone() tenant=view.tenant_name.clone() is_admin=view.can_edit is_superuser=view.is_superuser/> };
    if !view.can_edit {
        return view! { {header} <main><h1>"Settings"</h1><p>"Only administrators of this organisation can change its settings."</p></main> }.into_any();
    }
    let error = last_error(save.value());
    let saved = move || save.value().get().is_some_and(|r| r.is_ok());
    let initial = |name: &str| view.value(name);
    // What a failed post typed comes back; else what is saved.
    let value = move |name: &'static str, saved_value: String| Signal::derive(move || error.get().and_then(|e| e.value(name)).unwrap_or_else(|| saved_value.clone()));
    let company = RwSignal::new(initial("company_name"));
    let color = RwSignal::new(initial("primary_color"));
    let fields = TEXT_FIELDS.iter().map(|name| (*name, value(name, initial(name)))).collect::<Vec<_>>();
    let get = move |name: &str| fields.iter().find(|(n, _)| *n == name).map(|(_, s)| *s).expect("a known field");
    let (notify_email, notify_in_app, branding_allowed) = (view.notify_email, view.notify_in_app, view.branding_allowed);
    view! {
        {header}
        <main>
            <h1>"Settings"</h1>
            {move || saved().then(|| view! { <div class="banner ok" role="status">"Settings saved."</div> })}
            <ActionForm action=save attr:class="stack" attr:novalidate=true>
                <FormError error/>
                <section>
                    <h2>"Organisation"</h2>
                    <div class="row">
                        <TextField name="display_name" label="Display name" value=get("display_name") error/>
                        <TextField name="contact_email" label="Contact e-mail" kind="email" value=get("contact_email") error/>
                    </div>
                    <TextField name="description" label="Description" value=get("description") error/>
                </section>
                <section>
                    <h2>"Preferences"</h2>
                    <div class="row">
                        <TextField name="timezone" label="Time zone" hint="IANA, e.g. America/New_York" value=get("timezone") error/>
                        <TextField name="theme" label="Theme" hint="light, dark or system" value=get("theme") error/>
                    </div>
                    <fieldset class="permission-group">
                        <legend>"Notifications"</legend>
                        <div class="check"><input type="checkbox" id="notify-email" name="notify_email" value="on" checked=notify_email/><label for="notify-email">"By e-mail"</label></div>
                        <div class="check"><input type="checkbox" id="notify-in-app" name="notify_in_app" value="on" checked=notify_in_app/><label for="notify-in-app">"In the app"</label></div>
                    </fieldset>
                    <div class="row">
                        <TextField name="notification_email" label="Notification e-mail" kind="email" value=get("notification_email") error/>
                        <TextField name="data_retention_days" label="Keep the audit log (days)" kind="number" hint="1–3650; empty: forever" value=get("data_retention_days") error/>
                    </div>
                    <TextField name="quota_alert_thresholds" label="Quota alerts at (%)" hint="Comma-separated, e.g. 80, 100 (the default)" value=get("quota_alert_thresholds") error/>
                </section>
                {if branding_allowed {
                    view! {
                        <section>
                            <h2>"Branding"</h2>
                            <div class="row">
                                <div class="field">
                                    <label for="field-company_name">"Company name"</label>
                                    <input id="field-company_name" name="company_name" type="text" value=move || company.get()
                                        on:input=move |ev| company.set(event_target_value(&ev))/>
                                    <p class="error" role="alert">{move || error.get().and_then(|e| e.field("company_name"))}</p>
                                </div>
                                <TextField name="logo_url" label="Logo URL (https)" kind="url" value=get("logo_url") error/>
                            </div>
                            <div class="field">
                                <label for="field-primary_color">"Primary colour"</label>
                                <input id="field-primary_color" name="primary_color" type="text" placeholder="#1f6feb" value=move || color.get()
                                    on:input=move |ev| color.set(event_target_value(&ev))/>
                                <p class="hint">"#rrggbb"</p>
                                <p class="error" role="alert">{move || error.get().and_then(|e| e.field("primary_color"))}</p>
                            </div>
                            <BrandPreview company color/>
                        </section>
                    }.into_any()
                } else {
                    view! { <section><h2>"Branding"</h2><p class="muted">"Branding (your name, logo and colour on sign-in pages and e-mails) comes with the custom_branding feature."</p></section> }.into_any()
                }}
                <button type="submit" disabled=move || save.pending().get()>"Save settings"</button>
            </ActionForm>
        </main>
    }
    .into_any()
}

/// A labelled text input whose value is a signal (what is saved, or what a failed post typed).
#[component]
fn TextField(
    name: &'static str,
    label: &'static str,
    #[prop(default = "text")] kind: &'static str,
    #[prop(optional)] hint: &'static str,
    value: Signal<String>,
    error: Signal<Option<AppError>>,
) -> impl IntoView {
    let id = format!("field-{name}");
    let error_id = format!("{id}-error");
    let message = move || error.get().and_then(|e| e.field(name));
    view! {
        <div class="field" class:invalid=move || message().is_some()>
            <label for=id.clone()>{label}</label>
            <input id=id name=name type=kind value=move || value.get() aria-invalid=move || message().is_some().then_some("true") aria-describedby=error_id.clone()/>
            {(!hint.is_empty()).then(|| view! { <p class="hint">{hint}</p> })}
            <p class="error" id=error_id role="alert">{message}</p>
        </div>
    }
}

/// What the sign-in page and the header will show. The saved colour reaches the swatch as
/// `--brand` from the brand style sheet the header loads (no inline style passes the page's
/// policy); with JavaScript, each keystroke recolours it through the DOM.
#[component]
fn BrandPreview(company: RwSignal<String>, color: RwSignal<String>) -> impl IntoView {
    let swatch = NodeRef::<leptos::html::Span>::new();
    Effect::new(move |_| {
        let typed = color.get();
        if let (Some(el), Some(valid)) = (swatch.get(), tenantry_color(&typed)) {
            let _ = leptos::web_sys::HtmlElement::style(&el).set_property("background-color", &valid);
        }
    });
    view! {
        <div class="brand-preview" aria-label="Branding preview">
            <span class="brand-swatch" node_ref=swatch aria-hidden="true"></span>
            <strong class="brand-name">{move || { let c = company.get(); if c.trim().is_empty() { "Your company".to_owned() } else { c } }}</strong>
            <span class="muted">{move || { let c = color.get(); if c.trim().is_empty() { "no colour".to_owned() } else { c } }}</span>
        </div>
    }
}

/// `#rrggbb` or nothing: the only colour text a style may receive (the same check the service
/// makes when branding is saved).
pub fn tenantry_color(raw: &str) -> Option<String> {
    let text = raw.trim();
    (text.len() == 7 && text.starts_with('#') && text[1..].bytes().all(|b| b.is_ascii_hexdigit())).then(|| text.to_ascii_lowercase())
}
