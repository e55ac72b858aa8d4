//! The demo's simulated departments file disputes (异议) of findings in
//! the history, and the simulated officer and authoritative department
//! handle some of them, dated back a few working days, so that a new user
//! sees every stage within the first minutes: one upheld (the authority
//! admitted its value was wrong: charged to it), one rejected, one overdue
//! at verification, one check disputed over a month, one waiting for the
//! decision.
//!
//! They go through the store's dispute steps, the same ones (and the same
//! `Dispute::apply` rules) the API uses; only their dates are simulated.

use std::sync::Arc;
use std::time::Duration;

use chrono::{Datelike, NaiveDate};

use crate::catalog::{Checks, WorkingDays};
use crate::model::Violation;
use crate::store::disputes::{
    Action, Authority, Decision, DisputeStore, NewDispute, Scope, Step, Verification,
};
use crate::store::{AuditEntry, ScoreStore, StoreError};

/// What was filed, for the demo's output.
#[derive(Debug, Default)]
pub(super) struct Filed {
    pub lines: Vec<String>,
}

/// Waits (up to two minutes) until the history's violations are stored,
/// then files and handles the disputes. `None` when the history holds too
/// few findings to dispute.
pub(super) async fn file_when_ready(
    checks: Arc<Checks>,
    store: Arc<dyn ScoreStore>,
    disputes: Arc<dyn DisputeStore>,
) -> Option<Filed> {
    for _ in 0..120 {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let (checks, store, disputes) = (checks.clone(), store.clone(), disputes.clone());
        let done = tokio::task::spawn_blocking(move || scenario(&checks, &*store, &*disputes))
            .await
            .ok()?;
        match done {
            Ok(Some(filed)) => return Some(filed),
            Ok(None) => continue,
            Err(e) => {
                tracing::warn!(error = %e, "the demo's disputes were not filed");
                return None;
            }
        }
    }
    None
}

/// The day `n` working days before `today`.
fn working_days_before(calendar: &WorkingDays, today: NaiveDate, n: u32) -> NaiveDate {
    let mut day = today;
    let mut left = n;
    while left > 0 {
        day = day.pred_opt().unwrap_or(day);
        if calendar.is_working_day(day) {
            left -= 1;
        }
    }
    day
}

/// Violations of `department`'s datasets, oldest message first (a stable
/// choice whatever order the checkpoints stored them in).
fn violations(store: &dyn ScoreStore, department: &str) -> Result<Vec<Violation>, StoreError> {
    let mut v = store.recent_violations(Some(department), 1000)?;
    v.sort_by(|a, b| {
        (a.timestamp, &a.topic, a.partition, a.offset, &a.check).cmp(&(
            b.timestamp,
            &b.topic,
            b.partition,
            b.offset,
            &b.check,
        ))
    });
    Ok(v)
}

fn scenario(
    checks: &Checks,
    store: &dyn ScoreStore,
    disputes: &dyn DisputeStore,
) -> Result<Option<Filed>, StoreError> {
    let now_ms = chrono::Utc::now().timestamp_millis();
    let today = checks.day_of(now_ms);
    let calendar = &checks.working_days;
    let rules = &checks.governance.disputes;
    let back = |n: u32| {
        let day = working_days_before(calendar, today, n);
        Step {
            at_ms: now_ms - (today - day).num_days() * 86_400_000,
            day,
            actor: String::new(),
        }
    };
    let cross_source = |v: &Violation| {
        checks
            .dataset(&v.department, &v.dataset)
            .and_then(|ds| checks.authority_of(ds, &v.check))
            .is_some()
    };
    // One finding per purpose, each of another department.
    let mut used: Vec<String> = Vec::new();
    let mut pick = |want_cross: bool| -> Result<Option<Violation>, StoreError> {
        for dep in &checks.departments {
            if used.contains(dep) {
                continue;
            }
            if let Some(v) = violations(store, dep)?
                .into_iter()
                .find(|v| cross_source(v) == want_cross)
            {
                used.push(dep.clone());
                return Ok(Some(v));
            }
        }
        Ok(None)
    };
    let (Some(upheld), Some(overdue), Some(rejected), Some(whole), Some(deciding)) = (
        pick(true)?,
        pick(true)?,
        pick(false)?,
        pick(false)?,
        pick(false)?,
    ) else {
        return Ok(None);
    };

    let mut filed = Filed::default();
    let file = |v: &Violation, scope: Scope, reason: &str, at: Step| -> Result<i64, StoreError> {
        let ds = checks
            .dataset(&v.department, &v.dataset)
            .expect("a violation of the contracts' datasets");
        let new = NewDispute {
            department: v.department.clone(),
            dataset: v.dataset.clone(),
            check: v.check.clone(),
            dimension: v.dimension,
            record_id: match scope {
                Scope::Record { .. } => v.record_id.clone(),
                Scope::Check { .. } => None,
            },
            scope,
            reason: reason.to_owned(),
            authority: checks.authority_of(ds, &v.check).map(|a| Authority {
                department: a.department.clone(),
                dataset: a.name.clone(),
            }),
            filed: Step {
                actor: format!("demo-{}", v.department),
                ..at
            },
        };
        let audit = entry(
            &new.filed,
            "department",
            "dispute.file",
            String::new(),
            format!("{}.{} {}", new.department, new.dataset, new.check),
        );
        disputes.file_dispute(&new, &audit)
    };
    let step =
        |id: i64, action: Action, actor: String, role: &str, at: Step| -> Result<(), StoreError> {
            let at = Step { actor, ..at };
            let detail = match &action {
                Action::Accept => String::new(),
                Action::Verify { answer, .. } => format!("answer {}", answer.as_str()),
                Action::Decide { decision, .. } => decision.as_str().to_owned(),
            };
            let audit = entry(&at, role, action.name(), format!("dispute {id}"), detail);
            disputes
                .act(id, &action, at, rules, calendar, &audit)?
                .ok_or_else(|| StoreError::Conflict(format!("dispute {id} is gone")))?;
            Ok(())
        };
    let record = |v: &Violation| -> Result<Option<Scope>, StoreError> {
        Ok(disputes
            .failure(&v.topic, v.partition, v.offset, &v.check)?
            .map(|f| Scope::Record {
                topic: f.at.topic,
                partition: f.at.partition,
                offset: f.at.offset,
                day: f.day,
            }))
    };
    let officer = || "demo-officer".to_owned();
    let authority_of = |v: &Violation| {
        checks
            .dataset(&v.department, &v.dataset)
            .and_then(|ds| checks.authority_of(ds, &v.check))
            .map(|a| a.department.clone())
            .unwrap_or_default()
    };

    // Upheld: filed 8 working days ago, the authority admitted its value was wrong.
    let Some(scope) = record(&upheld)? else {
        return Ok(None);
    };
    let id = file(
        &upheld,
        scope,
        "our record is the newer one: the person's name changed last month",
        back(8),
    )?;
    step(id, Action::Accept, officer(), "officer", back(7))?;
    let authority = authority_of(&upheld);
    step(
        id,
        Action::Verify {
            answer: Verification::OursWrong,
            note: Some("our register held the old name; corrected".into()),
        },
        format!("demo-{authority}"),
        "department",
        back(6),
    )?;
    step(
        id,
        Action::Decide {
            decision: Decision::Upheld,
            reason: None,
        },
        officer(),
        "officer",
        back(5),
    )?;
    filed.lines.push(format!(
        "dispute {id}: {}.{} {} upheld, charged to {authority}",
        upheld.department, upheld.dataset, upheld.check
    ));

    // Overdue at verification: accepted 7 working days ago, no answer yet.
    let Some(scope) = record(&overdue)? else {
        return Ok(None);
    };
    let id = file(
        &overdue,
        scope,
        "the authoritative value looks stale",
        back(8),
    )?;
    step(id, Action::Accept, officer(), "officer", back(7))?;
    filed.lines.push(format!(
        "dispute {id}: {}.{} {} waiting for {} to verify, overdue",
        overdue.department,
        overdue.dataset,
        overdue.check,
        authority_of(&overdue)
    ));

    // Rejected outright with a reason.
    let Some(scope) = record(&rejected)? else {
        return Ok(None);
    };
    let id = file(
        &rejected,
        scope,
        "the value was valid when we sent it",
        back(4),
    )?;
    step(
        id,
        Action::Decide {
            decision: Decision::Rejected,
            reason: Some(
                "the value does not follow the national standard the contract names".into(),
            ),
        },
        officer(),
        "officer",
        back(3),
    )?;
    filed.lines.push(format!(
        "dispute {id}: {}.{} {} rejected",
        rejected.department, rejected.dataset, rejected.check
    ));

    // A whole check over the month of its finding, filed yesterday.
    let day = checks.day_of(whole.timestamp);
    let from = day.with_day(1).unwrap_or(day);
    let to = from
        .checked_add_months(chrono::Months::new(1))
        .and_then(|d| d.pred_opt())
        .unwrap_or(day);
    let id = file(
        &whole,
        Scope::Check { from, to },
        "the rule rejects values our system has always issued",
        back(1),
    )?;
    filed.lines.push(format!(
        "dispute {id}: {}.{} {} over {from}..{to}, filed",
        whole.department, whole.dataset, whole.check
    ));

    // Accepted today, waiting for the decision.
    let Some(scope) = record(&deciding)? else {
        return Ok(None);
    };
    let id = file(
        &deciding,
        scope,
        "a duplicate of a record we withdrew",
        back(1),
    )?;
    step(id, Action::Accept, officer(), "officer", back(0))?;
    filed.lines.push(format!(
        "dispute {id}: {}.{} {} accepted, waiting for the decision",
        deciding.department, deciding.dataset, deciding.check
    ));
    Ok(Some(filed))
}

fn entry(at: &Step, role: &str, action: &str, subject: String, detail: String) -> AuditEntry {
    AuditEntry {
        at_ms: at.at_ms,
        actor: at.actor.clone(),
        role: role.to_owned(),
        action: action.to_owned(),
        subject,
        detail,
    }
}
