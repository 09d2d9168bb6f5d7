//! `check-email`: the SES production-readiness checklist, read through the SES v2 API. Every
//! item ends PASS, FAIL or UNKNOWN (the API could not tell: an operation the endpoint does not
//! implement, missing permissions, no network) with the reason; nothing here panics.

use std::fmt;

use aws_sdk_sesv2::{
    operation::get_email_identity::{GetEmailIdentityError, GetEmailIdentityOutput},
    types::{DkimStatus, IdentityType, VerificationStatus},
};

use super::{
    mailer::describe_sdk_error,
    templates::{self, Invitation},
    Mailer, Outgoing,
};
use crate::config::EmailConfig;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Pass,
    Fail,
    Unknown,
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Pass => "PASS",
            Self::Fail => "FAIL",
            Self::Unknown => "UNKNOWN",
        })
    }
}

/// One line of the report.
#[derive(Debug, Clone)]
pub struct Item {
    pub name: &'static str,
    pub status: Status,
    pub detail: String,
}

impl Item {
    fn new(name: &'static str, status: Status, detail: impl Into<String>) -> Self {
        Self { name, status, detail: detail.into() }
    }
}

impl fmt::Display for Item {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:<7} {:<20} {}", self.status.to_string(), self.name, self.detail)
    }
}

pub const DOMAIN_IDENTITY: &str = "domain identity";
pub const DKIM: &str = "DKIM";
pub const PRODUCTION_ACCESS: &str = "production access";
pub const FROM_ADDRESS: &str = "from address";
pub const TEST_INVITATION: &str = "test invitation";
pub const TEST_RESET: &str = "test password reset";

/// The domain SES must have verified: `SES_EXPECTED_FROM_DOMAIN`, else the from address's.
pub fn sending_domain(email: &EmailConfig) -> String {
    email.expected_from_domain.clone().unwrap_or_else(|| from_domain(&email.from_address))
}

fn from_domain(address: &str) -> String {
    address.rsplit_once('@').map(|(_, d)| d.to_ascii_lowercase()).unwrap_or_default()
}

/// Walks the checklist: the domain identity exists and is verified, DKIM signing is enabled
/// and verified, the account has production access (is out of the sandbox), and the from
/// address belongs to the expected domain.
pub async fn check(client: &aws_sdk_sesv2::Client, email: &EmailConfig) -> Vec<Item> {
    let domain = sending_domain(email);
    let mut items = Vec::new();

    match client.get_email_identity().email_identity(&domain).send().await {
        Ok(identity) => {
            items.push(identity_item(&domain, &identity));
            items.push(dkim_item(&domain, &identity));
        }
        Err(error) => {
            let reason = describe_sdk_error(&error);
            if matches!(error.as_service_error(), Some(GetEmailIdentityError::NotFoundException(_))) {
                items.push(Item::new(
                    DOMAIN_IDENTITY,
                    Status::Fail,
                    format!("SES has no identity for {domain}: create a domain identity for it and publish its DNS records ({reason})"),
                ));
                items.push(Item::new(DKIM, Status::Fail, format!("no domain identity for {domain}, so no DKIM either")));
            } else {
                items.push(Item::new(DOMAIN_IDENTITY, Status::Unknown, format!("GetEmailIdentity({domain}) failed: {reason}")));
                items.push(Item::new(DKIM, Status::Unknown, format!("the identity of {domain} could not be read: {reason}")));
            }
        }
    }

    items.push(match client.get_account().send().await {
        Ok(account) if account.production_access_enabled() => Item::new(
            PRODUCTION_ACCESS,
            if account.sending_enabled() { Status::Pass } else { Status::Fail },
            if account.sending_enabled() {
                "the account has production access (out of the sandbox) and sending is enabled".to_owned()
            } else {
                "the account has production access but sending is disabled for it".to_owned()
            },
        ),
        Ok(_) => Item::new(
            PRODUCTION_ACCESS,
            Status::Fail,
            "the account is in the SES sandbox: it may only send to verified addresses; request production access",
        ),
        Err(error) => {
            let status = error.raw_response().map(|r| r.status().as_u16());
            let no_code = error.as_service_error().is_none_or(|e| aws_sdk_sesv2::error::ProvideErrorMetadata::code(e).is_none());
            let reason = match status {
                Some(404 | 501) if no_code => {
                    format!("this SES endpoint does not implement GetAccount (HTTP {}), so the sandbox status cannot be read", status.unwrap_or_default())
                }
                _ => format!("GetAccount failed: {}", describe_sdk_error(&error)),
            };
            Item::new(PRODUCTION_ACCESS, Status::Unknown, reason)
        }
    });

    items.push(from_address_item(email));
    items
}

fn identity_item(domain: &str, identity: &GetEmailIdentityOutput) -> Item {
    if identity.identity_type() != Some(&IdentityType::Domain) {
        return Item::new(DOMAIN_IDENTITY, Status::Fail, format!("the identity {domain} is not a domain identity ({:?})", identity.identity_type()));
    }
    let status = identity.verification_status();
    let verified = identity.verified_for_sending_status() || status == Some(&VerificationStatus::Success);
    let status_text = status.map(|s| s.as_str().to_owned()).unwrap_or_else(|| "not reported".into());
    if verified {
        Item::new(DOMAIN_IDENTITY, Status::Pass, format!("{domain} exists and is verified (VerificationStatus {status_text})"))
    } else {
        Item::new(
            DOMAIN_IDENTITY,
            Status::Fail,
            format!("{domain} exists but is not verified (VerificationStatus {status_text}): publish its DNS records and wait for SES"),
        )
    }
}

fn dkim_item(domain: &str, identity: &GetEmailIdentityOutput) -> Item {
    let Some(dkim) = identity.dkim_attributes() else {
        return Item::new(DKIM, Status::Fail, format!("SES reports no DKIM attributes for {domain}"));
    };
    let status = dkim.status().map(|s| s.as_str().to_owned()).unwrap_or_else(|| "not reported".into());
    match (dkim.signing_enabled(), dkim.status() == Some(&DkimStatus::Success)) {
        (true, true) => Item::new(DKIM, Status::Pass, format!("signing enabled and verified for {domain} (status {status})")),
        (false, _) => Item::new(DKIM, Status::Fail, format!("DKIM signing is not enabled for {domain} (status {status})")),
        (true, false) => Item::new(DKIM, Status::Fail, format!("DKIM signing is enabled for {domain} but not verified (status {status}): publish the DKIM CNAME records")),
    }
}

fn from_address_item(email: &EmailConfig) -> Item {
    let domain = from_domain(&email.from_address);
    match &email.expected_from_domain {
        Some(expected) if domain == *expected || domain.ends_with(&format!(".{expected}")) => {
            Item::new(FROM_ADDRESS, Status::Pass, format!("EMAIL_FROM_ADDRESS {} is in SES_EXPECTED_FROM_DOMAIN {expected}", email.from_address))
        }
        Some(expected) => Item::new(FROM_ADDRESS, Status::Fail, format!("EMAIL_FROM_ADDRESS {} is not in SES_EXPECTED_FROM_DOMAIN {expected}", email.from_address)),
        None => Item::new(
            FROM_ADDRESS,
            Status::Pass,
            format!("EMAIL_FROM_ADDRESS {} is in {domain} (SES_EXPECTED_FROM_DOMAIN is not set; set it to make start-up refuse other domains)", email.from_address),
        ),
    }
}

/// `--send-test ADDRESS`: a test invitation and a test password reset mail, straight through
/// the mailer (not the outbox), each reported with the provider's message id or the error.
pub async fn send_tests(mailer: &Mailer, to: &str, base_url: &str) -> Vec<Item> {
    let invitation = templates::invitation(&Invitation {
        to,
        tenant_name: "Tenantry check-email",
        inviter: Some("tenantry check-email"),
        role: Some("VIEWER"),
        link: &format!("{base_url}/invite?token=check-email-test-not-a-real-token"),
        expires_in_days: 7,
        brand: None,
    });
    let reset = templates::password_reset(to, &format!("{base_url}/reset-password?token=check-email-test-not-a-real-token"), 60, None);
    let mut items = Vec::new();
    for (name, email) in [(TEST_INVITATION, invitation), (TEST_RESET, reset)] {
        items.push(match mailer.send(Outgoing::from(&email)).await {
            Ok(id) => Item::new(name, Status::Pass, format!("sent to {to} through {} (message id {id})", mailer.provider_name())),
            Err(error) => Item::new(name, Status::Fail, format!("not sent to {to}: {error}")),
        });
    }
    items
}

#[cfg(test)]
mod tests {
    use aws_sdk_sesv2::types::DkimAttributes;

    use super::*;

    fn identity(signing: bool, status: DkimStatus) -> GetEmailIdentityOutput {
        GetEmailIdentityOutput::builder()
            .identity_type(IdentityType::Domain)
            .verified_for_sending_status(true)
            .dkim_attributes(DkimAttributes::builder().signing_enabled(signing).status(status).build())
            .build()
    }

    #[test]
    fn dkim_passes_only_when_signing_is_enabled_and_verified() {
        assert_eq!(dkim_item("a.test", &identity(true, DkimStatus::Success)).status, Status::Pass);
        assert_eq!(dkim_item("a.test", &identity(true, DkimStatus::Pending)).status, Status::Fail);
        assert_eq!(dkim_item("a.test", &identity(false, DkimStatus::Success)).status, Status::Fail);
        assert_eq!(dkim_item("a.test", &GetEmailIdentityOutput::builder().build()).status, Status::Fail);
    }

    #[test]
    fn a_pending_domain_identity_fails() {
        let pending = GetEmailIdentityOutput::builder().identity_type(IdentityType::Domain).verification_status(VerificationStatus::Pending).build();
        assert_eq!(identity_item("a.test", &pending).status, Status::Fail);
        assert_eq!(identity_item("a.test", &identity(true, DkimStatus::Success)).status, Status::Pass);
    }

    #[test]
    fn report_lines_start_with_the_status() {
        let line = Item::new(DKIM, Status::Unknown, "why").to_string();
        assert!(line.starts_with("UNKNOWN") && line.ends_with("why"), "{line}");
    }
}
