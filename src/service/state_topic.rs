//! The state topic of several instances on one bus
//! (`processing.state_topic`): its messages (one partition's facts for a run
//! of offsets, or its bound), the producer and the consumer that reads it
//! whole from its beginning, and the lanes its facts wait in for the bus's
//! order. What the pipeline does with them is `shared.rs`.
//!
//! A fact is a pure function of its message: an instance replaying a
//! partition publishes the same facts again, and the merge drops what it
//! already has (offsets below a partition's next).

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
use super::order::{Fetched, Merge, Released};
use crate::catalog::Checks;
use crate::engine::{Fact, Prepared};

/// What a fact costs in the merge's byte budget.
const FACT_SIZE: usize = 96;

/// Facts read per turn at most.
const FACTS_PER_TURN: usize = 16_384;

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
    /// By topic, then partition (looked up by `&str` in the merge, without
    /// allocating a key).
    pub ends: HashMap<String, HashMap<i32, (i64, i64)>>,
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
        let partitions_read = contract_partitions.len();
        for ((t, p), end) in contract_partitions.into_iter().zip(ends) {
            match end {
                Some(end) => {
                    lanes.ends.entry(t).or_default().insert(p, end);
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
            lanes = partitions_read,
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

    /// Facts that will not reach the broker: the pipeline stops (see [`Deliveries`]).
    fn fail(&self, what: &str, error: &dyn std::fmt::Display) {
        error!(%error, "{what} failed");
        self.producer
            .context()
            .failed
            .store(true, Ordering::Relaxed);
    }

    /// Publishes one partition's facts (keyed by partition, so they stay in order).
    pub fn publish(&self, batch: &FactBatch) {
        let key = format!("{}/{}", batch.topic, batch.partition);
        let payload = match postcard::to_allocvec(batch) {
            Ok(p) => p,
            Err(e) => return self.fail("encoding facts", &e),
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
                        return self.fail("publishing facts", &e);
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
                    .entry(batch.topic.clone())
                    .or_default()
                    .entry(batch.partition)
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
