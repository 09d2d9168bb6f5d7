use leptos::{form::ActionForm, prelude::*};
use leptos_meta::Title;
use leptos_router::components::Redirect;

use super::{
    form::{last_error, Field, FormError},
    layout::Header,
};
use crate::server_fns::{invitations, InvitationsView, ResendInvite, RevokeInvite, SendInvite};

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
