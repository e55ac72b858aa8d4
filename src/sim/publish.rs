//! Publishing simulated traffic to a bus: `dqmon simulate` against any broker,
//! and the departments of `dqmon demo`.

use std::time::{Duration, Instant};

use futures::stream::FuturesUnordered;
use futures::{FutureExt, StreamExt};
use rdkafka::error::KafkaError;
use rdkafka::producer::future_producer::OwnedDeliveryResult;
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::types::RDKafkaErrorCode;
use tokio_util::sync::CancellationToken;
use tracing::warn;

use super::Simulator;

/// How much to publish.
#[derive(Debug, Clone, Copy)]
pub struct Pace {
    /// Stop after this many messages (`None`: until cancelled).
    pub count: Option<u64>,
    /// Messages per second; 0 publishes as fast as the broker takes them.
    pub rate: f64,
}

/// Publishes until `pace.count` messages are acknowledged or `cancel` fires;
/// returns how many were acknowledged. Message timestamps are the wall clock.
pub async fn publish(
    producer: &FutureProducer,
    sim: &mut Simulator,
    pace: Pace,
    cancel: &CancellationToken,
) -> u64 {
    let started = Instant::now();
    let mut sent = 0u64;
    let mut acked = 0u64;
    let mut in_flight = FuturesUnordered::new();
    loop {
        if cancel.is_cancelled() || pace.count.is_some_and(|c| sent >= c) {
            break;
        }
        if pace.rate > 0.0 {
            // Stay on schedule: the n-th message goes out at n / rate seconds.
            let due = started + Duration::from_secs_f64(sent as f64 / pace.rate);
            let now = Instant::now();
            if due > now {
                tokio::select! {
                    _ = tokio::time::sleep(due - now) => {}
                    _ = cancel.cancelled() => break,
                }
            }
        }
        let m = sim.next_at(chrono::Utc::now().timestamp_millis());
        acked += enqueue(producer, &m, &mut in_flight).await;
        sent += 1;
        acked += settle(&mut in_flight).await;
    }
    while let Some(d) = in_flight.next().await {
        acked += u64::from(ack(d));
    }
    acked
}

/// Publishes `count` messages with message times spread evenly over
/// `from_ms..to_ms` (a backlog of history, as a bus retains it) as fast as
/// the broker takes them; returns how many were acknowledged.
pub async fn publish_history(
    producer: &FutureProducer,
    sim: &mut Simulator,
    count: u64,
    from_ms: i64,
    to_ms: i64,
) -> u64 {
    if count == 0 || to_ms <= from_ms {
        return 0;
    }
    let step = ((to_ms - from_ms) / count as i64).max(1);
    let mut acked = 0u64;
    let mut in_flight = FuturesUnordered::new();
    for i in 0..count {
        let m = sim.next_at(from_ms.saturating_add(step.saturating_mul(i as i64)));
        acked += enqueue(producer, &m, &mut in_flight).await;
        acked += settle(&mut in_flight).await;
    }
    while let Some(d) = in_flight.next().await {
        acked += u64::from(ack(d));
    }
    acked
}

type InFlight = FuturesUnordered<rdkafka::producer::DeliveryFuture>;

/// Hands one message to the producer, waiting for acknowledgements while
/// its queue is full; returns the acknowledgements received meanwhile.
async fn enqueue(
    producer: &FutureProducer,
    m: &super::SimMessage,
    in_flight: &mut InFlight,
) -> u64 {
    let mut acked = 0;
    let mut record = FutureRecord::<str, [u8]>::to(&m.topic)
        .payload(&m.payload)
        .timestamp(m.timestamp_ms);
    if let Some(k) = &m.key {
        record = record.key(k.as_str());
    }
    loop {
        match producer.send_result(record) {
            Ok(delivery) => {
                in_flight.push(delivery);
                return acked;
            }
            Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), r)) => {
                // The producer's queue is full: wait for an acknowledgement.
                record = r;
                match in_flight.next().await {
                    Some(d) => acked += u64::from(ack(d)),
                    None => tokio::time::sleep(Duration::from_millis(5)).await,
                }
            }
            Err((e, _)) => {
                warn!(error = %e, "cannot publish a simulated message");
                return acked;
            }
        }
    }
}

/// Bounds the memory of unacknowledged sends and collects what is done.
async fn settle(in_flight: &mut InFlight) -> u64 {
    let mut acked = 0;
    while in_flight.len() >= 10_000 {
        match in_flight.next().await {
            Some(d) => acked += u64::from(ack(d)),
            None => break,
        }
    }
    while let Some(Some(d)) = in_flight.next().now_or_never() {
        acked += u64::from(ack(d));
    }
    acked
}

fn ack(d: Result<OwnedDeliveryResult, futures::channel::oneshot::Canceled>) -> bool {
    match d {
        Ok(Ok(_)) => true,
        Ok(Err((e, _))) => {
            warn!(error = %e, "a simulated message was not delivered");
            false
        }
        Err(_) => false,
    }
}
