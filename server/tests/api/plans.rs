//! Plans, quotas, features, tenant settings and subdomains over HTTP.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::*;

async fn root(app: &TestApp) -> String {
    app.services.create_superuser("root@platform.test", Some(PASSWORD)).await.unwrap();
    app.login("root@platform.test", PASSWORD).await.0
}

#[tokio::test]
async fn plans_are_listed_and_a_tenant_without_one_keeps_todays_behaviour() {
    let app = spawn().await;
    let acme = app.sign_up("Acme").await;
    let plans = app.get("/api/plans/", Some(&acme.access)).await;
    assert_eq!(plans.status, StatusCode::OK);
    let basic = &plans.body["results"][0];
    assert_eq!((basic["name"].as_str(), basic["max_users"].as_i64(), basic["max_assets"].as_i64(), basic["max_devices"].as_i64(), basic["storage_quota_gb"].as_i64()),
        (Some("basic"), Some(10), Some(100), Some(5), Some(10)));
    assert_eq!(basic["features"], json!(["basic_dashboard", "standard_support"]));
    assert_eq!(basic["price_monthly"], 29.0);
    assert_eq!(app.get("/api/plans/", None).await.status, StatusCode::UNAUTHORIZED);
    let tenants = app.get("/api/tenants/", Some(&acme.access)).await;
    assert!(tenants.body["results"][0]["plan"].is_null(), "no plan: null, not a placeholder");
    let usage = app.get(&format!("/api/tenants/{}/quotas/usage/", acme.id), Some(&acme.access)).await;
    assert_eq!(usage.status, StatusCode::OK, "{}", usage.body);
    assert!(usage.body["plan"].is_null());
    assert_eq!(usage.body["current_usage"]["users"], 1);
    assert!(usage.body["quotas"]["max_users"].is_null() && usage.body["usage_percentages"]["users"].is_null());
}

#[tokio::test]
async fn a_plan_change_limits_invitations_with_the_documented_403() {
    let app = spawn().await;
    let root = root(&app).await;
    let acme = app.sign_up("Acme").await;
    let change = app.post(&format!("/api/tenants/{}/plan/", acme.id), Some(&root), json!({"plan": "basic", "limits": {"max_users": 2}})).await;
    assert_eq!(change.status, StatusCode::OK, "{}", change.body);
    assert_eq!(change.body["plan"], "basic");
    assert_eq!(change.body["limits"]["max_users"], 2);
    assert_eq!(change.body["limits"]["max_assets"], 100);
    assert_eq!(app.post("/api/users/invite/", Some(&acme.access), json!({"email": "one@example.com"})).await.status, StatusCode::CREATED);
    let refused = app.post("/api/users/invite/", Some(&acme.access), json!({"email": "two@example.com"})).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(refused.body["code"], "quota_exceeded");
    assert_eq!(refused.body["quota"], "max_users");
    assert_eq!((refused.body["limit"].as_i64(), refused.body["usage"].as_i64()), (Some(2), Some(2)));
    assert!(refused.body["detail"].as_str().unwrap().contains("basic"));
    let same = app.post(&format!("/api/tenants/{}/invite/", acme.id), Some(&acme.access), json!({"email": "two@example.com"})).await;
    assert_eq!(same.body["code"], "quota_exceeded", "both invite routes");
    let usage = app.get(&format!("/api/tenants/{}/quotas/usage/", acme.id), Some(&acme.access)).await;
    assert_eq!((usage.body["plan"].as_str(), usage.body["current_usage"]["users"].as_i64(), usage.body["usage_percentages"]["users"].as_f64()), (Some("basic"), Some(2), Some(100.0)));
    // 409 on a downgrade below usage, naming each quota; force goes through.
    let down = app.post(&format!("/api/tenants/{}/plan/", acme.id), Some(&root), json!({"plan": "basic", "limits": {"max_users": 1}})).await;
    assert_eq!(down.status, StatusCode::CONFLICT);
    assert!(!down.field("max_users").is_empty());
    let forced = app.post(&format!("/api/tenants/{}/plan/", acme.id), Some(&root), json!({"plan": "basic", "limits": {"max_users": 1}, "force": true})).await;
    assert_eq!(forced.status, StatusCode::OK);
    // Only the platform (or the provisioning partner) changes plans.
    let mine = app.post(&format!("/api/tenants/{}/plan/", acme.id), Some(&acme.access), json!({"plan": "enterprise"})).await;
    assert_eq!(mine.status, StatusCode::FORBIDDEN);
    let none = app.post(&format!("/api/tenants/{}/plan/", acme.id), Some(&root), json!({"plan": null})).await;
    assert!(none.body["plan"].is_null(), "{}", none.body);
}

#[tokio::test]
async fn the_host_application_reports_and_checks_usage() {
    let app = spawn().await;
    let root = root(&app).await;
    let acme = app.sign_up("Acme").await;
    let (_, bob) = app.member(&acme, "bob@acme.test").await;
    app.post(&format!("/api/tenants/{}/plan/", acme.id), Some(&root), json!({"plan": "basic"})).await;
    let client = reqwest::Client::new();
    let put = client.put(app.url(&format!("/api/tenants/{}/usage/", acme.id))).bearer_auth(&acme.access).json(&json!({"assets": 120, "devices": 3, "storage_gb": 5})).send().await.unwrap();
    assert_eq!(put.status(), StatusCode::OK);
    let body: serde_json::Value = put.json().await.unwrap();
    assert_eq!(body["current_usage"]["assets"], 120);
    assert_eq!(body["usage_percentages"]["assets"], 120.0);
    let put = client.put(app.url(&format!("/api/tenants/{}/usage/", acme.id))).bearer_auth(&bob).json(&json!({"assets": 1})).send().await.unwrap();
    assert_eq!(put.status(), StatusCode::FORBIDDEN);
    let put = client.put(app.url(&format!("/api/tenants/{}/usage/", acme.id))).bearer_auth(&acme.access).json(&json!({"users": 1, "assets": "many"})).send().await.unwrap();
    assert_eq!(put.status(), StatusCode::BAD_REQUEST);
    let check = app.post(&format!("/api/tenants/{}/usage/check/", acme.id), Some(&bob), json!({"resource": "devices", "add": 2})).await;
    assert_eq!(check.status, StatusCode::OK, "{}", check.body);
    assert_eq!(check.body["allowed"], true);
    let over = app.post(&format!("/api/tenants/{}/usage/check/", acme.id), Some(&bob), json!({"resource": "assets", "add": 1})).await;
    assert_eq!(over.status, StatusCode::FORBIDDEN);
    assert_eq!((over.body["code"].as_str(), over.body["quota"].as_str(), over.body["limit"].as_i64()), (Some("quota_exceeded"), Some("max_assets"), Some(100)));
    let globex = app.sign_up("Globex").await;
    assert_eq!(app.get(&format!("/api/tenants/{}/quotas/usage/", globex.id), Some(&acme.access)).await.status, StatusCode::NOT_FOUND);
    assert_eq!(app.get(&format!("/api/tenants/{}/quotas/usage/", globex.id), Some(&root)).await.status, StatusCode::OK, "a superuser sees any tenant");
}

#[tokio::test]
async fn features_and_branding() {
    let app = spawn().await;
    let root = root(&app).await;
    let acme = app.sign_up("Acme").await;
    let path = format!("/api/tenants/{}/", acme.id);
    let branding = json!({"branding": {"company_name": "Acme", "primary_color": "#1f6feb", "logo_url": "https://cdn.acme.test/logo.png"}});
    assert_eq!(app.patch(&path, Some(&acme.access), branding.clone()).await.status, StatusCode::FORBIDDEN, "no custom_branding");
    let flags = app.patch(&format!("/api/tenants/{}/features/", acme.id), Some(&root), json!({"custom_branding": true})).await;
    assert_eq!(flags.status, StatusCode::OK, "{}", flags.body);
    assert_eq!(flags.body["features"]["custom_branding"], json!({"enabled": true, "source": "override"}));
    let listed = app.get(&format!("/api/tenants/{}/features/", acme.id), Some(&acme.access)).await;
    assert_eq!(listed.body["features"]["custom_branding"]["source"], "override");
    let saved = app.patch(&path, Some(&acme.access), branding).await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);
    assert_eq!(saved.body["branding"]["primary_color"], "#1f6feb");
    let bad = app.patch(&path, Some(&acme.access), json!({"contact_email": "x", "settings": {"timezone": "Mars/Base", "data_retention_days": 0}, "branding": {"primary_color": "red"}})).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    for field in ["contact_email", "settings.timezone", "settings.data_retention_days", "branding.primary_color"] {
        assert!(!bad.field(field).is_empty(), "{field}: {}", bad.body);
    }
    let read = app.get(&path, Some(&acme.access)).await;
    assert_eq!(read.body["branding"]["company_name"], "Acme");
    assert_eq!(read.body["plan"], serde_json::Value::Null);
    let (_, bob) = app.member(&acme, "bob@acme.test").await;
    assert_eq!(app.get(&path, Some(&bob)).await.status, StatusCode::OK);
    assert_eq!(app.patch(&path, Some(&bob), json!({"display_name": "Mine"})).await.status, StatusCode::FORBIDDEN);
    let globex = app.sign_up("Globex").await;
    assert_eq!(app.get(&format!("/api/tenants/{}/", globex.id), Some(&acme.access)).await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn subdomains_and_the_tenants_own_host() {
    let app = spawn_with(&[("TENANT_BASE_DOMAIN", "example.test")]).await;
    let acme = app.sign_up("Acme Corp").await;
    let check = app.get("/api/tenants/check-subdomain/?subdomain=acme-corp", None).await;
    assert_eq!(check.status, StatusCode::OK);
    assert_eq!((check.body["subdomain"].as_str(), check.body["available"].as_bool()), (Some("acme-corp"), Some(false)));
    assert_eq!(check.body["suggestions"].as_array().unwrap().len(), 5);
    assert_eq!(app.get("/api/tenants/check-subdomain/?subdomain=api", None).await.body["available"], false);
    assert_eq!(app.get("/api/tenants/check-subdomain/?subdomain=Bad_One", None).await.status, StatusCode::BAD_REQUEST);
    assert_eq!(app.get("/api/tenants/check-subdomain/", None).await.status, StatusCode::BAD_REQUEST);
    // The tenant's host: sign-in lands there; a stranger is refused; an unknown host is a 404.
    let on_host = |path: &str| app.client.post(app.url(path)).header("host", "acme-corp.example.test");
    let login = on_host("/api/auth/login/").json(&json!({"email": acme.admin_email, "password": PASSWORD})).send().await.unwrap();
    assert_eq!(login.status(), StatusCode::OK);
    let body: serde_json::Value = login.json().await.unwrap();
    assert_eq!(body["tenant_id"], acme.id.as_str());
    let globex = app.sign_up("Globex").await;
    let stranger = on_host("/api/auth/login/").json(&json!({"email": globex.admin_email, "password": PASSWORD})).send().await.unwrap();
    assert_eq!(stranger.status(), StatusCode::FORBIDDEN);
    let unknown = app.client.get(app.url("/login")).header("host", "nobody.example.test").send().await.unwrap();
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
    assert!(!unknown.text().await.unwrap().contains("Acme"));
    let page = app.client.get(app.url("/login")).header("host", "acme-corp.example.test").send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
}

#[tokio::test]
async fn an_operator_gives_a_tenant_its_own_domain_and_sign_in_there_lands_in_it() {
    let app = spawn_with(&[("TENANT_BASE_DOMAIN", "example.test")]).await;
    let root = root(&app).await;
    let acme = app.sign_up("Acme").await;
    let globex = app.sign_up("Globex").await;
    let path = format!("/api/tenants/{}/domain/", acme.id);
    assert_eq!(app.put(&path, None, json!({"custom_domain": "login.acme.org"})).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(app.put(&path, Some(&acme.access), json!({"custom_domain": "login.acme.org"})).await.status, StatusCode::FORBIDDEN, "not the tenant's own admin");
    assert_eq!(app.put(&path, Some(&globex.access), json!({"custom_domain": "login.acme.org"})).await.status, StatusCode::NOT_FOUND);
    for bad in [json!({}), json!({"custom_domain": "https://login.acme.org/"}), json!({"custom_domain": "acme.example.test"}), json!({"custom_domain": 5})] {
        let refused = app.put(&path, Some(&root), bad.clone()).await;
        assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{bad}");
        assert!(!refused.field("custom_domain").is_empty(), "{bad}: {}", refused.body);
    }
    let set = app.put(&path, Some(&root), json!({"custom_domain": "Login.Acme.org"})).await;
    assert_eq!(set.status, StatusCode::OK, "{}", set.body);
    assert_eq!(set.body["custom_domain"], "login.acme.org");
    assert_eq!(app.get(&format!("/api/tenants/{}/", acme.id), Some(&acme.access)).await.body["custom_domain"], "login.acme.org");
    let clash = app.put(&format!("/api/tenants/{}/domain/", globex.id), Some(&root), json!({"custom_domain": "login.acme.org"})).await;
    assert_eq!(clash.status, StatusCode::CONFLICT);
    assert!(!clash.field("custom_domain").is_empty());
    // Sign-in on that host lands in Acme; Globex's admin is refused there.
    let on_host = |path: &str| app.client.post(app.url(path)).header("host", "login.acme.org");
    let login = on_host("/api/auth/login/").json(&json!({"email": acme.admin_email, "password": PASSWORD})).send().await.unwrap();
    assert_eq!(login.status(), StatusCode::OK);
    assert_eq!(login.json::<serde_json::Value>().await.unwrap()["tenant_id"], acme.id.as_str());
    let stranger = on_host("/api/auth/login/").json(&json!({"email": globex.admin_email, "password": PASSWORD})).send().await.unwrap();
    assert_eq!(stranger.status(), StatusCode::FORBIDDEN);
    // null removes it: the host is nobody's again.
    let removed = app.put(&path, Some(&root), json!({"custom_domain": null})).await;
    assert_eq!(removed.status, StatusCode::OK);
    assert!(removed.body["custom_domain"].is_null());
    let login = on_host("/api/auth/login/").json(&json!({"email": globex.admin_email, "password": PASSWORD})).send().await.unwrap();
    assert_eq!(login.status(), StatusCode::OK);
}

#[tokio::test]
async fn the_brand_style_sheet_takes_six_hex_digits_and_nothing_else() {
    let app = spawn().await;
    let sheet = app.client.get(app.url("/brand.css?color=0A7E3D")).send().await.unwrap();
    assert_eq!(sheet.status(), StatusCode::OK);
    assert!(sheet.headers()["content-type"].to_str().unwrap().starts_with("text/css"));
    assert_eq!(sheet.text().await.unwrap(), ":root { --brand: #0a7e3d; }\n");
    for hostile in ["red", "0a7e3d;}body{display:none", "0a7e3", "%230a7e3d", ""] {
        let refused = app.client.get(app.url(&format!("/brand.css?color={hostile}"))).send().await.unwrap();
        assert_eq!(refused.status(), StatusCode::BAD_REQUEST, "{hostile}");
        assert!(!refused.text().await.unwrap().contains("--brand"), "{hostile}");
    }
}
