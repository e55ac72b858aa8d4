//! One example per rule: sums, overwrites, upserts and expiry, pruning,
//! atomicity of a failed checkpoint, durability, the schema, periods,
//! threads, and the cost of large checkpoints.

use std::time::Instant;

use chrono::NaiveDate;

use super::{
    TestDb, commit_claimed, counts, d, full_checkpoint, reference, seen_row, snapshot, violation,
    with_claims,
};
use crate::model::{PartitionOffset, Violation};
use crate::store::columns::{COUNT_COLUMNS, count_columns};
use crate::store::{
    Checkpoint, CheckpointStore, DayCounts, Expiry, ScoreStore, SeenRow, StoreError,
};

pub(crate) fn deltas_committed_twice_are_summed<D: TestDb>() {
    let db = D::new();
    let store = db.open(10).unwrap();
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

pub(crate) fn offsets_are_overwritten<D: TestDb>() {
    let db = D::new();
    let store = db.open(10).unwrap();
    commit_claimed(
        &store,
        Checkpoint {
            offsets: vec![
                PartitionOffset::new("b", 1, 10),
                PartitionOffset::new("a", 2, 5),
                PartitionOffset::new("a", 0, 7),
            ],
            ..Default::default()
        },
    )
    .unwrap();
    commit_claimed(
        &store,
        Checkpoint {
            offsets: vec![
                PartitionOffset::new("a", 2, 9),
                PartitionOffset::new("a", 2, 11),
            ],
            ..Default::default()
        },
    )
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

pub(crate) fn references_and_seen_are_upserted_and_expired<D: TestDb>() {
    let db = D::new();
    let store = db.open(10).unwrap();
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

pub(crate) fn violations_pruned_per_department_newest_first<D: TestDb>() {
    let db = D::new();
    let store = db.open(3).unwrap();
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
    assert_eq!(
        D::violation_rows(&store),
        5,
        "pruned rows are deleted, not just hidden"
    );
}

pub(crate) fn lowering_violations_kept_prunes_on_open<D: TestDb>() {
    let db = D::new();
    {
        let store = db.open(10).unwrap();
        store
            .commit(&Checkpoint {
                violations: (1..=6).map(|o| violation("tax", o)).collect(),
                ..Default::default()
            })
            .unwrap();
    }
    let store = db.open(2).unwrap();
    let rows = store.recent_violations(None, 100).unwrap();
    assert_eq!(rows.iter().map(|v| v.offset).collect::<Vec<_>>(), [6, 5]);
    let db = D::new();
    let store = db.open(0).unwrap();
    store
        .commit(&Checkpoint {
            violations: vec![violation("tax", 1)],
            ..Default::default()
        })
        .unwrap();
    assert!(store.recent_violations(None, 100).unwrap().is_empty());
}

pub(crate) fn failed_checkpoint_applies_nothing<D: TestDb>() {
    let db = D::new();
    let store = db.open(10).unwrap();
    commit_claimed(&store, full_checkpoint(3, 10)).unwrap();
    let before = snapshot::<D>(&store);

    // 1. CHECK constraint (a negative offset, overwriting a valid one) after
    //    counts and a valid offset.
    let mut cp = full_checkpoint(4, 20);
    cp.offsets.push(PartitionOffset::new("t", 1, -5));
    let err = store.commit(&with_claims(&store, cp)).unwrap_err();
    assert!(matches!(err, StoreError::Backend(_)), "{err}");
    assert!(err.to_string().contains(D::CHECK_VIOLATION), "{err}");
    assert_eq!(snapshot::<D>(&store), before);

    // 2. A count that does not fit 64-bit signed integers, in the second DayCounts.
    let mut cp = full_checkpoint(4, 20);
    cp.counts[1].counts.dimensions[4].failed = u64::MAX;
    assert!(matches!(
        store.commit(&with_claims(&store, cp)),
        Err(StoreError::Invalid(_))
    ));
    assert_eq!(snapshot::<D>(&store), before);

    // 3. A failure injected at the very last step (violations), after
    //    counts, offsets, references and seen rows were written.
    D::fail_violation_inserts(&store, true);
    let err = commit_claimed(&store, full_checkpoint(4, 20)).unwrap_err();
    assert!(err.to_string().contains("injected_failure"), "{err}");
    assert_eq!(snapshot::<D>(&store), before);

    // 4. A stored sum overflowing i64.
    D::fail_violation_inserts(&store, false);
    let mut big = counts("2026-06-15", "tax", "persons", 0);
    big.counts.records = i64::MAX as u64;
    let mut cp = full_checkpoint(4, 20);
    cp.counts.push(big);
    let err = commit_claimed(&store, cp).unwrap_err();
    assert!(err.to_string().contains(D::SUM_OVERFLOW), "{err}");
    assert_eq!(snapshot::<D>(&store), before);

    // The store stays usable after failed commits.
    commit_claimed(&store, full_checkpoint(4, 20)).unwrap();
    let got = store
        .counts(d("2026-06-15"), d("2026-06-15"), None)
        .unwrap();
    assert_eq!(got[0].counts.records, 7);
    assert_eq!(
        store.offsets().unwrap()[0],
        PartitionOffset::new("t", 0, 20)
    );
}

pub(crate) fn store_is_durable_across_reopen<D: TestDb>() {
    let db = D::new();
    let before = {
        let store = db.open(10).unwrap();
        commit_claimed(&store, full_checkpoint(3, 10)).unwrap();
        commit_claimed(&store, full_checkpoint(4, 20)).unwrap();
        D::check_durability(&store);
        snapshot::<D>(&store)
    };
    let store = db.open(10).unwrap();
    assert_eq!(snapshot::<D>(&store), before);
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
    assert_eq!(db.schema_version(), D::SCHEMA_VERSION);
}

pub(crate) fn generated_sql_matches_the_frozen_schema<D: TestDb>() {
    let db = D::new();
    let store = db.open(1).unwrap();
    let columns = D::day_counts_columns(&store);
    assert_eq!(columns[..3], ["day", "department", "dataset"]);
    assert_eq!(columns[3..], count_columns()[..]);
    assert_eq!(count_columns().len(), COUNT_COLUMNS);
}

pub(crate) fn newer_schema_is_refused<D: TestDb>() {
    let db = D::new();
    drop(db.open(10).unwrap());
    db.set_schema_version(D::SCHEMA_VERSION + 1);
    match db.open(10) {
        Err(StoreError::UnsupportedSchema { found, supported }) => {
            assert_eq!(
                (found, supported),
                (D::SCHEMA_VERSION + 1, D::SCHEMA_VERSION)
            );
        }
        other => panic!("expected UnsupportedSchema, got {other:?}"),
    }
}

pub(crate) fn newer_schema_is_refused_by_readers_and_by_migrate<D: TestDb>() {
    let db = D::new();
    drop(db.open(10).unwrap());
    db.set_schema_version(D::SCHEMA_VERSION + 1);
    assert!(matches!(
        db.open_read_only(),
        Err(StoreError::UnsupportedSchema { .. })
    ));
    assert!(matches!(
        db.migrate(),
        Err(StoreError::UnsupportedSchema { .. })
    ));
}

/// `dqmon store migrate` on an empty database lays the schema down; on a
/// current one it changes nothing.
pub(crate) fn migrate_creates_the_schema_then_changes_nothing<D: TestDb>() {
    let db = D::new();
    db.make_empty();
    assert!(matches!(db.open_read_only(), Err(StoreError::NotAStore)));
    assert_eq!(db.migrate().unwrap(), (0, D::SCHEMA_VERSION));
    let before = db.fingerprint();
    assert_eq!(
        db.migrate().unwrap(),
        (D::SCHEMA_VERSION, D::SCHEMA_VERSION)
    );
    assert_eq!(db.fingerprint(), before, "nothing left to migrate");
    let reader = db.open_read_only().unwrap();
    assert!(reader.recent_violations(None, 10).unwrap().is_empty());
}

pub(crate) fn a_read_only_open_reads_and_changes_nothing<D: TestDb>() {
    let db = D::new();
    let store = db.open(100).unwrap();
    commit_claimed(&store, full_checkpoint(3, 10)).unwrap();
    drop(store);
    let before = db.fingerprint();
    let reader = db.open_read_only().unwrap();
    let counts = reader
        .counts(d("2000-01-01"), d("2100-01-01"), None)
        .unwrap();
    assert!(!counts.is_empty());
    assert_eq!(reader.recent_violations(None, 1000).unwrap().len(), 1);
    // Writing through it is refused: offsets without a claim by the
    // fencing, anything else by the database itself.
    assert!(reader.commit(&full_checkpoint(1, 11)).is_err());
    let err = reader
        .commit(&Checkpoint {
            counts: vec![counts_of_one_record()],
            ..Default::default()
        })
        .unwrap_err();
    assert!(matches!(err, StoreError::Backend(_)), "{err}");
    drop(reader);
    assert_eq!(
        db.fingerprint(),
        before,
        "a reader left the database as it was"
    );

    let empty = D::new();
    empty.make_empty();
    assert!(matches!(empty.open_read_only(), Err(StoreError::NotAStore)));
}

fn counts_of_one_record() -> DayCounts {
    counts("2026-06-15", "tax", "persons", 1)
}

pub(crate) fn counts_sum_days_in_range_only<D: TestDb>() {
    let db = D::new();
    let store = db.open(10).unwrap();
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

pub(crate) fn daily_counts_are_per_day<D: TestDb>() {
    let db = D::new();
    let store = db.open(10).unwrap();
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
    let days = D::daily_counts(&store, d("2026-06-01"), d("2026-06-02"), None).unwrap();
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
    let tax = D::daily_counts(&store, d("2026-06-01"), d("2026-06-30"), Some("tax")).unwrap();
    assert_eq!(
        tax.iter().map(|c| c.counts.records).collect::<Vec<_>>(),
        [1, 2, 3]
    );
}

pub(crate) fn days_outside_four_digit_years_are_refused<D: TestDb>() {
    let db = D::new();
    let store = db.open(10).unwrap();
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

pub(crate) fn shared_across_threads<D: TestDb>() {
    // Also proves the trait is object-safe: the daemon holds an Arc<dyn CheckpointStore>.
    let db = D::new();
    let store = std::sync::Arc::new(db.open(10).unwrap());
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

/// Prints how long big checkpoints take (a real file with fsync, or a real
/// server). Run with `--nocapture`; asserts no time, only the contents.
pub(crate) fn large_checkpoint_timing<D: TestDb>() {
    let db = D::new();
    let store = db.open(100).unwrap();
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
        ..Checkpoint::default()
    };
    for round in 0..3 {
        let cp = with_claims(&store, big(round));
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
