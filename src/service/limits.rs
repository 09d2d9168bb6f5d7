//! Attempt limits. They live in the service layer so that every adapter — JSON API, page
//! forms, CLI — counts against the same buckets: a rule enforced only on the API routes is a
//! rule the page forms bypass.
//!
//! - **Per client address**: every credential call (sign-in, sign-up, accept-invitation,
//!   reset request and confirmation) counts against the caller's IP.
//! - **Per account**: every password check of an account, whichever path makes it (sign-in,
//!   accepting an invitation as an existing account, later password change and 2FA), counts
//!   against the pair (account, client address) and is refused past its limit. A second,
//!   higher ceiling counts the account across all addresses; past it checks are *slowed*, not
//!   refused, so a stranger spraying guesses cannot lock the real owner out (they sign in from
//!   their own address, a second later).
//! - **Mail**: invitations (and resends) per tenant and per recipient, reset mails per
//!   recipient and per client address, all per hour, so the service cannot be used to bomb
//!   an inbox.
//!
//! These are in-process (governor's GCRA): one process owns a SQLite file. Replicas on one
//! PostgreSQL each keep their own buckets (see the README's scale-out section).

use std::{
    hash::Hash,
    net::IpAddr,
    num::NonZeroU32,
    time::Duration,
};

use governor::{clock::Clock, DefaultKeyedRateLimiter, Quota};

use crate::{config::RateLimitConfig, domain::TenantId, ServiceError, ServiceResult};

/// How long a password check waits once its account is past the all-addresses ceiling.
pub const SLOW_DOWN: Duration = Duration::from_secs(1);

pub struct Limits {
    /// `None` when `RATE_LIMIT_DISABLED=1`.
    buckets: Option<Buckets>,
}

struct Buckets {
    per_ip: Bucket<IpAddr>,
    per_account_ip: Bucket<(String, Option<IpAddr>)>,
    per_account: Bucket<String>,
    invitations_per_tenant: Bucket<TenantId>,
    invitations_per_recipient: Bucket<String>,
    reset_mails_per_recipient: Bucket<String>,
    reset_mails_per_ip: Bucket<IpAddr>,
}

/// A keyed limiter that answers with the wait in whole seconds (at least 1).
struct Bucket<K: Hash + Eq + Clone>(DefaultKeyedRateLimiter<K>);

impl<K: Hash + Eq + Clone> Bucket<K> {
    fn per_minute(n: u32) -> Self {
        Self(governor::RateLimiter::keyed(Quota::per_minute(non_zero(n))))
    }

    fn per_hour(n: u32) -> Self {
        Self(governor::RateLimiter::keyed(Quota::per_hour(non_zero(n))))
    }

    /// Counts one event for `key`; `Err(seconds to wait)` when over the limit.
    fn check(&self, key: &K) -> Result<(), u64> {
        let result = self.0.check_key(key).map_err(|not_until| {
            not_until.wait_time_from(governor::clock::DefaultClock::default().now()).as_secs().max(1)
        });
        // Keep the map from growing without bound under a spray of keys.
        if self.0.len() > 100_000 {
            self.0.retain_recent();
        }
        result
    }
}

fn non_zero(n: u32) -> NonZeroU32 {
    NonZeroU32::new(n.max(1)).expect("max(1) is non-zero")
}

fn throttled(retry_after_secs: u64) -> ServiceError {
    metrics::counter!("tenantry_rate_limit_refusals_total").increment(1);
    ServiceError::RateLimited { retry_after_secs }
}

impl Limits {
    pub fn new(config: &RateLimitConfig) -> Self {
        let buckets = (!config.disabled).then(|| Buckets {
            per_ip: Bucket::per_minute(config.per_ip_per_minute),
            per_account_ip: Bucket::per_minute(config.per_account_per_minute),
            per_account: Bucket::per_minute(config.account_ceiling_per_minute),
            invitations_per_tenant: Bucket::per_hour(config.invitations_per_tenant_per_hour),
            invitations_per_recipient: Bucket::per_hour(config.invitations_per_recipient_per_hour),
            reset_mails_per_recipient: Bucket::per_hour(config.reset_mails_per_recipient_per_hour),
            reset_mails_per_ip: Bucket::per_hour(config.reset_mails_per_ip_per_hour),
        });
        Self { buckets }
    }

    /// One credential request from `ip` (sign-in, sign-up, accept-invitation, reset request or
    /// confirmation). Calls without a known address (the CLI) are not counted.
    pub fn client_attempt(&self, ip: Option<IpAddr>) -> ServiceResult<()> {
        let (Some(buckets), Some(ip)) = (&self.buckets, ip) else { return Ok(()) };
        buckets.per_ip.check(&ip).map_err(throttled)
    }

    /// One password check of `account` (its normalised e-mail) from `ip`: refused past the
    /// per-(account, address) limit; past the account's all-addresses ceiling it is allowed
    /// but the caller must wait [`SLOW_DOWN`] first (the returned delay).
    pub fn password_check(&self, account: &str, ip: Option<IpAddr>) -> ServiceResult<Option<Duration>> {
        let Some(buckets) = &self.buckets else { return Ok(None) };
        buckets.per_account_ip.check(&(account.to_owned(), ip)).map_err(throttled)?;
        Ok(buckets.per_account.check(&account.to_owned()).err().map(|_| SLOW_DOWN))
    }

    /// One invitation mail (new or resent) from `tenant` to `recipient`.
    pub fn invitation_mail(&self, tenant: TenantId, recipient: &str) -> ServiceResult<()> {
        let Some(buckets) = &self.buckets else { return Ok(()) };
        buckets.invitations_per_recipient.check(&recipient.to_owned()).map_err(throttled)?;
        buckets.invitations_per_tenant.check(&tenant).map_err(throttled)
    }

    /// One invitation mail to `recipient`, counted against the recipient only (bulk imports).
    pub fn invitation_mail_to(&self, recipient: &str) -> ServiceResult<()> {
        let Some(buckets) = &self.buckets else { return Ok(()) };
        buckets.invitations_per_recipient.check(&recipient.to_owned()).map_err(throttled)
    }

    /// One reset mail asked for `recipient` from `ip`. Counted whether or not an account
    /// exists, so the answer says nothing about that.
    pub fn reset_mail(&self, recipient: &str, ip: Option<IpAddr>) -> ServiceResult<()> {
        let Some(buckets) = &self.buckets else { return Ok(()) };
        if let Some(ip) = ip {
            buckets.reset_mails_per_ip.check(&ip).map_err(throttled)?;
        }
        buckets.reset_mails_per_recipient.check(&recipient.to_owned()).map_err(throttled)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> RateLimitConfig {
        RateLimitConfig {
            disabled: false,
            per_ip_per_minute: 3,
            per_account_per_minute: 2,
            account_ceiling_per_minute: 4,
            invitations_per_tenant_per_hour: 5,
            invitations_per_recipient_per_hour: 2,
            reset_mails_per_recipient_per_hour: 2,
            reset_mails_per_ip_per_hour: 3,
        }
    }

    fn ip(last: u8) -> Option<IpAddr> {
        Some(IpAddr::from([10, 0, 0, last]))
    }

    fn retry_after(result: ServiceResult<impl std::fmt::Debug>) -> u64 {
        match result {
            Err(ServiceError::RateLimited { retry_after_secs }) => retry_after_secs,
            other => panic!("expected 429, got {other:?}"),
        }
    }

    #[test]
    fn a_client_address_gets_its_quota_then_a_wait() {
        let limits = Limits::new(&config());
        for _ in 0..3 {
            limits.client_attempt(ip(1)).unwrap();
        }
        assert!(retry_after(limits.client_attempt(ip(1))) >= 1);
        limits.client_attempt(ip(2)).expect("another address has its own bucket");
        limits.client_attempt(None).expect("calls without an address (CLI) are not counted");
    }

    #[test]
    fn guesses_from_one_address_are_refused_but_the_owner_elsewhere_is_only_slowed() {
        let limits = Limits::new(&config());
        assert_eq!(limits.password_check("a@x.io", ip(1)).unwrap(), None);
        assert_eq!(limits.password_check("a@x.io", ip(1)).unwrap(), None);
        retry_after(limits.password_check("a@x.io", ip(1)));
        // Other addresses keep trying: each gets its own two, then the account is past its
        // ceiling of four and checks are slowed, never refused for a fresh address.
        assert_eq!(limits.password_check("a@x.io", ip(2)).unwrap(), None);
        assert_eq!(limits.password_check("a@x.io", ip(2)).unwrap(), None);
        assert_eq!(limits.password_check("a@x.io", ip(3)).unwrap(), Some(SLOW_DOWN));
        assert_eq!(limits.password_check("a@x.io", ip(4)).unwrap(), Some(SLOW_DOWN), "the owner still gets in");
        assert_eq!(limits.password_check("b@x.io", ip(1)).unwrap(), None, "accounts are counted apart");
    }

    #[test]
    fn invitation_mail_is_limited_per_recipient_and_per_tenant() {
        let limits = Limits::new(&config());
        let (t1, t2) = (TenantId::new(), TenantId::new());
        limits.invitation_mail(t1, "v@x.io").unwrap();
        limits.invitation_mail(t1, "v@x.io").unwrap();
        retry_after(limits.invitation_mail(t2, "v@x.io"));
        for n in 0..2 {
            limits.invitation_mail(t1, &format!("p{n}@x.io")).unwrap();
        }
        // t1 has sent four; the refused one above did not count against t1.
        limits.invitation_mail(t1, "q@x.io").unwrap();
        retry_after(limits.invitation_mail(t1, "r@x.io"));
        limits.invitation_mail(t2, "r@x.io").expect("another tenant has its own hourly budget");
    }

    #[test]
    fn reset_mail_is_limited_per_recipient_and_per_address() {
        let limits = Limits::new(&config());
        limits.reset_mail("a@x.io", ip(1)).unwrap();
        limits.reset_mail("a@x.io", ip(2)).unwrap();
        retry_after(limits.reset_mail("a@x.io", ip(3)));
        limits.reset_mail("b@x.io", ip(1)).unwrap();
        limits.reset_mail("c@x.io", ip(1)).unwrap();
        retry_after(limits.reset_mail("d@x.io", ip(1)));
    }

    #[test]
    fn disabled_limits_allow_everything() {
        let limits = Limits::new(&RateLimitConfig { disabled: true, ..config() });
        for _ in 0..50 {
            limits.client_attempt(ip(1)).unwrap();
            assert_eq!(limits.password_check("a@x.io", ip(1)).unwrap(), None);
            limits.invitation_mail(TenantId::new(), "v@x.io").unwrap();
            limits.reset_mail("a@x.io", ip(1)).unwrap();
        }
    }
}
