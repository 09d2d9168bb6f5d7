//! One module per page; shared form pieces in `form`.

mod analytics;
mod api_keys;
mod audit;
mod bulk_tenants;
mod dashboard;
mod form;
mod home;
mod import;
mod invitations;
mod invite;
mod layout;
mod login;
mod passkeys;
mod platform;
mod reset;
mod roles;
mod security;
mod settings;
mod signup;
mod usage;
mod webhooks;

pub use analytics::Analytics;
pub use api_keys::ApiKeys;
pub use audit::Audit;
pub use bulk_tenants::BulkTenants;
pub use dashboard::Dashboard;
pub use home::{Home, Logout};
pub use import::Import;
pub use invitations::Invitations;
pub use invite::Invite;
pub use reset::PasswordReset;
pub use login::{Login, LoginMfa};
pub use platform::Platform;
pub use roles::Roles;
pub use security::Security;
pub use settings::Settings;
pub use signup::SignUp;
pub use usage::Usage;
pub use webhooks::Webhooks;

use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    {
        if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
            response.set_status(axum::http::StatusCode::NOT_FOUND);
        }
    }
    view! {
        <Title text="Not found"/>
        <main class="narrow">
            <h1>"Page not found"</h1>
            <p>"There is nothing at this address. " <a href="/">"Go to your home page"</a> "."</p>
        </main>
    }
}
