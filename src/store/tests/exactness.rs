//! The two properties exactness rests on: a kill -9 at any moment loses
//! whole checkpoints only (counts, offsets and state stay together), and
//! how deltas are grouped into checkpoints does not change the sums.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use proptest::prelude::*;
use proptest::test_runner::{Config as ProptestConfig, TestRunner};

use super::{TestDb, commit_claimed, counts, d, violation, with_claims};
use crate::model::{Counts, PartitionOffset};
use crate::store::{Checkpoint, CheckpointStore, DayCounts, ScoreStore, SeenRow};

const CRASH_DB_VAR: &str = "DQMON_STORE_KILL9_DB";
const CRASH_STEP: i64 = 7;
const CRASH_SEEN: i64 = 500;

/// Child half of the kill -9 test: commits checkpoints in a loop until
/// killed. Does nothing unless started by the parent test.
pub(crate) fn kill9_child<D: TestDb>() {
    let Ok(target) = std::env::var(CRASH_DB_VAR) else {
        return;
    };
    let db = D::attach(&target);
    let store = db.open(5).unwrap();
    let claims = store.claim("kill9-child", &[("t".into(), 0)]).unwrap();
    let mut next = store.offsets().unwrap().first().map_or(0, |o| o.offset);
    let deadline = Instant::now() + Duration::from_secs(30);
    // Bounded, so an orphaned child stops on its own.
    while Instant::now() < deadline {
        let cp = Checkpoint {
            claims: claims.clone(),
            ..crash_checkpoint(next)
        };
        store.commit(&cp).unwrap();
        next += CRASH_STEP;
    }
}

/// Checkpoint consuming offsets next..next+7: 7 records, 500 seen rows.
fn crash_checkpoint(next: i64) -> Checkpoint {
    let mut c = counts("2026-06-15", "tax", "persons", CRASH_STEP as u64);
    c.counts.checks.truncate(1);
    Checkpoint {
        counts: vec![c],
        offsets: vec![PartitionOffset::new("t", 0, next + CRASH_STEP)],
        seen: (0..CRASH_SEEN)
            .map(|i| SeenRow {
                key: [next as u64, i as u64],
                at_ms: next,
            })
            .collect(),
        violations: vec![violation("tax", next)],
        ..Default::default()
    }
}

/// kill -9 of a process in the middle of committing, then reopen: counts,
/// offsets and state always agree (each equals k checkpoints' worth).
pub(crate) fn kill9_at_any_moment_keeps_counts_offsets_and_state_together<D: TestDb>() {
    use std::process::{Command, Stdio};
    let db = D::new();
    drop(db.open(5).unwrap());
    let test_name = format!("{}::kill9_child", D::TESTS);
    let mut last = 0;
    for (round, extra_ms) in [0u64, 1, 2, 3, 5, 8, 13, 21].into_iter().enumerate() {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([test_name.as_str(), "--exact", "--test-threads=1"])
            .args(D::CHILD_ARGS)
            .env(CRASH_DB_VAR, db.target())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // Wait until the child is committing, then kill it at a varying moment.
        let deadline = Instant::now() + Duration::from_secs(60);
        while db.max_stored_offset() <= last {
            assert!(Instant::now() < deadline, "child made no progress");
            std::thread::sleep(Duration::from_millis(2));
        }
        std::thread::sleep(Duration::from_millis(extra_ms));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();

        let store = db.open(5).unwrap();
        let offset = store.offsets().unwrap()[0].offset;
        let records = store
            .counts(d("2026-06-15"), d("2026-06-15"), None)
            .unwrap()[0]
            .counts
            .records;
        let seen = store.seen().unwrap().len() as i64;
        assert_eq!(records as i64, offset, "round {round}");
        assert_eq!(seen, offset / CRASH_STEP * CRASH_SEEN, "round {round}");
        assert!(offset > last, "round {round}");
        last = offset;
    }
    println!(
        "kill -9 test: {} checkpoints survived 8 kills",
        last / CRASH_STEP
    );
}

/// A small key space so deltas collide.
fn arb_counts() -> impl Strategy<Value = DayCounts> {
    (
        0u32..4,
        prop::sample::select(vec!["tax", "health"]),
        prop::sample::select(vec!["a", "b"]),
        0u64..1_000,
        0u64..10,
        prop::array::uniform5([0u64..50, 0u64..50]),
        prop::collection::vec(
            (
                prop::sample::select(vec!["c1", "c2", "c3"]),
                [0u64..9, 0u64..9],
            ),
            0..3,
        ),
    )
        .prop_map(|(day, dep, ds, records, malformed, dimensions, checks)| {
            let mut c = DayCounts::new(d("2026-06-28") + chrono::Days::new(day.into()), dep, ds);
            c.counts.records = records;
            c.counts.malformed = malformed;
            c.counts.dimensions = dimensions.map(Counts::from);
            // Check ids unique within one delta, as the engine emits them.
            for (id, pf) in checks {
                if c.counts.check(id).is_none() {
                    c.counts.checks.push((id.to_owned(), pf.into()));
                }
            }
            c
        })
}

fn arb_checkpoint() -> impl Strategy<Value = Checkpoint> {
    (
        prop::collection::vec(arb_counts(), 0..5),
        prop::collection::vec((0i32..3, 0i64..1_000), 0..3),
    )
        .prop_map(|(counts, offsets)| Checkpoint {
            counts,
            offsets: offsets
                .into_iter()
                .map(|(p, o)| PartitionOffset::new("t", p, o))
                .collect(),
            ..Default::default()
        })
}

/// Expected counts, computed without SQL.
fn model(checkpoints: &[Checkpoint]) -> Vec<DayCounts> {
    let mut map: BTreeMap<(NaiveDate, String, String), DayCounts> = BTreeMap::new();
    for c in checkpoints.iter().flat_map(|cp| &cp.counts) {
        map.entry((c.day, c.department.clone(), c.dataset.clone()))
            .or_insert_with(|| DayCounts::new(c.day, &c.department, &c.dataset))
            .add(c);
    }
    map.into_values()
        .map(|mut c| {
            c.counts.checks.sort();
            c
        })
        .collect()
}

/// Committing the same deltas one by one, all at once, or in any grouping
/// gives the same counts and offsets. 64 cases, as a `proptest!` would run;
/// a runner of its own because the body is generic over the backend.
pub(crate) fn grouping_of_checkpoints_does_not_matter<D: TestDb>() {
    let mut runner = TestRunner::new(ProptestConfig {
        cases: 64,
        failure_persistence: None,
        ..ProptestConfig::default()
    });
    let strategy = (
        prop::collection::vec(arb_checkpoint(), 1..8),
        prop::collection::vec(any::<bool>(), 8),
    );
    let result = runner.run(&strategy, |(checkpoints, cuts)| {
        let (db1, db2, db3) = (D::new(), D::new(), D::new());
        let one_by_one = db1.open(10).unwrap();
        for cp in &checkpoints {
            commit_claimed(&one_by_one, cp.clone()).unwrap();
        }
        let merged = |group: &[Checkpoint]| Checkpoint {
            counts: group.iter().flat_map(|cp| cp.counts.clone()).collect(),
            offsets: group.iter().flat_map(|cp| cp.offsets.clone()).collect(),
            ..Default::default()
        };
        let all_at_once = db2.open(10).unwrap();
        all_at_once
            .commit(&with_claims(&all_at_once, merged(&checkpoints)))
            .unwrap();
        let grouped = db3.open(10).unwrap();
        let mut start = 0;
        for i in 1..=checkpoints.len() {
            if i == checkpoints.len() || cuts[i] {
                grouped
                    .commit(&with_claims(&grouped, merged(&checkpoints[start..i])))
                    .unwrap();
                start = i;
            }
        }

        let (from, to) = (d("2026-06-28"), d("2026-07-01"));
        let want = model(&checkpoints);
        let summed_model = {
            let mut map: BTreeMap<(String, String), DayCounts> = BTreeMap::new();
            for c in &want {
                map.entry((c.department.clone(), c.dataset.clone()))
                    .or_insert_with(|| DayCounts::new(from, &c.department, &c.dataset))
                    .add(c);
            }
            map.into_values()
                .map(|mut c| {
                    c.counts.checks.sort();
                    c
                })
                .collect::<Vec<_>>()
        };
        for store in [&one_by_one, &all_at_once, &grouped] {
            prop_assert_eq!(&D::daily_counts(store, from, to, None).unwrap(), &want);
            prop_assert_eq!(&store.counts(from, to, None).unwrap(), &summed_model);
            prop_assert_eq!(store.offsets().unwrap(), one_by_one.offsets().unwrap());
        }
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}
