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
//! Where the counts live depends on the database. With SQLite they are in process (governor's
//! GCRA): one process owns the file. With PostgreSQL, where several replicas may share the
//! database, they are in the database (`rate_limit_hits`, a sliding-window counter), so 30
//! sign-in attempts a minute means 30 across every replica, not 30 each. Only the credential
//! and mail paths above consult them; the read routes never do.

use std::{net::IpAddr, num::NonZeroU32, time::Duration};

use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use governor::{clock::Clock, DefaultKeyedRateLimiter, Quota};

use crate::{
    config::RateLimitConfig,
    domain::TenantId,
    store::{Db, WindowCheck},
    ServiceError, ServiceResult,
};

/// How long a password check waits once its account is past the all-addresses ceiling.
pub const SLOW_DOWN: Duration = Duration::from_secs(1);

pub struct Limits {
    /// `None` when `RATE_LIMIT_DISABLED=1`.
    buckets: Option<Buckets>,
}

struct Buckets {
    per_ip: Bucket,
    per_account_ip: Bucket,
    per_account: Bucket,
    invitations_per_tenant: Bucket,
    invitations_per_recipient: Bucket,
    reset_mails_per_recipient: Bucket,
    reset_mails_per_ip: Bucket,
}

/// A keyed limit of `limit` events per `window`, answering with the wait in whole seconds
/// (at least 1) when it is reached.
enum Bucket {
    InProcess(DefaultKeyedRateLimiter<String>),
    /// Counted in `rate_limit_hits` under `name`.
    Shared { db: Db, name: &'static str, limit: u32, window: TimeDelta },
}

impl Bucket {
    fn new(shared: Option<&Db>, name: &'static str, limit: u32, window: Duration) -> Self {
        match shared {
            Some(db) => Self::Shared { db: db.clone(), name, limit: limit.max(1), window: TimeDelta::from_std(window).expect("a window of minutes or hours") },
            None => {
                let quota = Quota::with_period(window / limit.max(1)).expect("a non-zero period").allow_burst(non_zero(limit));
                Self::InProcess(governor::RateLimiter::keyed(quota))
            }
        }
    }

    /// Counts one event for `key`; `Ok(Err(seconds to wait))` when over the limit.
    async fn check(&self, key: String) -> ServiceResult<Result<(), u64>> {
        self.check_at(key, Utc::now()).await
    }

    /// [`Bucket::check`] at `now` (the in-process limiter keeps its own clock).
    async fn check_at(&self, key: String, now: DateTime<Utc>) -> ServiceResult<Result<(), u64>> {
        match self {
            Self::InProcess(limiter) => {
                let result = limiter.check_key(&key).map_err(|not_until| {
                    not_until.wait_time_from(governor::clock::DefaultClock::default().now()).as_secs().max(1)
                });
                if needs_pruning(limiter.len()) {
                    limiter.retain_recent();
                }
                Ok(result)
            }
            Self::Shared { db, name, limit, window } => {
                let check = window_check(name, &key, *limit, *window, now);
                if db.count_rate_limit_hit(check).await? {
                    Ok(Ok(()))
                } else {
                    // Until this window ends: by then the current count has become the
                    // previous one and begins to fade. Never more than one window.
                    let ends = check.window_start + *window;
                    Ok(Err((ends - now).num_seconds().max(1) as u64))
                }
            }
        }
    }
}

/// Keys an in-process limiter holds before it drops the ones whose counts have run out: the
/// map must not grow without bound under a spray of addresses, and pruning on every check
/// would cost a scan of it each time.
const PRUNE_ABOVE: usize = 100_000;

fn needs_pruning(keys: usize) -> bool {
    keys > PRUNE_ABOVE
}

/// The sliding-window estimate for `now`: this window's hits plus the previous window's,
/// weighted by the part of it that still lies within one window length of `now`.
fn window_check<'a>(bucket: &'a str, key: &'a str, limit: u32, window: TimeDelta, now: DateTime<Utc>) -> WindowCheck<'a> {
    let window_start = now.duration_trunc(window).expect("a window of minutes or hours");
    let elapsed = (now - window_start).num_microseconds().unwrap_or(0) as f64;
    let length = window.num_microseconds().unwrap_or(1) as f64;
    WindowCheck { bucket, key, window_start, previous_start: window_start - window, previous_weight: 1.0 - elapsed / length, limit }
}

impl super::Services {
    /// Deletes the shared counters no check reads any more: windows that began two hours
    /// before `now` or earlier (the longest window is an hour, and a check reads the one
    /// before its own). Run by the worker's housekeeping; nothing to do on SQLite.
    pub async fn forget_old_rate_limits(&self, now: DateTime<Utc>) -> ServiceResult<u64> {
        match self.db() {
            Db::Postgres(_) => Ok(self.db().forget_rate_limit_windows(now - TimeDelta::hours(2)).await?),
            Db::Sqlite(_) => Ok(0),
        }
    }
}

fn non_zero(n: u32) -> NonZeroU32 {
    NonZeroU32::new(n.max(1)).expect("max(1) is non-zero")
}

fn throttled(retry_after_secs: u64) -> ServiceError {
    metrics::counter!("tenantry_rate_limit_refusals_total").increment(1);
    ServiceError::RateLimited { retry_after_secs }
}

const MINUTE: Duration = Duration::from_secs(60);
const HOUR: Duration = Duration::from_secs(3600);

impl Limits {
    /// In-process limits; with `shared`, limits every replica on that database counts together.
    pub fn new(config: &RateLimitConfig, shared: Option<&Db>) -> Self {
        let buckets = (!config.disabled).then(|| Buckets {
            per_ip: Bucket::new(shared, "client_ip", config.per_ip_per_minute, MINUTE),
            per_account_ip: Bucket::new(shared, "account_ip", config.per_account_per_minute, MINUTE),
            per_account: Bucket::new(shared, "account", config.account_ceiling_per_minute, MINUTE),
            invitations_per_tenant: Bucket::new(shared, "invitations_tenant", config.invitations_per_tenant_per_hour, HOUR),
            invitations_per_recipient: Bucket::new(shared, "invitations_recipient", config.invitations_per_recipient_per_hour, HOUR),
            reset_mails_per_recipient: Bucket::new(shared, "reset_recipient", config.reset_mails_per_recipient_per_hour, HOUR),
            reset_mails_per_ip: Bucket::new(shared, "reset_ip", config.reset_mails_per_ip_per_hour, HOUR),
        });
        Self { buckets }
    }

    /// One credential request from `ip` (sign-in, sign-up, accept-invitation, reset request or
    /// confirmation). Calls without a known address (the CLI) are not counted.
    pub async fn client_attempt(&self, ip: Option<IpAddr>) -> ServiceResult<()> {
        let (Some(buckets), Some(ip)) = (&self.buckets, ip) else { return Ok(()) };
        buckets.per_ip.check(ip.to_string()).await?.map_err(throttled)
    }

    /// One password check of `account` (its normalised e-mail) from `ip`: refused past the
    /// per-(account, address) limit; past the account's all-addresses ceiling it is allowed
    /// but the caller must wait [`SLOW_DOWN`] first (the returned delay).
    pub async fn password_check(&self, account: &str, ip: Option<IpAddr>) -> ServiceResult<Option<Duration>> {
        let Some(buckets) = &self.buckets else { return Ok(None) };
        let from = ip.map_or_else(|| "-".to_owned(), |ip| ip.to_string());
        buckets.per_account_ip.check(format!("{account} {from}")).await?.map_err(throttled)?;
        Ok(buckets.per_account.check(account.to_owned()).await?.err().map(|_| SLOW_DOWN))
    }

    /// One invitation mail (new or resent) from `tenant` to `recipient`.
    pub async fn invitation_mail(&self, tenant: TenantId, recipient: &str) -> ServiceResult<()> {
        let Some(buckets) = &self.buckets else { return Ok(()) };
        buckets.invitations_per_recipient.check(recipient.to_owned()).await?.map_err(throttled)?;
        buckets.invitations_per_tenant.check(tenant.0.to_string()).await?.map_err(throttled)
    }

    /// One invitation mail to `recipient`, counted against the recipient only (bulk imports).
    pub async fn invitation_mail_to(&self, recipient: &str) -> ServiceResult<()> {
        let Some(buckets) = &self.buckets else { return Ok(()) };
        buckets.invitations_per_recipient.check(recipient.to_owned()).await?.map_err(throttled)
    }

    /// One reset mail asked for `recipient` from `ip`. Counted whether or not an account
    /// exists, so the answer says nothing about that.
    pub async fn reset_mail(&self, recipient: &str, ip: Option<IpAddr>) -> ServiceResult<()> {
        let Some(buckets) = &self.buckets else { return Ok(()) };
        if let Some(ip) = ip {
            buckets.reset_mails_per_ip.check(ip.to_string()).await?.map_err(throttled)?;
        }
        buckets.reset_mails_per_recipient.check(recipient.to_owned()).await?.map_err(throttled)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing;

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

    /// The same rules, kept in process and kept in a database of the suite's backend.
    async fn both(config: RateLimitConfig) -> Vec<Limits> {
        let db = Db::connect(&testing::fresh_database_url().await).await.unwrap();
        db.migrate().await.unwrap();
        vec![Limits::new(&config, None), Limits::new(&config, Some(&db))]
    }

    #[tokio::test]
    async fn a_client_address_gets_its_quota_then_a_wait() {
        for limits in both(config()).await {
            for _ in 0..3 {
                limits.client_attempt(ip(1)).await.unwrap();
            }
            let wait = retry_after(limits.client_attempt(ip(1)).await);
            assert!((1..=60).contains(&wait), "{wait}");
            limits.client_attempt(ip(2)).await.expect("another address has its own bucket");
            limits.client_attempt(None).await.expect("calls without an address (CLI) are not counted");
        }
    }

    #[tokio::test]
    async fn guesses_from_one_address_are_refused_but_the_owner_elsewhere_is_only_slowed() {
        for limits in both(config()).await {
            assert_eq!(limits.password_check("a@x.io", ip(1)).await.unwrap(), None);
            assert_eq!(limits.password_check("a@x.io", ip(1)).await.unwrap(), None);
            retry_after(limits.password_check("a@x.io", ip(1)).await);
            // Other addresses keep trying: each gets its own two, then the account is past its
            // ceiling of four and checks are slowed, never refused for a fresh address.
            assert_eq!(limits.password_check("a@x.io", ip(2)).await.unwrap(), None);
            assert_eq!(limits.password_check("a@x.io", ip(2)).await.unwrap(), None);
            assert_eq!(limits.password_check("a@x.io", ip(3)).await.unwrap(), Some(SLOW_DOWN));
            assert_eq!(limits.password_check("a@x.io", ip(4)).await.unwrap(), Some(SLOW_DOWN), "the owner still gets in");
            assert_eq!(limits.password_check("b@x.io", ip(1)).await.unwrap(), None, "accounts are counted apart");
        }
    }

    #[tokio::test]
    async fn invitation_mail_is_limited_per_recipient_and_per_tenant() {
        for limits in both(config()).await {
            let (t1, t2) = (TenantId::new(), TenantId::new());
            limits.invitation_mail(t1, "v@x.io").await.unwrap();
            limits.invitation_mail(t1, "v@x.io").await.unwrap();
            let wait = retry_after(limits.invitation_mail(t2, "v@x.io").await);
            assert!((1..=3600).contains(&wait), "{wait}");
            for n in 0..2 {
                limits.invitation_mail(t1, &format!("p{n}@x.io")).await.unwrap();
            }
            // t1 has sent four; the refused one above did not count against t1.
            limits.invitation_mail(t1, "q@x.io").await.unwrap();
            retry_after(limits.invitation_mail(t1, "r@x.io").await);
            limits.invitation_mail(t2, "r@x.io").await.expect("another tenant has its own hourly budget");
            limits.invitation_mail_to("s@x.io").await.unwrap();
            limits.invitation_mail_to("s@x.io").await.unwrap();
            retry_after(limits.invitation_mail_to("s@x.io").await);
        }
    }

    #[tokio::test]
    async fn reset_mail_is_limited_per_recipient_and_per_address() {
        for limits in both(config()).await {
            limits.reset_mail("a@x.io", ip(1)).await.unwrap();
            limits.reset_mail("a@x.io", ip(2)).await.unwrap();
            retry_after(limits.reset_mail("a@x.io", ip(3)).await);
            limits.reset_mail("b@x.io", ip(1)).await.unwrap();
            limits.reset_mail("c@x.io", ip(1)).await.unwrap();
            retry_after(limits.reset_mail("d@x.io", ip(1)).await);
            limits.reset_mail("e@x.io", None).await.expect("the CLI has no address to count");
        }
    }

    #[tokio::test]
    async fn disabled_limits_allow_everything() {
        for limits in both(RateLimitConfig { disabled: true, ..config() }).await {
            for _ in 0..50 {
                limits.client_attempt(ip(1)).await.unwrap();
                assert_eq!(limits.password_check("a@x.io", ip(1)).await.unwrap(), None);
                limits.invitation_mail(TenantId::new(), "v@x.io").await.unwrap();
                limits.reset_mail("a@x.io", ip(1)).await.unwrap();
            }
        }
    }

    #[test]
    fn an_in_process_limiter_is_pruned_only_past_its_size() {
        assert!(!needs_pruning(0));
        assert!(!needs_pruning(PRUNE_ABOVE));
        assert!(needs_pruning(PRUNE_ABOVE + 1));
    }

    /// A shared refusal says how long until its window ends, and a new window opens the door
    /// again once the old one's hits have faded.
    #[tokio::test]
    async fn a_shared_refusal_waits_until_its_window_ends() {
        let db = Db::connect(&testing::fresh_database_url().await).await.unwrap();
        db.migrate().await.unwrap();
        let minute = Bucket::new(Some(&db), "m", 2, MINUTE);
        let hour = Bucket::new(Some(&db), "h", 1, HOUR);
        let start = Utc::now().duration_trunc(TimeDelta::hours(1)).unwrap() - TimeDelta::hours(5);
        let at = start + TimeDelta::seconds(10);
        for _ in 0..2 {
            assert_eq!(minute.check_at("k".into(), at).await.unwrap(), Ok(()));
        }
        assert_eq!(minute.check_at("k".into(), at).await.unwrap(), Err(50));
        assert_eq!(minute.check_at("other".into(), at).await.unwrap(), Ok(()), "keys are counted apart");
        assert_eq!(minute.check_at("k".into(), start + TimeDelta::minutes(2)).await.unwrap(), Ok(()), "two windows on, nothing counts");
        assert_eq!(hour.check_at("k".into(), at).await.unwrap(), Ok(()));
        assert_eq!(hour.check_at("k".into(), at).await.unwrap(), Err(3590));
    }

    /// Housekeeping deletes the shared windows no check reads any more, and only those.
    #[tokio::test]
    async fn housekeeping_forgets_only_the_windows_no_check_reads() {
        let services = testing::services().await;
        let shared = Bucket::new(Some(services.db()), "h", 5, HOUR);
        let now = Utc::now();
        for back in [0, 1, 2, 3] {
            shared.check_at("k".into(), now - TimeDelta::hours(back)).await.unwrap().unwrap();
        }
        let forgotten = services.forget_old_rate_limits(now).await.unwrap();
        let kept: i64 = {
            let mut tx = services.db().read().await.unwrap();
            crate::store::on!(&mut tx, c => sqlx::query_scalar("SELECT COUNT(*) FROM rate_limit_hits").fetch_one(c).await).unwrap()
        };
        if matches!(services.db(), Db::Postgres(_)) {
            // The windows of three and two hours ago began before now − 2 h and go; the last
            // hour's (read as the previous window) and this hour's stay.
            assert_eq!((forgotten, kept), (2, 2));
        } else {
            assert_eq!((forgotten, kept), (0, 4), "SQLite counts in process; the worker leaves the table alone");
        }
    }

    /// Two processes on one database (two `Limits`, as two replicas hold) share one count, and
    /// concurrent checks let exactly the limit through.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn replicas_on_one_database_share_each_limit_exactly() {
        let db = Db::connect(&testing::fresh_database_url().await).await.unwrap();
        db.migrate().await.unwrap();
        let config = RateLimitConfig { per_ip_per_minute: 30, ..config() };
        let replicas = std::sync::Arc::new([Limits::new(&config, Some(&db)), Limits::new(&config, Some(&db)), Limits::new(&config, Some(&db))]);
        let attempts = (0..45).map(|n| {
            let replicas = replicas.clone();
            tokio::spawn(async move { replicas[n % 3].client_attempt(ip(9)).await })
        });
        let mut allowed = 0;
        for attempt in attempts.collect::<Vec<_>>() {
            match attempt.await.unwrap() {
                Ok(()) => allowed += 1,
                Err(ServiceError::RateLimited { .. }) => {}
                Err(other) => panic!("{other:?}"),
            }
        }
        assert_eq!(allowed, 30, "30 a minute across the replicas, not 30 each");
        let in_process = [Limits::new(&config, None), Limits::new(&config, None)];
        for _ in 0..30 {
            in_process[0].client_attempt(ip(9)).await.unwrap();
        }
        in_process[1].client_attempt(ip(9)).await.expect("without a shared store each process counts alone");
    }

    /// The window slides: hits of the previous window count by the share of it still within
    /// one window length, rounded up, so a burst just before the edge is not forgiven just
    /// after it; old windows are forgotten.
    #[tokio::test]
    async fn the_previous_window_fades_out_over_the_current_one() {
        let db = Db::connect(&testing::fresh_database_url().await).await.unwrap();
        db.migrate().await.unwrap();
        let minute = TimeDelta::minutes(1);
        let edge = Utc::now().duration_trunc(minute).unwrap() - TimeDelta::minutes(10);
        let at = |seconds: i64| edge + TimeDelta::milliseconds(seconds * 1000 - 100);
        let hit = |now: DateTime<Utc>| {
            let db = db.clone();
            async move { db.count_rate_limit_hit(window_check("t", "k", 4, minute, now)).await.unwrap() }
        };
        // Four hits in the last 100 ms of a window: the limit.
        for _ in 0..4 {
            assert!(hit(at(0)).await);
        }
        assert!(!hit(at(0)).await);
        // 200 ms into the next window nearly all of them still count.
        assert!(!hit(at(0) + TimeDelta::milliseconds(300)).await, "the burst still counts after the edge");
        // A quarter in, 4 × 0.75 = 3 of them count: one more fits, then no more.
        assert!(hit(edge + TimeDelta::seconds(15)).await);
        assert!(!hit(edge + TimeDelta::seconds(16)).await);
        // Halfway, 4 × 0.5 = 2 count, and this window holds 1: one more fits.
        assert!(hit(edge + TimeDelta::seconds(30)).await);
        assert!(!hit(edge + TimeDelta::seconds(31)).await);
        // Two windows on, the burst is gone: 2 hits of the window before plus fresh ones.
        for _ in 0..2 {
            assert!(hit(edge + TimeDelta::seconds(60)).await);
        }
        assert!(!hit(edge + TimeDelta::seconds(60)).await, "2 of the last window count in full at its end, plus 2 new");
        assert_eq!(db.forget_rate_limit_windows(edge + TimeDelta::minutes(1)).await.unwrap(), 2, "the two windows before it");
        assert_eq!(db.forget_rate_limit_windows(edge + TimeDelta::minutes(1)).await.unwrap(), 0);
    }
}
