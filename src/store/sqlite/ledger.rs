//! The ledger's reads and writes on SQLite: a seal and its audit entry in
//! one IMMEDIATE transaction, so two instances sealing the same period at
//! once cannot both write version n.

use chrono::NaiveDate;
use rusqlite::{Connection, OptionalExtension, Row, TransactionBehavior, params};

use super::codec::{blob, day_key, parse_day};
use super::schema::{
    INSERT_AUDIT, INSERT_SEAL, SELECT_AUDIT, SELECT_SEAL_HEAD, SELECT_SEALED_PERIODS, SELECT_SEALS,
};
use crate::store::ledger::check_next;
use crate::store::{AuditEntry, AuditRecord, SealHead, SealRow, StoreError};

pub(super) fn seal(
    conn: &mut Connection,
    row: &SealRow,
    audit: &AuditEntry,
) -> Result<(), StoreError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let (from, to) = (day_key(row.from)?, day_key(row.to)?);
    let head: Option<(u32, String)> = tx
        .prepare_cached(SELECT_SEAL_HEAD)?
        .query_row(params![from, to], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    check_next(head.as_ref().map(|(v, s)| (*v, s.as_str())), row)?;
    tx.prepare_cached(INSERT_SEAL)?.execute(params![
        from,
        to,
        row.version,
        row.sha256,
        row.amends,
        row.report,
        row.at_ms,
        row.actor
    ])?;
    insert_audit(&tx, audit)?;
    tx.commit()?;
    Ok(())
}

pub(super) fn seals(
    conn: &Connection,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<SealRow>, StoreError> {
    let mut stmt = conn.prepare_cached(&SELECT_SEALS)?;
    let mut rows = stmt.query(params![day_key(from)?, day_key(to)?])?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        out.push(SealRow {
            from: parse_day(&r.get::<_, String>(0)?)?,
            to: parse_day(&r.get::<_, String>(1)?)?,
            version: r.get(2)?,
            sha256: r.get(3)?,
            amends: r.get(4)?,
            report: blob(r, 5)?.to_vec(),
            at_ms: r.get(6)?,
            actor: r.get(7)?,
        });
    }
    Ok(out)
}

pub(super) fn sealed_periods(conn: &Connection) -> Result<Vec<SealHead>, StoreError> {
    let mut stmt = conn.prepare_cached(SELECT_SEALED_PERIODS)?;
    let mut rows = stmt.query([])?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        out.push(SealHead {
            from: parse_day(&r.get::<_, String>(0)?)?,
            to: parse_day(&r.get::<_, String>(1)?)?,
            version: r.get(2)?,
            sha256: r.get(3)?,
            amends: r.get(4)?,
            at_ms: r.get(5)?,
            actor: r.get(6)?,
        });
    }
    // Rust's order, whatever the SQL collation (the days are ISO text).
    out.sort_by_key(|h| (h.from, h.to));
    Ok(out)
}

pub(super) fn append_audit(conn: &mut Connection, entry: &AuditEntry) -> Result<i64, StoreError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let id = insert_audit(&tx, entry)?;
    tx.commit()?;
    Ok(id)
}

pub(super) fn insert_audit(conn: &Connection, e: &AuditEntry) -> Result<i64, StoreError> {
    Ok(conn.prepare_cached(INSERT_AUDIT)?.query_row(
        params![e.at_ms, e.actor, e.role, e.action, e.subject, e.detail],
        |r| r.get(0),
    )?)
}

pub(super) fn audit(
    conn: &Connection,
    before: Option<i64>,
    limit: usize,
) -> Result<Vec<AuditRecord>, StoreError> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let mut stmt = conn.prepare_cached(SELECT_AUDIT)?;
    let mut rows = stmt.query(params![before.unwrap_or(i64::MAX), limit])?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        out.push(audit_record(r)?);
    }
    Ok(out)
}

fn audit_record(r: &Row<'_>) -> Result<AuditRecord, StoreError> {
    Ok(AuditRecord {
        id: r.get(0)?,
        entry: AuditEntry {
            at_ms: r.get(1)?,
            actor: r.get(2)?,
            role: r.get(3)?,
            action: r.get(4)?,
            subject: r.get(5)?,
            detail: r.get(6)?,
        },
    })
}
