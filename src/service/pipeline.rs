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

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message as _;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use super::context::PipelineContext;
use super::outputs::PendingOutput;
use super::today::Today;
use crate::catalog::Checks;
use crate::engine::{Engine, violations};
use crate::model::Message;
use crate::telemetry::Metrics;

/// Everything the loop needs.
pub(crate) struct Pipeline {
    pub consumer: BaseConsumer<PipelineContext>,
    pub engine: Arc<Engine>,
    pub checks: Arc<Checks>,
    pub metrics: Arc<Metrics>,
    pub today: Arc<Today>,
    pub violations_topic: String,
    pub deadletter_topic: String,
    pub max_in_flight: usize,
    /// Payload bytes of the in-flight outputs above which reading pauses.
    pub max_in_flight_bytes: usize,
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
            if ctx.outputs.fatal() {
                // Its unacknowledged outputs are read again at restart.
                ctx.fail("the producer", &"a fatal error of the idempotent producer");
                break;
            }
            if ctx.outputs.len() >= self.max_in_flight
                || ctx.outputs.bytes() >= self.max_in_flight_bytes
            {
                // Back-pressure: wait for the oldest outputs before reading more.
                ctx.outputs
                    .complete(Some(Instant::now() + Duration::from_millis(100)));
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
                ctx.outputs.complete(None);
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
            in_flight = ctx.outputs.len(),
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
        let mut outputs: Vec<PendingOutput> = events
            .iter()
            .map(|v| PendingOutput::violation(&self.violations_topic, &ds.department, v))
            .collect();
        if outcome.malformed {
            let reason = outcome
                .failures()
                .next()
                .map_or("malformed", |c| c.reason.as_ref());
            outputs.push(PendingOutput::dead_letter(
                &self.deadletter_topic,
                &msg,
                ds,
                reason,
                ctx.outputs.max_message_bytes(),
            ));
        }
        ctx.outputs.publish(outcome.dataset, outputs);
        self.metrics
            .processing()
            .observe(started.elapsed().as_secs_f64());
    }
}
