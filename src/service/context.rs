//! The consumer's context: what the rebalance and statistics callbacks and
//! the loop share (in-flight outputs, the checkpoint being gathered), and
//! taking checkpoints.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::producer::FutureProducer;
use rdkafka::statistics::Statistics;
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::{ClientContext, Offset, TopicPartitionList};
use tokio_util::sync::CancellationToken;
use tracing::{debug, error, warn};

use super::checkpoint::Accumulator;
use super::order::{Fetched, Merge};
use super::outputs::Outputs;
use super::state_topic::SharedLanes;
use super::writer::CheckpointWriter;
use crate::catalog::Checks;
use crate::engine::Engine;
use crate::store::{Checkpoint, CheckpointStore, Claim};
use crate::telemetry::{Health, Metrics};

/// Where checkpoints go and how often.
pub(crate) struct Checkpointing {
    pub store: Arc<dyn CheckpointStore>,
    /// This instance's name in the store's partition claims.
    pub owner: String,
    pub interval: Duration,
    pub max_messages: u64,
    pub violations_kept: usize,
}

/// The consumer's context: rebalance and statistics callbacks, and what they
/// share with the loop (in-flight outputs, the checkpoint being gathered).
pub(crate) struct PipelineContext {
    pub(super) metrics: Arc<Metrics>,
    pub(super) health: Arc<Health>,
    pub(super) outputs: Outputs,
    drain_timeout: Duration,
    engine: Arc<Engine>,
    checks: Arc<Checks>,
    pub(super) checkpointing: Checkpointing,
    pub(super) accumulator: Mutex<Accumulator>,
    /// The store's claims of the assigned partitions, made on assignment:
    /// every checkpoint carries those of the partitions it writes.
    pub(super) claims: Mutex<BTreeMap<(String, i32), Claim>>,
    /// Fetched records waiting to be judged in message-time order; the
    /// rebalance callback adds and drops partitions.
    pub(super) merge: Mutex<Merge<Fetched>>,
    /// With a state topic: every partition's facts and the records waiting
    /// for theirs.
    pub(super) shared: Option<Mutex<SharedLanes>>,
    writer: Mutex<CheckpointWriter>,
    /// A checkpoint taken, waiting for the outputs published before it (at
    /// most one: while it waits, the next one keeps gathering).
    waiting: Mutex<Option<Waiting>>,
    /// Set when the store failed: the loop stops without another checkpoint.
    pub(super) failed: AtomicBool,
    /// Set when the store refused a checkpoint because another instance
    /// claimed one of its partitions since: the service rejoins from the store.
    pub(super) fenced: AtomicBool,
    /// What failed first, for the exit error.
    failure: Mutex<Option<String>>,
    shutdown: CancellationToken,
}

/// A checkpoint that may be written once the first `cut` messages with
/// outputs are acknowledged: those are the messages it counts.
struct Waiting {
    cut: u64,
    checkpoint: Checkpoint,
    since: Instant,
    /// Said once that it waits longer than the drain timeout.
    reported: bool,
}

/// What [`PipelineContext::new`] takes.
pub(crate) struct ContextParts {
    pub metrics: Arc<Metrics>,
    pub health: Arc<Health>,
    pub producer: FutureProducer,
    /// The producer's `message.max.bytes`.
    pub max_message_bytes: usize,
    pub drain_timeout: Duration,
    pub engine: Arc<Engine>,
    pub checks: Arc<Checks>,
    pub checkpointing: Checkpointing,
    pub merge: Merge<Fetched>,
    pub shared: Option<SharedLanes>,
    /// Cancelled by the pipeline itself when the store fails.
    pub shutdown: CancellationToken,
}

impl PipelineContext {
    pub fn new(p: ContextParts) -> Self {
        let writer = CheckpointWriter::new(p.checkpointing.store.clone(), p.metrics.clone());
        Self {
            outputs: Outputs::new(p.producer, p.metrics.clone(), p.max_message_bytes),
            metrics: p.metrics,
            health: p.health,
            drain_timeout: p.drain_timeout,
            engine: p.engine,
            checks: p.checks,
            checkpointing: p.checkpointing,
            accumulator: Mutex::new(Accumulator::default()),
            claims: Mutex::new(BTreeMap::new()),
            merge: Mutex::new(p.merge),
            shared: p.shared.map(Mutex::new),
            writer: Mutex::new(writer),
            waiting: Mutex::new(None),
            failed: AtomicBool::new(false),
            fenced: AtomicBool::new(false),
            failure: Mutex::new(None),
            shutdown: p.shutdown,
        }
    }

    /// Takes a checkpoint of everything handled so far, to be written once
    /// every output published before it is acknowledged, without waiting for
    /// them: evaluation goes on meanwhile (waiting here held up every
    /// checkpoint by an acknowledgement round trip). Nothing is taken while
    /// the previous one still waits (the next one gathers on) or when the
    /// store failed.
    pub(super) fn checkpoint(&self) {
        if self.failed.load(Ordering::Relaxed) {
            return;
        }
        self.submit_acknowledged();
        let mut waiting = self.waiting.lock().expect("waiting lock");
        if let Some(w) = waiting.as_mut() {
            if !w.reported && w.since.elapsed() >= self.drain_timeout {
                w.reported = true;
                warn!(
                    waited_ms = w.since.elapsed().as_millis() as u64,
                    "checkpoint postponed: outputs not acknowledged in time"
                );
            }
            return;
        }
        let cut = self.outputs.published();
        *waiting = Some(Waiting {
            cut,
            checkpoint: self.take(),
            since: Instant::now(),
            reported: false,
        });
        drop(waiting);
        self.submit_acknowledged();
    }

    /// Checkpoints everything handled so far and hands it to the writer now:
    /// on revoke and at shutdown. Waits up to the drain timeout for the
    /// outputs; false when they were not all acknowledged (nothing more
    /// taken) or the store failed.
    pub(super) fn checkpoint_all(&self) -> bool {
        if self.failed.load(Ordering::Relaxed) {
            return false;
        }
        self.outputs.drain(self.drain_timeout);
        self.submit_acknowledged();
        if self.outputs.len() > 0 {
            return false;
        }
        let checkpoint = self.take();
        self.submit(checkpoint);
        true
    }

    /// Hands the waiting checkpoint to the writer if its outputs are all
    /// acknowledged.
    pub(super) fn submit_acknowledged(&self) {
        let mut waiting = self.waiting.lock().expect("waiting lock");
        if waiting
            .as_ref()
            .is_some_and(|w| self.outputs.completed(w.cut))
        {
            let w = waiting.take().expect("checked above");
            drop(waiting);
            self.submit(w.checkpoint);
        }
    }

    /// Everything handled since the last take, with the claims its offsets
    /// are written under.
    fn take(&self) -> Checkpoint {
        let c = &self.checkpointing;
        let mut checkpoint = self.accumulator.lock().expect("accumulator lock").take(
            &self.checks,
            &self.engine,
            c.violations_kept,
        );
        // A partition without a claim here makes the store refuse the
        // checkpoint, which stops dqmon: never written without one.
        let claims = self.claims.lock().expect("claims lock");
        checkpoint.claims = checkpoint
            .offsets
            .iter()
            .filter_map(|o| claims.get(&(o.topic.clone(), o.partition)).cloned())
            .collect();
        checkpoint
    }

    fn submit(&self, checkpoint: Checkpoint) {
        if !checkpoint.is_empty() {
            self.writer.lock().expect("writer lock").submit(checkpoint);
        }
    }

    /// Acts on written checkpoints (with `wait`, on all of them): the group's
    /// offsets follow the store's, never lead them; a failure stops dqmon.
    pub(super) fn settle(&self, consumer: &BaseConsumer<Self>, wait: bool) {
        let results = self.writer.lock().expect("writer lock").results(wait);
        for result in results {
            match result {
                Ok(offsets) => {
                    let mut tpl = TopicPartitionList::new();
                    for p in &offsets {
                        let _ = tpl.add_partition_offset(
                            &p.topic,
                            p.partition,
                            Offset::Offset(p.offset),
                        );
                    }
                    if let Err(e) = consumer.store_offsets(&tpl) {
                        // A partition revoked meanwhile: its next owner resumes from the store.
                        debug!(error = %e, "group offsets not stored");
                    }
                }
                Err(e) => {
                    if matches!(e, crate::store::StoreError::Fenced { .. }) {
                        self.fenced.store(true, Ordering::Relaxed);
                    }
                    if !self.failed.load(Ordering::Relaxed) {
                        self.fail("writing a checkpoint", &e);
                    }
                }
            }
        }
    }

    /// Commits the group's offsets (for lag tools; the store is what counts).
    pub(super) fn commit_group(&self, consumer: &BaseConsumer<Self>) {
        match consumer.commit_consumer_state(CommitMode::Sync) {
            Ok(()) => {}
            // Nothing stored since the last commit is not an error worth a warning.
            Err(KafkaError::ConsumerCommit(RDKafkaErrorCode::NoOffset)) => {}
            Err(e) => warn!(error = %e, "committing the group's offsets failed"),
        }
    }

    /// The store failed: stop, so that a restart resumes from what it holds.
    pub(super) fn fail(&self, what: &str, error: &dyn std::fmt::Display) {
        error!(%error, "{what} failed: stopping, a restart resumes from the score store");
        self.metrics.checkpoint(Err(()));
        self.failure
            .lock()
            .expect("failure lock")
            .get_or_insert_with(|| format!("{what} failed: {error}"));
        self.failed.store(true, Ordering::Relaxed);
        self.shutdown.cancel();
    }

    /// What failed first, if anything did.
    pub(super) fn failure(&self) -> Option<String> {
        self.failure.lock().expect("failure lock").clone()
    }
}

impl ClientContext for PipelineContext {
    fn stats(&self, stats: Statistics) {
        let up = stats
            .brokers
            .values()
            .any(|b| b.nodeid >= 0 && b.state == "UP");
        self.health.broker_up.store(up, Ordering::Relaxed);
        for (topic, t) in &stats.topics {
            for (partition, p) in &t.partitions {
                if *partition < 0 {
                    continue;
                }
                let lag = if p.consumer_lag_stored >= 0 {
                    p.consumer_lag_stored
                } else {
                    p.consumer_lag
                };
                if lag >= 0 {
                    self.metrics.set_lag(topic, *partition, lag);
                }
            }
        }
    }

    fn error(&self, error: KafkaError, reason: &str) {
        if let KafkaError::Global(RDKafkaErrorCode::AllBrokersDown) = error {
            self.health.broker_up.store(false, Ordering::Relaxed);
        }
        warn!(%error, reason, "kafka client error");
    }
}
