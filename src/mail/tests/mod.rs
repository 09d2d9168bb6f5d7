//! Delivery tests against real servers (see `servers`): the SMTP and SES mailers, the SES
//! checklist, and the outbox worker on whichever backend `TENANTRY_TEST_DB` names.

mod outbox;
mod ses;
mod smtp;

use std::time::Duration;

use super::test_servers as servers;

use crate::config::{EmailConfig, EmailProvider, SesConfig, SmtpConfig, SmtpTls};

fn email_config(provider: EmailProvider, from_address: &str) -> EmailConfig {
    EmailConfig { provider, from_address: from_address.into(), from_name: "Tenantry Test".into(), expected_from_domain: None }
}

fn smtp_config(port: u16) -> EmailConfig {
    email_config(
        EmailProvider::Smtp(SmtpConfig { host: "127.0.0.1".into(), port, tls: SmtpTls::None, username: None, password: None, timeout: Duration::from_secs(5) }),
        "no-reply@tenantry.test",
    )
}

fn ses_config(ses: SesConfig, from_address: &str) -> EmailConfig {
    email_config(EmailProvider::Ses(ses), from_address)
}
