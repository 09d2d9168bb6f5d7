//! `POST /api/provisioning/tenants` with a tenant description, and safe deletion:
//! `DELETE /api/tenants/{id}/` with `confirm_name`, `POST /api/tenants/{id}/restore/`.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::*;

async fn root(app: &TestApp) -> String {
    app.services.create_superuser("root@platform.test", Some(PASSWORD)).await.unwrap();
    app.login("root@platform.test", PASSWORD).await.0
}

async fn delete_named(app: &TestApp, id: &str, token: &str, body: Option<serde_json::Value>) -> Reply {
    let mut request = app.client.delete(app.url(&format!("/api/tenants/{id}/"))).bearer_auth(token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    Reply { status, headers: Default::default(), body: if text.is_empty() { serde_json::Value::Null } else { serde_json::from_str(&text).unwrap() } }
}

#[tokio::test]
async fn a_description_makes_the_whole_tenant_or_names_every_bad_field() {
    let app = spawn().await;
    let partner = app.partner("partner@reseller.test").await;
    let body = json!({"tenant": {"name": "Acme Corporation", "subdomain": "acme-corp", "plan_type": "professional",
        "contact_email": "billing@acme.com", "max_users": 40, "custom_domain": "dash.acme.com"},
     "users": [{"email": "admin@acme.com", "role": "owner"}, {"email": "m@acme.com", "role": "admin"}],
     "features": {"analytics_dashboard": true}, "settings": {"timezone": "America/New_York"}});
    let created = app.post("/api/provisioning/tenants", Some(&partner), body.clone()).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    assert_eq!(created.body["slug"], "acme-corp");
    assert_eq!(created.body["subdomain"], "acme-corp");
    assert_eq!(created.body["plan"], "professional");
    assert_eq!(created.body["custom_domain"], "dash.acme.com");
    assert_eq!(created.body["invitations"].as_array().unwrap().len(), 2);
    assert_eq!(created.body["invitations"][0]["role"], "ADMIN");
    let id = created.body["id"].as_str().unwrap();
    let listed = app.get(&format!("/api/provisioning/tenants/{id}"), Some(&partner)).await;
    assert_eq!(listed.status, StatusCode::OK, "the partner manages it like any tenant it provisioned");

    let again = app.post("/api/provisioning/tenants", Some(&partner), body).await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.body);
    assert!(!again.field("tenant.subdomain").is_empty(), "{}", again.body);

    let bad = app
        .post("/api/provisioning/tenants/", Some(&partner), json!({"tenant": {"name": "", "subdomain": "www", "max_users": -1},
            "users": [{"email": "nope", "role": "owner"}], "settings": {"timezone": "Mars/Olympus"}, "colour": "red"}))
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.body);
    for field in ["tenant.name", "tenant.subdomain", "tenant.max_users", "users[0].email", "settings.timezone", "colour"] {
        assert!(!bad.field(field).is_empty(), "{field} in {}", bad.body);
    }
    let no_plan = app.post("/api/provisioning/tenants", Some(&partner), json!({"tenant": {"name": "Nowhere", "plan_type": "platinum"}})).await;
    assert_eq!(no_plan.status, StatusCode::BAD_REQUEST);
    assert!(no_plan.field("tenant.plan_type")[0].contains("platinum"));
    let root = root(&app).await;
    let by_root = app.post("/api/provisioning/tenants", Some(&root), json!({"tenant": {"name": "Nowhere"}})).await;
    assert_eq!(by_root.status, StatusCode::CREATED, "superusers provision too: {}", by_root.body);
    let acme = app.sign_up("Plain").await;
    let refused = app.post("/api/provisioning/tenants", Some(&acme.access), json!({"tenant": {"name": "Sneaky"}})).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    // The flat body keeps its answer.
    let flat = app.post("/api/provisioning/tenants", Some(&partner), json!({"company_name": "Flat Inc", "email": "owner@flat.test"})).await;
    assert_eq!(flat.status, StatusCode::CREATED);
    assert_eq!(flat.body["invitation"]["email"], "owner@flat.test");
}

#[tokio::test]
async fn deleting_takes_the_exact_name_stops_the_tenant_and_restore_brings_it_back() {
    let app = spawn().await;
    let root = root(&app).await;
    let acme = app.sign_up("Acme Corp").await;
    let other = app.sign_up("Other").await;
    let path = format!("/api/tenants/{}/", acme.id);

    assert_eq!(delete_named(&app, &acme.id, &acme.access, Some(json!({"confirm_name": "Acme Corp"}))).await.status, StatusCode::FORBIDDEN, "not its own admins");
    assert_eq!(delete_named(&app, &acme.id, &other.access, Some(json!({"confirm_name": "Acme Corp"}))).await.status, StatusCode::NOT_FOUND);
    let unsigned = app.client.delete(app.url(&path)).json(&json!({"confirm_name": "Acme Corp"})).send().await.unwrap();
    assert_eq!(unsigned.status(), StatusCode::UNAUTHORIZED);
    let wrong = delete_named(&app, &acme.id, &root, Some(json!({"confirm_name": "ACME CORP"}))).await;
    assert_eq!(wrong.status, StatusCode::BAD_REQUEST);
    assert!(wrong.field("confirm_name")[0].contains("Acme Corp"), "{}", wrong.body);
    assert_eq!(delete_named(&app, &acme.id, &root, None).await.status, StatusCode::BAD_REQUEST, "the name is required");
    assert_eq!(app.get("/api/me/", Some(&acme.access)).await.status, StatusCode::OK, "nothing happened yet");

    let deleted = delete_named(&app, &acme.id, &root, Some(json!({"confirm_name": "Acme Corp"}))).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{}", deleted.body);
    assert_eq!(app.get("/api/me/", Some(&acme.access)).await.status, StatusCode::UNAUTHORIZED, "its members can no longer act in it");
    let login = app.post("/api/auth/login/", None, json!({"email": acme.admin_email, "password": PASSWORD})).await;
    assert_ne!(login.status, StatusCode::OK);
    assert_eq!(delete_named(&app, &acme.id, &root, Some(json!({"confirm_name": "Acme Corp"}))).await.status, StatusCode::CONFLICT);

    let restored = app.post(&format!("/api/tenants/{}/restore/", acme.id), Some(&root), json!({})).await;
    assert_eq!(restored.status, StatusCode::OK, "{}", restored.body);
    assert_eq!(restored.body["id"], acme.id.as_str());
    assert_eq!(restored.body["status"], "active");
    assert_eq!(app.post(&format!("/api/tenants/{}/restore/", acme.id), Some(&root), json!({})).await.status, StatusCode::CONFLICT);
    assert_eq!(app.post(&format!("/api/tenants/{}/restore/", other.id), Some(&other.access), json!({})).await.status, StatusCode::FORBIDDEN);
    let (access, _) = app.login(&acme.admin_email, PASSWORD).await;
    assert_eq!(app.get("/api/me/", Some(&access)).await.status, StatusCode::OK, "a restored tenant works again");
    // A DELETE without a body may name the tenant in the query.
    let by_query = app.client.delete(app.url(&format!("{path}?confirm_name=Acme%20Corp"))).bearer_auth(&root).send().await.unwrap();
    assert_eq!(by_query.status(), StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn an_export_streams_the_tenant_as_one_json_document_for_its_admins() {
    let app = spawn().await;
    let acme = app.sign_up("Acme").await;
    let (_, member) = app.member(&acme, "bob@acme.test").await;
    let response = app.client.get(app.url(&format!("/api/tenants/{}/export/", acme.id))).bearer_auth(&acme.access).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers()["content-disposition"].to_str().unwrap().contains("tenant-acme-"));
    let document: serde_json::Value = response.json().await.expect("JSON, decompressed from gzip or br");
    assert_eq!(document["format"], "tenantry.tenant-export");
    assert_eq!(document["users"].as_array().unwrap().len(), 2);
    assert!(document["audit"].as_array().unwrap().iter().any(|e| e["action"] == "tenant_created"));
    let only = app.get(&format!("/api/tenants/{}/export/?include=roles", acme.id), Some(&acme.access)).await;
    assert!(only.body.get("users").is_none() && only.body["roles"].is_array(), "{}", only.body);
    let bad = app.get(&format!("/api/tenants/{}/export/?include=secrets", acme.id), Some(&acme.access)).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(!bad.field("include").is_empty());
    assert_eq!(app.get(&format!("/api/tenants/{}/export/", acme.id), Some(&member)).await.status, StatusCode::FORBIDDEN);
    let other = app.sign_up("Other").await;
    assert_eq!(app.get(&format!("/api/tenants/{}/export/", acme.id), Some(&other.access)).await.status, StatusCode::NOT_FOUND);
    assert_eq!(app.get(&format!("/api/tenants/{}/export/", acme.id), None).await.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn templates_are_listed_for_partners_only() {
    let app = spawn().await;
    let partner = app.partner("partner@reseller.test").await;
    let listed = app.get("/api/provisioning/templates", Some(&partner)).await;
    assert_eq!((listed.status, listed.body.clone()), (StatusCode::OK, json!([])), "no TENANT_TEMPLATES_FILE, no templates");
    let acme = app.sign_up("Acme").await;
    assert_eq!(app.get("/api/provisioning/templates", Some(&acme.access)).await.status, StatusCode::FORBIDDEN);
    let unknown = app.post("/api/provisioning/tenants", Some(&partner), json!({"tenant": {"name": "T"}, "template": "nope"})).await;
    assert_eq!(unknown.status, StatusCode::BAD_REQUEST);
    assert!(!unknown.field("template").is_empty());
}
