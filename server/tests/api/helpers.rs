use std::net::SocketAddr;

use leptos::prelude::LeptosOptions;
use reqwest::{Client, Response, StatusCode};
use serde_json::{json, Value};
use tenantry::{service::Services, testing};

pub const PASSWORD: &str = "correct horse battery";

pub struct TestApp {
    pub base: String,
    pub client: Client,
    pub services: Services,
}

pub async fn spawn() -> TestApp {
    spawn_with(&[]).await
}

pub async fn spawn_with(extra: &[(&str, &str)]) -> TestApp {
    let services = testing::services_with(extra).await;
    let options = LeptosOptions::builder().output_name("tenantry").site_root("target/site").build();
    let app = tenantry_server::http::build(services.clone(), options).await.expect("build app");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>()).await.unwrap();
    });
    // Like a browser: `Accept-Encoding: gzip, br` on every request (reqwest adds it with its
    // gzip and brotli features, and decompresses), so compressed answers are what is tested.
    let client = Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .gzip(true)
        .brotli(true)
        .user_agent("Mozilla/5.0 (X11; Linux x86_64) Chrome/156.0 Safari/537.36 tenantry-tests")
        // No request here takes more than seconds: one that hangs fails its test, named,
        // instead of holding the whole run until CI's time limit (see `http::page_routes` for
        // the hang this once caught).
        .timeout(std::time::Duration::from_secs(120))
        .build()
        .unwrap();
    TestApp { base: format!("http://{addr}"), client, services }
}

/// A response with its status and JSON body read.
pub struct Reply {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Reply {
    async fn from(response: Response) -> Self {
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.text().await.unwrap();
        // 204 and friends carry no body.
        let body = if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap_or_else(|_| panic!("{status}: body is not JSON: {text:?}")) };
        Self { status, headers, body }
    }

    /// The messages for one field of a 400/409 body.
    pub fn field(&self, name: &str) -> Vec<String> {
        self.body[name].as_array().map(|a| a.iter().map(|m| m.as_str().unwrap().to_owned()).collect()).unwrap_or_default()
    }
}

/// A signed-up tenant with its admin's tokens.
pub struct Tenant {
    pub id: String,
    pub admin_id: String,
    pub admin_email: String,
    pub access: String,
    pub refresh: String,
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Reply {
        let mut request = self.client.get(self.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        Reply::from(request.send().await.unwrap()).await
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: Value) -> Reply {
        let mut request = self.client.post(self.url(path)).json(&body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        Reply::from(request.send().await.unwrap()).await
    }

    pub async fn patch(&self, path: &str, token: Option<&str>, body: Value) -> Reply {
        let mut request = self.client.patch(self.url(path)).json(&body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        Reply::from(request.send().await.unwrap()).await
    }

    pub async fn put(&self, path: &str, token: Option<&str>, body: Value) -> Reply {
        let mut request = self.client.put(self.url(path)).json(&body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        Reply::from(request.send().await.unwrap()).await
    }

    /// A DELETE with its reply (the body is `null` for 204).
    pub async fn remove(&self, path: &str, token: Option<&str>) -> Reply {
        let mut request = self.client.delete(self.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        Reply::from(request.send().await.unwrap()).await
    }

    /// A request authenticated by an API key in the `X-API-Key` header.
    pub async fn with_key(&self, method: reqwest::Method, path: &str, key: &str, body: Option<Value>) -> Reply {
        let mut request = self.client.request(method, self.url(path)).header("x-api-key", key);
        if let Some(body) = body {
            request = request.json(&body);
        }
        Reply::from(request.send().await.unwrap()).await
    }

    pub async fn post_raw(&self, path: &str, content_type: Option<&str>, body: &'static str) -> Reply {
        let mut request = self.client.post(self.url(path)).body(body);
        if let Some(content_type) = content_type {
            request = request.header("content-type", content_type);
        }
        Reply::from(request.send().await.unwrap()).await
    }

    pub async fn sign_up(&self, name: &str) -> Tenant {
        let email = format!("admin@{}.test", name.to_lowercase().replace(' ', "-"));
        let reply = self.post("/api/tenants/", None, json!({"name": name, "admin_email": email, "admin_password": PASSWORD})).await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
        let id = reply.body["id"].as_str().unwrap().to_owned();
        let admin_id = reply.body["admin_user_id"].as_str().unwrap().to_owned();
        let (access, refresh) = self.login(&email, PASSWORD).await;
        Tenant { id, admin_id, admin_email: email, access, refresh }
    }

    pub async fn login(&self, email: &str, password: &str) -> (String, String) {
        let reply = self.post("/api/auth/login/", None, json!({"email": email, "password": password})).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        (reply.body["access"].as_str().unwrap().to_owned(), reply.body["refresh"].as_str().unwrap().to_owned())
    }

    /// Creates a member with no role in the admin's tenant; returns (id, access token).
    pub async fn member(&self, tenant: &Tenant, email: &str) -> (String, String) {
        let reply = self.post("/api/users/", Some(&tenant.access), json!({"email": email, "password": PASSWORD})).await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
        let (access, _) = self.login(email, PASSWORD).await;
        (reply.body["id"].as_str().unwrap().to_owned(), access)
    }
}
