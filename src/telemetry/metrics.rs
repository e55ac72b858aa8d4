//! Prometheus metrics. Every label value comes from the contracts or the
//! configuration (department, dataset, check, dimension, topic), never from a
//! record, and every series is created at start-up so dashboards and alerts
//! see zeros rather than nothing.

use prometheus::{
    Encoder, Gauge, GaugeVec, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec,
    IntGauge, IntGaugeVec, Opts, Registry, TextEncoder,
};

use crate::catalog::Checks;
use crate::engine::RecordOutcome;
use crate::model::Dimension;

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
}

fn opts(name: &str, help: &str) -> Opts {
    Opts::new(name, help)
}

impl Metrics {
    pub fn new(checks: &Checks) -> Self {
        let r = Registry::new();
        let records = IntCounterVec::new(
            opts(
                "dq_records_total",
                "Messages evaluated, malformed ones included.",
            ),
            &["department", "dataset"],
        )
        .unwrap();
        let dimensions = IntCounterVec::new(
            opts(
                "dq_dimension_results_total",
                "Records per quality dimension outcome (pass or fail).",
            ),
            &["department", "dataset", "dimension", "result"],
        )
        .unwrap();
        let check_failures = IntCounterVec::new(
            opts("dq_check_failures_total", "Failed checks."),
            &["department", "dataset", "check"],
        )
        .unwrap();
        let malformed = IntCounterVec::new(
            opts(
                "dq_malformed_messages_total",
                "Messages that are not a UTF-8 JSON object.",
            ),
            &["department", "dataset"],
        )
        .unwrap();
        let age = HistogramVec::new(
            HistogramOpts::new(
                "dq_record_age_seconds",
                "Age of records at publication: message timestamp - updated_at.",
            )
            .buckets(vec![
                60.0, 300.0, 900.0, 3600.0, 21600.0, 43200.0, 86400.0, 172800.0, 259200.0, 604800.0,
            ]),
            &["department", "dataset"],
        )
        .unwrap();
        let last_message = GaugeVec::new(
            opts(
                "dq_dataset_last_message_timestamp_seconds",
                "Message time of the latest record of the dataset (0 until one arrives).",
            ),
            &["department", "dataset"],
        )
        .unwrap();
        let max_silence = GaugeVec::new(
            opts(
                "dq_dataset_max_silence_seconds",
                "How long the dataset may stay silent, from its contract.",
            ),
            &["department", "dataset"],
        )
        .unwrap();
        let thresholds = GaugeVec::new(
            opts(
                "dq_dimension_pass_rate_threshold",
                "Pass rate under which a department's dimension alerts, from scoring.yaml.",
            ),
            &["dimension"],
        )
        .unwrap();
        let violations = IntCounterVec::new(
            opts(
                "dq_violations_published_total",
                "Violation events acknowledged by the violations topic.",
            ),
            &["department", "dataset"],
        )
        .unwrap();
        let deadletters = IntCounterVec::new(
            opts(
                "dq_deadletter_messages_total",
                "Malformed messages acknowledged by the dead-letter topic.",
            ),
            &["department", "dataset"],
        )
        .unwrap();
        let score = GaugeVec::new(
            opts(
                "dq_quality_score",
                "Today's quality score of the department, 0 to 100.",
            ),
            &["department"],
        )
        .unwrap();
        let lag = IntGaugeVec::new(
            opts(
                "dq_consumer_lag_messages",
                "Messages behind the partition's end.",
            ),
            &["topic", "partition"],
        )
        .unwrap();
        let assigned = IntGauge::new(
            "dq_consumer_assigned_partitions",
            "Partitions assigned to this instance.",
        )
        .unwrap();
        let ready = IntGauge::new(
            "dq_ready",
            "1 when partitions are assigned and a broker is up.",
        )
        .unwrap();
        let processing = Histogram::with_opts(
            HistogramOpts::new(
                "dq_processing_duration_seconds",
                "Time to evaluate a message and hand its outputs over.",
            )
            .buckets(vec![
                0.000_005, 0.000_01, 0.000_025, 0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.005,
                0.025, 0.1,
            ]),
        )
        .unwrap();
        let output_errors = IntCounterVec::new(
            opts(
                "dq_output_errors_total",
                "Failed deliveries to an output topic (retried).",
            ),
            &["output"],
        )
        .unwrap();
        let checkpoint = Histogram::with_opts(
            HistogramOpts::new(
                "dq_checkpoint_duration_seconds",
                "Time to write one checkpoint (counts, offsets, state) to the score store.",
            )
            .buckets(vec![
                0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0,
            ]),
        )
        .unwrap();
        let checkpoint_errors = IntCounter::new(
            "dq_checkpoint_errors_total",
            "Checkpoints that could not be written or read back (store failure, or outputs not acknowledged before a revoke); dqmon then stops, to restart from the store.",
        )
        .unwrap();
        let build =
            IntGaugeVec::new(opts("dq_build_info", "Build of dqmon."), &["version"]).unwrap();
        build.with_label_values(&[env!("CARGO_PKG_VERSION")]).set(1);

        let collectors: Vec<Box<dyn prometheus::core::Collector>> = vec![
            Box::new(records.clone()),
            Box::new(dimensions.clone()),
            Box::new(check_failures.clone()),
            Box::new(malformed.clone()),
            Box::new(age.clone()),
            Box::new(last_message.clone()),
            Box::new(max_silence.clone()),
            Box::new(thresholds.clone()),
            Box::new(violations.clone()),
            Box::new(deadletters.clone()),
            Box::new(score.clone()),
            Box::new(lag.clone()),
            Box::new(assigned.clone()),
            Box::new(ready.clone()),
            Box::new(processing.clone()),
            Box::new(output_errors.clone()),
            Box::new(checkpoint.clone()),
            Box::new(checkpoint_errors.clone()),
            Box::new(build),
        ];
        for c in collectors {
            r.register(c).expect("metric names are unique");
        }
        #[cfg(target_os = "linux")]
        r.register(Box::new(
            prometheus::process_collector::ProcessCollector::for_self(),
        ))
        .expect("process metrics register once");

        for d in Dimension::ALL {
            thresholds
                .with_label_values(&[d.as_str()])
                .set(checks.alert_thresholds[d as usize]);
        }
        let datasets = checks
            .datasets
            .iter()
            .map(|ds| {
                let l = [ds.department.as_str(), ds.name.as_str()];
                max_silence
                    .with_label_values(&l)
                    .set(ds.max_silence_secs as f64);
                let dim = |d: Dimension, result: &str| {
                    dimensions.with_label_values(&[l[0], l[1], d.as_str(), result])
                };
                DatasetMetrics {
                    records: records.with_label_values(&l),
                    dimensions: Dimension::ALL.map(|d| [dim(d, "pass"), dim(d, "fail")]),
                    check_failures: ds
                        .checks
                        .iter()
                        .map(|c| check_failures.with_label_values(&[l[0], l[1], c.id.as_str()]))
                        .collect(),
                    malformed: malformed.with_label_values(&l),
                    age: age.with_label_values(&l),
                    last_message: last_message.with_label_values(&l),
                    violations: violations.with_label_values(&l),
                    deadletters: deadletters.with_label_values(&l),
                }
            })
            .collect();
        Self {
            registry: r,
            datasets,
            score,
            lag,
            assigned,
            ready,
            processing,
            output_errors: [
                output_errors.with_label_values(&["violations"]),
                output_errors.with_label_values(&["deadletter"]),
            ],
            checkpoint,
            checkpoint_errors,
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
    pub fn observe(&self, outcome: &RecordOutcome, timestamp_ms: i64) {
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

    pub fn violations_published(&self, dataset: usize, n: u64) {
        self.datasets[dataset].violations.inc_by(n);
    }

    pub fn deadletter_published(&self, dataset: usize) {
        self.datasets[dataset].deadletters.inc();
    }

    pub fn output_error(&self, output: Output) {
        self.output_errors[output as usize].inc();
    }

    pub fn processing(&self) -> &Histogram {
        &self.processing
    }

    pub fn set_lag(&self, topic: &str, partition: i32, lag: i64) {
        self.lag
            .with_label_values(&[topic, &partition.to_string()])
            .set(lag);
    }

    /// Forgets a partition's lag once it is no longer assigned here.
    pub fn forget_lag(&self, topic: &str, partition: i32) {
        let _ = self
            .lag
            .remove_label_values(&[topic, &partition.to_string()]);
    }

    pub fn set_score(&self, department: &str, score: Option<f64>) {
        match score {
            Some(s) => self.score.with_label_values(&[department]).set(s),
            None => {
                let _ = self.score.remove_label_values(&[department]);
            }
        }
    }

    pub fn set_assigned(&self, partitions: usize) {
        self.assigned.set(partitions as i64);
    }

    pub fn set_ready(&self, ready: bool) {
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

    pub fn registry(&self) -> &Registry {
        &self.registry
    }
}
