//! Shared by the Kafka tests (mock cluster and real broker): publish simulated
//! traffic, read topics back, run `dqmon eval` semantics on what was read, and
//! read the monitor's counts from its metrics.

#![allow(dead_code)]

// Integration tests only (they have the binary to run); the throughput
// example shares this module without it.
#[cfg(test)]
pub mod crash;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use dqmon::catalog::Checks;
use dqmon::engine::Engine;
use dqmon::engine::violations;
use dqmon::model::Message;
use dqmon::model::Violation;
use dqmon::sim::{SimConfig, SimMessage, Simulator};
use dqmon::tally::Tally;
use rdkafka::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Headers, Message as _};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::util::Timeout;

/// Publication phases: persons' authority first, then legal entities' (whose
/// records are themselves compared with persons), then everyone else. Each
/// phase is consumed before the next is published, so cross-source outcomes do
/// not depend on how the monitor interleaves topics.
pub const PHASES: [&[&str]; 2] = [
    &["exchange.public_security.household_registration"],
    &["exchange.market_regulation.business_registration"],
];

/// The phase of a topic (whatever prefix it carries): 0, 1, or 2 for the rest.
pub fn phase(topic: &str) -> usize {
    PHASES
        .iter()
        .position(|p| p.iter().any(|t| topic.ends_with(t)))
        .unwrap_or(PHASES.len())
}

/// Messages in phase order, keeping the order within each phase.
pub fn in_phase_order<T: Clone>(items: &[T], topic: impl Fn(&T) -> &str) -> Vec<T> {
    let mut ordered: Vec<T> = items.to_vec();
    ordered.sort_by_key(|m| phase(topic(m)));
    ordered
}

pub fn checks() -> Arc<Checks> {
    Arc::new(dqmon::catalog::load(Path::new("checks")).unwrap())
}

/// `count` simulated messages from `start_ms`, split into the publication phases.
pub fn traffic(count: usize, seed: u64, start_ms: i64) -> Vec<Vec<SimMessage>> {
    let mut sim = Simulator::new(
        SimConfig {
            seed,
            ..SimConfig::default()
        },
        &checks(),
    );
    let mut phases = vec![Vec::new(); PHASES.len() + 1];
    for m in sim.batch(count, start_ms, 10) {
        phases[phase(&m.topic)].push(m);
    }
    phases
}

pub fn producer(bootstrap: &str) -> FutureProducer {
    ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("linger.ms", "5")
        .set("acks", "all")
        .create()
        .unwrap()
}

/// Publishes and waits for every acknowledgement.
pub async fn publish(producer: &FutureProducer, messages: &[SimMessage]) {
    for chunk in messages.chunks(5_000) {
        let sends = chunk.iter().map(|m| {
            let mut r = FutureRecord::<str, [u8]>::to(&m.topic)
                .payload(&m.payload)
                .timestamp(m.timestamp_ms);
            if let Some(k) = &m.key {
                r = r.key(k.as_str());
            }
            producer.send(r, Timeout::After(Duration::from_secs(60)))
        });
        for result in futures::future::join_all(sends).await {
            result.map_err(|(e, _)| e).expect("published");
        }
    }
}

/// A message read back from a topic.
#[derive(Debug, Clone)]
pub struct ReadBack {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
    pub timestamp_ms: i64,
    pub key: Option<Vec<u8>>,
    pub payload: Option<Vec<u8>>,
    pub headers: BTreeMap<String, String>,
}

/// Reads every message of `topics` (assigned by hand, from the beginning),
/// until `expected` are read or `timeout` passes. Order: per partition.
pub fn read_all(
    bootstrap: &str,
    topics: &[&str],
    expected: usize,
    timeout: Duration,
) -> Vec<ReadBack> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", format!("readback-{}", rand::random::<u64>()))
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "false")
        .create()
        .unwrap();
    consumer.subscribe(topics).unwrap();
    let mut out = Vec::new();
    let deadline = Instant::now() + timeout;
    while out.len() < expected && Instant::now() < deadline {
        if let Some(Ok(m)) = consumer.poll(Duration::from_millis(200)) {
            let headers = m
                .headers()
                .map(|h| {
                    h.iter()
                        .map(|h| {
                            (
                                h.key.to_string(),
                                String::from_utf8_lossy(h.value.unwrap_or_default()).into_owned(),
                            )
                        })
                        .collect()
                })
                .unwrap_or_default();
            out.push(ReadBack {
                topic: m.topic().to_string(),
                partition: m.partition(),
                offset: m.offset(),
                timestamp_ms: m.timestamp().to_millis().unwrap_or(0),
                key: m.key().map(<[u8]>::to_vec),
                payload: m.payload().map(<[u8]>::to_vec),
                headers,
            });
        }
    }
    out
}

/// What `dqmon eval` says about messages read back, in the given order.
pub fn eval(checks: &Arc<Checks>, messages: &[ReadBack]) -> (Tally, Vec<Violation>) {
    let engine = Engine::new(checks.clone(), b"expected");
    let mut tally = Tally::new(checks);
    let mut all = Vec::new();
    for m in messages {
        let msg = Message {
            topic: &m.topic,
            partition: m.partition,
            offset: m.offset,
            timestamp_ms: m.timestamp_ms,
            key: m.key.as_deref(),
            payload: m.payload.as_deref(),
        };
        let outcome = engine.evaluate(&msg, checks.day_of(msg.timestamp_ms));
        if let Some(o) = &outcome {
            all.extend(violations(&msg, &checks.datasets[o.dataset], o));
        }
        tally.add(outcome.as_ref());
    }
    (tally, all)
}

/// The value of one series in a Prometheus text exposition (0 when absent).
pub fn metric(text: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let (series, value) = l.rsplit_once(' ')?;
            let (n, rest) = series.split_once('{').unwrap_or((series, ""));
            if n != name {
                return None;
            }
            labels
                .iter()
                .all(|(k, v)| rest.contains(&format!("{k}=\"{v}\"")))
                .then(|| value.parse::<f64>().ok())?
        })
        .sum()
}

/// Every count of `tally` against the same count in the monitor's metrics:
/// records, malformed, each dimension's passes and failures, each check's failures.
pub fn assert_metrics_equal(checks: &Checks, tally: &Tally, exposition: &str) {
    let mut compared = 0;
    for ds in &checks.datasets {
        let t = &tally.datasets[ds.index];
        let l = [
            ("department", ds.department.as_str()),
            ("dataset", ds.name.as_str()),
        ];
        let count = |name: &str, extra: &[(&str, &str)]| {
            let mut all = l.to_vec();
            all.extend_from_slice(extra);
            metric(exposition, name, &all) as u64
        };
        assert_eq!(
            count("dq_records_total", &[]),
            t.records,
            "{} records",
            ds.name
        );
        assert_eq!(
            count("dq_malformed_messages_total", &[]),
            t.malformed,
            "{} malformed",
            ds.name
        );
        for d in dqmon::model::Dimension::ALL {
            for (i, result) in ["pass", "fail"].iter().enumerate() {
                assert_eq!(
                    count(
                        "dq_dimension_results_total",
                        &[("dimension", d.as_str()), ("result", result)]
                    ),
                    [t.dimension(d).passed, t.dimension(d).failed][i],
                    "{} {d} {result}",
                    ds.name
                );
                compared += 1;
            }
        }
        for (c, (_, n)) in ds.checks.iter().zip(&t.checks) {
            assert_eq!(
                count("dq_check_failures_total", &[("check", c.id.as_str())]),
                n.failed,
                "{} {}",
                ds.name,
                c.id
            );
            compared += 1;
        }
    }
    assert!(compared > 100);
}

/// Total of a metric over all its series.
pub fn total(exposition: &str, name: &str) -> u64 {
    metric(exposition, name, &[]) as u64
}

/// Copies a checks folder, giving every contract's topic a prefix, so a run
/// never shares topics with another.
pub fn copy_dir(from: &Path, to: &Path, prefix: &str) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        let target = to.join(path.file_name().unwrap());
        if path.is_dir() {
            copy_dir(&path, &target, prefix);
        } else if path.extension().is_some_and(|e| e == "yaml") {
            let text = std::fs::read_to_string(&path)
                .unwrap()
                .replace("topic: exchange.", &format!("topic: {prefix}.exchange."));
            std::fs::write(&target, text).unwrap();
        } else {
            std::fs::copy(&path, &target).unwrap();
        }
    }
}
