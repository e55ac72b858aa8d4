//! One checkpoint's writes inside the caller's transaction, in the order
//! [`Checkpoint`] documents (counts, offsets, reference rows, seen rows,
//! expiry, violations with pruning, findings, failures with pruning), each
//! table in one statement; and claims with the fencing check.

use std::collections::{BTreeMap, BTreeSet};

use postgres::types::ToSql;

use super::Conn;
use super::codec::{check_day, count_values, key_bytes, to_sql_count, values_bytes};
use super::schema::{
    CLAIM, EXPIRE_REFERENCES, EXPIRE_SEEN, INSERT_VIOLATIONS, LOCK_CLAIMS, LOCK_VIOLATIONS,
    PRUNE_ALL_VIOLATIONS, PRUNE_VIOLATIONS, UPSERT_CHECKS, UPSERT_DAYS, UPSERT_OFFSETS,
    UPSERT_REFERENCES, UPSERT_SEEN,
};
use crate::model::{PartitionOffset, Violation};
use crate::store::batch::violations_to_write;
use crate::store::columns::COUNT_COLUMNS;
use crate::store::fencing::{check, required_epochs};
use crate::store::{Checkpoint, Claim, DayCounts, Expiry, ReferenceRow, SeenRow, StoreError};

type Params<'a> = Vec<&'a (dyn ToSql + Sync)>;

/// Refuses `cp` unless every partition it sets an offset for is still
/// claimed with the epoch `cp` carries. The claims stay locked until the
/// transaction ends, so no claim can come between this check and the commit.
pub(crate) fn fence(conn: &mut Conn<'_>, cp: &Checkpoint) -> Result<(), StoreError> {
    let required = required_epochs(cp)?;
    if required.is_empty() {
        return Ok(());
    }
    let topics: Vec<&str> = required.keys().map(|k| k.0).collect();
    let partitions: Vec<i32> = required.keys().map(|k| k.1).collect();
    let mut stored = BTreeMap::new();
    for row in conn.query(LOCK_CLAIMS, &[&topics, &partitions])? {
        stored.insert((row.try_get(0)?, row.try_get(1)?), row.try_get(2)?);
    }
    check(&required, &stored)
}

/// The next epoch of each partition, for `owner`.
pub(crate) fn claim(
    conn: &mut Conn<'_>,
    owner: &str,
    partitions: &[(String, i32)],
) -> Result<Vec<Claim>, StoreError> {
    let unique: BTreeSet<&(String, i32)> = partitions.iter().collect();
    if unique.is_empty() {
        return Ok(Vec::new());
    }
    let topics: Vec<&str> = unique.iter().map(|p| p.0.as_str()).collect();
    let ids: Vec<i32> = unique.iter().map(|p| p.1).collect();
    let mut claims = Vec::with_capacity(unique.len());
    for row in conn.query(CLAIM, &[&topics, &ids, &owner])? {
        claims.push(Claim {
            topic: row.try_get(0)?,
            partition: row.try_get(1)?,
            epoch: row.try_get(2)?,
        });
    }
    claims.sort();
    Ok(claims)
}

/// Writes everything `cp` holds; keeps the newest `kept` violations per
/// department. Commits nothing: an error leaves the caller to drop the
/// transaction.
pub(crate) fn checkpoint(
    conn: &mut Conn<'_>,
    cp: &Checkpoint,
    kept: usize,
) -> Result<(), StoreError> {
    write_counts(conn, &cp.counts)?;
    write_offsets(conn, &cp.offsets)?;
    write_references(conn, &cp.references)?;
    write_seen(conn, &cp.seen)?;
    // After the upserts: the engine's memory has dropped expired rows even if
    // this very checkpoint touched them, and the store must match it.
    if let Some(expiry) = cp.expire {
        expire(conn, expiry)?;
    }
    write_violations(conn, &cp.violations, kept)?;
    super::findings::write(conn, &cp.findings_opened, &cp.findings_fixed)?;
    super::disputes::write(conn, &cp.failures, cp.failures_before_ms)
}

fn write_counts(conn: &mut Conn<'_>, counts: &[DayCounts]) -> Result<(), StoreError> {
    if counts.is_empty() {
        return Ok(());
    }
    let mut days = Vec::with_capacity(counts.len());
    let mut columns: [Vec<i64>; COUNT_COLUMNS] = std::array::from_fn(|_| Vec::new());
    // Check rows: (day, department, dataset, id, passed, failed).
    let (mut c_days, mut c_departments, mut c_datasets) = (Vec::new(), Vec::new(), Vec::new());
    let (mut c_ids, mut c_passed, mut c_failed) = (Vec::new(), Vec::new(), Vec::new());
    for c in counts {
        let day = check_day(c.day)?;
        days.push(day);
        for (column, value) in columns.iter_mut().zip(count_values(&c.counts)?) {
            column.push(value);
        }
        for (id, counts) in &c.counts.checks {
            c_days.push(day);
            c_departments.push(c.department.as_str());
            c_datasets.push(c.dataset.as_str());
            c_ids.push(id.as_str());
            c_passed.push(to_sql_count(counts.passed)?);
            c_failed.push(to_sql_count(counts.failed)?);
        }
    }
    let departments: Vec<&str> = counts.iter().map(|c| c.department.as_str()).collect();
    let datasets: Vec<&str> = counts.iter().map(|c| c.dataset.as_str()).collect();
    let mut params: Params<'_> = vec![&days, &departments, &datasets];
    params.extend(columns.iter().map(|c| c as &(dyn ToSql + Sync)));
    conn.execute(&UPSERT_DAYS, &params)?;
    if !c_ids.is_empty() {
        conn.execute(
            UPSERT_CHECKS,
            &[
                &c_days,
                &c_departments,
                &c_datasets,
                &c_ids,
                &c_passed,
                &c_failed,
            ],
        )?;
    }
    Ok(())
}

fn write_offsets(conn: &mut Conn<'_>, offsets: &[PartitionOffset]) -> Result<(), StoreError> {
    if offsets.is_empty() {
        return Ok(());
    }
    let topics: Vec<&str> = offsets.iter().map(|o| o.topic.as_str()).collect();
    let partitions: Vec<i32> = offsets.iter().map(|o| o.partition).collect();
    let next: Vec<i64> = offsets.iter().map(|o| o.offset).collect();
    conn.execute(UPSERT_OFFSETS, &[&topics, &partitions, &next])?;
    Ok(())
}

fn write_references(conn: &mut Conn<'_>, references: &[ReferenceRow]) -> Result<(), StoreError> {
    if references.is_empty() {
        return Ok(());
    }
    let entities: Vec<i32> = references.iter().map(|r| i32::from(r.entity)).collect();
    let keys: Vec<[u8; 16]> = references.iter().map(|r| key_bytes(r.key)).collect();
    let values: Vec<[u8; 16]> = references.iter().map(|r| values_bytes(r.values)).collect();
    let keys: Vec<&[u8]> = keys.iter().map(|k| &k[..]).collect();
    let values: Vec<&[u8]> = values.iter().map(|v| &v[..]).collect();
    let updated: Vec<i64> = references
        .iter()
        .map(|r| i64::from(r.updated_secs))
        .collect();
    let known: Vec<i16> = references.iter().map(|r| i16::from(r.known)).collect();
    conn.execute(
        UPSERT_REFERENCES,
        &[&entities, &keys, &values, &updated, &known],
    )?;
    Ok(())
}

fn write_seen(conn: &mut Conn<'_>, seen: &[SeenRow]) -> Result<(), StoreError> {
    if seen.is_empty() {
        return Ok(());
    }
    let keys: Vec<[u8; 16]> = seen.iter().map(|s| key_bytes(s.key)).collect();
    let keys: Vec<&[u8]> = keys.iter().map(|k| &k[..]).collect();
    let at: Vec<i64> = seen.iter().map(|s| s.at_ms).collect();
    conn.execute(UPSERT_SEEN, &[&keys, &at])?;
    Ok(())
}

fn expire(conn: &mut Conn<'_>, expiry: Expiry) -> Result<(), StoreError> {
    conn.execute(EXPIRE_SEEN, &[&expiry.seen_before_ms])?;
    conn.execute(
        EXPIRE_REFERENCES,
        &[&i64::from(expiry.references_before_secs)],
    )?;
    Ok(())
}

fn write_violations(
    conn: &mut Conn<'_>,
    violations: &[Violation],
    kept: usize,
) -> Result<(), StoreError> {
    if violations.is_empty() {
        return Ok(());
    }
    let (written, departments) = violations_to_write(violations, kept);
    conn.execute(LOCK_VIOLATIONS, &[])?;
    if !written.is_empty() {
        let topics: Vec<&str> = written.iter().map(|v| v.topic.as_str()).collect();
        let partitions: Vec<i32> = written.iter().map(|v| v.partition).collect();
        let offsets: Vec<i64> = written.iter().map(|v| v.offset).collect();
        let timestamps: Vec<i64> = written.iter().map(|v| v.timestamp).collect();
        let record_ids: Vec<Option<&str>> =
            written.iter().map(|v| v.record_id.as_deref()).collect();
        let v_departments: Vec<&str> = written.iter().map(|v| v.department.as_str()).collect();
        let datasets: Vec<&str> = written.iter().map(|v| v.dataset.as_str()).collect();
        let dimensions: Vec<&str> = written.iter().map(|v| v.dimension.as_str()).collect();
        let checks: Vec<&str> = written.iter().map(|v| v.check.as_str()).collect();
        let fields: Vec<Option<&str>> = written.iter().map(|v| v.field.as_deref()).collect();
        let reasons: Vec<&str> = written.iter().map(|v| v.reason.as_str()).collect();
        let late: Vec<bool> = written.iter().map(|v| v.late).collect();
        conn.execute(
            INSERT_VIOLATIONS,
            &[
                &topics,
                &partitions,
                &offsets,
                &timestamps,
                &record_ids,
                &v_departments,
                &datasets,
                &dimensions,
                &checks,
                &fields,
                &reasons,
                &late,
            ],
        )?;
    }
    conn.execute(PRUNE_VIOLATIONS, &[&departments, &kept_limit(kept)])?;
    Ok(())
}

/// `kept` as the BIGINT it is compared with (`usize::MAX`: keep all).
fn kept_limit(kept: usize) -> i64 {
    i64::try_from(kept).unwrap_or(i64::MAX)
}

/// Prunes every department's violations to `kept`, inside the caller's
/// transaction: on open, in case `violations_kept_per_department` was lowered.
pub(crate) fn prune_all_violations(conn: &mut Conn<'_>, kept: usize) -> Result<(), StoreError> {
    conn.execute(PRUNE_ALL_VIOLATIONS, &[&kept_limit(kept)])?;
    Ok(())
}
