//! Per-client-IP limits on the credential endpoints (login, sign-up, and later password
//! reset), using governor's GCRA limiter. Per-account limits live in the service layer.

use std::{net::{IpAddr, SocketAddr}, num::NonZeroU32, sync::Arc};

use axum::{
    extract::{ConnectInfo, Request, State},
    middleware::Next,
    response::{IntoResponse, Response},
};
use governor::{clock::{Clock, DefaultClock}, DefaultKeyedRateLimiter, Quota};
use tenantry::{config::RateLimitConfig, ServiceError};

use crate::api::error::ApiError;

#[derive(Clone)]
pub struct RateLimits {
    per_ip: Option<Arc<DefaultKeyedRateLimiter<IpAddr>>>,
}

impl RateLimits {
    /// `None` inside when `RATE_LIMIT_DISABLED=1`.
    pub fn new(config: &RateLimitConfig) -> Self {
        let per_ip = (!config.disabled).then(|| {
            let burst = NonZeroU32::new(config.per_ip_per_minute.max(1)).expect("max(1) is non-zero");
            Arc::new(governor::RateLimiter::keyed(Quota::per_minute(burst)))
        });
        Self { per_ip }
    }

    /// A layer for one route: counts each request against the client's IP.
    pub fn per_ip(
        &self,
    ) -> axum::middleware::FromFnLayer<
        fn(State<RateLimits>, Request, Next) -> std::pin::Pin<Box<dyn std::future::Future<Output = Response> + Send>>,
        RateLimits,
        (State<RateLimits>, Request),
    > {
        axum::middleware::from_fn_with_state(self.clone(), |state, request, next| Box::pin(limit(state, request, next)))
    }

    /// Checks one request from `ip`; the wait in seconds when it is over the limit.
    pub fn check(&self, ip: IpAddr) -> Result<(), u64> {
        let Some(limiter) = &self.per_ip else { return Ok(()) };
        limiter.check_key(&ip).map_err(|not_until| not_until.wait_time_from(DefaultClock::default().now()).as_secs().max(1))?;
        if limiter.len() > 100_000 {
            limiter.retain_recent();
        }
        Ok(())
    }
}

async fn limit(State(limits): State<RateLimits>, request: Request, next: Next) -> Response {
    let ip = request.extensions().get::<ConnectInfo<SocketAddr>>().map(|ConnectInfo(addr)| addr.ip());
    if let Some(ip) = ip {
        if let Err(retry_after_secs) = limits.check(ip) {
            return ApiError(ServiceError::RateLimited { retry_after_secs }).into_response();
        }
    }
    next.run(request).await
}
