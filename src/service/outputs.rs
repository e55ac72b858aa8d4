//! The outputs of handled messages (violation events, dead letters) on
//! their way to the broker. A message counts as handled only once all its
//! outputs are acknowledged, so they are kept, in order, until then.
//!
//! An output the broker can never take never holds up the others: a dead
//! letter too large for the producer's `message.max.bytes` is sent truncated
//! (headers `dq.truncated` and `dq.original.size` say so); any other
//! permanent refusal is counted in `dq_output_errors_total`, logged once with
//! its reason and given up. A fatal error of the idempotent producer stops
//! dqmon (exit 1): what it had not acknowledged is read again at restart, and
//! the store keeps the counts exact. Transient errors are retried, never in a
//! loop that shutdown cannot end.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::FutureExt;
use rdkafka::error::KafkaError;
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{DeliveryFuture, FutureProducer, FutureRecord, Producer};
use rdkafka::types::RDKafkaErrorCode;
use tracing::{error, warn};

use crate::catalog::Dataset;
use crate::model::{Message, Violation};
use crate::telemetry::{Metrics, Output};

/// One output record waiting for the broker's acknowledgement.
pub(super) struct PendingOutput {
    output: Output,
    topic: String,
    key: Option<Vec<u8>>,
    payload: Vec<u8>,
    headers: Option<OwnedHeaders>,
    delivery: Option<DeliveryFuture>,
    /// Acknowledged, or given up: its future is spent and must not be polled again.
    acknowledged: bool,
    /// The payload's size before it was truncated to fit.
    original_size: Option<usize>,
    /// Its first error was logged: later ones of the same output are only counted.
    reported: bool,
}

/// What to do with an output the producer or the broker refused.
#[derive(Debug, PartialEq, Eq)]
enum Refusal {
    /// Try again (broker away, timeouts, a full queue).
    Retry,
    /// Larger than the producer or the broker takes.
    TooLarge,
    /// The idempotent producer cannot go on: stop dqmon.
    Fatal,
    /// This output can never be written: count, log, give it up.
    Permanent,
}

fn refusal(e: &KafkaError) -> Refusal {
    use RDKafkaErrorCode as C;
    match e.rdkafka_error_code() {
        Some(C::MessageSizeTooLarge) => Refusal::TooLarge,
        Some(C::Fatal) => Refusal::Fatal,
        Some(
            C::InvalidMessage
            | C::InvalidRecord
            | C::UnknownTopic
            | C::TopicAuthorizationFailed
            | C::InvalidArgument
            | C::InvalidMessageSize,
        ) => Refusal::Permanent,
        _ => Refusal::Retry,
    }
}

/// Room left for the key, the headers and the record's framing under
/// `message.max.bytes`.
const FRAMING_BYTES: usize = 1024;

/// One consumed message whose outputs are not all acknowledged yet.
struct Pending {
    dataset: usize,
    outputs: Vec<PendingOutput>,
    /// Payload bytes counted in [`Outputs::bytes`] when queued (a dead letter
    /// truncated later must not take off less than it put on).
    bytes: usize,
}

impl PendingOutput {
    /// A violation event, keyed by the department that must fix it.
    pub(super) fn violation(topic: &str, department: &str, v: &Violation) -> Self {
        Self::new(
            Output::Violations,
            topic,
            Some(department.as_bytes().to_vec()),
            serde_json::to_vec(v).expect("a violation serializes"),
            None,
        )
    }

    /// A malformed message's original bytes, with where it came from and why;
    /// truncated to `max_bytes` (headers saying so) when larger.
    pub(super) fn dead_letter(
        topic: &str,
        msg: &Message<'_>,
        ds: &Dataset,
        reason: &str,
        max_bytes: usize,
    ) -> Self {
        let (partition, offset) = (msg.partition.to_string(), msg.offset.to_string());
        let headers = [
            ("dq.reason", reason),
            ("dq.source.topic", msg.topic),
            ("dq.source.partition", partition.as_str()),
            ("dq.source.offset", offset.as_str()),
            ("dq.department", ds.department.as_str()),
            ("dq.dataset", ds.name.as_str()),
        ]
        .into_iter()
        .fold(OwnedHeaders::new(), |h, (key, value)| {
            h.insert(Header {
                key,
                value: Some(value),
            })
        });
        let mut o = Self::new(
            Output::Deadletter,
            topic,
            msg.key.map(<[u8]>::to_vec),
            msg.payload.map(<[u8]>::to_vec).unwrap_or_default(),
            Some(headers),
        );
        o.fit(max_bytes);
        o
    }

    /// Truncates a dead letter's payload to fit `max_bytes` with its key and
    /// headers; false when it cannot be made smaller (a violation event, or
    /// nothing left to cut).
    fn fit(&mut self, max_bytes: usize) -> bool {
        let room = max_bytes
            .saturating_sub(FRAMING_BYTES)
            .saturating_sub(self.key.as_ref().map_or(0, Vec::len));
        if self.payload.len() <= room {
            return true;
        }
        if !matches!(self.output, Output::Deadletter) || room == 0 {
            return false;
        }
        let original = self.original_size.unwrap_or(self.payload.len());
        self.original_size = Some(original);
        self.payload.truncate(room);
        let size = original.to_string();
        let headers = self.headers.take().unwrap_or_default();
        self.headers = Some(
            headers
                .insert(Header {
                    key: "dq.truncated",
                    value: Some("true"),
                })
                .insert(Header {
                    key: "dq.original.size",
                    value: Some(size.as_str()),
                }),
        );
        true
    }

    fn new(
        output: Output,
        topic: &str,
        key: Option<Vec<u8>>,
        payload: Vec<u8>,
        headers: Option<OwnedHeaders>,
    ) -> Self {
        PendingOutput {
            output,
            topic: topic.to_owned(),
            key,
            payload,
            headers,
            delivery: None,
            acknowledged: false,
            reported: false,
            original_size: None,
        }
    }

    /// Logs an output's first error (with its reason, never its content).
    fn report(&mut self, metrics: &Metrics, e: &KafkaError, what: &str) {
        metrics.output_error(self.output);
        if !self.reported {
            self.reported = true;
            warn!(error = %e, topic = self.topic, bytes = self.payload.len(), "{what}");
        }
    }
}

/// The messages whose outputs are in flight, oldest first, and how many
/// were ever queued and completed: a checkpoint taken when `published` was
/// `n` may be written once `completed` reaches `n`.
#[derive(Default)]
struct Queue {
    pending: VecDeque<Pending>,
    published: u64,
    completed: u64,
}

/// The producer and the messages whose outputs are in flight, oldest first.
pub(super) struct Outputs {
    producer: FutureProducer,
    queue: Mutex<Queue>,
    metrics: Arc<Metrics>,
    /// The producer's `message.max.bytes`: larger dead letters are truncated.
    max_message_bytes: usize,
    /// Payload bytes held by the queue.
    bytes: AtomicUsize,
    /// Set on a fatal producer error; the loop then stops dqmon.
    fatal: AtomicBool,
}

impl Outputs {
    pub(super) fn new(
        producer: FutureProducer,
        metrics: Arc<Metrics>,
        max_message_bytes: usize,
    ) -> Self {
        Outputs {
            producer,
            queue: Mutex::new(Queue::default()),
            metrics,
            max_message_bytes,
            bytes: AtomicUsize::new(0),
            fatal: AtomicBool::new(false),
        }
    }

    /// The largest dead letter sent whole.
    pub(super) fn max_message_bytes(&self) -> usize {
        self.max_message_bytes
    }

    /// True once the producer hit an error it cannot recover from.
    pub(super) fn fatal(&self) -> bool {
        self.fatal.load(Ordering::Relaxed)
    }

    /// Payload bytes of the outputs in flight.
    pub(super) fn bytes(&self) -> usize {
        self.bytes.load(Ordering::Relaxed)
    }

    /// Hands a message's outputs to the producer and keeps them until
    /// acknowledged. One attempt each: whatever the producer cannot take now
    /// is sent again by [`Outputs::complete`].
    pub(super) fn publish(&self, dataset: usize, mut outputs: Vec<PendingOutput>) {
        let bytes: usize = outputs.iter().map(|o| o.payload.len()).sum();
        for o in &mut outputs {
            self.send(o, Some(Instant::now()));
        }
        let now = self.bytes.fetch_add(bytes, Ordering::Relaxed) + bytes;
        self.metrics.set_in_flight_bytes(now);
        let mut queue = self.queue.lock().expect("in-flight lock");
        queue.pending.push_back(Pending {
            dataset,
            outputs,
            bytes,
        });
        queue.published += 1;
    }

    /// How many messages with outputs were ever queued: the cut a checkpoint
    /// taken now must wait for.
    pub(super) fn published(&self) -> u64 {
        self.queue.lock().expect("in-flight lock").published
    }

    /// True when every message queued before `cut` was published is
    /// acknowledged (the queue completes in order).
    pub(super) fn completed(&self, cut: u64) -> bool {
        self.queue.lock().expect("in-flight lock").completed >= cut
    }

    /// Moves acknowledged messages off the front of the queue (a checkpoint
    /// waits for those before its cut); with `block`, waits for the front until `deadline`.
    pub(super) fn complete(&self, block: Option<Instant>) {
        let mut queue = self.queue.lock().expect("in-flight lock");
        while let Some(front) = queue.pending.front_mut() {
            if !self.poll_outputs(front, block) {
                return;
            }
            let done = queue.pending.pop_front().expect("front exists");
            queue.completed += 1;
            let now = self.bytes.fetch_sub(done.bytes, Ordering::Relaxed) - done.bytes;
            self.metrics.set_in_flight_bytes(now);
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

    /// True when every output of `p` is acknowledged or given up. Failed
    /// deliveries are sent again: the offset must not move past a violation
    /// that could still be published.
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
                        o.delivery = None;
                        if !self.refused(o, &e) {
                            break;
                        }
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

    /// What a refusal means for `o`; true when it is to be sent again.
    fn refused(&self, o: &mut PendingOutput, e: &KafkaError) -> bool {
        match refusal(e) {
            Refusal::Retry => {
                o.report(&self.metrics, e, "output not written yet; sending again");
                true
            }
            Refusal::TooLarge => {
                o.report(&self.metrics, e, "output too large for the broker");
                // The broker's limit may be below the producer's: halve until
                // it fits, or nothing is left to cut.
                let limit = (o.payload.len() + FRAMING_BYTES) / 2;
                if limit > 2 * FRAMING_BYTES && o.fit(limit) {
                    true
                } else {
                    self.give_up(o, e)
                }
            }
            Refusal::Fatal => {
                o.report(&self.metrics, e, "the producer failed for good");
                self.fatal.store(true, Ordering::Relaxed);
                true
            }
            Refusal::Permanent => {
                o.report(&self.metrics, e, "output cannot be written");
                self.give_up(o, e)
            }
        }
    }

    /// Gives an output up so it holds up nothing; false (not to be sent again).
    fn give_up(&self, o: &mut PendingOutput, e: &KafkaError) -> bool {
        error!(error = %e, topic = o.topic, "output given up: it can never be written");
        o.acknowledged = true;
        false
    }

    /// Hands an output to the producer; false when it is not handed over by
    /// `deadline` (then it is sent again later), or given up.
    fn send(&self, o: &mut PendingOutput, deadline: Option<Instant>) -> bool {
        loop {
            if self.fatal() {
                return false;
            }
            let mut record = FutureRecord::<[u8], [u8]>::to(&o.topic).payload(&o.payload);
            if let Some(k) = &o.key {
                record = record.key(k);
            }
            if let Some(h) = &o.headers {
                record = record.headers(h.clone());
            }
            let e = match self.producer.send_result(record) {
                Ok(delivery) => {
                    o.delivery = Some(delivery);
                    return true;
                }
                Err((e, _)) => e,
            };
            if let Some(fatal) = self.producer.client().fatal_error() {
                warn!(error = ?fatal.0, reason = fatal.1, "the producer failed for good");
                self.fatal.store(true, Ordering::Relaxed);
                return false;
            }
            let queue_full = matches!(
                e,
                KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull)
            );
            if !queue_full && !self.refused(o, &e) {
                return false;
            }
            if deadline.is_none_or(|d| Instant::now() >= d) {
                return false;
            }
            std::thread::sleep(Duration::from_millis(if queue_full { 5 } else { 100 }));
        }
    }

    /// Waits for every in-flight message, up to `timeout`.
    pub(super) fn drain(&self, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        self.complete(Some(deadline));
        let left = self.len();
        if left > 0 {
            warn!(
                messages = left,
                "in-flight outputs not acknowledged in time; their offsets stay uncommitted"
            );
        }
    }

    pub(super) fn len(&self) -> usize {
        self.queue.lock().expect("in-flight lock").pending.len()
    }
}
