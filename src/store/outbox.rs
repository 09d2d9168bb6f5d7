//! The e-mail outbox: messages are written in the transaction of the change that caused them
//! and delivered later by the worker (`crate::mail`). A message is never dropped before it is
//! sent; sent ones are deleted after the retention period.
//!
//! A message's link carries a live token until it is sent, so it is never stored in clear:
//! the bodies keep a placeholder where the link goes, and the link itself is sealed with a key
//! derived from `SECRET_KEY` ([`SealedEmail`]); the worker opens it at send time, and the
//! sealed link is erased once the message is sent.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{on, Backend, Reader, Tx};
use crate::{auth::Sealer, domain::TenantId};

/// Where the link goes in a stored body.
const LINK_PLACEHOLDER: &str = "{{tenantry:link}}";

/// A message to enqueue.
#[derive(Debug, Clone)]
pub struct NewEmail {
    pub tenant_id: Option<TenantId>,
    /// What it is for: `invitation`, `password_reset`, `test` …
    pub kind: &'static str,
    pub to: String,
    pub subject: String,
    pub text_body: String,
    pub html_body: String,
    /// The link the message carries, if any.
    pub link: Option<String>,
}

/// A message ready to be stored: its link sealed, its bodies holding a placeholder instead.
/// The only thing [`Tx::enqueue_email`] accepts, so no path can store a live link.
#[derive(Debug, Clone)]
pub struct SealedEmail(NewEmail);

impl SealedEmail {
    pub fn seal(mut email: NewEmail, sealer: &Sealer) -> Self {
        if let Some(link) = email.link.take() {
            let escaped = crate::mail::templates::escape(&link);
            for body in [&mut email.text_body, &mut email.html_body] {
                *body = body.replace(&link, LINK_PLACEHOLDER).replace(&escaped, LINK_PLACEHOLDER);
            }
            email.link = Some(sealer.seal(&link));
        }
        Self(email)
    }
}

/// A stored message opened for sending: the link back in place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenedEmail {
    pub to: String,
    pub subject: String,
    pub text_body: String,
    pub html_body: String,
    pub link: Option<String>,
}

impl OutboxEmail {
    /// Puts the link back into the bodies. A link that does not open (another `SECRET_KEY`)
    /// is an error: the message must not go out with a placeholder.
    pub fn open(&self, sealer: &Sealer) -> Result<OpenedEmail, String> {
        let link = match self.link.as_deref() {
            None => None,
            Some(sealed) if Sealer::is_sealed(sealed) => {
                Some(sealer.open(sealed).ok_or("the message's link was sealed with another SECRET_KEY and cannot be opened")?)
            }
            // Written before links were sealed.
            Some(plain) => Some(plain.to_owned()),
        };
        let (mut text_body, mut html_body) = (self.text_body.clone(), self.html_body.clone());
        if let Some(link) = &link {
            text_body = text_body.replace(LINK_PLACEHOLDER, link);
            html_body = html_body.replace(LINK_PLACEHOLDER, &crate::mail::templates::escape(link));
        } else if text_body.contains(LINK_PLACEHOLDER) || html_body.contains(LINK_PLACEHOLDER) {
            return Err("the message's link was already erased".into());
        }
        Ok(OpenedEmail { to: self.to_address.clone(), subject: self.subject.clone(), text_body, html_body, link })
    }
}

/// A stored message as the worker sees it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OutboxEmail {
    pub id: Uuid,
    pub tenant_id: Option<TenantId>,
    pub kind: String,
    pub to_address: String,
    pub subject: String,
    pub text_body: String,
    pub html_body: String,
    pub link: Option<String>,
    pub status: String,
    pub attempts: i32,
    pub last_error: Option<String>,
    pub provider_message_id: Option<String>,
    pub next_attempt_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
}

const COLUMNS: &str = "id, tenant_id, kind, to_address, subject, text_body, html_body, link, status, attempts, \
                       last_error, provider_message_id, next_attempt_at, created_at, sent_at";

impl Reader {

    /// Outbox depth for the metrics: messages waiting to be sent, and when the oldest was queued.
    #[tracing::instrument(skip_all)]
    pub async fn email_backlog(&mut self) -> Result<(i64, Option<DateTime<Utc>>), sqlx::Error> {
        on!(self, c => sqlx::query_as("SELECT COUNT(*), MIN(created_at) FROM email_outbox WHERE status = 'pending'").fetch_one(c).await)
    }

    /// Every message, oldest first (tests and the admin CLI).
    #[tracing::instrument(skip_all)]
    pub async fn outbox(&mut self) -> Result<Vec<OutboxEmail>, sqlx::Error> {
        let sql = format!("SELECT {COLUMNS} FROM email_outbox ORDER BY created_at, id");
        on!(self, c => sqlx::query_as(&sql).fetch_all(c).await)
    }
}

impl Tx {
    #[tracing::instrument(skip_all, fields(kind = email.0.kind))]
    pub async fn enqueue_email(&mut self, email: &SealedEmail, now: DateTime<Utc>) -> Result<Uuid, sqlx::Error> {
        let SealedEmail(email) = email;
        let id = Uuid::new_v4();
        on!(self, c => sqlx::query(
            "INSERT INTO email_outbox (id, tenant_id, kind, to_address, subject, text_body, html_body, link, next_attempt_at, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)")
            .bind(id).bind(email.tenant_id).bind(email.kind).bind(&email.to).bind(&email.subject)
            .bind(&email.text_body).bind(&email.html_body).bind(email.link.as_deref()).bind(now)
            .execute(c).await.map(|r| r.rows_affected()))?;
        Ok(id)
    }

    /// Claims up to `limit` messages that are due and not claimed by another worker, until
    /// `lease_until` (a worker that dies lets its claim lapse). PostgreSQL skips rows other
    /// workers have locked; SQLite has a single writer anyway.
    #[tracing::instrument(skip_all)]
    pub async fn claim_due_emails(&mut self, now: DateTime<Utc>, lease_until: DateTime<Utc>, limit: i64) -> Result<Vec<OutboxEmail>, sqlx::Error> {
        let due = "status = 'pending' AND next_attempt_at <= $1 AND (locked_until IS NULL OR locked_until < $1)";
        match self.backend() {
            Backend::Postgres => {
                let sql = format!(
                    "UPDATE email_outbox SET locked_until = $2 WHERE id IN \
                     (SELECT id FROM email_outbox WHERE {due} ORDER BY next_attempt_at LIMIT $3 FOR UPDATE SKIP LOCKED) \
                     RETURNING {COLUMNS}"
                );
                on!(self, c => sqlx::query_as(&sql).bind(now).bind(lease_until).bind(limit).fetch_all(c).await)
            }
            Backend::Sqlite => {
                let sql = format!(
                    "UPDATE email_outbox SET locked_until = $2 WHERE id IN \
                     (SELECT id FROM email_outbox WHERE {due} ORDER BY next_attempt_at LIMIT $3) RETURNING {COLUMNS}"
                );
                on!(self, c => sqlx::query_as(&sql).bind(now).bind(lease_until).bind(limit).fetch_all(c).await)
            }
        }
    }

    #[tracing::instrument(skip_all)]
    pub async fn mark_email_sent(&mut self, id: Uuid, provider_message_id: &str, now: DateTime<Utc>) -> Result<(), sqlx::Error> {
        on!(self, c => sqlx::query(
            "UPDATE email_outbox SET status = 'sent', attempts = attempts + 1, provider_message_id = $2, sent_at = $3, \
             locked_until = NULL, last_error = NULL, link = NULL WHERE id = $1")
            .bind(id).bind(provider_message_id).bind(now).execute(c).await.map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// Records a failed attempt; the message stays pending and is tried again at `retry_at`.
    #[tracing::instrument(skip_all)]
    pub async fn mark_email_failed(&mut self, id: Uuid, error: &str, retry_at: DateTime<Utc>) -> Result<(), sqlx::Error> {
        on!(self, c => sqlx::query(
            "UPDATE email_outbox SET attempts = attempts + 1, last_error = $2, next_attempt_at = $3, locked_until = NULL WHERE id = $1")
            .bind(id).bind(error).bind(retry_at).execute(c).await.map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// Deletes messages sent before `before`; how many.
    #[tracing::instrument(skip_all)]
    pub async fn purge_sent_emails(&mut self, before: DateTime<Utc>) -> Result<u64, sqlx::Error> {
        on!(self, c => sqlx::query("DELETE FROM email_outbox WHERE status = 'sent' AND sent_at < $1")
            .bind(before).execute(c).await.map(|r| r.rows_affected()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sealer() -> Sealer {
        Sealer::derive(b"test secret for the outbox tests", "email-outbox-links")
    }

    fn stored(email: &SealedEmail) -> OutboxEmail {
        let email = &email.0;
        OutboxEmail {
            id: Uuid::new_v4(),
            tenant_id: None,
            kind: email.kind.to_owned(),
            to_address: email.to.clone(),
            subject: email.subject.clone(),
            text_body: email.text_body.clone(),
            html_body: email.html_body.clone(),
            link: email.link.clone(),
            status: "pending".into(),
            attempts: 0,
            last_error: None,
            provider_message_id: None,
            next_attempt_at: Utc::now(),
            created_at: Utc::now(),
            sent_at: None,
        }
    }

    fn email(link: Option<&str>, text: &str, html: &str) -> NewEmail {
        NewEmail {
            tenant_id: None,
            kind: "test",
            to: "a@x.test".into(),
            subject: "s".into(),
            text_body: text.into(),
            html_body: html.into(),
            link: link.map(str::to_owned),
        }
    }

    #[test]
    fn a_link_is_sealed_in_both_bodies_even_where_html_escaped_it() {
        let link = "https://h/invite?a=1&token=SECRET";
        let sealed = SealedEmail::seal(email(Some(link), &format!("go: {link}"), "<a href=\"https://h/invite?a=1&amp;token=SECRET\">x</a>"), &sealer());
        let row = stored(&sealed);
        for at_rest in [&row.text_body, &row.html_body, row.link.as_ref().unwrap()] {
            assert!(!at_rest.contains("SECRET"), "{at_rest}");
        }
        let opened = row.open(&sealer()).unwrap();
        assert_eq!(opened.text_body, format!("go: {link}"));
        assert_eq!(opened.html_body, "<a href=\"https://h/invite?a=1&amp;token=SECRET\">x</a>");
        assert_eq!(opened.link.as_deref(), Some(link));
    }

    #[test]
    fn rows_from_before_sealing_and_rows_without_a_link_open_as_they_are() {
        let mut legacy = stored(&SealedEmail::seal(email(None, "go: http://h/x", "x"), &sealer()));
        legacy.link = Some("http://h/x".into());
        assert_eq!(legacy.open(&sealer()).unwrap().link.as_deref(), Some("http://h/x"));
        let plain = stored(&SealedEmail::seal(email(None, "hello", "<p>hello</p>"), &sealer()));
        let opened = plain.open(&sealer()).unwrap();
        assert_eq!((opened.link, opened.text_body.as_str()), (None, "hello"));
    }

    #[test]
    fn a_message_whose_link_cannot_be_put_back_is_not_sent_with_a_placeholder() {
        let sealed = SealedEmail::seal(email(Some("http://h/t?token=T"), "go: http://h/t?token=T", "x"), &sealer());
        let other_key = Sealer::derive(b"another secret for the outbox test", "email-outbox-links");
        assert!(stored(&sealed).open(&other_key).is_err(), "another SECRET_KEY");
        let mut erased = stored(&sealed);
        erased.link = None;
        assert!(erased.open(&sealer()).is_err(), "text body still holds the placeholder");
        let mut erased_html = stored(&SealedEmail::seal(email(Some("http://h/t?token=T"), "no link here", "go: http://h/t?token=T"), &sealer()));
        erased_html.link = None;
        assert!(erased_html.open(&sealer()).is_err(), "html body still holds the placeholder");
    }
}
