//! Configuration from the environment (and a `.env` file), read once at start-up by every
//! subcommand. `.env.sample` documents each variable.

use std::{env, fmt, path::PathBuf, time::Duration};

use secrecy::{ExposeSecret, SecretString};

#[derive(Clone)]
pub struct Config {
    pub database_url: String,
    /// PostgreSQL connections per pool; `None` sizes it from the CPU count.
    pub database_max_connections: Option<u32>,
    pub bind_addr: String,
    pub frontend_base_url: String,
    pub secret_key: SecretString,
    pub production: bool,
    pub access_token_ttl: Duration,
    pub refresh_token_ttl: Duration,
    pub invitation_ttl: Duration,
    pub password_reset_ttl: Duration,
    pub rate_limit: RateLimitConfig,
    pub time_zone: String,
    /// The plan a self-service sign-up gets (`SIGNUP_DEFAULT_PLAN`); none by default, as in the
    /// Django service (no plan: no limits).
    pub signup_default_plan: Option<String>,
    /// `TENANT_BASE_DOMAIN`: with it, `<slug>.<domain>` is inside that tenant (lower case, no
    /// leading dot).
    pub tenant_base_domain: Option<String>,
    pub email: EmailConfig,
    /// Mark the session cookie `Secure` (on by default in production and when the base URL is
    /// https).
    pub secure_cookies: bool,
    /// Reverse proxies whose `X-Forwarded-For` is believed (`TRUSTED_PROXIES`, CIDRs).
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// Sent e-mails are deleted from the outbox after this long (`EMAIL_OUTBOX_RETENTION_DAYS`).
    pub outbox_retention: Duration,
    /// How long a deleted tenant can be restored before the worker purges it
    /// (TENANT_DELETION_GRACE_DAYS, default 30; 0 purges at the next pass).
    pub tenant_deletion_grace: Duration,
    /// TENANT_TEMPLATES_FILE: the YAML file of tenant templates (read at each use).
    pub tenant_templates_file: Option<std::path::PathBuf>,
    /// WEBHOOK_ALLOW_HTTP=1: endpoints may be plain `http://` (development, internal networks).
    pub webhook_allow_http: bool,
    /// WEBHOOK_ALLOW_PRIVATE=1: endpoints may be loopback, private or link-local addresses
    /// (cloud metadata addresses stay refused).
    pub webhook_allow_private: bool,
    /// METRICS_ENABLED=1 serves `GET /metrics` (Prometheus); off by default.
    pub metrics_enabled: bool,
    /// METRICS_TOKEN: when set, `GET /metrics` needs `Authorization: Bearer <token>`.
    pub metrics_token: Option<SecretString>,
    /// Where passkeys are valid (see [`PasskeySite`]).
    pub passkeys: PasskeySite,
}

/// The WebAuthn relying party: passkeys are bound to `rp_id` (a domain, never an IP address)
/// and accepted from `origins` (and their subdomains, the tenants' own hosts).
///
/// `WEBAUTHN_RP_ID` defaults to the host of `FRONTEND_BASE_URL`; `WEBAUTHN_ORIGINS` (comma
/// separated) to its origin. Browsers refuse passkeys on an IP address, so a loopback address
/// (the local default `http://127.0.0.1:3000`) becomes `localhost`, on the same port: open
/// the local server as `http://localhost:3000` to use passkeys.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PasskeySite {
    pub rp_id: String,
    pub origins: Vec<String>,
}

impl PasskeySite {
    fn from_env(get: &impl Fn(&str) -> Option<String>, frontend_base_url: &str) -> Result<Self, ConfigError> {
        let bad = |name: &'static str, why: String| ConfigError::Invalid { name, reason: why };
        let origins: Vec<url::Url> = match get("WEBAUTHN_ORIGINS") {
            Some(list) => list
                .split(',')
                .map(str::trim)
                .filter(|o| !o.is_empty())
                .map(|o| url::Url::parse(o).map_err(|e| bad("WEBAUTHN_ORIGINS", format!("{o}: {e}"))))
                .collect::<Result<_, _>>()?,
            None => {
                let mut base = url::Url::parse(frontend_base_url).map_err(|e| bad("FRONTEND_BASE_URL", e.to_string()))?;
                if base.host().is_some_and(|h| matches!(h, url::Host::Ipv4(ip) if ip.is_loopback()) || matches!(h, url::Host::Ipv6(ip) if ip.is_loopback())) {
                    let _ = base.set_host(Some("localhost"));
                }
                vec![base]
            }
        };
        let rp_id = match get("WEBAUTHN_RP_ID") {
            Some(id) => id.trim().to_ascii_lowercase(),
            None => origins.first().and_then(|o| o.host_str()).unwrap_or("localhost").to_owned(),
        };
        let origins = origins.iter().map(|o| o.origin().ascii_serialization()).collect();
        Ok(Self { rp_id, origins })
    }
}

/// Where e-mail goes and who it is from.
#[derive(Clone, Debug)]
pub struct EmailConfig {
    pub provider: EmailProvider,
    /// The sender address, e.g. `no-reply@example.com`.
    pub from_address: String,
    /// The sender's display name.
    pub from_name: String,
    /// When set, `from_address` must be in this domain (SES sends only from verified domains).
    pub expected_from_domain: Option<String>,
}

#[derive(Clone, Debug)]
pub enum EmailProvider {
    /// Development: one line per message on stdout, with the link.
    Log,
    Smtp(SmtpConfig),
    Ses(SesConfig),
}

#[derive(Clone)]
pub struct SmtpConfig {
    pub host: String,
    pub port: u16,
    pub tls: SmtpTls,
    pub username: Option<String>,
    pub password: Option<SecretString>,
    pub timeout: Duration,
}

impl fmt::Debug for SmtpConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpConfig")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("tls", &self.tls)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "[redacted]"))
            .finish()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SmtpTls {
    /// Plain text (a local relay or a test server).
    None,
    /// STARTTLS upgrade, required.
    StartTls,
    /// TLS from the first byte (port 465).
    Tls,
}

#[derive(Clone, Debug)]
pub struct SesConfig {
    pub region: String,
    /// Override of the SES endpoint (an SES-compatible server in tests).
    pub endpoint_url: Option<String>,
}

#[derive(Clone, Debug)]
pub struct RateLimitConfig {
    pub disabled: bool,
    /// Credential requests (sign-in, sign-up, accept-invitation, reset) per client IP per minute.
    pub per_ip_per_minute: u32,
    /// Password checks of one account from one client address per minute (refused past it).
    pub per_account_per_minute: u32,
    /// Password checks of one account from all addresses per minute (slowed past it).
    pub account_ceiling_per_minute: u32,
    pub invitations_per_tenant_per_hour: u32,
    pub invitations_per_recipient_per_hour: u32,
    pub reset_mails_per_recipient_per_hour: u32,
    pub reset_mails_per_ip_per_hour: u32,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{name} is not valid: {reason}")]
    Invalid { name: &'static str, reason: String },
    #[error("SECRET_KEY must be set in production (TENANTRY_ENV=production); it signs every token")]
    MissingSecretInProduction,
    #[error("SECRET_KEY is {0} bytes long; production (TENANTRY_ENV=production) needs at least 32 random bytes")]
    WeakSecretInProduction(usize),
    #[error("EMAIL_PROVIDER=log only prints e-mail (with its links) to the log; in production (TENANTRY_ENV=production) choose smtp or ses, or set EMAIL_LOG_IN_PRODUCTION=1 to allow it")]
    LogMailerInProduction,
    #[error("could not read or create the local secret key file {path}: {source}")]
    SecretFile { path: PathBuf, source: std::io::Error },
}

pub const DEFAULT_DATABASE_URL: &str = "sqlite://tenantry.sqlite?mode=rwc";

impl Config {
    /// Reads `.env` (if present) and the environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        let _ = dotenvy::dotenv();
        Self::from_lookup(|name| env::var(name).ok())
    }

    /// Builds a config from any lookup; tests pass a map instead of the process environment.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &str| get(name).filter(|v| !v.trim().is_empty());
        let production = matches!(
            get("TENANTRY_ENV").as_deref().map(str::to_ascii_lowercase).as_deref(),
            Some("production" | "prod")
        );
        let bind_addr = get("BIND_ADDR")
            .or_else(|| get("LEPTOS_SITE_ADDR"))
            .unwrap_or_else(|| "127.0.0.1:3000".into());
        let frontend_base_url = get("FRONTEND_BASE_URL")
            .unwrap_or_else(|| format!("http://{bind_addr}"))
            .trim_end_matches('/')
            .to_owned();
        let secret_key = match get("SECRET_KEY") {
            Some(key) if production && key.len() < 32 => return Err(ConfigError::WeakSecretInProduction(key.len())),
            Some(key) => SecretString::from(key),
            None if production => return Err(ConfigError::MissingSecretInProduction),
            None => local_secret(get("SECRET_KEY_FILE").map(PathBuf::from))?,
        };
        let secure_cookies = match get("SESSION_COOKIE_SECURE") {
            Some(v) => parse_bool("SESSION_COOKIE_SECURE", &v)?,
            None => production || frontend_base_url.starts_with("https://"),
        };
        let email = email_config(&get)?;
        if production && matches!(email.provider, EmailProvider::Log) {
            let allowed = flag(&get, "EMAIL_LOG_IN_PRODUCTION")?;
            if !allowed {
                return Err(ConfigError::LogMailerInProduction);
            }
        }
        let trusted_proxies = match get("TRUSTED_PROXIES") {
            Some(list) => parse_networks("TRUSTED_PROXIES", &list)?,
            None => Vec::new(),
        };
        let passkeys = PasskeySite::from_env(&get, &frontend_base_url)?;
        Ok(Self {
            database_url: get("DATABASE_URL").unwrap_or_else(|| DEFAULT_DATABASE_URL.into()),
            database_max_connections: match number(&get, "DATABASE_MAX_CONNECTIONS", 0)? {
                0 => None,
                n => Some(n),
            },
            bind_addr,
            frontend_base_url,
            secret_key,
            production,
            access_token_ttl: minutes(&get, "ACCESS_TOKEN_LIFETIME_MINUTES", 30)?,
            refresh_token_ttl: minutes(&get, "REFRESH_TOKEN_LIFETIME_MINUTES", 7 * 24 * 60)?,
            invitation_ttl: minutes(&get, "INVITATION_LIFETIME_MINUTES", 7 * 24 * 60)?,
            password_reset_ttl: minutes(&get, "PASSWORD_RESET_LIFETIME_MINUTES", 60)?,
            rate_limit: RateLimitConfig {
                disabled: flag(&get, "RATE_LIMIT_DISABLED")?,
                per_ip_per_minute: number(&get, "RATE_LIMIT_PER_IP_PER_MINUTE", 30)?,
                per_account_per_minute: number(&get, "RATE_LIMIT_PER_ACCOUNT_PER_MINUTE", 10)?,
                account_ceiling_per_minute: number(&get, "RATE_LIMIT_ACCOUNT_CEILING_PER_MINUTE", 60)?,
                invitations_per_tenant_per_hour: number(&get, "INVITATIONS_PER_TENANT_PER_HOUR", 200)?,
                invitations_per_recipient_per_hour: number(&get, "INVITATIONS_PER_RECIPIENT_PER_HOUR", 3)?,
                reset_mails_per_recipient_per_hour: number(&get, "RESET_MAILS_PER_RECIPIENT_PER_HOUR", 5)?,
                reset_mails_per_ip_per_hour: number(&get, "RESET_MAILS_PER_IP_PER_HOUR", 20)?,
            },
            time_zone: get("TIME_ZONE").unwrap_or_else(|| "America/Jamaica".into()),
            tenant_base_domain: get("TENANT_BASE_DOMAIN").map(|d| d.trim().trim_start_matches('.').trim_end_matches('.').to_ascii_lowercase()).filter(|d| !d.is_empty()),
            signup_default_plan: get("SIGNUP_DEFAULT_PLAN").map(|p| p.trim().to_ascii_lowercase()).filter(|p| !p.is_empty()),
            email,
            secure_cookies,
            trusted_proxies,
            outbox_retention: Duration::from_secs(u64::from(number(&get, "EMAIL_OUTBOX_RETENTION_DAYS", 30)?.max(1)) * 86_400),
            tenant_templates_file: get("TENANT_TEMPLATES_FILE").map(|p| p.trim().to_owned()).filter(|p| !p.is_empty()).map(std::path::PathBuf::from),
            tenant_deletion_grace: Duration::from_secs(u64::from(number(&get, "TENANT_DELETION_GRACE_DAYS", 30)?) * 86_400),
            webhook_allow_http: flag(&get, "WEBHOOK_ALLOW_HTTP")?,
            webhook_allow_private: flag(&get, "WEBHOOK_ALLOW_PRIVATE")?,
            metrics_enabled: flag(&get, "METRICS_ENABLED")?,
            metrics_token: get("METRICS_TOKEN").map(|t| SecretString::from(t.trim().to_owned())),
            passkeys,
        })
    }

    pub fn secret_key(&self) -> &[u8] {
        self.secret_key.expose_secret().as_bytes()
    }

    pub fn is_postgres(&self) -> bool {
        self.database_url.starts_with("postgres:") || self.database_url.starts_with("postgresql:")
    }
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("database_url", &redact_url(&self.database_url))
            .field("database_max_connections", &self.database_max_connections)
            .field("bind_addr", &self.bind_addr)
            .field("frontend_base_url", &self.frontend_base_url)
            .field("secret_key", &"[redacted]")
            .field("production", &self.production)
            .field("time_zone", &self.time_zone)
            .field("email", &self.email)
            .finish_non_exhaustive()
    }
}

/// Hides a password in a database URL for logs.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let credentials = &url[scheme_end + 3..at];
            match credentials.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme_end + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

fn email_config(get: &impl Fn(&str) -> Option<String>) -> Result<EmailConfig, ConfigError> {
    let provider = match get("EMAIL_PROVIDER").unwrap_or_else(|| "log".into()).trim().to_ascii_lowercase().as_str() {
        "log" | "console" => EmailProvider::Log,
        "smtp" => {
            let tls = match get("SMTP_TLS").unwrap_or_else(|| "starttls".into()).trim().to_ascii_lowercase().as_str() {
                "none" | "off" | "plain" => SmtpTls::None,
                "starttls" => SmtpTls::StartTls,
                "tls" | "ssl" | "implicit" => SmtpTls::Tls,
                other => {
                    return Err(ConfigError::Invalid { name: "SMTP_TLS", reason: format!("expected none, starttls or tls, got {other:?}") })
                }
            };
            let default_port = match tls {
                SmtpTls::None => 25,
                SmtpTls::StartTls => 587,
                SmtpTls::Tls => 465,
            };
            let port = match get("SMTP_PORT") {
                Some(p) => p.trim().parse().map_err(|_| ConfigError::Invalid { name: "SMTP_PORT", reason: format!("expected a port number, got {p:?}") })?,
                None => default_port,
            };
            EmailProvider::Smtp(SmtpConfig {
                host: get("SMTP_HOST").unwrap_or_else(|| "localhost".into()),
                port,
                tls,
                username: get("SMTP_USERNAME"),
                password: get("SMTP_PASSWORD").map(SecretString::from),
                timeout: Duration::from_secs(u64::from(number(get, "SMTP_TIMEOUT_SECONDS", 10)?)),
            })
        }
        "ses" => EmailProvider::Ses(SesConfig {
            region: get("AWS_REGION").or_else(|| get("AWS_DEFAULT_REGION")).unwrap_or_else(|| "us-east-1".into()),
            endpoint_url: get("SES_ENDPOINT_URL").or_else(|| get("AWS_ENDPOINT_URL_SESV2")),
        }),
        other => {
            return Err(ConfigError::Invalid { name: "EMAIL_PROVIDER", reason: format!("expected log, smtp or ses, got {other:?}") })
        }
    };
    let from_address = get("EMAIL_FROM_ADDRESS").unwrap_or_else(|| "no-reply@tenantry.localhost".into()).trim().to_owned();
    let from_domain = match from_address.rsplit_once('@') {
        Some((local, domain)) if !local.is_empty() && domain.contains('.') => domain.to_ascii_lowercase(),
        _ => return Err(ConfigError::Invalid { name: "EMAIL_FROM_ADDRESS", reason: format!("{from_address:?} is not an e-mail address") }),
    };
    let expected_from_domain = get("SES_EXPECTED_FROM_DOMAIN").map(|d| d.trim().trim_start_matches('@').to_ascii_lowercase());
    if let Some(expected) = &expected_from_domain {
        let belongs = from_domain == *expected || from_domain.ends_with(&format!(".{expected}"));
        if !belongs {
            return Err(ConfigError::Invalid {
                name: "EMAIL_FROM_ADDRESS",
                reason: format!(
                    "{from_address} is not in SES_EXPECTED_FROM_DOMAIN {expected}: SES only sends from a verified domain, \
                     so every message would be rejected. Use an address @{expected} or change SES_EXPECTED_FROM_DOMAIN."
                ),
            });
        }
    }
    Ok(EmailConfig {
        provider,
        from_address,
        from_name: get("EMAIL_FROM_NAME").unwrap_or_else(|| "Tenantry".into()),
        expected_from_domain,
    })
}

/// A comma- or space-separated list of CIDRs (`10.0.0.0/8, ::1/128`); a bare address is one
/// host.
fn parse_networks(name: &'static str, list: &str) -> Result<Vec<ipnet::IpNet>, ConfigError> {
    list.split([',', ' ', '\n'])
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .map(|item| {
            item.parse::<ipnet::IpNet>()
                .or_else(|_| item.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                .map_err(|_| ConfigError::Invalid { name, reason: format!("{item:?} is not an address or a CIDR range") })
        })
        .collect()
}

/// A yes/no variable, off when unset.
fn flag(get: &impl Fn(&str) -> Option<String>, name: &'static str) -> Result<bool, ConfigError> {
    get(name).map_or(Ok(false), |v| parse_bool(name, &v))
}

fn parse_bool(name: &'static str, value: &str) -> Result<bool, ConfigError> {
    match value.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" => Ok(false),
        other => Err(ConfigError::Invalid { name, reason: format!("expected 1/0 or true/false, got {other:?}") }),
    }
}

fn number(get: &impl Fn(&str) -> Option<String>, name: &'static str, default: u32) -> Result<u32, ConfigError> {
    match get(name) {
        None => Ok(default),
        Some(v) => v.trim().parse().map_err(|_| ConfigError::Invalid { name, reason: format!("expected a whole number, got {v:?}") }),
    }
}

fn minutes(get: &impl Fn(&str) -> Option<String>, name: &'static str, default: u32) -> Result<Duration, ConfigError> {
    let value = number(get, name, default)?;
    if value == 0 {
        return Err(ConfigError::Invalid { name, reason: "must be at least 1 minute".into() });
    }
    Ok(Duration::from_secs(u64::from(value) * 60))
}

/// For local use without a configured key: generate one once and keep it in a file so that
/// tokens and sessions survive restarts.
fn local_secret(path: Option<PathBuf>) -> Result<SecretString, ConfigError> {
    let path = path.unwrap_or_else(|| PathBuf::from(".tenantry-secret"));
    let wrap = |source| ConfigError::SecretFile { path: path.clone(), source };
    match std::fs::read_to_string(&path) {
        Ok(key) if key.trim().len() >= 32 => return Ok(SecretString::from(key.trim().to_owned())),
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(wrap(e)),
    }
    let key = crate::auth::random_token();
    std::fs::write(&path, &key).map_err(wrap)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600));
    }
    Ok(SecretString::from(key))
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Config::from_lookup(|name| map.get(name).cloned())
    }

    #[test]
    fn passkeys_are_bound_to_the_base_url_host_and_never_to_an_ip_address() {
        let local = config(&[("SECRET_KEY", "x")]).unwrap().passkeys;
        assert_eq!(local, PasskeySite { rp_id: "localhost".into(), origins: vec!["http://localhost:3000".into()] });
        let v6 = config(&[("SECRET_KEY", "x"), ("FRONTEND_BASE_URL", "http://[::1]:8080/")]).unwrap().passkeys;
        assert_eq!(v6, PasskeySite { rp_id: "localhost".into(), origins: vec!["http://localhost:8080".into()] });
        let site = config(&[("SECRET_KEY", "x"), ("FRONTEND_BASE_URL", "https://app.example.com/")]).unwrap().passkeys;
        assert_eq!(site, PasskeySite { rp_id: "app.example.com".into(), origins: vec!["https://app.example.com".into()] });
        let set = config(&[("SECRET_KEY", "x"), ("WEBAUTHN_RP_ID", "Example.com"), ("WEBAUTHN_ORIGINS", "https://example.com, https://login.example.com/")])
            .unwrap()
            .passkeys;
        assert_eq!(set, PasskeySite { rp_id: "example.com".into(), origins: vec!["https://example.com".into(), "https://login.example.com".into()] });
        assert!(matches!(config(&[("SECRET_KEY", "x"), ("WEBAUTHN_ORIGINS", "not a url")]), Err(ConfigError::Invalid { name: "WEBAUTHN_ORIGINS", .. })));
    }

    #[test]
    fn production_refuses_to_start_without_a_secret_key() {
        assert!(matches!(config(&[("TENANTRY_ENV", "production")]), Err(ConfigError::MissingSecretInProduction)));
    }

    #[test]
    fn production_refuses_a_short_secret_key_and_the_log_mailer_and_makes_cookies_secure() {
        let short = config(&[("TENANTRY_ENV", "production"), ("SECRET_KEY", "k".repeat(31).as_str()), ("EMAIL_PROVIDER", "ses")]);
        assert!(matches!(short, Err(ConfigError::WeakSecretInProduction(31))), "{short:?}");
        let key = "k".repeat(32);
        let log = config(&[("TENANTRY_ENV", "production"), ("SECRET_KEY", key.as_str())]);
        assert!(matches!(log, Err(ConfigError::LogMailerInProduction)), "{log:?}");
        let allowed = config(&[("TENANTRY_ENV", "production"), ("SECRET_KEY", key.as_str()), ("EMAIL_LOG_IN_PRODUCTION", "1")]).unwrap();
        assert!(allowed.secure_cookies, "production cookies are Secure even behind an http base URL");
        let ses = config(&[("TENANTRY_ENV", "production"), ("SECRET_KEY", key.as_str()), ("EMAIL_PROVIDER", "ses")]).unwrap();
        assert!(ses.production && ses.secure_cookies);
        let dev = config(&[("SECRET_KEY", "x")]).unwrap();
        assert!(!dev.secure_cookies, "development over http keeps working");
    }

    #[test]
    fn trusted_proxies_are_cidrs_or_addresses() {
        let c = config(&[("SECRET_KEY", "x"), ("TRUSTED_PROXIES", "10.0.0.0/8, 127.0.0.1 ::1/128")]).unwrap();
        let shown: Vec<String> = c.trusted_proxies.iter().map(|n| n.to_string()).collect();
        assert_eq!(shown, ["10.0.0.0/8", "127.0.0.1/32", "::1/128"]);
        let err = config(&[("SECRET_KEY", "x"), ("TRUSTED_PROXIES", "10.0.0.0/8,proxy.local")]).unwrap_err();
        assert!(err.to_string().contains("proxy.local"), "{err}");
        assert!(config(&[("SECRET_KEY", "x")]).unwrap().trusted_proxies.is_empty());
    }

    #[test]
    fn defaults_are_sqlite_and_jamaica() {
        let config = config(&[("SECRET_KEY", "k".repeat(40).as_str())]).unwrap();
        assert_eq!(config.database_url, DEFAULT_DATABASE_URL);
        assert_eq!(config.time_zone, "America/Jamaica");
        assert_eq!(config.access_token_ttl, Duration::from_secs(30 * 60));
        assert!(!config.is_postgres());
    }

    #[test]
    fn the_postgres_pool_size_is_automatic_unless_set() {
        assert_eq!(config(&[("SECRET_KEY", "x")]).unwrap().database_max_connections, None);
        assert_eq!(config(&[("SECRET_KEY", "x"), ("DATABASE_MAX_CONNECTIONS", "6")]).unwrap().database_max_connections, Some(6));
        let err = config(&[("SECRET_KEY", "x"), ("DATABASE_MAX_CONNECTIONS", "many")]).unwrap_err();
        assert!(err.to_string().contains("DATABASE_MAX_CONNECTIONS"));
    }

    #[test]
    fn bad_numbers_are_reported_by_name() {
        let err = config(&[("SECRET_KEY", "x"), ("ACCESS_TOKEN_LIFETIME_MINUTES", "soon")]).unwrap_err();
        assert!(err.to_string().contains("ACCESS_TOKEN_LIFETIME_MINUTES"));
    }

    #[test]
    fn a_from_address_outside_the_expected_domain_refuses_to_start() {
        let err = config(&[("SECRET_KEY", "x"), ("EMAIL_FROM_ADDRESS", "hi@other.com"), ("SES_EXPECTED_FROM_DOMAIN", "acme.com")]).unwrap_err();
        let message = err.to_string();
        assert!(message.contains("hi@other.com") && message.contains("acme.com"), "{message}");
        assert!(config(&[("SECRET_KEY", "x"), ("EMAIL_FROM_ADDRESS", "hi@mail.acme.com"), ("SES_EXPECTED_FROM_DOMAIN", "acme.com")]).is_ok());
    }

    #[test]
    fn email_providers_are_parsed_with_their_settings() {
        let smtp = config(&[("SECRET_KEY", "x"), ("EMAIL_PROVIDER", "smtp"), ("SMTP_TLS", "none"), ("SMTP_HOST", "mx")]).unwrap();
        assert!(matches!(smtp.email.provider, EmailProvider::Smtp(ref s) if s.port == 25 && s.host == "mx" && s.tls == SmtpTls::None));
        assert!(config(&[("SECRET_KEY", "x"), ("EMAIL_PROVIDER", "carrier-pigeon")]).is_err());
        assert!(matches!(config(&[("SECRET_KEY", "x")]).unwrap().email.provider, EmailProvider::Log));
    }

    #[test]
    fn database_passwords_are_redacted() {
        assert_eq!(redact_url("postgres://app:hunter2@db/x"), "postgres://app:***@db/x");
        assert_eq!(redact_url("sqlite://x.db"), "sqlite://x.db");
    }
}
