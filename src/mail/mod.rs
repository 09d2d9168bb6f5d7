//! E-mail: message templates, and delivery of the outbox through one of three providers.
//! Service calls only enqueue (`store::Tx::enqueue_email`) inside their transaction; delivery
//! happens here, later, with retries.

mod mailer;
pub mod ses_check;
pub mod templates;
#[cfg(any(test, feature = "testing"))]
pub mod test_servers;
pub mod worker;

#[cfg(test)]
mod tests;

pub use mailer::{ses_client, LogMailer, MailError, Mailer, Outgoing, SesMailer, SmtpMailer};
pub use worker::{deliver_due, deliver_due_at, Pass, WorkerOptions};
