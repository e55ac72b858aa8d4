//! Reads: counts of a period (summed or per day), offsets, the engine's
//! state rows, recent violations. Output order is fixed here, in Rust, as
//! the SQLite backend fixes it, whatever the database's collation.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use postgres::Row;

use super::Conn;
use super::codec::{
    check_counts_from_row, counts_from_row, key_from_bytes, narrow, query_range, values_from_bytes,
};
use super::schema::{
    SELECT_CHECKS_DAILY, SELECT_CHECKS_SUMMED, SELECT_DAILY, SELECT_OFFSETS,
    SELECT_RECENT_VIOLATIONS, SELECT_RECENT_VIOLATIONS_OF_DEPARTMENT, SELECT_REFERENCES,
    SELECT_SEEN, SELECT_SUMMED,
};
use crate::model::{Dimension, PartitionOffset, Violation};
use crate::store::{DayCounts, ReferenceRow, SeenRow, StoreError};

/// How [`counts`] groups the days of its range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Days {
    /// One row per (department, dataset), its `day` the range's first day.
    Summed,
    /// One row per (day, department, dataset); only tests that compare
    /// whole stores read these.
    #[cfg_attr(not(test), allow(dead_code))]
    Each,
}

type CountsKey = (NaiveDate, String, String);

/// Counts of the days `from..=to`, optionally of one department, with their
/// checks; sorted by (day, department, dataset), checks by id. The caller
/// runs both statements in one snapshot.
pub(crate) fn counts(
    conn: &mut Conn<'_>,
    from: NaiveDate,
    to: NaiveDate,
    department: Option<&str>,
    days: Days,
) -> Result<Vec<DayCounts>, StoreError> {
    let Some((lo, hi)) = query_range(from, to) else {
        return Ok(Vec::new());
    };
    let key_of = |row: &Row| -> Result<CountsKey, StoreError> {
        let day = match days {
            Days::Summed => from,
            Days::Each => row.try_get(0)?,
        };
        Ok((day, row.try_get(1)?, row.try_get(2)?))
    };
    let mut out: BTreeMap<CountsKey, DayCounts> = BTreeMap::new();
    let sql: &'static str = match days {
        Days::Summed => &SELECT_SUMMED,
        Days::Each => &SELECT_DAILY,
    };
    for row in conn.query(sql, &[&lo, &hi, &department])? {
        let key = key_of(&row)?;
        let (day, department, dataset) = key.clone();
        let counts = counts_from_row(&row, 3)?;
        out.insert(
            key,
            DayCounts {
                day,
                department,
                dataset,
                counts,
            },
        );
    }
    let sql = match days {
        Days::Summed => SELECT_CHECKS_SUMMED,
        Days::Each => SELECT_CHECKS_DAILY,
    };
    for row in conn.query(sql, &[&lo, &hi, &department])? {
        let key = key_of(&row)?;
        let id: String = row.try_get(3)?;
        let counts = check_counts_from_row(&row, 4)?;
        // A check row always comes with its day row (both are written from
        // one DayCounts); the fallback only keeps counts visible if not.
        let entry = out
            .entry(key)
            .or_insert_with_key(|(day, department, dataset)| {
                DayCounts::new(*day, department, dataset)
            });
        entry.counts.checks.push((id, counts));
    }
    let mut result: Vec<DayCounts> = out.into_values().collect();
    for c in &mut result {
        c.counts.checks.sort_by(|a, b| a.0.cmp(&b.0));
    }
    Ok(result)
}

pub(crate) fn offsets(conn: &mut Conn<'_>) -> Result<Vec<PartitionOffset>, StoreError> {
    conn.query(SELECT_OFFSETS, &[])?
        .iter()
        .map(|row| {
            Ok(PartitionOffset {
                topic: row.try_get(0)?,
                partition: row.try_get(1)?,
                offset: row.try_get(2)?,
            })
        })
        .collect()
}

pub(crate) fn references(conn: &mut Conn<'_>) -> Result<Vec<ReferenceRow>, StoreError> {
    conn.query(SELECT_REFERENCES, &[])?
        .iter()
        .map(|row| {
            Ok(ReferenceRow {
                entity: narrow(i64::from(row.try_get::<_, i32>(0)?), "entity")?,
                key: key_from_bytes(row.try_get(1)?)?,
                values: values_from_bytes(row.try_get(2)?)?,
                updated_secs: narrow(row.try_get(3)?, "updated_secs")?,
                known: narrow(i64::from(row.try_get::<_, i16>(4)?), "known")?,
            })
        })
        .collect()
}

pub(crate) fn seen(conn: &mut Conn<'_>) -> Result<Vec<SeenRow>, StoreError> {
    conn.query(SELECT_SEEN, &[])?
        .iter()
        .map(|row| {
            Ok(SeenRow {
                key: key_from_bytes(row.try_get(0)?)?,
                at_ms: row.try_get(1)?,
            })
        })
        .collect()
}

/// The newest `limit` violations, newest first, optionally of one department.
pub(crate) fn recent_violations(
    conn: &mut Conn<'_>,
    department: Option<&str>,
    limit: usize,
) -> Result<Vec<Violation>, StoreError> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let rows = match department {
        Some(d) => conn.query(&SELECT_RECENT_VIOLATIONS_OF_DEPARTMENT, &[&d, &limit])?,
        None => conn.query(&SELECT_RECENT_VIOLATIONS, &[&limit])?,
    };
    rows.iter().map(violation_from_row).collect()
}

fn violation_from_row(row: &Row) -> Result<Violation, StoreError> {
    let dimension: &str = row.try_get(7)?;
    let dimension = Dimension::parse(dimension)
        .ok_or_else(|| StoreError::Corrupt("violation dimension is not a dimension".into()))?;
    Ok(Violation {
        topic: row.try_get(0)?,
        partition: row.try_get(1)?,
        offset: row.try_get(2)?,
        timestamp: row.try_get(3)?,
        record_id: row.try_get(4)?,
        department: row.try_get(5)?,
        dataset: row.try_get(6)?,
        dimension,
        check: row.try_get(8)?,
        field: row.try_get(9)?,
        reason: row.try_get(10)?,
        late: row.try_get(11)?,
    })
}
