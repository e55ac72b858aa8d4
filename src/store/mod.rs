//! Persistent state of dqmon: day counts, next partition offsets and the
//! engine state they depend on (reference entities, seen record ids), plus
//! recent violations for the API.
//!
//! Exactness under crashes rests on one rule: everything that changed since
//! the last checkpoint goes into ONE [`Checkpoint`], applied by
//! [`Store::commit`] in one transaction. On restart dqmon reloads the state and
//! seeks to the stored offsets, so a crash at any moment replays exactly the
//! records whose effects were not committed.
//!
//! Nothing personal is stored: entity keys and record ids arrive as keyed
//! hashes, and violations carry no field values.
//!
//! This module is backend-neutral; [`sqlite`] is the default backend.

pub mod sqlite;

use chrono::NaiveDate;

use crate::violation::Violation;

/// Dimensions in this fixed order everywhere: completeness, format,
/// consistency, freshness, uniqueness (the order of `Dimension::ALL`).
pub const DIMENSIONS: [&str; 5] = [
    "completeness",
    "format",
    "consistency",
    "freshness",
    "uniqueness",
];

/// Counts of one department/dataset on one day (day of the message timestamp
/// in the configured time zone).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DayCounts {
    pub day: NaiveDate,
    pub department: String,
    pub dataset: String,
    pub records: u64,
    pub malformed: u64,
    /// [passed, failed] per dimension, in DIMENSIONS order.
    pub dimensions: [[u64; 2]; 5],
    /// (check id, [passed, failed]); check ids are unique within a dataset.
    pub checks: Vec<(String, [u64; 2])>,
}

impl DayCounts {
    /// Zero counts for one key.
    pub fn new(day: NaiveDate, department: &str, dataset: &str) -> Self {
        DayCounts {
            day,
            department: department.to_owned(),
            dataset: dataset.to_owned(),
            ..DayCounts::default()
        }
    }

    /// Adds `other`'s counts (its key is ignored). Checks are merged by id;
    /// new ids are appended. Saturating: 2^64 records is out of reach, and a
    /// panic in the engine would be worse than a pinned count.
    pub fn add(&mut self, other: &DayCounts) {
        self.records = self.records.saturating_add(other.records);
        self.malformed = self.malformed.saturating_add(other.malformed);
        for (mine, theirs) in self.dimensions.iter_mut().zip(&other.dimensions) {
            mine[0] = mine[0].saturating_add(theirs[0]);
            mine[1] = mine[1].saturating_add(theirs[1]);
        }
        for (id, [passed, failed]) in &other.checks {
            // Linear search: a dataset has tens of checks, and it keeps the
            // caller's order instead of requiring a sorted vector.
            match self.checks.iter_mut().find(|(mine, _)| mine == id) {
                Some((_, c)) => {
                    c[0] = c[0].saturating_add(*passed);
                    c[1] = c[1].saturating_add(*failed);
                }
                None => self.checks.push((id.clone(), [*passed, *failed])),
            }
        }
    }

    /// [passed, failed] of one check, if it has counts.
    pub fn check(&self, id: &str) -> Option<[u64; 2]> {
        self.checks.iter().find(|(c, _)| c == id).map(|(_, pf)| *pf)
    }
}

/// One remembered authoritative entity (cross-source reference), as hashes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReferenceRow {
    pub entity: u16,
    pub key: [u64; 2],
    pub values: [u32; 4],
    pub updated_secs: u32,
    pub known: u8,
}

/// One remembered record id (uniqueness memory), as a hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeenRow {
    pub key: [u64; 2],
    pub at_ms: i64,
}

/// A violation kept for the API's "recent violations" (no personal data in it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ViolationRow {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
    pub timestamp_ms: i64,
    pub record_id: Option<String>,
    pub department: String,
    pub dataset: String,
    pub dimension: String,
    pub check: String,
    pub field: Option<String>,
    pub reason: String,
}

/// A violation event as the store keeps it.
impl From<&Violation> for ViolationRow {
    fn from(v: &Violation) -> Self {
        ViolationRow {
            topic: v.topic.clone(),
            partition: v.partition,
            offset: v.offset,
            timestamp_ms: v.timestamp,
            record_id: v.record_id.clone(),
            department: v.department.clone(),
            dataset: v.dataset.clone(),
            dimension: v.dimension.clone(),
            check: v.check.clone(),
            field: v.field.clone(),
            reason: v.reason.clone(),
        }
    }
}

/// A stored violation in the field names of dqmon's violation events.
impl From<ViolationRow> for Violation {
    fn from(r: ViolationRow) -> Self {
        Violation {
            topic: r.topic,
            partition: r.partition,
            offset: r.offset,
            timestamp: r.timestamp_ms,
            record_id: r.record_id,
            department: r.department,
            dataset: r.dataset,
            dimension: r.dimension,
            check: r.check,
            field: r.field,
            reason: r.reason,
        }
    }
}

/// Everything that changed since the last checkpoint; applied atomically.
///
/// Order of application inside the transaction (it matters only where noted):
/// counts, offsets, references, seen, then `expire` (so a row upserted by
/// this checkpoint but already older than the cut-off is removed too, as the
/// engine's in-memory state would have), then violations.
#[derive(Debug, Clone, Default)]
pub struct Checkpoint {
    /// Deltas ADDED to the stored counts (same key = day, department, dataset; checks by id).
    pub counts: Vec<DayCounts>,
    /// Next offset to consume per (topic, partition): SET (overwrite; a later
    /// entry for the same partition wins).
    pub offsets: Vec<(String, i32, i64)>,
    /// Upserted by (entity, key).
    pub references: Vec<ReferenceRow>,
    /// Upserted by key (`at_ms` overwritten).
    pub seen: Vec<SeenRow>,
    /// Delete seen rows with at_ms < this, and references with updated_secs < the second value.
    pub expire: Option<(i64, u32)>,
    /// Appended, oldest first; the store keeps only the newest
    /// `violations_kept_per_department` per department.
    pub violations: Vec<ViolationRow>,
}

impl Checkpoint {
    /// True when committing it would change nothing.
    pub fn is_empty(&self) -> bool {
        self.counts.is_empty()
            && self.offsets.is_empty()
            && self.references.is_empty()
            && self.seen.is_empty()
            && self.expire.is_none()
            && self.violations.is_empty()
    }
}

/// Store failures. Messages name the operation or constraint, never row data
/// (keys, values, department names), so they are safe to log.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The backend failed: I/O, lock timeout, constraint, SQL. Backend-neutral
    /// text so the trait does not leak the backend's error type.
    #[error("store backend: {0}")]
    Backend(String),
    /// A value cannot be written as given, e.g. a count above the backend's
    /// signed 64-bit integers or a day outside years 0000..=9999.
    #[error("invalid value for the store: {0}")]
    Invalid(String),
    /// Stored data is not what dqmon writes (wrong blob length, bad day text,
    /// negative count): the database was altered or is corrupt.
    #[error("corrupt store data: {0}")]
    Corrupt(String),
    /// The database was written by a newer dqmon; refusing to guess its layout.
    #[error("store schema version {found} is newer than this dqmon supports ({supported})")]
    UnsupportedSchema { found: i64, supported: i64 },
}

/// Persistent store. Methods block (SQLite I/O, fsync): call them from
/// `spawn_blocking` or a dedicated thread, not from an async task directly.
///
/// Outputs are deterministic: counts sorted by (day, department, dataset),
/// checks by id, offsets by (topic, partition), state rows by key.
pub trait Store: Send + Sync {
    /// One transaction: all or nothing.
    ///
    /// On `Err` the caller must not assume either outcome (a lost connection
    /// during COMMIT is ambiguous on a networked backend): stop consuming,
    /// drop in-memory state, reload it with [`Store::references`] /
    /// [`Store::seen`] and seek to [`Store::offsets`]. Retrying the same
    /// checkpoint could count twice.
    fn commit(&self, checkpoint: &Checkpoint) -> Result<(), StoreError>;

    /// Stored next offsets of all partitions.
    fn offsets(&self) -> Result<Vec<(String, i32, i64)>, StoreError>;

    /// Stored next offsets for the partitions of `topics` (all when empty).
    fn offsets_for(&self, topics: &[&str]) -> Result<Vec<(String, i32, i64)>, StoreError> {
        let mut all = self.offsets()?;
        if !topics.is_empty() {
            all.retain(|(topic, _, _)| topics.contains(&topic.as_str()));
        }
        Ok(all)
    }

    fn references(&self) -> Result<Vec<ReferenceRow>, StoreError>;

    fn seen(&self) -> Result<Vec<SeenRow>, StoreError>;

    /// Summed counts for a period: one DayCounts per (department, dataset)
    /// with days from..=to summed and `day` = from; optionally one department.
    fn counts(
        &self,
        from: NaiveDate,
        to: NaiveDate,
        department: Option<&str>,
    ) -> Result<Vec<DayCounts>, StoreError>;

    /// Per-day counts (not summed) for from..=to, for trends.
    fn daily_counts(
        &self,
        from: NaiveDate,
        to: NaiveDate,
        department: Option<&str>,
    ) -> Result<Vec<DayCounts>, StoreError>;

    /// Newest first (by commit order, not by message timestamp).
    fn recent_violations(
        &self,
        department: Option<&str>,
        limit: usize,
    ) -> Result<Vec<ViolationRow>, StoreError>;
}

/// A store for tests of its callers: `commit` decides, `offsets` are fixed,
/// everything else is empty.
#[cfg(test)]
pub(crate) struct Stub<F> {
    pub commit: F,
    pub offsets: Vec<(String, i32, i64)>,
}

#[cfg(test)]
impl<F: Fn(&Checkpoint) -> Result<(), StoreError> + Send + Sync> Store for Stub<F> {
    fn commit(&self, checkpoint: &Checkpoint) -> Result<(), StoreError> {
        (self.commit)(checkpoint)
    }
    fn offsets(&self) -> Result<Vec<(String, i32, i64)>, StoreError> {
        Ok(self.offsets.clone())
    }
    fn references(&self) -> Result<Vec<ReferenceRow>, StoreError> {
        Ok(vec![])
    }
    fn seen(&self) -> Result<Vec<SeenRow>, StoreError> {
        Ok(vec![])
    }
    fn counts(
        &self,
        _: NaiveDate,
        _: NaiveDate,
        _: Option<&str>,
    ) -> Result<Vec<DayCounts>, StoreError> {
        Ok(vec![])
    }
    fn daily_counts(
        &self,
        _: NaiveDate,
        _: NaiveDate,
        _: Option<&str>,
    ) -> Result<Vec<DayCounts>, StoreError> {
        Ok(vec![])
    }
    fn recent_violations(
        &self,
        _: Option<&str>,
        _: usize,
    ) -> Result<Vec<ViolationRow>, StoreError> {
        Ok(vec![])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn day_counts_add_merges_checks_by_id() {
        let day = NaiveDate::from_ymd_opt(2026, 6, 15).unwrap();
        let mut a = DayCounts::new(day, "tax", "persons");
        a.records = 2;
        a.dimensions[1] = [1, 1];
        a.checks = vec![("c1".into(), [1, 0])];
        let mut b = DayCounts::new(day, "ignored", "ignored");
        b.records = 3;
        b.malformed = 1;
        b.dimensions[1] = [2, 0];
        b.checks = vec![("c2".into(), [0, 4]), ("c1".into(), [5, 6])];
        a.add(&b);
        assert_eq!(a.records, 5);
        assert_eq!(a.malformed, 1);
        assert_eq!(a.dimensions[1], [3, 1]);
        assert_eq!(a.check("c1"), Some([6, 6]));
        assert_eq!(a.check("c2"), Some([0, 4]));
        assert_eq!(a.check("c3"), None);
        assert_eq!(a.department, "tax");
    }

    #[test]
    fn offsets_for_filters_by_topic() {
        let fixed = Stub {
            commit: |_: &Checkpoint| Ok(()),
            offsets: vec![("a".into(), 0, 1), ("b".into(), 0, 2)],
        };
        assert_eq!(fixed.offsets_for(&[]).unwrap().len(), 2);
        assert_eq!(fixed.offsets_for(&["b"]).unwrap(), vec![("b".into(), 0, 2)]);
        assert!(fixed.offsets_for(&["c"]).unwrap().is_empty());
    }
}
