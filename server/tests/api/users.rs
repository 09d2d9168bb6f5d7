use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn an_admin_creates_a_member_with_no_roles_and_lists_them() {
    let app = spawn().await;
    let acme = app.sign_up("Acme").await;
    let reply = app.post("/api/users/", Some(&acme.access), json!({"email": "Bob@Acme.test", "password": PASSWORD, "first_name": "Bob"})).await;
    assert_eq!(reply.status, StatusCode::CREATED);
    assert_eq!(reply.body["email"], "bob@acme.test");
    assert_eq!(reply.body["first_name"], "Bob");
    assert_eq!(reply.body["tenant"], acme.id.as_str());
    assert_eq!(reply.body["roles"], json!([]));
    let list = app.get("/api/users/", Some(&acme.access)).await;
    assert_eq!(list.status, StatusCode::OK);
    assert_eq!(list.body["count"], 2);
    assert_eq!(list.body["next"], serde_json::Value::Null);
    assert_eq!(list.body["previous"], serde_json::Value::Null);
    let emails: Vec<&str> = list.body["results"].as_array().unwrap().iter().map(|u| u["email"].as_str().unwrap()).collect();
    assert_eq!(emails, ["admin@acme.test", "bob@acme.test"]);
}

#[tokio::test]
async fn a_member_without_admin_gets_403_before_validation() {
    let app = spawn().await;
    let acme = app.sign_up("Acme").await;
    let (_, bob) = app.member(&acme, "bob@acme.test").await;
    let reply = app.post("/api/users/", Some(&bob), json!({})).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert!(reply.body["detail"].is_string());
    // Reading is allowed.
    assert_eq!(app.get("/api/users/", Some(&bob)).await.status, StatusCode::OK);
}

#[tokio::test]
async fn tenant_a_cannot_see_or_create_in_tenant_b() {
    let app = spawn().await;
    let acme = app.sign_up("Acme").await;
    let globex = app.sign_up("Globex").await;
    app.member(&globex, "secret@globex.test").await;
    let list = app.get("/api/users/", Some(&acme.access)).await;
    assert!(!list.body.to_string().contains("globex"), "{}", list.body);
    // A `tenant` in the body is not honoured.
    let reply = app.post("/api/users/", Some(&acme.access), json!({"email": "x@x.test", "password": PASSWORD, "tenant": globex.id})).await;
    assert_eq!(reply.body["tenant"], acme.id.as_str());
    let globex_list = app.get("/api/users/", Some(&globex.access)).await;
    assert!(!globex_list.body.to_string().contains("x@x.test"));
}

#[tokio::test]
async fn user_creation_validates_every_field_and_refuses_duplicates() {
    let app = spawn().await;
    let acme = app.sign_up("Acme").await;
    let reply = app.post("/api/users/", Some(&acme.access), json!({"email": "nope", "password": "123"})).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(reply.field("email"), ["Enter a valid email address."]);
    assert!(reply.field("password").iter().any(|m| m.contains("too short")));
    let dup = app.post("/api/users/", Some(&acme.access), json!({"email": "ADMIN@acme.test", "password": PASSWORD})).await;
    assert_eq!(dup.status, StatusCode::CONFLICT);
    assert!(!dup.field("email").is_empty());
}

#[tokio::test]
async fn pages_of_the_user_list() {
    let app = spawn().await;
    let acme = app.sign_up("Acme").await;
    assert_eq!(app.get("/api/users/?page=abc", Some(&acme.access)).await.status, StatusCode::NOT_FOUND);
    assert_eq!(app.get("/api/users/?page=0", Some(&acme.access)).await.status, StatusCode::NOT_FOUND);
    let empty = app.get("/api/users/?page=2", Some(&acme.access)).await;
    assert_eq!(empty.status, StatusCode::OK);
    assert_eq!(empty.body["count"], 1);
    assert_eq!(empty.body["results"], json!([]));
    assert!(empty.body["previous"].as_str().unwrap().ends_with("/api/users/"));
}
