use std::collections::BTreeSet;

use chrono::{DateTime, Duration, TimeZone, Utc};
use reqwest::StatusCode;
use serde_json::{json, Value};
use tenantry::{
    domain::{TenantId, UserId},
    store::NewAuditEntry,
};

use crate::helpers::{spawn, TestApp, Tenant, PASSWORD};

const CSV_HEADER: &str = "id,tenant,user_id,user_email,action,resource_type,resource_id,metadata,ip_address,user_agent,created_at";

/// A tenant whose admin created a member and made them ANALYST (a `role_assigned` event
/// sent with an awkward user agent). Returns the member's id and token.
async fn tenant_with_history(app: &TestApp, name: &str) -> (Tenant, String, String) {
    let tenant = app.sign_up(name).await;
    let (member_id, member_access) = app.member(&tenant, &format!("bob@{}.test", name.to_lowercase())).await;
    let reply = app
        .client
        .post(app.url("/api/roles/assign/"))
        .bearer_auth(&tenant.access)
        .header("user-agent", "Agent \"Smith\", v1")
        .json(&json!({"user": member_id, "role": "ANALYST"}))
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), StatusCode::CREATED);
    (tenant, member_id, member_access)
}

/// Writes one event directly, as a service call would.
async fn record(app: &TestApp, tenant: &str, actor: Option<(&str, &str)>, action: &'static str, at: DateTime<Utc>) {
    let mut tx = app.services.db().write().await.unwrap();
    let entry = NewAuditEntry {
        tenant_id: Some(TenantId::parse(tenant).unwrap()),
        actor_id: actor.map(|(id, _)| UserId::parse(id).unwrap()),
        actor_email: actor.map(|(_, email)| email.to_owned()),
        action: tenantry::domain::AuditAction::from_stored(action),
        resource_type: "report",
        resource_id: None,
        metadata: json!({}),
        ip_address: None,
        user_agent: None,
    };
    tx.insert_audit(&entry, at).await.unwrap();
    tx.commit().await.unwrap();
}

/// Status, headers and body text of a download.
async fn download(app: &TestApp, query: &str, token: &str) -> (StatusCode, reqwest::header::HeaderMap, String) {
    let response = app.client.get(app.url(&format!("/api/audit-logs/?{query}"))).bearer_auth(token).send().await.unwrap();
    let (status, headers) = (response.status(), response.headers().clone());
    (status, headers, response.text().await.unwrap())
}

/// A minimal RFC 4180 reader, enough to check what the export wrote.
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let (mut rows, mut row, mut field) = (Vec::new(), Vec::new(), String::new());
    let mut chars = text.chars().peekable();
    let mut quoted = false;
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') => quoted = true,
            (false, ',') => row.push(std::mem::take(&mut field)),
            (false, '\r') => {}
            (false, '\n') => {
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            (false, c) => field.push(c),
        }
    }
    assert!(field.is_empty() && row.is_empty(), "the file ends with a line break");
    rows
}

#[tokio::test]
async fn entries_keep_the_django_shape_newest_first() {
    let app = spawn().await;
    let (tenant, member_id, _) = tenant_with_history(&app, "Acme").await;
    let reply = app.get("/api/audit-logs/", Some(&tenant.access)).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let keys: BTreeSet<&str> = reply.body.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys, BTreeSet::from(["count", "next", "previous", "results"]));
    let results = reply.body["results"].as_array().unwrap();
    assert_eq!(reply.body["count"], results.len());
    assert_eq!(results.last().unwrap()["action"], "tenant_created");

    let entry = &results[0];
    let keys: BTreeSet<&str> = entry.as_object().unwrap().keys().map(String::as_str).collect();
    let expected = ["id", "tenant", "user", "action", "resource_type", "resource_id", "metadata", "ip_address", "user_agent", "created_at"];
    assert_eq!(keys, BTreeSet::from(expected));
    assert_eq!(entry["action"], "role_assigned");
    assert_eq!(entry["tenant"], tenant.id.as_str());
    assert_eq!(entry["user"], json!({"id": tenant.admin_id, "email": tenant.admin_email}));
    assert_eq!(entry["resource_type"], "user");
    assert_eq!(entry["resource_id"], member_id.as_str(), "the resource is the member whose role changed");
    assert_eq!(entry["metadata"], json!({"role": "ANALYST"}));
    assert_eq!(entry["ip_address"], "127.0.0.1");
    assert_eq!(entry["user_agent"], "Agent \"Smith\", v1");
    assert!(uuid::Uuid::parse_str(entry["id"].as_str().unwrap()).is_ok());
    let times: Vec<DateTime<Utc>> = results
        .iter()
        .map(|e| DateTime::parse_from_rfc3339(e["created_at"].as_str().unwrap()).expect("RFC 3339").with_timezone(&Utc))
        .collect();
    assert!(times.windows(2).all(|w| w[0] >= w[1]), "newest first: {times:?}");

    // An event nobody signed in caused has no user.
    record(&app, &tenant.id, None, "invitation_expired", Utc::now() + Duration::seconds(5)).await;
    let reply = app.get("/api/audit-logs/?action=invitation_expired", Some(&tenant.access)).await;
    assert_eq!(reply.body["results"][0]["user"], Value::Null);
}

#[tokio::test]
async fn filters_by_action_actor_and_time_keep_the_envelope_links() {
    let app = spawn().await;
    let tenant = app.sign_up("Acme").await;
    let start = Utc.with_ymd_and_hms(2024, 5, 1, 0, 0, 0).unwrap();
    for minute in 0..105 {
        record(&app, &tenant.id, Some((&tenant.admin_id, &tenant.admin_email)), "report_viewed", start + Duration::minutes(minute)).await;
    }
    record(&app, &tenant.id, None, "report_viewed", start + Duration::days(1)).await;

    let reply = app.get(&format!("/api/audit-logs/?action=report_viewed&actor={}", tenant.admin_id), Some(&tenant.access)).await;
    assert_eq!(reply.body["count"], 105);
    assert_eq!(reply.body["results"].as_array().unwrap().len(), 100);
    let next = reply.body["next"].as_str().unwrap();
    assert!(next.contains("/api/audit-logs/?") && next.contains("action=report_viewed") && next.contains("page=2"), "{next}");
    assert!(next.starts_with(&app.services.config().frontend_base_url), "links use the public base URL: {next}");
    let second = app.get(&next.replace(&app.services.config().frontend_base_url, ""), Some(&tenant.access)).await;
    assert_eq!(second.body["results"].as_array().unwrap().len(), 5);
    assert_eq!(second.body["results"][4]["created_at"], start.to_rfc3339());

    let by_email = app.get(&format!("/api/audit-logs/?actor={}&until=2024-05-01", tenant.admin_email.to_uppercase()), Some(&tenant.access)).await;
    assert_eq!(by_email.body["count"], 105);
    let window = app.get("/api/audit-logs/?since=2024-05-01T01:00:00Z&until=2024-05-02", Some(&tenant.access)).await;
    assert_eq!(window.body["count"], 45 + 1, "01:00 through 01:44, plus the event on the next day");
    let offset = app.get("/api/audit-logs/?since=2024-05-01T02:40:00%2B02:00&until=2024-05-01T00:41:00Z", Some(&tenant.access)).await;
    assert_eq!(offset.body["count"], 2, "{}", offset.body);
}

#[tokio::test]
async fn csv_export_has_a_header_row_and_one_properly_quoted_row_per_event() {
    let app = spawn().await;
    let (tenant, member_id, _) = tenant_with_history(&app, "Acme").await;
    let listed = app.get("/api/audit-logs/", Some(&tenant.access)).await;

    let (status, headers, text) = download(&app, "format=csv", &tenant.access).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    assert!(headers["content-type"].to_str().unwrap().starts_with("text/csv"));
    let today = Utc::now().format("%Y-%m-%d");
    assert_eq!(headers["content-disposition"], format!("attachment; filename=\"audit-acme-{today}.csv\"").as_str());
    assert!(text.starts_with(&format!("{CSV_HEADER}\r\n")));
    let rows = parse_csv(&text);
    assert_eq!(rows.len() as u64 - 1, listed.body["count"].as_u64().unwrap());
    assert!(rows.iter().all(|r| r.len() == 11));
    let first = &rows[1];
    let listed_first = &listed.body["results"][0];
    assert_eq!(first[0], listed_first["id"].as_str().unwrap());
    assert_eq!(first[1], tenant.id);
    assert_eq!((first[2].as_str(), first[3].as_str()), (tenant.admin_id.as_str(), tenant.admin_email.as_str()));
    assert_eq!((first[4].as_str(), first[5].as_str(), first[6].as_str()), ("role_assigned", "user", member_id.as_str()));
    assert_eq!(serde_json::from_str::<Value>(&first[7]).unwrap(), json!({"role": "ANALYST"}));
    assert_eq!(first[9], "Agent \"Smith\", v1", "quotes and commas survive the round trip");
    assert_eq!(first[10], listed_first["created_at"].as_str().unwrap());
    assert!(text.contains("\"Agent \"\"Smith\"\", v1\""));

    let (_, _, filtered) = download(&app, "format=csv&action=role_assigned", &tenant.access).await;
    assert_eq!(parse_csv(&filtered).len(), 2);
}

#[tokio::test]
async fn json_export_is_one_array_of_the_listed_entries() {
    let app = spawn().await;
    let (tenant, _, _) = tenant_with_history(&app, "Acme").await;
    let listed = app.get("/api/audit-logs/", Some(&tenant.access)).await;
    let (status, headers, text) = download(&app, "format=json", &tenant.access).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    assert!(headers["content-type"].to_str().unwrap().starts_with("application/json"));
    assert!(headers["content-disposition"].to_str().unwrap().ends_with(".json\""));
    let exported: Value = serde_json::from_str(&text).expect("the export parses as JSON");
    assert_eq!(exported, listed.body["results"]);

    let (_, _, empty) = download(&app, "format=json&action=nothing_happened", &tenant.access).await;
    assert_eq!(serde_json::from_str::<Value>(&empty).unwrap(), json!([]));
}

#[tokio::test]
async fn an_export_streams_more_events_than_one_batch() {
    let app = spawn().await;
    let tenant = app.sign_up("Acme").await;
    let mut tx = app.services.db().write().await.unwrap();
    let start = Utc.with_ymd_and_hms(2024, 5, 1, 0, 0, 0).unwrap();
    for i in 0..2300 {
        let entry = NewAuditEntry {
            tenant_id: Some(TenantId::parse(&tenant.id).unwrap()),
            actor_id: None,
            actor_email: None,
            action: tenantry::domain::AuditAction::ReportViewed,
            resource_type: "report",
            resource_id: Some(i.to_string()),
            metadata: json!({"i": i}),
            ip_address: None,
            user_agent: None,
        };
        tx.insert_audit(&entry, start + Duration::seconds(i / 3)).await.unwrap();
    }
    tx.commit().await.unwrap();
    let (_, _, text) = download(&app, "format=json&action=report_viewed", &tenant.access).await;
    let exported: Vec<Value> = serde_json::from_str(&text).unwrap();
    let ids: BTreeSet<&str> = exported.iter().map(|e| e["resource_id"].as_str().unwrap()).collect();
    assert_eq!((exported.len(), ids.len()), (2300, 2300));
    let (_, _, csv) = download(&app, "format=csv&action=report_viewed", &tenant.access).await;
    assert_eq!(parse_csv(&csv).len(), 2301);
}

#[tokio::test]
async fn without_credentials_it_is_401_and_for_non_admins_403_whatever_the_filters() {
    let app = spawn().await;
    let (_, _, member_access) = tenant_with_history(&app, "Acme").await;
    assert_eq!(app.get("/api/audit-logs/", None).await.status, StatusCode::UNAUTHORIZED);
    let (status, _, _) = download(&app, "format=csv", "not-a-token").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let response = app.client.get(app.url("/api/audit-logs/?format=csv")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);

    for query in ["", "?since=yesterday", "?format=csv", "?format=xml&until=soon"] {
        let reply = app.get(&format!("/api/audit-logs/{query}"), Some(&member_access)).await;
        assert_eq!(reply.status, StatusCode::FORBIDDEN, "{query}: {}", reply.body);
        assert!(reply.body["detail"].is_string());
    }
}

#[tokio::test]
async fn bad_filters_are_400s_that_name_each_field() {
    let app = spawn().await;
    let tenant = app.sign_up("Acme").await;
    let reply = app.get("/api/audit-logs/?since=yesterday", Some(&tenant.access)).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(reply.body.as_object().unwrap().keys().collect::<Vec<_>>(), ["since"]);
    assert!(reply.field("since")[0].contains("YYYY-MM-DD"));

    let reply = app.get("/api/audit-logs/?format=xml&actor=nobody&until=2024-13-01", Some(&tenant.access)).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    for field in ["format", "actor", "until"] {
        assert!(!reply.field(field).is_empty(), "{field}: {}", reply.body);
    }
}

#[tokio::test]
async fn one_tenant_never_sees_another_tenants_events() {
    let app = spawn().await;
    let (acme, _, _) = tenant_with_history(&app, "Acme").await;
    let (globex, _, _) = tenant_with_history(&app, "Globex").await;

    let listed = app.get("/api/audit-logs/", Some(&acme.access)).await;
    let results = listed.body["results"].as_array().unwrap();
    assert!(!results.is_empty() && results.iter().all(|e| e["tenant"] == acme.id.as_str()));
    assert!(!results.iter().any(|e| e["user"]["id"] == globex.admin_id.as_str()));
    let theirs = app.get(&format!("/api/audit-logs/?actor={}", globex.admin_id), Some(&acme.access)).await;
    assert_eq!(theirs.body["count"], 0);

    let (_, _, text) = download(&app, "format=json", &acme.access).await;
    let exported: Vec<Value> = serde_json::from_str(&text).unwrap();
    assert_eq!(exported.len(), results.len());
    assert!(exported.iter().all(|e| e["tenant"] == acme.id.as_str()));
    let (_, _, csv) = download(&app, "format=csv", &acme.access).await;
    assert!(!csv.contains(&globex.id) && !csv.contains(&globex.admin_email));
}

#[tokio::test]
async fn the_browser_session_works_and_the_audit_page_lists_events_with_export_links() {
    let app = spawn().await;
    let (tenant, _, _) = tenant_with_history(&app, "Acme").await;
    let login = app
        .client
        .post(app.url("/fn/log-in"))
        .header("accept", "text/html")
        .form(&[("email", tenant.admin_email.as_str()), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), StatusCode::FOUND);
    let response = app.client.get(app.url("/api/audit-logs/?format=csv&action=role_assigned")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(parse_csv(&response.text().await.unwrap()).len(), 2);

    let page = app.client.get(app.url("/audit?action=role_assigned")).header("accept", "text/html").send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(html.contains("role_assigned") && html.contains(&tenant.admin_email), "{html}");
    assert!(!html.contains("tenant_created"), "the filter applies");
    assert!(html.contains("href=\"/api/audit-logs/?format=csv&amp;action=role_assigned\""), "{html}");
    assert!(html.contains("href=\"/api/audit-logs/?format=json&amp;action=role_assigned\""));
    assert!(html.contains("<form method=\"get\""));

    let bad = app.client.get(app.url("/audit?since=yesterday")).header("accept", "text/html").send().await.unwrap().text().await.unwrap();
    assert!(bad.contains("Enter a date (YYYY-MM-DD)") && bad.contains("aria-invalid=\"true\""), "the field error is shown: {bad}");
}

#[tokio::test]
async fn the_audit_page_tells_non_admins_it_is_for_administrators() {
    let app = spawn().await;
    let tenant = app.sign_up("Acme").await;
    app.member(&tenant, "bob@acme.test").await;
    app.client
        .post(app.url("/fn/log-in"))
        .header("accept", "text/html")
        .form(&[("email", "bob@acme.test"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    let html = app.client.get(app.url("/audit")).header("accept", "text/html").send().await.unwrap().text().await.unwrap();
    assert!(html.contains("Only administrators"), "{html}");
    assert!(!html.contains("tenant_created"));
}

#[tokio::test]
async fn the_openapi_description_lists_the_audit_route() {
    let app = spawn().await;
    let spec = app.get("/api/openapi.json", None).await;
    let operation = &spec.body["paths"]["/api/audit-logs/"]["get"];
    assert_eq!(operation["tags"], json!(["audit"]));
    let params: Vec<&str> = operation["parameters"].as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect();
    for name in ["action", "actor", "since", "until", "format", "page"] {
        assert!(params.contains(&name), "{name}");
    }
}
