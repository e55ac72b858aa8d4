//! What one client can ask of the HTTP server: a bounded body, a bounded
//! time, and a bound on requests served at once, so a slow or oversized
//! request is refused without harm to the consumer or to other clients.

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::http::StatusCode;
use serde::Deserialize;
use tower::ServiceBuilder;
use tower::limit::GlobalConcurrencyLimitLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::TimeoutLayer;

/// The `[http]` section of the service configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpConfig {
    /// Address of `/metrics`, `/healthz`, `/readyz`, the API and the scorecard.
    #[serde(default = "default_listen_address")]
    pub listen_address: SocketAddr,
    /// Largest request body accepted, in bytes (the sign-in form is the only
    /// body dqmon reads); larger ones are answered 413.
    #[serde(default = "default_max_body_bytes")]
    pub max_body_bytes: usize,
    /// A request not answered within this many seconds (a client sending its
    /// body slowly, a store read that hangs) is answered 408.
    #[serde(default = "default_request_timeout_secs")]
    pub request_timeout_secs: u64,
    /// Requests served at once; more wait their turn (within the timeout).
    #[serde(default = "default_max_concurrent_requests")]
    pub max_concurrent_requests: usize,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            listen_address: default_listen_address(),
            max_body_bytes: default_max_body_bytes(),
            request_timeout_secs: default_request_timeout_secs(),
            max_concurrent_requests: default_max_concurrent_requests(),
        }
    }
}

impl HttpConfig {
    /// Every out-of-range value, at once.
    pub(crate) fn problems(&self) -> Vec<&'static str> {
        [
            (
                self.max_body_bytes == 0,
                "http.max_body_bytes: must be at least 1",
            ),
            (
                self.request_timeout_secs == 0,
                "http.request_timeout_secs: must be at least 1",
            ),
            (
                self.max_concurrent_requests == 0,
                "http.max_concurrent_requests: must be at least 1",
            ),
        ]
        .into_iter()
        .filter_map(|(bad, problem)| bad.then_some(problem))
        .collect()
    }
}

fn default_listen_address() -> SocketAddr {
    SocketAddr::from(([0, 0, 0, 0], 9898))
}

fn default_max_body_bytes() -> usize {
    16 * 1024
}

fn default_request_timeout_secs() -> u64 {
    10
}

fn default_max_concurrent_requests() -> usize {
    64
}

/// `router` with the configured limits around every route. Waiting for a
/// slot counts against the request's time, so a full server answers 408
/// rather than queueing without end.
pub(crate) fn limited(router: Router, c: &HttpConfig) -> Router {
    router.layer(
        ServiceBuilder::new()
            .layer(RequestBodyLimitLayer::new(c.max_body_bytes))
            .layer(TimeoutLayer::with_status_code(
                StatusCode::REQUEST_TIMEOUT,
                Duration::from_secs(c.request_timeout_secs),
            ))
            // Global: axum layers each route on its own; the bound is for all.
            .layer(GlobalConcurrencyLimitLayer::new(c.max_concurrent_requests)),
    )
}
