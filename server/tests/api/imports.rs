//! Bulk member import over HTTP: JSON rows, CSV uploads, jobs, and adding accounts by id.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn a_small_bulk_import_answers_inline_row_by_row() {
    let app = spawn().await;
    let acme = app.sign_up("Acme").await;
    let path = format!("/api/tenants/{}/users/bulk/", acme.id);
    let body = json!({"users": [
        {"email": "ada@example.com", "first_name": "Ada", "role": "ANALYST"},
        {"email": "nope"},
        {"email": acme.admin_email},
        {"email": "ADA@example.com"},
        "not an object"
    ], "mode": "invite", "send_welcome_emails": true, "generate_passwords": false});
    let reply = app.post(&path, Some(&acme.access), body.clone()).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!((reply.body["invited"].as_i64(), reply.body["exists"].as_i64(), reply.body["failed"].as_i64(), reply.body["created"].as_i64()), (Some(1), Some(1), Some(3), Some(0)));
    let results = reply.body["results"].as_array().unwrap();
    assert_eq!(results[0], json!({"row": 1, "email": "ada@example.com", "status": "invited"}));
    assert_eq!(results[1]["status"], "failed");
    assert!(results[1]["errors"]["email"].is_array());
    assert_eq!(results[2]["status"], "exists");
    assert!(results[3]["errors"]["email"][0].as_str().unwrap().contains("row 1"));
    assert!(results[4]["errors"]["row"].is_array());
    let again = app.post(&path, Some(&acme.access), body).await;
    assert_eq!(again.body["invited"], 0);
    assert_eq!(again.body["exists"], 2);
}

#[tokio::test]
async fn bulk_import_refusals_come_before_the_body_and_bad_bodies_name_each_field() {
    let app = spawn().await;
    let acme = app.sign_up("Acme").await;
    let globex = app.sign_up("Globex").await;
    let (_, bob) = app.member(&acme, "bob@acme.test").await;
    let path = format!("/api/tenants/{}/users/bulk/", acme.id);
    assert_eq!(app.post(&path, None, json!({})).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(app.post(&path, Some(&bob), json!({"users": "x"})).await.status, StatusCode::FORBIDDEN);
    let across = app.post(&format!("/api/tenants/{}/users/bulk/", globex.id), Some(&acme.access), json!({"users": [{"email": "x@example.com"}]})).await;
    assert_eq!(across.status, StatusCode::NOT_FOUND);
    let bad = app.post(&path, Some(&acme.access), json!({"users": "x", "mode": "merge", "send_welcome_emails": "maybe"})).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(!bad.field("users").is_empty() && !bad.field("mode").is_empty() && !bad.field("send_welcome_emails").is_empty());
    let missing = app.post(&path, Some(&acme.access), json!({})).await;
    assert_eq!(missing.field("users"), ["This field is required."]);
}

#[tokio::test]
async fn a_large_import_is_a_job_with_progress_and_paged_results() {
    let app = spawn().await;
    let acme = app.sign_up("Acme").await;
    let users: Vec<_> = (0..150).map(|i| json!({"email": format!("p{i}@example.com")})).collect();
    let reply = app.post(&format!("/api/tenants/{}/users/bulk/", acme.id), Some(&acme.access), json!({"users": users})).await;
    assert_eq!(reply.status, StatusCode::ACCEPTED, "{}", reply.body);
    let id = reply.body["id"].as_str().unwrap().to_owned();
    assert_eq!(reply.body["total"], 150);
    assert_eq!(reply.body["status"], "running");
    assert!(reply.body["results_url"].as_str().unwrap().ends_with(&format!("/api/jobs/{id}/results/")));
    // No worker runs in the test server: run it here, as `serve` would.
    while app.services.run_next_job().await.unwrap() {}
    let job = app.get(&format!("/api/jobs/{id}/"), Some(&acme.access)).await;
    assert_eq!(job.status, StatusCode::OK);
    assert_eq!((job.body["status"].as_str(), job.body["processed"].as_i64(), job.body["succeeded"].as_i64(), job.body["failed"].as_i64()), (Some("done"), Some(150), Some(150), Some(0)));
    let second = app.get(&format!("/api/jobs/{id}/results/?page=2"), Some(&acme.access)).await;
    assert_eq!(second.body["count"], 150);
    assert_eq!(second.body["results"].as_array().unwrap().len(), 50);
    assert_eq!(second.body["results"][0]["row"], 101);
    assert_eq!(second.body["results"][0]["status"], "invited");
    let globex = app.sign_up("Globex").await;
    assert_eq!(app.get(&format!("/api/jobs/{id}/"), Some(&globex.access)).await.status, StatusCode::NOT_FOUND);
    assert_eq!(app.get(&format!("/api/jobs/{id}/results/"), Some(&globex.access)).await.status, StatusCode::NOT_FOUND);
    assert_eq!(app.get("/api/jobs/not-a-uuid/", Some(&acme.access)).await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_csv_upload_imports_the_same_way() {
    let app = spawn().await;
    let acme = app.sign_up("Acme").await;
    let csv = "email,full_name,role,username\nada@example.com,Ada Lovelace,VIEWER,ada\nbad,,,\n";
    let form = reqwest::multipart::Form::new()
        .part("file", reqwest::multipart::Part::bytes(csv.as_bytes().to_vec()).file_name("people.csv").mime_str("text/csv").unwrap())
        .text("mode", "create")
        .text("send_welcome_emails", "true")
        .text("generate_passwords", "true");
    let response = app.client.post(app.url(&format!("/api/tenants/{}/users/import/", acme.id))).bearer_auth(&acme.access).multipart(form).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["created"], 1, "{body}");
    assert_eq!(body["failed"], 1);
    let users = app.get("/api/users/", Some(&acme.access)).await;
    let ada = users.body["results"].as_array().unwrap().iter().find(|u| u["email"] == "ada@example.com").unwrap().clone();
    assert_eq!((ada["first_name"].as_str(), ada["last_name"].as_str()), (Some("Ada"), Some("Lovelace")));
    assert_eq!(ada["roles"], json!(["VIEWER"]));
    // No header naming an email column; not multipart at all.
    let form = reqwest::multipart::Form::new().part("file", reqwest::multipart::Part::bytes(b"name\nx\n".to_vec()).file_name("x.csv"));
    let response = app.client.post(app.url(&format!("/api/tenants/{}/users/import/", acme.id))).bearer_auth(&acme.access).multipart(form).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body: serde_json::Value = response.json().await.unwrap();
    assert!(body["users"][0].as_str().unwrap().contains("email"), "{body}");
    let plain = app.post(&format!("/api/tenants/{}/users/import/", acme.id), Some(&acme.access), json!({})).await;
    assert_eq!(plain.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn superusers_add_an_existing_account_by_id_and_nobody_else_may() {
    let app = spawn().await;
    let acme = app.sign_up("Acme").await;
    let globex = app.sign_up("Globex").await;
    let path = format!("/api/tenants/{}/users/", acme.id);
    let refused = app.post(&path, Some(&acme.access), json!({"user_id": globex.admin_id, "role": "VIEWER"})).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    app.services.create_superuser("root@platform.test", Some(PASSWORD)).await.unwrap();
    let (root, _) = app.login("root@platform.test", PASSWORD).await;
    let added = app.post(&path, Some(&root), json!({"user_id": globex.admin_id, "role": "analyst", "send_notification": true})).await;
    assert_eq!(added.status, StatusCode::CREATED, "{}", added.body);
    assert_eq!(added.body["id"], globex.admin_id.as_str());
    assert_eq!(added.body["roles"], json!(["ANALYST"]));
    let again = app.post(&path, Some(&root), json!({"user_id": globex.admin_id})).await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    let unknown = app.post(&path, Some(&root), json!({"user_id": uuid::Uuid::new_v4(), "send_notification": "sometimes"})).await;
    assert_eq!(unknown.status, StatusCode::BAD_REQUEST);
    assert!(!unknown.field("send_notification").is_empty());
    let nowhere = app.post(&format!("/api/tenants/{}/users/", uuid::Uuid::new_v4()), Some(&root), json!({"user_id": globex.admin_id})).await;
    assert_eq!(nowhere.status, StatusCode::NOT_FOUND);
    let mut tx = app.services.db().read().await.unwrap();
    assert!(tx.outbox().await.unwrap().iter().any(|e| e.kind == "joined_tenant" && e.to_address == globex.admin_email));
}
