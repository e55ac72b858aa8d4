//! Partition claims: each claim grows the partition's epoch, and a
//! checkpoint made under an older claim (or none) is refused whole, also
//! when the claim comes while the old owner is committing.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::{TestDb, counts, d, full_checkpoint, snapshot};
use crate::model::PartitionOffset;
use crate::store::{Checkpoint, CheckpointStore, Claim, ScoreStore, StoreError};

fn parts(list: &[(&str, i32)]) -> Vec<(String, i32)> {
    list.iter().map(|(t, p)| ((*t).to_owned(), *p)).collect()
}

fn claim(topic: &str, partition: i32, epoch: i64) -> Claim {
    Claim {
        topic: topic.into(),
        partition,
        epoch,
    }
}

pub(crate) fn claims_grow_by_one_per_claim<D: TestDb>() {
    let db = D::new();
    let a = db.open(10).unwrap();
    assert_eq!(
        a.claim("a", &parts(&[("b", 1), ("a", 0), ("a", 0)]))
            .unwrap(),
        vec![claim("a", 0, 1), claim("b", 1, 1)],
        "sorted, a duplicate claimed once"
    );
    assert_eq!(
        a.claim("a", &parts(&[("a", 0)])).unwrap(),
        vec![claim("a", 0, 2)]
    );
    let b = db.open(10).unwrap();
    assert_eq!(
        b.claim("b", &parts(&[("a", 0), ("b", 2)])).unwrap(),
        vec![claim("a", 0, 3), claim("b", 2, 1)]
    );
    drop((a, b));
    let reopened = db.open(10).unwrap();
    assert_eq!(
        reopened.claim("c", &parts(&[("a", 0)])).unwrap(),
        vec![claim("a", 0, 4)],
        "epochs are stored"
    );
    assert!(reopened.claim("c", &[]).unwrap().is_empty());
}

/// A claims two partitions and commits; B claims one of them; A's next
/// checkpoint is refused and writes nothing, B's lands, and A may still
/// write the partition it kept.
pub(crate) fn a_newer_claim_fences_the_older_owner<D: TestDb>() {
    let db = D::new();
    let a = db.open(10).unwrap();
    let b = db.open(10).unwrap();
    let a_claims = a.claim("a", &parts(&[("t", 0), ("t", 1)])).unwrap();
    a.commit(&Checkpoint {
        claims: a_claims.clone(),
        ..full_checkpoint(3, 10)
    })
    .unwrap();
    let b_claims = b.claim("b", &parts(&[("t", 0)])).unwrap();
    let before = snapshot::<D>(&a);

    let err = a
        .commit(&Checkpoint {
            claims: a_claims.clone(),
            ..full_checkpoint(4, 20)
        })
        .unwrap_err();
    match &err {
        StoreError::Fenced { topic, partition } => {
            assert_eq!((topic.as_str(), *partition), ("t", 0))
        }
        other => panic!("expected Fenced, got {other:?}"),
    }
    let message = err.to_string();
    assert!(message.contains("partition 0 of topic t"), "{message}");
    for row_data in ["tax", "persons", "health", "r20"] {
        assert!(!message.contains(row_data), "{message}");
    }
    assert_eq!(
        snapshot::<D>(&a),
        before,
        "counts, offsets, state, violations unchanged"
    );
    assert_eq!(snapshot::<D>(&b), before);

    let mut cp = full_checkpoint(5, 30);
    cp.offsets.truncate(1);
    b.commit(&Checkpoint {
        claims: b_claims,
        ..cp
    })
    .unwrap();
    assert_eq!(
        b.offsets().unwrap(),
        vec![
            PartitionOffset::new("t", 0, 30),
            PartitionOffset::new("t", 1, 10)
        ]
    );
    let tax = b.counts(d("2026-06-15"), d("2026-06-15"), None).unwrap();
    assert_eq!(tax[0].counts.records, 3 + 5, "A's refused 4 never landed");

    // A still owns t/1.
    a.commit(&Checkpoint {
        offsets: vec![PartitionOffset::new("t", 1, 40)],
        claims: a_claims,
        ..Default::default()
    })
    .unwrap();
    assert_eq!(b.offsets().unwrap()[1], PartitionOffset::new("t", 1, 40));
}

pub(crate) fn offsets_without_a_current_claim_are_refused<D: TestDb>() {
    let db = D::new();
    let store = db.open(10).unwrap();
    let fenced = |cp: &Checkpoint| match store.commit(cp) {
        Err(StoreError::Fenced { topic, partition }) => (topic, partition),
        other => panic!("expected Fenced, got {other:?}"),
    };
    // No claims at all, though nobody else holds one either.
    assert_eq!(fenced(&full_checkpoint(1, 10)), ("t".into(), 0));
    // A claim for one partition of two.
    let claims = store.claim("a", &parts(&[("t", 0)])).unwrap();
    let cp = Checkpoint {
        claims: claims.clone(),
        ..full_checkpoint(1, 10)
    };
    assert_eq!(fenced(&cp), ("t".into(), 1));
    // An epoch the store never granted.
    let mut claims = store.claim("a", &parts(&[("t", 0), ("t", 1)])).unwrap();
    claims[1].epoch += 1;
    let cp = Checkpoint {
        claims: claims.clone(),
        ..full_checkpoint(1, 10)
    };
    assert_eq!(fenced(&cp), ("t".into(), 1));
    // The same partition number of another topic is another partition.
    let other = store.claim("a", &parts(&[("u", 1)])).unwrap();
    let cp = Checkpoint {
        claims: vec![claims[0].clone(), other[0].clone()],
        ..full_checkpoint(1, 10)
    };
    assert_eq!(fenced(&cp), ("t".into(), 1));
    assert_eq!(snapshot::<D>(&store), Default::default(), "nothing written");

    // Claims guard offsets: a checkpoint without offsets needs none.
    store
        .commit(&Checkpoint {
            counts: vec![counts("2026-06-15", "tax", "persons", 2)],
            ..Default::default()
        })
        .unwrap();
    claims[1].epoch -= 1;
    store
        .commit(&Checkpoint {
            claims,
            ..full_checkpoint(1, 10)
        })
        .unwrap();
    assert_eq!(store.offsets().unwrap().len(), 2);
}

/// A commits in a loop under its claim while B claims the partition: every
/// commit of A that succeeded landed before B's claim, none after, so B
/// resumes exactly where A's last landed checkpoint ends.
pub(crate) fn a_claim_fences_a_writer_committing_concurrently<D: TestDb>() {
    let db = D::new();
    let a = Arc::new(db.open(10).unwrap());
    let b = db.open(10).unwrap();
    let partition = parts(&[("t", 0)]);
    let a_claims = a.claim("a", &partition).unwrap();
    let writer = {
        let a = a.clone();
        std::thread::spawn(move || {
            let mut landed = 0i64;
            let deadline = Instant::now() + Duration::from_secs(60);
            loop {
                let cp = Checkpoint {
                    counts: vec![counts("2026-06-15", "tax", "persons", 1)],
                    offsets: vec![PartitionOffset::new("t", 0, landed + 1)],
                    claims: a_claims.clone(),
                    ..Default::default()
                };
                match a.commit(&cp) {
                    Ok(()) => landed += 1,
                    Err(StoreError::Fenced { topic, partition }) => {
                        assert_eq!((topic.as_str(), partition), ("t", 0));
                        return landed;
                    }
                    Err(e) => panic!("commit {}: {e}", landed + 1),
                }
                assert!(Instant::now() < deadline, "never fenced");
                // A moment between checkpoints, as the service has (SQLite's
                // lock is not fair: a writer looping at full speed could
                // starve the claim).
                std::thread::sleep(Duration::from_millis(1));
            }
        })
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    while db.max_stored_offset() < 20 {
        assert!(Instant::now() < deadline, "A made no progress");
        std::thread::sleep(Duration::from_millis(1));
    }
    let b_claims = b.claim("b", &partition).unwrap();
    assert_eq!(b_claims[0].epoch, 2);
    let resume = b.offsets().unwrap()[0].offset;
    let landed = writer.join().unwrap();
    assert!(landed >= 20, "{landed}");
    assert_eq!(
        resume, landed,
        "A's commits landed before B's claim, none after"
    );

    let mut thousand = counts("2026-06-15", "tax", "persons", 0);
    thousand.counts.records = 1000;
    b.commit(&Checkpoint {
        counts: vec![thousand],
        offsets: vec![PartitionOffset::new("t", 0, resume + 1000)],
        claims: b_claims,
        ..Default::default()
    })
    .unwrap();
    let records = b.counts(d("2026-06-15"), d("2026-06-15"), None).unwrap()[0]
        .counts
        .records;
    assert_eq!(records as i64, landed + 1000);
    assert_eq!(b.offsets().unwrap()[0].offset, resume + 1000);
}
