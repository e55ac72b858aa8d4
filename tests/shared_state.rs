//! Instances that share the bus judge their own partitions' records exactly
//! as one instance judging every record in the bus's order, whatever order
//! the facts of the others' records reach them in, once every fact before a
//! record is known: the engine half of several instances (issue 13).

mod common;

use dqmon::engine::{Engine, Fact, Pos, Prepared, RecordOutcome};
use dqmon::model::Message;
use dqmon::sim::SimMessage;
use proptest::prelude::*;
use rand::SeedableRng;
use rand::seq::SliceRandom;

const PARTITIONS: i32 = 6;

/// A message placed on a partition, with its offset there.
struct Placed {
    msg: SimMessage,
    partition: i32,
    offset: i64,
}

impl Placed {
    fn message(&self) -> Message<'_> {
        Message {
            partition: self.partition,
            offset: self.offset,
            ..self.msg.as_message()
        }
    }
}

/// Simulated traffic spread over partitions at random (so a repeat of a
/// record id, and an entity's records, land on other partitions than their
/// first), offsets in publication order per partition.
fn placed(seed: u64, count: usize) -> Vec<Placed> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut next = std::collections::HashMap::<(String, i32), i64>::new();
    common::traffic(count, seed, 1_781_488_800_000)
        .into_iter()
        .map(|msg| {
            let partition = rng.random_range(0..PARTITIONS);
            let offset = next.entry((msg.topic.clone(), partition)).or_default();
            let placed = Placed {
                partition,
                offset: *offset,
                msg,
            };
            *offset += 1;
            placed
        })
        .collect()
}

/// Outcomes as findings aside: findings follow an entity on the instance
/// that reads it (not compared here).
fn without_findings(mut o: RecordOutcome) -> RecordOutcome {
    o.findings.clear();
    o.finding_key = None;
    // The id is copied for violation events and findings; only the former here.
    if o.failures.is_empty() {
        o.record_id = None;
    }
    o
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 8, ..ProptestConfig::default() })]

    #[test]
    fn three_instances_judge_as_one(seed in 0u64..1000, order in any::<u64>()) {
        let checks = common::checks();
        let messages = placed(seed, 3000);
        // One instance, every record in the bus's order (what `dqmon eval` does).
        let mut sorted: Vec<usize> = (0..messages.len()).collect();
        sorted.sort_by_key(|&i| {
            let m = messages[i].message();
            (m.timestamp_ms, m.topic.to_owned(), m.partition, m.offset)
        });
        let alone = Engine::new(checks.clone(), b"secret");
        let mut want = vec![None; messages.len()];
        for &i in &sorted {
            let m = messages[i].message();
            want[i] = alone.evaluate(&m, checks.day_of(m.timestamp_ms)).map(without_findings);
        }
        // Three instances, partition p read by instance p % 3; each prepares
        // its records, publishes their facts, learns everyone's in a shuffled
        // order, then judges its own records in another.
        let mut rng = rand::rngs::StdRng::seed_from_u64(order);
        let instances: Vec<Engine> = (0..3)
            .map(|_| Engine::new(checks.clone(), b"secret").shared(86_400_000))
            .collect();
        let mut prepared: Vec<Option<Prepared>> = messages
            .iter()
            .map(|p| {
                let m = p.message();
                instances[(p.partition % 3) as usize].prepare(&m, checks.day_of(m.timestamp_ms))
            })
            .collect();
        let facts: Vec<(usize, Fact, Pos)> = prepared
            .iter()
            .enumerate()
            .filter_map(|(i, p)| p.as_ref().map(|p| (i, p.fact(), p.pos())))
            .collect();
        let mut got = vec![None; messages.len()];
        for (n, engine) in instances.iter().enumerate() {
            let mut arrival: Vec<&(usize, Fact, Pos)> = facts.iter().collect();
            arrival.shuffle(&mut rng);
            for (_, fact, pos) in arrival {
                engine.apply_fact(fact, *pos);
            }
            let mut own: Vec<usize> = (0..messages.len())
                .filter(|&i| (messages[i].partition % 3) as usize == n)
                .collect();
            own.shuffle(&mut rng);
            for i in own {
                got[i] = prepared[i].take().map(|p| without_findings(engine.judge(p)));
            }
        }
        let differ: Vec<(usize, &Option<RecordOutcome>, &Option<RecordOutcome>)> = got
            .iter()
            .zip(&want)
            .enumerate()
            .filter(|(_, (g, w))| g != w)
            .map(|(i, (g, w))| (i, g, w))
            .take(3)
            .collect();
        prop_assert!(differ.is_empty(), "{} differ, first: {:#?}", got.iter().zip(&want).filter(|(g, w)| g != w).count(), differ);
    }
}

/// The traffic above is stateful: repeats and cross-source comparisons
/// across partitions, so judging against one's own partitions alone would
/// differ (and the test above would catch it).
#[test]
fn partitions_alone_would_judge_otherwise() {
    let checks = common::checks();
    let messages = placed(7, 3000);
    let alone = Engine::new(checks.clone(), b"secret");
    let split: Vec<Engine> = (0..3)
        .map(|_| Engine::new(checks.clone(), b"secret"))
        .collect();
    let mut differ = 0;
    for p in &messages {
        let m = p.message();
        let day = checks.day_of(m.timestamp_ms);
        let a = alone.evaluate(&m, day).map(without_findings);
        let s = split[(p.partition % 3) as usize]
            .evaluate(&m, day)
            .map(without_findings);
        differ += usize::from(a != s);
    }
    assert!(
        differ > 20,
        "only {differ} outcomes depend on other partitions"
    );
}
