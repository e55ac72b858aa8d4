//! The assessment API: department scores for a period (JSON and CSV), recent
//! violations, and an OpenAPI description.
//!
//! Access is by bearer token (`auth.rs`). An officer token sees every
//! department; a department token only its own. Store calls block, so they
//! run on the blocking pool (`state.rs`). Errors answer `{"error": "..."}`;
//! store failures are logged and answered "internal error" without details
//! (`error.rs`).

mod auth;
mod config;
mod error;
mod openapi;
mod query;
mod scores;
mod state;
mod violations;

use axum::Router;
use axum::routing::get;

pub(crate) use auth::{Access, authenticate, bearer_token};
pub use config::ApiConfig;
pub(crate) use config::is_token_byte;
pub(crate) use error::ApiError;
use query::ApiQuery;
pub(crate) use scores::csv_response;
pub use state::ApiState;

/// The API routes, with their own state (merge them into the service's router).
pub fn routes(state: ApiState) -> Router {
    Router::new()
        .route("/api/v1/scores", get(scores::get_scores))
        .route("/api/v1/scores.csv", get(scores::get_scores_csv))
        .route("/api/v1/violations", get(violations::get_violations))
        .route("/api/v1/openapi.json", get(openapi::get_openapi))
        .with_state(state)
}
