//! The consumer loop: read a message, evaluate it, count it, hand its
//! violations and dead letter to the producer, and store its offset only once
//! every output is acknowledged, in order per partition (at-least-once, as in
//! rust-rdkafka's `at_least_once.rs`). On revoke and on shutdown, in-flight
//! messages are finished and offsets committed synchronously.
//!
//! It runs on a thread of its own with a `BaseConsumer`, so the rebalance
//! callback (which runs inside `poll`) can wait for in-flight deliveries
//! without blocking an async runtime.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::FutureExt;
use rdkafka::ClientContext;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance};
use rdkafka::error::KafkaError;
use rdkafka::message::{Header, Message as _, OwnedHeaders};
use rdkafka::producer::{DeliveryFuture, FutureProducer, FutureRecord};
use rdkafka::statistics::Statistics;
use rdkafka::types::RDKafkaErrorCode;
use tokio_util::sync::CancellationToken;
use tracing::{debug, error, info, warn};

use super::today::Today;
use crate::checks::Checks;
use crate::engine::Engine;
use crate::message::Message;
use crate::metrics::{Metrics, Output};
use crate::violation::violations;

/// What the HTTP side reads to answer `/readyz`.
#[derive(Debug, Default)]
pub struct Health {
    pub broker_up: AtomicBool,
    pub assigned: AtomicBool,
}

impl Health {
    pub fn ready(&self) -> bool {
        self.broker_up.load(Ordering::Relaxed) && self.assigned.load(Ordering::Relaxed)
    }
}

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
    topic: String,
    partition: i32,
    offset: i64,
    dataset: usize,
    outputs: Vec<PendingOutput>,
}

/// The consumer's context: rebalance and statistics callbacks, and the
/// in-flight queue they share with the loop.
pub struct PipelineContext {
    metrics: Arc<Metrics>,
    health: Arc<Health>,
    producer: FutureProducer,
    in_flight: Mutex<VecDeque<Pending>>,
    drain_timeout: Duration,
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
    fn pre_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let Rebalance::Revoke(tpl) = rebalance {
            info!(
                partitions = tpl.count(),
                "partitions revoked: finishing in-flight messages"
            );
            self.drain(consumer, self.drain_timeout);
            if let Err(e) = consumer.commit_consumer_state(CommitMode::Sync) {
                // Nothing stored since the last commit is not an error worth a warning.
                if !matches!(e, KafkaError::ConsumerCommit(RDKafkaErrorCode::NoOffset)) {
                    warn!(error = %e, "commit on revoke failed");
                }
            }
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
    /// Moves acknowledged messages off the front of the queue, storing their
    /// offsets; with `block`, waits for the front until `deadline`.
    fn complete(&self, consumer: &BaseConsumer<Self>, block: Option<Instant>) {
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
            if let Err(e) = consumer.store_offset(&done.topic, done.partition, done.offset) {
                // The partition was revoked meanwhile: its new owner reads it again.
                debug!(error = %e, topic = done.topic, partition = done.partition, "offset not stored");
            }
        }
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
    fn drain(&self, consumer: &BaseConsumer<Self>, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        self.complete(consumer, Some(deadline));
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

impl PipelineContext {
    pub fn new(
        metrics: Arc<Metrics>,
        health: Arc<Health>,
        producer: FutureProducer,
        drain_timeout: Duration,
    ) -> Self {
        Self {
            metrics,
            health,
            producer,
            in_flight: Mutex::new(VecDeque::new()),
            drain_timeout,
        }
    }
}

impl Pipeline {
    /// Runs until `shutdown` is cancelled, then finishes in-flight work within
    /// `drain_timeout` and commits.
    pub fn run(self, shutdown: CancellationToken) {
        let ctx = self.consumer.context();
        let mut last_score = Instant::now() - Duration::from_secs(10);
        let mut errors_logged = 0u64;
        while !shutdown.is_cancelled() {
            if ctx.in_flight() >= self.max_in_flight {
                // Back-pressure: wait for the oldest outputs before reading more.
                ctx.complete(
                    &self.consumer,
                    Some(Instant::now() + Duration::from_millis(100)),
                );
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
                ctx.complete(&self.consumer, None);
            }
            if last_score.elapsed() >= Duration::from_secs(1) {
                self.update_scores();
                last_score = Instant::now();
            }
        }
        info!(
            in_flight = ctx.in_flight(),
            "shutting down: finishing in-flight messages"
        );
        ctx.drain(&self.consumer, ctx.drain_timeout);
        match self.consumer.commit_consumer_state(CommitMode::Sync) {
            Ok(()) => info!("offsets committed"),
            Err(KafkaError::ConsumerCommit(RDKafkaErrorCode::NoOffset)) => {}
            Err(e) => warn!(error = %e, "final commit failed"),
        }
        self.update_scores();
    }

    fn update_scores(&self) {
        let now = chrono::Utc::now().timestamp_millis();
        self.today.roll(&self.checks, self.engine.day_of(now));
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
        let Some(outcome) = self.engine.evaluate(&msg) else {
            // Only contract topics are subscribed; nothing to do but move on.
            let _ = self
                .consumer
                .store_offset(m.topic(), m.partition(), m.offset());
            return;
        };
        self.metrics.observe(&outcome, timestamp_ms);
        self.today.add(self.engine.day_of(timestamp_ms), &outcome);
        let ds = &self.checks.datasets[outcome.dataset];
        let mut outputs = Vec::new();
        for v in violations(&msg, ds, &outcome) {
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
        let ctx = self.consumer.context();
        for o in &mut outputs {
            ctx.send(o, None);
        }
        ctx.in_flight
            .lock()
            .expect("in-flight lock")
            .push_back(Pending {
                topic: m.topic().to_string(),
                partition: m.partition(),
                offset: m.offset(),
                dataset: outcome.dataset,
                outputs,
            });
        self.metrics
            .processing()
            .observe(started.elapsed().as_secs_f64());
    }
}
