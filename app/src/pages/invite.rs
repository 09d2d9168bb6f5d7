use leptos::{form::ActionForm, prelude::*};
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use super::form::{last_error, Field, FormError};
use serde::{Deserialize, Serialize};

use crate::error::AppError;

/// `/invite?token=…`: where an invitation e-mail leads. Opening it changes nothing; only the
/// form's POST accepts.
#[component]
pub fn Invite() -> impl IntoView {
    let query = use_query_map();
    let token = move || query.read().get("token").unwrap_or_default();
    let preview = Resource::new_blocking(token, invitation);
    view! {
        <Title text="Your invitation"/>
        <main class="narrow">
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match preview.await {
                        Ok(InviteView::Pending { tenant_name, inviter_email, email, role, account_exists }) => view! {
                            <AcceptForm token=token() tenant_name inviter_email email role account_exists/>
                        }.into_any(),
                        Ok(InviteView::Expired { tenant_name, inviter_email }) => view! {
                            <h1>"This invitation has expired"</h1>
                            <p>"The invitation to join " <strong>{tenant_name}</strong> " is no longer valid. "
                               {match inviter_email {
                                   Some(who) => format!("Ask {who} to send you a new one."),
                                   None => "Ask an administrator of the organisation to send you a new one.".to_owned(),
                               }}</p>
                        }.into_any(),
                        Ok(InviteView::Accepted { tenant_name }) => view! {
                            <h1>"Invitation already used"</h1>
                            <p>"This invitation to join " <strong>{tenant_name}</strong> " has already been accepted. "
                               <a href="/login">"Sign in"</a> " to continue, or "
                               <a href="/password-reset">"reset your password"</a> " if you forgot it."</p>
                        }.into_any(),
                        Ok(InviteView::Revoked { tenant_name }) => view! {
                            <h1>"Invitation withdrawn"</h1>
                            <p>"An administrator of " <strong>{tenant_name}</strong>
                               " withdrew this invitation. If you think this is a mistake, ask them to invite you again."</p>
                        }.into_any(),
                        Ok(InviteView::Unknown) => view! {
                            <h1>"This invitation link is not valid"</h1>
                            <p>"The link may be incomplete (copy the whole link from the e-mail) or replaced by a newer invitation. "
                               "Check your inbox for the latest invitation, or ask the person who invited you to send it again."</p>
                        }.into_any(),
                        Err(error) => view! { <div class="banner error" role="alert">{error.message}</div> }.into_any(),
                    }
                })}
            </Suspense>
        </main>
    }
}

#[component]
fn AcceptForm(token: String, tenant_name: String, inviter_email: Option<String>, email: String, role: Option<String>, account_exists: bool) -> impl IntoView {
    let action = ServerAction::<AcceptInvite>::new();
    let error = last_error(action.value());
    let role_text = role.map(|r| format!(" as {r}")).unwrap_or_default();
    view! {
        <h1>"Join " {tenant_name.clone()}</h1>
        <p class="lead">
            {inviter_email.map(|who| format!("{who} invited ")).unwrap_or_else(|| "You were invited: ".to_owned())}
            <strong>{email.clone()}</strong> " to join " <strong>{tenant_name}</strong> {role_text} "."
        </p>
        <ActionForm action=action attr:class="stack" attr:novalidate=true>
            <FormError error/>
            <input type="hidden" name="token" value=token/>
            {if account_exists {
                view! {
                    <p>"You already have a Tenantry account with this e-mail. Confirm it is you with its password."</p>
                    <Field name="password" label="Your current password" kind="password" autocomplete="current-password" required=true error/>
                }.into_any()
            } else {
                view! {
                    <div class="row">
                        <Field name="first_name" label="First name" autocomplete="given-name" error/>
                        <Field name="last_name" label="Last name" autocomplete="family-name" error/>
                    </div>
                    <Field name="password" label="Choose a password" kind="password" autocomplete="new-password" required=true
                        hint="At least 8 characters; not a common password." error/>
                }.into_any()
            }}
            <button type="submit" disabled=move || action.pending().get()>"Accept invitation"</button>
        </ActionForm>
    }
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
    crate::server_fns::context::serve(|call| async move {
        Ok(match call.services.invitation_preview(&token).await? {
            P::Pending { tenant_name, inviter_email, email, role, account_exists } => InviteView::Pending { tenant_name, inviter_email, email, role, account_exists },
            P::Expired { tenant_name, inviter_email } => InviteView::Expired { tenant_name, inviter_email },
            P::Accepted { tenant_name } => InviteView::Accepted { tenant_name },
            P::Revoked { tenant_name } => InviteView::Revoked { tenant_name },
            P::Unknown => InviteView::Unknown,
        })
    })
    .await
}

#[server(prefix = "/fn", endpoint = "accept-invite")]
pub async fn accept_invite(token: String, password: String, first_name: Option<String>, last_name: Option<String>) -> Result<(), AppError> {
    use tenantry::service::{AcceptInvitationInput, Raw};
    crate::server_fns::context::serve(|call| async move {
        let echo = [("first_name", first_name.as_deref().unwrap_or("")), ("last_name", last_name.as_deref().unwrap_or(""))];
        let input = AcceptInvitationInput {
            token: Raw::text(token),
            password: Raw::text(password),
            first_name: Raw::from_form(first_name.clone()),
            last_name: Raw::from_form(last_name.clone()),
        };
        let profile = call.services.accept_invitation(input, &call.meta).await.map_err(|e| AppError::from(e).with_values(echo))?;
        crate::ssr::start_session(&call.session, &profile.user, profile.tenant_id).await.map_err(crate::server_fns::context::session_error)?;
        leptos_axum::redirect("/");
        Ok(())
    })
    .await
}
