//! `/api/v1/scores` and `/api/v1/scores.csv`: the scores of a period.

use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use super::query::period_bounds;
use super::seals::SealInfo;
use super::{Access, ApiError, ApiQuery, ApiState};
use crate::store::assessment::Served;
use crate::tally::{Scores, scores_csv};

/// The scores, and the seal they come from when the period is sealed.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct ScoresAnswer {
    #[serde(flatten)]
    pub scores: Scores,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seal: Option<SealInfo>,
}

impl ScoresAnswer {
    pub(crate) fn new(served: Served) -> Self {
        let seal = served
            .seal
            .as_ref()
            .map(|m| SealInfo::new(served.scores.period, m));
        ScoresAnswer {
            scores: served.scores,
            seal,
        }
    }
}

/// Query of the score endpoints: one `period` in the exact form the OpenAPI
/// document's pattern states (a range is `period=FROM..TO`), so that every
/// request the document allows is answered.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ScoresQuery {
    period: Option<String>,
    department: Option<String>,
}

pub(super) async fn get_scores(
    access: Access,
    State(state): State<ApiState>,
    ApiQuery(q): ApiQuery<ScoresQuery>,
) -> Result<Response, ApiError> {
    let served = scores_for(&state, &access, q).await?;
    Ok((
        [(header::CACHE_CONTROL, "no-store")],
        Json(ScoresAnswer::new(served)),
    )
        .into_response())
}

pub(super) async fn get_scores_csv(
    access: Access,
    State(state): State<ApiState>,
    ApiQuery(q): ApiQuery<ScoresQuery>,
) -> Result<Response, ApiError> {
    let served = scores_for(&state, &access, q).await?;
    let mut response = csv_response(&served.scores)?;
    if let Some(seal) = &served.seal
        && let Ok(value) = header::HeaderValue::from_str(&seal.sha256)
    {
        response.headers_mut().insert(SEAL_HEADER, value);
    }
    Ok(response)
}

/// The CSV answer of a sealed period names the SHA-256 of the sealed version.
pub(crate) const SEAL_HEADER: &str = "x-dqmon-seal-sha256";

async fn scores_for(state: &ApiState, access: &Access, q: ScoresQuery) -> Result<Served, ApiError> {
    let department = access.department_filter(&state.checks, q.department.as_deref())?;
    let Some(period) = q.period else {
        return Err(ApiError::BadRequest(
            "give ?period= (2026-06-15, 2026-W24, 2026-06, 2026-Q2, 2026 or 2026-06-01..2026-06-30)"
                .into(),
        ));
    };
    state.scores(period_bounds(&period)?, department).await
}

/// The CSV answer of `scores`, with the download headers (the scorecard's
/// download answers the same).
pub(crate) fn csv_response(scores: &Scores) -> Result<Response, ApiError> {
    let body = scores_csv(scores).map_err(|e| ApiError::internal("writing CSV failed", e))?;
    let disposition = format!(
        "attachment; filename=\"dqmon-scores-{}-{}.csv\"",
        scores.period.from, scores.period.to
    );
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (header::CONTENT_DISPOSITION, disposition),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        body,
    )
        .into_response())
}
