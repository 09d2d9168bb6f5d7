//! One HTTP attempt of a webhook delivery: a signed `POST`, with the address checks that keep a
//! tenant from aiming Tenantry at the operator's own network. Names are resolved by
//! [`GuardedResolver`], which hands the connection only the addresses it vetted, so a name that
//! changes what it resolves to between the check and the connection (DNS rebinding) gains
//! nothing. Redirects are not followed; the response body is never read.

use std::{net::SocketAddr, sync::Arc, time::Duration};

use chrono::{DateTime, Utc};
use reqwest::dns::{Addrs, Name, Resolve, Resolving};

use crate::{
    domain::{TargetRule, WebhookSecret, WebhookUrl},
    store::AttemptRecord,
};

/// How long an endpoint has to answer.
pub const TIMEOUT: Duration = Duration::from_secs(10);

/// Sends deliveries; one per worker, sharing connections across attempts.
#[derive(Clone)]
pub struct Sender {
    client: reqwest::Client,
    rule: TargetRule,
    allow_http: bool,
}

/// The refusal of a name whose every address is off limits.
#[derive(Debug)]
struct Blocked(String);

impl std::fmt::Display for Blocked {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Blocked {}

/// Resolves with the system resolver and keeps only the addresses [`TargetRule`] allows.
struct GuardedResolver {
    rule: TargetRule,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let rule = self.rule;
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let found: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let allowed: Vec<SocketAddr> = found.iter().copied().filter(|a| rule.refusal(a.ip()).is_none()).collect();
            if allowed.is_empty() {
                let why = found.first().and_then(|a| rule.refusal(a.ip())).unwrap_or("not resolvable");
                return Err(Box::new(Blocked(format!("refused: {host} resolves to {why}"))) as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(allowed.into_iter()) as Addrs)
        })
    }
}

impl Sender {
    /// `allow_private`/`allow_http`: `WEBHOOK_ALLOW_PRIVATE` and `WEBHOOK_ALLOW_HTTP`.
    pub fn new(allow_private: bool, allow_http: bool) -> Self {
        let rule = TargetRule { allow_private };
        // The same TLS stack as the rest of the binary (aws-lc-rs), with the Mozilla roots.
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let roots = rustls::RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() };
        let tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("aws-lc-rs supports the default TLS versions")
            .with_root_certificates(roots)
            .with_no_client_auth();
        let client = reqwest::Client::builder()
            .use_preconfigured_tls(tls)
            .timeout(TIMEOUT)
            .connect_timeout(TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .dns_resolver(Arc::new(GuardedResolver { rule }))
            .user_agent(concat!("Tenantry-Webhooks/", env!("CARGO_PKG_VERSION")))
            .pool_idle_timeout(Duration::from_secs(30))
            .build()
            .expect("the webhook HTTP client builds");
        Self { client, rule, allow_http }
    }

    pub fn rule(&self) -> TargetRule {
        self.rule
    }

    /// One attempt, recorded as made at `at` (the worker's clock, which schedules retries):
    /// `body` signed with each of `secrets` (two while a rotated-out secret still signs), under
    /// the real time of sending, which receivers check against their own clock. Succeeds on
    /// any 2xx; everything else is an error to retry, described without the response's body.
    pub async fn send(&self, url: &str, message_id: &str, secrets: &[WebhookSecret], body: &str, at: DateTime<Utc>) -> AttemptRecord {
        let started = std::time::Instant::now();
        let failed = |error: String| AttemptRecord { at, status: None, duration_ms: started.elapsed().as_millis() as i64, error: Some(error) };
        // The operator's flags may have changed since the endpoint was saved.
        let url = match WebhookUrl::parse(url, self.allow_http) {
            Ok(url) => url,
            Err(reason) => return failed(format!("refused: {reason}")),
        };
        if let Some(ip) = url.literal_ip() {
            if let Some(why) = self.rule.refusal(ip) {
                return failed(format!("refused: {ip} is {why}"));
            }
        }
        let timestamp = Utc::now().timestamp();
        let signature = secrets.iter().map(|s| s.sign(message_id, timestamp, body.as_bytes())).collect::<Vec<_>>().join(" ");
        let request = self
            .client
            .post(url.url().clone())
            .header("content-type", "application/json")
            .header("webhook-id", message_id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .body(body.to_owned());
        match request.send().await {
            Ok(response) => {
                let status = response.status();
                // The body is not read: a receiver's answer is none of our business, and not
                // keeping it means nothing it says can be shown back to the tenant.
                drop(response);
                let duration_ms = started.elapsed().as_millis() as i64;
                let error = (!status.is_success()).then(|| match status.canonical_reason() {
                    Some(reason) => format!("HTTP {} {reason}", status.as_u16()),
                    None => format!("HTTP {}", status.as_u16()),
                });
                AttemptRecord { at, status: Some(i32::from(status.as_u16())), duration_ms, error }
            }
            Err(error) => failed(describe(&error)),
        }
    }
}

/// A transport error in one line, naming an address refusal as such.
fn describe(error: &reqwest::Error) -> String {
    let mut causes: Vec<&(dyn std::error::Error + 'static)> = Vec::new();
    let mut source = std::error::Error::source(error);
    while let Some(e) = source {
        if let Some(blocked) = e.downcast_ref::<Blocked>() {
            return blocked.0.clone();
        }
        causes.push(e);
        source = e.source();
    }
    let root = causes.last().map(|e| e.to_string()).unwrap_or_default();
    if error.is_timeout() {
        format!("timed out after {} s", TIMEOUT.as_secs())
    } else if error.is_connect() {
        format!("connection failed: {root}")
    } else if root.is_empty() {
        error.to_string()
    } else {
        format!("{error}: {root}")
    }
}
