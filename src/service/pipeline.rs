//! The consumer loop: read a message, evaluate it, count it, hand its
//! violations and dead letter to the producer, and checkpoint.
//!
//! Exactly-once counting: counts, the next offset of every partition and the
//! engine state they depend on go to the score store in ONE transaction per
//! checkpoint (every `checkpoint_interval_ms` or `checkpoint_max_messages`),
//! taken only when every output of the messages it covers is acknowledged.
//! An assigned partition resumes at the store's offset, not the group's, so a
//! crash at any moment replays exactly what the store has not counted. The
//! group's offsets are still committed (only up to the store's) for lag tools.
//! A checkpoint the store refuses stops dqmon: memory is then ahead of the
//! store, and only a restart from the store is exact again.
//!
//! It runs on a thread of its own with a `BaseConsumer`, so the rebalance
//! callback (which runs inside `poll`) can wait for in-flight deliveries and
//! write a checkpoint without blocking an async runtime.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::FutureExt;
use rdkafka::consumer::RebalanceProtocol;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance};
use rdkafka::error::KafkaError;
use rdkafka::message::{Header, Message as _, OwnedHeaders};
use rdkafka::producer::{DeliveryFuture, FutureProducer, FutureRecord};
use rdkafka::statistics::Statistics;
use rdkafka::types::{RDKafkaErrorCode, RDKafkaRespErr};
use rdkafka::{ClientContext, Offset, TopicPartitionList};
use tokio_util::sync::CancellationToken;
use tracing::{debug, error, info, warn};

use super::checkpoint::Accumulator;
use super::today::Today;
use super::writer::CheckpointWriter;
use crate::catalog::Checks;
use crate::engine::Engine;
use crate::engine::violations;
use crate::model::Message;
use crate::store::CheckpointStore;
use crate::telemetry::{Health, Metrics, Output};

/// One output record waiting for the broker's acknowledgement.
struct PendingOutput {
    output: Output,
    topic: String,
    key: Option<Vec<u8>>,
    payload: Vec<u8>,
    headers: Option<OwnedHeaders>,
    delivery: Option<DeliveryFuture>,
    /// Acknowledged: its future is spent and must not be polled again.
    acknowledged: bool,
}

/// One consumed message whose outputs are not all acknowledged yet.
struct Pending {
    dataset: usize,
    outputs: Vec<PendingOutput>,
}

/// Where checkpoints go and how often.
pub struct Checkpointing {
    pub store: Arc<dyn CheckpointStore>,
    pub interval: Duration,
    pub max_messages: u64,
    pub violations_kept: usize,
}

/// The consumer's context: rebalance and statistics callbacks, and what they
/// share with the loop (in-flight outputs, the checkpoint being gathered).
pub struct PipelineContext {
    metrics: Arc<Metrics>,
    health: Arc<Health>,
    producer: FutureProducer,
    in_flight: Mutex<VecDeque<Pending>>,
    drain_timeout: Duration,
    engine: Arc<Engine>,
    checks: Arc<Checks>,
    checkpointing: Checkpointing,
    accumulator: Mutex<Accumulator>,
    writer: Mutex<CheckpointWriter>,
    /// Set when the store failed: the loop stops without another checkpoint.
    failed: AtomicBool,
    shutdown: CancellationToken,
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

impl ConsumerContext for PipelineContext {
    /// librdkafka's default, except that assigned partitions start at the
    /// store's offsets.
    fn rebalance(
        &self,
        consumer: &BaseConsumer<Self>,
        err: RDKafkaRespErr,
        tpl: &mut TopicPartitionList,
    ) {
        let cooperative = matches!(
            consumer.rebalance_protocol(),
            RebalanceProtocol::Cooperative
        );
        let result = match err {
            RDKafkaRespErr::RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS => {
                if let Err(e) = self.resume_from_store(tpl) {
                    // Not assigning leaves the partitions idle; the loop stops.
                    self.fail("reading the stored offsets", &e);
                    return;
                }
                let result = if cooperative {
                    consumer.incremental_assign(tpl)
                } else {
                    consumer.assign(tpl)
                };
                self.post_rebalance(consumer, &Rebalance::Assign(tpl));
                result
            }
            RDKafkaRespErr::RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS => {
                self.pre_rebalance(consumer, &Rebalance::Revoke(tpl));
                let result = if cooperative {
                    consumer.incremental_unassign(tpl)
                } else {
                    consumer.unassign()
                };
                self.post_rebalance(consumer, &Rebalance::Revoke(tpl));
                result
            }
            other => {
                error!(error = %RDKafkaErrorCode::from(other), "rebalance error; unassigning");
                consumer.unassign()
            }
        };
        if let Err(e) = result {
            error!(error = %e, "applying the new assignment failed");
        }
    }

    fn pre_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let Rebalance::Revoke(tpl) = rebalance {
            info!(
                partitions = tpl.count(),
                "partitions revoked: finishing in-flight messages and checkpointing"
            );
            // The next owner resumes from the store: everything read from
            // these partitions must be in it now.
            if !self.checkpoint() && !self.failed.load(Ordering::Relaxed) {
                self.fail(
                    "checkpoint on revoke",
                    &"in-flight outputs were not acknowledged in time",
                );
            }
            self.settle(consumer, true);
            self.commit_group(consumer);
            for elem in tpl.elements() {
                self.metrics.forget_lag(elem.topic(), elem.partition());
            }
        }
    }

    fn post_rebalance(&self, consumer: &BaseConsumer<Self>, _rebalance: &Rebalance<'_>) {
        let n = consumer.assignment().map(|a| a.count()).unwrap_or(0);
        self.metrics.set_assigned(n);
        self.health.assigned.store(n > 0, Ordering::Relaxed);
        info!(partitions = n, "assignment changed");
    }
}

impl PipelineContext {
    /// Moves acknowledged messages off the front of the queue (a checkpoint
    /// waits for it to be empty); with `block`, waits for the front until `deadline`.
    fn complete(&self, block: Option<Instant>) {
        let mut queue = self.in_flight.lock().expect("in-flight lock");
        while let Some(front) = queue.front_mut() {
            if !self.poll_outputs(front, block) {
                return;
            }
            let done = queue.pop_front().expect("front exists");
            let violations = done
                .outputs
                .iter()
                .filter(|o| matches!(o.output, Output::Violations))
                .count() as u64;
            if violations > 0 {
                self.metrics.violations_published(done.dataset, violations);
            }
            if done
                .outputs
                .iter()
                .any(|o| matches!(o.output, Output::Deadletter))
            {
                self.metrics.deadletter_published(done.dataset);
            }
        }
    }

    /// Sets each partition's start to the store's next offset; partitions the
    /// store has never seen start at the group's offset (or the beginning).
    fn resume_from_store(
        &self,
        tpl: &mut TopicPartitionList,
    ) -> Result<(), crate::store::StoreError> {
        let stored = self.checkpointing.store.offsets()?;
        for p in stored {
            if tpl.find_partition(&p.topic, p.partition).is_some() {
                let _ = tpl.set_partition_offset(&p.topic, p.partition, Offset::Offset(p.offset));
                debug!(
                    topic = p.topic,
                    partition = p.partition,
                    offset = p.offset,
                    "resuming from the store"
                );
            }
        }
        Ok(())
    }

    /// Hands a checkpoint of everything handled so far to the writer, once
    /// every output is acknowledged. False when outputs stay unacknowledged
    /// past the drain timeout (nothing taken; try again later) or the store
    /// failed. [`PipelineContext::settle`] learns when it is written.
    fn checkpoint(&self) -> bool {
        if self.failed.load(Ordering::Relaxed) {
            return false;
        }
        self.drain(self.drain_timeout);
        if self.in_flight() > 0 {
            return false;
        }
        let c = &self.checkpointing;
        let checkpoint = self.accumulator.lock().expect("accumulator lock").take(
            &self.checks,
            &self.engine,
            c.violations_kept,
        );
        if !checkpoint.is_empty() {
            self.writer.lock().expect("writer lock").submit(checkpoint);
        }
        true
    }

    /// Acts on written checkpoints (with `wait`, on all of them): the group's
    /// offsets follow the store's, never lead them; a failure stops dqmon.
    fn settle(&self, consumer: &BaseConsumer<Self>, wait: bool) {
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
                    if !self.failed.load(Ordering::Relaxed) {
                        self.fail("writing a checkpoint", &e);
                    }
                }
            }
        }
    }

    /// Commits the group's offsets (for lag tools; the store is what counts).
    fn commit_group(&self, consumer: &BaseConsumer<Self>) {
        match consumer.commit_consumer_state(CommitMode::Sync) {
            Ok(()) => {}
            // Nothing stored since the last commit is not an error worth a warning.
            Err(KafkaError::ConsumerCommit(RDKafkaErrorCode::NoOffset)) => {}
            Err(e) => warn!(error = %e, "committing the group's offsets failed"),
        }
    }

    /// The store failed: stop, so that a restart resumes from what it holds.
    fn fail(&self, what: &str, error: &dyn std::fmt::Display) {
        error!(%error, "{what} failed: stopping, a restart resumes from the score store");
        self.metrics.checkpoint(Err(()));
        self.failed.store(true, Ordering::Relaxed);
        self.shutdown.cancel();
    }

    /// True when every output of `p` is acknowledged. Failed deliveries are sent
    /// again: the offset must not move past an unpublished violation.
    fn poll_outputs(&self, p: &mut Pending, block: Option<Instant>) -> bool {
        for o in p.outputs.iter_mut().filter(|o| !o.acknowledged) {
            loop {
                let Some(delivery) = o.delivery.as_mut() else {
                    if !self.send(o, block) {
                        return false;
                    }
                    continue;
                };
                let result = match block {
                    None => match delivery.now_or_never() {
                        Some(r) => r,
                        None => return false,
                    },
                    // No async runtime on this thread: poll, napping briefly.
                    Some(deadline) => loop {
                        if let Some(r) = delivery.now_or_never() {
                            break r;
                        }
                        if Instant::now() >= deadline {
                            return false;
                        }
                        std::thread::sleep(Duration::from_millis(1));
                    },
                };
                match result {
                    Ok(Ok(_)) => {
                        o.acknowledged = true;
                        o.delivery = None;
                        break;
                    }
                    Ok(Err((e, _))) => {
                        self.metrics.output_error(o.output);
                        warn!(error = %e, topic = o.topic, "delivery failed; sending again");
                        o.delivery = None;
                    }
                    Err(_) => {
                        warn!(topic = o.topic, "delivery report lost; sending again");
                        o.delivery = None;
                    }
                }
                if block.is_some_and(|d| Instant::now() >= d) {
                    return false;
                }
            }
        }
        true
    }

    /// Hands an output to the producer; false when its queue stays full until `deadline`.
    fn send(&self, o: &mut PendingOutput, deadline: Option<Instant>) -> bool {
        loop {
            let mut record = FutureRecord::<[u8], [u8]>::to(&o.topic).payload(&o.payload);
            if let Some(k) = &o.key {
                record = record.key(k);
            }
            if let Some(h) = &o.headers {
                record = record.headers(h.clone());
            }
            match self.producer.send_result(record) {
                Ok(delivery) => {
                    o.delivery = Some(delivery);
                    return true;
                }
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), _)) => {
                    if deadline.is_some_and(|d| Instant::now() >= d) {
                        return false;
                    }
                    std::thread::sleep(Duration::from_millis(5));
                }
                Err((e, _)) => {
                    self.metrics.output_error(o.output);
                    error!(error = %e, topic = o.topic, "cannot hand output to the producer");
                    if deadline.is_some_and(|d| Instant::now() >= d) {
                        return false;
                    }
                    std::thread::sleep(Duration::from_millis(100));
                }
            }
        }
    }

    /// Waits for every in-flight message, up to `timeout`.
    fn drain(&self, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        self.complete(Some(deadline));
        let left = self.in_flight.lock().expect("in-flight lock").len();
        if left > 0 {
            warn!(
                messages = left,
                "in-flight outputs not acknowledged in time; their offsets stay uncommitted"
            );
        }
    }

    fn in_flight(&self) -> usize {
        self.in_flight.lock().expect("in-flight lock").len()
    }
}

/// Everything the loop needs.
pub struct Pipeline {
    pub consumer: BaseConsumer<PipelineContext>,
    pub engine: Arc<Engine>,
    pub checks: Arc<Checks>,
    pub metrics: Arc<Metrics>,
    pub today: Arc<Today>,
    pub violations_topic: String,
    pub deadletter_topic: String,
    pub max_in_flight: usize,
}

/// What [`PipelineContext::new`] takes.
pub struct ContextParts {
    pub metrics: Arc<Metrics>,
    pub health: Arc<Health>,
    pub producer: FutureProducer,
    pub drain_timeout: Duration,
    pub engine: Arc<Engine>,
    pub checks: Arc<Checks>,
    pub checkpointing: Checkpointing,
    /// Cancelled by the pipeline itself when the store fails.
    pub shutdown: CancellationToken,
}

impl PipelineContext {
    pub fn new(p: ContextParts) -> Self {
        let writer = CheckpointWriter::new(p.checkpointing.store.clone(), p.metrics.clone());
        Self {
            metrics: p.metrics,
            health: p.health,
            producer: p.producer,
            in_flight: Mutex::new(VecDeque::new()),
            drain_timeout: p.drain_timeout,
            engine: p.engine,
            checks: p.checks,
            checkpointing: p.checkpointing,
            accumulator: Mutex::new(Accumulator::default()),
            writer: Mutex::new(writer),
            failed: AtomicBool::new(false),
            shutdown: p.shutdown,
        }
    }
}

impl Pipeline {
    /// Runs until `shutdown` is cancelled, then finishes in-flight work within
    /// `drain_timeout`, checkpoints and commits. An error when the store
    /// failed (nothing more was written).
    pub fn run(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let ctx = self.consumer.context();
        let mut last_score = Instant::now() - Duration::from_secs(10);
        let mut errors_logged = 0u64;
        while !shutdown.is_cancelled() {
            if ctx.in_flight() >= self.max_in_flight {
                // Back-pressure: wait for the oldest outputs before reading more.
                ctx.complete(Some(Instant::now() + Duration::from_millis(100)));
            } else {
                match self.consumer.poll(Duration::from_millis(100)) {
                    None => {}
                    Some(Ok(m)) => self.handle(&m),
                    Some(Err(e)) => {
                        // A broker that went away is waited for; say so without flooding the log.
                        errors_logged += 1;
                        if errors_logged.is_power_of_two() {
                            warn!(error = %e, occurrences = errors_logged, "consumer error");
                        }
                    }
                }
                ctx.complete(None);
            }
            let c = &ctx.checkpointing;
            let due = ctx
                .accumulator
                .lock()
                .expect("accumulator lock")
                .due(c.interval, c.max_messages);
            if due && !ctx.checkpoint() && !ctx.failed.load(Ordering::Relaxed) {
                warn!("checkpoint postponed: outputs not acknowledged in time");
            }
            ctx.settle(&self.consumer, false);
            if last_score.elapsed() >= Duration::from_secs(1) {
                self.update_scores();
                last_score = Instant::now();
            }
        }
        info!(
            in_flight = ctx.in_flight(),
            "shutting down: finishing in-flight messages"
        );
        // After a store failure this takes nothing and only waits for the writer.
        let taken = ctx.checkpoint();
        ctx.settle(&self.consumer, true);
        if ctx.failed.load(Ordering::Relaxed) {
            anyhow::bail!("the score store failed; restart to resume from it");
        }
        if taken {
            ctx.commit_group(&self.consumer);
            info!("checkpoint written and offsets committed");
        } else {
            warn!("outputs not acknowledged in time: the last messages are read again at restart");
        }
        self.update_scores();
        Ok(())
    }

    fn update_scores(&self) {
        let now = chrono::Utc::now().timestamp_millis();
        self.today.roll(&self.checks, self.checks.day_of(now));
        for (department, _, score) in self.today.scores(&self.checks) {
            self.metrics.set_score(&department, score);
        }
    }

    fn handle(&self, m: &rdkafka::message::BorrowedMessage<'_>) {
        let started = Instant::now();
        let timestamp_ms = m
            .timestamp()
            .to_millis()
            .unwrap_or_else(|| chrono::Utc::now().timestamp_millis());
        let msg = Message {
            topic: m.topic(),
            partition: m.partition(),
            offset: m.offset(),
            timestamp_ms,
            key: m.key(),
            payload: m.payload(),
        };
        let ctx = self.consumer.context();
        let day = self.checks.day_of(timestamp_ms);
        let Some(outcome) = self.engine.evaluate(&msg, day) else {
            // Only contract topics are subscribed; nothing to do but move on.
            ctx.accumulator.lock().expect("accumulator lock").handled(
                m.topic(),
                m.partition(),
                m.offset(),
            );
            return;
        };
        self.metrics.observe(&outcome, timestamp_ms);
        self.today.add(day, &outcome);
        let ds = &self.checks.datasets[outcome.dataset];
        let events = violations(&msg, ds, &outcome);
        {
            let mut acc = ctx.accumulator.lock().expect("accumulator lock");
            acc.add(&self.checks, day, &outcome);
            for v in &events {
                acc.violation(v);
            }
            acc.handled(m.topic(), m.partition(), m.offset());
        }
        let mut outputs = Vec::new();
        for v in events {
            outputs.push(PendingOutput {
                output: Output::Violations,
                topic: self.violations_topic.clone(),
                key: Some(ds.department.as_bytes().to_vec()),
                payload: serde_json::to_vec(&v).expect("a violation serializes"),
                headers: None,
                delivery: None,
                acknowledged: false,
            });
        }
        if outcome.malformed {
            let reason = outcome
                .failures()
                .next()
                .map(|c| c.reason.as_ref())
                .unwrap_or("malformed")
                .to_string();
            let headers = OwnedHeaders::new()
                .insert(Header {
                    key: "dq.reason",
                    value: Some(reason.as_str()),
                })
                .insert(Header {
                    key: "dq.source.topic",
                    value: Some(m.topic()),
                })
                .insert(Header {
                    key: "dq.source.partition",
                    value: Some(m.partition().to_string().as_str()),
                })
                .insert(Header {
                    key: "dq.source.offset",
                    value: Some(m.offset().to_string().as_str()),
                })
                .insert(Header {
                    key: "dq.department",
                    value: Some(ds.department.as_str()),
                })
                .insert(Header {
                    key: "dq.dataset",
                    value: Some(ds.name.as_str()),
                });
            outputs.push(PendingOutput {
                output: Output::Deadletter,
                topic: self.deadletter_topic.clone(),
                key: m.key().map(<[u8]>::to_vec),
                payload: m.payload().map(<[u8]>::to_vec).unwrap_or_default(),
                headers: Some(headers),
                delivery: None,
                acknowledged: false,
            });
        }
        for o in &mut outputs {
            ctx.send(o, None);
        }
        ctx.in_flight
            .lock()
            .expect("in-flight lock")
            .push_back(Pending {
                dataset: outcome.dataset,
                outputs,
            });
        self.metrics
            .processing()
            .observe(started.elapsed().as_secs_f64());
    }
}
