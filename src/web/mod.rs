//! The HTTP server: `/metrics`, `/healthz`, `/readyz` here, the API
//! ([`api`]) and the scorecard pages ([`scorecard`]) beside them. Each is a
//! plain `Router`, tested with `oneshot`.

pub mod api;
mod limits;
pub mod scorecard;

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;

use crate::telemetry::Health;
use crate::telemetry::Metrics;
use api::ApiState;
pub use limits::HttpConfig;

/// What the operations endpoints read.
#[derive(Clone)]
pub(crate) struct AppState {
    pub metrics: Arc<Metrics>,
    pub health: Arc<Health>,
}

/// The operations endpoints alone: open, for probes and scrapers.
fn app(state: AppState) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .with_state(state)
}

/// The service's whole router: operations endpoints (open), the API and the
/// scorecard pages (behind their tokens).
pub(crate) fn app_with_api(state: AppState, api_state: ApiState, http: &HttpConfig) -> Router {
    let router = app(state)
        .merge(api::routes(api_state.clone()))
        .merge(scorecard::pages(api_state));
    limits::limited(router, http)
}

async fn metrics(State(s): State<AppState>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        {
            // Read at scrape time, so `dq_ready` is what `/readyz` answers now.
            s.metrics.set_ready(s.health.ready());
            s.metrics.encode()
        },
    )
}

/// Alive: the process answers.
async fn healthz() -> &'static str {
    "ok\n"
}

/// Ready: partitions assigned and a broker reachable.
async fn readyz(State(s): State<AppState>) -> (StatusCode, &'static str) {
    if s.health.ready() {
        (StatusCode::OK, "ready\n")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "not ready\n")
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::sync::atomic::Ordering;
    use std::time::Duration;

    use axum::body::Body;
    use axum::http::Request;
    use tower::ServiceExt;

    use super::*;

    fn state() -> AppState {
        let checks =
            crate::catalog::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("checks")).unwrap();
        AppState {
            metrics: Arc::new(Metrics::new(&checks)),
            health: Arc::new(Health::default()),
        }
    }

    async fn get(app: Router, uri: &str) -> (StatusCode, String) {
        let response = app
            .oneshot(Request::get(uri).body(Body::empty()).unwrap())
            .await
            .unwrap();
        let status = response.status();
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        (status, String::from_utf8(body.to_vec()).unwrap())
    }

    #[tokio::test]
    async fn metrics_expose_every_dataset_with_zeros() {
        let (status, body) = get(app(state()), "/metrics").await;
        assert_eq!(status, StatusCode::OK);
        assert!(body.contains(
            r#"dq_records_total{dataset="household_registration",department="public_security"} 0"#
        ));
        assert!(body.contains(r#"dq_dimension_pass_rate_threshold{dimension="consistency"} 0.9"#));
        assert!(body.contains("dq_output_errors_total{output=\"deadletter\"} 0"));
    }

    #[tokio::test]
    async fn the_service_router_keeps_operations_open_and_the_api_behind_tokens() {
        let s = state();
        let checks = std::sync::Arc::new(
            crate::catalog::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("checks")).unwrap(),
        );
        let api_state = ApiState::new(
            Arc::new(crate::store::sqlite::SqliteStore::in_memory(10).unwrap()),
            checks,
            Arc::new(crate::web::api::ApiConfig {
                officer_tokens: vec!["officer-token-0123456789".into()],
                ..Default::default()
            }),
        );
        let router = app_with_api(s, api_state, &HttpConfig::default());
        assert_eq!(get(router.clone(), "/metrics").await.0, StatusCode::OK);
        assert_eq!(get(router.clone(), "/healthz").await.0, StatusCode::OK);
        assert_eq!(
            get(router.clone(), "/api/v1/openapi.json").await.0,
            StatusCode::OK
        );
        assert_eq!(
            get(router.clone(), "/api/v1/scores?period=2026-Q3").await.0,
            StatusCode::UNAUTHORIZED
        );
        let response = router
            .oneshot(
                Request::get("/api/v1/scores?period=2026-Q3")
                    .header("authorization", "Bearer officer-token-0123456789")
                    .body(Body::empty())
                    .unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
    }

    #[tokio::test]
    async fn readiness_follows_health() {
        let s = state();
        assert_eq!(get(app(s.clone()), "/healthz").await.0, StatusCode::OK);
        assert_eq!(
            get(app(s.clone()), "/readyz").await.0,
            StatusCode::SERVICE_UNAVAILABLE
        );
        s.health.broker_up.store(true, Ordering::Relaxed);
        s.health.assigned.store(true, Ordering::Relaxed);
        // Partitions and a broker, but the state is still loading: not ready.
        assert_eq!(
            get(app(s.clone()), "/readyz").await.0,
            StatusCode::SERVICE_UNAVAILABLE
        );
        s.health.loaded.store(true, Ordering::Relaxed);
        assert_eq!(get(app(s), "/readyz").await.0, StatusCode::OK);
    }

    #[tokio::test]
    async fn dq_ready_says_what_readyz_says() {
        let s = state();
        let ready = |body: String| body.lines().any(|l| l == "dq_ready 1");
        let unready = |body: String| body.lines().any(|l| l == "dq_ready 0");
        assert!(unready(get(app(s.clone()), "/metrics").await.1));
        s.health.loaded.store(true, Ordering::Relaxed);
        s.health.broker_up.store(true, Ordering::Relaxed);
        s.health.assigned.store(true, Ordering::Relaxed);
        assert!(ready(get(app(s.clone()), "/metrics").await.1));
        s.health.broker_up.store(false, Ordering::Relaxed);
        assert!(unready(get(app(s), "/metrics").await.1));
    }

    /// The service router with an in-memory store and `http` limits.
    fn limited_router(http: &HttpConfig) -> Router {
        let checks = std::sync::Arc::new(
            crate::catalog::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("checks")).unwrap(),
        );
        let api_state = ApiState::new(
            Arc::new(crate::store::sqlite::SqliteStore::in_memory(10).unwrap()),
            checks,
            Arc::new(crate::web::api::ApiConfig::default()),
        );
        app_with_api(state(), api_state, http)
    }

    fn login_post(body: Body) -> Request<Body> {
        Request::post("/login")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .unwrap()
    }

    /// A body that never finishes arriving.
    fn stalled() -> Body {
        Body::from_stream(futures::stream::pending::<
            Result<axum::body::Bytes, std::io::Error>,
        >())
    }

    #[tokio::test]
    async fn an_oversized_body_is_refused_and_the_server_goes_on() {
        let http = HttpConfig {
            max_body_bytes: 1024,
            ..HttpConfig::default()
        };
        let router = limited_router(&http);
        let big = format!("token={}", "x".repeat(4096));
        let response = router
            .clone()
            .oneshot(login_post(Body::from(big.clone())))
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
        // Announced by its length: refused before it is read.
        let mut announced = login_post(Body::from(big.clone()));
        announced
            .headers_mut()
            .insert("content-length", big.len().to_string().parse().unwrap());
        let response = router.clone().oneshot(announced).await.unwrap();
        assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
        let small = router
            .clone()
            .oneshot(login_post(Body::from("token=short")))
            .await
            .unwrap();
        assert_ne!(small.status(), StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(get(router, "/healthz").await.0, StatusCode::OK);
    }

    // Paused time: the timeout elapses as soon as nothing else can run, so
    // the test neither sleeps nor depends on the machine's speed.
    #[tokio::test(start_paused = true)]
    async fn a_slow_request_times_out_and_holds_no_slot_for_ever() {
        let http = HttpConfig {
            request_timeout_secs: 5,
            max_concurrent_requests: 1,
            ..HttpConfig::default()
        };
        let router = limited_router(&http);
        let start = tokio::time::Instant::now();
        let slow = tokio::spawn(router.clone().oneshot(login_post(stalled())));
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(!slow.is_finished(), "the slow request is still being read");
        // The only slot is taken: the next request is served once the slow
        // one has timed out and let go of it, not before.
        let (status, _) = get(router.clone(), "/healthz").await;
        assert_eq!(status, StatusCode::OK);
        assert!(
            start.elapsed() >= Duration::from_secs(5),
            "{:?}",
            start.elapsed()
        );
        assert_eq!(
            slow.await.unwrap().unwrap().status(),
            StatusCode::REQUEST_TIMEOUT
        );
    }
}
