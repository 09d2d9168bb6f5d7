//! File uploads from the pages, which server functions (URL-encoded forms) cannot carry: the
//! import page's CSV. A plain multipart form posts here with the browser session; the answer
//! is a redirect back to the page, so it works without JavaScript.

use app::ssr::{session_actor, AppState};
use axum::{
    extract::{Request, State},
    response::Redirect,
};
use tower_sessions::Session;

/// `POST /import/upload`: checks the CSV and keeps it as an import in preview, then shows it.
pub async fn import(State(state): State<AppState>, session: Session, request: Request) -> Redirect {
    let host = request.extensions().get::<app::ssr::HostTenantId>().map(|h| h.0);
    let actor = match session_actor(&state.services, &session, host).await {
        Ok(Some(actor)) => actor,
        _ => return Redirect::to("/login"),
    };
    let input = match crate::api::read_import_upload(request, &state).await {
        Ok(input) => input,
        Err(error) => return back_with(error.0),
    };
    match state.services.preview_import(&actor, input).await {
        Ok(job) => Redirect::to(&format!("/import?job={}", job.id)),
        Err(error) => back_with(error),
    }
}

/// Back to the form, with what went wrong in a sentence.
fn back_with(error: tenantry::ServiceError) -> Redirect {
    let error = app::error::AppError::from(error);
    let text = if error.fields.is_empty() {
        error.message
    } else {
        error.fields.iter().map(|(field, messages)| format!("{field}: {}", messages.join(" "))).collect::<Vec<_>>().join("; ")
    };
    let text: String = text.chars().take(300).collect();
    Redirect::to(&format!("/import?error={}", form_urlencoded::byte_serialize(text.as_bytes()).collect::<String>()))
}
