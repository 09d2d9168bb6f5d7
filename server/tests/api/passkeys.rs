//! Passkeys over HTTP: the caller's own (register, list, remove), signing in with one alone,
//! one as the second step of `/api/auth/login/`, and the pages' server functions the script
//! calls. The browser's side is `tenantry::testing::authenticator::SoftPasskey`.

use reqwest::StatusCode;
use serde_json::{json, Value};
use tenantry::testing::authenticator::SoftPasskey;

use crate::helpers::*;

/// Registers a software passkey for the holder of `access`; returns it and the API's answer.
async fn register(app: &TestApp, access: &str, name: &str) -> (SoftPasskey, Value) {
    let options = app.post("/api/me/passkeys/options/", Some(access), json!({})).await;
    assert_eq!(options.status, StatusCode::OK, "{}", options.body);
    let mut key = SoftPasskey::new();
    let credential = key.register(&options.body);
    let created = app.post("/api/me/passkeys/", Some(access), json!({"ceremony": options.body["ceremony"], "name": name, "credential": credential})).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    (key, created.body)
}

async fn delete_with(app: &TestApp, path: &str, access: &str, body: Value) -> Reply {
    let response = app.client.delete(app.url(path)).bearer_auth(access).json(&body).send().await.unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    Reply { status, headers: Default::default(), body: if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap() } }
}

#[tokio::test]
async fn a_passkey_is_registered_listed_used_to_sign_in_and_removed() {
    let app = spawn().await;
    let tenant = app.sign_up("Acme").await;
    let options = app.post("/api/me/passkeys/options/", Some(&tenant.access), json!({})).await;
    assert_eq!(options.status, StatusCode::OK);
    assert!(options.body["ceremony"].is_string() && options.body["publicKey"]["challenge"].is_string(), "{}", options.body);
    assert_eq!(options.body["publicKey"]["user"]["name"], tenant.admin_email);

    let bad = app.post("/api/me/passkeys/", Some(&tenant.access), json!({"ceremony": options.body["ceremony"], "credential": {"id": "x"}})).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.body);
    assert!(!bad.field("credential").is_empty());
    let wrong_type = app.post("/api/me/passkeys/", Some(&tenant.access), json!({"ceremony": 5, "credential": [1]})).await;
    assert_eq!(wrong_type.status, StatusCode::BAD_REQUEST);
    assert!(!wrong_type.field("ceremony").is_empty() && !wrong_type.field("credential").is_empty(), "{}", wrong_type.body);

    let (mut key, created) = register(&app, &tenant.access, "Laptop").await;
    assert_eq!(created["name"], "Laptop");
    assert!(created["id"].is_string() && created["created_at"].is_string() && created["last_used_at"].is_null(), "{created}");
    let listed = app.get("/api/me/passkeys/", Some(&tenant.access)).await;
    assert_eq!(listed.status, StatusCode::OK);
    assert_eq!(listed.body, json!([created]));

    // A password sign-in now owes the passkey.
    let login = app.post("/api/auth/login/", None, json!({"email": tenant.admin_email, "password": PASSWORD})).await;
    assert_eq!(login.body["mfa_required"], true, "{}", login.body);
    assert_eq!(login.body["methods"], json!(["webauthn"]));
    let token = login.body["mfa_token"].clone();
    let challenge = app.post("/api/auth/login/mfa/webauthn/", None, json!({"mfa_token": token})).await;
    assert_eq!(challenge.status, StatusCode::OK, "{}", challenge.body);
    let done = app.post("/api/auth/login/mfa/", None, json!({"mfa_token": token, "webauthn": key.sign(&challenge.body)})).await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    assert!(done.body["access"].is_string() && done.body["refresh"].is_string());
    assert_eq!(app.post("/api/auth/login/mfa/webauthn/", None, json!({"mfa_token": token})).await.status, StatusCode::UNAUTHORIZED, "spent");
    assert_eq!(app.post("/api/auth/login/mfa/webauthn/", None, json!({})).await.status, StatusCode::BAD_REQUEST);

    // Or the passkey alone.
    let options = app.post("/api/auth/passkey/options/", None, json!({})).await;
    assert_eq!(options.status, StatusCode::OK);
    let signed_in = app.post("/api/auth/passkey/", None, json!({"ceremony": options.body["ceremony"], "credential": key.sign(&options.body)})).await;
    assert_eq!(signed_in.status, StatusCode::OK, "{}", signed_in.body);
    assert_eq!(signed_in.body["tenant_id"], json!(tenant.id));
    assert_eq!(signed_in.body["user"]["email"], tenant.admin_email);
    let access = signed_in.body["access"].as_str().unwrap().to_owned();
    assert_eq!(app.get("/api/me/", Some(&access)).await.status, StatusCode::OK);
    let replay = app.post("/api/auth/passkey/", None, json!({"ceremony": options.body["ceremony"], "credential": key.sign(&options.body)})).await;
    assert_eq!(replay.status, StatusCode::BAD_REQUEST, "the ceremony is spent: {}", replay.body);
    let stranger = app.post("/api/auth/passkey/options/", None, json!({})).await;
    let mut unknown = SoftPasskey::new();
    unknown.user_handle = key.user_handle.clone();
    let refused = app.post("/api/auth/passkey/", None, json!({"ceremony": stranger.body["ceremony"], "credential": unknown.sign(&stranger.body)})).await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED, "{}", refused.body);

    let path = format!("/api/me/passkeys/{}/", created["id"].as_str().unwrap());
    let no_password = delete_with(&app, &path, &tenant.access, json!({})).await;
    assert_eq!(no_password.status, StatusCode::BAD_REQUEST);
    assert!(!no_password.field("password").is_empty());
    assert_eq!(delete_with(&app, &path, &tenant.access, json!({"password": PASSWORD})).await.status, StatusCode::NO_CONTENT);
    assert_eq!(delete_with(&app, &path, &tenant.access, json!({"password": PASSWORD})).await.status, StatusCode::NOT_FOUND);
    assert_eq!(app.get("/api/me/passkeys/", Some(&tenant.access)).await.body, json!([]));
}

#[tokio::test]
async fn another_tenant_cannot_see_or_remove_a_passkey_and_anonymous_callers_get_401() {
    let app = spawn().await;
    let acme = app.sign_up("Acme").await;
    let globex = app.sign_up("Globex").await;
    let (_, created) = register(&app, &acme.access, "Laptop").await;
    assert_eq!(app.get("/api/me/passkeys/", Some(&globex.access)).await.body, json!([]));
    let path = format!("/api/me/passkeys/{}/", created["id"].as_str().unwrap());
    assert_eq!(delete_with(&app, &path, &globex.access, json!({"password": PASSWORD})).await.status, StatusCode::NOT_FOUND);
    assert_eq!(app.get("/api/me/passkeys/", Some(&acme.access)).await.body.as_array().unwrap().len(), 1);
    assert_eq!(app.get("/api/me/passkeys/", None).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(app.post("/api/me/passkeys/options/", None, json!({})).await.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn the_sign_in_page_script_signs_the_browser_in_with_a_passkey() {
    let app = spawn().await;
    let tenant = app.sign_up("Acme").await;
    let (mut key, _) = register(&app, &tenant.access, "Laptop").await;
    // What public/passkeys.js does: options, the browser's answer, then the page it is sent to.
    let options = app.client.post(app.url("/fn/passkey-sign-in-options")).header("accept", "application/json").form(&[("", "")]).send().await.unwrap();
    assert_eq!(options.status(), StatusCode::OK);
    let text: String = options.json().await.unwrap();
    let options: Value = serde_json::from_str(&text).unwrap();
    let ceremony = options["ceremony"].as_str().unwrap();
    let wrong = app.client.post(app.url("/fn/passkey-sign-in")).header("accept", "application/json")
        .form(&[("ceremony", ceremony), ("credential", "{}")]).send().await.unwrap();
    assert_eq!(wrong.status(), StatusCode::BAD_REQUEST);
    let error: Value = wrong.json().await.unwrap();
    assert!(error["fields"]["credential"].is_array(), "the page shows the field's message: {error}");
    let fresh = app.client.post(app.url("/fn/passkey-sign-in-options")).header("accept", "application/json").form(&[("", "")]).send().await.unwrap();
    let options: Value = serde_json::from_str(&fresh.json::<String>().await.unwrap()).unwrap();
    let credential = key.sign(&options).to_string();
    let done = app.client.post(app.url("/fn/passkey-sign-in")).header("accept", "application/json")
        .form(&[("ceremony", options["ceremony"].as_str().unwrap()), ("credential", credential.as_str())]).send().await.unwrap();
    assert_eq!(done.status(), StatusCode::OK);
    assert_eq!(done.json::<String>().await.unwrap(), "/");
    let page = app.client.get(app.url("/security")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains(&tenant.admin_email) && page.contains("Laptop"), "signed in, with the passkey listed");
}
