//! The state the API and the scorecard share, and the store reads they
//! answer from.

use std::sync::Arc;

use chrono::NaiveDate;

use super::findings::{DepartmentFindings, FindingView, FindingsAnswer, Listed, view};
use super::sessions::Sessions;
use super::{ApiConfig, ApiError, Identity};
use crate::catalog::Checks;
use crate::model::Violation;
use crate::model::period::PeriodBounds;
use crate::store::assessment::{self, Actor, SealAction, SealMark, Served};
use crate::store::findings::{self, FindingStore};
use crate::store::{AuditRecord, DisputeStore, LedgerStore, ScoreStore, SealHead};
use crate::tally::{Chain, Step, Trend, TrendPoint};

/// Shared by the API and the scorecard pages.
#[derive(Clone)]
pub struct ApiState {
    pub store: Arc<dyn ScoreStore>,
    /// The same store's sealed reports and audit log.
    pub ledger: Arc<dyn LedgerStore>,
    /// The same store's rectification findings.
    pub findings: Arc<dyn FindingStore>,
    /// The same store's disputes and kept failures.
    pub disputes: Arc<dyn DisputeStore>,
    pub checks: Arc<Checks>,
    pub config: Arc<ApiConfig>,
    /// Signed-in browsers and one-time sign-in links.
    pub sessions: Arc<Sessions>,
}

impl ApiState {
    /// Sessions last `config.session_ttl_secs`.
    pub fn new<S: ScoreStore + LedgerStore + FindingStore + DisputeStore + 'static>(
        store: Arc<S>,
        checks: Arc<Checks>,
        config: Arc<ApiConfig>,
    ) -> Self {
        let ttl = std::time::Duration::from_secs(config.session_ttl_secs);
        Self {
            ledger: store.clone(),
            findings: store.clone(),
            disputes: store.clone(),
            store,
            checks,
            config,
            sessions: Arc::new(Sessions::new(ttl)),
        }
    }

    /// The scores of a period for `department` (all when `None`), as
    /// served: the sealed version when the period is sealed.
    pub(crate) async fn scores(
        &self,
        period: PeriodBounds,
        department: Option<String>,
    ) -> Result<Served, ApiError> {
        let (store, disputes, ledger, checks) = (
            self.store.clone(),
            self.disputes.clone(),
            self.ledger.clone(),
            self.checks.clone(),
        );
        blocking(move || {
            Ok(assessment::served_scores(
                &*store,
                &*disputes,
                &*ledger,
                &checks,
                period,
                department.as_deref(),
            )?)
        })
        .await
    }

    /// Seals or amends a period, as `who`, on `today` (exchange time).
    pub(crate) async fn seal(
        &self,
        period: PeriodBounds,
        today: NaiveDate,
        action: SealAction,
        who: &Identity,
    ) -> Result<SealMark, ApiError> {
        let (store, disputes, ledger, checks) = (
            self.store.clone(),
            self.disputes.clone(),
            self.ledger.clone(),
            self.checks.clone(),
        );
        let actor = Actor {
            name: who.name.clone(),
            role: who.access.role().to_owned(),
            at_ms: chrono::Utc::now().timestamp_millis(),
        };
        let mark = blocking(move || {
            Ok(assessment::seal_period(
                &*store, &*disputes, &*ledger, &checks, period, today, action, &actor,
            )?)
        })
        .await?;
        // One log line per seal, whichever page or endpoint asked for it.
        tracing::info!(
            actor = %who.name,
            action = action.as_str(),
            period = %format!("{}..{}", period.from, period.to),
            version = mark.version,
            sha256 = %mark.sha256,
            "period sealed"
        );
        Ok(mark)
    }

    /// The newest version of every sealed period.
    pub(crate) async fn sealed_periods(&self) -> Result<Vec<SealHead>, ApiError> {
        let ledger = self.ledger.clone();
        blocking(move || Ok(ledger.sealed_periods()?)).await
    }

    /// The chain file of a sealed period, if it is sealed.
    pub(crate) async fn chain(&self, period: PeriodBounds) -> Result<Option<Chain>, ApiError> {
        let ledger = self.ledger.clone();
        blocking(move || Ok(assessment::chain(&*ledger, period)?)).await
    }

    /// Audit entries below `before`, newest first.
    pub(crate) async fn audit(
        &self,
        before: Option<i64>,
        limit: usize,
    ) -> Result<Vec<AuditRecord>, ApiError> {
        let ledger = self.ledger.clone();
        blocking(move || Ok(ledger.audit(before, limit)?)).await
    }

    /// The scores of the weeks or months of the year up to `until`.
    pub(crate) async fn trend(
        &self,
        by: Step,
        until: NaiveDate,
        department: Option<String>,
    ) -> Result<Trend, ApiError> {
        let (store, disputes, ledger, checks) = (
            self.store.clone(),
            self.disputes.clone(),
            self.ledger.clone(),
            self.checks.clone(),
        );
        blocking(move || {
            // One ledger read, then the sealed weeks or months only are
            // served from their seals.
            let sealed: std::collections::BTreeSet<(NaiveDate, NaiveDate)> = ledger
                .sealed_periods()?
                .into_iter()
                .map(|h| (h.from, h.to))
                .collect();
            let points = by
                .periods(until)
                .into_iter()
                .map(|p| {
                    let (from, to) = p.bounds();
                    let bounds = PeriodBounds::clamped(from, to);
                    let dep = department.as_deref();
                    if !sealed.contains(&(bounds.from, bounds.to)) {
                        let scores =
                            assessment::live_scores(&*store, &*disputes, &checks, bounds, dep)?;
                        return Ok(TrendPoint::new(p, &scores));
                    }
                    let served = assessment::served_scores(
                        &*store, &*disputes, &*ledger, &checks, bounds, dep,
                    )?;
                    let mut point = TrendPoint::new(p, &served.scores);
                    point.sealed = served.seal.map(|s| s.sha256);
                    Ok(point)
                })
                .collect::<Result<Vec<_>, ApiError>>()?;
            Ok(Trend { by, points })
        })
        .await
    }

    /// The findings summary of every department (or one) and a list of
    /// `listed` findings, overdue judged on `today` (exchange time zone).
    pub(crate) async fn findings(
        &self,
        department: Option<String>,
        listed: Listed,
        limit: usize,
        today: NaiveDate,
    ) -> Result<FindingsAnswer, ApiError> {
        let (store, checks) = (self.findings.clone(), self.checks.clone());
        blocking(move || {
            let calendar = &checks.working_days;
            let after = checks.governance.findings_overdue_after_working_days;
            let dep = department.as_deref();
            let summary =
                findings::summary(&*store, &checks.departments, dep, calendar, after, today)?;
            let until = match listed {
                Listed::Overdue => match findings::last_overdue_opening(calendar, after, today) {
                    Some(day) => Some(day),
                    // Nothing can be overdue yet.
                    None => return Ok(answer(&checks, today, summary, listed, Vec::new())),
                },
                _ => None,
            };
            let rows = store.list_findings(dep, listed.status(), until, limit)?;
            let views = rows
                .into_iter()
                .map(|f| {
                    let due = findings::due_day(calendar, f.opened_day, after);
                    view(f, due, today)
                })
                .collect();
            Ok(answer(&checks, today, summary, listed, views))
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

fn answer(
    checks: &Checks,
    today: NaiveDate,
    summary: std::collections::BTreeMap<String, findings::FindingSummary>,
    listed: Listed,
    findings: Vec<FindingView>,
) -> FindingsAnswer {
    FindingsAnswer {
        as_of: today,
        overdue_after_working_days: checks.governance.findings_overdue_after_working_days,
        departments: summary
            .into_iter()
            .map(|(department, summary)| DepartmentFindings {
                name: checks.department_name(&department).to_owned(),
                department,
                summary,
            })
            .collect(),
        status: listed.as_str(),
        findings,
    }
}

/// Store calls block (SQLite): run them on the blocking pool, off the
/// async workers.
pub(super) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ApiError::internal("store task failed", e))?
}
