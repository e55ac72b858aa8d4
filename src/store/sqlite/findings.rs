//! Findings on SQLite: written inside a checkpoint's transaction, read for
//! the engine's restore, the summary and the lists.

use chrono::NaiveDate;
use rusqlite::{Connection, Row, Transaction, params};

use super::codec::{blob, day_key, key_bytes, key_from_bytes, parse_day};
use super::schema::{
    SELECT_FINDINGS, SELECT_FIXED_COUNTS, SELECT_FIXED_MIDDLE, SELECT_OPEN_BY_DAY,
    SELECT_OPEN_FINDINGS, UPDATE_FINDING_FIXED, UPSERT_FINDING_OPENED,
};
use crate::model::Dimension;
use crate::store::StoreError;
use crate::store::findings::{
    FindingFixed, FindingOpened, FindingRecord, FixedStats, OpenFindingRow, RecordAt, Status,
    median,
};

/// Openings first, then fixes: a checkpoint may hold both of one finding.
pub(super) fn write(
    tx: &Transaction<'_>,
    opened: &[FindingOpened],
    fixed: &[FindingFixed],
) -> Result<(), StoreError> {
    if !opened.is_empty() {
        let mut stmt = tx.prepare_cached(UPSERT_FINDING_OPENED)?;
        for f in opened {
            stmt.execute(params![
                f.dataset,
                key_bytes(f.key),
                f.check,
                f.opened_ms,
                f.department,
                f.dimension.as_str(),
                day_key(f.opened_day)?,
                f.at.topic,
                f.at.partition,
                f.at.offset,
                f.at.record_id,
            ])?;
        }
    }
    if !fixed.is_empty() {
        let mut stmt = tx.prepare_cached(UPDATE_FINDING_FIXED)?;
        for f in fixed {
            let n = stmt.execute(params![
                f.dataset,
                key_bytes(f.key),
                f.check,
                f.opened_ms,
                f.fixed_ms,
                f.at.partition,
                f.at.offset,
                f.at.record_id,
            ])?;
            if n != 1 {
                // The engine fixes only what it restored or opened, so the row exists.
                return Err(StoreError::Corrupt(
                    "a fixed finding has no stored opening".into(),
                ));
            }
        }
    }
    Ok(())
}

pub(super) fn open_findings(conn: &Connection) -> Result<Vec<OpenFindingRow>, StoreError> {
    let mut stmt = conn.prepare_cached(SELECT_OPEN_FINDINGS)?;
    let mut rows = stmt.query([])?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        out.push(OpenFindingRow {
            key: key_from_bytes(blob(r, 0)?)?,
            dataset: r.get(1)?,
            check: r.get(2)?,
            opened_ms: r.get(3)?,
        });
    }
    Ok(out)
}

pub(super) fn open_by_day(
    conn: &Connection,
    department: Option<&str>,
) -> Result<Vec<(String, NaiveDate, u64)>, StoreError> {
    let mut stmt = conn.prepare_cached(SELECT_OPEN_BY_DAY)?;
    let mut rows = stmt.query(params![department])?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        out.push((
            r.get(0)?,
            parse_day(&r.get::<_, String>(1)?)?,
            count(r.get(2)?)?,
        ));
    }
    Ok(out)
}

pub(super) fn fixed_stats(
    conn: &Connection,
    department: Option<&str>,
) -> Result<Vec<(String, FixedStats)>, StoreError> {
    let counts: Vec<(String, i64)> = conn
        .prepare_cached(SELECT_FIXED_COUNTS)?
        .query_map(params![department], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    let mut middle = conn.prepare_cached(SELECT_FIXED_MIDDLE)?;
    let mut out = Vec::with_capacity(counts.len());
    for (department, n) in counts {
        let take = if n % 2 == 0 { 2 } else { 1 };
        let values: Vec<i64> = middle
            .query_map(params![department, (n - 1) / 2, take], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        out.push((
            department,
            FixedStats {
                fixed: count(n)?,
                median_ms: median(&values),
            },
        ));
    }
    Ok(out)
}

pub(super) fn list(
    conn: &Connection,
    department: Option<&str>,
    status: Status,
    opened_until: Option<NaiveDate>,
    limit: usize,
) -> Result<Vec<FindingRecord>, StoreError> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let fixed = i64::from(status == Status::Fixed);
    let until = opened_until.map(day_key).transpose()?;
    let mut stmt = conn.prepare_cached(SELECT_FINDINGS)?;
    let mut rows = stmt.query(params![department, fixed, limit, until])?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        out.push(record(r)?);
    }
    Ok(out)
}

fn record(r: &Row<'_>) -> Result<FindingRecord, StoreError> {
    let dimension: String = r.get(3)?;
    let topic: String = r.get(6)?;
    let fixed_ms: Option<i64> = r.get(10)?;
    let fixed = match fixed_ms {
        Some(ms) => Some((
            ms,
            RecordAt {
                topic: topic.clone(),
                partition: r.get::<_, Option<i32>>(11)?.unwrap_or_default(),
                offset: r.get::<_, Option<i64>>(12)?.unwrap_or_default(),
                record_id: r.get(13)?,
            },
        )),
        None => None,
    };
    Ok(FindingRecord {
        department: r.get(0)?,
        dataset: r.get(1)?,
        check: r.get(2)?,
        dimension: Dimension::parse(&dimension)
            .ok_or_else(|| StoreError::Corrupt("unknown dimension of a finding".into()))?,
        opened_ms: r.get(4)?,
        opened_day: parse_day(&r.get::<_, String>(5)?)?,
        opened: RecordAt {
            topic,
            partition: r.get(7)?,
            offset: r.get(8)?,
            record_id: r.get(9)?,
        },
        fixed,
    })
}

fn count(n: i64) -> Result<u64, StoreError> {
    u64::try_from(n).map_err(|_| StoreError::Corrupt("negative count".into()))
}
