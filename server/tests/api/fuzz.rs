//! Property-based fuzzing of what faces the network: JSON bodies, tokens, CSV uploads and query
//! strings, sent to the real server over HTTP. The property is the same for each: an answer,
//! never a 5xx (a panic in a handler is a 500 too), and a JSON answer from the JSON API.
//!
//! CI runs a few dozen cases per target with a fixed seed. `bash .ci/bench --fuzz` runs each
//! target for `TENANTRY_FUZZ_SECONDS` with fresh random seeds and prints how many cases ran.

use std::time::{Duration, Instant};

use proptest::{
    prelude::*,
    strategy::ValueTree,
    test_runner::{Config, RngAlgorithm, TestRng, TestRunner},
};
use reqwest::{Method, RequestBuilder};
use serde_json::{json, Map, Number, Value};

use crate::helpers::{spawn, TestApp};

/// The field names the routes read, so generated objects reach past "this field is required".
const FIELDS: &[&str] = &[
    "name", "email", "admin_email", "admin_password", "password", "new_password", "current_password", "first_name",
    "last_name", "role", "role_name", "roles", "user_id", "token", "refresh", "description", "permissions", "scopes",
    "expires_days", "url", "events", "active", "password_policy", "min_length", "require_uppercase", "password_history",
    "session_timeout_minutes", "allowed_ip_ranges", "require_2fa", "resource", "add", "assets", "storage_gb", "plan",
    "code", "recovery_code", "tenant_id", "slug", "send_notification", "limits", "features", "force", "timezone",
];

/// The cases of one target: a fixed number with a fixed seed in CI, or as many as fit in
/// `TENANTRY_FUZZ_SECONDS` with a fresh seed.
struct Budget {
    runner: TestRunner,
    until: Option<Instant>,
    left: u32,
    ran: u64,
}

impl Budget {
    fn new() -> Self {
        let seconds = std::env::var("TENANTRY_FUZZ_SECONDS").ok().and_then(|s| s.parse::<u64>().ok());
        match seconds {
            Some(seconds) => Self {
                runner: TestRunner::new(Config::default()),
                until: Some(Instant::now() + Duration::from_secs(seconds)),
                left: u32::MAX,
                ran: 0,
            },
            None => Self {
                runner: TestRunner::new_with_rng(Config::default(), TestRng::deterministic_rng(RngAlgorithm::ChaCha)),
                until: None,
                left: 40,
                ran: 0,
            },
        }
    }

    /// The next input, or `None` when the budget is spent.
    fn next<S: Strategy>(&mut self, strategy: &S) -> Option<S::Value> {
        if self.left == 0 || self.until.is_some_and(|until| Instant::now() >= until) {
            return None;
        }
        self.left -= 1;
        self.ran += 1;
        Some(strategy.new_tree(&mut self.runner).expect("a value").current())
    }

    fn report(&self, target: &str) {
        // Read by .ci/bench.py.
        println!("FUZZ {target} cases={}", self.ran);
        assert!(self.ran > 0);
    }
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        ".{0,40}",
        "[ -~]{0,80}",
        Just(String::new()),
        Just("ADMIN".to_owned()),
        Just("VIEWER".to_owned()),
        Just("members:*".to_owned()),
        Just("a@b.co".to_owned()),
        Just("00000000-0000-0000-0000-000000000000".to_owned()),
        Just("https://example.com/hook".to_owned()),
        Just("10.0.0.0/8".to_owned()),
        "[a-z]{1,8}@[a-z]{1,8}\\.test",
        "\\PC{200,400}",
    ]
}

fn number() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<i64>().prop_map(Value::from),
        (-3i64..200).prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_filter_map("finite", |f| Number::from_f64(f).map(Value::Number)),
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![Just(Value::Null), any::<bool>().prop_map(Value::Bool), number(), text().prop_map(Value::String)];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(field(), inner, 0..6).prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn field() -> impl Strategy<Value = String> {
    prop_oneof![3 => prop::sample::select(FIELDS).prop_map(str::to_owned), 1 => "[a-z_]{1,12}", 1 => ".{0,12}"]
}

/// A JSON object of known and unknown fields with any values: what a confused or hostile
/// client sends.
fn json_body() -> impl Strategy<Value = Value> {
    prop_oneof![
        4 => prop::collection::btree_map(field(), json_value(), 0..10).prop_map(|m| Value::Object(m.into_iter().collect::<Map<_, _>>())),
        1 => json_value(),
    ]
}

/// Sends `request` and checks the property: no 5xx, and JSON from the JSON API.
async fn answered(request: RequestBuilder, what: &str) {
    let response = request.send().await.unwrap_or_else(|e| panic!("{what}: no answer: {e}"));
    let status = response.status();
    let json = response.headers().get("content-type").and_then(|v| v.to_str().ok()).is_some_and(|t| t.starts_with("application/json"));
    let body = response.text().await.unwrap_or_default();
    assert!(status.as_u16() < 500, "{what}: {status} {body}");
    if json && !body.is_empty() {
        assert!(serde_json::from_str::<Value>(&body).is_ok(), "{what}: {status} answered broken JSON: {body}");
    }
}

async fn admin(app: &TestApp, name: &str) -> crate::helpers::Tenant {
    app.sign_up(name).await
}

#[tokio::test]
async fn fuzz_json_bodies() {
    let app = spawn().await;
    let acme = admin(&app, "Fuzz Acme").await;
    // The security policy has a tenant of its own: a random allow-list or 2FA rule that
    // happens to be valid would lock the other routes' admin out and starve them of coverage.
    let guarded = admin(&app, "Fuzz Guarded").await;
    let routes: Vec<(Method, String, Option<&str>)> = vec![
        (Method::POST, "/api/tenants/".into(), None),
        (Method::POST, "/api/auth/login/".into(), None),
        (Method::POST, "/api/auth/refresh/".into(), None),
        (Method::POST, "/api/auth/password-reset/".into(), None),
        (Method::POST, "/api/auth/password-reset/confirm/".into(), None),
        (Method::POST, "/api/users/accept-invite/".into(), None),
        (Method::POST, "/api/auth/login/mfa/".into(), None),
        (Method::POST, "/api/users/invite/".into(), Some(&acme.access)),
        (Method::POST, "/api/users/".into(), Some(&acme.access)),
        (Method::POST, "/api/roles/".into(), Some(&acme.access)),
        (Method::POST, "/api/roles/assign/".into(), Some(&acme.access)),
        (Method::POST, "/api/api-keys/".into(), Some(&acme.access)),
        (Method::POST, "/api/webhooks/".into(), Some(&acme.access)),
        (Method::POST, "/api/me/password/".into(), Some(&acme.access)),
        (Method::PUT, format!("/api/tenants/{}/usage/", acme.id), Some(&acme.access)),
        (Method::POST, format!("/api/tenants/{}/usage/check/", acme.id), Some(&acme.access)),
        (Method::POST, format!("/api/tenants/{}/users/", acme.id), Some(&acme.access)),
        (Method::PATCH, format!("/api/tenants/{}/", acme.id), Some(&acme.access)),
        (Method::PATCH, format!("/api/tenants/{}/users/{}/roles/ADMIN/", acme.id, acme.admin_id), Some(&acme.access)),
        (Method::PUT, format!("/api/tenants/{}/security-policy/", guarded.id), Some(&guarded.access)),
    ];
    let mut budget = Budget::new();
    let strategy = (0..routes.len(), json_body());
    while let Some((index, body)) = budget.next(&strategy) {
        let (method, path, token) = &routes[index];
        let mut request = app.client.request(method.clone(), app.url(path)).json(&body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        answered(request, &format!("{method} {path} {body}")).await;
    }
    budget.report("json_bodies");
}

#[tokio::test]
async fn fuzz_raw_bodies() {
    let app = spawn().await;
    let acme = admin(&app, "Fuzz Raw").await;
    let paths = ["/api/tenants/", "/api/auth/login/", "/api/users/invite/", "/api/roles/assign/"];
    let content_types = ["application/json", "application/json; charset=utf-8", "text/plain", "application/x-www-form-urlencoded", ""];
    let mut budget = Budget::new();
    let strategy = (0..paths.len(), 0..content_types.len(), prop::collection::vec(any::<u8>(), 0..300));
    while let Some((path, content_type, bytes)) = budget.next(&strategy) {
        let mut request = app.client.post(app.url(paths[path])).bearer_auth(&acme.access).body(bytes.clone());
        if !content_types[content_type].is_empty() {
            request = request.header("content-type", content_types[content_type]);
        }
        answered(request, &format!("POST {} {:?}", paths[path], String::from_utf8_lossy(&bytes))).await;
    }
    budget.report("raw_bodies");
}

#[tokio::test]
async fn fuzz_tokens() {
    let app = spawn().await;
    let token = prop_oneof![
        "[ -~]{0,120}",
        "[A-Za-z0-9_-]{0,40}\\.[A-Za-z0-9_-]{0,200}\\.[A-Za-z0-9_-]{0,60}",
        "tk_[A-Za-z0-9_-]{0,60}",
        "[A-Za-z0-9_-]{43}",
    ];
    let mut budget = Budget::new();
    let strategy = (0..6usize, token);
    while let Some((kind, token)) = budget.next(&strategy) {
        let request = match kind {
            0 => app.client.get(app.url("/api/me/")).header("authorization", format!("Bearer {token}")),
            1 => app.client.get(app.url("/api/users/")).header("x-api-key", token.clone()),
            2 => app.client.post(app.url("/api/auth/refresh/")).json(&json!({"refresh": token})),
            3 => app.client.get(app.url("/invite")).query(&[("token", &token)]),
            4 => app.client.get(app.url("/password-reset")).query(&[("token", &token)]),
            _ => app.client.post(app.url("/api/users/accept-invite/")).json(&json!({"token": token, "password": "correct horse battery"})),
        };
        answered(request, &format!("token kind {kind}: {token:?}")).await;
    }
    budget.report("tokens");
}

#[tokio::test]
async fn fuzz_query_strings() {
    let app = spawn().await;
    let acme = admin(&app, "Fuzz Query").await;
    let paths = [
        "/api/users/".to_owned(),
        "/api/user-roles/".to_owned(),
        "/api/audit-logs/".to_owned(),
        "/api/invitations/".to_owned(),
        "/api/roles/".to_owned(),
        "/api/webhooks/".to_owned(),
        "/api/api-keys/".to_owned(),
        "/api/tenants/".to_owned(),
        format!("/api/tenants/{}/metrics/", acme.id),
        format!("/api/tenants/{}/quotas/usage/", acme.id),
        "/api/analytics/tenants/".to_owned(),
        "/api/tenants/check-subdomain/".to_owned(),
    ];
    let keys = prop_oneof![
        3 => prop::sample::select(&["page", "page_size", "search", "action", "actor", "since", "until", "period", "format", "state", "email", "ordering", "subdomain", "reassign_to"][..]).prop_map(str::to_owned),
        1 => ".{0,10}",
    ];
    let values = prop_oneof!["-?[0-9]{1,25}", ".{0,30}", "[ -~]{0,40}", Just("2024-05-01".to_owned()), Just("csv".to_owned()), Just("7d".to_owned())];
    let pairs = prop::collection::vec((keys, values), 0..5);
    let mut budget = Budget::new();
    let strategy = (0..paths.len(), prop_oneof![pairs.prop_map(Ok), "[ -~]{0,80}".prop_map(Err)]);
    while let Some((path, query)) = budget.next(&strategy) {
        let mut url = reqwest::Url::parse(&app.url(&paths[path])).unwrap();
        match &query {
            Ok(pairs) => {
                url.query_pairs_mut().extend_pairs(pairs);
            }
            Err(raw) => url.set_query(Some(raw)),
        }
        answered(app.client.get(url.clone()).bearer_auth(&acme.access), url.as_str()).await;
    }
    budget.report("query_strings");
}

#[tokio::test]
async fn fuzz_csv_files() {
    let app = spawn().await;
    let acme = admin(&app, "Fuzz Csv").await;
    let cell = prop_oneof![".{0,20}", "[a-z]{1,8}@[a-z]{1,8}\\.test", Just("\"".to_owned()), Just("\"a,\"\"b\"".to_owned()), Just("ADMIN".to_owned())];
    let header = prop_oneof![Just("email,full_name,role".to_owned()), Just("email".to_owned()), "[a-z_,]{0,40}", ".{0,30}"];
    let structured = (header, prop::collection::vec(prop::collection::vec(cell, 0..5), 0..8)).prop_map(|(header, rows)| {
        let mut text = header;
        for row in rows {
            text.push('\n');
            text.push_str(&row.join(","));
        }
        text.into_bytes()
    });
    let strategy = prop_oneof![3 => structured, 1 => prop::collection::vec(any::<u8>(), 0..400)];
    let mut budget = Budget::new();
    while let Some(bytes) = budget.next(&strategy) {
        // The parser alone must not panic, whatever it is given.
        let _ = tenantry::service::rows_from_csv(bytes.as_slice());
        let form = reqwest::multipart::Form::new().text("mode", "invite").part("file", reqwest::multipart::Part::bytes(bytes.clone()).file_name("people.csv"));
        let request = app.client.post(app.url(&format!("/api/tenants/{}/users/import/", acme.id))).bearer_auth(&acme.access).multipart(form);
        answered(request, &format!("import {:?}", String::from_utf8_lossy(&bytes))).await;
    }
    budget.report("csv_files");
}
