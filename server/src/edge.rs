//! What every request meets before any handler: the client's real address, the cross-site
//! request guard, and the security headers on every answer. Rules about *what* a caller may do
//! live in the service layer; these are about *where a request came from* and how a browser
//! must treat the answer, which only HTTP knows.

use std::{net::{IpAddr, SocketAddr}, sync::Arc};

use axum::{
    extract::{ConnectInfo, Request, State},
    http::{header, HeaderMap, HeaderName, HeaderValue, Method, StatusCode},
    middleware::Next,
    response::{IntoResponse, Response},
    Json,
};
use ipnet::IpNet;
use serde_json::json;

use app::ssr::ClientIp;

/// What the edge layers need from the configuration.
#[derive(Clone)]
pub struct Edge {
    trusted_proxies: Arc<Vec<IpNet>>,
    /// `scheme://host[:port]` of `FRONTEND_BASE_URL`: a browser posting from there is us.
    own_origin: Arc<str>,
    hsts: bool,
}

impl Edge {
    pub fn new(config: &tenantry::config::Config) -> Self {
        Self {
            trusted_proxies: Arc::new(config.trusted_proxies.clone()),
            own_origin: origin_of(&config.frontend_base_url).into(),
            hsts: config.frontend_base_url.starts_with("https://"),
        }
    }
}

/// `scheme://authority` of a URL (its path dropped).
fn origin_of(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => format!("{}://{}", scheme.to_ascii_lowercase(), rest.split('/').next().unwrap_or("").to_ascii_lowercase()),
        None => url.to_ascii_lowercase(),
    }
}

/// The client's address: the peer itself, unless the peer is a trusted proxy; then the
/// right-most `X-Forwarded-For` entry that is not a trusted proxy (entries to its left were
/// written by the client and prove nothing). When every entry is trusted, the left-most.
pub fn client_ip(peer: IpAddr, headers: &HeaderMap, trusted: &[IpNet]) -> IpAddr {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(&peer) {
        return peer;
    }
    let forwarded: Vec<IpAddr> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map_while(|entry| entry.trim().parse::<IpAddr>().ok())
        .collect();
    forwarded.iter().rev().find(|ip| !is_trusted(ip)).or(forwarded.first()).copied().unwrap_or(peer)
}

/// Resolves [`ClientIp`] once per request, for the audit trail and the service's limits.
pub async fn resolve_client_ip(State(edge): State<Edge>, mut request: Request, next: Next) -> Response {
    if let Some(ConnectInfo(peer)) = request.extensions().get::<ConnectInfo<SocketAddr>>().copied() {
        let ip = client_ip(peer.ip(), request.headers(), &edge.trusted_proxies);
        request.extensions_mut().insert(ClientIp(ip));
    }
    next.run(request).await
}

/// Why a state-changing request from another site is refused, or `None` when it may go on.
/// Browsers say where a request comes from (`Sec-Fetch-Site`, `Origin`); scripts and API
/// clients send neither and are not affected. A sibling host on the same site (`same-site`)
/// is refused too: it can carry the session cookie where `SameSite=Lax` alone would not stop it.
pub fn cross_site_refusal(method: &Method, headers: &HeaderMap, own_origin: &str) -> Option<&'static str> {
    if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE) {
        return None;
    }
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(|v| v.trim().to_ascii_lowercase());
    if let Some(site) = text("sec-fetch-site") {
        if site == "cross-site" || site == "same-site" {
            return Some("Cross-site requests are not accepted.");
        }
    }
    let Some(origin) = text("origin") else { return None };
    let host_origin = |scheme: &str| text("host").map(|host| format!("{scheme}://{host}"));
    let same = origin == own_origin || Some(&origin) == host_origin("http").as_ref() || Some(&origin) == host_origin("https").as_ref();
    (!same).then_some("Cross-origin requests are not accepted.")
}

/// Refuses state-changing requests that a browser marks as coming from another site (403,
/// before any handler runs): the defence against cross-site request forgery, including
/// login CSRF, that keeps plain HTML forms working without JavaScript or tokens.
pub async fn refuse_cross_site(State(edge): State<Edge>, request: Request, next: Next) -> Response {
    if let Some(reason) = cross_site_refusal(request.method(), request.headers(), &edge.own_origin) {
        tracing::warn!(method = %request.method(), path = %request.uri().path(), reason, "cross-site request refused");
        return (StatusCode::FORBIDDEN, Json(json!({ "detail": reason }))).into_response();
    }
    next.run(request).await
}

const CSP: HeaderName = header::CONTENT_SECURITY_POLICY;

/// Headers every answer carries. Pages set their own Content-Security-Policy (with the nonce of
/// their hydration script, see `app::ssr::page_policy`); anything else that did not set one gets a policy
/// that allows nothing to run. HTML and JSON answers may carry a token or a signed-in person's
/// data: no cache keeps them.
pub async fn security_headers(State(edge): State<Edge>, request: Request, next: Next) -> Response {
    let path = request.uri().path().to_owned();
    let is_docs = path.starts_with("/api/docs");
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    // Links carry tokens (`/invite?token=…`): no other origin ever sees a URL of ours. Our own
    // server still gets the Referer, which is how a form posted without JavaScript returns to
    // its page with the error (server functions redirect there); `no-referrer` would break
    // exactly the no-JavaScript flows the token pages must support.
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    if edge.hsts {
        headers.insert(header::STRICT_TRANSPORT_SECURITY, HeaderValue::from_static("max-age=31536000; includeSubDomains"));
    }
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    if !headers.contains_key(CSP) {
        if content_type.starts_with("text/html") && !is_docs {
            // Every page sets its own policy; one that did not will not load its scripts.
            tracing::warn!(%path, status = response.status().as_u16(), "an HTML answer without its page's Content-Security-Policy");
        }
        let headers = response.headers_mut();
        // Swagger UI runs its own inline scripts; it still may not be framed.
        let policy = if is_docs { "frame-ancestors 'none'" } else { "default-src 'none'; frame-ancestors 'none'; base-uri 'none'" };
        headers.insert(CSP, HeaderValue::from_static(policy));
    }
    let headers = response.headers_mut();
    let personal = content_type.starts_with("text/html") || content_type.starts_with("application/json") || content_type.starts_with("text/csv");
    if personal && !is_docs {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, value.parse().unwrap());
        }
        map
    }

    fn nets(list: &[&str]) -> Vec<IpNet> {
        list.iter().map(|n| n.parse().unwrap()).collect()
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_forwards() {
        let peer: IpAddr = "203.0.113.9".parse().unwrap();
        let h = headers(&[("x-forwarded-for", "1.2.3.4")]);
        assert_eq!(client_ip(peer, &h, &[]), peer);
        assert_eq!(client_ip(peer, &h, &nets(&["10.0.0.0/8"])), peer);
    }

    #[test]
    fn behind_trusted_proxies_the_right_most_untrusted_entry_is_the_client() {
        let proxy: IpAddr = "10.0.0.2".parse().unwrap();
        let trusted = nets(&["10.0.0.0/8"]);
        // The client forged the first entry; our proxies appended the real one and themselves.
        let h = headers(&[("x-forwarded-for", "6.6.6.6, 198.51.100.7, 10.0.0.5")]);
        assert_eq!(client_ip(proxy, &h, &trusted), "198.51.100.7".parse::<IpAddr>().unwrap());
        // Several header lines count as one list.
        let h = headers(&[("x-forwarded-for", "6.6.6.6"), ("x-forwarded-for", "198.51.100.8")]);
        assert_eq!(client_ip(proxy, &h, &trusted), "198.51.100.8".parse::<IpAddr>().unwrap());
        // No header: the proxy itself.
        assert_eq!(client_ip(proxy, &HeaderMap::new(), &trusted), proxy);
        // Every entry trusted: the left-most.
        let h = headers(&[("x-forwarded-for", "10.1.1.1, 10.0.0.5")]);
        assert_eq!(client_ip(proxy, &h, &trusted), "10.1.1.1".parse::<IpAddr>().unwrap());
    }

    #[test]
    fn cross_site_posts_are_refused_and_same_origin_ones_pass() {
        let own = "https://app.example.com";
        let post = Method::POST;
        assert!(cross_site_refusal(&post, &headers(&[("origin", "https://evil.example"), ("sec-fetch-site", "cross-site")]), own).is_some());
        assert!(cross_site_refusal(&post, &headers(&[("sec-fetch-site", "same-site")]), own).is_some(), "sibling hosts are refused");
        assert!(cross_site_refusal(&post, &headers(&[("origin", "https://evil.example")]), own).is_some(), "older browsers: Origin alone");
        assert!(cross_site_refusal(&post, &headers(&[("origin", "null")]), own).is_some());
        assert!(cross_site_refusal(&post, &headers(&[("origin", "https://app.example.com"), ("sec-fetch-site", "same-origin")]), own).is_none());
        assert!(cross_site_refusal(&post, &headers(&[("origin", "http://127.0.0.1:3000"), ("host", "127.0.0.1:3000")]), own).is_none());
        assert!(cross_site_refusal(&post, &headers(&[("sec-fetch-site", "none")]), own).is_none(), "typed or bookmarked");
        assert!(cross_site_refusal(&post, &HeaderMap::new(), own).is_none(), "API clients send neither header");
        assert!(cross_site_refusal(&Method::GET, &headers(&[("sec-fetch-site", "cross-site")]), own).is_none(), "links from elsewhere still open");
        assert!(cross_site_refusal(&Method::DELETE, &headers(&[("sec-fetch-site", "cross-site")]), own).is_some());
    }

    #[test]
    fn the_origin_of_a_base_url_drops_its_path() {
        assert_eq!(origin_of("HTTPS://App.Example.com/tenantry"), "https://app.example.com");
        assert_eq!(origin_of("http://127.0.0.1:3000"), "http://127.0.0.1:3000");
    }
}
