//! `require_2fa` in the browser: a member whom their tenant's policy holds back until they set
//! up a second factor is sent to `/security` (where they can) from any other page, instead of
//! meeting a 403 on each. The rule itself is the service's (`Actor::check_enrolment`); this only
//! turns its answer into a redirect for page visits.

use app::ssr::{host_tenant, request_meta, session_actor, AppState};
use axum::{
    extract::{Request, State},
    http::Method,
    middleware::Next,
    response::{IntoResponse, Redirect, Response},
};
use tower_sessions::Session;

/// Pages a member held back may still open: where the factor is set up, and the ways in and
/// out.
const OPEN: [&str; 7] = ["/security", "/logout", "/login", "/login/mfa", "/signup", "/invite", "/password-reset"];

/// On page routes: a GET of any page but those above, by a member who must enrol first, is
/// answered with a redirect to `/security?enrol=1`.
pub async fn send_to_enrolment(State(state): State<AppState>, session: Session, request: Request, next: Next) -> Response {
    let path = request.uri().path();
    if request.method() != Method::GET || OPEN.contains(&path) || path.starts_with("/fn/") {
        return next.run(request).await;
    }
    let (parts, body) = request.into_parts();
    let held_back = match session_actor(&state.services, &session, host_tenant(&parts), &request_meta(&parts)).await {
        Ok(Some(actor)) => actor.check_enrolment().is_err(),
        _ => false,
    };
    if held_back {
        return Redirect::to("/security?enrol=1").into_response();
    }
    next.run(Request::from_parts(parts, body)).await
}
