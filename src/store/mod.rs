//! Persistent state of dqmon: day counts, next partition offsets and the
//! engine state they depend on (reference entities, seen record ids), plus
//! recent violations for the API; rectification findings ([`findings`]); and
//! the ledger of sealed reports and the audit log ([`ledger`]).
//!
//! Exactness under crashes rests on one rule: everything that changed since
//! the last checkpoint goes into ONE [`Checkpoint`], applied by
//! [`CheckpointStore::commit`] in one transaction. On restart dqmon reloads the state and
//! seeks to the stored offsets, so a crash at any moment replays exactly the
//! records whose effects were not committed.
//!
//! Nothing personal is stored: entity keys and record ids arrive as keyed
//! hashes, and violations carry no field values.
//!
//! Several dqmon instances may one day share a store (PostgreSQL): a
//! partition's offsets are then written only under its newest
//! [`Claim`] ([`CheckpointStore::claim`]), so an instance that lost a
//! partition in a rebalance cannot overwrite its next owner's progress.
//!
//! This module is backend-neutral; [`sqlite`] is the default backend,
//! [`postgres`] the networked one, [`open`] opens whichever is configured.

pub mod assessment;
mod batch;
mod columns;
pub mod disputes;
mod fencing;
pub mod findings;
pub mod ledger;
pub mod open;
pub mod postgres;
pub mod sqlite;
mod version;
pub mod withdraw;

#[cfg(test)]
pub(crate) mod tests;

use chrono::NaiveDate;

pub use crate::engine::state::{Expiry, ReferenceRow, SeenRow};
use crate::model::{PartitionOffset, Violation};
use crate::tally::{DatasetCounts, DatasetRow};
pub use disputes::{DisputeStore, Failure};
pub use findings::{FindingFixed, FindingOpened, FindingStore, OpenFindingRow};
pub use ledger::{AuditEntry, AuditRecord, LedgerStore, SealHead, SealRow};

/// Counts of one department's dataset on one day (the day of the message
/// timestamp in the exchange's time zone).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DayCounts {
    pub day: NaiveDate,
    pub department: String,
    pub dataset: String,
    pub counts: DatasetCounts,
}

impl DayCounts {
    /// Zero counts for one key.
    pub fn new(day: NaiveDate, department: &str, dataset: &str) -> Self {
        DayCounts {
            day,
            department: department.to_owned(),
            dataset: dataset.to_owned(),
            counts: DatasetCounts::default(),
        }
    }

    /// Adds `other`'s counts (its key is ignored).
    pub fn add(&mut self, other: &DayCounts) {
        self.counts.merge(&other.counts);
    }

    /// The row as the score builder takes it.
    pub fn row(&self) -> DatasetRow<'_> {
        DatasetRow {
            department: &self.department,
            dataset: &self.dataset,
            counts: &self.counts,
        }
    }
}

/// Everything that changed since the last checkpoint; applied atomically.
///
/// Order of application inside the transaction (it matters only where noted):
/// counts, offsets, references, seen, then `expire` (so a row upserted by
/// this checkpoint but already older than the cut-off is removed too, as the
/// engine's in-memory state would have), then violations, then findings
/// opened before findings fixed (one checkpoint may open and fix a finding),
/// then failures before their pruning.
#[derive(Debug, Clone, Default)]
pub struct Checkpoint {
    /// Deltas ADDED to the stored counts (same key = day, department, dataset; checks by id).
    pub counts: Vec<DayCounts>,
    /// Next offset to consume per partition: SET (overwrite; a later entry
    /// for the same partition wins).
    pub offsets: Vec<PartitionOffset>,
    /// Upserted by (entity, key).
    pub references: Vec<ReferenceRow>,
    /// Upserted by key (`at_ms` overwritten).
    pub seen: Vec<SeenRow>,
    /// Deletes the rows the engine forgot.
    pub expire: Option<Expiry>,
    /// Appended, oldest first; the store keeps only the newest
    /// `violations_kept_per_department` per department.
    pub violations: Vec<Violation>,
    /// Inserted, or reopened when the same opening was written before.
    pub findings_opened: Vec<FindingOpened>,
    /// Marks stored openings fixed.
    pub findings_fixed: Vec<FindingFixed>,
    /// Every failed check of the records counted, kept while disputable
    /// (a repeat of a stored one is ignored).
    pub failures: Vec<Failure>,
    /// Deletes the kept failures with a message time before this (epoch
    /// ms), except those a dispute covers.
    pub failures_before_ms: Option<i64>,
    /// The claims the offsets were read under. Every partition in `offsets`
    /// needs one, still the newest in the store, or the whole checkpoint is
    /// refused ([`StoreError::Fenced`]).
    pub claims: Vec<Claim>,
}

/// The right to write one partition's offsets, granted by
/// [`CheckpointStore::claim`]: valid until someone claims the partition again.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Claim {
    pub topic: String,
    pub partition: i32,
    /// Grows by one with every claim of the partition.
    pub epoch: i64,
}

impl Checkpoint {
    /// True when committing it would change nothing (claims are only the
    /// right to write, not a change).
    pub fn is_empty(&self) -> bool {
        self.counts.is_empty()
            && self.offsets.is_empty()
            && self.references.is_empty()
            && self.seen.is_empty()
            && self.expire.is_none()
            && self.violations.is_empty()
            && self.findings_opened.is_empty()
            && self.findings_fixed.is_empty()
            && self.failures.is_empty()
            && self.failures_before_ms.is_none()
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
    /// The database was written by an older dqmon: its layout changes only
    /// when an operator says so.
    #[error(
        "store schema version {found} is older than this dqmon's ({supported}): \
         back it up, then run `dqmon store migrate` (--store FILE or --store-url URL)"
    )]
    NeedsMigration { found: i64, supported: i64 },
    /// A reading command was given a file (or database) that holds no score store.
    #[error("not a dqmon score store (no schema)")]
    NotAStore,
    /// The checkpoint sets the offset of a partition that was claimed again
    /// since its claim (or that it holds no claim for): another instance owns
    /// the partition now. Nothing of the checkpoint was written. Names the
    /// partition only.
    #[error(
        "partition {partition} of topic {topic} is not this checkpoint's to write \
         (claimed again since, or never claimed): nothing written"
    )]
    Fenced { topic: String, partition: i32 },
    /// A ledger write that does not follow what is stored (sealing a sealed
    /// period, amending a version that is not the newest): nothing written.
    #[error("{0}")]
    Conflict(String),
}

/// The writer's side of the store: what the consumer needs to checkpoint and
/// to resume. Methods block (disk I/O, fsync, the network): call them from a
/// thread of their own or `spawn_blocking`, never from an async task directly.
///
/// Outputs are deterministic: offsets sorted by partition, state rows by key.
pub trait CheckpointStore: Send + Sync {
    /// One transaction: all or nothing.
    ///
    /// On `Err` the caller must not assume either outcome (a lost connection
    /// during COMMIT is ambiguous on a networked backend): stop consuming,
    /// drop in-memory state, reload it with [`CheckpointStore::references`] /
    /// [`CheckpointStore::seen`] and seek to [`CheckpointStore::offsets`].
    /// Retrying the same checkpoint could count twice.
    fn commit(&self, checkpoint: &Checkpoint) -> Result<(), StoreError>;

    /// Claims `partitions` (topic, partition) for `owner`, in one
    /// transaction: each partition's epoch grows by one, so checkpoints made
    /// under an earlier claim are refused from now on. Claim before reading
    /// [`CheckpointStore::offsets`] to resume from: no earlier owner's
    /// checkpoint can land after that. `owner` is recorded for operators: an
    /// instance name, never personal data. Sorted by (topic, partition),
    /// duplicates claimed once.
    fn claim(&self, owner: &str, partitions: &[(String, i32)]) -> Result<Vec<Claim>, StoreError>;

    /// Stored next offsets of all partitions.
    fn offsets(&self) -> Result<Vec<PartitionOffset>, StoreError>;

    fn references(&self) -> Result<Vec<ReferenceRow>, StoreError>;

    fn seen(&self) -> Result<Vec<SeenRow>, StoreError>;

    /// Findings not fixed yet, for the engine to restore.
    fn open_findings(&self) -> Result<Vec<OpenFindingRow>, StoreError>;
}

/// The readers' side of the store: what the API, the scorecard and `dqmon
/// scores` need. Blocking, like [`CheckpointStore`].
pub trait ScoreStore: Send + Sync {
    /// Summed counts for a period: one DayCounts per (department, dataset)
    /// with days from..=to summed and `day` = from; optionally one
    /// department. Sorted by (department, dataset), checks by id.
    fn counts(
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
    ) -> Result<Vec<Violation>, StoreError>;
}

/// A checkpoint store for tests of its callers: `commit` decides, `offsets`
/// are fixed, the state is empty, every claim is granted (epoch 1).
#[cfg(test)]
pub(crate) struct Stub<F> {
    pub commit: F,
    pub offsets: Vec<PartitionOffset>,
}

#[cfg(test)]
impl<F: Fn(&Checkpoint) -> Result<(), StoreError> + Send + Sync> CheckpointStore for Stub<F> {
    fn commit(&self, checkpoint: &Checkpoint) -> Result<(), StoreError> {
        (self.commit)(checkpoint)
    }
    fn claim(&self, _owner: &str, partitions: &[(String, i32)]) -> Result<Vec<Claim>, StoreError> {
        let mut claims: Vec<Claim> = partitions
            .iter()
            .map(|(topic, partition)| Claim {
                topic: topic.clone(),
                partition: *partition,
                epoch: 1,
            })
            .collect();
        claims.sort();
        claims.dedup();
        Ok(claims)
    }
    fn offsets(&self) -> Result<Vec<PartitionOffset>, StoreError> {
        Ok(self.offsets.clone())
    }
    fn references(&self) -> Result<Vec<ReferenceRow>, StoreError> {
        Ok(vec![])
    }
    fn seen(&self) -> Result<Vec<SeenRow>, StoreError> {
        Ok(vec![])
    }
    fn open_findings(&self) -> Result<Vec<OpenFindingRow>, StoreError> {
        Ok(vec![])
    }
}
