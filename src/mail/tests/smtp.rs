use super::{servers::{free_port, SmtpServer}, smtp_config};
use crate::mail::{
    templates::{self, Invitation},
    MailError, Mailer, Outgoing,
};

fn invitation(to: &str) -> crate::store::NewEmail {
    templates::invitation(&Invitation {
        to,
        tenant_name: "Acme & Co",
        inviter: Some("Ada"),
        role: Some("ANALYST"),
        link: "http://127.0.0.1:3000/invite?token=tok_abc123",
        expires_in_days: 7,
        brand: None,
    })
}

#[tokio::test]
async fn smtp_mailer_delivers_a_text_and_html_message_to_a_real_smtp_server() {
    let server = SmtpServer::start();
    let mailer = Mailer::from_config(&smtp_config(server.port)).await.unwrap();
    let email = invitation("jane@example.com");

    let message_id = mailer.send(Outgoing::from(&email)).await.expect("the SMTP server accepts the message");

    let received = server.received();
    assert_eq!(received.len(), 1, "{received:?}");
    let mail = &received[0];
    assert_eq!(mail.to, "jane@example.com");
    assert_eq!(mail.from, "\"Tenantry Test\" <no-reply@tenantry.test>");
    assert_eq!(mail.subject, email.subject);
    assert_eq!(mail.message_id, message_id, "the provider id is the Message-ID the server received");
    assert!(message_id.ends_with("@tenantry.test>"), "{message_id}");
    assert_eq!(mail.content_type, "multipart/alternative");
    assert_eq!(mail.text.as_deref(), Some(email.text_body.as_str()));
    assert_eq!(mail.html.as_deref(), Some(email.html_body.as_str()));
    assert!(mail.text.as_deref().unwrap().contains("http://127.0.0.1:3000/invite?token=tok_abc123"));
}

#[tokio::test]
async fn smtp_mailer_reports_an_error_when_no_server_listens() {
    let mailer = Mailer::from_config(&smtp_config(free_port())).await.unwrap();
    let email = invitation("jane@example.com");

    let error = mailer.send(Outgoing::from(&email)).await.expect_err("nothing listens on that port");

    assert!(matches!(error, MailError::Smtp(_)), "{error:?}");
    assert!(!error.to_string().contains("tok_abc123"), "errors are stored and logged: they must not carry the link");
}
