//! Real mail servers for the tests (here and in the server crate), as child processes on free ports: aiosmtpd (SMTP, writing
//! a maildir) and moto's server mode (SES v2). Both come from PyPI; `.ci/mailtest.sh` installs
//! them into `.tools/py` and exports `TENANTRY_PYTHON`. Without that variable `python3` is
//! used, and a missing module fails the test loudly: these tests are never skipped.

use std::{
    net::{SocketAddr, TcpListener, TcpStream},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use serde::Deserialize;

pub(crate) fn python() -> String {
    std::env::var("TENANTRY_PYTHON").ok().filter(|p| !p.is_empty()).unwrap_or_else(|| "python3".into())
}

pub(crate) fn require_module(module: &str, package: &str) {
    let python = python();
    let ok = Command::new(&python).args(["-c", &format!("import {module}")]).stderr(Stdio::null()).status().is_ok_and(|s| s.success());
    assert!(
        ok,
        "the e-mail and webhook tests need the Python package {package} ({python} cannot import {module}). \
         Run `source .ci/mailtest.sh` (installs aiosmtpd, moto[server] and standardwebhooks into .tools/py and exports TENANTRY_PYTHON), \
         or `pip install aiosmtpd 'moto[server]>=5.2,<5.3' standardwebhooks`."
    );
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").expect("bind a free port").local_addr().unwrap().port()
}

pub fn temp_dir(prefix: &str) -> PathBuf {
    let dir = std::env::temp_dir().join("tenantry-tests").join(format!("{prefix}-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).expect("create temp dir");
    dir
}

/// A child process killed when dropped.
pub(crate) struct Server {
    child: Child,
    name: &'static str,
    log: PathBuf,
}

impl Server {
    pub(crate) fn spawn(name: &'static str, args: &[&str], port: u16) -> Self {
        let log = temp_dir(name).join("server.log");
        let log_file = std::fs::File::create(&log).expect("server log file");
        let child = Command::new(python())
            .args(args)
            .stdin(Stdio::null())
            .stdout(log_file.try_clone().unwrap())
            .stderr(log_file)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name} with {}: {e}", python()));
        let mut server = Self { child, name, log };
        server.wait_until_listening(port);
        server
    }

    fn wait_until_listening(&mut self, port: u16) {
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
                return;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("{} exited ({status}) before listening on {port}:\n{}", self.name, std::fs::read_to_string(&self.log).unwrap_or_default());
            }
            assert!(Instant::now() < deadline, "{} did not listen on {port} within 30 s:\n{}", self.name, std::fs::read_to_string(&self.log).unwrap_or_default());
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// aiosmtpd with its `Mailbox` handler: every accepted message becomes a file in a maildir.
pub struct SmtpServer {
    _server: Server,
    pub port: u16,
    maildir: PathBuf,
}

/// A message as the SMTP server stored it, parsed by Python's `email` package.
#[derive(Debug, Deserialize)]
pub struct ReceivedMail {
    pub from: String,
    pub to: String,
    pub subject: String,
    pub message_id: String,
    pub content_type: String,
    pub text: Option<String>,
    pub html: Option<String>,
}

const READ_MAILDIR: &str = r#"
import json, mailbox, sys
out = []
for key, msg in mailbox.Maildir(sys.argv[1], create=False).iteritems():
    text = html = None
    for part in msg.walk():
        if part.get_content_type() == "text/plain" and text is None:
            text = part.get_payload(decode=True).decode(part.get_content_charset() or "utf-8")
        elif part.get_content_type() == "text/html" and html is None:
            html = part.get_payload(decode=True).decode(part.get_content_charset() or "utf-8")
    out.append({"from": msg["From"], "to": msg["To"], "subject": str(msg["Subject"]), "message_id": msg["Message-ID"],
                "content_type": msg.get_content_type(), "text": text, "html": html})
print(json.dumps(out))
"#;

impl SmtpServer {
    pub fn start() -> Self {
        Self::start_on(free_port())
    }

    pub fn start_on(port: u16) -> Self {
        require_module("aiosmtpd", "aiosmtpd");
        // aiosmtpd creates the maildir (with its tmp/new/cur) only when the folder is missing.
        let maildir = temp_dir("smtp").join("Maildir");
        let listen = format!("127.0.0.1:{port}");
        let server = Server::spawn("aiosmtpd", &["-m", "aiosmtpd", "-n", "-l", &listen, "-c", "aiosmtpd.handlers.Mailbox", maildir.to_str().unwrap()], port);
        Self { _server: server, port, maildir }
    }

    /// Every message received so far.
    pub fn received(&self) -> Vec<ReceivedMail> {
        read_maildir(&self.maildir)
    }
}

fn read_maildir(dir: &Path) -> Vec<ReceivedMail> {
    if !dir.join("new").exists() {
        return Vec::new();
    }
    let output = Command::new(python()).args(["-c", READ_MAILDIR, dir.to_str().unwrap()]).output().expect("run python to read the maildir");
    assert!(output.status.success(), "reading the maildir failed: {}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_slice(&output.stdout).expect("maildir JSON")
}

/// moto in server mode: an SES v2 endpoint (`/v2/email/…`) plus its internal API.
pub struct SesServer {
    _server: Server,
    pub endpoint: String,
}

/// A message moto's SES backend accepted (`GET /moto-api/data.json`, `ses.Message`).
#[derive(Debug, Deserialize)]
pub struct SesSentMessage {
    pub id: String,
    pub source: String,
    pub subject: String,
    /// moto keeps the HTML body when a message has both.
    pub body: String,
    pub destinations: serde_json::Value,
}

impl SesServer {
    pub fn start() -> Self {
        require_module("moto.server", "moto[server]");
        let port = free_port();
        let server = Server::spawn("moto_server", &["-m", "moto.server", "-H", "127.0.0.1", "-p", &port.to_string()], port);
        Self { _server: server, endpoint: format!("http://127.0.0.1:{port}") }
    }

    /// An SES client with static test credentials (the default chain would look for real ones).
    pub async fn client(&self) -> aws_sdk_sesv2::Client {
        crate::mail::ses_client(&self.config(), Some(test_credentials())).await
    }

    pub fn config(&self) -> crate::config::SesConfig {
        crate::config::SesConfig { region: "us-east-1".into(), endpoint_url: Some(self.endpoint.clone()) }
    }

    /// Creates a domain identity, which moto reports as verified, with DKIM signing not
    /// enabled.
    pub async fn create_domain_identity(&self, domain: &str) {
        let client = self.client().await;
        client
            .create_email_identity()
            .email_identity(domain)
            .send()
            .await
            .unwrap_or_else(|e| panic!("CreateEmailIdentity {domain}: {}", aws_sdk_sesv2::error::DisplayErrorContext(&e)));
    }

    /// Creates a domain identity with bring-your-own-key DKIM, which moto reports as signing
    /// enabled and verified, but with a `LastKeyGenerationTimestamp` in ISO 8601 where SES sends
    /// epoch seconds: the SDK cannot parse moto's answer (here or to GetEmailIdentity), though
    /// the identity is created.
    pub async fn create_domain_identity_with_byodkim(&self, domain: &str) {
        let client = self.client().await;
        let result = client
            .create_email_identity()
            .email_identity(domain)
            .dkim_signing_attributes(
                aws_sdk_sesv2::types::DkimSigningAttributes::builder()
                    .domain_signing_selector("tenantry")
                    .domain_signing_private_key("MIIBVgIBADANBgkqhkiG9w0BAQEFAASCAUAwggE8AgEAAkEAtestkey")
                    .build(),
            )
            .send()
            .await;
        if let Err(error) = result {
            let created = error.raw_response().is_some_and(|r| r.status().as_u16() == 200);
            assert!(created, "CreateEmailIdentity {domain}: {}", aws_sdk_sesv2::error::DisplayErrorContext(&error));
        }
    }

    /// Every message moto's SES backend has accepted.
    pub async fn sent_messages(&self) -> Vec<SesSentMessage> {
        let url = format!("{}/moto-api/data.json", self.endpoint);
        let body = tokio::task::spawn_blocking(move || http_get(&url)).await.unwrap();
        let data: serde_json::Value = serde_json::from_str(&body).expect("moto data.json");
        serde_json::from_value(data["ses"]["Message"].clone()).expect("moto ses.Message list")
    }
}

pub fn test_credentials() -> aws_sdk_sesv2::config::Credentials {
    aws_sdk_sesv2::config::Credentials::new("testing", "testing", None, None, "tenantry-tests")
}

/// A plain HTTP/1.0 GET (the tests need nothing more, and no HTTP client is a dependency).
fn http_get(url: &str) -> String {
    use std::io::{Read, Write};
    let rest = url.strip_prefix("http://").expect("http URL");
    let (host, path) = rest.split_once('/').map(|(h, p)| (h, format!("/{p}"))).unwrap_or((rest, "/".into()));
    let mut stream = TcpStream::connect(host).expect("connect");
    write!(stream, "GET {path} HTTP/1.0\r\nHost: {host}\r\n\r\n").unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("read response");
    let (head, body) = response.split_once("\r\n\r\n").expect("HTTP response");
    assert!(head.starts_with("HTTP/1.") && head.contains(" 200 "), "GET {url}: {head}");
    body.to_owned()
}
