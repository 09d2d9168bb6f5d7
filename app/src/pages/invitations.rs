use leptos::{form::ActionForm, prelude::*};
use serde::{Deserialize, Serialize};
use leptos_meta::Title;
use leptos_router::components::Redirect;

use super::{
    form::{last_error, Field, FormError},
    layout::Header,
};
use crate::error::AppError;

/// `/invitations`: invite people and manage pending invitations (tenant admins).
#[component]
pub fn Invitations() -> impl IntoView {
    let send = ServerAction::<SendInvite>::new();
    let resend = ServerAction::<ResendInvite>::new();
    let revoke = ServerAction::<RevokeInvite>::new();
    let data = Resource::new_blocking(
        move || (send.version().get(), resend.version().get(), revoke.version().get()),
        |_| invitations(),
    );
    view! {
        <Title text="Invitations"/>
        <Suspense fallback=|| view! { <main><p>"Loading…"</p></main> }>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(Some(view)) => view! { <Page view send resend revoke/> }.into_any(),
                    Ok(None) => view! { <Redirect path="/login"/> }.into_any(),
                    Err(error) => view! { <main class="narrow"><div class="banner error" role="alert">{error.message}</div></main> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn Page(view: InvitationsView, send: ServerAction<SendInvite>, resend: ServerAction<ResendInvite>, revoke: ServerAction<RevokeInvite>) -> impl IntoView {
    let error = last_error(send.value());
    let sent_to = move || send.value().get().and_then(Result::ok);
    let row_error = Signal::derive(move || {
        resend.value().get().and_then(Result::err).or_else(|| revoke.value().get().and_then(Result::err))
    });
    let header = view! { <Header email=view.email.clone() tenant=view.tenant_name.clone() is_admin=view.is_admin/> };
    if !view.is_admin {
        return view! {
            {header}
            <main><h1>"Invitations"</h1><p>"Only administrators of this organisation can invite people."</p></main>
        }
        .into_any();
    }
    let rows = view.invitations.clone();
    view! {
        {header}
        <main>
            <h1>"Invitations"</h1>
            <section>
                <h2>"Invite someone"</h2>
                {move || sent_to().map(|email| view! { <div class="banner ok" role="status">"Invitation sent to " {email} "."</div> })}
                <ActionForm action=send attr:class="stack" attr:novalidate=true>
                    <FormError error/>
                    <div class="row">
                        <Field name="email" label="E-mail" kind="email" autocomplete="off" required=true error/>
                        <div class="field">
                            <label for="field-role">"Role"</label>
                            <select id="field-role" name="role">
                                <option value="VIEWER">"Viewer"</option>
                                <option value="ANALYST">"Analyst"</option>
                                <option value="ADMIN">"Admin"</option>
                            </select>
                            <p class="error" role="alert">{move || error.get().and_then(|e| e.field("role"))}</p>
                        </div>
                    </div>
                    <button type="submit" disabled=move || send.pending().get()>"Send invitation"</button>
                </ActionForm>
            </section>
            <section>
                <h2>"Pending " <span class="count">{rows.len()}</span></h2>
                {move || row_error.get().map(|e| view! { <div class="banner error" role="alert">{e.message}</div> })}
                {if rows.is_empty() {
                    view! { <p class="muted">"No pending invitations."</p> }.into_any()
                } else {
                    view! {
                        <table class="members invitations">
                            <thead><tr><th>"E-mail"</th><th>"Role"</th><th>"Expires"</th><th>"Invited by"</th><th></th></tr></thead>
                            <tbody>
                                {rows.into_iter().map(|row| {
                                    let (resend_id, revoke_id) = (row.id.clone(), row.id.clone());
                                    let resend_label = format!("Resend the invitation to {}", row.email);
                                    let revoke_label = format!("Revoke the invitation to {}", row.email);
                                    view! {
                                    <tr data-invitation-id=row.id>
                                        <td>{row.email}</td>
                                        <td>{row.role}</td>
                                        <td>{row.expires_at}</td>
                                        <td>{row.invited_by.unwrap_or_default()}</td>
                                        <td class="actions">
                                            <ActionForm action=resend attr:class="inline">
                                                <input type="hidden" name="id" value=resend_id/>
                                                <button type="submit" class="link" aria-label=resend_label>"Resend"</button>
                                            </ActionForm>
                                            " "
                                            <ActionForm action=revoke attr:class="inline">
                                                <input type="hidden" name="id" value=revoke_id/>
                                                <button type="submit" class="link danger" aria-label=revoke_label>"Revoke"</button>
                                            </ActionForm>
                                        </td>
                                    </tr>
                                }}).collect_view()}
                            </tbody>
                        </table>
                    }.into_any()
                }}
            </section>
        </main>
    }
    .into_any()
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
#[server(name = InvitationsData, prefix = "/fn", endpoint = "invitations")]
pub async fn invitations() -> Result<Option<InvitationsView>, AppError> {
    use tenantry::{
        service::{InvitationFilter, InvitationStatus, Raw},
        store::PageRequest,
    };
    crate::server_fns::context::serve(|call| async move {
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
    })
    .await
}

#[server(prefix = "/fn", endpoint = "send-invite")]
pub async fn send_invite(email: String, role: String) -> Result<String, AppError> {
    use tenantry::service::{InviteInput, Raw};
    crate::server_fns::context::serve(|call| async move {
        let actor = call.signed_in().await?;
        let input = InviteInput { email: Raw::text(email.clone()), role: Raw::text(role.clone()) };
        let issued = call
            .services
            .invite(&actor, None, input, &call.meta)
            .await
            .map_err(|e| AppError::from(e).with_values([("email", email.as_str()), ("role", role.as_str())]))?;
        Ok(issued.invitation.email)
    })
    .await
}

#[server(prefix = "/fn", endpoint = "resend-invite")]
pub async fn resend_invite(id: String) -> Result<(), AppError> {
    manage_invite(id, false).await
}

#[server(prefix = "/fn", endpoint = "revoke-invite")]
pub async fn revoke_invite(id: String) -> Result<(), AppError> {
    manage_invite(id, true).await
}

#[cfg(feature = "ssr")]
async fn manage_invite(id: String, revoke: bool) -> Result<(), AppError> {
    crate::server_fns::context::serve(|call| async move {
        let actor = call.signed_in().await?;
        let id = uuid::Uuid::parse_str(&id).map_err(|_| AppError::from(tenantry::ServiceError::NotFound))?;
        if revoke {
            call.services.revoke_invitation(&actor, id, &call.meta).await?;
        } else {
            call.services.resend_invitation(&actor, id, &call.meta).await?;
        }
        Ok(())
    })
    .await
}
