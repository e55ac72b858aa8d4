//! `/api/v1/trend`: every department's score per week or month over the
//! last year, the series the scorecard draws.

use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use chrono::{NaiveDate, Utc};
use serde::Deserialize;

use super::{Access, ApiError, ApiQuery, ApiState};
use crate::model::period::parse_date;
use crate::tally::Step;

/// Query of `/api/v1/trend`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct TrendQuery {
    /// `week` (52) or `month` (12, the default).
    by: Option<String>,
    /// The last day the trend covers (default: today in the exchange's zone).
    until: Option<String>,
    department: Option<String>,
}

pub(super) async fn get_trend(
    access: Access,
    State(state): State<ApiState>,
    ApiQuery(q): ApiQuery<TrendQuery>,
) -> Result<Response, ApiError> {
    let department = access.department_filter(&state.checks, q.department.as_deref())?;
    let by = parse_step(q.by.as_deref())?;
    let until = match q.until.as_deref() {
        Some(text) => parse_date(text).map_err(ApiError::BadRequest)?,
        None => today(&state),
    };
    let trend = state.trend(by, until, department).await?;
    Ok(([(header::CACHE_CONTROL, "no-store")], Json(trend)).into_response())
}

/// `by=`: `week` or `month`; months when absent.
fn parse_step(text: Option<&str>) -> Result<Step, ApiError> {
    match text {
        None | Some("month") => Ok(Step::Month),
        Some("week") => Ok(Step::Week),
        Some(_) => Err(ApiError::BadRequest("by must be week or month".into())),
    }
}

/// The exchange's date now: the wall clock, read at the edge (the
/// scorecard's `Today` reads it here too).
pub(crate) fn today(state: &ApiState) -> NaiveDate {
    Utc::now()
        .with_timezone(&state.checks.time_zone)
        .date_naive()
}
