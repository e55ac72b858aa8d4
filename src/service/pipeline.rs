//! The consumer loop: read messages into the merge, take them out in
//! message-time order (`order`), evaluate each, count it, hand its violations
//! and dead letter to the producer, and checkpoint.
//!
//! Exactly-once counting: counts, the next offset of every partition and the
//! engine state they depend on go to the score store in ONE transaction per
//! checkpoint (every `checkpoint_interval_ms` or `checkpoint_max_messages`),
//! taken only when every output of the messages it covers is acknowledged.
//! An assigned partition resumes at the store's offset, not the group's, so a
//! crash at any moment replays exactly what the store has not counted. The
//! group's offsets are still committed (only up to the store's) for lag tools.
//! A checkpoint the store refuses stops the pipeline: memory is then ahead
//! of the store, and only a start from the store is exact again (`dqmon run`
//! starts again when the refusal was fencing: another instance owns a
//! partition now).
//!
//! It runs on a thread of its own with a `BaseConsumer`, so the rebalance
//! callback (which runs inside `poll`) can wait for in-flight deliveries and
//! write a checkpoint without blocking an async runtime.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use rdkafka::TopicPartitionList;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message as _;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use super::context::PipelineContext;
use super::order::{Fetched, PassedOver, Pushed, Released, Step};
use super::outputs::PendingOutput;
use super::today::Today;
use crate::catalog::Checks;
use crate::engine::{Engine, RecordOutcome, violations};
use crate::model::Message;
use crate::telemetry::Metrics;

/// Messages read from librdkafka's queue per turn, and released per turn,
/// at most, before the loop looks at outputs and checkpoints again. A turn
/// reads everything librdkafka has fetched before releasing: what a partition
/// already fetched then holds the others back instead of coming late.
const BATCH: usize = 4096;

/// Records evaluated together, on `processing.workers` threads: enough for
/// every worker to have chunks to prepare, few enough that outputs and
/// back-pressure are looked at often.
const SUB_BATCH: usize = 1024;

/// What a record's violation events may add to the bytes in flight, for
/// back-pressure before they exist (a few events of a few hundred bytes).
const EVENTS_ESTIMATE: usize = 1024;

/// What a buffered record costs besides its bytes (allocations, its entry),
/// as `processing.max_buffered_bytes` counts it.
const RECORD_OVERHEAD: usize = 64;

/// How long a turn waits for the consumer: briefly while a partition holds
/// the merge back (its fetch is on its way), longer when there is nothing.
const BLOCKED_POLL: Duration = Duration::from_millis(5);
const IDLE_POLL: Duration = Duration::from_millis(100);

/// What a turn of releasing found.
pub(super) enum Drained {
    /// Released all it could, or stopped for back-pressure: poll without waiting.
    More,
    Blocked,
    Idle,
}

impl Drained {
    /// Two sources' turns together: poll at once if either has more, wait
    /// briefly if either is held back.
    fn or(self, other: Drained) -> Drained {
        match (self, other) {
            (Drained::More, _) | (_, Drained::More) => Drained::More,
            (Drained::Blocked, _) | (_, Drained::Blocked) => Drained::Blocked,
            _ => Drained::Idle,
        }
    }
}

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
    /// Threads evaluating (`processing.workers`), this one included.
    pub workers: usize,
    /// Several instances: where facts are published and read (`shared`).
    pub state_topic: Option<super::state_topic::StateTopic>,
}

impl Pipeline {
    /// Runs until `shutdown` is cancelled, then finishes in-flight work within
    /// `drain_timeout`, checkpoints and commits. An error when the store
    /// failed (nothing more was written).
    pub fn run(&self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let ctx = self.consumer.context();
        let mut last_score = Instant::now() - Duration::from_secs(10);
        let mut errors_logged = 0u64;
        let mut drained = Drained::Idle;
        while !shutdown.is_cancelled() {
            if ctx.outputs.fatal() {
                // Its unacknowledged outputs are read again at restart.
                ctx.fail("the producer", &"a fatal error of the idempotent producer");
                break;
            }
            if self.state_topic.as_ref().is_some_and(|t| t.failed()) {
                // Records parked for their facts would wait for ever; a restart publishes them again.
                ctx.fail("the state topic", &"facts were not delivered");
                break;
            }
            if self.backpressure() {
                // Wait for the oldest outputs before judging more.
                ctx.outputs
                    .complete(Some(Instant::now() + Duration::from_millis(100)));
            } else {
                let timeout = match drained {
                    Drained::More => Duration::ZERO,
                    Drained::Blocked => BLOCKED_POLL,
                    Drained::Idle => IDLE_POLL,
                };
                self.fill(timeout, &mut errors_logged);
                drained = self.drain();
                ctx.outputs.complete(None);
            }
            let c = &ctx.checkpointing;
            let due = ctx
                .accumulator
                .lock()
                .expect("accumulator lock")
                .due(c.interval, c.max_messages);
            if due {
                ctx.checkpoint();
            } else {
                ctx.submit_acknowledged();
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
        let taken = ctx.checkpoint_all();
        ctx.settle(&self.consumer, true);
        if ctx.fenced.load(Ordering::Relaxed) {
            return Err(super::Fenced.into());
        }
        if ctx.failed.load(Ordering::Relaxed) {
            let why = ctx
                .failure()
                .unwrap_or_else(|| "the score store failed".into());
            anyhow::bail!("{why}; restart to resume from the score store");
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

    fn backpressure(&self) -> bool {
        self.outputs_full(0, 0)
    }

    /// Whether the outputs in flight, plus `records` more carrying `bytes`,
    /// reach either bound.
    pub(super) fn outputs_full(&self, records: usize, bytes: usize) -> bool {
        let outputs = &self.consumer.context().outputs;
        outputs.len() + records >= self.max_in_flight
            || outputs.bytes() + bytes >= self.max_in_flight_bytes
    }

    /// Moves what librdkafka has fetched into the merge (waiting up to
    /// `timeout` for the first message), pausing partitions whose buffer fills.
    fn fill(&self, timeout: Duration, errors_logged: &mut u64) {
        let ctx = self.consumer.context();
        let mut timeout = timeout;
        for _ in 0..BATCH {
            // Polling serves the rebalance callback, which locks the merge:
            // it is not held here.
            let Some(polled) = self.consumer.poll(timeout) else {
                return;
            };
            timeout = Duration::ZERO;
            let m = match polled {
                Ok(m) => m,
                Err(e) => {
                    // A broker that went away is waited for; say so without flooding the log.
                    *errors_logged += 1;
                    if errors_logged.is_power_of_two() {
                        warn!(error = %e, occurrences = *errors_logged, "consumer error");
                    }
                    continue;
                }
            };
            let fetched = Fetched {
                key: m.key().map(Box::from),
                payload: m.payload().map(Box::from),
            };
            let size = RECORD_OVERHEAD + m.payload_len() + m.key_len();
            let pushed = ctx.merge.lock().expect("merge lock").push(
                m.topic(),
                m.partition(),
                m.offset(),
                m.timestamp().to_millis(),
                size,
                fetched,
            );
            if pushed == (Pushed::Buffered { pause: true }) {
                self.pause_or_resume(m.topic(), m.partition(), true);
            }
        }
    }

    /// Releases and handles records in message-time order while order allows
    /// and outputs have room.
    fn drain(&self) -> Drained {
        let ctx = self.consumer.context();
        ctx.merge.lock().expect("merge lock").forget_ends();
        let drained = match &self.state_topic {
            None => self.release(BATCH),
            Some(topic) => {
                let own = if self.parked_full() {
                    Drained::Blocked
                } else {
                    self.release(BATCH)
                };
                let facts = self.judge_shared(topic, BATCH);
                own.or(facts)
            }
        };
        self.report_passed_over();
        drained
    }

    /// Releases and handles up to `n` records, a sub-batch at a time: the
    /// engine evaluates a sub-batch on `workers` threads.
    fn release(&self, n: usize) -> Drained {
        let mut left = n;
        while left > 0 {
            let (batch, end) = self.take(left.min(SUB_BATCH));
            left -= batch.len();
            for r in batch.iter().filter(|r| r.resume) {
                self.pause_or_resume(&r.topic, r.partition, false);
            }
            match &self.state_topic {
                None => self.handle(&batch),
                Some(topic) => self.park(topic, batch),
            }
            if let Some(end) = end {
                return end;
            }
        }
        Drained::More
    }

    /// Up to `n` records in message-time order, as many as the outputs have
    /// room for (counting what this batch will add: its payloads, which dead
    /// letters copy, and [`EVENTS_ESTIMATE`] for violation events), and why
    /// it stopped short, if it did.
    fn take(&self, n: usize) -> (Vec<Released<Fetched>>, Option<Drained>) {
        let ctx = self.consumer.context();
        let mut merge = ctx.merge.lock().expect("merge lock");
        let mut batch = Vec::with_capacity(n.min(SUB_BATCH));
        let mut bytes = 0;
        while batch.len() < n {
            if self.outputs_full(batch.len(), bytes) {
                return (batch, Some(Drained::More));
            }
            let step = merge.pop(Instant::now(), |topic, partition| {
                super::kafka::cached_watermarks(&self.consumer, topic, partition)
            });
            match step {
                Step::Released(r) => {
                    bytes += r.record.payload.as_ref().map_or(0, |p| p.len()) + EVENTS_ESTIMATE;
                    batch.push(r);
                }
                Step::Blocked => return (batch, Some(Drained::Blocked)),
                Step::Idle => return (batch, Some(Drained::Idle)),
            }
        }
        (batch, None)
    }

    fn pause_or_resume(&self, topic: &str, partition: i32, pause: bool) {
        let mut tpl = TopicPartitionList::new();
        tpl.add_partition(topic, partition);
        let result = if pause {
            self.metrics.order_paused();
            self.consumer.pause(&tpl)
        } else {
            self.consumer.resume(&tpl)
        };
        if let Err(e) = result {
            warn!(error = %e, topic, partition, pause, "pausing or resuming a partition failed");
        }
    }

    /// Partitions the merge stopped waiting for: their records will be late.
    fn report_passed_over(&self) {
        let passed = self
            .consumer
            .context()
            .merge
            .lock()
            .expect("merge lock")
            .take_passed_over();
        self.passed_over(
            passed,
            "a partition with unread messages sent nothing within processing.max_lag_ms: \
             judging later records without it; its records will be late",
        );
    }

    /// One log line and one count per partition a merge stopped waiting for.
    pub(super) fn passed_over(&self, passed: Vec<PassedOver>, what: &str) {
        for p in passed {
            self.metrics.order_wait_expired();
            warn!(topic = &*p.topic, partition = p.partition, "{what}");
        }
    }

    fn update_scores(&self) {
        let now = chrono::Utc::now().timestamp_millis();
        self.today.roll(&self.checks, self.checks.day_of(now));
        for (department, _, score) in self.today.scores(&self.checks) {
            self.metrics.set_score(&department, score);
        }
    }

    /// Evaluates a batch (in parallel, judged in order) and handles each
    /// outcome in order.
    fn handle(&self, batch: &[Released<Fetched>]) {
        if batch.is_empty() {
            return;
        }
        let started = Instant::now();
        let messages: Vec<(Message<'_>, NaiveDate)> = batch
            .iter()
            .map(|r| (r.message(), self.checks.day_of(r.timestamp_ms)))
            .collect();
        self.engine
            .evaluate_batch(&messages, self.workers, |i, outcome| {
                let (msg, day) = &messages[i];
                self.handle_outcome(msg, *day, batch[i].late, outcome);
            });
        // The histogram is per message: each gets the batch's mean.
        let each = started.elapsed().as_secs_f64() / batch.len() as f64;
        for _ in batch {
            self.metrics.processing().observe(each);
        }
    }

    /// Counts one judged message, accumulates it for the next checkpoint and
    /// hands its violations and dead letter to the producer.
    pub(super) fn handle_outcome(
        &self,
        msg: &Message<'_>,
        day: NaiveDate,
        late: bool,
        outcome: Option<RecordOutcome>,
    ) {
        let ctx = self.consumer.context();
        let Some(outcome) = outcome else {
            // Only contract topics are subscribed; nothing to do but move on.
            ctx.accumulator.lock().expect("accumulator lock").handled(
                msg.topic,
                msg.partition,
                msg.offset,
            );
            return;
        };
        self.metrics.observe(&outcome, msg.timestamp_ms);
        if late {
            self.metrics.late(outcome.dataset);
        }
        self.today.add(day, &outcome);
        let ds = &self.checks.datasets[outcome.dataset];
        let mut events = violations(msg, ds, &outcome);
        for v in &mut events {
            v.late = late;
        }
        {
            let mut acc = ctx.accumulator.lock().expect("accumulator lock");
            acc.add(&self.checks, day, &outcome);
            for v in &events {
                acc.violation(v);
            }
            acc.findings(&self.checks, msg, &outcome);
            acc.handled(msg.topic, msg.partition, msg.offset);
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
                msg,
                ds,
                reason,
                ctx.outputs.max_message_bytes(),
            ));
        }
        ctx.outputs.publish(outcome.dataset, outputs);
    }
}
