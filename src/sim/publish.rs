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
                    break;
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
                    break;
                }
            }
        }
        sent += 1;
        // Bound the memory of unacknowledged sends.
        while in_flight.len() >= 10_000 {
            match in_flight.next().await {
                Some(d) => acked += u64::from(ack(d)),
                None => break,
            }
        }
        while let Some(Some(d)) = in_flight.next().now_or_never() {
            acked += u64::from(ack(d));
        }
    }
    while let Some(d) = in_flight.next().await {
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
