//! The store's behaviour, once for both backends: each test body is generic
//! over [`TestDb`] (a fresh, empty database of one backend and what a test
//! needs to reach past the traits), and [`store_tests!`] instantiates every
//! body for a backend: plain tests for SQLite, `#[ignore]`d twins for
//! PostgreSQL (they need a server: `scripts/postgres-local.sh`).
//!
//! `behaviour` has one example per rule, `exactness` the kill -9 and
//! grouping properties, `fencing` the partition claims, `ledger` the sealed
//! reports and the audit log, `findings` rectification, `disputes` the
//! disputes and what they withdraw from the scores.

mod behaviour;
mod disputes;
mod exactness;
mod fencing;
mod findings;
mod ledger;

pub(crate) use behaviour::*;
pub(crate) use disputes::*;
pub(crate) use exactness::*;
pub(crate) use fencing::*;
pub(crate) use findings::*;
pub(crate) use ledger::*;

use chrono::NaiveDate;

use crate::model::{Dimension, PartitionOffset, Violation};
use crate::store::{
    Checkpoint, CheckpointStore, DayCounts, LedgerStore, ReferenceRow, ScoreStore, SeenRow,
    StoreError,
};

/// One empty database of a backend, owned by one test (dropped with it),
/// and the backend-specific reach past the traits the tests need.
pub(crate) trait TestDb: Sized {
    type Store: CheckpointStore
        + ScoreStore
        + LedgerStore
        + crate::store::FindingStore
        + crate::store::DisputeStore
        + std::fmt::Debug
        + Send
        + Sync
        + 'static;
    /// The schema version the backend writes.
    const SCHEMA_VERSION: i64;
    /// Part of the message of a violated CHECK constraint.
    const CHECK_VIOLATION: &'static str;
    /// Part of the message of a count sum beyond 64-bit integers.
    const SUM_OVERFLOW: &'static str;
    /// The path of the backend's tests module in the crate, where its
    /// `kill9_child` is, and the libtest arguments that child needs.
    const TESTS: &'static str;
    const CHILD_ARGS: &'static [&'static str];

    /// A fresh database, nothing in it.
    fn new() -> Self;
    /// What another process needs to reach the same database ([`TestDb::attach`]).
    fn target(&self) -> String;
    /// The database of `target`, not dropped when this value is.
    fn attach(target: &str) -> Self;

    /// Opens the writer's store, as the service does.
    fn open(&self, violations_kept: usize) -> Result<Self::Store, StoreError>;
    fn open_read_only(&self) -> Result<Self::Store, StoreError>;
    fn migrate(&self) -> Result<(i64, i64), StoreError>;
    /// Leaves a database with nothing of dqmon where the store would be.
    fn make_empty(&self);
    fn schema_version(&self) -> i64;
    fn set_schema_version(&self, version: i64);
    /// Changes whenever anything in the database changes.
    fn fingerprint(&self) -> u64;
    /// The highest stored next offset (0 when none), read past any store.
    fn max_stored_offset(&self) -> i64;

    /// Per-day counts (not summed).
    fn daily_counts(
        store: &Self::Store,
        from: NaiveDate,
        to: NaiveDate,
        department: Option<&str>,
    ) -> Result<Vec<DayCounts>, StoreError>;
    /// Rows in the violations table, pruned ones included if not deleted.
    fn violation_rows(store: &Self::Store) -> i64;
    /// Makes every insert into violations fail with "injected_failure" (or
    /// work again).
    fn fail_violation_inserts(store: &Self::Store, fail: bool);
    /// Column names of the day_counts table, in order.
    fn day_counts_columns(store: &Self::Store) -> Vec<String>;
    /// Asserts the settings that make a commit durable.
    fn check_durability(store: &Self::Store);
    /// Runs `sql` past the traits, as an operator with the database's shell
    /// could.
    fn execute(store: &Self::Store, sql: &str) -> Result<(), StoreError>;
}

/// One test per generic body, for a backend: `store_tests!(plain Db)` or
/// `store_tests!(ignored Db)`.
macro_rules! store_tests {
    ($mode:ident $db:ty) => {
        $crate::store::tests::store_tests!(@tests $mode $db;
            deltas_committed_twice_are_summed,
            offsets_are_overwritten,
            references_and_seen_are_upserted_and_expired,
            violations_pruned_per_department_newest_first,
            lowering_violations_kept_prunes_on_open,
            failed_checkpoint_applies_nothing,
            store_is_durable_across_reopen,
            generated_sql_matches_the_frozen_schema,
            newer_schema_is_refused,
            newer_schema_is_refused_by_readers_and_by_migrate,
            migrate_creates_the_schema_then_changes_nothing,
            a_read_only_open_reads_and_changes_nothing,
            counts_sum_days_in_range_only,
            daily_counts_are_per_day,
            days_outside_four_digit_years_are_refused,
            shared_across_threads,
            large_checkpoint_timing,
            kill9_child,
            kill9_at_any_moment_keeps_counts_offsets_and_state_together,
            grouping_of_checkpoints_does_not_matter,
            claims_grow_by_one_per_claim,
            a_newer_claim_fences_the_older_owner,
            offsets_without_a_current_claim_are_refused,
            a_claim_fences_a_writer_committing_concurrently,
            a_seal_chain_grows_only_by_its_next_version,
            the_audit_log_pages_newest_first,
            the_ledger_refuses_every_change_to_a_written_row,
            findings_open_fix_restore_and_summarise,
            findings_written_twice_in_one_checkpoint,
            disputes_withdraw_exactly_what_they_cover,
            dispute_steps_follow_the_procedure_and_are_audited,
            failures_are_kept_while_disputable,
        );
    };
    (@tests plain $db:ty; $($name:ident),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                $crate::store::tests::$name::<$db>();
            }
        )*
    };
    (@tests ignored $db:ty; $($name:ident),* $(,)?) => {
        $(
            #[test]
            #[ignore = "needs PostgreSQL: DQMON_TEST_POSTGRES_URL (eval \"$(scripts/postgres-local.sh start)\")"]
            fn $name() {
                $crate::store::tests::$name::<$db>();
            }
        )*
    };
}
pub(crate) use store_tests;

pub(crate) fn d(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

pub(crate) fn counts(day: &str, department: &str, dataset: &str, records: u64) -> DayCounts {
    let mut c = DayCounts::new(d(day), department, dataset);
    c.counts.records = records;
    c.counts.malformed = records / 10;
    for (i, dim) in c.counts.dimensions.iter_mut().enumerate() {
        *dim = [records * (i as u64 + 1), i as u64].into();
    }
    c.counts.checks = vec![
        ("b-check".into(), [records, 1].into()),
        ("a-check".into(), [2, records].into()),
    ];
    c
}

pub(crate) fn violation(department: &str, offset: i64) -> Violation {
    Violation {
        topic: "t".into(),
        partition: 0,
        offset,
        timestamp: 1_000 + offset,
        record_id: Some(format!("r{offset}")),
        department: department.into(),
        dataset: "ds".into(),
        dimension: Dimension::Format,
        check: "c".into(),
        field: None,
        reason: "bad".into(),
        late: false,
    }
}

pub(crate) fn reference(entity: u16, k: u64, updated_secs: u32) -> ReferenceRow {
    ReferenceRow {
        entity,
        key: [k, !k],
        values: [1, 2, 3, k as u32],
        updated_secs,
        known: 0b101,
    }
}

pub(crate) fn seen_row(key: [u64; 2], at_ms: i64) -> SeenRow {
    SeenRow { key, at_ms }
}

/// `cp` with fresh claims of every partition it sets an offset for, as the
/// only instance writing them would hold.
pub(crate) fn with_claims(store: &impl CheckpointStore, mut cp: Checkpoint) -> Checkpoint {
    let partitions: Vec<(String, i32)> = cp
        .offsets
        .iter()
        .map(|o| (o.topic.clone(), o.partition))
        .collect();
    cp.claims = store.claim("test", &partitions).unwrap();
    cp
}

/// Commits `cp` under fresh claims of its partitions.
pub(crate) fn commit_claimed(
    store: &impl CheckpointStore,
    cp: Checkpoint,
) -> Result<(), StoreError> {
    store.commit(&with_claims(store, cp))
}

/// A checkpoint with state in every table, for atomicity checks.
pub(crate) fn full_checkpoint(records: u64, next_offset: i64) -> Checkpoint {
    Checkpoint {
        counts: vec![
            counts("2026-06-15", "tax", "persons", records),
            counts("2026-06-16", "health", "cases", records),
        ],
        offsets: vec![
            PartitionOffset::new("t", 0, next_offset),
            PartitionOffset::new("t", 1, next_offset),
        ],
        references: vec![reference(1, next_offset as u64, 10)],
        seen: vec![SeenRow {
            key: [next_offset as u64, 0],
            at_ms: next_offset,
        }],
        expire: None,
        violations: vec![violation("tax", next_offset)],
        findings_opened: vec![crate::store::FindingOpened {
            key: [next_offset as u64, 1],
            department: "tax".into(),
            dataset: "persons".into(),
            check: "id.format".into(),
            dimension: Dimension::Format,
            opened_ms: next_offset,
            opened_day: d("2026-06-15"),
            at: crate::store::findings::RecordAt {
                topic: "t".into(),
                partition: 0,
                offset: next_offset,
                record_id: None,
            },
        }],
        findings_fixed: Vec::new(),
        failures: vec![crate::store::Failure {
            at: crate::store::findings::RecordAt {
                topic: "t".into(),
                partition: 0,
                offset: next_offset,
                record_id: None,
            },
            timestamp_ms: next_offset,
            day: d("2026-06-15"),
            department: "tax".into(),
            dataset: "persons".into(),
            check: "id.format".into(),
            dimension: Dimension::Format,
        }],
        failures_before_ms: None,
        claims: Vec::new(),
    }
}

/// Everything a commit can change, for before/after comparison.
pub(crate) type Snapshot = (
    Vec<DayCounts>,
    Vec<PartitionOffset>,
    Vec<ReferenceRow>,
    Vec<SeenRow>,
    Vec<Violation>,
    Vec<crate::store::OpenFindingRow>,
);

pub(crate) fn snapshot<D: TestDb>(store: &D::Store) -> Snapshot {
    (
        D::daily_counts(store, d("2000-01-01"), d("2100-01-01"), None).unwrap(),
        store.offsets().unwrap(),
        store.references().unwrap(),
        store.seen().unwrap(),
        store.recent_violations(None, 100).unwrap(),
        store.open_findings().unwrap(),
    )
}
