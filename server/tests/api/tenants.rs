use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn sign_up_returns_201_with_the_tenant_and_its_admin() {
    let app = spawn().await;
    let reply = app
        .post("/api/tenants/", None, json!({"name": "Acme Inc", "admin_email": "Owner@Acme.test", "admin_password": PASSWORD, "admin_first_name": "Ada"}))
        .await;
    assert_eq!(reply.status, StatusCode::CREATED);
    assert_eq!(reply.body["name"], "Acme Inc");
    assert_eq!(reply.body["slug"], "acme-inc");
    assert!(uuid::Uuid::parse_str(reply.body["id"].as_str().unwrap()).is_ok());
    assert!(uuid::Uuid::parse_str(reply.body["admin_user_id"].as_str().unwrap()).is_ok());
    let created_at = reply.body["created_at"].as_str().unwrap();
    assert!(chrono::DateTime::parse_from_rfc3339(created_at).is_ok(), "{created_at}");
    let login = app.post("/api/auth/login/", None, json!({"email": "owner@acme.test", "password": PASSWORD})).await;
    assert_eq!(login.body["user"]["first_name"], "Ada");
    assert_eq!(login.body["user"]["roles"], json!(["ADMIN"]));
}

#[tokio::test]
async fn an_empty_sign_up_names_all_required_fields() {
    let app = spawn().await;
    let reply = app.post("/api/tenants/", None, json!({})).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    for field in ["name", "admin_email", "admin_password"] {
        assert_eq!(reply.field(field), ["This field is required."], "{field}");
    }
}

#[tokio::test]
async fn wrong_types_are_field_errors_not_422() {
    let app = spawn().await;
    let reply = app.post("/api/tenants/", None, json!({"name": true, "admin_email": ["x"], "admin_password": {"a": 1}})).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    for field in ["name", "admin_email", "admin_password"] {
        assert_eq!(reply.field(field), ["Not a valid string."], "{field}");
    }
}

#[tokio::test]
async fn malformed_bodies_are_400_with_a_json_reason() {
    let app = spawn().await;
    let cases = [
        (Some("application/json"), "{not json", "JSON parse error"),
        (Some("application/json"), "[1, 2]", "Expected a dictionary"),
        (Some("text/plain"), "{}", "Unsupported media type"),
        (None, "{}", "Unsupported media type"),
    ];
    for (content_type, body, expected) in cases {
        let reply = app.post_raw("/api/tenants/", content_type, body).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{content_type:?} {body}");
        assert!(reply.body["detail"].as_str().unwrap().contains(expected), "{}", reply.body);
    }
}

#[tokio::test]
async fn duplicates_are_409_with_the_clashing_field() {
    let app = spawn().await;
    app.sign_up("Acme").await;
    let same_name = app.post("/api/tenants/", None, json!({"name": "ACME", "admin_email": "new@x.test", "admin_password": PASSWORD})).await;
    assert_eq!(same_name.status, StatusCode::CONFLICT);
    assert!(!same_name.field("name").is_empty());
    let same_email = app.post("/api/tenants/", None, json!({"name": "Other", "admin_email": "ADMIN@acme.test", "admin_password": PASSWORD})).await;
    assert_eq!(same_email.status, StatusCode::CONFLICT);
    assert!(!same_email.field("admin_email").is_empty());
}

#[tokio::test]
async fn a_member_lists_only_their_tenant() {
    let app = spawn().await;
    let acme = app.sign_up("Acme").await;
    app.sign_up("Globex").await;
    let reply = app.get("/api/tenants/", Some(&acme.access)).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.body["count"], 1);
    assert_eq!(reply.body["results"][0]["id"], acme.id.as_str());
    assert_eq!(app.get("/api/tenants/", None).await.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn health_timezone_and_unknown_api_paths() {
    let app = spawn().await;
    let health = app.get("/api/health/", None).await;
    assert_eq!((health.status, health.body.clone()), (StatusCode::OK, json!({"status": "ok"})));
    assert!(health.headers.get("x-request-id").is_some());
    let tz = app.get("/api/timezone/", None).await;
    assert_eq!(tz.body, json!({"timezone": "America/Jamaica"}));
    for path in ["/api/nothing/", "/api/users", "/api/tenants/x/y/"] {
        let reply = app.get(path, None).await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(reply.body["detail"], "Not found.");
    }
}

#[tokio::test]
async fn health_is_503_when_the_database_is_gone() {
    let app = spawn().await;
    app.services.db().close().await;
    let reply = app.get("/api/health/", None).await;
    assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(reply.body["detail"].as_str().unwrap().contains("database"));
}

#[tokio::test]
async fn sign_up_is_rate_limited_per_ip_with_retry_after() {
    let app = spawn_with(&[("RATE_LIMIT_DISABLED", "0"), ("RATE_LIMIT_PER_IP_PER_MINUTE", "2")]).await;
    for _ in 0..2 {
        app.post("/api/tenants/", None, json!({})).await;
    }
    let reply = app.post("/api/tenants/", None, json!({})).await;
    assert_eq!(reply.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(reply.headers.get("retry-after").unwrap().to_str().unwrap().parse::<u64>().unwrap() >= 1);
}

#[tokio::test]
async fn the_openapi_description_covers_every_route_and_the_docs_page_loads() {
    let app = spawn().await;
    let spec = app.get("/api/openapi.json", None).await;
    assert_eq!(spec.status, StatusCode::OK);
    assert!(spec.body["openapi"].as_str().unwrap().starts_with("3.1"));
    let paths = spec.body["paths"].as_object().unwrap();
    for (path, method) in [
        ("/api/tenants/", "post"), ("/api/tenants/", "get"), ("/api/auth/login/", "post"), ("/api/auth/refresh/", "post"),
        ("/api/auth/logout/", "post"), ("/api/me/", "get"), ("/api/users/", "get"), ("/api/users/", "post"),
        ("/api/user-roles/", "get"), ("/api/roles/assign/", "post"), ("/api/health/", "get"), ("/api/timezone/", "get"),
    ] {
        assert!(paths.get(path).and_then(|p| p.get(method)).is_some(), "{method} {path} is documented");
    }
    // Every `{name}` in a documented path is declared as a path parameter of each operation on
    // it: a client generator or schemathesis refuses the whole description otherwise.
    for (path, operations) in paths {
        let templated: Vec<&str> = path.split('/').filter_map(|segment| segment.strip_prefix('{')?.strip_suffix('}')).collect();
        for (method, operation) in operations.as_object().unwrap() {
            let declared: Vec<&str> = operation["parameters"].as_array().map(|all| {
                all.iter().filter(|p| p["in"] == "path").filter_map(|p| p["name"].as_str()).collect()
            }).unwrap_or_default();
            for name in &templated {
                assert!(declared.contains(name), "{method} {path} declares its path parameter {name}");
            }
        }
    }
    let docs = app.client.get(app.url("/api/docs/")).send().await.unwrap();
    assert_eq!(docs.status(), StatusCode::OK);
    assert!(docs.text().await.unwrap().contains("swagger"));
}
