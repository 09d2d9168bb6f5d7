//! `check-email` against moto's SES v2 server.

use std::process::{Command, Output};

use tenantry::mail::test_servers::SesServer;

/// Runs `tenantry-server check-email ARGS` with `EMAIL_PROVIDER=provider` and, when given, the
/// SES endpoint; returns the output and its stdout as text.
fn check_email(provider: &str, endpoint: Option<&str>, args: &[&str]) -> (Output, String) {
    let dir = std::env::temp_dir().join("tenantry-tests").join(format!("check-email-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_tenantry-server"));
    command
        .arg("check-email")
        .args(args)
        .current_dir(&dir)
        .env("SECRET_KEY", "test-secret-key-that-is-long-enough-for-hs256")
        .env("DATABASE_URL", format!("sqlite://{}?mode=rwc", dir.join("unused.sqlite").display()))
        .env("EMAIL_PROVIDER", provider)
        .env("EMAIL_FROM_ADDRESS", "no-reply@acme.test")
        .env("SES_EXPECTED_FROM_DOMAIN", "acme.test")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_SESSION_TOKEN");
    if let Some(endpoint) = endpoint {
        command.env("SES_ENDPOINT_URL", endpoint);
    }
    let output = command.output().expect("run tenantry-server check-email");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    (output, stdout)
}

/// The report line of `item` (lines are `STATUS  item  detail`).
fn line<'a>(stdout: &'a str, item: &str) -> &'a str {
    stdout.lines().find(|l| l.get(8..).is_some_and(|rest| rest.starts_with(item))).unwrap_or_else(|| panic!("no {item} line in:\n{stdout}"))
}

#[tokio::test]
async fn check_email_prints_a_line_per_item_reports_get_account_unknown_and_exits_non_zero_on_a_failure() {
    let server = SesServer::start();
    server.create_domain_identity("acme.test").await;
    let endpoint = server.endpoint.clone();

    let (output, stdout) = tokio::task::spawn_blocking(move || check_email("ses", Some(&endpoint), &["--send-test", "ops@example.com"])).await.unwrap();

    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(line(&stdout, "domain identity").starts_with("PASS"), "{stdout}");
    assert!(line(&stdout, "DKIM").starts_with("FAIL"), "moto's identity does not sign: {stdout}");
    let account = line(&stdout, "production access");
    assert!(account.starts_with("UNKNOWN") && account.contains("does not implement GetAccount"), "{account}");
    assert!(line(&stdout, "from address").starts_with("PASS"), "{stdout}");
    assert!(line(&stdout, "test invitation").starts_with("PASS"), "{stdout}");
    assert!(line(&stdout, "test password reset").starts_with("PASS"), "{stdout}");
    assert_eq!(output.status.code(), Some(1), "a FAIL item makes the exit code non-zero\n{stdout}\n{stderr}");
    assert!(stderr.contains("1 check(s) failed"), "{stderr}");
    assert_eq!(server.sent_messages().await.len(), 2, "the test invitation and reset went through SES");
}

#[test]
fn check_email_says_it_needs_the_ses_provider() {
    let (output, _) = check_email("log", None, &[]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(stderr.contains("check-email needs EMAIL_PROVIDER=ses"), "{stderr}");
}
