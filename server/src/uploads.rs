//! What the pages need beside their server functions: the import page's CSV upload (server
//! functions take URL-encoded forms only; a plain multipart form posts here with the browser
//! session and is answered with a redirect back, so it works without JavaScript), and the
//! brand style sheet.

use app::ssr::{session_actor, AppState};
use axum::{
    extract::{Request, State},
    response::Redirect,
};
use tower_sessions::Session;

/// `POST /import/upload`: checks the CSV and keeps it as an import in preview, then shows it.
pub async fn import(State(state): State<AppState>, session: Session, request: Request) -> Redirect {
    let host = request.extensions().get::<app::ssr::HostTenantId>().map(|h| h.0);
    let (parts, body) = request.into_parts();
    let meta = app::ssr::request_meta(&parts);
    let request = Request::from_parts(parts, body);
    let actor = match session_actor(&state.services, &session, host, &meta).await {
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

/// `GET /brand.css?color=rrggbb`: an organisation's colour as `--brand`, a style sheet of our own
/// origin (the pages' policy admits no inline style). Only six hex digits get through; the
/// answer depends on nothing else, so it is cached for good.
pub async fn brand_css(axum::extract::RawQuery(query): axum::extract::RawQuery) -> axum::response::Response {
    use axum::{http::{header, StatusCode}, response::IntoResponse};
    let color = form_urlencoded::parse(query.unwrap_or_default().as_bytes()).find(|(k, _)| k == "color").map(|(_, v)| v.into_owned()).unwrap_or_default();
    // The same check as when branding is saved; `#` cannot travel unescaped in a query.
    let Ok(color) = tenantry::domain::parse_color(&format!("#{color}")) else {
        return (StatusCode::BAD_REQUEST, [(header::CONTENT_TYPE, "text/css")], "/* color=rrggbb */").into_response();
    };
    let css = format!(":root {{ --brand: {color}; }}\n");
    ([(header::CONTENT_TYPE, "text/css; charset=utf-8"), (header::CACHE_CONTROL, "public, max-age=31536000, immutable")], css).into_response()
}

/// `POST /platform/bulk/upload`: dry-runs an uploaded tenants CSV and keeps it as a bulk run
/// in preview, then shows it (platform administrators).
pub async fn bulk_tenants(State(state): State<AppState>, session: Session, request: Request) -> Redirect {
    use axum::extract::{FromRequest, Multipart};
    let (parts, body) = request.into_parts();
    let meta = app::ssr::request_meta(&parts);
    let request = Request::from_parts(parts, body);
    let actor = match session_actor(&state.services, &session, None, &meta).await {
        Ok(Some(actor)) => actor,
        _ => return Redirect::to("/login"),
    };
    let back = |text: String| {
        let text: String = text.chars().take(300).collect();
        Redirect::to(&format!("/platform/bulk?error={}", form_urlencoded::byte_serialize(text.as_bytes()).collect::<String>()))
    };
    let Ok(mut multipart) = Multipart::from_request(request, &state).await else { return back("Send the CSV as a file.".into()) };
    let mut file: Option<(String, String)> = None;
    loop {
        match multipart.next_field().await {
            Ok(Some(field)) if field.name() == Some("file") => {
                let name = field.file_name().unwrap_or("tenants.csv").to_owned();
                match field.bytes().await {
                    Ok(bytes) => match String::from_utf8(bytes.to_vec()) {
                        Ok(text) => file = Some((name, text)),
                        Err(_) => return back("The file is not UTF-8 text.".into()),
                    },
                    Err(e) => return back(format!("Could not read the upload: {e}")),
                }
            }
            Ok(Some(_)) => {}
            Ok(None) => break,
            Err(e) => return back(format!("Could not read the upload: {e}")),
        }
    }
    let Some((name, text)) = file else { return back("Attach the CSV file.".into()) };
    match state.services.preview_bulk_run(&actor, &name, &text).await {
        Ok(run) => Redirect::to(&format!("/platform/bulk?run={}", run.id)),
        Err(error) => {
            let error = app::error::AppError::from(error);
            let text = if error.fields.is_empty() { error.message } else { error.fields.values().flatten().cloned().collect::<Vec<_>>().join(" ") };
            back(text)
        }
    }
}
