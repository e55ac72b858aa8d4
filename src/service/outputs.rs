//! The outputs of handled messages (violation events, dead letters) on
//! their way to the broker. A message counts as handled only once all its
//! outputs are acknowledged, so they are kept, in order, until then.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::FutureExt;
use rdkafka::error::KafkaError;
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{DeliveryFuture, FutureProducer, FutureRecord};
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
    /// Acknowledged: its future is spent and must not be polled again.
    acknowledged: bool,
}

/// One consumed message whose outputs are not all acknowledged yet.
struct Pending {
    dataset: usize,
    outputs: Vec<PendingOutput>,
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

    /// A malformed message's original bytes, with where it came from and why.
    pub(super) fn dead_letter(topic: &str, msg: &Message<'_>, ds: &Dataset, reason: &str) -> Self {
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
        Self::new(
            Output::Deadletter,
            topic,
            msg.key.map(<[u8]>::to_vec),
            msg.payload.map(<[u8]>::to_vec).unwrap_or_default(),
            Some(headers),
        )
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
        }
    }
}

/// The producer and the messages whose outputs are in flight, oldest first.
pub(super) struct Outputs {
    producer: FutureProducer,
    queue: Mutex<VecDeque<Pending>>,
    metrics: Arc<Metrics>,
}

impl Outputs {
    pub(super) fn new(producer: FutureProducer, metrics: Arc<Metrics>) -> Self {
        Outputs {
            producer,
            queue: Mutex::new(VecDeque::new()),
            metrics,
        }
    }

    /// Hands a message's outputs to the producer and keeps them until acknowledged.
    pub(super) fn publish(&self, dataset: usize, mut outputs: Vec<PendingOutput>) {
        for o in &mut outputs {
            self.send(o, None);
        }
        self.queue
            .lock()
            .expect("in-flight lock")
            .push_back(Pending { dataset, outputs });
    }

    /// Moves acknowledged messages off the front of the queue (a checkpoint
    /// waits for it to be empty); with `block`, waits for the front until `deadline`.
    pub(super) fn complete(&self, block: Option<Instant>) {
        let mut queue = self.queue.lock().expect("in-flight lock");
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
    pub(super) fn drain(&self, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        self.complete(Some(deadline));
        let left = self.queue.lock().expect("in-flight lock").len();
        if left > 0 {
            warn!(
                messages = left,
                "in-flight outputs not acknowledged in time; their offsets stay uncommitted"
            );
        }
    }

    pub(super) fn len(&self) -> usize {
        self.queue.lock().expect("in-flight lock").len()
    }
}
