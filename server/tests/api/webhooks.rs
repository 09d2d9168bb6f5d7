//! Webhooks, tenant metrics and `GET /metrics` over HTTP: every route, who may call it, every
//! refusal, and one tenant never reaching another's endpoints, deliveries or numbers.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use tenantry::webhooks::{test_receiver::Receiver, worker, Sender, WebhookWorkerOptions};

use crate::helpers::*;

/// An app whose webhooks may go to the local receiver (plain http, loopback).
async fn local_app() -> TestApp {
    spawn_with(&[("WEBHOOK_ALLOW_HTTP", "1"), ("WEBHOOK_ALLOW_PRIVATE", "1")]).await
}

/// Runs the events worker until it has nothing left (the test app starts no workers).
async fn deliver(app: &TestApp) {
    let options = WebhookWorkerOptions::for_services(&app.services);
    while worker::pass_at(&app.services, &Sender::new(true, true), &options, chrono::Utc::now()).await.unwrap().endpoints > 0 {}
}

async fn make(app: &TestApp, token: &str, url: &str, events: Value) -> (String, String) {
    let reply = app.post("/api/webhooks/", Some(token), json!({"url": url, "events": events, "description": "CRM sync"})).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    (reply.body["id"].as_str().unwrap().to_owned(), reply.body["secret"].as_str().unwrap().to_owned())
}

#[tokio::test]
async fn an_admin_makes_an_endpoint_and_follows_its_deliveries() {
    let app = local_app().await;
    let receiver = Receiver::start();
    let acme = app.sign_up("Acme").await;
    let created = app.post("/api/webhooks/", Some(&acme.access), json!({"url": receiver.url("/crm"), "events": ["member.*"], "description": "CRM sync"})).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let id = created.body["id"].as_str().unwrap().to_owned();
    let secret = created.body["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("whsec_"));
    assert_eq!(created.body["events"], json!(["member.invited", "member.joined", "member.removed"]));
    assert_eq!((created.body["active"].clone(), created.body["tenant_id"].clone()), (json!(true), json!(acme.id)));
    receiver.verify_with(&[&secret]);
    // Listed and read without the secret.
    let listed = app.get("/api/webhooks/", Some(&acme.access)).await;
    assert_eq!(listed.body["count"], 1);
    assert!(!listed.body.to_string().contains(&secret[6..]));
    let read = app.get(&format!("/api/webhooks/{id}/"), Some(&acme.access)).await;
    assert_eq!((read.status, read.body["description"].clone()), (StatusCode::OK, json!("CRM sync")));
    assert!(read.body.get("secret").is_none());
    let catalogue = app.get("/api/webhooks/events/", Some(&acme.access)).await;
    assert_eq!(catalogue.body.as_array().unwrap().len(), 13);
    assert_eq!(catalogue.body[6]["name"], "member.joined");

    let invited = app.post("/api/users/invite/", Some(&acme.access), json!({"email": "bob@acme.test"})).await;
    assert_eq!(invited.status, StatusCode::CREATED);
    deliver(&app).await;
    let got = receiver.accepted();
    assert_eq!(got.len(), 1);
    assert!(got[0].verified[&secret]);
    assert_eq!(got[0].event_type(), "member.invited");
    let deliveries = app.get(&format!("/api/webhooks/{id}/deliveries/"), Some(&acme.access)).await;
    assert_eq!(deliveries.status, StatusCode::OK);
    let delivery = &deliveries.body["results"][0];
    assert_eq!((delivery["event_type"].clone(), delivery["status"].clone(), delivery["attempts"].clone()), (json!("member.invited"), json!("succeeded"), json!(1)));
    assert_eq!(delivery["event_id"].as_str(), got[0].id.as_deref());
    assert_eq!(delivery["last_status_code"], 204);
    assert_eq!(delivery["attempt_log"][0]["status_code"], 204);
    assert!(delivery["last_duration_ms"].is_number());

    // Retry sends it again, with the same event id.
    let delivery_id = delivery["id"].as_str().unwrap();
    let retried = app.post(&format!("/api/webhooks/{id}/deliveries/{delivery_id}/retry/"), Some(&acme.access), json!({})).await;
    assert_eq!((retried.status, retried.body["status"].clone()), (StatusCode::ACCEPTED, json!("pending")));
    let pinged = app.post(&format!("/api/webhooks/{id}/test/"), Some(&acme.access), json!({})).await;
    assert_eq!((pinged.status, pinged.body["event_type"].clone()), (StatusCode::ACCEPTED, json!("ping")));
    deliver(&app).await;
    let got = receiver.accepted();
    assert_eq!(got.iter().map(|r| r.event_type()).collect::<Vec<_>>(), ["member.invited", "member.invited", "ping"]);
    assert_eq!(got[0].id, got[1].id, "a retry is the same event");

    // A new secret, shown once; the old one still signs for a day.
    let rotated = app.post(&format!("/api/webhooks/{id}/rotate-secret/"), Some(&acme.access), json!({})).await;
    assert_eq!(rotated.status, StatusCode::OK, "{}", rotated.body);
    let new_secret = rotated.body["secret"].as_str().unwrap();
    assert!(new_secret.starts_with("whsec_") && new_secret != secret);
    assert!(rotated.body["previous_secret_expires_at"].is_string());

    let paused = app.patch(&format!("/api/webhooks/{id}/"), Some(&acme.access), json!({"active": false, "events": ["*"]})).await;
    assert_eq!((paused.status, paused.body["active"].clone(), paused.body["events"].clone()), (StatusCode::OK, json!(false), json!(["*"])));
    assert_eq!(app.post(&format!("/api/webhooks/{id}/test/"), Some(&acme.access), json!({})).await.status, StatusCode::CONFLICT);
    let audit = app.get("/api/audit-logs/?action=webhook_updated", Some(&acme.access)).await;
    assert_eq!(audit.body["count"], 1, "{}", audit.body);
    assert_eq!(app.remove(&format!("/api/webhooks/{id}/"), Some(&acme.access)).await.status, StatusCode::NO_CONTENT);
    assert_eq!(app.get(&format!("/api/webhooks/{id}/"), Some(&acme.access)).await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn who_may_call_comes_before_what_they_sent_and_every_bad_field_is_named() {
    let app = spawn().await;
    let acme = app.sign_up("Acme").await;
    let (_, viewer) = app.member(&acme, "viewer@acme.test").await;
    assert_eq!(app.get("/api/webhooks/", None).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(app.post("/api/webhooks/", None, json!({})).await.status, StatusCode::UNAUTHORIZED);
    let refused = app.post("/api/webhooks/", Some(&viewer), json!({"url": "nope", "events": "x"})).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "403 before 400");
    assert_eq!(app.get("/api/webhooks/", Some(&viewer)).await.status, StatusCode::FORBIDDEN);
    let bad = app.post("/api/webhooks/", Some(&acme.access), json!({"url": "http://hooks.example.com/x", "events": ["member.joined", "member.left", "*.*"], "active": "maybe", "description": 5})).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(bad.field("url")[0].contains("https"), "{}", bad.body);
    let events = bad.field("events");
    assert_eq!(events.len(), 2, "{events:?}");
    assert!(events[0].contains("member.left") && events[1].contains("*.*"));
    assert_eq!(bad.field("active"), ["Must be a valid boolean."]);
    let missing = app.post("/api/webhooks/", Some(&acme.access), json!({})).await;
    assert_eq!((missing.field("url"), missing.field("events")), (vec!["This field is required.".to_owned()], vec!["This field is required.".to_owned()]));
    for url in ["https://127.0.0.1/x", "https://169.254.169.254/latest/meta-data/", "https://localhost/x", "gopher://hooks.example.com/"] {
        let reply = app.post("/api/webhooks/", Some(&acme.access), json!({"url": url, "events": ["*"]})).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{url}");
        assert_eq!(reply.field("url").len(), 1, "{url}: {}", reply.body);
    }
    let platform = app.post("/api/webhooks/", Some(&acme.access), json!({"url": "https://93.184.216.34/x", "events": ["*"], "platform": true})).await;
    assert_eq!(platform.status, StatusCode::FORBIDDEN);
    assert_eq!(app.get("/api/webhooks/?platform=true", Some(&acme.access)).await.status, StatusCode::FORBIDDEN);
    assert_eq!(app.get("/api/webhooks/?platform=perhaps", Some(&acme.access)).await.status, StatusCode::BAD_REQUEST);
    assert_eq!(app.get("/api/webhooks/not-a-uuid/", Some(&acme.access)).await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn another_tenant_and_its_keys_get_404_on_every_route_of_an_endpoint() {
    let app = local_app().await;
    let receiver = Receiver::start();
    let acme = app.sign_up("Acme").await;
    let evil = app.sign_up("Evil").await;
    let (id, _) = make(&app, &acme.access, &receiver.url("/in"), json!(["*"])).await;
    app.post("/api/users/invite/", Some(&acme.access), json!({"email": "bob@acme.test"})).await;
    deliver(&app).await;
    let deliveries = app.get(&format!("/api/webhooks/{id}/deliveries/"), Some(&acme.access)).await;
    let delivery = deliveries.body["results"][0]["id"].as_str().unwrap().to_owned();
    let key = app.post("/api/api-keys/", Some(&evil.access), json!({"name": "k", "scopes": ["tenant:write"]})).await;
    let key = key.body["key"].as_str().unwrap().to_owned();
    for token in [evil.access.as_str(), key.as_str()] {
        let routes: Vec<(Method, String)> = vec![
            (Method::GET, format!("/api/webhooks/{id}/")),
            (Method::PATCH, format!("/api/webhooks/{id}/")),
            (Method::DELETE, format!("/api/webhooks/{id}/")),
            (Method::POST, format!("/api/webhooks/{id}/rotate-secret/")),
            (Method::POST, format!("/api/webhooks/{id}/test/")),
            (Method::GET, format!("/api/webhooks/{id}/deliveries/")),
            (Method::POST, format!("/api/webhooks/{id}/deliveries/{delivery}/retry/")),
        ];
        for (method, path) in routes {
            // A key goes as a bearer token as well as an access token does.
            let mut request = app.client.request(method.clone(), app.url(&path)).bearer_auth(token);
            if method == Method::PATCH || method == Method::POST {
                request = request.json(&json!({"active": false}));
            }
            let status = request.send().await.unwrap().status();
            assert_eq!(status, StatusCode::NOT_FOUND, "{method} {path} as {}", if token.starts_with("tnt_") { "a key" } else { "an admin" });
        }
        assert_eq!(app.with_key(Method::GET, "/api/webhooks/", &key, None).await.body["count"], 0);
    }
    // Nothing changed: still active, one delivery, and its tenant's own admin still has it.
    let read = app.get(&format!("/api/webhooks/{id}/"), Some(&acme.access)).await;
    assert_eq!(read.body["active"], true);
    assert_eq!(app.get(&format!("/api/webhooks/{id}/deliveries/"), Some(&acme.access)).await.body["count"], 1);
}

#[tokio::test]
async fn tenant_metrics_and_platform_analytics_answer_their_callers_only() {
    let app = spawn().await;
    let acme = app.sign_up("Acme").await;
    let globex = app.sign_up("Globex").await;
    let (_, viewer) = app.member(&acme, "viewer@acme.test").await;
    app.post("/api/users/invite/", Some(&acme.access), json!({"email": "bob@acme.test"})).await;
    let path = format!("/api/tenants/{}/metrics/?period=7d", acme.id);
    let metrics = app.get(&path, Some(&acme.access)).await;
    assert_eq!(metrics.status, StatusCode::OK, "{}", metrics.body);
    assert_eq!(metrics.body["period"], "7d");
    let names = ["active_users", "logins", "failed_logins", "invitations_sent", "invitations_accepted", "members_added", "members_removed", "api_calls"];
    for name in names {
        assert!(metrics.body["metrics"][name].is_i64(), "{name}: {}", metrics.body);
        assert!(metrics.body["trends"].get(format!("{name}_change_pct")).is_some(), "{name}");
    }
    // The admin signed in (sign-up's tokens) and made viewer, who signed in too.
    assert_eq!(metrics.body["metrics"]["logins"], 2);
    assert_eq!(metrics.body["metrics"]["invitations_sent"], 1);
    assert_eq!(metrics.body["metrics"]["members_added"], 1);
    assert_eq!(metrics.body["trends"]["logins_change_pct"], Value::Null);
    assert_eq!(app.get(&format!("/api/tenants/{}/metrics/", acme.id), Some(&acme.access)).await.body["period"], "30d");
    let bad = app.get(&format!("/api/tenants/{}/metrics/?period=1y", acme.id), Some(&acme.access)).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(bad.field("period")[0].contains("7d"));
    assert_eq!(app.get(&path, None).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(app.get(&path, Some(&viewer)).await.status, StatusCode::FORBIDDEN);
    assert_eq!(app.get(&path, Some(&globex.access)).await.status, StatusCode::NOT_FOUND, "another tenant's metrics do not exist for it");
    assert_eq!(app.get("/api/tenants/nonsense/metrics/", Some(&acme.access)).await.status, StatusCode::NOT_FOUND);

    assert_eq!(app.get("/api/analytics/tenants/?metric=logins", Some(&acme.access)).await.status, StatusCode::FORBIDDEN);
    app.services.create_superuser("root@platform.test", Some(PASSWORD)).await.unwrap();
    let (root, _) = app.login("root@platform.test", PASSWORD).await;
    let analytics = app.get("/api/analytics/tenants/?metric=invitations_sent&period=30d", Some(&root)).await;
    assert_eq!(analytics.status, StatusCode::OK, "{}", analytics.body);
    assert_eq!((analytics.body["metric"].clone(), analytics.body["period"].clone(), analytics.body["count"].clone()), (json!("invitations_sent"), json!("30d"), json!(2)));
    assert_eq!(analytics.body["results"][0]["tenant_id"], json!(acme.id));
    assert_eq!(analytics.body["results"][0]["value"], 1);
    assert_eq!(analytics.body["results"][1]["value"], 0);
    let bad = app.get("/api/analytics/tenants/?metric=logons&period=2w", Some(&root)).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert_eq!((bad.field("metric").len(), bad.field("period").len()), (1, 1), "{}", bad.body);
    assert_eq!(app.get(&format!("/api/tenants/{}/metrics/", globex.id), Some(&root)).await.status, StatusCode::OK);
}

#[tokio::test]
async fn prometheus_metrics_are_off_unless_enabled_and_behind_the_token_when_one_is_set() {
    let off = spawn().await;
    assert_eq!(off.client.get(off.url("/metrics")).send().await.unwrap().status(), StatusCode::NOT_FOUND);

    let app = spawn_with(&[("METRICS_ENABLED", "1"), ("METRICS_TOKEN", "scrape-me")]).await;
    let acme = app.sign_up("Acme").await;
    app.get("/api/me/", Some(&acme.access)).await;
    app.post("/api/auth/login/", None, json!({"email": acme.admin_email, "password": "wrong password!"})).await;
    assert_eq!(app.client.get(app.url("/metrics")).send().await.unwrap().status(), StatusCode::UNAUTHORIZED);
    assert_eq!(app.client.get(app.url("/metrics")).bearer_auth("scrape-you").send().await.unwrap().status(), StatusCode::UNAUTHORIZED);
    let scraped = app.client.get(app.url("/metrics")).bearer_auth("scrape-me").send().await.unwrap();
    assert_eq!(scraped.status(), StatusCode::OK);
    assert!(scraped.headers()["content-type"].to_str().unwrap().starts_with("text/plain"));
    let text = scraped.text().await.unwrap();
    for expected in [
        "tenantry_http_requests_total{method=\"GET\",route=\"/api/me/\",status=\"200\"}",
        "tenantry_http_request_duration_seconds_bucket{method=\"GET\",route=\"/api/me/\",status=\"200\",le=\"0.005\"}",
        "tenantry_http_requests_in_flight",
        "tenantry_db_pool_connections{pool=",
        "tenantry_outbox_depth{kind=\"email\"}",
        "tenantry_outbox_depth{kind=\"webhook\"} 0",
        "tenantry_outbox_oldest_pending_age_seconds{kind=\"webhook\"}",
        "tenantry_logins_total{outcome=\"success\"}",
        "tenantry_logins_total{outcome=\"failure\"}",
    ] {
        assert!(text.contains(expected), "missing {expected} in:\n{text}");
    }
    // A route is its template, not the path asked for (ids do not make new series).
    app.get(&format!("/api/tenants/{}/quotas/usage/", acme.id), Some(&acme.access)).await;
    let text = app.client.get(app.url("/metrics")).bearer_auth("scrape-me").send().await.unwrap().text().await.unwrap();
    assert!(text.contains("route=\"/api/tenants/{tenant_id}/quotas/usage/\""), "{text}");
    assert!(!text.contains(&acme.id));
}
