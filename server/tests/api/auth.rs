use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn login_returns_the_pair_and_the_user() {
    let app = spawn().await;
    let acme = app.sign_up("Acme").await;
    let reply = app.post("/api/auth/login/", None, json!({"username": "ADMIN@acme.test", "password": PASSWORD})).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.body["tenant_id"], acme.id.as_str());
    let user = &reply.body["user"];
    assert_eq!(user["id"], acme.admin_id.as_str());
    assert_eq!(user["email"], "admin@acme.test");
    assert_eq!(user["tenant"], acme.id.as_str());
    assert_eq!(user["timezone"], "America/Jamaica");
    assert_eq!(user["roles"], json!(["ADMIN"]));
    assert!(user.get("first_name").is_some() && user.get("last_name").is_some());
    for token in ["access", "refresh"] {
        assert_eq!(reply.body[token].as_str().unwrap().split('.').count(), 3, "{token} is a JWT");
    }
}

#[tokio::test]
async fn bad_credentials_are_401_and_missing_fields_400() {
    let app = spawn().await;
    app.sign_up("Acme").await;
    let wrong = app.post("/api/auth/login/", None, json!({"email": "admin@acme.test", "password": "wrong password"})).await;
    let unknown = app.post("/api/auth/login/", None, json!({"email": "nobody@acme.test", "password": PASSWORD})).await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert_eq!(wrong.body, unknown.body);
    assert!(wrong.body["detail"].is_string());
    let missing = app.post("/api/auth/login/", None, json!({})).await;
    assert_eq!(missing.status, StatusCode::BAD_REQUEST);
    assert!(!missing.field("email").is_empty() && !missing.field("password").is_empty());
}

#[tokio::test]
async fn me_needs_a_valid_access_token() {
    let app = spawn().await;
    let acme = app.sign_up("Acme").await;
    let me = app.get("/api/me/", Some(&acme.access)).await;
    assert_eq!(me.status, StatusCode::OK);
    assert_eq!(me.body["tenant_id"], acme.id.as_str());
    assert_eq!(me.body["user"]["roles"], json!(["ADMIN"]));
    assert_eq!(app.get("/api/me/", None).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(app.get("/api/me/", Some("garbage")).await.status, StatusCode::UNAUTHORIZED);
    let with_refresh = app.get("/api/me/", Some(&acme.refresh)).await;
    assert_eq!(with_refresh.status, StatusCode::UNAUTHORIZED, "a refresh token is not a bearer token");
}

#[tokio::test]
async fn refresh_rotates_and_logout_revokes() {
    let app = spawn().await;
    let acme = app.sign_up("Acme").await;
    let rotated = app.post("/api/auth/refresh/", None, json!({"refresh": acme.refresh})).await;
    assert_eq!(rotated.status, StatusCode::OK);
    let new_refresh = rotated.body["refresh"].as_str().unwrap().to_owned();
    assert_eq!(app.get("/api/me/", Some(rotated.body["access"].as_str().unwrap())).await.status, StatusCode::OK);
    // The spent token does not work again, and its reuse burns the new one.
    assert_eq!(app.post("/api/auth/refresh/", None, json!({"refresh": acme.refresh})).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(app.post("/api/auth/refresh/", None, json!({"refresh": new_refresh})).await.status, StatusCode::UNAUTHORIZED);

    let (_, refresh) = app.login(&acme.admin_email, PASSWORD).await;
    assert_eq!(app.post("/api/auth/logout/", None, json!({"refresh": refresh})).await.status, StatusCode::OK);
    assert_eq!(app.post("/api/auth/refresh/", None, json!({"refresh": refresh})).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(app.post("/api/auth/refresh/", None, json!({})).await.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn the_login_page_form_sets_an_http_only_lax_session_that_the_api_accepts() {
    let app = spawn().await;
    app.sign_up("Acme").await;
    let response = app
        .client
        .post(app.url("/fn/log-in"))
        .header("accept", "text/html")
        .header("referer", app.url("/login"))
        .form(&[("email", "admin@acme.test"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FOUND);
    assert_eq!(response.headers()["location"], "/");
    let cookie = response.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(cookie.starts_with("tenantry_session=") && cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"), "{cookie}");
    let me = app.get("/api/me/", None).await;
    assert_eq!(me.status, StatusCode::OK);
    assert_eq!(me.body["user"]["email"], "admin@acme.test");
}

#[tokio::test]
async fn a_failed_form_login_redirects_back_with_the_error_and_no_session() {
    let app = spawn().await;
    app.sign_up("Acme").await;
    let response = app
        .client
        .post(app.url("/fn/log-in"))
        .header("accept", "text/html")
        .header("referer", app.url("/login"))
        .form(&[("email", "admin@acme.test"), ("password", "wrong password")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FOUND);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    assert!(location.contains("/login?") && location.contains("__err="), "{location}");
    assert_eq!(app.get("/api/me/", None).await.status, StatusCode::UNAUTHORIZED);
    let page = app.client.get(location).header("accept", "text/html").send().await.unwrap().text().await.unwrap();
    assert!(page.contains("No active account found with the given credentials"), "the page shows the error");
}
