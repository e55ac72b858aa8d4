//! The state the API and the scorecard share, and the store reads they
//! answer from.

use std::sync::Arc;

use chrono::NaiveDate;

use super::sessions::Sessions;
use super::{ApiConfig, ApiError};
use crate::catalog::Checks;
use crate::model::Violation;
use crate::model::period::PeriodBounds;
use crate::store::{DayCounts, ScoreStore};
use crate::tally::{Scores, Step, Trend, TrendPoint, build_scores};

/// Shared by the API and the scorecard pages.
#[derive(Clone)]
pub struct ApiState {
    pub store: Arc<dyn ScoreStore>,
    pub checks: Arc<Checks>,
    pub config: Arc<ApiConfig>,
    /// Signed-in browsers and one-time sign-in links.
    pub sessions: Arc<Sessions>,
}

impl ApiState {
    /// Sessions last `config.session_ttl_secs`.
    pub fn new(store: Arc<dyn ScoreStore>, checks: Arc<Checks>, config: Arc<ApiConfig>) -> Self {
        let ttl = std::time::Duration::from_secs(config.session_ttl_secs);
        Self {
            store,
            checks,
            config,
            sessions: Arc::new(Sessions::new(ttl)),
        }
    }

    /// The scores of a period for `department` (all when `None`).
    pub(crate) async fn scores(
        &self,
        period: PeriodBounds,
        department: Option<String>,
    ) -> Result<Scores, ApiError> {
        let (store, checks) = (self.store.clone(), self.checks.clone());
        blocking(move || {
            let counts = store.counts(period.from, period.to, department.as_deref())?;
            let rows: Vec<_> = counts.iter().map(DayCounts::row).collect();
            Ok(build_scores(&checks, period, department.as_deref(), &rows))
        })
        .await
    }

    /// The scores of the weeks or months of the year up to `until`.
    pub(crate) async fn trend(
        &self,
        by: Step,
        until: NaiveDate,
        department: Option<String>,
    ) -> Result<Trend, ApiError> {
        let (store, checks) = (self.store.clone(), self.checks.clone());
        blocking(move || {
            let points = by
                .periods(until)
                .into_iter()
                .map(|p| {
                    let (from, to) = p.bounds();
                    let bounds = PeriodBounds::clamped(from, to);
                    let counts = store.counts(bounds.from, bounds.to, department.as_deref())?;
                    let rows: Vec<_> = counts.iter().map(DayCounts::row).collect();
                    let scores = build_scores(&checks, bounds, department.as_deref(), &rows);
                    Ok(TrendPoint::new(p, &scores))
                })
                .collect::<Result<Vec<_>, ApiError>>()?;
            Ok(Trend { by, points })
        })
        .await
    }

    /// The newest violations, newest first.
    pub(crate) async fn recent_violations(
        &self,
        department: Option<String>,
        limit: usize,
    ) -> Result<Vec<Violation>, ApiError> {
        let store = self.store.clone();
        blocking(move || Ok(store.recent_violations(department.as_deref(), limit)?)).await
    }
}

/// Store calls block (SQLite): run them on the blocking pool, off the
/// async workers.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ApiError::internal("store task failed", e))?
}
