//! E-mail: message templates, and delivery of the outbox through one of three providers.
//! Service calls only enqueue (`store::Tx::enqueue_email`) inside their transaction; delivery
//! happens here, later, with retries.

pub mod templates;
