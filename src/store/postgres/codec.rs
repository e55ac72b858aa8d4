//! Rust values to PostgreSQL values and back, with the SQLite codec's rules:
//! days within years 0000..=9999, counts as signed 64-bit integers, hashes
//! as big-endian 16-byte strings. Whatever cannot be held exactly is refused
//! on the way in (`Invalid`), whatever dqmon never writes on the way out
//! (`Corrupt`). Also the error conversion, which keeps row data and the
//! connection's password out of every message.

use chrono::{Datelike, NaiveDate};
use postgres::Row;

use crate::model::Counts;
use crate::store::StoreError;
use crate::store::columns::COUNT_COLUMNS;
use crate::tally::DatasetCounts;

impl From<postgres::Error> for StoreError {
    /// The server's message only where it names objects, never values:
    /// integrity violations (their values are in DETAIL, dropped), missing
    /// objects, lock and connection trouble, "bigint out of range". Other
    /// messages (invalid input, encodings) may quote a value and are reduced
    /// to their SQLSTATE. Client-side errors say their kind; of a connection
    /// string's parse error only the option's name is kept.
    fn from(e: postgres::Error) -> Self {
        use std::error::Error as _;
        if let Some(db) = e.as_db_error() {
            let code = db.code().code();
            let names_objects_only = matches!(
                code.get(..2),
                Some("08" | "23" | "25" | "28" | "3D" | "3F" | "40" | "42" | "53" | "55" | "57")
            ) || code == "22003";
            let text = if names_objects_only {
                format!("{} (SQLSTATE {code})", db.message())
            } else {
                format!("{} error (SQLSTATE {code})", db.severity())
            };
            return StoreError::Backend(text);
        }
        let kind = e.to_string();
        let cause = e.source().map(|c| c.to_string());
        let text = match cause {
            Some(c) if kind == "invalid connection string" => {
                if c.starts_with("invalid value for option") || c.starts_with("unknown option") {
                    format!("{kind}: {c}")
                } else {
                    kind
                }
            }
            Some(c) => format!("{kind}: {c}"),
            None => kind,
        };
        StoreError::Backend(text)
    }
}

/// Refuses days SQLite could not store (years beyond four digits), so both
/// backends accept the same checkpoints.
pub(crate) fn check_day(day: NaiveDate) -> Result<NaiveDate, StoreError> {
    if !(0..=9999).contains(&day.year()) {
        return Err(StoreError::Invalid("day outside years 0000..=9999".into()));
    }
    Ok(day)
}

/// Query bounds clamped to the storable years; `None` if the range cannot
/// contain a stored day.
pub(crate) fn query_range(from: NaiveDate, to: NaiveDate) -> Option<(NaiveDate, NaiveDate)> {
    let lo = from.max(NaiveDate::from_ymd_opt(0, 1, 1)?);
    let hi = to.min(NaiveDate::from_ymd_opt(9999, 12, 31)?);
    (lo <= hi).then_some((lo, hi))
}

/// BIGINT is signed 64-bit; a delta above that is refused rather than wrapped.
pub(crate) fn to_sql_count(v: u64) -> Result<i64, StoreError> {
    i64::try_from(v).map_err(|_| StoreError::Invalid("count above 2^63-1".into()))
}

fn from_sql_count(v: i64) -> Result<u64, StoreError> {
    u64::try_from(v).map_err(|_| StoreError::Corrupt("negative count".into()))
}

/// Big-endian, so byte order (PostgreSQL compares BYTEA bytewise) is numeric
/// order of (key[0], key[1]).
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

/// A column that dqmon writes within a narrower Rust type (entity u16,
/// updated_secs u32, known u8): outside it is corruption.
pub(crate) fn narrow<T: TryFrom<i64>>(v: i64, what: &str) -> Result<T, StoreError> {
    T::try_from(v).map_err(|_| StoreError::Corrupt(format!("{what} out of range")))
}

/// A row's count columns, in [`count_columns`](crate::store::columns::count_columns) order.
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
pub(crate) fn counts_from_row(row: &Row, first: usize) -> Result<DatasetCounts, StoreError> {
    let mut v = [0u64; COUNT_COLUMNS];
    for (i, slot) in v.iter_mut().enumerate() {
        *slot = from_sql_count(row.try_get(first + i)?)?;
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
pub(crate) fn check_counts_from_row(row: &Row, first: usize) -> Result<Counts, StoreError> {
    Ok(Counts {
        passed: from_sql_count(row.try_get(first)?)?,
        failed: from_sql_count(row.try_get(first + 1)?)?,
    })
}
