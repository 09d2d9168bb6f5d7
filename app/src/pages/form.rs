//! Pieces every form uses: a labelled field with its error beside it, and the banner for an
//! error that is not about one field.

use leptos::prelude::*;

use crate::error::AppError;

/// The error of the last submission of an action, if it failed.
pub fn last_error<T, S>(value: S) -> Signal<Option<AppError>>
where
    T: Clone + Send + Sync + 'static,
    S: Get<Value = Option<Result<T, AppError>>> + Send + Sync + 'static,
{
    Signal::derive(move || value.get().and_then(|result| result.err()))
}

/// A labelled input with its error message under it (linked with `aria-describedby`).
#[component]
pub fn Field(
    name: &'static str,
    label: &'static str,
    #[prop(default = "text")] kind: &'static str,
    #[prop(optional)] autocomplete: &'static str,
    #[prop(optional)] required: bool,
    #[prop(optional)] hint: &'static str,
    error: Signal<Option<AppError>>,
) -> impl IntoView {
    let id = format!("field-{name}");
    let error_id = format!("{id}-error");
    let message = move || error.get().and_then(|e| e.field(name));
    // Echo what was typed back after a failed no-JS submission (never for passwords).
    let value = move || if kind == "password" { None } else { error.get().and_then(|e| e.value(name)) };
    view! {
        <div class="field" class:invalid=move || message().is_some()>
            <label for=id.clone()>{label}</label>
            <input
                id=id
                name=name
                type=kind
                autocomplete=autocomplete
                required=required
                value=value
                aria-invalid=move || message().is_some().then_some("true")
                aria-describedby=error_id.clone()
            />
            {(!hint.is_empty()).then(|| view! { <p class="hint">{hint}</p> })}
            <p class="error" id=error_id role="alert">{message}</p>
        </div>
    }
}

/// The form-level message (bad credentials, rate limits …) when there is no field message.
#[component]
pub fn FormError(error: Signal<Option<AppError>>) -> impl IntoView {
    move || {
        error.get().filter(|e| e.fields.is_empty()).map(|e| {
            view! { <div class="banner error" role="alert">{e.message}</div> }
        })
    }
}
