use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::*;

impl TestApp {
    pub async fn delete(&self, path: &str, token: Option<&str>) -> StatusCode {
        let mut request = self.client.delete(self.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send().await.unwrap().status()
    }

    pub async fn superuser(&self, email: &str) -> String {
        self.services.create_superuser(email, Some(PASSWORD)).await.unwrap();
        self.login(email, PASSWORD).await.0
    }
}

#[tokio::test]
async fn revoking_a_role_applies_on_the_next_request_and_the_last_admin_stays() {
    let app = spawn().await;
    let acme = app.sign_up("Acme").await;
    let (bob_id, bob) = app.member(&acme, "bob@acme.test").await;
    let assigned = app.post("/api/roles/assign/", Some(&acme.access), json!({"user": bob_id, "role": "ADMIN"})).await;
    let id = assigned.body["id"].as_str().unwrap().to_owned();
    assert_eq!(app.get("/api/me/", Some(&bob)).await.body["user"]["roles"], json!(["ADMIN"]));
    assert_eq!(app.delete(&format!("/api/user-roles/{id}/"), None).await, StatusCode::UNAUTHORIZED);
    assert_eq!(app.delete(&format!("/api/user-roles/{id}/"), Some(&acme.access)).await, StatusCode::NO_CONTENT);
    assert_eq!(app.get("/api/me/", Some(&bob)).await.body["user"]["roles"], json!([]), "the same token, the new roles");
    assert_eq!(app.delete(&format!("/api/user-roles/{id}/"), Some(&bob)).await, StatusCode::FORBIDDEN, "authorization before existence");
    assert_eq!(app.delete(&format!("/api/user-roles/{id}/"), Some(&acme.access)).await, StatusCode::NOT_FOUND);
    assert_eq!(app.delete("/api/user-roles/not-a-uuid/", Some(&acme.access)).await, StatusCode::NOT_FOUND);

    let own = app.get(&format!("/api/user-roles/?user={}", acme.admin_id), Some(&acme.access)).await;
    let own_id = own.body["results"][0]["id"].as_str().unwrap().to_owned();
    let response = app.client.delete(app.url(&format!("/api/user-roles/{own_id}/"))).bearer_auth(&acme.access).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::CONFLICT);
    let body: serde_json::Value = response.json().await.unwrap();
    assert!(body["detail"].as_str().unwrap().contains("last administrator"));
}

#[tokio::test]
async fn removing_a_member_keeps_the_account_and_refuses_the_last_admin() {
    let app = spawn().await;
    let acme = app.sign_up("Acme").await;
    let (bob_id, bob) = app.member(&acme, "bob@acme.test").await;
    let path = format!("/api/tenants/{}/members/{bob_id}/", acme.id);
    assert_eq!(app.delete(&path, Some(&bob)).await, StatusCode::FORBIDDEN);
    assert_eq!(app.delete(&path, Some(&acme.access)).await, StatusCode::NO_CONTENT);
    assert_eq!(app.get("/api/me/", Some(&bob)).await.status, StatusCode::UNAUTHORIZED, "no longer a member");
    assert_eq!(app.get("/api/users/", Some(&acme.access)).await.body["count"], 1);
    assert_eq!(app.delete(&path, Some(&acme.access)).await, StatusCode::NOT_FOUND);
    let last = format!("/api/tenants/{}/members/{}/", acme.id, acme.admin_id);
    assert_eq!(app.delete(&last, Some(&acme.access)).await, StatusCode::CONFLICT);
}

#[tokio::test]
async fn switching_tenants_issues_a_pair_for_a_tenant_the_caller_belongs_to() {
    let app = spawn().await;
    let acme = app.sign_up("Acme").await;
    let globex = app.sign_up("Globex").await;
    let initech = app.sign_up("Initech").await;
    let invite = app.post("/api/users/invite/", Some(&globex.access), json!({"email": acme.admin_email, "role": "ANALYST"})).await;
    let accepted = app.post("/api/users/accept-invite/", None, json!({"token": invite.body["token"], "password": PASSWORD})).await;
    assert_eq!(accepted.status, StatusCode::CREATED);

    let mine = app.get("/api/me/tenants/", Some(&acme.access)).await;
    assert_eq!(mine.status, StatusCode::OK);
    assert_eq!(mine.body["count"], 2);
    assert_eq!(mine.body["results"][0]["id"], acme.id.as_str());
    assert_eq!(mine.body["results"][0]["current"], true);
    assert_eq!(mine.body["results"][1]["roles"], json!(["ANALYST"]));

    let switched = app.post("/api/auth/switch-tenant/", Some(&acme.access), json!({"tenant_id": globex.id})).await;
    assert_eq!(switched.status, StatusCode::OK, "{}", switched.body);
    assert_eq!(switched.body["tenant_id"], globex.id.as_str());
    let access = switched.body["access"].as_str().unwrap();
    let me = app.get("/api/me/", Some(access)).await;
    assert_eq!((me.body["tenant_id"].clone(), me.body["user"]["roles"].clone()), (json!(globex.id), json!(["ANALYST"])));
    assert_eq!(app.get("/api/users/", Some(access)).await.body["count"], 2, "Globex's people now");
    let refused = app.post("/api/auth/switch-tenant/", Some(&acme.access), json!({"tenant_id": initech.id})).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let bad = app.post("/api/auth/switch-tenant/", Some(&acme.access), json!({"tenant_id": "x"})).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(!bad.field("tenant_id").is_empty());
}

#[tokio::test]
async fn a_superuser_suspends_and_reactivates_a_tenant() {
    let app = spawn().await;
    let acme = app.sign_up("Acme").await;
    let root = app.superuser("root@platform.test").await;
    assert_eq!(app.get("/api/tenants/", Some(&root)).await.body["count"], 1);
    let forbidden = app.post(&format!("/api/tenants/{}/suspend/", acme.id), Some(&acme.access), json!({})).await;
    assert_eq!(forbidden.status, StatusCode::FORBIDDEN);
    let suspended = app.post(&format!("/api/tenants/{}/suspend/", acme.id), Some(&root), json!({})).await;
    assert_eq!((suspended.status, suspended.body["status"].clone()), (StatusCode::OK, json!("suspended")));
    let login = app.post("/api/auth/login/", None, json!({"email": acme.admin_email, "password": PASSWORD})).await;
    assert_eq!(login.status, StatusCode::UNAUTHORIZED);
    assert_eq!(app.get("/api/me/", Some(&acme.access)).await.status, StatusCode::UNAUTHORIZED);
    let back = app.post(&format!("/api/tenants/{}/reactivate/", acme.id), Some(&root), json!({})).await;
    assert_eq!(back.body["status"], "active");
    assert_eq!(app.get("/api/me/", Some(&acme.access)).await.status, StatusCode::OK);
    assert_eq!(app.post("/api/tenants/00000000-0000-0000-0000-000000000000/suspend/", Some(&root), json!({})).await.status, StatusCode::NOT_FOUND);
}

/// For every tenant-scoped route, tenant A's admin aimed at tenant B's ids: 403/404, nothing of
/// B in the body, and B unchanged afterwards.
#[tokio::test]
async fn cross_tenant_matrix() {
    let app = spawn().await;
    let a = app.sign_up("Alpha").await;
    let b = app.sign_up("Bravo").await;
    let (b_member, _) = app.member(&b, "member@bravo.test").await;
    let b_assignment = app.post("/api/roles/assign/", Some(&b.access), json!({"user": b_member, "role": "VIEWER"})).await.body["id"].as_str().unwrap().to_owned();
    let b_invite = app.post("/api/users/invite/", Some(&b.access), json!({"email": "new@bravo.test"})).await.body["id"].as_str().unwrap().to_owned();
    let before = (
        app.get("/api/users/", Some(&b.access)).await.body,
        app.get("/api/user-roles/", Some(&b.access)).await.body,
        app.get("/api/invitations/", Some(&b.access)).await.body,
    );
    let secrets = [b.id.as_str(), b_member.as_str(), b_assignment.as_str(), b_invite.as_str(), "bravo"];

    let token = Some(a.access.as_str());
    let mut replies = vec![
        ("delete role", app.client.delete(app.url(&format!("/api/user-roles/{b_assignment}/"))).bearer_auth(&a.access).send().await.unwrap()),
        ("remove member", app.client.delete(app.url(&format!("/api/tenants/{}/members/{b_member}/", b.id))).bearer_auth(&a.access).send().await.unwrap()),
        ("revoke invite", app.client.delete(app.url(&format!("/api/invitations/{b_invite}/"))).bearer_auth(&a.access).send().await.unwrap()),
        ("resend invite", app.client.post(app.url(&format!("/api/invitations/{b_invite}/resend/"))).bearer_auth(&a.access).json(&json!({})).send().await.unwrap()),
        ("invite into b", app.client.post(app.url(&format!("/api/tenants/{}/invite/", b.id))).bearer_auth(&a.access).json(&json!({"email": "x@x.test"})).send().await.unwrap()),
        ("assign b member", app.client.post(app.url("/api/roles/assign/")).bearer_auth(&a.access).json(&json!({"user": b_member, "role": "ADMIN", "tenant": b.id})).send().await.unwrap()),
        ("switch into b", app.client.post(app.url("/api/auth/switch-tenant/")).bearer_auth(&a.access).json(&json!({"tenant_id": b.id})).send().await.unwrap()),
        ("suspend b", app.client.post(app.url(&format!("/api/tenants/{}/suspend/", b.id))).bearer_auth(&a.access).json(&json!({})).send().await.unwrap()),
        ("provisioned b", app.client.get(app.url(&format!("/api/provisioning/tenants/{}", b.id))).bearer_auth(&a.access).send().await.unwrap()),
    ];
    for (name, response) in replies.drain(..) {
        let status = response.status();
        let body = response.text().await.unwrap();
        assert!(matches!(status.as_u16(), 400 | 403 | 404), "{name}: {status} {body}");
        for secret in secrets {
            assert!(!body.to_lowercase().contains(&secret.to_lowercase()), "{name} leaks {secret}: {body}");
        }
    }
    for (path, field) in [("/api/users/", "email"), ("/api/user-roles/", "user_email"), ("/api/tenants/", "name")] {
        let list = app.get(path, token).await;
        assert!(!list.body.to_string().to_lowercase().contains("bravo"), "{path} {field}: {}", list.body);
    }
    let after = (
        app.get("/api/users/", Some(&b.access)).await.body,
        app.get("/api/user-roles/", Some(&b.access)).await.body,
        app.get("/api/invitations/", Some(&b.access)).await.body,
    );
    assert_eq!(before, after, "no side effect on Bravo");
}
