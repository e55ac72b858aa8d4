//! The SQLite store's behaviour, one example per rule: sums, overwrites,
//! upserts and expiry, pruning, atomicity of a failed checkpoint, durability,
//! the schema, periods, threads, and the cost of large checkpoints.

use std::path::Path;
use std::time::Instant;

use chrono::NaiveDate;
use rusqlite::Connection;

use super::SqliteStore;
use super::schema::{COUNT_COLUMNS, SCHEMA_VERSION, count_columns};
use crate::model::{Dimension, PartitionOffset, Violation};
use crate::store::{
    Checkpoint, CheckpointStore, DayCounts, Expiry, ReferenceRow, ScoreStore, SeenRow, StoreError,
};

pub(super) fn d(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

pub(super) fn counts(day: &str, department: &str, dataset: &str, records: u64) -> DayCounts {
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

pub(super) fn violation(department: &str, offset: i64) -> Violation {
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

fn reference(entity: u16, k: u64, updated_secs: u32) -> ReferenceRow {
    ReferenceRow {
        entity,
        key: [k, !k],
        values: [1, 2, 3, k as u32],
        updated_secs,
        known: 0b101,
    }
}

fn seen_row(key: [u64; 2], at_ms: i64) -> SeenRow {
    SeenRow { key, at_ms }
}

#[test]
fn deltas_committed_twice_are_summed() {
    let store = SqliteStore::in_memory(10).unwrap();
    let cp = Checkpoint {
        counts: vec![counts("2026-06-15", "tax", "persons", 5)],
        ..Default::default()
    };
    store.commit(&cp).unwrap();
    store.commit(&cp).unwrap();
    let got = store
        .counts(d("2026-06-15"), d("2026-06-15"), None)
        .unwrap();
    let mut want = counts("2026-06-15", "tax", "persons", 5);
    want.add(&counts("2026-06-15", "tax", "persons", 5));
    want.counts.checks.sort();
    assert_eq!(got, vec![want]);
    assert_eq!(got[0].counts.records, 10);
    assert_eq!(got[0].counts.check("a-check"), Some([4, 10].into()));
    assert_eq!(got[0].counts.checks[0].0, "a-check", "checks sorted by id");
}

#[test]
fn offsets_are_overwritten() {
    let store = SqliteStore::in_memory(10).unwrap();
    store
        .commit(&Checkpoint {
            offsets: vec![
                PartitionOffset::new("b", 1, 10),
                PartitionOffset::new("a", 2, 5),
                PartitionOffset::new("a", 0, 7),
            ],
            ..Default::default()
        })
        .unwrap();
    store
        .commit(&Checkpoint {
            offsets: vec![
                PartitionOffset::new("a", 2, 9),
                PartitionOffset::new("a", 2, 11),
            ],
            ..Default::default()
        })
        .unwrap();
    assert_eq!(
        store.offsets().unwrap(),
        vec![
            PartitionOffset::new("a", 0, 7),
            PartitionOffset::new("a", 2, 11),
            PartitionOffset::new("b", 1, 10)
        ]
    );
}

#[test]
fn references_and_seen_are_upserted_and_expired() {
    let store = SqliteStore::in_memory(10).unwrap();
    store
        .commit(&Checkpoint {
            references: vec![
                reference(1, 1, 100),
                reference(1, 2, 100),
                reference(2, 1, 50),
            ],
            seen: vec![
                seen_row([1, 1], 1_000),
                seen_row([2, 2], 2_000),
                seen_row([u64::MAX, 0], 3_000),
            ],
            ..Default::default()
        })
        .unwrap();
    let mut updated = reference(1, 2, 300);
    updated.values = [9, 9, 9, 9];
    updated.known = 1;
    store
        .commit(&Checkpoint {
            references: vec![updated],
            seen: vec![seen_row([1, 1], 5_000)],
            ..Default::default()
        })
        .unwrap();
    assert_eq!(
        store.references().unwrap(),
        vec![reference(1, 1, 100), updated, reference(2, 1, 50)]
    );
    assert_eq!(
        store.seen().unwrap(),
        vec![
            seen_row([1, 1], 5_000),
            seen_row([2, 2], 2_000),
            seen_row([u64::MAX, 0], 3_000),
        ]
    );

    // Expiry applies after the upserts of the same checkpoint.
    store
        .commit(&Checkpoint {
            seen: vec![seen_row([7, 7], 10)],
            expire: Some(Expiry {
                seen_before_ms: 3_000,
                references_before_secs: 100,
            }),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(
        store.seen().unwrap(),
        vec![seen_row([1, 1], 5_000), seen_row([u64::MAX, 0], 3_000)]
    );
    assert_eq!(
        store.references().unwrap(),
        vec![reference(1, 1, 100), updated]
    );
}

#[test]
fn violations_pruned_per_department_newest_first() {
    let store = SqliteStore::in_memory(3).unwrap();
    store
        .commit(&Checkpoint {
            violations: (1..=5)
                .map(|o| violation("tax", o))
                .chain([violation("health", 100), violation("health", 101)])
                .collect(),
            ..Default::default()
        })
        .unwrap();
    store
        .commit(&Checkpoint {
            violations: vec![violation("tax", 6), violation("tax", 7)],
            ..Default::default()
        })
        .unwrap();
    let offsets = |rows: Vec<Violation>| rows.iter().map(|v| v.offset).collect::<Vec<_>>();
    assert_eq!(
        offsets(store.recent_violations(Some("tax"), 10).unwrap()),
        [7, 6, 5]
    );
    assert_eq!(
        offsets(store.recent_violations(Some("health"), 10).unwrap()),
        [101, 100]
    );
    assert_eq!(
        offsets(store.recent_violations(Some("tax"), 2).unwrap()),
        [7, 6]
    );
    assert_eq!(
        offsets(store.recent_violations(None, 4).unwrap()),
        [7, 6, 101, 100]
    );
    assert!(
        store
            .recent_violations(Some("none"), 10)
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store.recent_violations(None, 1).unwrap()[0],
        violation("tax", 7)
    );
    let total: i64 = store
        .lock()
        .query_row("SELECT count(*) FROM violations", [], |r| r.get(0))
        .unwrap();
    assert_eq!(total, 5, "pruned rows are deleted, not just hidden");
}

#[test]
fn lowering_violations_kept_prunes_on_open() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("dq.sqlite");
    {
        let store = SqliteStore::open(&path, 10).unwrap();
        store
            .commit(&Checkpoint {
                violations: (1..=6).map(|o| violation("tax", o)).collect(),
                ..Default::default()
            })
            .unwrap();
    }
    let store = SqliteStore::open(&path, 2).unwrap();
    let rows = store.recent_violations(None, 100).unwrap();
    assert_eq!(rows.iter().map(|v| v.offset).collect::<Vec<_>>(), [6, 5]);
    let store = SqliteStore::in_memory(0).unwrap();
    store
        .commit(&Checkpoint {
            violations: vec![violation("tax", 1)],
            ..Default::default()
        })
        .unwrap();
    assert!(store.recent_violations(None, 100).unwrap().is_empty());
}

/// A checkpoint with state in every table, for atomicity checks.
fn full_checkpoint(records: u64, next_offset: i64) -> Checkpoint {
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
    }
}

/// Everything a commit can change, for before/after comparison.
type Snapshot = (
    Vec<DayCounts>,
    Vec<PartitionOffset>,
    Vec<ReferenceRow>,
    Vec<SeenRow>,
    Vec<Violation>,
);

fn snapshot(store: &SqliteStore) -> Snapshot {
    (
        store
            .daily_counts(d("2000-01-01"), d("2100-01-01"), None)
            .unwrap(),
        store.offsets().unwrap(),
        store.references().unwrap(),
        store.seen().unwrap(),
        store.recent_violations(None, 100).unwrap(),
    )
}

#[test]
fn failed_checkpoint_applies_nothing() {
    let store = SqliteStore::in_memory(10).unwrap();
    store.commit(&full_checkpoint(3, 10)).unwrap();
    let before = snapshot(&store);

    // 1. CHECK constraint (negative partition) after counts and a valid offset.
    let mut cp = full_checkpoint(4, 20);
    cp.offsets.push(PartitionOffset::new("t", -1, 20));
    let err = store.commit(&cp).unwrap_err();
    assert!(matches!(err, StoreError::Backend(_)), "{err}");
    assert!(err.to_string().contains("CHECK constraint"), "{err}");
    assert_eq!(snapshot(&store), before);

    // 2. A count that does not fit SQLite's integers, in the second DayCounts.
    let mut cp = full_checkpoint(4, 20);
    cp.counts[1].counts.dimensions[4].failed = u64::MAX;
    assert!(matches!(store.commit(&cp), Err(StoreError::Invalid(_))));
    assert_eq!(snapshot(&store), before);

    // 3. A failure injected at the very last step (violations), after
    //    counts, offsets, references and seen rows were written.
    store
        .lock()
        .execute_batch(
            "CREATE TEMP TRIGGER fail_violations BEFORE INSERT ON violations \
             BEGIN SELECT RAISE(ABORT, 'injected failure'); END;",
        )
        .unwrap();
    let err = store.commit(&full_checkpoint(4, 20)).unwrap_err();
    assert!(err.to_string().contains("injected failure"), "{err}");
    assert_eq!(snapshot(&store), before);

    // 4. A stored sum overflowing i64 (STRICT refuses the REAL it becomes).
    store
        .lock()
        .execute_batch("DROP TRIGGER fail_violations")
        .unwrap();
    let mut big = counts("2026-06-15", "tax", "persons", 0);
    big.counts.records = i64::MAX as u64;
    let mut cp = full_checkpoint(4, 20);
    cp.counts.push(big);
    let err = store.commit(&cp).unwrap_err();
    assert!(
        err.to_string().contains("REAL value in INTEGER column"),
        "{err}"
    );
    assert_eq!(snapshot(&store), before);

    // The store stays usable after failed commits.
    store.commit(&full_checkpoint(4, 20)).unwrap();
    let got = store
        .counts(d("2026-06-15"), d("2026-06-15"), None)
        .unwrap();
    assert_eq!(got[0].counts.records, 7);
    assert_eq!(
        store.offsets().unwrap()[0],
        PartitionOffset::new("t", 0, 20)
    );
}

#[test]
fn file_store_is_durable_across_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("dq.sqlite");
    let before = {
        let store = SqliteStore::open(&path, 10).unwrap();
        store.commit(&full_checkpoint(3, 10)).unwrap();
        store.commit(&full_checkpoint(4, 20)).unwrap();
        let conn = store.lock();
        let mode: String = conn
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .unwrap();
        let sync: i64 = conn
            .query_row("PRAGMA synchronous", [], |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
        assert_eq!(sync, 2, "synchronous=FULL");
        drop(conn);
        snapshot(&store)
    };
    let store = SqliteStore::open(&path, 10).unwrap();
    assert_eq!(snapshot(&store), before);
    let got = store
        .counts(d("2026-06-01"), d("2026-06-30"), Some("tax"))
        .unwrap();
    assert_eq!(got[0].counts.records, 7);
    assert_eq!(
        store.offsets().unwrap(),
        vec![
            PartitionOffset::new("t", 0, 20),
            PartitionOffset::new("t", 1, 20)
        ]
    );
    let version: i64 = store
        .lock()
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, SCHEMA_VERSION);
}

#[test]
fn generated_sql_matches_the_frozen_schema() {
    let store = SqliteStore::in_memory(1).unwrap();
    let conn = store.lock();
    let mut stmt = conn
        .prepare("SELECT name FROM pragma_table_info('day_counts')")
        .unwrap();
    let columns: Vec<String> = stmt
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(columns[..3], ["day", "department", "dataset"]);
    assert_eq!(columns[3..], count_columns()[..]);
    assert_eq!(count_columns().len(), COUNT_COLUMNS);
}

#[test]
fn newer_schema_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("dq.sqlite");
    drop(SqliteStore::open(&path, 10).unwrap());
    Connection::open(&path)
        .unwrap()
        .pragma_update(None, "user_version", SCHEMA_VERSION + 1)
        .unwrap();
    match SqliteStore::open(&path, 10) {
        Err(StoreError::UnsupportedSchema { found, supported }) => {
            assert_eq!((found, supported), (SCHEMA_VERSION + 1, SCHEMA_VERSION));
        }
        other => panic!("expected UnsupportedSchema, got {other:?}"),
    }
}

#[test]
fn newer_schema_is_refused_by_readers_and_by_migrate() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("dq.sqlite");
    drop(SqliteStore::open(&path, 10).unwrap());
    Connection::open(&path)
        .unwrap()
        .pragma_update(None, "user_version", SCHEMA_VERSION + 1)
        .unwrap();
    assert!(matches!(
        SqliteStore::open_read_only(&path),
        Err(StoreError::UnsupportedSchema { .. })
    ));
    assert!(matches!(
        SqliteStore::migrate(&path),
        Err(StoreError::UnsupportedSchema { .. })
    ));
}

#[test]
fn a_version_1_store_migrates_and_keeps_its_violations() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("dq.sqlite");
    {
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch(super::schema::SCHEMA_V1).unwrap();
        conn.execute(
            "INSERT INTO violations (topic, partition_id, record_offset, timestamp_ms, record_id, \
             department, dataset, dimension, check_id, field, reason) \
             VALUES ('t', 0, 5, 1005, 'r5', 'tax', 'ds', 'format', 'c', NULL, 'bad')",
            [],
        )
        .unwrap();
        conn.pragma_update(None, "user_version", 1).unwrap();
    }
    assert!(matches!(
        SqliteStore::open(&path, 10),
        Err(StoreError::NeedsMigration { found: 1, .. })
    ));
    SqliteStore::migrate(&path).unwrap();
    let store = SqliteStore::open(&path, 10).unwrap();
    let cp = Checkpoint {
        violations: vec![Violation {
            late: true,
            ..violation("tax", 6)
        }],
        ..Checkpoint::default()
    };
    store.commit(&cp).unwrap();
    let got = store.recent_violations(Some("tax"), 10).unwrap();
    let late: Vec<(i64, bool)> = got.iter().map(|v| (v.offset, v.late)).collect();
    assert_eq!(
        late,
        vec![(6, true), (5, false)],
        "newest first; the old one was not late"
    );
}

#[test]
fn an_older_schema_is_migrated_only_on_request() {
    use super::schema::check_version;
    // As a dqmon of schema 3 would judge: a new file gets the schema, the
    // current one opens as it is, an older one waits for `dqmon store
    // migrate`, a newer one is refused even then.
    assert!(check_version(0, 3, false).is_ok());
    assert!(check_version(3, 3, false).is_ok());
    for older in [1, 2] {
        assert!(matches!(
            check_version(older, 3, false),
            Err(StoreError::NeedsMigration { found, supported: 3 }) if found == older
        ));
        assert!(check_version(older, 3, true).is_ok());
    }
    assert!(matches!(
        check_version(4, 3, true),
        Err(StoreError::UnsupportedSchema { .. })
    ));
    assert!(check_version(SCHEMA_VERSION, SCHEMA_VERSION, false).is_ok());
    let message = StoreError::NeedsMigration {
        found: 1,
        supported: 2,
    }
    .to_string();
    assert!(message.contains("dqmon store migrate"), "{message}");
}

/// What a database holds on disk: its main file's bytes and its WAL's
/// (a missing WAL and an empty one are the same: no pending writes).
fn contents_of(path: &Path) -> (u64, u64) {
    use std::hash::{DefaultHasher, Hash, Hasher};
    let hash = |p: &Path| {
        let mut h = DefaultHasher::new();
        std::fs::read(p).unwrap_or_default().hash(&mut h);
        h.finish()
    };
    let mut wal = path.as_os_str().to_owned();
    wal.push("-wal");
    (hash(path), hash(Path::new(&wal)))
}

#[test]
fn a_read_only_open_reads_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("dq.sqlite");
    let store = SqliteStore::open(&path, 100).unwrap();
    store.commit(&full_checkpoint(3, 10)).unwrap();
    drop(store);
    let before = contents_of(&path);
    let reader = SqliteStore::open_read_only(&path).unwrap();
    let counts = reader
        .counts(d("2000-01-01"), d("2100-01-01"), None)
        .unwrap();
    assert!(!counts.is_empty());
    assert_eq!(reader.recent_violations(None, 1000).unwrap().len(), 1);
    // Writing through it is refused by SQLite itself.
    assert!(reader.commit(&full_checkpoint(1, 11)).is_err());
    drop(reader);
    assert_eq!(
        contents_of(&path),
        before,
        "a reader left the files as they were"
    );

    let missing = dir.path().join("dq.sqlite-none");
    assert!(SqliteStore::open_read_only(&missing).is_err());
    let empty = dir.path().join("empty.sqlite");
    drop(Connection::open(&empty).unwrap());
    assert!(matches!(
        SqliteStore::open_read_only(&empty),
        Err(StoreError::NotAStore)
    ));
}

#[test]
fn counts_sum_days_in_range_only() {
    let store = SqliteStore::in_memory(10).unwrap();
    store
        .commit(&Checkpoint {
            counts: vec![
                counts("2026-05-31", "tax", "persons", 1000),
                counts("2026-06-01", "tax", "persons", 1),
                counts("2026-06-15", "tax", "persons", 2),
                counts("2026-06-15", "tax", "firms", 4),
                counts("2026-06-30", "health", "cases", 8),
                counts("2026-07-01", "tax", "persons", 1000),
            ],
            ..Default::default()
        })
        .unwrap();
    let june = store
        .counts(d("2026-06-01"), d("2026-06-30"), None)
        .unwrap();
    let keys: Vec<_> = june
        .iter()
        .map(|c| {
            (
                c.day,
                c.department.as_str(),
                c.dataset.as_str(),
                c.counts.records,
            )
        })
        .collect();
    assert_eq!(
        keys,
        [
            (d("2026-06-01"), "health", "cases", 8),
            (d("2026-06-01"), "tax", "firms", 4),
            (d("2026-06-01"), "tax", "persons", 3),
        ]
    );
    let persons = &june[2];
    assert_eq!(persons.counts.dimensions[4], [15, 8].into());
    assert_eq!(persons.counts.check("a-check"), Some([4, 3].into()));
    assert_eq!(persons.counts.check("b-check"), Some([3, 2].into()));

    let tax = store
        .counts(d("2026-06-01"), d("2026-06-30"), Some("tax"))
        .unwrap();
    assert_eq!(tax.len(), 2);
    assert!(tax.iter().all(|c| c.department == "tax"));
    assert!(
        store
            .counts(d("2026-06-02"), d("2026-06-14"), None)
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .counts(d("2026-06-30"), d("2026-06-01"), None)
            .unwrap()
            .is_empty()
    );
    // Bounds beyond storable years are clamped, not an error.
    let all = store
        .counts(NaiveDate::MIN, NaiveDate::MAX, Some("tax"))
        .unwrap();
    assert_eq!(all.iter().map(|c| c.counts.records).sum::<u64>(), 2007);
}

#[test]
fn daily_counts_are_per_day() {
    let store = SqliteStore::in_memory(10).unwrap();
    store
        .commit(&Checkpoint {
            counts: vec![
                counts("2026-06-02", "tax", "persons", 2),
                counts("2026-06-01", "tax", "persons", 1),
                counts("2026-06-01", "health", "cases", 5),
                counts("2026-06-03", "tax", "persons", 3),
            ],
            ..Default::default()
        })
        .unwrap();
    let days = store
        .daily_counts(d("2026-06-01"), d("2026-06-02"), None)
        .unwrap();
    let keys: Vec<_> = days
        .iter()
        .map(|c| {
            (
                c.day,
                c.department.as_str(),
                c.counts.records,
                c.counts.checks.len(),
            )
        })
        .collect();
    assert_eq!(
        keys,
        [
            (d("2026-06-01"), "health", 5, 2),
            (d("2026-06-01"), "tax", 1, 2),
            (d("2026-06-02"), "tax", 2, 2),
        ]
    );
    assert_eq!(days[1], {
        let mut c = counts("2026-06-01", "tax", "persons", 1);
        c.counts.checks.sort();
        c
    });
    let tax = store
        .daily_counts(d("2026-06-01"), d("2026-06-30"), Some("tax"))
        .unwrap();
    assert_eq!(
        tax.iter().map(|c| c.counts.records).collect::<Vec<_>>(),
        [1, 2, 3]
    );
}

#[test]
fn days_outside_four_digit_years_are_refused() {
    let store = SqliteStore::in_memory(10).unwrap();
    let mut c = DayCounts::new(NaiveDate::from_ymd_opt(10_000, 1, 1).unwrap(), "a", "b");
    c.counts.records = 1;
    let err = store
        .commit(&Checkpoint {
            counts: vec![c],
            ..Default::default()
        })
        .unwrap_err();
    assert!(matches!(err, StoreError::Invalid(_)));
}

#[test]
fn shared_across_threads() {
    // Also proves the trait is object-safe: the daemon holds an Arc<dyn CheckpointStore>.
    let store = std::sync::Arc::new(SqliteStore::in_memory(10).unwrap());
    let _: std::sync::Arc<dyn CheckpointStore> = store.clone();
    let _: std::sync::Arc<dyn ScoreStore> = store.clone();
    let handles: Vec<_> = (0..4)
        .map(|t| {
            let store = store.clone();
            std::thread::spawn(move || {
                for _ in 0..25 {
                    store
                        .commit(&Checkpoint {
                            counts: vec![counts("2026-06-15", "tax", "persons", t + 1)],
                            ..Default::default()
                        })
                        .unwrap();
                    store
                        .counts(d("2026-06-15"), d("2026-06-15"), None)
                        .unwrap();
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    let got = store
        .counts(d("2026-06-15"), d("2026-06-15"), None)
        .unwrap();
    assert_eq!(got[0].counts.records, 25 * (1 + 2 + 3 + 4));
}

/// Deterministic pseudo-random keys for the timing test.
fn mix(i: u64) -> u64 {
    let mut x = i.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    x ^= x >> 31;
    x.wrapping_mul(0xBF58_476D_1CE4_E5B9)
}

/// Prints how long big checkpoints take on a real file (fsync included).
/// Run with `--nocapture`; asserts no time, only the contents.
#[test]
fn large_checkpoint_timing() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("dq.sqlite"), 100).unwrap();
    let big = |round: u64| Checkpoint {
        counts: (0..50)
            .map(|i| {
                counts(
                    "2026-06-15",
                    &format!("dep{}", i % 10),
                    &format!("ds{i}"),
                    7,
                )
            })
            .collect(),
        offsets: (0..12)
            .map(|p| PartitionOffset::new("topic", p, 1_000 * round as i64))
            .collect(),
        references: (0..10_000)
            .map(|i| reference((i % 4) as u16, mix(round * 10_000 + i), 1_000))
            .collect(),
        seen: (0..100_000)
            .map(|i| SeenRow {
                key: [mix(round * 100_000 + i), i],
                // Increasing over rounds, as message times are.
                at_ms: (round * 100_000 + i) as i64,
            })
            .collect(),
        expire: Some(Expiry {
            seen_before_ms: 0,
            references_before_secs: 0,
        }),
        violations: (0..1_000)
            .map(|i| violation(&format!("dep{}", i % 10), i))
            .collect(),
    };
    for round in 0..3 {
        let cp = big(round);
        let start = Instant::now();
        store.commit(&cp).unwrap();
        println!(
            "checkpoint {round}: 100k seen + 10k references (+50 counts, 1k violations) \
             committed in {:?}",
            start.elapsed()
        );
    }
    let start = Instant::now();
    let seen = store.seen().unwrap();
    let references = store.references().unwrap();
    println!(
        "reload of {} seen + {} references in {:?}",
        seen.len(),
        references.len(),
        start.elapsed()
    );
    assert_eq!(seen.len(), 300_000);
    assert_eq!(references.len(), 30_000);
}
