//! API keys over HTTP: made once, stored hashed, acting with exactly their scopes.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::*;

async fn make_key(app: &TestApp, token: &str, scopes: serde_json::Value) -> (String, String) {
    let reply = app.post("/api/api-keys/", Some(token), json!({"name": "Primary API Key", "scopes": scopes, "expires_days": 365})).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    (reply.body["id"].as_str().unwrap().to_owned(), reply.body["key"].as_str().unwrap().to_owned())
}

#[tokio::test]
async fn a_key_is_shown_once_stored_hashed_and_acts_with_its_scopes() {
    let app = spawn().await;
    let acme = app.sign_up("Acme").await;
    // usage:read too: inviting as VIEWER (the default role) hands it out.
    let created = app.post("/api/api-keys/", Some(&acme.access), json!({"name": "Primary API Key", "scopes": ["members:read", "invitations:*", "usage:read"], "expires_days": 365})).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let key = created.body["key"].as_str().unwrap().to_owned();
    assert!(key.starts_with("tnt_") && key.len() == 47, "{key}");
    assert!(key.starts_with(created.body["prefix"].as_str().unwrap()));
    assert_eq!(created.body["scopes"], json!(["members:read", "usage:read", "invitations:*"]));
    assert!(created.body["expires_at"].is_string());
    // Both headers work; the scopes decide.
    assert_eq!(app.get("/api/users/", Some(&key)).await.status, StatusCode::OK);
    assert_eq!(app.with_key(Method::GET, "/api/users/", &key, None).await.status, StatusCode::OK);
    let invited = app.with_key(Method::POST, "/api/users/invite/", &key, Some(json!({"email": "new@acme.test"}))).await;
    assert_eq!(invited.status, StatusCode::CREATED, "{}", invited.body);
    assert_eq!(app.get("/api/audit-logs/", Some(&key)).await.status, StatusCode::FORBIDDEN, "no audit:read scope");
    assert_eq!(app.get("/api/user-roles/", Some(&key)).await.status, StatusCode::FORBIDDEN, "no baseline for keys");
    let me = app.get("/api/me/", Some(&key)).await;
    assert_eq!(me.status, StatusCode::OK);
    assert!(me.body["user"].is_null());
    assert_eq!(me.body["api_key"]["name"], "Primary API Key");
    assert_eq!(me.body["tenant_id"], acme.id.as_str());
    // The audit row names the key, not a person.
    let audit = app.get("/api/audit-logs/?action=invitation_created", Some(&acme.access)).await;
    let row = &audit.body["results"][0];
    assert!(row["user"].is_null(), "{row}");
    assert_eq!(row["api_key"]["name"], "Primary API Key");
    assert_eq!(row["api_key"]["id"], created.body["id"]);
    // Listed without the key; only a hash is in the database.
    let listed = app.get("/api/api-keys/", Some(&acme.access)).await;
    assert_eq!(listed.body["count"], 1);
    assert!(!listed.body.to_string().contains(&key[4..]));
    app.services.settled().await;
    let listed = app.get("/api/api-keys/", Some(&acme.access)).await;
    assert!(listed.body["results"][0]["last_used_at"].is_string(), "{}", listed.body);
    assert_eq!(listed.body["results"][0]["last_used_ip"], "127.0.0.1");
    let stored = app.services.db().text_rows_for_tests("SELECT key_hash, prefix FROM api_keys").await.unwrap();
    assert_eq!(stored.len(), 1);
    assert_ne!(stored[0][0], key);
    assert!(!stored[0][0].contains(&key[4..]) && stored[0][1].len() < 12);
}

#[tokio::test]
async fn revoked_expired_and_suspended_keys_are_refused_saying_why() {
    let app = spawn().await;
    let acme = app.sign_up("Acme").await;
    let (id, key) = make_key(&app, &acme.access, json!(["members:read"])).await;
    assert_eq!(app.remove(&format!("/api/api-keys/{id}/"), Some(&acme.access)).await.status, StatusCode::NO_CONTENT);
    let refused = app.get("/api/users/", Some(&key)).await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    assert!(refused.body["detail"].as_str().unwrap().contains("revoked"));
    let garbage = app.get("/api/users/", Some("tnt_not-a-real-key")).await;
    assert_eq!(garbage.status, StatusCode::UNAUTHORIZED);
    let unknown = app.with_key(Method::GET, "/api/users/", &format!("tnt_{}", "A".repeat(43)), None).await;
    assert_eq!(unknown.status, StatusCode::UNAUTHORIZED);
    // Expired.
    let (expiring, key) = make_key(&app, &acme.access, json!(["members:read"])).await;
    let expiring = uuid::Uuid::parse_str(&expiring).unwrap();
    let backdated = app.services.db().execute_for_tests("UPDATE api_keys SET expires_at = '2020-01-01T00:00:00Z' WHERE id = $1", expiring).await;
    assert_eq!(backdated.unwrap(), 1);
    let expired = app.get("/api/users/", Some(&key)).await;
    assert_eq!(expired.status, StatusCode::UNAUTHORIZED);
    assert!(expired.body["detail"].as_str().unwrap().contains("expired"));
    // Suspended tenant.
    let (_, key) = make_key(&app, &acme.access, json!(["members:read"])).await;
    let tenant = tenantry::domain::TenantId::parse(&acme.id).unwrap();
    let mut tx = app.services.db().write().await.unwrap();
    tx.set_tenant_status(tenant, tenantry::domain::TenantStatus::Suspended, chrono::Utc::now()).await.unwrap();
    tx.commit().await.unwrap();
    let suspended = app.get("/api/users/", Some(&key)).await;
    assert_eq!(suspended.status, StatusCode::UNAUTHORIZED);
    assert!(suspended.body["detail"].as_str().unwrap().contains("suspended"));
}

#[tokio::test]
async fn keys_never_hold_more_than_their_maker_and_cannot_make_keys() {
    let app = spawn().await;
    let acme = app.sign_up("Acme").await;
    let (bob_id, bob) = app.member(&acme, "bob@acme.test").await;
    // A member without api_keys:manage cannot make keys at all.
    assert_eq!(app.post("/api/api-keys/", Some(&bob), json!({"name": "k", "scopes": ["members:read"]})).await.status, StatusCode::FORBIDDEN);
    app.post("/api/roles/", Some(&acme.access), json!({"name": "integrator", "permissions": ["api_keys:manage", "members:read"]})).await;
    app.post("/api/roles/assign/", Some(&acme.access), json!({"user": bob_id, "role": "integrator"})).await;
    let wider = app.post("/api/api-keys/", Some(&bob), json!({"name": "k", "scopes": ["members:*"]})).await;
    assert_eq!(wider.status, StatusCode::FORBIDDEN);
    assert!(wider.body["detail"].as_str().unwrap().contains("members:write"));
    let (_, key) = make_key(&app, &bob, json!(["members:read", "api_keys:manage"])).await;
    // A key cannot make keys, even with the scope.
    let nested = app.post("/api/api-keys/", Some(&key), json!({"name": "child", "scopes": ["members:read"]})).await;
    assert_eq!(nested.status, StatusCode::FORBIDDEN);
    let bad = app.post("/api/api-keys/", Some(&acme.access), json!({"scopes": ["nope:read"], "expires_days": 0})).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(!bad.field("name").is_empty() && !bad.field("scopes").is_empty() && !bad.field("expires_days").is_empty());
    let none = app.post("/api/api-keys/", Some(&acme.access), json!({"name": "k", "scopes": []})).await;
    assert_eq!(none.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_key_of_one_tenant_never_reaches_another() {
    let app = spawn().await;
    let acme = app.sign_up("Acme").await;
    let globex = app.sign_up("Globex").await;
    let (acme_key_id, acme_key) = make_key(&app, &acme.access, json!(["*"])).await;
    let users = app.get("/api/users/", Some(&acme_key)).await;
    assert!(!users.body.to_string().contains(&globex.admin_email));
    let remove = app.remove(&format!("/api/tenants/{}/members/{}/", globex.id, globex.admin_id), Some(&acme_key)).await;
    assert_eq!(remove.status, StatusCode::NOT_FOUND);
    let invite = app.post(&format!("/api/tenants/{}/invite/", globex.id), Some(&acme_key), json!({"email": "x@globex.test"})).await;
    assert_eq!(invite.status, StatusCode::NOT_FOUND);
    // Globex cannot see or revoke Acme's key.
    assert_eq!(app.remove(&format!("/api/api-keys/{acme_key_id}/"), Some(&globex.access)).await.status, StatusCode::NOT_FOUND);
    assert_eq!(app.get("/api/api-keys/", Some(&globex.access)).await.body["count"], 0);
    assert_eq!(app.get("/api/users/", Some(&acme_key)).await.status, StatusCode::OK, "still alive");
    // Switching tenants is for people.
    let switch = app.post("/api/auth/switch-tenant/", Some(&acme_key), json!({"tenant_id": globex.id})).await;
    assert!(switch.status == StatusCode::FORBIDDEN || switch.status == StatusCode::NOT_FOUND, "{}", switch.status);
    // Keys do not open pages: the browser session is the only way in.
    let page = app.client.get(app.url("/invitations")).header("x-api-key", &acme_key).send().await.unwrap();
    assert!(!page.text().await.unwrap().contains("admin@acme.test"));
}
