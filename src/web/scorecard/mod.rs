//! The scorecard: server-rendered HTML pages over the API's numbers, for
//! people without an API client. No scripts and no external assets; every
//! interpolation is escaped by `maud`.
//!
//! Browsers cannot send bearer headers on a plain navigation, so the pages
//! also accept the session cookie that signing in sets (`login.rs`).

mod department;
mod disputes;
mod findings;
mod layout;
mod login;
mod period;
mod ranking;
mod seals;
mod trend;

use axum::Router;
use axum::http::{HeaderValue, header};
use axum::middleware;
use axum::response::Response;
use axum::routing::{get, post};

use crate::web::api::ApiState;

/// The pages, with their own state (merge them into the service's router).
pub fn pages(state: ApiState) -> Router {
    Router::new()
        .route("/", get(ranking::index))
        .route(
            "/departments/{department}",
            get(department::department_page),
        )
        .route(
            "/departments/{department}/findings",
            get(findings::findings_page),
        )
        .route(
            "/disputes",
            get(disputes::disputes_page).post(disputes::post_file),
        )
        .route("/disputes/{id}/accept", post(disputes::post_accept))
        .route("/disputes/{id}/verify", post(disputes::post_verify))
        .route("/disputes/{id}/decide", post(disputes::post_decide))
        .route("/scores.csv", get(ranking::csv_download))
        .route("/seals", post(seals::post_seal))
        .route("/login", get(login::login_get).post(login::login_post))
        .route("/login/once/{code}", get(login::login_once))
        .route("/logout", post(login::logout))
        .layer(middleware::map_response(security_headers))
        .with_state(state)
}

/// Pages load nothing from elsewhere and run no script: say so to the
/// browser, and keep them out of frames, caches and referrers.
async fn security_headers(mut response: Response) -> Response {
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; \
             frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    response
}
