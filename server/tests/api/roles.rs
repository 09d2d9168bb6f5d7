use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn an_admin_assigns_a_role_and_assigning_again_returns_the_same_assignment() {
    let app = spawn().await;
    let acme = app.sign_up("Acme").await;
    let (bob_id, bob) = app.member(&acme, "bob@acme.test").await;
    let first = app.post("/api/roles/assign/", Some(&acme.access), json!({"user": bob_id, "role": "ANALYST"})).await;
    assert_eq!(first.status, StatusCode::CREATED);
    assert_eq!(first.body["user"], bob_id.as_str());
    assert_eq!(first.body["user_email"], "bob@acme.test");
    assert_eq!(first.body["tenant"], acme.id.as_str());
    assert_eq!(first.body["role"], "ANALYST");
    assert_eq!(first.body["assigned_by"], acme.admin_id.as_str());
    let again = app.post("/api/roles/assign/", Some(&acme.access), json!({"user": bob_id, "role": "ANALYST"})).await;
    assert!(again.status.is_success());
    assert_eq!(again.body["id"], first.body["id"]);
    // Takes effect on bob's very next request, with the token he already holds.
    assert_eq!(app.get("/api/me/", Some(&bob)).await.body["user"]["roles"], json!(["ANALYST"]));
    let list = app.get("/api/user-roles/", Some(&bob)).await;
    assert_eq!(list.status, StatusCode::OK);
    assert_eq!(list.body["count"], 2);
    let filtered = app.get(&format!("/api/user-roles/?user={bob_id}"), Some(&bob)).await;
    assert_eq!(filtered.body["count"], 1);
    assert_eq!(app.get("/api/user-roles/?role=ADMIN", Some(&bob)).await.body["results"][0]["user"], acme.admin_id.as_str());
}

#[tokio::test]
async fn only_admins_assign_and_authorization_comes_first() {
    let app = spawn().await;
    let acme = app.sign_up("Acme").await;
    let (bob_id, bob) = app.member(&acme, "bob@acme.test").await;
    let reply = app.post("/api/roles/assign/", Some(&bob), json!({"user": bob_id, "role": "ADMIN"})).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    let reply = app.post("/api/roles/assign/", Some(&bob), json!({"user": "not-a-uuid", "role": "NOPE"})).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert_eq!(app.post("/api/roles/assign/", None, json!({})).await.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn bad_users_and_roles_are_field_errors_and_other_tenants_are_out_of_reach() {
    let app = spawn().await;
    let acme = app.sign_up("Acme").await;
    let globex = app.sign_up("Globex").await;
    let reply = app.post("/api/roles/assign/", Some(&acme.access), json!({"user": "not-a-uuid", "role": "OWNER"})).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert!(!reply.field("user").is_empty() && !reply.field("role").is_empty());
    let cross = app.post("/api/roles/assign/", Some(&acme.access), json!({"user": globex.admin_id, "role": "VIEWER", "tenant": globex.id})).await;
    assert_eq!(cross.status, StatusCode::BAD_REQUEST);
    assert!(!cross.body.to_string().contains(&globex.id));
    let globex_roles = app.get("/api/user-roles/", Some(&globex.access)).await;
    assert_eq!(globex_roles.body["count"], 1, "nothing was added to Globex");
}

#[tokio::test]
async fn the_permission_catalogue_is_served_with_what_the_caller_holds() {
    let app = spawn().await;
    let tenant = app.sign_up("Acme").await;
    let (_, member) = app.member(&tenant, "bob@acme.test").await;
    let all = app.get("/api/permissions/", Some(&tenant.access)).await;
    assert_eq!(all.status, StatusCode::OK);
    let names: Vec<&str> = all.body.as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect();
    assert_eq!(names, [
        "tenant:read", "tenant:write", "members:read", "members:write", "roles:read", "roles:write", "invitations:read",
        "invitations:write", "audit:read", "api_keys:manage", "security:manage", "usage:read", "usage:write",
    ]);
    assert!(all.body.as_array().unwrap().iter().all(|p| p["held"] == true), "ADMIN holds everything");
    let mine = app.get("/api/permissions/", Some(&member)).await;
    let held: Vec<&str> = mine.body.as_array().unwrap().iter().filter(|p| p["held"] == true).map(|p| p["name"].as_str().unwrap()).collect();
    assert_eq!(held, ["tenant:read", "members:read", "roles:read"], "a member without a role reads the tenant, its members and roles");
    assert_eq!(app.get("/api/permissions/", None).await.status, StatusCode::UNAUTHORIZED);
}
