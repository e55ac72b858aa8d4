//! The assessment API: department scores for a period (JSON and CSV), their
//! trend over a year, recent violations, sealed periods and their chains
//! (`seals.rs`), the audit log (`audit.rs`), and an OpenAPI description.
//!
//! Access is by bearer token (`auth.rs`). An officer token sees every
//! department; a department token only its own. Browsers sign in once and
//! hold a session (`sessions.rs`); a token holder can get a one-time sign-in
//! link for a browser (`sign_in_link.rs`). Store calls block, so they
//! run on the blocking pool (`state.rs`). Errors answer `{"error": "..."}`;
//! store failures are logged and answered "internal error" without details
//! (`error.rs`).

mod audit;
mod auth;
mod config;
mod disputes;
mod error;
mod findings;
mod openapi;
mod query;
mod scores;
mod seals;
mod sessions;
mod sign_in_link;
mod state;
mod trend;
mod violations;

use axum::Router;
use axum::routing::{get, post};

pub(crate) use auth::{Access, Identity, authenticate, bearer_token};
pub(crate) use config::is_token_byte;
pub use config::{ApiConfig, NamedToken, Role, token_sha256};
pub(crate) use disputes::Filing;
pub(crate) use error::ApiError;
pub(crate) use findings::{FindingView, FindingsAnswer, Listed};
use query::ApiQuery;
pub(crate) use scores::{ScoresAnswer, csv_response};
pub(crate) use seals::rfc3339;
pub use sessions::{LINK_TTL, Sessions};
pub use state::ApiState;
pub(crate) use trend::today;

/// Percent-encodes a path segment or query value: everything but the
/// unreserved characters of RFC 3986.
pub(crate) fn url_component(s: &str) -> String {
    use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
    const UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'.')
        .remove(b'_')
        .remove(b'~');
    utf8_percent_encode(s, UNRESERVED).to_string()
}

/// Whether `next` (where a browser goes once signed in) is a path of this
/// server: `//host` and `/\host` are other hosts to browsers, so a crafted
/// link could send a signed-in user elsewhere. [`LOCAL_PATH_PATTERN`] says
/// the same to API clients.
pub(crate) fn is_local_path(next: &str) -> bool {
    next.starts_with('/')
        && !next.starts_with("//")
        && !next.starts_with("/\\")
        && next.bytes().all(|b| b.is_ascii_graphic())
}

/// [`is_local_path`] as a JSON Schema pattern: `/`, then printable ASCII
/// whose first character is neither `/` nor `\`.
pub(crate) const LOCAL_PATH_PATTERN: &str = r"^/([!-.0-\[\]-~][!-~]*)?$";

/// The API routes, with their own state (merge them into the service's router).
pub fn routes(state: ApiState) -> Router {
    Router::new()
        .route("/api/v1/scores", get(scores::get_scores))
        .route("/api/v1/scores.csv", get(scores::get_scores_csv))
        .route("/api/v1/violations", get(violations::get_violations))
        .route("/api/v1/trend", get(trend::get_trend))
        .route(
            "/api/v1/seals",
            get(seals::get_seals).post(seals::post_seal),
        )
        .route("/api/v1/seals/amendments", post(seals::post_amendment))
        .route("/api/v1/seals/chain", get(seals::get_chain))
        .route("/api/v1/audit", get(audit::get_audit))
        .route("/api/v1/findings", get(findings::get_findings))
        .route(
            "/api/v1/disputes",
            get(disputes::get_disputes).post(disputes::post_dispute),
        )
        .route("/api/v1/disputes/{id}", get(disputes::get_dispute))
        .route(
            "/api/v1/disputes/{id}/acceptance",
            post(disputes::post_acceptance),
        )
        .route(
            "/api/v1/disputes/{id}/verification",
            post(disputes::post_verification),
        )
        .route(
            "/api/v1/disputes/{id}/decision",
            post(disputes::post_decision),
        )
        .route(
            "/api/v1/sign-in-link",
            post(sign_in_link::post_sign_in_link),
        )
        .route("/api/v1/openapi.json", get(openapi::get_openapi))
        .with_state(state)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// The document and the handler cannot disagree about `next`.
        #[test]
        fn local_path_pattern_is_the_rule(
            s in prop_oneof!["\\PC{0,12}", "[/\\\\a-z.~ ]{0,6}", "/[!-~]{0,8}"],
        ) {
            let re = regex::Regex::new(LOCAL_PATH_PATTERN).unwrap();
            prop_assert_eq!(re.is_match(&s), is_local_path(&s), "{:?}", s);
        }
    }

    #[test]
    fn local_paths() {
        for good in ["/", "/departments/tax?period=2026", "/a//b"] {
            assert!(is_local_path(good), "{good}");
        }
        for bad in [
            "",
            "//evil.example",
            "/\\evil.example",
            "https://x",
            "/a b",
            "/é",
        ] {
            assert!(!is_local_path(bad), "{bad}");
        }
    }
}
