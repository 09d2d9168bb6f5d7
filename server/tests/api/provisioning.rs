use reqwest::StatusCode;
use serde_json::json;
use tenantry::domain::PlatformRole;

use crate::helpers::*;

impl TestApp {
    pub async fn partner(&self, email: &str) -> String {
        self.services.set_platform_role(email, Some(PlatformRole::PartnerAdmin), Some(PASSWORD)).await.unwrap();
        self.login(email, PASSWORD).await.0
    }
}

#[tokio::test]
async fn a_partner_provisions_reads_updates_and_deletes_its_tenants() {
    let app = spawn().await;
    let partner = app.partner("partner@reseller.test").await;
    let created = app
        .post("/api/provisioning/tenants", Some(&partner), json!({"company_name": "Acme Inc", "email": "owner@acme.test", "phone_number": "+1 876 555 0100", "industry": "Retail"}))
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    assert_eq!(created.body["company_name"], "Acme Inc");
    assert_eq!(created.body["slug"], "acme-inc");
    assert_eq!(created.body["invitation"]["email"], "owner@acme.test");
    assert_eq!(created.body["invitation"]["role"], "ADMIN");
    let id = created.body["id"].as_str().unwrap().to_owned();
    let token = created.body["invitation"]["token"].as_str().unwrap().to_owned();
    let owner = app.post("/api/users/accept-invite/", None, json!({"token": token, "password": PASSWORD})).await;
    assert_eq!(owner.body["roles"], json!(["ADMIN"]));

    let read = app.get(&format!("/api/provisioning/tenants/{id}"), Some(&partner)).await;
    assert_eq!((read.status, read.body["industry"].clone()), (StatusCode::OK, json!("Retail")));
    let patched = app.client.patch(app.url(&format!("/api/provisioning/tenants/{id}"))).bearer_auth(&partner).json(&json!({"industry": "Logistics"})).send().await.unwrap();
    assert_eq!(patched.status(), StatusCode::OK);
    assert_eq!(patched.json::<serde_json::Value>().await.unwrap()["industry"], "Logistics");
    let bad = app.client.patch(app.url(&format!("/api/provisioning/tenants/{id}"))).bearer_auth(&partner).json(&json!({"phone_number": "call me"})).send().await.unwrap();
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    assert_eq!(app.get("/api/provisioning/tenants", Some(&partner)).await.body["count"], 1);
    let deleted = app.client.delete(app.url(&format!("/api/provisioning/tenants/{id}"))).bearer_auth(&partner).send().await.unwrap();
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    assert_eq!(app.get(&format!("/api/provisioning/tenants/{id}"), Some(&partner)).await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn provisioning_answers_400_401_403_404_409_as_named() {
    let app = spawn().await;
    let partner = app.partner("partner@reseller.test").await;
    let other = app.partner("other@reseller.test").await;
    let acme = app.sign_up("Acme").await;
    assert_eq!(app.post("/api/provisioning/tenants", None, json!({})).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(app.post("/api/provisioning/tenants", Some(&acme.access), json!({})).await.status, StatusCode::FORBIDDEN);
    let invalid = app.post("/api/provisioning/tenants", Some(&partner), json!({"company_name": "", "email": "nope", "phone_number": 5})).await;
    assert_eq!(invalid.status, StatusCode::BAD_REQUEST);
    for field in ["company_name", "email", "phone_number"] {
        assert!(!invalid.field(field).is_empty(), "{field}: {}", invalid.body);
    }
    let malformed = app.client.post(app.url("/api/provisioning/tenants")).bearer_auth(&partner)
        .header("content-type", "application/json").body("{oops").send().await.unwrap();
    assert_eq!(malformed.status(), StatusCode::BAD_REQUEST);
    let clash = app.post("/api/provisioning/tenants", Some(&partner), json!({"company_name": "ACME", "email": "x@y.test"})).await;
    assert_eq!(clash.status, StatusCode::CONFLICT);
    assert!(!clash.field("company_name").is_empty());
    let mine = app.post("/api/provisioning/tenants", Some(&partner), json!({"company_name": "Mine", "email": "x@mine.test"})).await;
    let id = mine.body["id"].as_str().unwrap();
    assert_eq!(app.get(&format!("/api/provisioning/tenants/{id}"), Some(&other)).await.status, StatusCode::NOT_FOUND);
    assert_eq!(app.get(&format!("/api/provisioning/tenants/{}", acme.id), Some(&partner)).await.status, StatusCode::NOT_FOUND);
    assert_eq!(app.get("/api/provisioning/tenants/not-a-uuid", Some(&partner)).await.status, StatusCode::NOT_FOUND);
    assert_eq!(app.get("/api/provisioning/tenants/", Some(&partner)).await.status, StatusCode::OK, "the trailing slash works too");
}
