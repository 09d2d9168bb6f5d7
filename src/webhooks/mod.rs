//! Webhook delivery: the events changes wrote (see `service::events`) go out to the endpoints
//! subscribed to them, signed as the Standard Webhooks specification says, in event order per
//! endpoint, at least once, retried with backoff for three days. Like the e-mail outbox it runs
//! inside every `serve` (or in `worker`), claims its work in the database, and needs nothing
//! else running beside the binary.

mod sender;
#[cfg(any(test, feature = "testing"))]
pub mod test_receiver;
pub mod worker;

pub use sender::{Sender, TIMEOUT};
pub use worker::{Pass, WebhookWorkerOptions};
