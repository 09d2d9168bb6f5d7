//! The outside review's findings (issue 15) over HTTP, with the headers a browser sends.

use reqwest::{header, Client, StatusCode};
use serde_json::{json, Value};

use crate::helpers::*;

/// A browser-like form post to a server function: `Origin` and `Sec-Fetch-Site` as Chromium
/// sends them for a same-origin form.
async fn form(app: &TestApp, path: &str, fields: &[(&str, &str)], site: &str, origin: &str) -> reqwest::Response {
    app.client
        .post(app.url(path))
        .header("accept", "text/html")
        .header("origin", origin)
        .header("sec-fetch-site", site)
        .header("referer", app.url("/"))
        .form(fields)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn the_audit_export_streams_whole_under_gzip_and_brotli() {
    let app = spawn().await;
    let tenant = app.sign_up("Acme").await;
    for n in 0..3 {
        app.post("/api/users/", Some(&tenant.access), json!({"email": format!("m{n}@acme.test"), "password": PASSWORD})).await;
    }
    for (gzip, brotli) in [(true, false), (false, true)] {
        let client = Client::builder().gzip(gzip).brotli(brotli).build().unwrap();
        for format in ["json", "csv"] {
            let response = client
                .get(app.url(&format!("/api/audit-logs/?format={format}")))
                .bearer_auth(&tenant.access)
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), StatusCode::OK);
            let text = response.text().await.expect("the whole body arrives (no panic mid-stream)");
            match format {
                "json" => assert!(serde_json::from_str::<Value>(&text).unwrap().as_array().unwrap().len() >= 4, "{text}"),
                _ => assert!(text.lines().count() >= 5 && text.starts_with("id,tenant"), "{text}"),
            }
        }
    }
}

#[tokio::test]
async fn pages_and_api_answers_carry_the_security_headers() {
    let app = spawn().await;
    let page = app.client.get(app.url("/login")).header("accept", "text/html").send().await.unwrap();
    let headers = page.headers().clone();
    let html = page.text().await.unwrap();
    let csp = headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap().to_owned();
    let nonce = csp.split("'nonce-").nth(1).and_then(|rest| rest.split('\'').next()).expect("a nonce in the policy").to_owned();
    assert!(csp.contains("frame-ancestors 'none'") && csp.contains("object-src 'none'") && !csp.contains("unsafe-inline"), "{csp}");
    assert!(html.contains(&format!("nonce=\"{nonce}\"")), "the hydration script carries this response's nonce");
    let again = app.client.get(app.url("/login")).send().await.unwrap();
    assert!(!again.headers()[header::CONTENT_SECURITY_POLICY].to_str().unwrap().contains(&nonce), "a fresh nonce per response");
    for response_headers in [&headers, &app.client.get(app.url("/api/health/")).send().await.unwrap().headers().clone()] {
        assert_eq!(response_headers[header::X_FRAME_OPTIONS], "DENY");
        assert_eq!(response_headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
        assert_eq!(response_headers[header::REFERRER_POLICY], "same-origin", "never sent to another origin");
        assert_eq!(response_headers[header::CACHE_CONTROL], "no-store");
        assert!(response_headers.get(header::STRICT_TRANSPORT_SECURITY).is_none(), "no HSTS over plain http");
    }
    let api = app.client.get(app.url("/api/health/")).send().await.unwrap();
    assert!(api.headers()[header::CONTENT_SECURITY_POLICY].to_str().unwrap().starts_with("default-src 'none'"));

    let https = spawn_with(&[("FRONTEND_BASE_URL", "https://tenantry.example.com")]).await;
    let hsts = https.client.get(https.url("/api/health/")).send().await.unwrap();
    assert!(hsts.headers()[header::STRICT_TRANSPORT_SECURITY].to_str().unwrap().contains("max-age="));
}

#[tokio::test]
async fn a_cross_site_form_post_changes_nothing_and_same_origin_forms_work() {
    let app = spawn().await;
    let tenant = app.sign_up("Acme").await;
    let (bob, _) = app.member(&tenant, "bob@acme.test").await;
    let own = app.base.clone();
    // Login CSRF: a form on another site signing the victim's browser in.
    let forged = form(&app, "/fn/log-in", &[("email", "admin@acme.test"), ("password", PASSWORD)], "cross-site", "https://evil.example").await;
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    assert_eq!(app.get("/api/me/", None).await.status, StatusCode::UNAUTHORIZED, "no session was started");

    let login = form(&app, "/fn/log-in", &[("email", "admin@acme.test"), ("password", PASSWORD)], "same-origin", &own).await;
    assert_eq!(login.status(), StatusCode::FOUND);
    for (site, origin) in [("cross-site", "https://evil.example"), ("same-site", "https://sibling.acme.test")] {
        let grant = form(&app, "/fn/grant-role", &[("user", bob.as_str()), ("role", "ADMIN")], site, origin).await;
        assert_eq!(grant.status(), StatusCode::FORBIDDEN, "{site}");
    }
    // An older browser that sends Origin only.
    let old = app.client.post(app.url("/fn/grant-role")).header("origin", "https://evil.example").form(&[("user", bob.as_str()), ("role", "ADMIN")]).send().await.unwrap();
    assert_eq!(old.status(), StatusCode::FORBIDDEN);
    let roles = app.get(&format!("/api/user-roles/?user={bob}"), Some(&tenant.access)).await;
    assert_eq!(roles.body["count"], 0, "no role was granted: {}", roles.body);

    let grant = form(&app, "/fn/grant-role", &[("user", bob.as_str()), ("role", "ANALYST")], "same-origin", &own).await;
    assert!(grant.status().is_redirection() || grant.status().is_success(), "{}", grant.status());
    assert_eq!(app.get(&format!("/api/user-roles/?user={bob}"), Some(&tenant.access)).await.body["count"], 1);
}

#[tokio::test]
async fn page_forms_count_against_the_per_ip_limit_and_reads_do_not() {
    let app = spawn_with(&[("RATE_LIMIT_DISABLED", "0"), ("RATE_LIMIT_PER_IP_PER_MINUTE", "3")]).await;
    let own = app.base.clone();
    for _ in 0..10 {
        assert_eq!(app.get("/api/tenants/", None).await.status, StatusCode::UNAUTHORIZED, "a read is not a sign-in attempt");
    }
    for _ in 0..3 {
        let response = form(&app, "/fn/log-in", &[("email", "who@x.test"), ("password", "a wrong password")], "same-origin", &own).await;
        assert_eq!(response.status(), StatusCode::FOUND);
    }
    let fields = [
        ("email", "who@x.test"), ("password", "a wrong password"), ("name", "Acme"), ("admin_email", "a@x.test"),
        ("admin_password", "a wrong password"), ("token", "not-a-token"),
    ];
    for path in ["/fn/log-in", "/fn/sign-up", "/fn/request-reset", "/fn/accept-invite", "/fn/confirm-reset"] {
        let response = app.client.post(app.url(path)).header("accept", "application/json").form(&fields).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS, "{path}");
    }
    // The API shares the same bucket.
    assert_eq!(app.post("/api/auth/login/", None, json!({"email": "who@x.test", "password": "x"})).await.status, StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn behind_a_trusted_proxy_the_forwarded_client_is_audited_and_limited() {
    let app = spawn_with(&[("TRUSTED_PROXIES", "127.0.0.1/32"), ("RATE_LIMIT_DISABLED", "0"), ("RATE_LIMIT_PER_IP_PER_MINUTE", "2")]).await;
    let login = |client_ip: &'static str| {
        app.client
            .post(app.url("/api/auth/login/"))
            .header("x-forwarded-for", format!("6.6.6.6, {client_ip}"))
            .json(&json!({"email": "nobody@x.test", "password": "whatever it is"}))
            .send()
    };
    for _ in 0..2 {
        assert_eq!(login("198.51.100.1").await.unwrap().status(), StatusCode::UNAUTHORIZED);
    }
    assert_eq!(login("198.51.100.1").await.unwrap().status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(login("198.51.100.2").await.unwrap().status(), StatusCode::UNAUTHORIZED, "another client behind the proxy");

    let signup = app
        .client
        .post(app.url("/api/tenants/"))
        .header("x-forwarded-for", "203.0.113.50")
        .json(&json!({"name": "Acme", "admin_email": "admin@acme.test", "admin_password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(signup.status(), StatusCode::CREATED);
    let tenant: Value = signup.json().await.unwrap();
    let mut tx = app.services.db().read().await.unwrap();
    let tenant_id = tenantry::domain::TenantId::parse(tenant["id"].as_str().unwrap()).unwrap();
    let ips = tx.audit_ips(tenant_id).await.unwrap();
    assert!(!ips.is_empty() && ips.iter().all(|ip| ip.as_deref() == Some("203.0.113.50")), "the forwarded client, not the proxy: {ips:?}");

    // Without the setting, the header is the client's word and is ignored.
    let direct = spawn().await;
    let reply = direct
        .client
        .post(direct.url("/api/tenants/"))
        .header("x-forwarded-for", "203.0.113.50")
        .json(&json!({"name": "Acme", "admin_email": "admin@acme.test", "admin_password": PASSWORD}))
        .send()
        .await
        .unwrap();
    let tenant: Value = reply.json().await.unwrap();
    let tenant_id = tenantry::domain::TenantId::parse(tenant["id"].as_str().unwrap()).unwrap();
    let ips = direct.services.db().read().await.unwrap().audit_ips(tenant_id).await.unwrap();
    assert!(!ips.is_empty() && ips.iter().all(|ip| ip.as_deref() == Some("127.0.0.1")), "{ips:?}");
}

#[tokio::test]
async fn pagination_links_use_the_public_base_url_not_the_host_header() {
    let app = spawn_with(&[("FRONTEND_BASE_URL", "https://tenantry.example.com")]).await;
    let tenant = app.sign_up("Acme").await;
    // A page holds 100 members: 101 make a second page.
    for n in 0..100 {
        app.post("/api/users/", Some(&tenant.access), json!({"email": format!("m{n}@acme.test"), "password": PASSWORD})).await;
    }
    let reply = app.client.get(app.url("/api/users/")).bearer_auth(&tenant.access).header("host", "evil.example").send().await.unwrap();
    let body: Value = reply.json().await.unwrap();
    assert!(body["count"].as_i64().unwrap() > 100, "{body}");
    let next = body["next"].as_str().expect("a second page");
    assert!(next.starts_with("https://tenantry.example.com/api/users/?page=2"), "{next}");
    assert!(!body.to_string().contains("evil.example"));
}

#[tokio::test]
async fn the_member_list_does_not_tell_members_who_is_a_superuser() {
    let app = spawn().await;
    let tenant = app.sign_up("Acme").await;
    let (_, bob_access) = app.member(&tenant, "bob@acme.test").await;
    app.services.create_superuser("admin@acme.test", None).await.unwrap();
    let list = app.get("/api/users/", Some(&bob_access)).await;
    for user in list.body["results"].as_array().unwrap() {
        match user["email"].as_str().unwrap() {
            "bob@acme.test" => assert_eq!(user["is_superuser"], false, "about themselves"),
            _ => assert!(user.get("is_superuser").is_none(), "{user}"),
        }
    }
}

#[tokio::test]
async fn empty_accept_and_reset_bodies_report_every_missing_field() {
    let app = spawn().await;
    for path in ["/api/users/accept-invite/", "/api/auth/password-reset/confirm/"] {
        let reply = app.post(path, None, json!({})).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{path}");
        assert!(!reply.field("token").is_empty() && !reply.field("password").is_empty(), "{path}: {}", reply.body);
    }
}

#[tokio::test]
async fn an_invitation_token_survives_only_five_wrong_passwords_over_the_api() {
    let app = spawn().await;
    app.sign_up("Victim").await;
    let attacker = app.sign_up("Attacker").await;
    let invite = app.post("/api/users/invite/", Some(&attacker.access), json!({"email": "admin@victim.test"})).await;
    let token = invite.body["token"].as_str().unwrap().to_owned();
    let mut statuses = Vec::new();
    for n in 0..6 {
        statuses.push(app.post("/api/users/accept-invite/", None, json!({"token": token, "password": format!("guess {n} guess")})).await.status);
    }
    assert_eq!(statuses[..4], [StatusCode::BAD_REQUEST; 4]);
    assert_eq!(statuses[4..], [StatusCode::GONE; 2]);
    let right = app.post("/api/users/accept-invite/", None, json!({"token": token, "password": PASSWORD})).await;
    assert_eq!(right.status, StatusCode::GONE, "{}", right.body);
}

#[tokio::test]
async fn wrong_passwords_through_login_and_accept_invite_share_one_limit_that_never_locks_the_owner_out() {
    let app = spawn_with(&[("TRUSTED_PROXIES", "127.0.0.1/32"), ("RATE_LIMIT_DISABLED", "0"), ("RATE_LIMIT_PER_ACCOUNT_PER_MINUTE", "3")]).await;
    let victim = app.sign_up("Victim").await;
    let attacker = app.sign_up("Attacker").await;
    let token = app.post("/api/users/invite/", Some(&attacker.access), json!({"email": victim.admin_email})).await.body["token"].as_str().unwrap().to_owned();
    let from = |client: &'static str, path: &str, body: Value| app.client.post(app.url(path)).header("x-forwarded-for", client).json(&body).send();
    let attacker_ip = "203.0.113.7";
    for _ in 0..2 {
        let guess = from(attacker_ip, "/api/auth/login/", json!({"email": victim.admin_email, "password": "wrong guess!"})).await.unwrap();
        assert_eq!(guess.status(), StatusCode::UNAUTHORIZED);
    }
    let guess = from(attacker_ip, "/api/users/accept-invite/", json!({"token": token, "password": "wrong guess!"})).await.unwrap();
    assert_eq!(guess.status(), StatusCode::BAD_REQUEST);
    // The fourth check of this account from that address is refused on either path, even with the right password.
    for (path, body) in [("/api/users/accept-invite/", json!({"token": token, "password": PASSWORD})), ("/api/auth/login/", json!({"email": victim.admin_email, "password": PASSWORD}))] {
        let refused = from(attacker_ip, path, body).await.unwrap();
        assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS, "{path}");
        assert!(refused.headers().get(header::RETRY_AFTER).is_some(), "{path}");
    }
    // The owner, from their own address, signs in at once.
    let owner = from("198.51.100.20", "/api/auth/login/", json!({"email": victim.admin_email, "password": PASSWORD})).await.unwrap();
    assert_eq!(owner.status(), StatusCode::OK);
    // Every failed check is in the victim's own audit trail.
    let failed_logins = app.get("/api/audit-logs/?action=login_failed", Some(&victim.access)).await;
    assert!(failed_logins.body["count"].as_i64().unwrap() >= 2, "{}", failed_logins.body);
    let failed_accepts = app.get("/api/audit-logs/?action=invitation_password_failed", Some(&victim.access)).await;
    assert!(failed_accepts.body["count"].as_i64().unwrap() >= 1, "{}", failed_accepts.body);
}
