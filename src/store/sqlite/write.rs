//! One checkpoint's writes, all inside the caller's transaction, in the
//! order [`Checkpoint`] documents: counts, offsets, reference rows, seen rows,
//! expiry, violations (with pruning); and claims with the fencing check.

use std::collections::{BTreeMap, BTreeSet};

use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior, params};

use super::codec::{count_values, day_key, key_bytes, to_sql_count, values_bytes};
use super::schema::{
    CLAIM, EXPIRE_REFERENCES, EXPIRE_SEEN, INSERT_VIOLATION, PRUNE_VIOLATIONS, SELECT_CLAIM_EPOCH,
    SELECT_VIOLATION_DEPARTMENTS, UPSERT_CHECK, UPSERT_DAY, UPSERT_OFFSET, UPSERT_REFERENCE,
    UPSERT_SEEN,
};
use crate::model::{PartitionOffset, Violation};
use crate::store::batch::violations_to_write;
use crate::store::fencing::{check, required_epochs};
use crate::store::{Checkpoint, Claim, DayCounts, Expiry, ReferenceRow, SeenRow, StoreError};

/// Refuses `cp` unless every partition it sets an offset for is still
/// claimed with the epoch `cp` carries. Inside the IMMEDIATE transaction, so
/// no claim can come between this check and the commit.
pub(crate) fn fence(tx: &Transaction<'_>, cp: &Checkpoint) -> Result<(), StoreError> {
    let required = required_epochs(cp)?;
    if required.is_empty() {
        return Ok(());
    }
    let mut stmt = tx.prepare_cached(SELECT_CLAIM_EPOCH)?;
    let mut stored = BTreeMap::new();
    for &(topic, partition) in required.keys() {
        let epoch: Option<i64> = stmt
            .query_row(params![topic, partition], |row| row.get(0))
            .optional()?;
        if let Some(epoch) = epoch {
            stored.insert((topic.to_owned(), partition), epoch);
        }
    }
    check(&required, &stored)
}

/// The next epoch of each partition, for `owner`.
pub(crate) fn claim(
    tx: &Transaction<'_>,
    owner: &str,
    partitions: &[(String, i32)],
) -> Result<Vec<Claim>, StoreError> {
    let unique: BTreeSet<&(String, i32)> = partitions.iter().collect();
    let mut stmt = tx.prepare_cached(CLAIM)?;
    let mut claims = Vec::with_capacity(unique.len());
    for (topic, partition) in unique {
        let epoch: i64 = stmt.query_row(params![topic, partition, owner], |row| row.get(0))?;
        claims.push(Claim {
            topic: topic.clone(),
            partition: *partition,
            epoch,
        });
    }
    Ok(claims)
}

/// Writes everything `cp` holds; keeps the newest `kept` violations per
/// department. Commits nothing: an error leaves the caller to drop `tx`.
pub(crate) fn checkpoint(
    tx: &Transaction<'_>,
    cp: &Checkpoint,
    kept: usize,
) -> Result<(), StoreError> {
    write_counts(tx, &cp.counts)?;
    write_offsets(tx, &cp.offsets)?;
    write_references(tx, &cp.references)?;
    write_seen(tx, &cp.seen)?;
    // After the upserts: the engine's memory has dropped expired rows even if
    // this very checkpoint touched them, and the store must match it.
    if let Some(expiry) = cp.expire {
        expire(tx, expiry)?;
    }
    write_violations(tx, &cp.violations, kept)?;
    super::findings::write(tx, &cp.findings_opened, &cp.findings_fixed)?;
    super::disputes::write(tx, &cp.failures, cp.failures_before_ms)
}

fn write_counts(tx: &Transaction<'_>, counts: &[DayCounts]) -> Result<(), StoreError> {
    let mut day_stmt = tx.prepare_cached(&UPSERT_DAY)?;
    let mut check_stmt = tx.prepare_cached(UPSERT_CHECK)?;
    for c in counts {
        let day = day_key(c.day)?;
        let values = count_values(&c.counts)?;
        let mut bound: Vec<&dyn rusqlite::ToSql> = vec![&day, &c.department, &c.dataset];
        bound.extend(values.iter().map(|v| v as &dyn rusqlite::ToSql));
        day_stmt.execute(bound.as_slice())?;
        for (id, counts) in &c.counts.checks {
            check_stmt.execute(params![
                day,
                c.department,
                c.dataset,
                id,
                to_sql_count(counts.passed)?,
                to_sql_count(counts.failed)?,
            ])?;
        }
    }
    Ok(())
}

/// In the given order, so of two entries for one partition the later wins.
fn write_offsets(tx: &Transaction<'_>, offsets: &[PartitionOffset]) -> Result<(), StoreError> {
    if offsets.is_empty() {
        return Ok(());
    }
    let mut stmt = tx.prepare_cached(UPSERT_OFFSET)?;
    for o in offsets {
        stmt.execute(params![o.topic, o.partition, o.offset])?;
    }
    Ok(())
}

fn write_references(tx: &Transaction<'_>, references: &[ReferenceRow]) -> Result<(), StoreError> {
    if references.is_empty() {
        return Ok(());
    }
    let mut stmt = tx.prepare_cached(UPSERT_REFERENCE)?;
    for r in sorted_by_key(references, |r| (r.entity, r.key)) {
        stmt.execute(params![
            r.entity,
            key_bytes(r.key),
            values_bytes(r.values),
            r.updated_secs,
            r.known,
        ])?;
    }
    Ok(())
}

fn write_seen(tx: &Transaction<'_>, seen: &[SeenRow]) -> Result<(), StoreError> {
    if seen.is_empty() {
        return Ok(());
    }
    let mut stmt = tx.prepare_cached(UPSERT_SEEN)?;
    for s in sorted_by_key(seen, |s| s.key) {
        stmt.execute(params![key_bytes(s.key), s.at_ms])?;
    }
    Ok(())
}

/// Rows in key order: inserting hashed (random) keys in B-tree order touches
/// each page once instead of at random, which is most of a large
/// checkpoint's cost. Stable, so of two rows with one key the later still
/// wins.
fn sorted_by_key<T, K: Ord>(rows: &[T], key: impl Fn(&T) -> K) -> Vec<&T> {
    let mut sorted: Vec<&T> = rows.iter().collect();
    sorted.sort_by_key(|r| key(r));
    sorted
}

fn expire(tx: &Transaction<'_>, expiry: Expiry) -> Result<(), StoreError> {
    tx.prepare_cached(EXPIRE_SEEN)?
        .execute([expiry.seen_before_ms])?;
    tx.prepare_cached(EXPIRE_REFERENCES)?
        .execute([expiry.references_before_secs])?;
    Ok(())
}

fn write_violations(
    tx: &Transaction<'_>,
    violations: &[Violation],
    kept: usize,
) -> Result<(), StoreError> {
    if violations.is_empty() {
        return Ok(());
    }
    let (written, departments) = violations_to_write(violations, kept);
    let mut stmt = tx.prepare_cached(INSERT_VIOLATION)?;
    for v in written {
        stmt.execute(params![
            v.topic,
            v.partition,
            v.offset,
            v.timestamp,
            v.record_id,
            v.department,
            v.dataset,
            v.dimension.as_str(),
            v.check,
            v.field,
            v.reason,
            v.late,
        ])?;
    }
    for department in departments {
        prune_violations(tx, department, kept)?;
    }
    Ok(())
}

fn prune_violations(tx: &Transaction<'_>, department: &str, kept: usize) -> Result<(), StoreError> {
    let kept = i64::try_from(kept).unwrap_or(i64::MAX);
    tx.prepare_cached(PRUNE_VIOLATIONS)?
        .execute(params![department, kept])?;
    Ok(())
}

/// Prunes every department's violations to `kept`, in a transaction of its
/// own: on open, in case `violations_kept_per_department` was lowered.
pub(crate) fn prune_all_violations(conn: &mut Connection, kept: usize) -> Result<(), StoreError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let departments: Vec<String> = {
        let mut stmt = tx.prepare(SELECT_VIOLATION_DEPARTMENTS)?;
        stmt.query_map([], |row| row.get(0))?
            .collect::<Result<_, _>>()?
    };
    for department in &departments {
        prune_violations(&tx, department, kept)?;
    }
    tx.commit()?;
    Ok(())
}
