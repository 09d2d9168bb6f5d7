//! How long a failed delivery waits before its next attempt, for e-mail and webhooks alike.

use std::time::Duration;

/// Backoff after the `attempts`-th failure (1 for the first): 5 s, 10 s, 20 s … capped at an
/// hour, before jitter.
pub fn retry_delay(attempts: i32) -> Duration {
    const BASE: u64 = 5;
    const CAP: u64 = 3600;
    let exponent = attempts.saturating_sub(1).clamp(0, 20) as u32;
    Duration::from_secs(BASE.saturating_mul(1 << exponent).min(CAP))
}

/// [`retry_delay`] spread by ±20 % so that deliveries failing together do not retry together.
pub fn jittered(delay: Duration) -> Duration {
    delay.mul_f64(rand::random_range(0.8..1.2))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_attempts_back_off_exponentially_up_to_an_hour() {
        assert_eq!(retry_delay(1), Duration::from_secs(5));
        assert_eq!(retry_delay(2), Duration::from_secs(10));
        assert_eq!(retry_delay(3), Duration::from_secs(20));
        assert_eq!(retry_delay(10), Duration::from_secs(2560));
        assert_eq!(retry_delay(11), Duration::from_secs(3600));
        assert_eq!(retry_delay(1000), Duration::from_secs(3600));
        for _ in 0..100 {
            let d = jittered(retry_delay(3));
            assert!(d >= Duration::from_secs(16) && d <= Duration::from_secs(24), "{d:?}");
        }
    }
}
