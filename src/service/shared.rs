//! Several instances on one bus (`processing.state_topic`): each publishes
//! the facts of the records it reads (keyed hashes of an authority's values
//! and of each record id, at the record's place in the bus's order) and reads
//! everyone's, as Kafka Streams reads a global table. Every instance merges
//! the facts of every partition into message-time order (the same merge as
//! for its own records: a partition whose facts are behind holds it back),
//! applies the others' to its positioned memory and judges its own records
//! when their facts come round. A record whose facts were already applied
//! (a partition taken over from an instance that published before it died)
//! is judged at once: positioned memory answers as of the record's place,
//! so the outcome is the same.
//!
//! The state topic itself (its messages, clients and lanes) is
//! `state_topic.rs`; on start-up it is read from its beginning.
//!
//! Bounds: each instance also publishes, per partition it reads, the key
//! below which no record of it is still to come (its own merge knows), after
//! the facts before it on the same state partition. A merge passes a
//! partition whose bound is past the record it would release next. A bound
//! is never applied before it is read back: the facts published before it
//! may still be on their way.

use std::time::Duration;

use rdkafka::consumer::Consumer as _;
use tracing::warn;

use super::order::{Fetched, Released, Step};
use super::pipeline::{Drained, Pipeline};
use super::state_topic::{FactBatch, FactRow, Parked, SharedLanes, StateTopic};
use crate::engine::Prepared;

/// How often the bounds of this instance's partitions are published, at most.
const PROMISE_INTERVAL: Duration = Duration::from_millis(100);

/// Records waiting for their facts at most: past it, reading this
/// instance's partitions waits for the other instances' facts.
const MAX_PARKED: usize = 65_536;

impl Pipeline {
    fn lanes(&self) -> std::sync::MutexGuard<'_, SharedLanes> {
        self.consumer
            .context()
            .shared
            .as_ref()
            .expect("a state topic has shared lanes")
            .lock()
            .expect("shared lanes lock")
    }

    /// Whether enough records wait for their facts: as many as
    /// [`MAX_PARKED`], or reaching half of `processing.state_history_ms` of
    /// message time ahead of what the state knows. The bound in time is what
    /// keeps a restart exact: a dead instance's parked records had their
    /// facts published but were never counted; their next owner judges them
    /// behind everything the others judged since, and positioned memory
    /// answers exactly only `state_history_ms` back.
    pub(super) fn parked_full(&self) -> bool {
        let lanes = self.lanes();
        if lanes.parked.is_empty() {
            return false;
        }
        let lead = lanes.parked_span.map_or(0, |(oldest, newest)| {
            newest.saturating_sub(self.engine.latest_ms().unwrap_or(oldest))
        });
        lanes.parked.len() >= MAX_PARKED || lead >= self.engine.history_ms() / 2
    }

    /// Prepares released records (in parallel), publishes their facts and
    /// parks them until their facts come round; a record whose facts came
    /// round already (published by an instance that read it before) is
    /// judged at once.
    pub(super) fn park(&self, topic: &StateTopic, batch: Vec<Released<Fetched>>) {
        if batch.is_empty() {
            return;
        }
        let messages: Vec<_> = batch
            .iter()
            .map(|r| (r.message(), self.checks.day_of(r.timestamp_ms)))
            .collect();
        let prepared = self.engine.prepare_batch(&messages, self.workers);
        drop(messages);
        let mut batches: Vec<FactBatch> = Vec::new();
        for (r, p) in batch.iter().zip(&prepared) {
            let fact = p.as_ref().map(Prepared::fact).unwrap_or_default();
            let row = FactRow {
                offset: r.offset,
                timestamp_ms: r.timestamp_ms,
                fact,
            };
            match batches.last_mut() {
                Some(b) if *b.topic == *r.topic && b.partition == r.partition => b.facts.push(row),
                _ => {
                    let high_watermark =
                        super::kafka::cached_watermarks(&self.consumer, &r.topic, r.partition)
                            .map_or(-1, |(_, high)| high);
                    batches.push(FactBatch {
                        topic: r.topic.to_string(),
                        partition: r.partition,
                        high_watermark,
                        facts: vec![row],
                        next: None,
                    });
                }
            }
        }
        for b in &batches {
            topic.publish(b);
        }
        let mut now = Vec::new();
        {
            let mut lanes = self.lanes();
            for (released, prepared) in batch.into_iter().zip(prepared) {
                let applied = lanes
                    .merge
                    .released_next(&released.topic, released.partition)
                    .is_some_and(|next| released.offset < next);
                if applied || prepared.is_none() {
                    now.push(Parked { released, prepared });
                } else {
                    let key = (released.topic.clone(), released.partition, released.offset);
                    let t = released.timestamp_ms;
                    lanes.parked_span = Some(match lanes.parked_span {
                        Some((oldest, newest)) if !lanes.parked.is_empty() => {
                            (oldest.min(t), newest.max(t))
                        }
                        _ => (t, t),
                    });
                    lanes.parked.insert(key, Parked { released, prepared });
                }
            }
        }
        let latest = self.engine.latest_ms();
        let mut beyond = 0u64;
        for p in now {
            // Read again after a takeover further behind the bus than the
            // positioned memory keeps: judged against folded memory, so late.
            let folded = latest.is_some_and(|l| {
                l.saturating_sub(p.released.timestamp_ms) > self.engine.history_ms()
            });
            beyond += u64::from(folded);
            // Not the lateness of this instance's own merge: that says a
            // record came after later ones of this instance (a partition
            // taken over), which positioned memory answers exactly.
            self.judge_parked(p, folded);
        }
        if beyond > 0 {
            warn!(
                records = beyond,
                "records read again after a takeover more than processing.state_history_ms \
                 behind the bus: judged late, against folded memory"
            );
        }
    }

    /// Reads the facts published meanwhile and takes up to `n` out in the
    /// bus's order: another instance's are applied to the state, this
    /// instance's own records are judged.
    pub(super) fn judge_shared(&self, topic: &StateTopic, n: usize) -> Drained {
        let mut due = Vec::new();
        let (mut late_facts, mut late_at) = (0u64, None);
        // What this instance's own partitions will release next, for every
        // instance's merge: their lanes need not be waited for below it.
        // Without it, instances whose records are parked to their bound and
        // lanes waiting for the next fact of a partition whose next record
        // comes after them wait for each other.
        let publish = self
            .lanes()
            .promised_at
            .is_none_or(|at| at.elapsed() >= PROMISE_INTERVAL);
        let own = if publish {
            self.consumer
                .context()
                .merge
                .lock()
                .expect("merge lock")
                .next_bounds()
        } else {
            Vec::new()
        };
        let drained = {
            let mut lanes = self.lanes();
            topic.read(&mut lanes);
            // Published, never applied here: a bound holds only once the
            // facts published before it are read, and the state topic
            // delivers them in that order.
            for (t, p, timestamp_ms, offset) in own {
                let bound = (timestamp_ms, offset);
                let key = (t, p);
                if lanes.promised.get(&key) != Some(&bound) {
                    topic.publish(&FactBatch {
                        topic: key.0.to_string(),
                        partition: key.1,
                        high_watermark: -1,
                        facts: Vec::new(),
                        next: Some(bound),
                    });
                    lanes.promised.insert(key, bound);
                }
            }
            if publish {
                lanes.promised_at = Some(std::time::Instant::now());
            }
            let SharedLanes {
                merge,
                parked,
                ends,
                ..
            } = &mut *lanes;
            let mut drained = Drained::More;
            for _ in 0..n {
                if self.outputs_full(due.len(), 0) {
                    break;
                }
                let step = merge.pop(std::time::Instant::now(), |t, p| {
                    ends.get(t).and_then(|e| e.get(&p)).copied()
                });
                let f = match step {
                    Step::Released(f) => f,
                    Step::Blocked => {
                        drained = Drained::Blocked;
                        break;
                    }
                    Step::Idle => {
                        drained = Drained::Idle;
                        break;
                    }
                };
                if f.late {
                    late_facts += 1;
                    late_at.get_or_insert((f.topic.clone(), f.partition, f.offset));
                }
                match parked.remove(&(f.topic.clone(), f.partition, f.offset)) {
                    Some(p) => due.push((p, f.late)),
                    None => {
                        if let Some(pos) =
                            self.engine
                                .pos_of(&f.topic, f.partition, f.offset, f.timestamp_ms)
                        {
                            self.engine.apply_fact(&f.record, pos);
                        }
                    }
                }
            }
            self.passed_over(
                merge.take_passed_over(),
                "no instance published the facts of a partition with unread messages \
                 within processing.max_lag_ms: judging later records without them",
            );
            drained
        };
        for (p, late) in due {
            self.judge_parked(p, late);
        }
        if let Some((topic, partition, offset)) = late_at {
            warn!(
                facts = late_facts,
                topic = &*topic,
                partition,
                offset,
                "facts came after records later in the bus's order were judged"
            );
        }
        drained
    }

    /// Judges a parked record and handles its outcome.
    fn judge_parked(&self, p: Parked, late: bool) {
        let msg = p.released.message();
        let day = self.checks.day_of(p.released.timestamp_ms);
        let outcome = p.prepared.map(|prepared| self.engine.judge(prepared));
        self.handle_outcome(&msg, day, late, outcome);
    }
}
