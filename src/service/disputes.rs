//! The dispute gauges: each department's pending disputes per stage, those
//! past their stage's deadline, and the decided ones, read from the score
//! store on the rectification gauges' tick (so every instance sharing the
//! store exports the same numbers).

use std::collections::BTreeMap;

use crate::catalog::Checks;
use crate::store::StoreError;
use crate::store::disputes::{DisputeFilter, DisputeStore, Stage};
use crate::telemetry::{DisputeCounts, Metrics};

/// One refresh; `today` in the exchange's time zone (deadlines run in
/// people's days).
pub(crate) fn refresh(
    store: &dyn DisputeStore,
    checks: &Checks,
    metrics: &Metrics,
    today: chrono::NaiveDate,
) -> Result<(), StoreError> {
    let rules = &checks.governance.disputes;
    let mut by_department: BTreeMap<&str, DisputeCounts> = checks
        .departments
        .iter()
        .map(|d| (d.as_str(), DisputeCounts::default()))
        .collect();
    for d in store.disputes(&DisputeFilter::default(), usize::MAX)? {
        // Only the contracts' departments: labels never come from stored text.
        let Some(c) = by_department.get_mut(d.department.as_str()) else {
            continue;
        };
        match Stage::PENDING.iter().position(|s| *s == d.stage) {
            Some(i) => {
                c.pending[i] += 1;
                if d.overdue(rules, &checks.working_days, today) {
                    c.overdue[i] += 1;
                }
            }
            None => c.decided[usize::from(d.stage == Stage::Rejected)] += 1,
        }
    }
    for (department, c) in &by_department {
        metrics.set_disputes(department, c);
    }
    Ok(())
}
