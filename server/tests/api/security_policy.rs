//! `/api/tenants/{id}/security-policy/` and `/api/me/password/` over HTTP, and the network rule
//! on the ways in, with client addresses given through a trusted proxy's `X-Forwarded-For`.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::*;

fn policy_path(tenant: &Tenant) -> String {
    format!("/api/tenants/{}/security-policy/", tenant.id)
}

#[tokio::test]
async fn the_default_policy_round_trips_and_a_full_one_is_kept_as_given() {
    let app = spawn().await;
    let tenant = app.sign_up("Acme").await;
    let (_, member) = app.member(&tenant, "bob@acme.test").await;
    let default = app.get(&policy_path(&tenant), Some(&tenant.access)).await;
    assert_eq!(default.status, StatusCode::OK);
    assert_eq!(
        default.body,
        json!({"password_policy": {"min_length": 8, "require_uppercase": false, "require_lowercase": false, "require_numbers": false,
            "require_symbols": false, "password_history": 0}, "session_timeout_minutes": null, "allowed_ip_ranges": [], "require_2fa": false})
    );
    let same = app.put(&policy_path(&tenant), Some(&tenant.access), default.body.clone()).await;
    assert_eq!((same.status, &same.body), (StatusCode::OK, &default.body), "a GET answer goes back unchanged");

    let full = json!({"password_policy": {"min_length": 12, "require_uppercase": true, "require_lowercase": true, "require_numbers": true,
        "require_symbols": true, "password_history": 5}, "session_timeout_minutes": 240, "allowed_ip_ranges": ["127.0.0.0/8", "10.0.0.0/8", "fd00::/8"],
        "require_2fa": false});
    let saved = app.put(&policy_path(&tenant), Some(&tenant.access), full.clone()).await;
    assert_eq!((saved.status, &saved.body), (StatusCode::OK, &full));
    assert_eq!(app.get(&policy_path(&tenant), Some(&tenant.access)).await.body, full);

    // Members read it; only administrators change it; another tenant sees nothing.
    assert_eq!(app.get(&policy_path(&tenant), Some(&member)).await.status, StatusCode::OK);
    assert_eq!(app.put(&policy_path(&tenant), Some(&member), json!({"require_2fa": false})).await.status, StatusCode::FORBIDDEN);
    let other = app.sign_up("Globex").await;
    assert_eq!(app.get(&policy_path(&tenant), Some(&other.access)).await.status, StatusCode::NOT_FOUND);
    assert_eq!(app.put(&policy_path(&tenant), Some(&other.access), json!({"allowed_ip_ranges": []})).await.status, StatusCode::NOT_FOUND);
    assert_eq!(app.get(&policy_path(&tenant), None).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(app.get("/api/tenants/not-a-uuid/security-policy/", Some(&tenant.access)).await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn every_bad_field_is_a_400_at_once_and_nothing_changes() {
    let app = spawn().await;
    let tenant = app.sign_up("Acme").await;
    let bad = app
        .put(&policy_path(&tenant), Some(&tenant.access), json!({"password_policy": {"min_length": 7, "password_history": 30, "require_numbers": "yes"},
            "session_timeout_minutes": 50_000, "allowed_ip_ranges": ["10.0.0.0/40", "not a range"], "require_2fa": "no"}))
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.body);
    for field in ["password_policy.min_length", "password_policy.password_history", "password_policy.require_numbers", "session_timeout_minutes", "require_2fa"] {
        assert_eq!(bad.field(field).len(), 1, "{field}: {}", bad.body);
    }
    assert_eq!(bad.field("allowed_ip_ranges").len(), 2, "{}", bad.body);
    // The caller (127.0.0.1) is outside: a lock-out, unless confirmed.
    let lockout = app.put(&policy_path(&tenant), Some(&tenant.access), json!({"allowed_ip_ranges": ["10.0.0.0/8"]})).await;
    assert_eq!(lockout.status, StatusCode::BAD_REQUEST);
    assert!(lockout.field("allowed_ip_ranges")[0].contains("lock you out"), "{}", lockout.body);
    let unchanged = app.get(&policy_path(&tenant), Some(&tenant.access)).await;
    assert_eq!(unchanged.body["allowed_ip_ranges"], json!([]));
    assert_eq!(unchanged.body["password_policy"]["min_length"], 8);
    let not_object = app.put(&policy_path(&tenant), Some(&tenant.access), json!([1, 2])).await;
    assert_eq!(not_object.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn outside_the_allowed_networks_every_way_in_answers_ip_not_allowed() {
    let app = spawn_with(&[("TRUSTED_PROXIES", "127.0.0.1/32")]).await;
    let tenant = app.sign_up("Acme").await;
    let via = |method: reqwest::Method, path: &str, client_ip: &str| {
        app.client.request(method, app.url(path)).header("x-forwarded-for", client_ip.to_owned())
    };
    let saved = via(reqwest::Method::PUT, &policy_path(&tenant), "203.0.113.7")
        .bearer_auth(&tenant.access)
        .json(&json!({"allowed_ip_ranges": ["203.0.113.0/24", "2001:db8::/32"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(saved.status(), StatusCode::OK, "the caller's own network is in the list");

    let me = |ip: &'static str| via(reqwest::Method::GET, "/api/me/", ip).bearer_auth(&tenant.access).send();
    assert_eq!(me("203.0.113.200").await.unwrap().status(), StatusCode::OK);
    assert_eq!(me("2001:db8::1").await.unwrap().status(), StatusCode::OK);
    let refused = me("198.51.100.1").await.unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["code"], "ip_not_allowed");
    assert!(body["detail"].as_str().unwrap().contains("not allowed from this network"), "{body}");

    let login = via(reqwest::Method::POST, "/api/auth/login/", "198.51.100.1")
        .json(&json!({"email": tenant.admin_email, "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), StatusCode::FORBIDDEN);
    let refresh = via(reqwest::Method::POST, "/api/auth/refresh/", "198.51.100.1").json(&json!({"refresh": tenant.refresh})).send().await.unwrap();
    assert_eq!(refresh.status(), StatusCode::FORBIDDEN);
    let page = via(reqwest::Method::GET, "/users", "198.51.100.1").header("accept", "text/html").send().await.unwrap();
    assert_ne!(page.status(), StatusCode::OK, "pages are refused too");
}

#[tokio::test]
async fn a_spoofed_forwarded_header_from_an_untrusted_peer_changes_nothing() {
    let app = spawn().await;
    let tenant = app.sign_up("Acme").await;
    let saved = app.put(&policy_path(&tenant), Some(&tenant.access), json!({"allowed_ip_ranges": ["203.0.113.0/24"], "confirm_lockout": true})).await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);
    let spoofed = app.client.get(app.url("/api/me/")).bearer_auth(&tenant.access).header("x-forwarded-for", "203.0.113.5").send().await.unwrap();
    assert_eq!(spoofed.status(), StatusCode::FORBIDDEN, "the peer (127.0.0.1) decides, not its header");
}

#[tokio::test]
async fn changing_the_password_needs_the_current_one_and_ends_the_old_tokens() {
    let app = spawn().await;
    let tenant = app.sign_up("Acme").await;
    let wrong = app.post("/api/me/password/", Some(&tenant.access), json!({"current_password": "not the password", "new_password": "a brand new secret"})).await;
    assert_eq!(wrong.status, StatusCode::BAD_REQUEST);
    assert_eq!(wrong.field("current_password").len(), 1, "{}", wrong.body);
    let weak = app.post("/api/me/password/", Some(&tenant.access), json!({"current_password": PASSWORD, "new_password": "1234"})).await;
    assert_eq!(weak.status, StatusCode::BAD_REQUEST);
    assert!(!weak.field("new_password").is_empty(), "{}", weak.body);
    assert_eq!(app.post("/api/me/password/", None, json!({})).await.status, StatusCode::UNAUTHORIZED);

    let changed = app.post("/api/me/password/", Some(&tenant.access), json!({"current_password": PASSWORD, "new_password": "a brand new secret"})).await;
    assert_eq!(changed.status, StatusCode::NO_CONTENT, "{}", changed.body);
    assert_eq!(app.get("/api/me/", Some(&tenant.access)).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(app.post("/api/auth/refresh/", None, json!({"refresh": tenant.refresh})).await.status, StatusCode::UNAUTHORIZED);
    let old = app.post("/api/auth/login/", None, json!({"email": tenant.admin_email, "password": PASSWORD})).await;
    assert_eq!(old.status, StatusCode::UNAUTHORIZED);
    let (access, _) = app.login(&tenant.admin_email, "a brand new secret").await;

    // With a history, neither the current password nor the one just replaced can come back.
    app.put(&policy_path(&tenant), Some(&access), json!({"password_policy": {"password_history": 3}})).await;
    let same = app.post("/api/me/password/", Some(&access), json!({"current_password": "a brand new secret", "new_password": "a brand new secret"})).await;
    assert_eq!(same.status, StatusCode::BAD_REQUEST);
    assert!(same.field("new_password")[0].contains("used recently"), "{}", same.body);
    let next = app.post("/api/me/password/", Some(&access), json!({"current_password": "a brand new secret", "new_password": "the third secret"})).await;
    assert_eq!(next.status, StatusCode::NO_CONTENT);
    let (access, _) = app.login(&tenant.admin_email, "the third secret").await;
    let back = app.post("/api/me/password/", Some(&access), json!({"current_password": "the third secret", "new_password": "a brand new secret"})).await;
    assert_eq!(back.status, StatusCode::BAD_REQUEST, "{}", back.body);
    assert!(back.field("new_password")[0].contains("used recently"), "{}", back.body);
}

#[tokio::test]
async fn a_tenant_rule_shows_on_the_field_that_carries_the_password() {
    let app = spawn().await;
    let tenant = app.sign_up("Acme").await;
    app.put(&policy_path(&tenant), Some(&tenant.access), json!({"password_policy": {"min_length": 12, "require_numbers": true}})).await;
    let weak = app.post("/api/users/", Some(&tenant.access), json!({"email": "bob@acme.test", "password": PASSWORD})).await;
    assert_eq!(weak.status, StatusCode::BAD_REQUEST);
    assert!(weak.field("password").join(" ").contains("a number"), "{}", weak.body);
    let ok = app.post("/api/users/", Some(&tenant.access), json!({"email": "bob@acme.test", "password": "correct horse battery 9"})).await;
    assert_eq!(ok.status, StatusCode::CREATED, "{}", ok.body);
}
