//! What `GET /metrics` asks of the service: whether a scraper may read, and the outbox depth.

use chrono::{DateTime, Utc};
use secrecy::ExposeSecret;
use sha2::{Digest, Sha256};

use super::{now, Services};
use crate::{ServiceError, ServiceResult};

impl Services {
    /// Whether a scrape with this `Authorization` header may read the metrics: any when no
    /// `METRICS_TOKEN` is set, else only `Bearer <token>`.
    pub fn check_metrics_access(&self, authorization: Option<&str>) -> ServiceResult<()> {
        let Some(token) = &self.config().metrics_token else { return Ok(()) };
        let given = authorization.and_then(|v| v.strip_prefix("Bearer ")).unwrap_or("");
        // Compared as digests: equal lengths, and nothing learnt from how long it took.
        if Sha256::digest(given.as_bytes()) == Sha256::digest(token.expose_secret().as_bytes()) {
            Ok(())
        } else {
            Err(ServiceError::unauthenticated("A valid METRICS_TOKEN bearer token is required."))
        }
    }

    /// What waits in the outboxes: `(kind, pending, age of the oldest in seconds)` for e-mail
    /// and webhook deliveries.
    pub async fn outbox_backlog(&self) -> ServiceResult<Vec<(&'static str, i64, f64)>> {
        let mut tx = self.db().read().await?;
        let at = now();
        let age = |oldest: Option<DateTime<Utc>>| oldest.map_or(0.0, |t| (at - t).num_milliseconds().max(0) as f64 / 1000.0);
        let (emails, oldest_email) = tx.email_backlog().await?;
        let (webhooks, oldest_webhook) = tx.webhook_backlog().await?;
        Ok(vec![("email", emails, age(oldest_email)), ("webhook", webhooks, age(oldest_webhook))])
    }
}

#[cfg(test)]
mod tests {
    use crate::testing;

    #[tokio::test]
    async fn a_metrics_token_is_needed_only_when_one_is_set() {
        let open = testing::services().await;
        assert!(open.check_metrics_access(None).is_ok());
        let closed = testing::services_with(&[("METRICS_TOKEN", "s3cret-token")]).await;
        assert!(closed.check_metrics_access(Some("Bearer s3cret-token")).is_ok());
        for wrong in [None, Some("Bearer s3cret-toke"), Some("s3cret-token"), Some("Bearer "), Some("Basic s3cret-token")] {
            assert!(closed.check_metrics_access(wrong).is_err(), "{wrong:?}");
        }
        let backlog = open.outbox_backlog().await.unwrap();
        assert_eq!(backlog, [("email", 0, 0.0), ("webhook", 0, 0.0)]);
    }
}
