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
    pub is_admin: bool,
    pub is_superuser: bool,
    /// The caller's tenants, for the switcher in the header.
    pub tenants: Vec<TenantChoice>,
    pub members: Vec<MemberView>,
    pub member_count: i64,
    /// Every role of the tenant (built-in and its own), for the grant menus.
    pub role_names: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TenantChoice {
    pub id: String,
    pub name: String,
    pub current: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MemberView {
    pub id: String,
    pub email: String,
    pub name: String,
    pub roles: Vec<String>,
    pub is_self: bool,
}

#[cfg(feature = "ssr")]
pub(crate) mod context {
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
        /// The tenant of the request's host, if it came to one.
        pub host: Option<tenantry::domain::TenantId>,
    }

    pub async fn call() -> Result<Call, AppError> {
        let state = leptos::prelude::expect_context::<AppState>();
        let parts = leptos::prelude::expect_context::<axum::http::request::Parts>();
        let session: Session = leptos_axum::extract()
            .await
            .map_err(|e| AppError::new(ErrorKind::Internal, format!("session unavailable: {e}")))?;
        Ok(Call { services: state.services, session, meta: request_meta(&parts), host: crate::ssr::host_tenant(&parts) })
    }

    impl Call {
        pub async fn actor(&self) -> Result<Option<Actor>, AppError> {
            Ok(session_actor(&self.services, &self.session, self.host, &self.meta).await?)
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
    let input = LoginInput { email: Raw::text(email.clone()), password: Raw::text(password), tenant: call.host };
    let step = call
        .services
        .sign_in(input, &call.meta, false)
        .await
        .map_err(|e| AppError::from(e).with_values([("email", email.as_str())]))?;
    match step {
        tenantry::service::SignInStep::Done(profile, _) => {
            crate::ssr::start_session(&call.session, &profile.user, profile.tenant_id).await.map_err(context::session_error)?;
            leptos_axum::redirect("/");
        }
        // The code is owed: the token waits in this browser's session, never in a URL.
        tenantry::service::SignInStep::SecondFactor(pending) => {
            call.session.insert(crate::ssr::SESSION_MFA, pending.mfa_token).await.map_err(|e| context::session_error(e.into()))?;
            leptos_axum::redirect("/login/mfa");
        }
    }
    Ok(())
}

/// Whether this browser has a sign-in waiting for its second step.
#[server(prefix = "/fn", endpoint = "mfa-pending")]
pub async fn mfa_pending() -> Result<bool, AppError> {
    let call = context::call().await?;
    let token: Option<String> = call.session.get(crate::ssr::SESSION_MFA).await.ok().flatten();
    Ok(token.is_some())
}

#[server(prefix = "/fn", endpoint = "log-in-mfa")]
pub async fn log_in_mfa(code: String, recovery_code: Option<String>) -> Result<(), AppError> {
    context::finish(
        async move {
            use tenantry::service::Raw;
            let call = context::call().await?;
            let token: Option<String> = call.session.get(crate::ssr::SESSION_MFA).await.ok().flatten();
            let Some(token) = token else {
                return Err(AppError::new(crate::error::ErrorKind::Unauthenticated, "Sign in with your password first."));
            };
            let recovery = Raw::from_form(recovery_code.filter(|c| !c.trim().is_empty()));
            let code = if recovery.as_text().is_some() { Raw::Missing } else { Raw::text(code) };
            match call.services.complete_sign_in(Raw::text(token), code, recovery, &call.meta, false).await {
                Ok((profile, _)) => {
                    crate::ssr::start_session(&call.session, &profile.user, profile.tenant_id).await.map_err(context::session_error)?;
                    let _ = call.session.remove::<String>(crate::ssr::SESSION_MFA).await;
                    leptos_axum::redirect("/");
                    Ok(())
                }
                Err(error) => {
                    // A spent or expired step cannot be retried: back to the password.
                    if matches!(error, tenantry::ServiceError::Unauthenticated(_)) {
                        let _ = call.session.remove::<String>(crate::ssr::SESSION_MFA).await;
                    }
                    Err(error.into())
                }
            }
        }
        .await,
    )
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
    // Each member comes with their roles (one query): no second list to join, so nobody's
    // roles go missing however many assignments the tenant has.
    let (members, member_count, role_names) = if actor.tenant_id.is_some() {
        let page = call.services.list_users(&actor, PageRequest::first()).await?;
        let members = page
            .items
            .iter()
            .map(|p| MemberView {
                id: p.user.id.to_string(),
                email: p.user.email.clone(),
                name: format!("{} {}", p.user.first_name, p.user.last_name).trim().to_owned(),
                roles: p.roles.iter().map(|r| r.as_str().to_owned()).collect(),
                is_self: p.user.id == actor.user_id,
            })
            .collect();
        let role_names = call.services.list_roles(&actor).await?.into_iter().map(|r| r.name).collect();
        (members, page.count, role_names)
    } else {
        (Vec::new(), 0, Vec::new())
    };
    let tenants = call
        .services
        .my_tenants(&actor)
        .await?
        .into_iter()
        .map(|m| TenantChoice { id: m.tenant.id.to_string(), name: m.tenant.name, current: m.current })
        .collect();
    Ok(Some(HomeView {
        tenant_name: tenant.as_ref().map(|t| t.name.clone()),
        tenant_slug: tenant.as_ref().map(|t| t.slug.clone()),
        email: profile.user.email,
        roles: profile.roles.iter().map(|r| r.as_str().to_owned()).collect(),
        is_admin: actor.can(tenantry::domain::Permission::RolesWrite),
        is_superuser: actor.is_superuser,
        tenants,
        members,
        member_count,
        role_names,
    }))
}

/// What the `/invite?token=` page shows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum InviteView {
    Pending { tenant_name: String, inviter_email: Option<String>, email: String, role: Option<String>, account_exists: bool },
    Expired { tenant_name: String, inviter_email: Option<String> },
    Accepted { tenant_name: String },
    Revoked { tenant_name: String },
    Unknown,
}

/// Reads an invitation link without consuming it.
#[server(prefix = "/fn", endpoint = "invitation")]
pub async fn invitation(token: String) -> Result<InviteView, AppError> {
    use tenantry::service::InvitationPreview as P;
    let call = context::call().await?;
    Ok(match call.services.invitation_preview(&token).await? {
        P::Pending { tenant_name, inviter_email, email, role, account_exists } => InviteView::Pending { tenant_name, inviter_email, email, role, account_exists },
        P::Expired { tenant_name, inviter_email } => InviteView::Expired { tenant_name, inviter_email },
        P::Accepted { tenant_name } => InviteView::Accepted { tenant_name },
        P::Revoked { tenant_name } => InviteView::Revoked { tenant_name },
        P::Unknown => InviteView::Unknown,
    })
}

#[server(prefix = "/fn", endpoint = "accept-invite")]
pub async fn accept_invite(token: String, password: String, first_name: Option<String>, last_name: Option<String>) -> Result<(), AppError> {
    context::finish(accept_invite_inner(token, password, first_name, last_name).await)
}

#[cfg(feature = "ssr")]
async fn accept_invite_inner(token: String, password: String, first_name: Option<String>, last_name: Option<String>) -> Result<(), AppError> {
    use tenantry::service::{AcceptInvitationInput, Raw};
    let call = context::call().await?;
    let echo = [("first_name", first_name.as_deref().unwrap_or("")), ("last_name", last_name.as_deref().unwrap_or(""))];
    let input = AcceptInvitationInput {
        token: Raw::text(token),
        password: Raw::text(password),
        first_name: Raw::from_form(first_name.clone()),
        last_name: Raw::from_form(last_name.clone()),
    };
    let profile = call.services.accept_invitation(input, &call.meta).await.map_err(|e| AppError::from(e).with_values(echo))?;
    crate::ssr::start_session(&call.session, &profile.user, profile.tenant_id).await.map_err(context::session_error)?;
    leptos_axum::redirect("/");
    Ok(())
}

#[server(prefix = "/fn", endpoint = "request-reset")]
pub async fn request_reset(email: String) -> Result<(), AppError> {
    context::finish(request_reset_inner(email).await)
}

#[cfg(feature = "ssr")]
async fn request_reset_inner(email: String) -> Result<(), AppError> {
    use tenantry::service::Raw;
    let call = context::call().await?;
    call.services
        .request_password_reset(Raw::text(email.clone()), &call.meta)
        .await
        .map_err(|e| AppError::from(e).with_values([("email", email.as_str())]))?;
    leptos_axum::redirect("/password-reset?sent=1");
    Ok(())
}

/// Whether a reset link still works, and for which account.
#[server(prefix = "/fn", endpoint = "reset-link")]
pub async fn reset_link(token: String) -> Result<Option<String>, AppError> {
    use tenantry::service::ResetPreview;
    let call = context::call().await?;
    Ok(match call.services.password_reset_preview(&token).await? {
        ResetPreview::Valid { email } => Some(email),
        ResetPreview::Invalid => None,
    })
}

#[server(prefix = "/fn", endpoint = "confirm-reset")]
pub async fn confirm_reset(token: String, password: String) -> Result<(), AppError> {
    context::finish(confirm_reset_inner(token, password).await)
}

#[cfg(feature = "ssr")]
async fn confirm_reset_inner(token: String, password: String) -> Result<(), AppError> {
    use tenantry::service::Raw;
    let call = context::call().await?;
    call.services.confirm_password_reset(Raw::text(token), Raw::text(password), &call.meta).await?;
    // Any session in this browser belonged to the old password.
    crate::ssr::end_session(&call.session).await.map_err(context::session_error)?;
    leptos_axum::redirect("/login?reset=1");
    Ok(())
}

/// The admin's invitations page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InvitationsView {
    pub email: String,
    pub tenant_name: Option<String>,
    pub is_admin: bool,
    pub invitations: Vec<InvitationRow>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InvitationRow {
    pub id: String,
    pub email: String,
    pub role: String,
    pub status: String,
    pub expires_at: String,
    pub invited_by: Option<String>,
}

/// `None` when nobody is signed in.
#[server(prefix = "/fn", endpoint = "invitations")]
pub async fn invitations() -> Result<Option<InvitationsView>, AppError> {
    use tenantry::{
        service::{InvitationFilter, InvitationStatus, Raw},
        store::PageRequest,
    };
    let call = context::call().await?;
    let Some(actor) = call.actor().await? else { return Ok(None) };
    let tenant = call.services.current_tenant(&actor).await?;
    let filter = InvitationFilter { status: Raw::text("pending"), ..Default::default() };
    let (is_admin, rows) = match call.services.list_invitations(&actor, filter, PageRequest::first()).await {
        Ok(page) => {
            let now = chrono::Utc::now();
            let rows = page
                .items
                .iter()
                .map(|i| InvitationRow {
                    id: i.id.to_string(),
                    email: i.email.clone(),
                    role: i.role.as_ref().map_or_else(|| "—".to_owned(), |r| r.as_str().to_owned()),
                    status: InvitationStatus::of(i, now).as_str().to_owned(),
                    expires_at: i.expires_at.format("%Y-%m-%d %H:%M UTC").to_string(),
                    invited_by: i.inviter_email.clone(),
                })
                .collect();
            (true, rows)
        }
        Err(tenantry::ServiceError::Forbidden(_)) => (false, Vec::new()),
        Err(other) => return Err(other.into()),
    };
    Ok(Some(InvitationsView { email: actor.email.clone(), tenant_name: tenant.map(|t| t.name), is_admin, invitations: rows }))
}

#[server(prefix = "/fn", endpoint = "send-invite")]
pub async fn send_invite(email: String, role: String) -> Result<String, AppError> {
    context::finish(send_invite_inner(email, role).await)
}

#[cfg(feature = "ssr")]
async fn send_invite_inner(email: String, role: String) -> Result<String, AppError> {
    use tenantry::service::{InviteInput, Raw};
    let call = context::call().await?;
    let actor = call.actor().await?.ok_or_else(|| AppError::new(crate::error::ErrorKind::Unauthenticated, "Please sign in again."))?;
    let input = InviteInput { email: Raw::text(email.clone()), role: Raw::text(role.clone()) };
    let issued = call
        .services
        .invite(&actor, None, input, &call.meta)
        .await
        .map_err(|e| AppError::from(e).with_values([("email", email.as_str()), ("role", role.as_str())]))?;
    Ok(issued.invitation.email)
}

#[server(prefix = "/fn", endpoint = "resend-invite")]
pub async fn resend_invite(id: String) -> Result<(), AppError> {
    context::finish(manage_invite(id, false).await)
}

#[server(prefix = "/fn", endpoint = "revoke-invite")]
pub async fn revoke_invite(id: String) -> Result<(), AppError> {
    context::finish(manage_invite(id, true).await)
}

#[cfg(feature = "ssr")]
async fn manage_invite(id: String, revoke: bool) -> Result<(), AppError> {
    let call = context::call().await?;
    let actor = call.actor().await?.ok_or_else(|| AppError::new(crate::error::ErrorKind::Unauthenticated, "Please sign in again."))?;
    let id = uuid::Uuid::parse_str(&id).map_err(|_| AppError::from(tenantry::ServiceError::NotFound))?;
    if revoke {
        call.services.revoke_invitation(&actor, id, &call.meta).await?;
    } else {
        call.services.resend_invitation(&actor, id, &call.meta).await?;
    }
    Ok(())
}

/// Runs a signed-in action from a page; the error maps like every other.
#[cfg(feature = "ssr")]
pub(crate) async fn signed_in() -> Result<(context::Call, tenantry::service::Actor), AppError> {
    let call = context::call().await?;
    let actor = call.actor().await?.ok_or_else(|| AppError::new(crate::error::ErrorKind::Unauthenticated, "Please sign in again."))?;
    Ok((call, actor))
}

#[server(prefix = "/fn", endpoint = "grant-role")]
pub async fn grant_role(user: String, role: String) -> Result<(), AppError> {
    context::finish(async move {
        use tenantry::service::{AssignRoleInput, Raw};
        let (call, actor) = signed_in().await?;
        call.services.assign_role(&actor, AssignRoleInput { user: Raw::text(user), role: Raw::text(role) }, &call.meta).await?;
        Ok(())
    }.await)
}

#[server(prefix = "/fn", endpoint = "revoke-role")]
pub async fn revoke_role(user: String, role: String) -> Result<(), AppError> {
    context::finish(async move {
        let (call, actor) = signed_in().await?;
        call.services.revoke_member_role(&actor, &user, &role, &call.meta).await?;
        Ok(())
    }.await)
}

#[server(prefix = "/fn", endpoint = "remove-member")]
pub async fn remove_member(user: String) -> Result<(), AppError> {
    context::finish(async move {
        let (call, actor) = signed_in().await?;
        let user = tenantry::domain::UserId::parse(&user).map_err(|_| AppError::from(tenantry::ServiceError::NotFound))?;
        let tenant = actor.tenant().map_err(AppError::from)?;
        call.services.remove_member(&actor, tenant, user, &call.meta).await?;
        Ok(())
    }.await)
}

/// The tenant switcher: the session moves to another of the caller's tenants.
#[server(prefix = "/fn", endpoint = "switch-tenant")]
pub async fn switch_tenant(tenant_id: String) -> Result<(), AppError> {
    context::finish(async move {
        use tenantry::service::Raw;
        let (call, actor) = signed_in().await?;
        let profile = call.services.switch_tenant(&actor, Raw::text(tenant_id), &call.meta).await?;
        call.session
            .insert(crate::ssr::SESSION_TENANT, profile.tenant_id)
            .await
            .map_err(|e| context::session_error(e.into()))?;
        // A distinct URL, so a hydrated home page (already at "/") loads the new tenant's data.
        let tenant = profile.tenant_id.map(|t| t.to_string()).unwrap_or_default();
        leptos_axum::redirect(&format!("/?tenant={tenant}"));
        Ok(())
    }.await)
}

/// The platform page: every tenant, for superusers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlatformView {
    pub email: String,
    pub is_superuser: bool,
    pub tenants: Vec<PlatformTenant>,
    pub count: i64,
    /// The plans and templates the create form offers.
    pub plans: Vec<String>,
    pub templates: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlatformTenant {
    pub id: String,
    pub name: String,
    pub slug: String,
    pub status: String,
    pub created_at: String,
}

#[server(prefix = "/fn", endpoint = "platform")]
pub async fn platform() -> Result<Option<PlatformView>, AppError> {
    use tenantry::store::PageRequest;
    let call = context::call().await?;
    let Some(actor) = call.actor().await? else { return Ok(None) };
    if !actor.is_superuser {
        return Ok(Some(PlatformView { email: actor.email.clone(), is_superuser: false, tenants: Vec::new(), count: 0, plans: Vec::new(), templates: Vec::new() }));
    }
    let page = call.services.platform_tenants(&actor, PageRequest::first()).await?;
    let tenants = page
        .items
        .iter()
        .map(|t| PlatformTenant {
            id: t.id.to_string(),
            name: t.name.clone(),
            slug: t.slug.clone(),
            status: t.status.as_str().to_owned(),
            created_at: t.created_at.format("%Y-%m-%d").to_string(),
        })
        .collect();
    let plans = call.services.list_plans(&actor).await?.into_iter().map(|p| p.name).collect();
    let templates = call.services.provisioning_templates(&actor).await?.into_iter().map(|(name, _)| name).collect();
    Ok(Some(PlatformView { email: actor.email.clone(), is_superuser: true, tenants, count: page.count, plans, templates }))
}

/// What the platform's create form made.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CreatedTenant {
    pub name: String,
    pub slug: String,
    pub invited: Vec<String>,
}

/// The platform's create form: the same tenant description the provisioning API takes, as
/// form fields (errors come back under the fields' names).
#[server(prefix = "/fn", endpoint = "create-tenant")]
#[allow(clippy::too_many_arguments)]
pub async fn create_tenant(
    name: String,
    subdomain: Option<String>,
    plan: Option<String>,
    owner_email: Option<String>,
    contact_email: Option<String>,
    max_users: Option<String>,
    template: Option<String>,
) -> Result<CreatedTenant, AppError> {
    context::finish(async move {
        use serde_json::{json, Map, Value};
        use tenantry::service::{IfExists, ProvisionOptions, Provisioned, TenantDescription};
        let (call, actor) = signed_in().await?;
        let echo: Vec<(&str, String)> = vec![
            ("name", name.clone()),
            ("subdomain", subdomain.clone().unwrap_or_default()),
            ("owner_email", owner_email.clone().unwrap_or_default()),
            ("contact_email", contact_email.clone().unwrap_or_default()),
            ("max_users", max_users.clone().unwrap_or_default()),
        ];
        let fail = |e: tenantry::ServiceError| {
            let e = match e {
                tenantry::ServiceError::Validation(fields) => tenantry::ServiceError::Validation(fields.renamed(tenantry::service::csv_field)),
                tenantry::ServiceError::Conflict { detail, fields } => tenantry::ServiceError::Conflict { detail, fields: fields.renamed(tenantry::service::csv_field) },
                other => other,
            };
            AppError::from(e).with_values(echo.iter().map(|(k, v)| (*k, v.as_str())))
        };
        let mut tenant = Map::new();
        tenant.insert("name".into(), json!(name));
        let given = |v: &Option<String>| v.as_deref().map(str::trim).filter(|v| !v.is_empty()).map(str::to_owned);
        for (key, value) in [("subdomain", &subdomain), ("plan", &plan), ("contact_email", &contact_email)] {
            if let Some(value) = given(value) {
                tenant.insert(key.into(), json!(value));
            }
        }
        if let Some(max) = given(&max_users) {
            tenant.insert("max_users".into(), max.parse::<i64>().map_or_else(|_| json!(max), |n| json!(n)));
        }
        let users: Vec<Value> = given(&owner_email).map(|e| json!({"email": e, "role": "owner"})).into_iter().collect();
        let mut description = json!({"tenant": tenant, "users": users});
        if let Some(template) = given(&template) {
            description["template"] = json!(template);
        }
        let description = TenantDescription::parse(&description).map_err(|f| fail(tenantry::ServiceError::Validation(f)))?;
        let options = ProvisionOptions { dry_run: false, if_exists: IfExists::Conflict };
        match call.services.provision(Some(&actor), description, options, &call.meta).await.map_err(fail)? {
            Provisioned::Created(made) => {
                // A form posted without JavaScript lands on the list with the banner.
                let invited = if made.invitations.is_empty() { "" } else { "&invited=1" };
                leptos_axum::redirect(&format!("/platform?created={}{invited}", made.tenant.slug));
                Ok(CreatedTenant {
                name: made.tenant.name,
                slug: made.tenant.slug,
                invited: made.invitations.into_iter().map(|i| i.invitation.email).collect(),
                })
            }
            _ => Err(AppError::from(tenantry::ServiceError::NotFound)),
        }

    }.await)
}

/// Deletes a tenant from the platform page (the exact name typed back).
#[server(prefix = "/fn", endpoint = "delete-tenant")]
pub async fn delete_tenant(tenant_id: String, confirm_name: String) -> Result<(), AppError> {
    context::finish(async move {
        let (call, actor) = signed_in().await?;
        let tenant = tenantry::domain::TenantId::parse(&tenant_id).map_err(|_| AppError::from(tenantry::ServiceError::NotFound))?;
        call.services.delete_tenant(Some(&actor), tenant, tenantry::service::Raw::text(confirm_name), &call.meta).await?;
        Ok(())
    }.await)
}

/// Restores a deleted tenant from the platform page.
#[server(prefix = "/fn", endpoint = "restore-tenant")]
pub async fn restore_tenant(tenant_id: String) -> Result<(), AppError> {
    context::finish(async move {
        let (call, actor) = signed_in().await?;
        let tenant = tenantry::domain::TenantId::parse(&tenant_id).map_err(|_| AppError::from(tenantry::ServiceError::NotFound))?;
        call.services.restore_tenant(Some(&actor), tenant, &call.meta).await?;
        Ok(())
    }.await)
}

#[server(prefix = "/fn", endpoint = "set-suspended")]
pub async fn set_suspended(tenant_id: String, suspend: String) -> Result<(), AppError> {
    context::finish(async move {
        let (call, actor) = signed_in().await?;
        let tenant = tenantry::domain::TenantId::parse(&tenant_id).map_err(|_| AppError::from(tenantry::ServiceError::NotFound))?;
        call.services.set_tenant_suspended(&actor, tenant, suspend == "true", &call.meta).await?;
        Ok(())
    }.await)
}
