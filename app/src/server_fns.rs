//! What every page's server functions share. The functions themselves sit beside their pages
//! (`pages/…`); each one reads the form into raw input, calls the same service method the JSON
//! API calls, and returns its error; no rule lives here or there. They are mounted under
//! `/fn/…` so that `/api/…` stays the JSON API's alone.
//!
//! Every server function runs its body through [`context::serve`], the one wrapper: it hands the
//! body the request's [`context::Call`] and gives a failure the HTTP status the JSON API would
//! answer (`ServiceError::status`, the one table).

#[cfg(feature = "ssr")]
pub(crate) mod context {
    use std::future::Future;

    use tenantry::service::{Actor, RequestMeta, Services};
    use tower_sessions::Session;

    use crate::{
        error::AppError,
        ssr::{request_meta, session_actor, AppState},
    };

    /// The request a server function serves: the services, the browser's session, and where
    /// the request came from.
    pub struct Call {
        pub services: Services,
        pub session: Session,
        pub meta: RequestMeta,
        /// The tenant of the request's host, if it came to one.
        pub host: Option<tenantry::domain::TenantId>,
    }

    /// Runs a server function's `body` with the request's [`Call`]. A failure from script gets
    /// its proper HTTP status (400, 401, 409 …); a plain form post (no JavaScript) keeps the
    /// 302 back to the form that carries the error, and a page being rendered keeps its 200
    /// with the message in it.
    pub async fn serve<T, Fut>(body: impl FnOnce(Call) -> Fut) -> Result<T, AppError>
    where
        Fut: Future<Output = Result<T, AppError>>,
    {
        let result = match call().await {
            Ok(call) => body(call).await,
            Err(error) => Err(error),
        };
        if let Err(error) = &result {
            let parts = leptos::prelude::expect_context::<axum::http::request::Parts>();
            let from_browser = parts
                .headers
                .get(axum::http::header::ACCEPT)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|accept| accept.contains("text/html"));
            if !from_browser {
                if let Some(response) = leptos::prelude::use_context::<leptos_axum::ResponseOptions>() {
                    response.set_status(axum::http::StatusCode::from_u16(error.status).unwrap_or(axum::http::StatusCode::INTERNAL_SERVER_ERROR));
                }
            }
        }
        result
    }

    async fn call() -> Result<Call, AppError> {
        let state = leptos::prelude::expect_context::<AppState>();
        let parts = leptos::prelude::expect_context::<axum::http::request::Parts>();
        let session: Session = leptos_axum::extract()
            .await
            .map_err(|e| AppError::from(tenantry::ServiceError::Internal(anyhow::anyhow!("session unavailable: {e}"))))?;
        Ok(Call { services: state.services, session, meta: request_meta(&parts), host: crate::ssr::host_tenant(&parts) })
    }

    impl Call {
        /// Who is signed in in this browser, if anyone (a page shows a sign-in link for `None`).
        pub async fn actor(&self) -> Result<Option<Actor>, AppError> {
            Ok(session_actor(&self.services, &self.session, self.host, &self.meta).await?)
        }

        /// Who is signed in, for an action that needs someone: 401 otherwise.
        pub async fn signed_in(&self) -> Result<Actor, AppError> {
            self.actor().await?.ok_or_else(|| tenantry::ServiceError::unauthenticated("Please sign in again.").into())
        }
    }

    pub fn session_error(error: anyhow::Error) -> AppError {
        AppError::from(tenantry::ServiceError::Internal(error.context("session store failed")))
    }
}
