//! Reads: counts of a period (summed or per day), offsets, the engine's
//! state rows, recent violations. Output order is fixed here, in Rust,
//! whatever the SQL collation.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use rusqlite::{Connection, Row, params};

use super::codec::{
    blob, check_counts_from_row, counts_from_row, key_from_bytes, parse_day, query_range,
    values_from_bytes,
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

/// The output order, and the key day rows and check rows are matched by.
type CountsKey = (NaiveDate, String, String);

/// Counts of the days `from..=to`, optionally of one department, with their
/// checks; sorted by (day, department, dataset), checks by id.
pub(crate) fn counts(
    conn: &Connection,
    from: NaiveDate,
    to: NaiveDate,
    department: Option<&str>,
    days: Days,
) -> Result<Vec<DayCounts>, StoreError> {
    let Some((lo, hi)) = query_range(from, to) else {
        return Ok(Vec::new());
    };
    let key_of = |row: &Row<'_>| -> Result<CountsKey, StoreError> {
        let day = match days {
            Days::Summed => from,
            Days::Each => parse_day(&row.get::<_, String>(0)?)?,
        };
        Ok((day, row.get(1)?, row.get(2)?))
    };
    // BTreeMap: output order by Rust's ordering, whatever the SQL collation.
    let mut out: BTreeMap<CountsKey, DayCounts> = BTreeMap::new();

    let sql = match days {
        Days::Summed => &*SELECT_SUMMED,
        Days::Each => &*SELECT_DAILY,
    };
    let mut stmt = conn.prepare_cached(sql)?;
    let mut rows = stmt.query(params![lo, hi, department])?;
    while let Some(row) = rows.next()? {
        let key = key_of(row)?;
        let (day, department, dataset) = key.clone();
        let counts = counts_from_row(row, 3)?;
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
    let mut stmt = conn.prepare_cached(sql)?;
    let mut rows = stmt.query(params![lo, hi, department])?;
    while let Some(row) = rows.next()? {
        let key = key_of(row)?;
        let id: String = row.get(3)?;
        let counts = check_counts_from_row(row, 4)?;
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

pub(crate) fn offsets(conn: &Connection) -> Result<Vec<PartitionOffset>, StoreError> {
    let mut stmt = conn.prepare_cached(SELECT_OFFSETS)?;
    let rows = stmt
        .query_map([], |row| {
            Ok(PartitionOffset {
                topic: row.get(0)?,
                partition: row.get(1)?,
                offset: row.get(2)?,
            })
        })?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

pub(crate) fn references(conn: &Connection) -> Result<Vec<ReferenceRow>, StoreError> {
    let mut stmt = conn.prepare_cached(SELECT_REFERENCES)?;
    let mut rows = stmt.query([])?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        out.push(ReferenceRow {
            entity: row.get(0)?,
            key: key_from_bytes(blob(row, 1)?)?,
            values: values_from_bytes(blob(row, 2)?)?,
            updated_secs: row.get(3)?,
            known: row.get(4)?,
        });
    }
    Ok(out)
}

pub(crate) fn seen(conn: &Connection) -> Result<Vec<SeenRow>, StoreError> {
    let mut stmt = conn.prepare_cached(SELECT_SEEN)?;
    let mut rows = stmt.query([])?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        out.push(SeenRow {
            key: key_from_bytes(blob(row, 0)?)?,
            at_ms: row.get(1)?,
        });
    }
    Ok(out)
}

/// The newest `limit` violations, newest first, optionally of one department.
pub(crate) fn recent_violations(
    conn: &Connection,
    department: Option<&str>,
    limit: usize,
) -> Result<Vec<Violation>, StoreError> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let rows = match department {
        Some(d) => {
            let mut stmt = conn.prepare_cached(&SELECT_RECENT_VIOLATIONS_OF_DEPARTMENT)?;
            stmt.query_map(params![d, limit], violation_from_row)?
                .collect::<Result<_, _>>()?
        }
        None => {
            let mut stmt = conn.prepare_cached(&SELECT_RECENT_VIOLATIONS)?;
            stmt.query_map(params![limit], violation_from_row)?
                .collect::<Result<_, _>>()?
        }
    };
    Ok(rows)
}

fn violation_from_row(row: &Row<'_>) -> rusqlite::Result<Violation> {
    let dimension: String = row.get(7)?;
    let dimension = Dimension::parse(&dimension).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(
            7,
            rusqlite::types::Type::Text,
            "not a dimension".into(),
        )
    })?;
    Ok(Violation {
        topic: row.get(0)?,
        partition: row.get(1)?,
        offset: row.get(2)?,
        timestamp: row.get(3)?,
        record_id: row.get(4)?,
        department: row.get(5)?,
        dataset: row.get(6)?,
        dimension,
        check: row.get(8)?,
        field: row.get(9)?,
        reason: row.get(10)?,
        late: row.get(11)?,
    })
}
