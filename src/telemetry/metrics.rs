//! Prometheus metrics. Every label value comes from the contracts or the
//! configuration (department, dataset, check, dimension, topic), never from a
//! record, and every series is created at start-up so dashboards and alerts
//! see zeros rather than nothing.

use prometheus::{
    Encoder, Gauge, GaugeVec, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec,
    IntGauge, IntGaugeVec, Opts, Registry, TextEncoder,
};

use crate::catalog::{Checks, Dataset};
use crate::engine::RecordOutcome;
use crate::model::Dimension;
use crate::store::findings::FindingSummary;

/// Handles of one dataset's series, resolved once so the hot path does no label lookups.
struct DatasetMetrics {
    records: IntCounter,
    /// `[dimension][pass, fail]`.
    dimensions: [[IntCounter; 2]; 5],
    check_failures: Vec<IntCounter>,
    malformed: IntCounter,
    age: Histogram,
    last_message: Gauge,
    violations: IntCounter,
    deadletters: IntCounter,
    late: IntCounter,
}

/// Which output failed.
#[derive(Debug, Clone, Copy)]
pub enum Output {
    Violations,
    Deadletter,
}

pub struct Metrics {
    registry: Registry,
    datasets: Vec<DatasetMetrics>,
    score: GaugeVec,
    lag: IntGaugeVec,
    assigned: IntGauge,
    ready: IntGauge,
    processing: Histogram,
    output_errors: [IntCounter; 2],
    checkpoint: Histogram,
    checkpoint_errors: IntCounter,
    order_waits_expired: IntCounter,
    order_pauses: IntCounter,
    in_flight_bytes: IntGauge,
    findings: FindingGauges,
    disputes: DisputeGauges,
}

/// Dispute gauges per department (the one that filed) and stage.
struct DisputeGauges {
    pending: IntGaugeVec,
    overdue: IntGaugeVec,
    decided: IntGaugeVec,
}

impl DisputeGauges {
    fn register(r: &Registry, checks: &Checks) -> Self {
        let g = DisputeGauges {
            pending: int_gauges(
                r,
                "dq_disputes_pending",
                "Disputes (异议) not decided yet, by the department that filed them and their stage (filed, verifying, deciding).",
                &["department", "stage"],
            ),
            overdue: int_gauges(
                r,
                "dq_disputes_overdue",
                "Pending disputes past their stage's deadline in governance.yaml (working days): the officer's (filed, deciding) or the authoritative department's (verifying).",
                &["department", "stage"],
            ),
            decided: int_gauges(
                r,
                "dq_disputes_decided",
                "Decided disputes, by the department that filed them and the decision (upheld, rejected).",
                &["department", "decision"],
            ),
        };
        for d in &checks.departments {
            for stage in crate::store::disputes::Stage::PENDING {
                for family in [&g.pending, &g.overdue] {
                    family
                        .with_label_values(&[d.as_str(), stage.as_str()])
                        .set(0);
                }
            }
            for decision in ["upheld", "rejected"] {
                g.decided.with_label_values(&[d.as_str(), decision]).set(0);
            }
        }
        g
    }
}

/// One department's disputes: counts per pending stage, overdue per
/// pending stage, and decided per decision.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct DisputeCounts {
    /// By `Stage::PENDING` order.
    pub pending: [u64; 3],
    pub overdue: [u64; 3],
    /// Upheld, rejected.
    pub decided: [u64; 2],
}

/// Rectification gauges per department, read from the score store.
struct FindingGauges {
    open: IntGaugeVec,
    overdue: IntGaugeVec,
    fixed: IntGaugeVec,
    median: GaugeVec,
}

/// Buckets of `dq_record_age_seconds`: a minute to a week.
const AGE_BUCKETS: [f64; 10] = [
    60.0, 300.0, 900.0, 3600.0, 21600.0, 43200.0, 86400.0, 172800.0, 259200.0, 604800.0,
];
/// Buckets of `dq_processing_duration_seconds`: 5 µs to 100 ms.
const PROCESSING_BUCKETS: [f64; 11] = [
    0.000_005, 0.000_01, 0.000_025, 0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.005, 0.025, 0.1,
];
/// Buckets of `dq_checkpoint_duration_seconds`: 1 ms to 5 s.
const CHECKPOINT_BUCKETS: [f64; 10] = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0];

/// Registers a collector and hands back a handle to it.
fn registered<C: prometheus::core::Collector + Clone + 'static>(r: &Registry, c: C) -> C {
    r.register(Box::new(c.clone()))
        .expect("metric names are unique");
    c
}

fn counters(r: &Registry, name: &str, help: &str, labels: &[&str]) -> IntCounterVec {
    registered(
        r,
        IntCounterVec::new(Opts::new(name, help), labels).expect("valid metric"),
    )
}

fn gauges(r: &Registry, name: &str, help: &str, labels: &[&str]) -> GaugeVec {
    registered(
        r,
        GaugeVec::new(Opts::new(name, help), labels).expect("valid metric"),
    )
}

fn int_gauges(r: &Registry, name: &str, help: &str, labels: &[&str]) -> IntGaugeVec {
    registered(
        r,
        IntGaugeVec::new(Opts::new(name, help), labels).expect("valid metric"),
    )
}

fn int_counter(r: &Registry, name: &str, help: &str) -> IntCounter {
    registered(r, IntCounter::new(name, help).expect("valid metric"))
}

fn int_gauge(r: &Registry, name: &str, help: &str) -> IntGauge {
    registered(r, IntGauge::new(name, help).expect("valid metric"))
}

fn histogram(r: &Registry, name: &str, help: &str, buckets: &[f64]) -> Histogram {
    let opts = HistogramOpts::new(name, help).buckets(buckets.to_vec());
    registered(r, Histogram::with_opts(opts).expect("valid metric"))
}

impl FindingGauges {
    fn register(r: &Registry, checks: &Checks) -> Self {
        const D: &[&str] = &["department"];
        let g = FindingGauges {
            open: int_gauges(
                r,
                "dq_findings_open",
                "Findings (a failed check of an entity's record that no later record of it passed) open now.",
                D,
            ),
            overdue: int_gauges(
                r,
                "dq_findings_overdue",
                "Open findings past governance.yaml's rectification deadline (working days).",
                D,
            ),
            fixed: int_gauges(
                r,
                "dq_findings_fixed",
                "Findings a later record of the same entity fixed, as kept in the score store.",
                D,
            ),
            median: gauges(
                r,
                "dq_findings_median_time_to_fix_seconds",
                "Median time from the record that opened a finding to the one that fixed it (message time).",
                D,
            ),
        };
        for d in &checks.departments {
            for family in [&g.open, &g.overdue, &g.fixed] {
                family.with_label_values(&[d.as_str()]).set(0);
            }
        }
        g
    }
}

fn clamped(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// The families labelled by department and dataset.
struct DatasetFamilies {
    records: IntCounterVec,
    dimensions: IntCounterVec,
    check_failures: IntCounterVec,
    malformed: IntCounterVec,
    age: HistogramVec,
    last_message: GaugeVec,
    max_silence: GaugeVec,
    violations: IntCounterVec,
    deadletters: IntCounterVec,
    late: IntCounterVec,
}

impl DatasetFamilies {
    fn register(r: &Registry) -> Self {
        const DS: &[&str] = &["department", "dataset"];
        let age = HistogramOpts::new(
            "dq_record_age_seconds",
            "Age of records at publication: message timestamp - updated_at.",
        )
        .buckets(AGE_BUCKETS.to_vec());
        DatasetFamilies {
            records: counters(
                r,
                "dq_records_total",
                "Messages evaluated, malformed ones included.",
                DS,
            ),
            dimensions: counters(
                r,
                "dq_dimension_results_total",
                "Records per quality dimension outcome (pass or fail).",
                &["department", "dataset", "dimension", "result"],
            ),
            check_failures: counters(
                r,
                "dq_check_failures_total",
                "Failed checks.",
                &["department", "dataset", "check"],
            ),
            malformed: counters(
                r,
                "dq_malformed_messages_total",
                "Messages that are not a UTF-8 JSON object.",
                DS,
            ),
            age: registered(r, HistogramVec::new(age, DS).expect("valid metric")),
            last_message: gauges(
                r,
                "dq_dataset_last_message_timestamp_seconds",
                "Message time of the latest record of the dataset (0 until one arrives).",
                DS,
            ),
            max_silence: gauges(
                r,
                "dq_dataset_max_silence_seconds",
                "How long the dataset may stay silent, from its contract.",
                DS,
            ),
            violations: counters(
                r,
                "dq_violations_published_total",
                "Violation events acknowledged by the violations topic.",
                DS,
            ),
            deadletters: counters(
                r,
                "dq_deadletter_messages_total",
                "Malformed messages acknowledged by the dead-letter topic.",
                DS,
            ),
            late: counters(
                r,
                "dq_late_messages_total",
                "Messages judged late: they arrived after records with later message times were judged.",
                DS,
            ),
        }
    }

    /// One dataset's series, created now so they export zeros from the start.
    fn series(&self, ds: &Dataset) -> DatasetMetrics {
        let l = [ds.department.as_str(), ds.name.as_str()];
        self.max_silence
            .with_label_values(&l)
            .set(ds.max_silence_secs as f64);
        let dim = |d: Dimension, result: &str| {
            self.dimensions
                .with_label_values(&[l[0], l[1], d.as_str(), result])
        };
        DatasetMetrics {
            records: self.records.with_label_values(&l),
            dimensions: Dimension::ALL.map(|d| [dim(d, "pass"), dim(d, "fail")]),
            check_failures: ds
                .checks
                .iter()
                .map(|c| {
                    self.check_failures
                        .with_label_values(&[l[0], l[1], c.id.as_str()])
                })
                .collect(),
            malformed: self.malformed.with_label_values(&l),
            age: self.age.with_label_values(&l),
            last_message: self.last_message.with_label_values(&l),
            violations: self.violations.with_label_values(&l),
            deadletters: self.deadletters.with_label_values(&l),
            late: self.late.with_label_values(&l),
        }
    }
}

impl Metrics {
    pub fn new(checks: &Checks) -> Self {
        let r = Registry::new();
        let families = DatasetFamilies::register(&r);
        let thresholds = gauges(
            &r,
            "dq_dimension_pass_rate_threshold",
            "Pass rate under which a department's dimension alerts, from scoring.yaml.",
            &["dimension"],
        );
        for d in Dimension::ALL {
            thresholds
                .with_label_values(&[d.as_str()])
                .set(checks.alert_thresholds[d as usize]);
        }
        let output_errors = counters(
            &r,
            "dq_output_errors_total",
            "Failed deliveries to an output topic (retried).",
            &["output"],
        );
        let build = int_gauges(&r, "dq_build_info", "Build of dqmon.", &["version"]);
        build.with_label_values(&[env!("CARGO_PKG_VERSION")]).set(1);
        #[cfg(target_os = "linux")]
        r.register(Box::new(
            prometheus::process_collector::ProcessCollector::for_self(),
        ))
        .expect("process metrics register once");
        Self {
            datasets: checks
                .datasets
                .iter()
                .map(|ds| families.series(ds))
                .collect(),
            score: gauges(
                &r,
                "dq_quality_score",
                "Today's quality score of the department, 0 to 100.",
                &["department"],
            ),
            lag: int_gauges(
                &r,
                "dq_consumer_lag_messages",
                "Messages behind the partition's end.",
                &["topic", "partition"],
            ),
            assigned: int_gauge(
                &r,
                "dq_consumer_assigned_partitions",
                "Partitions assigned to this instance.",
            ),
            ready: int_gauge(
                &r,
                "dq_ready",
                "1 when the state is loaded, partitions are assigned and a broker is up (as /readyz).",
            ),
            processing: histogram(
                &r,
                "dq_processing_duration_seconds",
                "Time to evaluate a message and hand its outputs over.",
                &PROCESSING_BUCKETS,
            ),
            output_errors: [
                output_errors.with_label_values(&["violations"]),
                output_errors.with_label_values(&["deadletter"]),
            ],
            checkpoint: histogram(
                &r,
                "dq_checkpoint_duration_seconds",
                "Time to write one checkpoint (counts, offsets, state) to the score store.",
                &CHECKPOINT_BUCKETS,
            ),
            checkpoint_errors: int_counter(
                &r,
                "dq_checkpoint_errors_total",
                "Checkpoints that could not be written or read back (store failure, or outputs not acknowledged before a revoke); dqmon then stops, to restart from the store.",
            ),
            order_pauses: int_counter(
                &r,
                "dq_order_pauses_total",
                "Partitions paused because the merge's buffers held more than processing.max_buffered_bytes (each pause drops what librdkafka had prefetched for it).",
            ),
            in_flight_bytes: int_gauge(
                &r,
                "dq_output_in_flight_bytes",
                "Payload bytes of violation events and dead letters handed to the producer and not yet acknowledged (reading pauses at processing.max_in_flight_bytes).",
            ),
            order_waits_expired: int_counter(
                &r,
                "dq_order_waits_expired_total",
                "Times a partition with unread messages sent nothing within processing.max_lag_ms, so later records were judged without it.",
            ),
            findings: FindingGauges::register(&r, checks),
            disputes: DisputeGauges::register(&r, checks),
            registry: r,
        }
    }

    /// One department's findings as the store holds them. The median is
    /// left out until something was fixed (no series rather than a fake 0).
    pub(crate) fn set_findings(&self, department: &str, s: &FindingSummary) {
        let f = &self.findings;
        let l = [department];
        f.open.with_label_values(&l).set(clamped(s.open));
        f.overdue.with_label_values(&l).set(clamped(s.overdue));
        f.fixed.with_label_values(&l).set(clamped(s.fixed));
        match s.median_time_to_fix_secs {
            Some(secs) => f.median.with_label_values(&l).set(secs as f64),
            None => {
                let _ = f.median.remove_label_values(&l);
            }
        }
    }

    /// One department's disputes as the store holds them.
    pub(crate) fn set_disputes(&self, department: &str, c: &DisputeCounts) {
        let g = &self.disputes;
        for (i, stage) in crate::store::disputes::Stage::PENDING.iter().enumerate() {
            let l = [department, stage.as_str()];
            g.pending.with_label_values(&l).set(clamped(c.pending[i]));
            g.overdue.with_label_values(&l).set(clamped(c.overdue[i]));
        }
        for (i, decision) in ["upheld", "rejected"].iter().enumerate() {
            g.decided
                .with_label_values(&[department, decision])
                .set(clamped(c.decided[i]));
        }
    }

    /// One checkpoint written (its duration), or refused.
    pub fn checkpoint(&self, result: Result<std::time::Duration, ()>) {
        match result {
            Ok(d) => self.checkpoint.observe(d.as_secs_f64()),
            Err(()) => self.checkpoint_errors.inc(),
        }
    }

    /// Counts one evaluated message.
    pub(crate) fn observe(&self, outcome: &RecordOutcome, timestamp_ms: i64) {
        let m = &self.datasets[outcome.dataset];
        m.records.inc();
        for (d, result) in outcome.dimensions.iter().enumerate() {
            if let Some(passed) = result {
                m.dimensions[d][usize::from(!passed)].inc();
            }
        }
        for c in outcome.failures() {
            m.check_failures[c.check].inc();
        }
        if outcome.malformed {
            m.malformed.inc();
        }
        if let Some(age) = outcome.age_ms {
            m.age.observe(age as f64 / 1000.0);
        }
        let ts = timestamp_ms as f64 / 1000.0;
        if ts > m.last_message.get() {
            m.last_message.set(ts);
        }
    }

    pub(crate) fn violations_published(&self, dataset: usize, n: u64) {
        self.datasets[dataset].violations.inc_by(n);
    }

    /// One message of the dataset judged late.
    pub(crate) fn late(&self, dataset: usize) {
        self.datasets[dataset].late.inc();
    }

    /// Output bytes in flight now.
    pub(crate) fn set_in_flight_bytes(&self, bytes: usize) {
        self.in_flight_bytes
            .set(i64::try_from(bytes).unwrap_or(i64::MAX));
    }

    /// A partition paused: it ran ahead of the others in message time.
    pub(crate) fn order_paused(&self) {
        self.order_pauses.inc();
    }

    /// The merge stopped waiting for a partition.
    pub(crate) fn order_wait_expired(&self) {
        self.order_waits_expired.inc();
    }

    pub(crate) fn deadletter_published(&self, dataset: usize) {
        self.datasets[dataset].deadletters.inc();
    }

    pub(crate) fn output_error(&self, output: Output) {
        self.output_errors[output as usize].inc();
    }

    pub fn processing(&self) -> &Histogram {
        &self.processing
    }

    pub(crate) fn set_lag(&self, topic: &str, partition: i32, lag: i64) {
        self.lag
            .with_label_values(&[topic, &partition.to_string()])
            .set(lag);
    }

    /// Forgets a partition's lag once it is no longer assigned here.
    pub(crate) fn forget_lag(&self, topic: &str, partition: i32) {
        let _ = self
            .lag
            .remove_label_values(&[topic, &partition.to_string()]);
    }

    pub(crate) fn set_score(&self, department: &str, score: Option<f64>) {
        match score {
            Some(s) => self.score.with_label_values(&[department]).set(s),
            None => {
                let _ = self.score.remove_label_values(&[department]);
            }
        }
    }

    pub(crate) fn set_assigned(&self, partitions: usize) {
        self.assigned.set(partitions as i64);
    }

    pub(crate) fn set_ready(&self, ready: bool) {
        self.ready.set(i64::from(ready));
    }

    /// The Prometheus text exposition.
    pub fn encode(&self) -> String {
        let mut buf = Vec::new();
        TextEncoder::new()
            .encode(&self.registry.gather(), &mut buf)
            .expect("text encoding cannot fail");
        String::from_utf8(buf).expect("exposition is UTF-8")
    }
}
