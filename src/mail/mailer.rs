//! The three ways a message leaves Tenantry, chosen by `EMAIL_PROVIDER`.

use std::fmt;

use aws_sdk_sesv2::{
    error::{DisplayErrorContext, ProvideErrorMetadata, SdkError},
    types::{Body, Content, Destination, EmailContent, Message as SesMessage},
};
use lettre::{
    message::{Mailbox, MultiPart},
    transport::smtp::authentication::Credentials,
    AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor,
};
use secrecy::ExposeSecret;

use crate::{
    config::{EmailConfig, EmailProvider, SesConfig, SmtpConfig, SmtpTls},
    store::{NewEmail, OpenedEmail},
};

/// One message to hand to a provider, borrowed from an outbox row or a freshly built template.
#[derive(Debug, Clone, Copy)]
pub struct Outgoing<'a> {
    pub to: &'a str,
    pub subject: &'a str,
    pub text_body: &'a str,
    pub html_body: &'a str,
    /// The link the message carries; only the log provider shows it.
    pub link: Option<&'a str>,
}

impl<'a> From<&'a OpenedEmail> for Outgoing<'a> {
    fn from(email: &'a OpenedEmail) -> Self {
        Self { to: &email.to, subject: &email.subject, text_body: &email.text_body, html_body: &email.html_body, link: email.link.as_deref() }
    }
}

impl<'a> From<&'a NewEmail> for Outgoing<'a> {
    fn from(email: &'a NewEmail) -> Self {
        Self { to: &email.to, subject: &email.subject, text_body: &email.text_body, html_body: &email.html_body, link: email.link.as_deref() }
    }
}

/// Why a message was not accepted. The text is stored in the outbox row (`last_error`), so it
/// never contains the message body or link.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("invalid address {address:?}: {reason}")]
    Address { address: String, reason: String },
    #[error("could not build the message: {0}")]
    Build(String),
    #[error("SMTP: {0}")]
    Smtp(String),
    #[error("SES: {0}")]
    Ses(String),
}

/// Sends messages through the configured provider. Cheap to share behind an `Arc`; the SMTP
/// transport keeps a connection pool and the SES client its HTTP connections.
pub enum Mailer {
    Log(LogMailer),
    Smtp(SmtpMailer),
    Ses(SesMailer),
}

impl fmt::Debug for Mailer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.provider_name())
    }
}

impl Mailer {
    /// Builds the mailer `EMAIL_PROVIDER` names. For SES, credentials come from the default
    /// AWS chain (environment, profile, web identity, container or instance role) and are
    /// resolved at the first send, not here.
    pub async fn from_config(config: &EmailConfig) -> Result<Self, MailError> {
        Ok(match &config.provider {
            EmailProvider::Log => Self::Log(LogMailer),
            EmailProvider::Smtp(smtp) => Self::Smtp(SmtpMailer::new(smtp, config)?),
            EmailProvider::Ses(ses) => Self::Ses(SesMailer::new(ses_client(ses, None).await, config)),
        })
    }

    pub fn provider_name(&self) -> &'static str {
        match self {
            Self::Log(_) => "log",
            Self::Smtp(_) => "smtp",
            Self::Ses(_) => "ses",
        }
    }

    /// Hands one message to the provider and returns the provider's id for it.
    pub async fn send(&self, email: Outgoing<'_>) -> Result<String, MailError> {
        match self {
            Self::Log(m) => Ok(m.send(email)),
            Self::Smtp(m) => m.send(email).await,
            Self::Ses(m) => m.send(email).await,
        }
    }
}

/// Development: prints one line per message, link included, and delivers nothing.
#[derive(Debug, Default)]
pub struct LogMailer;

impl LogMailer {
    fn send(&self, email: Outgoing<'_>) -> String {
        // The only log line allowed to carry a token: it goes to stdout, not through tracing.
        println!("{}", log_line(&email));
        uuid::Uuid::new_v4().to_string()
    }
}

/// `MAIL to=jane@x.com subject="…" link=http://…`
pub(crate) fn log_line(email: &Outgoing<'_>) -> String {
    let mut line = format!("MAIL to={} subject={:?}", email.to, email.subject);
    if let Some(link) = email.link {
        line.push_str(" link=");
        line.push_str(link);
    }
    line
}

pub struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    /// The right-hand side of generated Message-IDs.
    id_domain: String,
}

impl SmtpMailer {
    pub fn new(smtp: &SmtpConfig, email: &EmailConfig) -> Result<Self, MailError> {
        let builder = match smtp.tls {
            SmtpTls::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&smtp.host),
            SmtpTls::StartTls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&smtp.host).map_err(|e| MailError::Smtp(e.to_string()))?,
            SmtpTls::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(&smtp.host).map_err(|e| MailError::Smtp(e.to_string()))?,
        };
        let mut builder = builder.port(smtp.port).timeout(Some(smtp.timeout));
        if let Some(username) = &smtp.username {
            let password = smtp.password.as_ref().map(|p| p.expose_secret().to_owned()).unwrap_or_default();
            builder = builder.credentials(Credentials::new(username.clone(), password));
        }
        let (from, id_domain) = sender(email)?;
        Ok(Self { transport: builder.build(), from, id_domain })
    }

    async fn send(&self, email: Outgoing<'_>) -> Result<String, MailError> {
        let to: Mailbox = email.to.parse().map_err(|e: lettre::address::AddressError| MailError::Address { address: email.to.to_owned(), reason: e.to_string() })?;
        let message_id = format!("<{}@{}>", uuid::Uuid::new_v4().simple(), self.id_domain);
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(email.subject)
            .message_id(Some(message_id.clone()))
            .multipart(MultiPart::alternative_plain_html(email.text_body.to_owned(), email.html_body.to_owned()))
            .map_err(|e| MailError::Build(e.to_string()))?;
        self.transport.send(message).await.map_err(|e| MailError::Smtp(error_chain(&e)))?;
        Ok(message_id)
    }
}

pub struct SesMailer {
    client: aws_sdk_sesv2::Client,
    /// `Name <address>`, as SES's FromEmailAddress accepts it.
    from: String,
}

/// An SES v2 client for the configured region and endpoint. `credentials` replaces the default
/// chain (tests against a local SES-compatible server pass static ones).
pub async fn ses_client(config: &SesConfig, credentials: Option<aws_sdk_sesv2::config::Credentials>) -> aws_sdk_sesv2::Client {
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest()).region(aws_config::Region::new(config.region.clone()));
    if let Some(url) = &config.endpoint_url {
        loader = loader.endpoint_url(url);
    }
    if let Some(credentials) = credentials {
        loader = loader.credentials_provider(credentials);
    }
    aws_sdk_sesv2::Client::new(&loader.load().await)
}

impl SesMailer {
    pub fn new(client: aws_sdk_sesv2::Client, email: &EmailConfig) -> Self {
        let from = Mailbox::new(Some(email.from_name.clone()), email.from_address.parse().expect("EMAIL_FROM_ADDRESS was checked by config"));
        Self { client, from: from.to_string() }
    }

    pub fn client(&self) -> &aws_sdk_sesv2::Client {
        &self.client
    }

    async fn send(&self, email: Outgoing<'_>) -> Result<String, MailError> {
        let content = |data: &str| Content::builder().data(data).charset("UTF-8").build().map_err(|e| MailError::Build(e.to_string()));
        let message = SesMessage::builder()
            .subject(content(email.subject)?)
            .body(Body::builder().text(content(email.text_body)?).html(content(email.html_body)?).build())
            .build();
        let output = self
            .client
            .send_email()
            .from_email_address(&self.from)
            .destination(Destination::builder().to_addresses(email.to).build())
            .content(EmailContent::builder().simple(message).build())
            .send()
            .await
            .map_err(|e| MailError::Ses(describe_sdk_error(&e)))?;
        output.message_id().map(str::to_owned).ok_or_else(|| MailError::Ses("SendEmail returned no MessageId".into()))
    }
}

fn sender(email: &EmailConfig) -> Result<(Mailbox, String), MailError> {
    let address: lettre::Address = email
        .from_address
        .parse()
        .map_err(|e: lettre::address::AddressError| MailError::Address { address: email.from_address.clone(), reason: e.to_string() })?;
    let domain = address.domain().to_owned();
    Ok((Mailbox::new(Some(email.from_name.clone()), address), domain))
}

/// One line from an AWS SDK error: the service's code and message when it answered, else the
/// HTTP status, else the transport failure with its causes.
pub(crate) fn describe_sdk_error<E, R>(error: &SdkError<E, R>) -> String
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: fmt::Debug + HasStatus,
{
    match error {
        SdkError::ServiceError(service) => {
            let err = service.err();
            let status = service.raw().status_code();
            match (err.code(), err.message()) {
                (Some(code), Some(message)) => format!("{code}: {message} (HTTP {status})"),
                (Some(code), None) => format!("{code} (HTTP {status})"),
                // No error code: the answer was not an SES error (or could not be parsed).
                _ => format!("{} (HTTP {status})", DisplayErrorContext(err)),
            }
        }
        other => DisplayErrorContext(other).to_string(),
    }
}

/// The HTTP status of a raw SDK response (lets [`describe_sdk_error`] stay generic).
pub(crate) trait HasStatus {
    fn status_code(&self) -> u16;
}

impl HasStatus for aws_sdk_sesv2::config::http::HttpResponse {
    fn status_code(&self) -> u16 {
        self.status().as_u16()
    }
}

fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_log_line_carries_recipient_quoted_subject_and_link() {
        let email = Outgoing { to: "jane@x.com", subject: "Join \"Acme\"", text_body: "t", html_body: "h", link: Some("http://h/invite?token=abc") };
        assert_eq!(log_line(&email), r#"MAIL to=jane@x.com subject="Join \"Acme\"" link=http://h/invite?token=abc"#);
        assert_eq!(log_line(&Outgoing { link: None, ..email }), r#"MAIL to=jane@x.com subject="Join \"Acme\"""#);
    }
}
