//! `GET /api/v1/findings`: rectification (整改). Per department the open,
//! overdue and fixed findings and the median time to fix, and a list of
//! findings of one status, newest opening first. A finding is named by
//! where its records were on the bus and their `record_id`, never by a
//! value; a department's token sees its own department only.

use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::seals::rfc3339;
use super::{Access, ApiError, ApiQuery, ApiState};
use crate::store::findings::{FindingRecord, FindingSummary, RecordAt, Status};

/// Findings per answer unless `limit` says.
pub(super) const DEFAULT_FINDINGS_LIMIT: usize = 100;
/// At most this many per answer.
pub(super) const MAX_FINDINGS_LIMIT: usize = 1000;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FindingsQuery {
    department: Option<String>,
    /// `open` (default), `overdue` or `fixed`.
    status: Option<String>,
    limit: Option<usize>,
}

/// Which findings a list holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Listed {
    Open,
    Overdue,
    Fixed,
}

impl Listed {
    pub(crate) fn parse(text: Option<&str>) -> Result<Listed, ApiError> {
        match text.unwrap_or("open") {
            "open" => Ok(Listed::Open),
            "overdue" => Ok(Listed::Overdue),
            "fixed" => Ok(Listed::Fixed),
            _ => Err(ApiError::BadRequest(
                "status must be open, overdue or fixed".into(),
            )),
        }
    }
}

/// The answer.
#[derive(Debug, Serialize)]
pub(crate) struct FindingsAnswer {
    /// The day overdue is judged on (today in the exchange's time zone).
    pub as_of: NaiveDate,
    /// From `governance.yaml`.
    pub overdue_after_working_days: u32,
    pub departments: Vec<DepartmentFindings>,
    pub status: &'static str,
    pub findings: Vec<FindingView>,
}

#[derive(Debug, Serialize)]
pub(crate) struct DepartmentFindings {
    pub department: String,
    pub name: String,
    #[serde(flatten)]
    pub summary: FindingSummary,
}

/// One finding as answered.
#[derive(Debug, Serialize)]
pub(crate) struct FindingView {
    pub department: String,
    pub dataset: String,
    pub check: String,
    pub dimension: &'static str,
    /// `open`, `overdue` or `fixed`.
    pub status: &'static str,
    pub opened_at: String,
    pub opened_day: NaiveDate,
    /// The last working day to fix it in.
    pub due_day: NaiveDate,
    /// The record that opened it.
    pub opened: RecordAt,
    pub fixed_at: Option<String>,
    /// The later record of the same entity that passed the check.
    pub fixed: Option<RecordAt>,
    pub time_to_fix_secs: Option<i64>,
}

pub(super) async fn get_findings(
    access: Access,
    State(state): State<ApiState>,
    ApiQuery(q): ApiQuery<FindingsQuery>,
) -> Result<Response, ApiError> {
    let department = access.department_filter(&state.checks, q.department.as_deref())?;
    let listed = Listed::parse(q.status.as_deref())?;
    let limit = q.limit.unwrap_or(DEFAULT_FINDINGS_LIMIT);
    if !(1..=MAX_FINDINGS_LIMIT).contains(&limit) {
        return Err(ApiError::BadRequest(format!(
            "limit must be 1 to {MAX_FINDINGS_LIMIT}"
        )));
    }
    let answer = state
        .findings(department, listed, limit, super::today(&state))
        .await?;
    Ok(([(header::CACHE_CONTROL, "no-store")], Json(answer)).into_response())
}

impl Listed {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Listed::Open => "open",
            Listed::Overdue => "overdue",
            Listed::Fixed => "fixed",
        }
    }

    /// The store's status of the rows listed.
    pub(crate) fn status(self) -> Status {
        match self {
            Listed::Open | Listed::Overdue => Status::Open,
            Listed::Fixed => Status::Fixed,
        }
    }
}

/// A stored finding as answered, its status judged on `due_day`'s terms.
pub(crate) fn view(f: FindingRecord, due_day: NaiveDate, today: NaiveDate) -> FindingView {
    let status = match &f.fixed {
        Some(_) => "fixed",
        None if today > due_day => "overdue",
        None => "open",
    };
    let (fixed_at, fixed, time_to_fix_secs) = match f.fixed {
        Some((ms, at)) => (
            Some(rfc3339(ms)),
            Some(at),
            Some((ms - f.opened_ms).div_euclid(1000)),
        ),
        None => (None, None, None),
    };
    FindingView {
        department: f.department,
        dataset: f.dataset,
        check: f.check,
        dimension: f.dimension.as_str(),
        status,
        opened_at: rfc3339(f.opened_ms),
        opened_day: f.opened_day,
        due_day,
        opened: f.opened,
        fixed_at,
        fixed,
        time_to_fix_secs,
    }
}
