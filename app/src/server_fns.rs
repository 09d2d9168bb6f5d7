//! Server functions behind the pages. Each one reads the form into raw input, calls the same
//! service method the JSON API calls, and maps the error; no rule lives here.
//! They are mounted under `/fn/…` so that `/api/…` stays the JSON API's alone.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::AppError;

/// What the signed-in home page shows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HomeView {
    pub tenant_name: Option<String>,
    pub tenant_slug: Option<String>,
    pub email: String,
    pub roles: Vec<String>,
    pub members: Vec<MemberView>,
    pub member_count: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MemberView {
    pub id: String,
    pub email: String,
    pub name: String,
    pub roles: Vec<String>,
}

#[cfg(feature = "ssr")]
mod context {
    use tenantry::service::{Actor, RequestMeta, Services};
    use tower_sessions::Session;

    use crate::{
        error::{AppError, ErrorKind},
        ssr::{request_meta, session_actor, AppState},
    };

    pub struct Call {
        pub services: Services,
        pub session: Session,
        pub meta: RequestMeta,
    }

    pub async fn call() -> Result<Call, AppError> {
        let state = leptos::prelude::expect_context::<AppState>();
        let parts = leptos::prelude::expect_context::<axum::http::request::Parts>();
        let session: Session = leptos_axum::extract()
            .await
            .map_err(|e| AppError::new(ErrorKind::Internal, format!("session unavailable: {e}")))?;
        Ok(Call { services: state.services, session, meta: request_meta(&parts) })
    }

    impl Call {
        pub async fn actor(&self) -> Result<Option<Actor>, AppError> {
            Ok(session_actor(&self.services, &self.session).await?)
        }
    }

    /// Gives a failed call its proper HTTP status (400, 401, 409 …) when it came from script.
    /// A plain form post (no JavaScript) keeps the 302 back to the form that carries the error.
    pub fn finish<T>(result: Result<T, AppError>) -> Result<T, AppError> {
        if let Err(error) = &result {
            let parts = leptos::prelude::expect_context::<axum::http::request::Parts>();
            let form_post = parts
                .headers
                .get(axum::http::header::ACCEPT)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|accept| accept.contains("text/html"));
            if !form_post {
                if let Some(response) = leptos::prelude::use_context::<leptos_axum::ResponseOptions>() {
                    response.set_status(status_of(&error.kind));
                }
            }
        }
        result
    }

    fn status_of(kind: &ErrorKind) -> axum::http::StatusCode {
        use axum::http::StatusCode;
        match kind {
            ErrorKind::Validation => StatusCode::BAD_REQUEST,
            ErrorKind::Unauthenticated => StatusCode::UNAUTHORIZED,
            ErrorKind::Forbidden => StatusCode::FORBIDDEN,
            ErrorKind::NotFound => StatusCode::NOT_FOUND,
            ErrorKind::Conflict => StatusCode::CONFLICT,
            ErrorKind::Gone => StatusCode::GONE,
            ErrorKind::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            ErrorKind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            ErrorKind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn session_error(error: anyhow::Error) -> AppError {
        tracing::error!(error = format!("{error:#}"), "session store failed");
        AppError::new(ErrorKind::Internal, "Could not start your session. Please try again.")
    }
}

#[server(prefix = "/fn", endpoint = "sign-up")]
pub async fn sign_up(
    name: String,
    admin_email: String,
    admin_password: String,
    first_name: Option<String>,
    last_name: Option<String>,
) -> Result<(), AppError> {
    context::finish(sign_up_inner(name, admin_email, admin_password, first_name, last_name).await)
}

#[cfg(feature = "ssr")]
async fn sign_up_inner(
    name: String,
    admin_email: String,
    admin_password: String,
    first_name: Option<String>,
    last_name: Option<String>,
) -> Result<(), AppError> {
    use tenantry::service::{Raw, SignUpInput};
    let call = context::call().await?;
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
        .map_err(context::session_error)?;
    leptos_axum::redirect("/");
    Ok(())
}

#[server(prefix = "/fn", endpoint = "log-in")]
pub async fn log_in(email: String, password: String) -> Result<(), AppError> {
    context::finish(log_in_inner(email, password).await)
}

#[cfg(feature = "ssr")]
async fn log_in_inner(email: String, password: String) -> Result<(), AppError> {
    use tenantry::service::{LoginInput, Raw};
    let call = context::call().await?;
    let input = LoginInput { email: Raw::text(email.clone()), password: Raw::text(password) };
    let profile = call
        .services
        .authenticate(input, &call.meta)
        .await
        .map_err(|e| AppError::from(e).with_values([("email", email.as_str())]))?;
    crate::ssr::start_session(&call.session, &profile.user, profile.tenant_id)
        .await
        .map_err(context::session_error)?;
    leptos_axum::redirect("/");
    Ok(())
}

#[server(prefix = "/fn", endpoint = "log-out")]
pub async fn log_out() -> Result<(), AppError> {
    let call = context::call().await?;
    crate::ssr::end_session(&call.session).await.map_err(context::session_error)?;
    leptos_axum::redirect("/login");
    Ok(())
}

/// The home page's data, or `None` when nobody is signed in.
#[server(prefix = "/fn", endpoint = "home")]
pub async fn home() -> Result<Option<HomeView>, AppError> {
    use tenantry::store::PageRequest;
    let call = context::call().await?;
    let Some(actor) = call.actor().await? else { return Ok(None) };
    let profile = call.services.me(&actor);
    let tenant = call.services.current_tenant(&actor).await?;
    let (members, member_count) = if actor.tenant_id.is_some() {
        let page = call.services.list_users(&actor, PageRequest::first()).await?;
        let members = page
            .items
            .iter()
            .map(|p| MemberView {
                id: p.user.id.to_string(),
                email: p.user.email.clone(),
                name: format!("{} {}", p.user.first_name, p.user.last_name).trim().to_owned(),
                roles: p.roles.iter().map(|r| r.as_str().to_owned()).collect(),
            })
            .collect();
        (members, page.count)
    } else {
        (Vec::new(), 0)
    };
    Ok(Some(HomeView {
        tenant_name: tenant.as_ref().map(|t| t.name.clone()),
        tenant_slug: tenant.as_ref().map(|t| t.slug.clone()),
        email: profile.user.email,
        roles: profile.roles.iter().map(|r| r.as_str().to_owned()).collect(),
        members,
        member_count,
    }))
}
