use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::*;

impl TestApp {
    /// The token e-mailed to `to` in the newest message of `kind`.
    pub async fn mailed_token(&self, kind: &str, to: &str) -> String {
        self.services.settled().await;
        let mut tx = self.services.db().read().await.unwrap();
        let outbox = tx.outbox().await.unwrap();
        let email = outbox.iter().rev().find(|e| e.kind == kind && e.to_address == to).expect("a mail");
        let email = email.open(self.services.sealer()).expect("the sealed link opens");
        email.link.as_ref().unwrap().split("token=").nth(1).unwrap().to_owned()
    }
}

#[tokio::test]
async fn invite_then_accept_over_the_api() {
    let app = spawn().await;
    let acme = app.sign_up("Acme").await;
    let reply = app.post(&format!("/api/tenants/{}/invite/", acme.id), Some(&acme.access), json!({"email": "jane@x.test", "role": "ANALYST"})).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    for field in ["id", "email", "role", "token", "expires_at", "accepted_at", "invited_by", "created_at"] {
        assert!(reply.body.get(field).is_some(), "{field} in {}", reply.body);
    }
    assert_eq!(reply.body["accepted_at"], serde_json::Value::Null);
    assert_eq!(reply.body["invited_by"], acme.admin_id.as_str());
    let token = reply.body["token"].as_str().unwrap().to_owned();
    assert_eq!(app.mailed_token("invitation", "jane@x.test").await, token);

    let accepted = app.post("/api/users/accept-invite/", None, json!({"token": token, "password": PASSWORD, "first_name": "Jane"})).await;
    assert_eq!(accepted.status, StatusCode::CREATED, "{}", accepted.body);
    assert_eq!(accepted.body["email"], "jane@x.test");
    assert_eq!(accepted.body["tenant"], acme.id.as_str());
    assert_eq!(accepted.body["roles"], json!(["ANALYST"]));
    let again = app.post("/api/users/accept-invite/", None, json!({"token": token, "password": PASSWORD})).await;
    assert!(again.status == StatusCode::CONFLICT || again.status == StatusCode::GONE, "{}", again.status);
    assert!(!again.field("token").is_empty());
}

#[tokio::test]
async fn the_legacy_invite_route_uses_the_current_tenant_and_checks_roles_first() {
    let app = spawn().await;
    let acme = app.sign_up("Acme").await;
    let globex = app.sign_up("Globex").await;
    let reply = app.post("/api/users/invite/", Some(&acme.access), json!({"email": "x@y.test"})).await;
    assert_eq!(reply.status, StatusCode::CREATED);
    assert_eq!(reply.body["role"], "VIEWER");
    let (_, bob) = app.member(&acme, "bob@acme.test").await;
    assert_eq!(app.post("/api/users/invite/", Some(&bob), json!({})).await.status, StatusCode::FORBIDDEN);
    assert_eq!(app.post("/api/users/invite/", None, json!({"email": "x@y.test"})).await.status, StatusCode::UNAUTHORIZED);
    let cross = app.post(&format!("/api/tenants/{}/invite/", globex.id), Some(&acme.access), json!({"email": "z@y.test"})).await;
    assert_eq!(cross.status, StatusCode::NOT_FOUND);
    assert_eq!(app.post("/api/tenants/not-a-uuid/invite/", Some(&acme.access), json!({"email": "z@y.test"})).await.status, StatusCode::NOT_FOUND);
    let bad_role = app.post("/api/users/invite/", Some(&acme.access), json!({"email": "r@y.test", "role": "KING"})).await;
    assert_eq!(bad_role.status, StatusCode::BAD_REQUEST);
    assert!(!bad_role.field("role").is_empty());
    let member = app.post("/api/users/invite/", Some(&acme.access), json!({"email": "bob@acme.test"})).await;
    assert_eq!(member.status, StatusCode::CONFLICT);
    assert!(!member.field("email").is_empty());
}

#[tokio::test]
async fn accept_invite_token_errors_have_their_statuses() {
    let app = spawn().await;
    let acme = app.sign_up("Acme").await;
    let missing = app.post("/api/users/accept-invite/", None, json!({"password": PASSWORD})).await;
    assert_eq!(missing.status, StatusCode::BAD_REQUEST);
    assert!(!missing.field("token").is_empty());
    let garbage = app.post("/api/users/accept-invite/", None, json!({"token": "garbage!", "password": PASSWORD})).await;
    assert_eq!(garbage.status, StatusCode::BAD_REQUEST);
    assert!(!garbage.field("token").is_empty());
    let unknown = app.post("/api/users/accept-invite/", None, json!({"token": "A".repeat(43), "password": PASSWORD})).await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert!(!unknown.field("token").is_empty());

    let invite = app.post("/api/users/invite/", Some(&acme.access), json!({"email": "late@x.test"})).await;
    let token = invite.body["token"].as_str().unwrap().to_owned();
    app.services.expire_invitation(&token).await.unwrap();
    let expired = app.post("/api/users/accept-invite/", None, json!({"token": token, "password": PASSWORD})).await;
    assert_eq!(expired.status, StatusCode::GONE);
    assert!(!expired.field("token").is_empty());
}

#[tokio::test]
async fn admins_list_resend_and_revoke_invitations() {
    let app = spawn().await;
    let acme = app.sign_up("Acme").await;
    let created = app.post("/api/users/invite/", Some(&acme.access), json!({"email": "jane@x.test"})).await;
    let id = created.body["id"].as_str().unwrap().to_owned();
    let list = app.get("/api/invitations/?status=pending", Some(&acme.access)).await;
    assert_eq!(list.status, StatusCode::OK);
    assert_eq!(list.body["count"], 1);
    assert_eq!(list.body["results"][0]["status"], "pending");
    assert!(list.body["results"][0].get("token").is_none(), "tokens are shown only once");

    let resent = app.post(&format!("/api/invitations/{id}/resend/"), Some(&acme.access), json!({})).await;
    assert_eq!(resent.status, StatusCode::OK);
    assert_ne!(resent.body["token"], created.body["token"]);

    let response = app.client.delete(app.url(&format!("/api/invitations/{id}/"))).bearer_auth(&acme.access).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let revoked = app.get("/api/invitations/?status=revoked", Some(&acme.access)).await;
    assert_eq!(revoked.body["count"], 1);
    let gone = app.post("/api/users/accept-invite/", None, json!({"token": resent.body["token"], "password": PASSWORD})).await;
    assert_eq!(gone.status, StatusCode::GONE);
    let other = app.sign_up("Globex").await;
    let hidden = app.client.delete(app.url(&format!("/api/invitations/{id}/"))).bearer_auth(&other.access).send().await.unwrap();
    assert_eq!(hidden.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn password_reset_over_the_api() {
    let app = spawn().await;
    let acme = app.sign_up("Acme").await;
    let known = app.post("/api/auth/password-reset/", None, json!({"email": acme.admin_email})).await;
    let unknown = app.post("/api/auth/password-reset/", None, json!({"email": "ghost@x.test"})).await;
    assert_eq!(known.status, StatusCode::ACCEPTED);
    assert_eq!((unknown.status, unknown.body.clone()), (StatusCode::ACCEPTED, known.body.clone()));
    let missing = app.post("/api/auth/password-reset/", None, json!({})).await;
    assert_eq!(missing.status, StatusCode::BAD_REQUEST);
    assert!(!missing.field("email").is_empty());

    let token = app.mailed_token("password_reset", &acme.admin_email).await;
    let weak = app.post("/api/auth/password-reset/confirm/", None, json!({"token": token, "password": "123"})).await;
    assert_eq!(weak.status, StatusCode::BAD_REQUEST);
    assert!(!weak.field("password").is_empty());
    let response = app.client.post(app.url("/api/auth/password-reset/confirm/")).json(&json!({"token": token, "password": "a brand new secret"})).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let reused = app.post("/api/auth/password-reset/confirm/", None, json!({"token": token, "password": "another new secret"})).await;
    assert_eq!(reused.status, StatusCode::BAD_REQUEST);
    assert!(!reused.field("token").is_empty());
    assert_eq!(app.get("/api/me/", Some(&acme.access)).await.status, StatusCode::UNAUTHORIZED, "old access token ended");
    app.login(&acme.admin_email, "a brand new secret").await;
}
