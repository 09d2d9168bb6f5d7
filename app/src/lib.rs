//! Tenantry's pages: server-rendered with Leptos, hydrated when JavaScript loads, and usable
//! without it (every form posts to a server function and falls back to a redirect).

pub mod error;
mod pages;
pub mod server_fns;
#[cfg(feature = "ssr")]
pub mod ssr;

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, Link, MetaTags, Stylesheet, Title};
use leptos_router::{
    components::{Route, Router, Routes},
    path, SsrMode,
};

/// The HTML document around every page.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    #[cfg(feature = "ssr")]
    ssr::set_page_policy();
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <AutoReload options=options.clone()/>
                <HydrationScripts options/>
                // Passkeys (WebAuthn) are a browser API: the one script the pages need of their own.
                <script defer src="/passkeys.js" nonce=leptos::nonce::use_nonce()></script>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    view! {
        <Stylesheet id="leptos" href="/pkg/tenantry.css"/>
        <Link rel="icon" type_="image/svg+xml" href="/favicon.svg"/>
        <Title formatter=|title: String| if title.is_empty() { "Tenantry".to_owned() } else { format!("{title} · Tenantry") }/>
        <Router>
            <Routes fallback=pages::NotFound>
                <Route path=path!("/") view=pages::Home ssr=SsrMode::Async/>
                <Route path=path!("/signup") view=pages::SignUp/>
                <Route path=path!("/login") view=pages::Login ssr=SsrMode::Async/>
                <Route path=path!("/login/mfa") view=pages::LoginMfa ssr=SsrMode::Async/>
                <Route path=path!("/logout") view=pages::Logout/>
                <Route path=path!("/invite") view=pages::Invite ssr=SsrMode::Async/>
                <Route path=path!("/password-reset") view=pages::PasswordReset ssr=SsrMode::Async/>
                <Route path=path!("/invitations") view=pages::Invitations ssr=SsrMode::Async/>
                <Route path=path!("/audit") view=pages::Audit ssr=SsrMode::Async/>
                <Route path=path!("/platform") view=pages::Platform ssr=SsrMode::Async/>
                <Route path=path!("/roles") view=pages::Roles ssr=SsrMode::Async/>
                <Route path=path!("/api-keys") view=pages::ApiKeys ssr=SsrMode::Async/>
                <Route path=path!("/import") view=pages::Import ssr=SsrMode::Async/>
                <Route path=path!("/platform/bulk") view=pages::BulkTenants ssr=SsrMode::Async/>
                <Route path=path!("/settings") view=pages::Settings ssr=SsrMode::Async/>
                <Route path=path!("/security") view=pages::Security ssr=SsrMode::Async/>
                <Route path=path!("/usage") view=pages::Usage ssr=SsrMode::Async/>
                <Route path=path!("/webhooks") view=pages::Webhooks ssr=SsrMode::Async/>
                <Route path=path!("/dashboard") view=pages::Dashboard ssr=SsrMode::Async/>
                <Route path=path!("/platform/analytics") view=pages::Analytics ssr=SsrMode::Async/>
            </Routes>
        </Router>
    }
}
