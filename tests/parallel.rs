//! Several workers evaluate a batch exactly as one does: the same outcome for
//! every message, in the same order, and the same state afterwards.

mod common;

use dqmon::engine::{Engine, RecordOutcome};
use dqmon::model::Message;
use dqmon::tally::Tally;
use proptest::prelude::*;

/// Outcomes of evaluating `messages` one by one.
fn one_by_one(
    engine: &Engine,
    batch: &[(Message<'_>, chrono::NaiveDate)],
) -> Vec<Option<RecordOutcome>> {
    batch.iter().map(|(m, d)| engine.evaluate(m, *d)).collect()
}

fn with_workers(
    engine: &Engine,
    batch: &[(Message<'_>, chrono::NaiveDate)],
    workers: usize,
) -> Vec<Option<RecordOutcome>> {
    let mut out = Vec::with_capacity(batch.len());
    engine.evaluate_batch(batch, workers, |i, outcome| {
        assert_eq!(i, out.len(), "outcomes come in batch order");
        out.push(outcome);
    });
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    /// Simulated traffic in message-time order (as the merge releases it),
    /// cut into batches of any size, on 1 to 4 workers.
    #[test]
    fn workers_change_nothing(seed in 0u64..1000, workers in 1usize..=4, cut in 1usize..3000) {
        let checks = common::checks();
        let messages = common::traffic(3000, seed, 1_781_488_800_000);
        let batch: Vec<_> = messages
            .iter()
            .map(|m| (m.as_message(), checks.day_of(m.timestamp_ms)))
            .collect();
        let alone = Engine::new(checks.clone(), b"secret");
        let expected = one_by_one(&alone, &batch);
        let parallel = Engine::new(checks.clone(), b"secret");
        let mut got = Vec::new();
        for part in batch.chunks(cut) {
            got.extend(with_workers(&parallel, part, workers));
        }
        prop_assert_eq!(&got, &expected);
        // The state agrees too: judging the traffic again finds the same.
        prop_assert_eq!(with_workers(&parallel, &batch, workers), one_by_one(&alone, &batch));
        prop_assert_eq!(parallel.latest_ms(), alone.latest_ms());
    }
}

/// The traffic above exercises the state: comparisons pass and fail, ids
/// repeat, so an unordered judge would be caught.
#[test]
fn the_traffic_has_stateful_outcomes() {
    let checks = common::checks();
    let messages = common::traffic(3000, 7, 1_781_488_800_000);
    let engine = Engine::new(checks.clone(), b"secret");
    let mut tally = Tally::new(&checks);
    for m in &messages {
        let outcome = engine
            .evaluate(&m.as_message(), checks.day_of(m.timestamp_ms))
            .unwrap();
        tally.add(Some(&outcome));
    }
    common::assert_stateful_outcomes(&checks, &tally);
}
