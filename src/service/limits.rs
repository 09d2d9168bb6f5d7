//! Per-account attempt limits (per-IP limits are an HTTP concern, applied by the server with
//! tower_governor). Keyed by the normalised e-mail, so both the API and the login page count.

use std::{num::NonZeroU32, sync::Arc};

use governor::{clock::Clock, DefaultKeyedRateLimiter, Quota};

use crate::{config::RateLimitConfig, ServiceError, ServiceResult};

pub struct Limits {
    per_account: Option<Arc<DefaultKeyedRateLimiter<String>>>,
}

impl Limits {
    pub fn new(config: &RateLimitConfig) -> Self {
        let per_account = (!config.disabled).then(|| {
            let burst = NonZeroU32::new(config.per_account_per_minute.max(1)).expect("max(1) is non-zero");
            Arc::new(governor::RateLimiter::keyed(Quota::per_minute(burst)))
        });
        Self { per_account }
    }

    /// Counts one attempt for `account`; 429 with the wait when over the limit.
    pub fn account_attempt(&self, account: &str) -> ServiceResult<()> {
        let Some(limiter) = &self.per_account else { return Ok(()) };
        limiter.check_key(&account.to_owned()).map_err(|not_until| {
            let wait = not_until.wait_time_from(governor::clock::DefaultClock::default().now());
            ServiceError::RateLimited { retry_after_secs: wait.as_secs().max(1) }
        })?;
        // Keep the map from growing without bound under a spray of addresses.
        if limiter.len() > 100_000 {
            limiter.retain_recent();
        }
        Ok(())
    }
}
