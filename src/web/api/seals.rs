//! Sealed periods (封存): an officer seals a closed period's scores, or
//! amends the seal when late records changed them; anyone with a token sees
//! which periods are sealed; an officer downloads a period's chain for
//! `dqmon verify-report`. Every seal and amendment is in the audit log.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, SecondsFormat};
use serde::{Deserialize, Serialize};

use super::query::{ApiJson, period_bounds};
use super::{Access, ApiError, ApiQuery, ApiState, Identity, today};
use crate::model::period::PeriodBounds;
use crate::store::SealHead;
use crate::store::assessment::{SealAction, SealMark};

/// The body of a seal or an amendment: the period, in the form `?period=`
/// takes.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct PeriodBody {
    period: String,
}

/// Query of the chain download.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ChainQuery {
    period: Option<String>,
}

/// The list takes no parameters (an unknown one is a 400, as everywhere).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct NoQuery {}

/// One sealed version, as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct SealInfo {
    pub period: PeriodBounds,
    pub version: u32,
    pub sha256: String,
    pub amends: Option<String>,
    /// RFC 3339, UTC.
    pub sealed_at: String,
    /// The name of the token that sealed it.
    pub sealed_by: String,
}

impl SealInfo {
    pub(crate) fn new(period: PeriodBounds, mark: &SealMark) -> Self {
        SealInfo {
            period,
            version: mark.version,
            sha256: mark.sha256.clone(),
            amends: mark.amends.clone(),
            sealed_at: rfc3339(mark.at_ms),
            sealed_by: mark.actor.clone(),
        }
    }

    fn of_head(h: &SealHead) -> Self {
        SealInfo {
            period: PeriodBounds {
                from: h.from,
                to: h.to,
            },
            version: h.version,
            sha256: h.sha256.clone(),
            amends: h.amends.clone(),
            sealed_at: rfc3339(h.at_ms),
            sealed_by: h.actor.clone(),
        }
    }
}

/// Milliseconds since the epoch as RFC 3339 (UTC, milliseconds).
pub(crate) fn rfc3339(at_ms: i64) -> String {
    DateTime::from_timestamp_millis(at_ms)
        .unwrap_or_default()
        .to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// `POST /api/v1/seals`: seals a period that has ended.
pub(super) async fn post_seal(
    who: Identity,
    State(state): State<ApiState>,
    ApiJson(body): ApiJson<PeriodBody>,
) -> Result<Response, ApiError> {
    seal(who, state, body, SealAction::Seal).await
}

/// `POST /api/v1/seals/amendments`: the next version of a sealed period.
pub(super) async fn post_amendment(
    who: Identity,
    State(state): State<ApiState>,
    ApiJson(body): ApiJson<PeriodBody>,
) -> Result<Response, ApiError> {
    seal(who, state, body, SealAction::Amend).await
}

async fn seal(
    who: Identity,
    state: ApiState,
    body: PeriodBody,
    action: SealAction,
) -> Result<Response, ApiError> {
    who.access.officer_only("seal or amend a period")?;
    let period = period_bounds(&body.period)?;
    let mark = state.seal(period, today(&state), action, &who).await?;
    Ok((
        StatusCode::CREATED,
        [(header::CACHE_CONTROL, "no-store")],
        Json(SealInfo::new(period, &mark)),
    )
        .into_response())
}

/// `GET /api/v1/seals`: the newest version of every sealed period.
pub(super) async fn get_seals(
    _access: Access,
    State(state): State<ApiState>,
    ApiQuery(NoQuery {}): ApiQuery<NoQuery>,
) -> Result<Response, ApiError> {
    let seals: Vec<SealInfo> = state
        .sealed_periods()
        .await?
        .iter()
        .map(SealInfo::of_head)
        .collect();
    Ok((
        [(header::CACHE_CONTROL, "no-store")],
        Json(serde_json::json!({ "seals": seals })),
    )
        .into_response())
}

/// `GET /api/v1/seals/chain?period=`: every version of a sealed period, as
/// the file `dqmon verify-report` checks (canonical JSON). Officers only:
/// it holds every department's scores.
pub(super) async fn get_chain(
    access: Access,
    State(state): State<ApiState>,
    ApiQuery(q): ApiQuery<ChainQuery>,
) -> Result<Response, ApiError> {
    access.officer_only("download a sealed chain")?;
    let Some(period) = q.period else {
        return Err(ApiError::BadRequest("give ?period=".into()));
    };
    let period = period_bounds(&period)?;
    let Some(chain) = state.chain(period).await? else {
        return Err(ApiError::NotFound(format!(
            "{}..{} is not sealed",
            period.from, period.to
        )));
    };
    let disposition = format!(
        "attachment; filename=\"dqmon-sealed-{}-{}.json\"",
        period.from, period.to
    );
    Ok((
        [
            (header::CONTENT_TYPE, "application/json".to_owned()),
            (header::CONTENT_DISPOSITION, disposition),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        chain.to_file(),
    )
        .into_response())
}
