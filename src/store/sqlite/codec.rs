//! Rust values to SQL values and back: days as sortable text, counts as
//! signed integers, hashes as big-endian blobs. Whatever SQLite cannot hold
//! exactly is refused on the way in (`Invalid`); whatever dqmon never writes
//! is refused on the way out (`Corrupt`).

use chrono::{Datelike, NaiveDate};
use rusqlite::Row;

use super::schema::COUNT_COLUMNS;
use crate::model::Counts;
use crate::store::StoreError;
use crate::tally::DatasetCounts;

impl From<rusqlite::Error> for StoreError {
    /// Keeps SQLite's own message (it names constraints and columns, never
    /// bound values) but drops the values some rusqlite variants carry.
    fn from(e: rusqlite::Error) -> Self {
        use rusqlite::Error as E;
        let text = match &e {
            E::SqliteFailure(err, Some(msg)) => format!("{msg} ({:?})", err.code),
            E::SqliteFailure(err, None) => err.to_string(),
            E::IntegralValueOutOfRange(col, _) => format!("integer out of range in column {col}"),
            E::FromSqlConversionFailure(col, ty, _) => {
                format!("cannot convert {ty} value in column {col}")
            }
            E::ToSqlConversionFailure(_) => "cannot convert a value for SQLite".to_owned(),
            other => other.to_string(),
        };
        StoreError::Backend(text)
    }
}

/// 'YYYY-MM-DD' for writing; years beyond four digits would not sort as text.
pub(crate) fn day_key(day: NaiveDate) -> Result<String, StoreError> {
    if !(0..=9999).contains(&day.year()) {
        return Err(StoreError::Invalid("day outside years 0000..=9999".into()));
    }
    Ok(format!(
        "{:04}-{:02}-{:02}",
        day.year(),
        day.month(),
        day.day()
    ))
}

/// Query bounds as text, clamped to the storable years; `None` if the range
/// cannot contain a stored day.
pub(crate) fn query_range(from: NaiveDate, to: NaiveDate) -> Option<(String, String)> {
    let lo = from.max(NaiveDate::from_ymd_opt(0, 1, 1)?);
    let hi = to.min(NaiveDate::from_ymd_opt(9999, 12, 31)?);
    if lo > hi {
        return None;
    }
    Some((day_key(lo).ok()?, day_key(hi).ok()?))
}

pub(crate) fn parse_day(text: &str) -> Result<NaiveDate, StoreError> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map_err(|_| StoreError::Corrupt("day is not a YYYY-MM-DD date".into()))
}

/// SQLite integers are signed 64-bit; a delta above that is refused rather
/// than wrapped.
pub(crate) fn to_sql_count(v: u64) -> Result<i64, StoreError> {
    i64::try_from(v).map_err(|_| StoreError::Invalid("count above 2^63-1".into()))
}

fn from_sql_count(v: i64) -> Result<u64, StoreError> {
    u64::try_from(v).map_err(|_| StoreError::Corrupt("negative count".into()))
}

/// Big-endian, so blob order (memcmp) is numeric order of (key[0], key[1]).
pub(crate) fn key_bytes(key: [u64; 2]) -> [u8; 16] {
    let mut b = [0; 16];
    b[..8].copy_from_slice(&key[0].to_be_bytes());
    b[8..].copy_from_slice(&key[1].to_be_bytes());
    b
}

pub(crate) fn key_from_bytes(b: &[u8]) -> Result<[u64; 2], StoreError> {
    let b: &[u8; 16] = b
        .try_into()
        .map_err(|_| StoreError::Corrupt("key hash is not 16 bytes".into()))?;
    let (hi, lo) = b.split_at(8);
    Ok([
        u64::from_be_bytes(hi.try_into().expect("8 bytes")),
        u64::from_be_bytes(lo.try_into().expect("8 bytes")),
    ])
}

/// A borrowed blob column: no allocation per row on a full reload.
pub(crate) fn blob<'r>(row: &'r Row<'_>, i: usize) -> Result<&'r [u8], StoreError> {
    row.get_ref(i)?
        .as_blob()
        .map_err(|_| StoreError::Corrupt("hash column is not a blob".into()))
}

pub(crate) fn values_bytes(values: [u32; 4]) -> [u8; 16] {
    let mut b = [0; 16];
    for (chunk, v) in b.chunks_exact_mut(4).zip(values) {
        chunk.copy_from_slice(&v.to_be_bytes());
    }
    b
}

pub(crate) fn values_from_bytes(b: &[u8]) -> Result<[u32; 4], StoreError> {
    if b.len() != 16 {
        return Err(StoreError::Corrupt("value hashes are not 16 bytes".into()));
    }
    let mut values = [0; 4];
    for (v, chunk) in values.iter_mut().zip(b.chunks_exact(4)) {
        *v = u32::from_be_bytes(chunk.try_into().expect("4 bytes"));
    }
    Ok(values)
}

/// A row's count columns, in [`count_columns`](super::schema::count_columns) order.
pub(crate) fn count_values(counts: &DatasetCounts) -> Result<[i64; COUNT_COLUMNS], StoreError> {
    let mut values = [0i64; COUNT_COLUMNS];
    values[0] = to_sql_count(counts.records)?;
    values[1] = to_sql_count(counts.malformed)?;
    for (i, d) in counts.dimensions.iter().enumerate() {
        values[2 + 2 * i] = to_sql_count(d.passed)?;
        values[3 + 2 * i] = to_sql_count(d.failed)?;
    }
    Ok(values)
}

/// The count columns starting at column `first`, checks left empty.
pub(crate) fn counts_from_row(row: &Row<'_>, first: usize) -> Result<DatasetCounts, StoreError> {
    let mut v = [0u64; COUNT_COLUMNS];
    for (i, slot) in v.iter_mut().enumerate() {
        *slot = from_sql_count(row.get(first + i)?)?;
    }
    let mut dimensions = [Counts::ZERO; 5];
    for (i, d) in dimensions.iter_mut().enumerate() {
        *d = Counts {
            passed: v[2 + 2 * i],
            failed: v[3 + 2 * i],
        };
    }
    Ok(DatasetCounts {
        records: v[0],
        malformed: v[1],
        dimensions,
        checks: Vec::new(),
    })
}

/// A check row's passed and failed columns, starting at column `first`.
pub(crate) fn check_counts_from_row(row: &Row<'_>, first: usize) -> Result<Counts, StoreError> {
    Ok(Counts {
        passed: from_sql_count(row.get(first)?)?,
        failed: from_sql_count(row.get(first + 1)?)?,
    })
}
