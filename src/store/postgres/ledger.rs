//! The ledger's reads and writes on PostgreSQL: a seal and its audit entry
//! in one transaction, under a table lock so that two instances sealing one
//! period at once cannot both write version n.

use chrono::NaiveDate;
use postgres::Row;

use super::Conn;
use super::codec::{check_day, narrow};
use super::schema::{
    INSERT_AUDIT, INSERT_SEAL, LOCK_LEDGER, SELECT_AUDIT, SELECT_SEAL_HEAD, SELECT_SEALED_PERIODS,
    SELECT_SEALS,
};
use crate::store::ledger::check_next;
use crate::store::{AuditEntry, AuditRecord, SealHead, SealRow, StoreError};

pub(super) fn seal(
    conn: &mut Conn<'_>,
    row: &SealRow,
    audit: &AuditEntry,
) -> Result<(), StoreError> {
    let (from, to) = (check_day(row.from)?, check_day(row.to)?);
    conn.batch_execute(LOCK_LEDGER)?;
    let head = conn.query(SELECT_SEAL_HEAD, &[&from, &to])?;
    let head: Option<(u32, String)> = match head.first() {
        Some(r) => Some((
            narrow(i64::from(r.try_get::<_, i32>(0)?), "version")?,
            r.try_get(1)?,
        )),
        None => None,
    };
    check_next(head.as_ref().map(|(v, s)| (*v, s.as_str())), row)?;
    let version = i32::try_from(row.version)
        .map_err(|_| StoreError::Invalid("a seal version beyond 32-bit integers".into()))?;
    conn.execute(
        INSERT_SEAL,
        &[
            &from,
            &to,
            &version,
            &row.sha256,
            &row.amends,
            &row.report,
            &row.at_ms,
            &row.actor,
        ],
    )?;
    insert_audit(conn, audit)?;
    Ok(())
}

pub(super) fn seals(
    conn: &mut Conn<'_>,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<SealRow>, StoreError> {
    conn.query(SELECT_SEALS, &[&from, &to])?
        .iter()
        .map(|r| {
            Ok(SealRow {
                from: r.try_get(0)?,
                to: r.try_get(1)?,
                version: version(r, 2)?,
                sha256: r.try_get(3)?,
                amends: r.try_get(4)?,
                report: r.try_get(5)?,
                at_ms: r.try_get(6)?,
                actor: r.try_get(7)?,
            })
        })
        .collect()
}

pub(super) fn sealed_periods(conn: &mut Conn<'_>) -> Result<Vec<SealHead>, StoreError> {
    let mut out: Vec<SealHead> = conn
        .query(SELECT_SEALED_PERIODS, &[])?
        .iter()
        .map(|r| {
            Ok(SealHead {
                from: r.try_get(0)?,
                to: r.try_get(1)?,
                version: version(r, 2)?,
                sha256: r.try_get(3)?,
                amends: r.try_get(4)?,
                at_ms: r.try_get(5)?,
                actor: r.try_get(6)?,
            })
        })
        .collect::<Result<_, StoreError>>()?;
    out.sort_by_key(|h| (h.from, h.to));
    Ok(out)
}

pub(super) fn insert_audit(conn: &mut Conn<'_>, e: &AuditEntry) -> Result<i64, StoreError> {
    let rows = conn.query(
        INSERT_AUDIT,
        &[
            &e.at_ms, &e.actor, &e.role, &e.action, &e.subject, &e.detail,
        ],
    )?;
    let row = rows
        .first()
        .ok_or_else(|| StoreError::Backend("an audit insert returned no id".into()))?;
    Ok(row.try_get(0)?)
}

pub(super) fn audit(
    conn: &mut Conn<'_>,
    before: Option<i64>,
    limit: usize,
) -> Result<Vec<AuditRecord>, StoreError> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    conn.query(SELECT_AUDIT, &[&before.unwrap_or(i64::MAX), &limit])?
        .iter()
        .map(|r| {
            Ok(AuditRecord {
                id: r.try_get(0)?,
                entry: AuditEntry {
                    at_ms: r.try_get(1)?,
                    actor: r.try_get(2)?,
                    role: r.try_get(3)?,
                    action: r.try_get(4)?,
                    subject: r.try_get(5)?,
                    detail: r.try_get(6)?,
                },
            })
        })
        .collect()
}

fn version(r: &Row, i: usize) -> Result<u32, StoreError> {
    narrow(i64::from(r.try_get::<_, i32>(i)?), "version")
}
