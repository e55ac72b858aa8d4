//! Findings on PostgreSQL: written inside a checkpoint's transaction as
//! whole arrays (one statement for the openings, one for the fixes), read
//! for the engine's restore, the summary and the lists.

use std::collections::BTreeSet;

use chrono::NaiveDate;
use postgres::Row;

use super::Conn;
use super::codec::{check_day, key_bytes, key_from_bytes};
use super::schema::{
    SELECT_FINDINGS, SELECT_FIXED_COUNTS, SELECT_FIXED_MIDDLE, SELECT_OPEN_BY_DAY,
    SELECT_OPEN_FINDINGS, UPDATE_FINDINGS_FIXED, UPSERT_FINDINGS_OPENED,
};
use crate::model::Dimension;
use crate::store::StoreError;
use crate::store::findings::{
    FindingFixed, FindingOpened, FindingRecord, FixedStats, OpenFindingRow, RecordAt, Status,
    median,
};

/// Openings first, then fixes: a checkpoint may hold both of one finding.
pub(super) fn write(
    conn: &mut Conn<'_>,
    opened: &[FindingOpened],
    fixed: &[FindingFixed],
) -> Result<(), StoreError> {
    if !opened.is_empty() {
        let keys: Vec<[u8; 16]> = opened.iter().map(|f| key_bytes(f.key)).collect();
        let keys: Vec<&[u8]> = keys.iter().map(|k| &k[..]).collect();
        let days = opened
            .iter()
            .map(|f| check_day(f.opened_day))
            .collect::<Result<Vec<NaiveDate>, _>>()?;
        let datasets: Vec<&str> = opened.iter().map(|f| f.dataset.as_str()).collect();
        let checks: Vec<&str> = opened.iter().map(|f| f.check.as_str()).collect();
        let at: Vec<i64> = opened.iter().map(|f| f.opened_ms).collect();
        let departments: Vec<&str> = opened.iter().map(|f| f.department.as_str()).collect();
        let dimensions: Vec<&str> = opened.iter().map(|f| f.dimension.as_str()).collect();
        let topics: Vec<&str> = opened.iter().map(|f| f.at.topic.as_str()).collect();
        let partitions: Vec<i32> = opened.iter().map(|f| f.at.partition).collect();
        let offsets: Vec<i64> = opened.iter().map(|f| f.at.offset).collect();
        let ids: Vec<Option<&str>> = opened.iter().map(|f| f.at.record_id.as_deref()).collect();
        conn.execute(
            UPSERT_FINDINGS_OPENED,
            &[
                &datasets,
                &keys,
                &checks,
                &at,
                &departments,
                &dimensions,
                &days,
                &topics,
                &partitions,
                &offsets,
                &ids,
            ],
        )?;
    }
    if !fixed.is_empty() {
        let keys: Vec<[u8; 16]> = fixed.iter().map(|f| key_bytes(f.key)).collect();
        let keys: Vec<&[u8]> = keys.iter().map(|k| &k[..]).collect();
        let datasets: Vec<&str> = fixed.iter().map(|f| f.dataset.as_str()).collect();
        let checks: Vec<&str> = fixed.iter().map(|f| f.check.as_str()).collect();
        let opened_at: Vec<i64> = fixed.iter().map(|f| f.opened_ms).collect();
        let fixed_at: Vec<i64> = fixed.iter().map(|f| f.fixed_ms).collect();
        let partitions: Vec<i32> = fixed.iter().map(|f| f.at.partition).collect();
        let offsets: Vec<i64> = fixed.iter().map(|f| f.at.offset).collect();
        let ids: Vec<Option<&str>> = fixed.iter().map(|f| f.at.record_id.as_deref()).collect();
        let updated = conn.execute(
            UPDATE_FINDINGS_FIXED,
            &[
                &datasets,
                &keys,
                &checks,
                &opened_at,
                &fixed_at,
                &partitions,
                &offsets,
                &ids,
            ],
        )?;
        // One row per opening however often the checkpoint fixes it.
        let openings: BTreeSet<(&str, [u64; 2], &str, i64)> = fixed
            .iter()
            .map(|f| (f.dataset.as_str(), f.key, f.check.as_str(), f.opened_ms))
            .collect();
        if usize::try_from(updated).ok() != Some(openings.len()) {
            // The engine fixes only what it restored or opened, so the rows exist.
            return Err(StoreError::Corrupt(
                "a fixed finding has no stored opening".into(),
            ));
        }
    }
    Ok(())
}

pub(super) fn open_findings(conn: &mut Conn<'_>) -> Result<Vec<OpenFindingRow>, StoreError> {
    conn.query(SELECT_OPEN_FINDINGS, &[])?
        .iter()
        .map(|r| {
            Ok(OpenFindingRow {
                key: key_from_bytes(r.try_get(0)?)?,
                dataset: r.try_get(1)?,
                check: r.try_get(2)?,
                opened_ms: r.try_get(3)?,
            })
        })
        .collect()
}

pub(super) fn open_by_day(
    conn: &mut Conn<'_>,
    department: Option<&str>,
) -> Result<Vec<(String, NaiveDate, u64)>, StoreError> {
    conn.query(SELECT_OPEN_BY_DAY, &[&department])?
        .iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?, count(r.try_get(2)?)?)))
        .collect()
}

pub(super) fn fixed_stats(
    conn: &mut Conn<'_>,
    department: Option<&str>,
) -> Result<Vec<(String, FixedStats)>, StoreError> {
    let counts: Vec<(String, i64)> = conn
        .query(SELECT_FIXED_COUNTS, &[&department])?
        .iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
        .collect::<Result<_, StoreError>>()?;
    let mut out = Vec::with_capacity(counts.len());
    for (department, n) in counts {
        let take: i64 = if n % 2 == 0 { 2 } else { 1 };
        let values: Vec<i64> = conn
            .query(SELECT_FIXED_MIDDLE, &[&department, &((n - 1) / 2), &take])?
            .iter()
            .map(|r| r.try_get(0))
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
    conn: &mut Conn<'_>,
    department: Option<&str>,
    status: Status,
    opened_until: Option<NaiveDate>,
    limit: usize,
) -> Result<Vec<FindingRecord>, StoreError> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let fixed = status == Status::Fixed;
    let until = opened_until.map(check_day).transpose()?;
    conn.query(SELECT_FINDINGS, &[&department, &fixed, &limit, &until])?
        .iter()
        .map(record)
        .collect()
}

fn record(r: &Row) -> Result<FindingRecord, StoreError> {
    let dimension: &str = r.try_get(3)?;
    let topic: String = r.try_get(6)?;
    let fixed_ms: Option<i64> = r.try_get(10)?;
    let fixed = match fixed_ms {
        Some(ms) => Some((
            ms,
            RecordAt {
                topic: topic.clone(),
                partition: r.try_get::<_, Option<i32>>(11)?.unwrap_or_default(),
                offset: r.try_get::<_, Option<i64>>(12)?.unwrap_or_default(),
                record_id: r.try_get(13)?,
            },
        )),
        None => None,
    };
    Ok(FindingRecord {
        department: r.try_get(0)?,
        dataset: r.try_get(1)?,
        check: r.try_get(2)?,
        dimension: Dimension::parse(dimension)
            .ok_or_else(|| StoreError::Corrupt("unknown dimension of a finding".into()))?,
        opened_ms: r.try_get(4)?,
        opened_day: r.try_get(5)?,
        opened: RecordAt {
            topic,
            partition: r.try_get(7)?,
            offset: r.try_get(8)?,
            record_id: r.try_get(9)?,
        },
        fixed,
    })
}

fn count(n: i64) -> Result<u64, StoreError> {
    u64::try_from(n).map_err(|_| StoreError::Corrupt("negative count".into()))
}
