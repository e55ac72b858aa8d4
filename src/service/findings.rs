//! The rectification gauges (and, on the same tick, the dispute gauges of
//! `disputes.rs`): every so often, each department's open,
//! overdue and fixed findings and the median time to fix, read from the
//! score store (so several instances sharing one store export the same
//! numbers, and a restart loses none).

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tracing::warn;

use crate::catalog::Checks;
use crate::store::DisputeStore;
use crate::store::findings::{self, FindingStore};
use crate::telemetry::Metrics;

/// How often the gauges are read again: findings change with checkpoints,
/// overdue with the calendar day, neither faster than this matters.
pub(crate) const REFRESH: Duration = Duration::from_secs(15);

/// Refreshes the gauges until `shutdown`; a failed read keeps the last values
/// and says so once per failure.
pub(crate) fn spawn(
    metrics: Arc<Metrics>,
    store: Arc<dyn FindingStore>,
    disputes: Arc<dyn DisputeStore>,
    checks: Arc<Checks>,
    shutdown: CancellationToken,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(REFRESH);
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tick.tick() => {}
            }
            let (store, disputes, checks, metrics) = (
                store.clone(),
                disputes.clone(),
                checks.clone(),
                metrics.clone(),
            );
            let refreshed = tokio::task::spawn_blocking(move || {
                refresh(&*store, &checks, &metrics)?;
                let today = checks.day_of(chrono::Utc::now().timestamp_millis());
                super::disputes::refresh(&*disputes, &checks, &metrics, today)
            })
            .await;
            match refreshed {
                Ok(Ok(())) => {}
                Ok(Err(e)) => warn!(error = %e, "findings and disputes gauges not refreshed"),
                Err(e) => warn!(error = %e, "findings and disputes gauges not refreshed"),
            }
        }
    })
}

/// One refresh: "today" is the wall clock's day in the exchange's time zone,
/// since deadlines run in people's days, not in message time.
pub(crate) fn refresh(
    store: &dyn FindingStore,
    checks: &Checks,
    metrics: &Metrics,
) -> Result<(), crate::store::StoreError> {
    let today = checks.day_of(chrono::Utc::now().timestamp_millis());
    let summary = findings::summary(
        store,
        &checks.departments,
        None,
        &checks.working_days,
        checks.governance.findings_overdue_after_working_days,
        today,
    )?;
    for (department, s) in &summary {
        // Only the contracts' departments: labels never come from stored text.
        if checks.departments.contains(department) {
            metrics.set_findings(department, s);
        }
    }
    Ok(())
}
