//! `/api/v1/violations`: the most recent violations, newest first.

use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::{Access, ApiError, ApiQuery, ApiState};

/// Default `limit` of `/api/v1/violations`.
pub(super) const DEFAULT_VIOLATIONS_LIMIT: usize = 100;

/// Query of `/api/v1/violations`; `limit` as text so a bad value gets our message.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ViolationsQuery {
    department: Option<String>,
    limit: Option<String>,
}

pub(super) async fn get_violations(
    access: Access,
    State(state): State<ApiState>,
    ApiQuery(q): ApiQuery<ViolationsQuery>,
) -> Result<Response, ApiError> {
    let department = access.department_filter(&state.checks, q.department.as_deref())?;
    let limit = parse_limit(q.limit.as_deref(), state.config.recent_violations_limit_max)?;
    let rows = state.recent_violations(department, limit).await?;
    Ok(([(header::CACHE_CONTROL, "no-store")], Json(rows)).into_response())
}

/// `limit=`: 1 to `max`; the default, capped at `max`, when absent.
fn parse_limit(text: Option<&str>, max: usize) -> Result<usize, ApiError> {
    let Some(text) = text else {
        return Ok(DEFAULT_VIOLATIONS_LIMIT.min(max));
    };
    match text.trim().parse::<usize>() {
        Ok(n) if (1..=max).contains(&n) => Ok(n),
        _ => Err(ApiError::BadRequest(format!(
            "limit must be a whole number from 1 to {max}"
        ))),
    }
}
