//! Custom roles over HTTP: the routes, their refusals, and another tenant's ids.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn an_admin_creates_a_role_assigns_it_and_its_holder_gains_its_permissions() {
    let app = spawn().await;
    let acme = app.sign_up("Acme").await;
    let (bob_id, bob) = app.member(&acme, "bob@acme.test").await;
    let created = app
        .post("/api/roles/", Some(&acme.access), json!({"name": "developer", "description": "Builds things", "permissions": ["members:read", "invitations:*", "usage:read"]}))
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    assert_eq!(created.body["name"], "developer");
    assert_eq!(created.body["permissions"], json!(["members:read", "usage:read", "invitations:*"]));
    assert_eq!(created.body["built_in"], false);
    let id = created.body["id"].as_str().unwrap().to_owned();
    // Bob, without it, cannot invite.
    assert_eq!(app.post("/api/users/invite/", Some(&bob), json!({"email": "c@acme.test"})).await.status, StatusCode::FORBIDDEN);
    let assigned = app.post("/api/roles/assign/", Some(&acme.access), json!({"user": bob_id, "role": "Developer"})).await;
    assert_eq!(assigned.status, StatusCode::CREATED, "{}", assigned.body);
    assert_eq!(assigned.body["role"], "developer");
    assert_eq!(app.get("/api/me/", Some(&bob)).await.body["user"]["roles"], json!(["developer"]));
    assert_eq!(app.post("/api/users/invite/", Some(&bob), json!({"email": "c@acme.test"})).await.status, StatusCode::CREATED);
    let listed = app.get("/api/user-roles/?role=developer", Some(&bob)).await;
    assert_eq!(listed.body["count"], 1);
    let roles = app.get("/api/roles/", Some(&bob)).await;
    assert_eq!(roles.status, StatusCode::OK);
    let names: Vec<&str> = roles.body["results"].as_array().unwrap().iter().map(|r| r["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["ADMIN", "ANALYST", "VIEWER", "developer"]);
    assert_eq!(roles.body["results"][0]["permissions"], json!(["*"]));
    assert_eq!(roles.body["results"][3]["member_count"], 1);
    assert_eq!(app.get(&format!("/api/roles/{id}/"), Some(&bob)).await.body["name"], "developer");
    // An edit applies on Bob's next request.
    let edited = app.patch(&format!("/api/roles/{id}/"), Some(&acme.access), json!({"permissions": ["members:read"]})).await;
    assert_eq!(edited.status, StatusCode::OK, "{}", edited.body);
    assert_eq!(app.post("/api/users/invite/", Some(&bob), json!({"email": "d@acme.test"})).await.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn role_bodies_are_checked_field_by_field() {
    let app = spawn().await;
    let acme = app.sign_up("Acme").await;
    let bad = app.post("/api/roles/", Some(&acme.access), json!({"name": "ADMIN", "permissions": ["assets:*", "members:delete"]})).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(bad.field("name")[0].contains("built-in"));
    let messages = bad.field("permissions");
    assert_eq!(messages.len(), 2);
    assert!(messages[0].contains("assets:*") && messages[1].contains("members:delete"));
    let empty = app.post("/api/roles/", Some(&acme.access), json!({})).await;
    assert_eq!(empty.status, StatusCode::BAD_REQUEST);
    assert_eq!(empty.field("name"), ["This field is required."]);
    let shapes = app.post("/api/roles/", Some(&acme.access), json!({"name": "x y", "permissions": "members:read"})).await;
    assert_eq!(shapes.status, StatusCode::BAD_REQUEST);
    assert!(!shapes.field("name").is_empty() && !shapes.field("permissions").is_empty());
    assert_eq!(app.post("/api/roles/", Some(&acme.access), json!({"name": "ops"})).await.status, StatusCode::CREATED);
    let clash = app.post("/api/roles/", Some(&acme.access), json!({"name": "OPS"})).await;
    assert_eq!(clash.status, StatusCode::CONFLICT);
    assert!(!clash.field("name").is_empty());
}

#[tokio::test]
async fn who_may_manage_roles_and_what_they_may_grant() {
    let app = spawn().await;
    let acme = app.sign_up("Acme").await;
    let (bob_id, bob) = app.member(&acme, "bob@acme.test").await;
    let (carol_id, _) = app.member(&acme, "carol@acme.test").await;
    assert_eq!(app.post("/api/roles/", None, json!({"name": "ops"})).await.status, StatusCode::UNAUTHORIZED);
    // Authorization comes before the body is read.
    assert_eq!(app.post("/api/roles/", Some(&bob), json!({"name": "!"})).await.status, StatusCode::FORBIDDEN);
    app.post("/api/roles/", Some(&acme.access), json!({"name": "role-manager", "permissions": ["roles:write"]})).await;
    app.post("/api/roles/", Some(&acme.access), json!({"name": "auditor", "permissions": ["audit:read"]})).await;
    app.post("/api/roles/assign/", Some(&acme.access), json!({"user": bob_id, "role": "role-manager"})).await;
    let escalate = app.post("/api/roles/", Some(&bob), json!({"name": "snoop", "permissions": ["audit:read"]})).await;
    assert_eq!(escalate.status, StatusCode::FORBIDDEN);
    assert!(escalate.body["detail"].as_str().unwrap().contains("audit:read"));
    let grant = app.post("/api/roles/assign/", Some(&bob), json!({"user": carol_id, "role": "auditor"})).await;
    assert_eq!(grant.status, StatusCode::FORBIDDEN);
    assert!(grant.body["detail"].as_str().unwrap().contains("audit:read"));
    // Built-in roles are fixed.
    assert_eq!(app.patch("/api/roles/ADMIN/", Some(&acme.access), json!({"name": "boss"})).await.status, StatusCode::FORBIDDEN);
    assert_eq!(app.remove("/api/roles/VIEWER/", Some(&acme.access)).await.status, StatusCode::FORBIDDEN);
    assert_eq!(app.remove("/api/roles/nobody/", Some(&acme.access)).await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn deleting_a_held_role_needs_reassignment() {
    let app = spawn().await;
    let acme = app.sign_up("Acme").await;
    let (bob_id, bob) = app.member(&acme, "bob@acme.test").await;
    let dev = app.post("/api/roles/", Some(&acme.access), json!({"name": "developer", "permissions": ["members:read"]})).await;
    let id = dev.body["id"].as_str().unwrap().to_owned();
    app.post("/api/roles/", Some(&acme.access), json!({"name": "senior_developer", "permissions": ["invitations:read"]})).await;
    app.post("/api/roles/assign/", Some(&acme.access), json!({"user": bob_id, "role": "developer"})).await;
    let held = app.remove(&format!("/api/roles/{id}/"), Some(&acme.access)).await;
    assert_eq!(held.status, StatusCode::CONFLICT, "{}", held.body);
    let bad = app.remove(&format!("/api/roles/{id}/?reassign_to=wizard"), Some(&acme.access)).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(!bad.field("reassign_to").is_empty());
    let moved = app.remove(&format!("/api/roles/{id}/?reassign_to=senior_developer"), Some(&acme.access)).await;
    assert_eq!(moved.status, StatusCode::NO_CONTENT, "{}", moved.body);
    assert_eq!(app.get("/api/me/", Some(&bob)).await.body["user"]["roles"], json!(["senior_developer"]));
    assert_eq!(app.get(&format!("/api/roles/{id}/"), Some(&acme.access)).await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_members_role_is_replaced_in_one_step() {
    let app = spawn().await;
    let acme = app.sign_up("Acme").await;
    let (bob_id, bob) = app.member(&acme, "bob@acme.test").await;
    app.post("/api/roles/", Some(&acme.access), json!({"name": "developer", "permissions": ["members:read"]})).await;
    app.post("/api/roles/", Some(&acme.access), json!({"name": "senior_developer", "permissions": ["invitations:read"]})).await;
    app.post("/api/roles/assign/", Some(&acme.access), json!({"user": bob_id, "role": "developer"})).await;
    let path = format!("/api/tenants/{}/users/{bob_id}/roles/developer/", acme.id);
    let changed = app.patch(&path, Some(&acme.access), json!({"role_name": "senior_developer"})).await;
    assert_eq!(changed.status, StatusCode::OK, "{}", changed.body);
    assert_eq!(changed.body["role"], "senior_developer");
    assert_eq!(changed.body["user"], bob_id.as_str());
    assert_eq!(app.get("/api/me/", Some(&bob)).await.body["user"]["roles"], json!(["senior_developer"]));
    let audit = app.get("/api/audit-logs/?action=role_changed", Some(&acme.access)).await;
    assert_eq!(audit.body["results"][0]["metadata"]["from"], "developer");
    assert_eq!(audit.body["results"][0]["metadata"]["to"], "senior_developer");
    // Held no longer; a member cannot; the body is checked; the last admin stays one.
    assert_eq!(app.patch(&path, Some(&acme.access), json!({"role_name": "VIEWER"})).await.status, StatusCode::NOT_FOUND);
    let by_bob = format!("/api/tenants/{}/users/{bob_id}/roles/senior_developer/", acme.id);
    assert_eq!(app.patch(&by_bob, Some(&bob), json!({"role_name": "VIEWER"})).await.status, StatusCode::FORBIDDEN);
    let empty = app.patch(&by_bob, Some(&acme.access), json!({})).await;
    assert_eq!(empty.status, StatusCode::BAD_REQUEST);
    assert_eq!(empty.field("role_name"), ["This field is required."]);
    let own = format!("/api/tenants/{}/users/{}/roles/ADMIN/", acme.id, acme.admin_id);
    assert_eq!(app.patch(&own, Some(&acme.access), json!({"role_name": "VIEWER"})).await.status, StatusCode::CONFLICT);
}

#[tokio::test]
async fn another_tenants_roles_cannot_be_read_changed_or_granted() {
    let app = spawn().await;
    let acme = app.sign_up("Acme").await;
    let globex = app.sign_up("Globex").await;
    let secret = app.post("/api/roles/", Some(&acme.access), json!({"name": "secret", "permissions": ["audit:read"]})).await;
    let id = secret.body["id"].as_str().unwrap().to_owned();
    assert_eq!(app.get(&format!("/api/roles/{id}/"), Some(&globex.access)).await.status, StatusCode::NOT_FOUND);
    assert_eq!(app.patch(&format!("/api/roles/{id}/"), Some(&globex.access), json!({"name": "mine"})).await.status, StatusCode::NOT_FOUND);
    assert_eq!(app.remove(&format!("/api/roles/{id}/"), Some(&globex.access)).await.status, StatusCode::NOT_FOUND);
    let (carl, _) = app.member(&globex, "carl@globex.test").await;
    let grant = app.post("/api/roles/assign/", Some(&globex.access), json!({"user": carl, "role": "secret"})).await;
    assert_eq!(grant.status, StatusCode::BAD_REQUEST);
    let across = format!("/api/tenants/{}/users/{}/roles/ADMIN/", acme.id, acme.admin_id);
    assert_eq!(app.patch(&across, Some(&globex.access), json!({"role_name": "VIEWER"})).await.status, StatusCode::NOT_FOUND);
    assert_eq!(app.get("/api/roles/", Some(&globex.access)).await.body["count"], 3);
}
