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
//! A fact is a pure function of its message: an instance replaying a
//! partition publishes the same facts again, and the merge drops what it
//! already has (offsets below a partition's next). On start-up the state
//! topic is read from its beginning.
//!
//! Bounds: each instance also publishes, per partition it reads, the key
//! below which no record of it is still to come (its own merge knows), after
//! the facts before it on the same state partition. A merge passes a
//! partition whose bound is past the record it would release next. A bound
//! is never applied before it is read back: the facts published before it
//! may still be on their way.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::Context as _;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message as _;
use rdkafka::producer::{BaseRecord, DeliveryResult, Producer, ProducerContext, ThreadedProducer};
use rdkafka::{ClientContext, Offset, TopicPartitionList};
use serde::{Deserialize, Serialize};
use tracing::{error, info, warn};

use super::config::Config;
use super::order::{Fetched, Merge, Released, Step};
use super::pipeline::{Drained, Pipeline};
use crate::catalog::Checks;
use crate::engine::{Fact, Prepared};
use crate::model::Message;

/// What a fact costs in the merge's byte budget.
const FACT_SIZE: usize = 96;

/// Facts read per turn at most.
const FACTS_PER_TURN: usize = 16_384;

/// How often the bounds of this instance's partitions are published, at most.
const PROMISE_INTERVAL: Duration = Duration::from_millis(100);

/// Records waiting for their facts at most: past it, reading this
/// instance's partitions waits for the other instances' facts.
const MAX_PARKED: usize = 65_536;

/// One partition's facts for a run of its offsets: one message on the state topic.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct FactBatch {
    pub topic: String,
    pub partition: i32,
    /// The partition's end on the broker as the publisher last heard.
    pub high_watermark: i64,
    pub facts: Vec<FactRow>,
    /// What the publisher knows of the partition's next record: no key
    /// below (timestamp, offset) is still to come (every fact before it was
    /// published first, on the same state partition). Lets every instance's
    /// merge pass a partition whose next record comes later, instead of
    /// waiting for it.
    pub next: Option<(i64, i64)>,
}

#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct FactRow {
    pub offset: i64,
    pub timestamp_ms: i64,
    pub fact: Fact,
}

/// A record of an assigned partition, prepared, waiting for its facts to
/// come round in the bus's order.
pub(crate) struct Parked {
    pub released: Released<Fetched>,
    pub prepared: Option<Prepared>,
}

/// Every partition's facts in the bus's order, and this instance's records
/// waiting for theirs. The rebalance callback drops a revoked partition's.
pub(crate) struct SharedLanes {
    pub merge: Merge<Fact>,
    pub parked: HashMap<(Arc<str>, i32, i64), Parked>,
    /// Message times of the oldest and newest record parked since nothing was.
    pub parked_span: Option<(i64, i64)>,
    /// The bounds this instance last published for its partitions, and when.
    pub promised: HashMap<(Arc<str>, i32), (i64, i64)>,
    pub promised_at: Option<std::time::Instant>,
    /// Each partition's end on the broker: asked at start, then as publishers say.
    pub ends: HashMap<(String, i32), (i64, i64)>,
}

impl SharedLanes {
    /// Drops what was parked of a revoked partition (never judged: its next
    /// owner reads it again).
    pub fn revoke(&mut self, topic: &str, partition: i32) {
        self.parked
            .retain(|(t, p, _), _| !(&**t == topic && *p == partition));
        // What is left may be far older than what was dropped: the bound
        // on parking must measure what is still parked.
        self.parked_span = self.parked.values().fold(None, |span, p| {
            let t = p.released.timestamp_ms;
            Some(span.map_or((t, t), |(a, b): (i64, i64)| (a.min(t), b.max(t))))
        });
    }
}

/// Failed deliveries of facts: this instance's own records would wait for
/// ever, so the pipeline stops (a restart publishes them again).
#[derive(Default)]
pub(crate) struct Deliveries {
    pub failed: AtomicBool,
}

impl ClientContext for Deliveries {}

impl ProducerContext for Deliveries {
    type DeliveryOpaque = ();
    fn delivery(&self, result: &DeliveryResult<'_>, _: ()) {
        if let Err((e, _)) = result {
            error!(error = %e, "a batch of facts was not delivered to the state topic");
            self.failed.store(true, Ordering::Relaxed);
        }
    }
}

/// The state topic's clients.
pub(crate) struct StateTopic {
    topic: String,
    producer: ThreadedProducer<Deliveries>,
    consumer: BaseConsumer,
}

impl StateTopic {
    /// Connects, reads the state topic from its beginning, and makes a lane
    /// for every partition of the contracts' topics.
    pub fn open(
        config: &Config,
        checks: &Checks,
        topic: &str,
    ) -> anyhow::Result<(Self, SharedLanes)> {
        let mut base = rdkafka::ClientConfig::new();
        base.set("bootstrap.servers", &config.kafka.bootstrap_servers);
        for (k, v) in &config.kafka.properties {
            base.set(k, v);
        }
        let mut p = base.clone();
        p.set("enable.idempotence", "true")
            .set("acks", "all")
            .set("linger.ms", "2");
        let producer: ThreadedProducer<Deliveries> =
            p.create_with_context(Deliveries::default())
                .context("creating the state topic's producer")?;
        let mut c = base;
        c.set("group.id", format!("{}-state", config.kafka.group_id))
            .set("enable.auto.commit", "false")
            .set("enable.partition.eof", "false");
        let consumer: BaseConsumer = c.create().context("creating the state topic's consumer")?;
        let timeout = Duration::from_secs(10);
        let metadata = consumer
            .fetch_metadata(Some(topic), timeout)
            .with_context(|| format!("{topic}: reading the state topic's metadata"))?;
        let partitions: Vec<i32> = metadata
            .topics()
            .iter()
            .filter(|t| t.error().is_none())
            .flat_map(|t| t.partitions().iter().map(|p| p.id()))
            .collect();
        anyhow::ensure!(
            !partitions.is_empty(),
            "{topic}: the state topic does not exist (create it, with a retention of at least the reference TTL)"
        );
        let mut tpl = TopicPartitionList::new();
        for p in &partitions {
            tpl.add_partition_offset(topic, *p, Offset::Beginning)?;
        }
        consumer.assign(&tpl).context("reading the state topic")?;
        let p = &config.processing;
        let mut lanes = SharedLanes {
            merge: Merge::new(Duration::from_millis(p.max_lag_ms), p.max_buffered_bytes),
            parked: HashMap::new(),
            parked_span: None,
            promised: HashMap::new(),
            promised_at: None,
            ends: HashMap::new(),
        };
        let started = std::time::Instant::now();
        let mut contract_partitions = Vec::new();
        // Every topic in one request (one per topic costs a round trip each).
        let metadata = consumer
            .fetch_metadata(None, timeout)
            .context("reading the contract topics' metadata")?;
        let wanted = checks.topics();
        for mt in metadata.topics() {
            if mt.error().is_some() || !wanted.iter().any(|t| t == mt.name()) {
                continue;
            }
            for part in mt.partitions() {
                lanes.merge.assign(mt.name(), part.id(), None);
                contract_partitions.push((mt.name().to_owned(), part.id()));
            }
        }
        // One request per partition, all at once: their round trips overlap.
        let ends: Vec<_> = std::thread::scope(|s| {
            let asks: Vec<_> = contract_partitions
                .iter()
                .map(|(t, p)| s.spawn(|| consumer.fetch_watermarks(t, *p, timeout).ok()))
                .collect();
            asks.into_iter().map(|a| a.join().ok().flatten()).collect()
        });
        for ((t, p), end) in contract_partitions.into_iter().zip(ends) {
            match end {
                Some(end) => {
                    lanes.ends.insert((t, p), end);
                }
                // Waited for until its publisher says where its end is.
                None => warn!(
                    topic = t,
                    partition = p,
                    "a partition's end could not be read"
                ),
            }
        }

        info!(
            topic,
            partitions = partitions.len(),
            lanes = lanes.ends.len(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "reading the state topic from its beginning"
        );
        Ok((
            Self {
                topic: topic.to_owned(),
                producer,
                consumer,
            },
            lanes,
        ))
    }

    /// Whether a batch of facts failed to reach the broker.
    pub fn failed(&self) -> bool {
        self.producer.context().failed.load(Ordering::Relaxed)
    }

    /// Publishes one partition's facts (keyed by partition, so they stay in order).
    pub fn publish(&self, batch: &FactBatch) {
        let key = format!("{}/{}", batch.topic, batch.partition);
        let payload = match postcard::to_allocvec(batch) {
            Ok(p) => p,
            Err(e) => {
                error!(error = %e, "encoding facts failed");
                self.producer
                    .context()
                    .failed
                    .store(true, Ordering::Relaxed);
                return;
            }
        };
        let mut record = BaseRecord::to(&self.topic).key(&key).payload(&payload);
        // A full queue: wait for room (the producer's thread delivers meanwhile).
        loop {
            match self.producer.send(record) {
                Ok(()) => return,
                Err((e, r)) => {
                    if !matches!(
                        e,
                        rdkafka::error::KafkaError::MessageProduction(
                            rdkafka::types::RDKafkaErrorCode::QueueFull
                        )
                    ) {
                        error!(error = %e, "publishing facts failed");
                        self.producer
                            .context()
                            .failed
                            .store(true, Ordering::Relaxed);
                        return;
                    }
                    record = r;
                    std::thread::sleep(Duration::from_millis(1));
                }
            }
        }
    }

    /// Moves the facts read meanwhile into the lanes; how many came.
    pub fn read(&self, lanes: &mut SharedLanes) -> usize {
        let mut n = 0;
        while n < FACTS_PER_TURN {
            let Some(polled) = self.consumer.poll(Duration::ZERO) else {
                break;
            };
            let m = match polled {
                Ok(m) => m,
                Err(e) => {
                    warn!(error = %e, "reading the state topic");
                    break;
                }
            };
            let Some(batch) = m
                .payload()
                .and_then(|p| postcard::from_bytes::<FactBatch>(p).ok())
            else {
                warn!(
                    offset = m.offset(),
                    "a message on the state topic that is not a batch of facts: skipped"
                );
                continue;
            };
            // A negative watermark is "not known" (a bound without facts
            // carries none); an unknown low one never makes a lane look empty.
            if batch.high_watermark >= 0 {
                let end = lanes
                    .ends
                    .entry((batch.topic.clone(), batch.partition))
                    .or_insert((-1, -1));
                end.1 = end.1.max(batch.high_watermark);
            }
            for row in batch.facts {
                n += 1;
                lanes.merge.push(
                    &batch.topic,
                    batch.partition,
                    row.offset,
                    Some(row.timestamp_ms),
                    FACT_SIZE,
                    row.fact,
                );
            }
            if let Some((timestamp_ms, offset)) = batch.next {
                lanes
                    .merge
                    .promise(&batch.topic, batch.partition, timestamp_ms, offset);
            }
        }
        n
    }
}

/// A parked record as the pipeline's outcome handling sees it.
fn message(r: &Released<Fetched>) -> Message<'_> {
    Message {
        topic: &r.topic,
        partition: r.partition,
        offset: r.offset,
        timestamp_ms: r.timestamp_ms,
        key: r.record.key.as_deref(),
        payload: r.record.payload.as_deref(),
    }
}

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
            .map(|r| (message(r), self.checks.day_of(r.timestamp_ms)))
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
            let late = p.released.late || folded;
            self.judge_parked(p, late);
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
        let own = self
            .consumer
            .context()
            .merge
            .lock()
            .expect("merge lock")
            .next_bounds();
        let drained = {
            let mut lanes = self.lanes();
            topic.read(&mut lanes);
            let publish = lanes
                .promised_at
                .is_none_or(|at| at.elapsed() >= PROMISE_INTERVAL);
            // Published, never applied here: a bound holds only once the
            // facts published before it are read, and the state topic
            // delivers them in that order.
            for (t, p, timestamp_ms, offset) in own {
                let bound = (timestamp_ms, offset);
                let key = (t, p);
                if publish && lanes.promised.get(&key) != Some(&bound) {
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
                    ends.get(&(t.to_owned(), p)).copied()
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
            for p in merge.take_passed_over() {
                self.metrics.order_wait_expired();
                warn!(
                    topic = &*p.topic,
                    partition = p.partition,
                    "no instance published the facts of a partition with unread messages \
                     within processing.max_lag_ms: judging later records without them"
                );
            }
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
        let msg = message(&p.released);
        let day = self.checks.day_of(p.released.timestamp_ms);
        let outcome = p.prepared.map(|prepared| self.engine.judge(prepared));
        self.handle_outcome(&msg, day, late, outcome);
    }
}
