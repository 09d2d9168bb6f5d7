//! Two-factor sign-in over HTTP: enrolment, the second step of `/api/auth/login/`, and the
//! `require_2fa` gate. Codes are computed from the secret, as an authenticator app would.

use reqwest::StatusCode;
use serde_json::json;
use tenantry::domain::TotpSecret;

use crate::helpers::*;

fn step_now() -> i64 {
    chrono::Utc::now().timestamp().div_euclid(30)
}

/// Turns TOTP on for the holder of `access`; returns the secret and the recovery codes.
async fn enrol(app: &TestApp, access: &str) -> (TotpSecret, Vec<String>) {
    let started = app.post("/api/me/2fa/totp/", Some(access), json!({})).await;
    assert_eq!(started.status, StatusCode::OK, "{}", started.body);
    assert!(started.body["otpauth_uri"].as_str().unwrap().starts_with("otpauth://totp/Tenantry:"));
    let secret = TotpSecret::from_base32(started.body["secret"].as_str().unwrap()).unwrap();
    let confirmed = app.post("/api/me/2fa/totp/confirm/", Some(access), json!({"code": secret.code_at_step(step_now())})).await;
    assert_eq!(confirmed.status, StatusCode::OK, "{}", confirmed.body);
    let codes = confirmed.body["recovery_codes"].as_array().unwrap().iter().map(|c| c.as_str().unwrap().to_owned()).collect();
    (secret, codes)
}

#[tokio::test]
async fn login_with_totp_on_takes_a_second_step_with_a_code_or_a_recovery_code() {
    let app = spawn().await;
    let tenant = app.sign_up("Acme").await;
    let wrong_first = app.post("/api/me/2fa/totp/confirm/", Some(&tenant.access), json!({"code": "123456"})).await;
    assert_eq!(wrong_first.status, StatusCode::BAD_REQUEST, "nothing started yet: {}", wrong_first.body);
    let (secret, codes) = enrol(&app, &tenant.access).await;
    assert_eq!(codes.len(), 10);
    assert_eq!(app.post("/api/me/2fa/totp/", Some(&tenant.access), json!({})).await.status, StatusCode::CONFLICT);

    let login = app.post("/api/auth/login/", None, json!({"email": tenant.admin_email, "password": PASSWORD})).await;
    assert_eq!(login.status, StatusCode::OK);
    assert_eq!(login.body["mfa_required"], true);
    assert_eq!(login.body["methods"], json!(["totp", "recovery_code"]));
    assert!(login.body.get("access").is_none(), "no tokens before the second step");
    let token = login.body["mfa_token"].as_str().unwrap().to_owned();

    let code = secret.code_at_step(step_now() + 1);
    let done = app.post("/api/auth/login/mfa/", None, json!({"mfa_token": token, "code": code})).await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    let access = done.body["access"].as_str().unwrap().to_owned();
    assert_eq!(app.get("/api/me/", Some(&access)).await.status, StatusCode::OK);
    assert_eq!(app.post("/api/auth/login/mfa/", None, json!({"mfa_token": token, "code": code})).await.status, StatusCode::UNAUTHORIZED);

    let login = app.post("/api/auth/login/", None, json!({"email": tenant.admin_email, "password": PASSWORD})).await;
    let token = login.body["mfa_token"].as_str().unwrap().to_owned();
    let replay = app.post("/api/auth/login/mfa/", None, json!({"mfa_token": token, "code": code})).await;
    assert_eq!(replay.status, StatusCode::BAD_REQUEST, "a code works once: {}", replay.body);
    assert!(!replay.field("code").is_empty());
    let recovered = app.post("/api/auth/login/mfa/", None, json!({"mfa_token": token, "recovery_code": codes[0]})).await;
    assert_eq!(recovered.status, StatusCode::OK, "{}", recovered.body);
    let missing = app.post("/api/auth/login/mfa/", None, json!({})).await;
    assert_eq!(missing.status, StatusCode::BAD_REQUEST);
    assert!(!missing.field("mfa_token").is_empty() && !missing.field("code").is_empty(), "{}", missing.body);

    let access = recovered.body["access"].as_str().unwrap().to_owned();
    let removed = app.remove("/api/me/2fa/totp/", None).await;
    assert_eq!(removed.status, StatusCode::UNAUTHORIZED);
    let body = json!({"password": PASSWORD, "code": secret.code_at_step(step_now() - 1)});
    let refused = app.client.delete(app.url("/api/me/2fa/totp/")).bearer_auth(&access).json(&body).send().await.unwrap();
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST, "an older code than the last one used");
    let body = json!({"password": PASSWORD, "code": codes[1]});
    let off = app.client.delete(app.url("/api/me/2fa/totp/")).bearer_auth(&access).json(&body).send().await.unwrap();
    assert_eq!(off.status(), StatusCode::NO_CONTENT);
    app.login(&tenant.admin_email, PASSWORD).await;
}

#[tokio::test]
async fn require_2fa_leaves_members_without_a_factor_only_enrolment_and_me() {
    let app = spawn().await;
    let tenant = app.sign_up("Acme").await;
    let (_, member) = app.member(&tenant, "bob@acme.test").await;
    enrol(&app, &tenant.access).await;
    let saved = app.put(&format!("/api/tenants/{}/security-policy/", tenant.id), Some(&tenant.access), json!({"require_2fa": true})).await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);

    let gated = app.get("/api/users/", Some(&member)).await;
    assert_eq!(gated.status, StatusCode::FORBIDDEN);
    assert_eq!(gated.body["code"], "2fa_enrollment_required");
    assert_eq!(app.get("/api/me/", Some(&member)).await.status, StatusCode::OK);
    let (secret, _) = enrol(&app, &member).await;
    assert_eq!(app.get("/api/users/", Some(&member)).await.status, StatusCode::OK, "enrolled: the gate lifts");
    let _ = secret;
}

#[tokio::test]
async fn a_browser_held_back_by_require_2fa_is_sent_to_set_up_a_factor_from_every_other_page() {
    let app = spawn().await;
    let tenant = app.sign_up("Acme").await;
    app.member(&tenant, "bob@acme.test").await;
    enrol(&app, &tenant.access).await;
    app.put(&format!("/api/tenants/{}/security-policy/", tenant.id), Some(&tenant.access), json!({"require_2fa": true})).await;
    // Bob signs in with the page's form: a browser session.
    let signed_in = app
        .client
        .post(app.url("/fn/log-in"))
        .header("accept", "text/html")
        .header("referer", app.url("/login"))
        .form(&[("email", "bob@acme.test"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(signed_in.status(), StatusCode::FOUND);
    let page = |path: &'static str| app.client.get(app.url(path)).header("accept", "text/html").send();
    for path in ["/", "/roles", "/usage", "/webhooks", "/dashboard"] {
        let response = page(path).await.unwrap();
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{path}");
        assert_eq!(response.headers()["location"], "/security?enrol=1", "{path}");
    }
    let security = page("/security").await.unwrap();
    assert_eq!(security.status(), StatusCode::OK);
    assert!(security.text().await.unwrap().contains("requires two-factor sign-in"));
    for open in ["/logout", "/login"] {
        assert_ne!(page(open).await.unwrap().status(), StatusCode::SEE_OTHER, "{open}");
    }
    // Static files are not pages.
    assert_ne!(page("/favicon.svg").await.unwrap().status(), StatusCode::SEE_OTHER);
}
