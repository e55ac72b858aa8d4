//! Disputes on PostgreSQL: failures written inside a checkpoint's
//! transaction as whole arrays, each dispute step in one transaction with
//! its audit entry, the dispute's row locked from its read to the commit.

use chrono::NaiveDate;
use postgres::Row;

use super::codec::check_day;
use super::ledger::insert_audit;
use super::schema::{
    INSERT_DISPUTE, INSERT_FAILURES, PRUNE_FAILURES, SELECT_DISPUTE, SELECT_DISPUTE_FOR_UPDATE,
    SELECT_DISPUTES, SELECT_FAILURE, SELECT_FAILURES_FAILING, SELECT_FAILURES_FAILING_AT,
    UPDATE_DISPUTE,
};
use super::{Conn, PostgresStore};
use crate::catalog::{DisputeRules, WorkingDays};
use crate::model::Dimension;
use crate::store::disputes::{
    Action, Dispute, DisputeColumns, DisputeFilter, DisputeStore, Failure, NO_LONGER_KEPT,
    NewDispute, Step, StepColumns, Verification,
};
use crate::store::findings::RecordAt;
use crate::store::{AuditEntry, StoreError};

/// A checkpoint's failures (one statement), then the pruning of those no
/// longer disputable.
pub(super) fn write(
    conn: &mut Conn<'_>,
    failures: &[Failure],
    before_ms: Option<i64>,
) -> Result<(), StoreError> {
    if !failures.is_empty() {
        let topics: Vec<&str> = failures.iter().map(|f| f.at.topic.as_str()).collect();
        let partitions: Vec<i32> = failures.iter().map(|f| f.at.partition).collect();
        let offsets: Vec<i64> = failures.iter().map(|f| f.at.offset).collect();
        let checks: Vec<&str> = failures.iter().map(|f| f.check.as_str()).collect();
        let ids: Vec<Option<&str>> = failures.iter().map(|f| f.at.record_id.as_deref()).collect();
        let at: Vec<i64> = failures.iter().map(|f| f.timestamp_ms).collect();
        let days = failures
            .iter()
            .map(|f| check_day(f.day))
            .collect::<Result<Vec<NaiveDate>, _>>()?;
        let departments: Vec<&str> = failures.iter().map(|f| f.department.as_str()).collect();
        let datasets: Vec<&str> = failures.iter().map(|f| f.dataset.as_str()).collect();
        let dimensions: Vec<&str> = failures.iter().map(|f| f.dimension.as_str()).collect();
        conn.execute(
            INSERT_FAILURES,
            &[
                &topics,
                &partitions,
                &offsets,
                &checks,
                &ids,
                &at,
                &days,
                &departments,
                &datasets,
                &dimensions,
            ],
        )?;
    }
    if let Some(before) = before_ms {
        conn.execute(&PRUNE_FAILURES, &[&before])?;
    }
    Ok(())
}

fn failure(r: &Row) -> Result<Failure, StoreError> {
    let dimension: &str = r.try_get(9)?;
    Ok(Failure {
        at: RecordAt {
            topic: r.try_get(0)?,
            partition: r.try_get(1)?,
            offset: r.try_get(2)?,
            record_id: r.try_get(3)?,
        },
        timestamp_ms: r.try_get(4)?,
        day: r.try_get(5)?,
        department: r.try_get(6)?,
        dataset: r.try_get(7)?,
        check: r.try_get(8)?,
        dimension: Dimension::parse(dimension)
            .ok_or_else(|| StoreError::Corrupt("a failure's dimension is unknown".into()))?,
    })
}

fn find_failure(
    conn: &mut Conn<'_>,
    topic: &str,
    partition: i32,
    offset: i64,
    check: &str,
) -> Result<Option<Failure>, StoreError> {
    conn.query(&SELECT_FAILURE, &[&topic, &partition, &offset, &check])?
        .first()
        .map(failure)
        .transpose()
}

fn failures_failing(
    conn: &mut Conn<'_>,
    dataset: &str,
    check: &str,
    from: NaiveDate,
    to: NaiveDate,
    at: Option<(&str, i32, i64)>,
) -> Result<Vec<Failure>, StoreError> {
    let (from, to) = (check_day(from)?, check_day(to)?);
    let rows = match at {
        Some((topic, partition, offset)) => conn.query(
            &SELECT_FAILURES_FAILING_AT,
            &[&dataset, &check, &from, &to, &topic, &partition, &offset],
        )?,
        None => conn.query(&SELECT_FAILURES_FAILING, &[&dataset, &check, &from, &to])?,
    };
    rows.iter().map(failure).collect()
}

fn file(conn: &mut Conn<'_>, d: &NewDispute, audit: &AuditEntry) -> Result<i64, StoreError> {
    let position = d.scope.position();
    let (from, to) = d.scope.days();
    let (topic, partition, offset) = (
        position.map(|p| p.0),
        position.map(|p| p.1),
        position.map(|p| p.2),
    );
    // The failure must still be there when the dispute is stored, and stay
    // (a concurrent checkpoint's pruning waits for this lock).
    if let Some((t, p, o)) = position
        && conn
            .query(
                "SELECT 1 FROM failures WHERE topic = $1 AND partition_id = $2 \
                 AND record_offset = $3 AND check_id = $4 FOR KEY SHARE",
                &[&t, &p, &o, &d.check],
            )?
            .is_empty()
    {
        return Err(StoreError::Conflict(NO_LONGER_KEPT.into()));
    }
    let (from, to, filed_day) = (check_day(from)?, check_day(to)?, check_day(d.filed.day)?);
    let rows = conn.query(
        INSERT_DISPUTE,
        &[
            &d.department,
            &d.dataset,
            &d.check,
            &d.dimension.as_str(),
            &topic,
            &partition,
            &offset,
            &from,
            &to,
            &d.record_id,
            &d.reason,
            &d.authority.as_ref().map(|a| a.department.as_str()),
            &d.authority.as_ref().map(|a| a.dataset.as_str()),
            &d.filed.at_ms,
            &filed_day,
            &d.filed.actor,
        ],
    )?;
    let id: i64 = rows
        .first()
        .ok_or_else(|| StoreError::Backend("a dispute insert returned no id".into()))?
        .try_get(0)?;
    let mut audit = audit.clone();
    audit.subject = format!("dispute {id}");
    insert_audit(conn, &audit)?;
    Ok(id)
}

/// A step's columns: time, day, actor (all NULL when not done).
type StepParams<'a> = (Option<i64>, Option<NaiveDate>, Option<&'a str>);

fn step_columns(s: &Option<Step>) -> Result<StepParams<'_>, StoreError> {
    Ok(match s {
        Some(s) => (
            Some(s.at_ms),
            Some(check_day(s.day)?),
            Some(s.actor.as_str()),
        ),
        None => (None, None, None),
    })
}

fn act(
    conn: &mut Conn<'_>,
    id: i64,
    action: &Action,
    step: Step,
    rules: &DisputeRules,
    calendar: &WorkingDays,
    audit: &AuditEntry,
) -> Result<Option<Dispute>, StoreError> {
    let Some(current) = get(conn, &SELECT_DISPUTE_FOR_UPDATE, id)? else {
        return Ok(None);
    };
    let next = current.apply(action, step, rules, calendar)?;
    let (a_ms, a_day, a_by) = step_columns(&next.accepted)?;
    let (v_ms, v_day, v_by) = step_columns(&next.verified)?;
    let (d_ms, d_day, d_by) = step_columns(&next.decided)?;
    let n = conn.execute(
        UPDATE_DISPUTE,
        &[
            &id,
            &next.stage.as_str(),
            &a_ms,
            &a_day,
            &a_by,
            &v_ms,
            &v_day,
            &v_by,
            &next.verification.map(Verification::as_str),
            &next.verification_note,
            &d_ms,
            &d_day,
            &d_by,
            &next.decision_reason,
            &current.stage.as_str(),
        ],
    )?;
    if n != 1 {
        // The row is locked since the read: only a change past dqmon gets here.
        return Err(StoreError::Conflict(format!(
            "dispute {id} changed meanwhile"
        )));
    }
    insert_audit(conn, audit)?;
    Ok(Some(next))
}

fn get(conn: &mut Conn<'_>, sql: &'static str, id: i64) -> Result<Option<Dispute>, StoreError> {
    conn.query(sql, &[&id])?.first().map(dispute).transpose()
}

fn list(
    conn: &mut Conn<'_>,
    filter: &DisputeFilter,
    limit: usize,
) -> Result<Vec<Dispute>, StoreError> {
    // Filtered here, by the one rule both backends share: disputes are few
    // (a department files tens a year), so no index is worth its upkeep.
    let mut out = Vec::new();
    for r in conn.query(&SELECT_DISPUTES, &[])? {
        if out.len() >= limit {
            break;
        }
        let d = dispute(&r)?;
        if filter.matches(&d) {
            out.push(d);
        }
    }
    Ok(out)
}

fn dispute(r: &Row) -> Result<Dispute, StoreError> {
    let step = |i: usize| -> Result<StepColumns, StoreError> {
        Ok((r.try_get(i)?, r.try_get(i + 1)?, r.try_get(i + 2)?))
    };
    DisputeColumns {
        id: r.try_get(0)?,
        department: r.try_get(1)?,
        dataset: r.try_get(2)?,
        check: r.try_get(3)?,
        dimension: r.try_get(4)?,
        topic: r.try_get(5)?,
        partition: r.try_get(6)?,
        offset: r.try_get(7)?,
        from: r.try_get(8)?,
        to: r.try_get(9)?,
        record_id: r.try_get(10)?,
        reason: r.try_get(11)?,
        authority_department: r.try_get(12)?,
        authority_dataset: r.try_get(13)?,
        stage: r.try_get(14)?,
        steps: [step(15)?, step(18)?, step(21)?, step(26)?],
        verification: r.try_get(24)?,
        verification_note: r.try_get(25)?,
        decision_reason: r.try_get(29)?,
    }
    .into_dispute()
}

/// Steps on the writer's session (one transaction each, as seals), reads on
/// the readers' (one snapshot each).
impl DisputeStore for PostgresStore {
    fn file_dispute(&self, dispute: &NewDispute, audit: &AuditEntry) -> Result<i64, StoreError> {
        let mut session = self.writer()?;
        let mut conn = session.begin()?;
        let id = file(&mut conn, dispute, audit)?;
        conn.commit()?;
        Ok(id)
    }

    fn act(
        &self,
        id: i64,
        action: &Action,
        step: Step,
        rules: &DisputeRules,
        calendar: &WorkingDays,
        audit: &AuditEntry,
    ) -> Result<Option<Dispute>, StoreError> {
        let mut session = self.writer()?;
        let mut conn = session.begin()?;
        let done = act(&mut conn, id, action, step, rules, calendar, audit)?;
        conn.commit()?;
        Ok(done)
    }

    fn dispute(&self, id: i64) -> Result<Option<Dispute>, StoreError> {
        let mut session = self.reader()?;
        let mut conn = session.begin_snapshot()?;
        let found = get(&mut conn, &SELECT_DISPUTE, id)?;
        conn.commit()?;
        Ok(found)
    }

    fn disputes(&self, filter: &DisputeFilter, limit: usize) -> Result<Vec<Dispute>, StoreError> {
        let mut session = self.reader()?;
        let mut conn = session.begin_snapshot()?;
        let rows = list(&mut conn, filter, limit)?;
        conn.commit()?;
        Ok(rows)
    }

    fn failure(
        &self,
        topic: &str,
        partition: i32,
        offset: i64,
        check: &str,
    ) -> Result<Option<Failure>, StoreError> {
        let mut session = self.reader()?;
        let mut conn = session.begin_snapshot()?;
        let found = find_failure(&mut conn, topic, partition, offset, check)?;
        conn.commit()?;
        Ok(found)
    }

    fn failures_failing(
        &self,
        dataset: &str,
        check: &str,
        from: NaiveDate,
        to: NaiveDate,
        at: Option<(&str, i32, i64)>,
    ) -> Result<Vec<Failure>, StoreError> {
        let mut session = self.reader()?;
        let mut conn = session.begin_snapshot()?;
        let rows = failures_failing(&mut conn, dataset, check, from, to, at)?;
        conn.commit()?;
        Ok(rows)
    }
}
