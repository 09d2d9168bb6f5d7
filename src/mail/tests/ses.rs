use super::{servers::SesServer, ses_config};
use crate::mail::{
    ses_check::{self, Status, DKIM, DOMAIN_IDENTITY, FROM_ADDRESS, PRODUCTION_ACCESS, TEST_INVITATION, TEST_RESET},
    templates, MailError, Mailer, Outgoing, SesMailer,
};

async fn ses_mailer(server: &SesServer, from: &str) -> Mailer {
    Mailer::Ses(SesMailer::new(server.client().await, &ses_config(server.config(), from)))
}

fn item<'a>(items: &'a [ses_check::Item], name: &str) -> &'a ses_check::Item {
    items.iter().find(|i| i.name == name).unwrap_or_else(|| panic!("no {name} item in {items:#?}"))
}

#[tokio::test]
async fn ses_mailer_sends_through_an_ses_compatible_server_and_returns_its_message_id() {
    let server = SesServer::start();
    server.create_domain_identity("acme.test").await;
    let mailer = ses_mailer(&server, "no-reply@acme.test").await;
    let email = templates::password_reset("jane@example.com", "http://127.0.0.1:3000/reset-password?token=tok_xyz", 60, None);

    let message_id = mailer.send(Outgoing::from(&email)).await.expect("moto accepts mail from a verified domain");

    let sent = server.sent_messages().await;
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0].id, message_id);
    assert_eq!(sent[0].source, "Tenantry Test <no-reply@acme.test>");
    assert_eq!(sent[0].destinations["ToAddresses"], serde_json::json!(["jane@example.com"]));
    assert_eq!(sent[0].subject, email.subject);
    assert_eq!(sent[0].body, email.html_body);
}

#[tokio::test]
async fn ses_mailer_reports_the_rejection_when_the_sender_domain_is_not_verified() {
    let server = SesServer::start();
    let mailer = ses_mailer(&server, "no-reply@unverified.test").await;
    let email = templates::password_reset("jane@example.com", "http://h/reset-password?token=tok_xyz", 60, None);

    let error = mailer.send(Outgoing::from(&email)).await.expect_err("moto rejects an unverified sender");

    assert!(matches!(error, MailError::Ses(ref text) if text.contains("MessageRejected")), "{error}");
    assert!(server.sent_messages().await.is_empty());
}

#[tokio::test]
async fn check_email_reports_get_account_as_unknown_with_a_reason_instead_of_crashing() {
    let server = SesServer::start();
    server.create_domain_identity("acme.test").await;
    let mut config = ses_config(server.config(), "no-reply@acme.test");
    config.expected_from_domain = Some("acme.test".into());

    let items = ses_check::check(&server.client().await, &config).await;

    let account = item(&items, PRODUCTION_ACCESS);
    assert_eq!(account.status, Status::Unknown, "{account:?}");
    assert!(account.detail.contains("does not implement GetAccount"), "{}", account.detail);
    assert!(account.to_string().starts_with("UNKNOWN"), "{account}");
    // The items moto can answer are still checked.
    assert_eq!(item(&items, DOMAIN_IDENTITY).status, Status::Pass, "{items:#?}");
    assert_eq!(item(&items, FROM_ADDRESS).status, Status::Pass, "{items:#?}");
    assert_eq!(items.len(), 4);
}

#[tokio::test]
async fn check_email_fails_dkim_when_the_domain_does_not_sign() {
    let server = SesServer::start();
    server.create_domain_identity("acme.test").await;

    let items = ses_check::check(&server.client().await, &ses_config(server.config(), "no-reply@acme.test")).await;

    assert_eq!(item(&items, DOMAIN_IDENTITY).status, Status::Pass, "{items:#?}");
    let dkim = item(&items, DKIM);
    assert_eq!(dkim.status, Status::Fail, "{dkim:?}");
    assert!(dkim.detail.contains("not enabled"), "{}", dkim.detail);
}

#[tokio::test]
async fn check_email_reports_an_identity_answer_it_cannot_parse_as_unknown() {
    // moto's answer for a BYODKIM identity carries an ISO timestamp where SES sends a number.
    let server = SesServer::start();
    server.create_domain_identity_with_byodkim("acme.test").await;

    let items = ses_check::check(&server.client().await, &ses_config(server.config(), "no-reply@acme.test")).await;

    for name in [DOMAIN_IDENTITY, DKIM] {
        let it = item(&items, name);
        assert_eq!(it.status, Status::Unknown, "{it:?}");
        assert!(it.detail.contains("parse"), "the reason is given: {}", it.detail);
    }
}

#[tokio::test]
async fn check_email_fails_when_ses_has_no_identity_for_the_expected_domain() {
    let server = SesServer::start();
    server.create_domain_identity("other.test").await;
    let mut config = ses_config(server.config(), "no-reply@mail.acme.test");
    config.expected_from_domain = Some("acme.test".into());

    let items = ses_check::check(&server.client().await, &config).await;

    let identity = item(&items, DOMAIN_IDENTITY);
    assert_eq!(identity.status, Status::Fail, "{identity:?}");
    assert!(identity.detail.contains("acme.test"), "{}", identity.detail);
    assert_eq!(item(&items, DKIM).status, Status::Fail);
    assert_eq!(item(&items, FROM_ADDRESS).status, Status::Pass, "mail.acme.test is inside acme.test");
}

#[tokio::test]
async fn check_email_reports_unknown_items_when_ses_cannot_be_reached() {
    let config = ses_config(
        crate::config::SesConfig { region: "us-east-1".into(), endpoint_url: Some(format!("http://127.0.0.1:{}", super::servers::free_port())) },
        "no-reply@acme.test",
    );
    let client = crate::mail::ses_client(
        match &config.provider {
            crate::config::EmailProvider::Ses(ses) => ses,
            _ => unreachable!(),
        },
        Some(super::servers::test_credentials()),
    )
    .await;

    let items = ses_check::check(&client, &config).await;

    for name in [DOMAIN_IDENTITY, DKIM, PRODUCTION_ACCESS] {
        assert_eq!(item(&items, name).status, Status::Unknown, "{items:#?}");
    }
}

#[tokio::test]
async fn check_email_send_test_sends_an_invitation_and_a_reset_mail() {
    let server = SesServer::start();
    server.create_domain_identity("acme.test").await;
    let mailer = ses_mailer(&server, "no-reply@acme.test").await;

    let items = ses_check::send_tests(&mailer, "ops@example.com", "https://app.acme.test").await;

    assert_eq!(item(&items, TEST_INVITATION).status, Status::Pass, "{items:#?}");
    assert_eq!(item(&items, TEST_RESET).status, Status::Pass, "{items:#?}");
    let sent = server.sent_messages().await;
    let subjects: Vec<&str> = sent.iter().map(|m| m.subject.as_str()).collect();
    assert_eq!(subjects, ["You're invited to join Tenantry check-email on Tenantry", "Reset your Tenantry password"]);
    assert!(sent.iter().all(|m| m.destinations["ToAddresses"] == serde_json::json!(["ops@example.com"])));
    for (item, message) in items.iter().zip(&sent) {
        assert!(item.detail.contains(&message.id), "{item} reports moto's message id {}", message.id);
    }
}
