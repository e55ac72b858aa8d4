//! Disputes on SQLite: failures written inside a checkpoint's transaction,
//! each dispute step in an IMMEDIATE transaction with its audit entry.

use chrono::NaiveDate;
use rusqlite::{Connection, Row, Transaction, TransactionBehavior, params};

use super::codec::{day_key, parse_day};
use super::ledger::insert_audit;
use super::schema::{
    INSERT_DISPUTE, INSERT_FAILURE, PRUNE_FAILURES, SELECT_DISPUTE, SELECT_DISPUTES,
    SELECT_FAILURE, SELECT_FAILURES_FAILING, UPDATE_DISPUTE,
};
use crate::catalog::{DisputeRules, WorkingDays};
use crate::model::Dimension;
use crate::store::disputes::{
    Action, Dispute, DisputeColumns, DisputeFilter, Failure, NO_LONGER_KEPT, NewDispute, Step,
    StepColumns, Verification,
};
use crate::store::findings::RecordAt;
use crate::store::{AuditEntry, StoreError};

/// A checkpoint's failures, then the pruning of those no longer disputable.
pub(super) fn write(
    tx: &Transaction<'_>,
    failures: &[Failure],
    before_ms: Option<i64>,
) -> Result<(), StoreError> {
    if !failures.is_empty() {
        let mut stmt = tx.prepare_cached(INSERT_FAILURE)?;
        for f in failures {
            stmt.execute(params![
                f.at.topic,
                f.at.partition,
                f.at.offset,
                f.check,
                f.at.record_id,
                f.timestamp_ms,
                day_key(f.day)?,
                f.department,
                f.dataset,
                f.dimension.as_str(),
            ])?;
        }
    }
    if let Some(before) = before_ms {
        tx.prepare_cached(&PRUNE_FAILURES)?.execute([before])?;
    }
    Ok(())
}

fn failure(r: &Row<'_>) -> Result<Failure, StoreError> {
    let dimension: String = r.get(9)?;
    Ok(Failure {
        at: RecordAt {
            topic: r.get(0)?,
            partition: r.get(1)?,
            offset: r.get(2)?,
            record_id: r.get(3)?,
        },
        timestamp_ms: r.get(4)?,
        day: parse_day(&r.get::<_, String>(5)?)?,
        department: r.get(6)?,
        dataset: r.get(7)?,
        check: r.get(8)?,
        dimension: Dimension::parse(&dimension)
            .ok_or_else(|| StoreError::Corrupt("a failure's dimension is unknown".into()))?,
    })
}

pub(super) fn find_failure(
    conn: &Connection,
    topic: &str,
    partition: i32,
    offset: i64,
    check: &str,
) -> Result<Option<Failure>, StoreError> {
    let mut stmt = conn.prepare_cached(&SELECT_FAILURE)?;
    let mut rows = stmt.query(params![topic, partition, offset, check])?;
    rows.next()?.map(failure).transpose()
}

pub(super) fn failures_failing(
    conn: &Connection,
    dataset: &str,
    check: &str,
    from: NaiveDate,
    to: NaiveDate,
    at: Option<(&str, i32, i64)>,
) -> Result<Vec<Failure>, StoreError> {
    let mut stmt = conn.prepare_cached(&SELECT_FAILURES_FAILING)?;
    let (topic, partition, offset) = match at {
        Some((t, p, o)) => (Some(t), Some(p), Some(o)),
        None => (None, None, None),
    };
    let mut rows = stmt.query(params![
        dataset,
        check,
        day_key(from)?,
        day_key(to)?,
        topic,
        partition,
        offset
    ])?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        out.push(failure(r)?);
    }
    Ok(out)
}

pub(super) fn file(
    conn: &mut Connection,
    d: &NewDispute,
    audit: &AuditEntry,
) -> Result<i64, StoreError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let position = d.scope.position();
    let (from, to) = d.scope.days();
    let (topic, partition, offset) = (
        position.map(|p| p.0),
        position.map(|p| p.1),
        position.map(|p| p.2),
    );
    // The failure must still be there when the dispute is stored (the
    // IMMEDIATE transaction keeps any checkpoint's pruning out until commit).
    if let Some((t, p, o)) = position
        && find_failure(&tx, t, p, o, &d.check)?.is_none()
    {
        return Err(StoreError::Conflict(NO_LONGER_KEPT.into()));
    }
    let id: i64 = tx.prepare_cached(INSERT_DISPUTE)?.query_row(
        params![
            d.department,
            d.dataset,
            d.check,
            d.dimension.as_str(),
            topic,
            partition,
            offset,
            day_key(from)?,
            day_key(to)?,
            d.record_id,
            d.reason,
            d.authority.as_ref().map(|a| a.department.as_str()),
            d.authority.as_ref().map(|a| a.dataset.as_str()),
            d.filed.at_ms,
            day_key(d.filed.day)?,
            d.filed.actor,
        ],
        |r| r.get(0),
    )?;
    let mut audit = audit.clone();
    audit.subject = format!("dispute {id}");
    insert_audit(&tx, &audit)?;
    tx.commit()?;
    Ok(id)
}

pub(super) fn act(
    conn: &mut Connection,
    id: i64,
    action: &Action,
    step: Step,
    rules: &DisputeRules,
    calendar: &WorkingDays,
    audit: &AuditEntry,
) -> Result<Option<Dispute>, StoreError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let Some(current) = get(&tx, id)? else {
        return Ok(None);
    };
    let next = current.apply(action, step, rules, calendar)?;
    let step_cols = |s: &Option<Step>| -> Result<_, StoreError> {
        Ok(match s {
            Some(s) => (Some(s.at_ms), Some(day_key(s.day)?), Some(s.actor.clone())),
            None => (None, None, None),
        })
    };
    let (a_ms, a_day, a_by) = step_cols(&next.accepted)?;
    let (v_ms, v_day, v_by) = step_cols(&next.verified)?;
    let (d_ms, d_day, d_by) = step_cols(&next.decided)?;
    let n = tx.prepare_cached(UPDATE_DISPUTE)?.execute(params![
        id,
        next.stage.as_str(),
        a_ms,
        a_day,
        a_by,
        v_ms,
        v_day,
        v_by,
        next.verification.map(Verification::as_str),
        next.verification_note,
        d_ms,
        d_day,
        d_by,
        next.decision_reason,
        current.stage.as_str(),
    ])?;
    if n != 1 {
        // The IMMEDIATE transaction holds the write lock since the read.
        return Err(StoreError::Conflict(format!(
            "dispute {id} changed meanwhile"
        )));
    }
    insert_audit(&tx, audit)?;
    tx.commit()?;
    Ok(Some(next))
}

pub(super) fn get(conn: &Connection, id: i64) -> Result<Option<Dispute>, StoreError> {
    let mut stmt = conn.prepare_cached(&SELECT_DISPUTE)?;
    let mut rows = stmt.query([id])?;
    rows.next()?.map(dispute).transpose()
}

pub(super) fn list(
    conn: &Connection,
    filter: &DisputeFilter,
    limit: usize,
) -> Result<Vec<Dispute>, StoreError> {
    // Filtered here, by the one rule both backends share: disputes are few
    // (a department files tens a year), so no index is worth its upkeep.
    let mut stmt = conn.prepare_cached(&SELECT_DISPUTES)?;
    let mut rows = stmt.query([])?;
    let mut out = Vec::new();
    while out.len() < limit
        && let Some(r) = rows.next()?
    {
        let d = dispute(r)?;
        if filter.matches(&d) {
            out.push(d);
        }
    }
    Ok(out)
}

fn dispute(r: &Row<'_>) -> Result<Dispute, StoreError> {
    let day = |i: usize| -> Result<Option<NaiveDate>, StoreError> {
        r.get::<_, Option<String>>(i)?
            .map(|t| parse_day(&t))
            .transpose()
    };
    let step = |i: usize| -> Result<StepColumns, StoreError> {
        Ok((r.get(i)?, day(i + 1)?, r.get(i + 2)?))
    };
    let corrupt = || StoreError::Corrupt("a dispute's days are missing".into());
    DisputeColumns {
        id: r.get(0)?,
        department: r.get(1)?,
        dataset: r.get(2)?,
        check: r.get(3)?,
        dimension: r.get(4)?,
        topic: r.get(5)?,
        partition: r.get(6)?,
        offset: r.get(7)?,
        from: day(8)?.ok_or_else(corrupt)?,
        to: day(9)?.ok_or_else(corrupt)?,
        record_id: r.get(10)?,
        reason: r.get(11)?,
        authority_department: r.get(12)?,
        authority_dataset: r.get(13)?,
        stage: r.get(14)?,
        steps: [step(15)?, step(18)?, step(21)?, step(26)?],
        verification: r.get(24)?,
        verification_note: r.get(25)?,
        decision_reason: r.get(29)?,
    }
    .into_dispute()
}
