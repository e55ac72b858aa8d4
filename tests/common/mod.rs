//! Shared by the Kafka tests (mock cluster and real broker): publish simulated
//! traffic, read topics back, run `dqmon eval` semantics on what was read, and
//! read the monitor's counts from its metrics.

#![allow(dead_code)]

// Integration tests only (they have the binary to run); the throughput
// example shares this module without it.
#[cfg(test)]
pub mod crash;
#[cfg(test)]
pub mod service;

use std::collections::{BTreeMap, BTreeSet};
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

/// The authoritative topics, persons' authority first: [`worst_order`]
/// publishes them after everything else.
pub const AUTHORITIES: [&str; 2] = [
    "exchange.public_security.household_registration",
    "exchange.market_regulation.business_registration",
];

pub fn checks() -> Arc<Checks> {
    Arc::new(dqmon::catalog::load(Path::new("checks")).unwrap())
}

/// `count` simulated messages from `start_ms`, `step_ms` apart in message
/// time, in the order they were made (message time).
pub fn traffic_every(count: usize, seed: u64, start_ms: i64, step_ms: i64) -> Vec<SimMessage> {
    let mut sim = Simulator::new(
        SimConfig {
            seed,
            ..SimConfig::default()
        },
        &checks(),
    );
    sim.batch(count, start_ms, step_ms)
}

/// `count` simulated messages from `start_ms`, 10 ms apart.
pub fn traffic(count: usize, seed: u64, start_ms: i64) -> Vec<SimMessage> {
    traffic_every(count, seed, start_ms, 10)
}

/// The worst publication order for cross-source checks: every topic's
/// messages in message-time order (as a department publishes them), the
/// topics one after the other, the authorities last (persons' last of all),
/// so a consumer reading in publication order meets every comparison before
/// the value it compares with.
pub fn worst_order(mut messages: Vec<SimMessage>) -> Vec<SimMessage> {
    let rank = |topic: &str| {
        AUTHORITIES
            .iter()
            .position(|a| topic.ends_with(a))
            .map_or(0, |i| AUTHORITIES.len() - i)
    };
    // Stable: each topic keeps its message-time order.
    messages.sort_by(|a, b| (rank(&a.topic), &a.topic).cmp(&(rank(&b.topic), &b.topic)));
    messages
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

/// Publishes each message to a partition drawn at random, not by its key:
/// an entity's records, and the repeats of a record id, land on other
/// partitions (so on other instances) than their first.
pub async fn publish_scattered(
    producer: &FutureProducer,
    messages: &[SimMessage],
    partitions: i32,
    seed: u64,
) {
    let mut rng = <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(seed);
    for chunk in messages.chunks(5_000) {
        let sends: Vec<_> = chunk
            .iter()
            .map(|m| {
                let partition = rand::RngExt::random_range(&mut rng, 0..partitions);
                let mut r = FutureRecord::<str, [u8]>::to(&m.topic)
                    .payload(&m.payload)
                    .partition(partition)
                    .timestamp(m.timestamp_ms);
                if let Some(k) = &m.key {
                    r = r.key(k.as_str());
                }
                producer.send(r, Timeout::After(Duration::from_secs(60)))
            })
            .collect();
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

/// A violation event read back from the violations topic.
pub fn event(e: &ReadBack) -> Violation {
    serde_json::from_slice(e.payload.as_deref().expect("an event has a payload")).unwrap()
}

/// A violation's identity: where its record is and which check failed.
pub type ViolationId = (String, i32, i64, String);

pub fn violation_id(v: &Violation) -> ViolationId {
    (v.topic.clone(), v.partition, v.offset, v.check.clone())
}

/// Messages read back, in the bus's order (message time, then topic,
/// partition, offset), as eval judges them.
fn bus_order(messages: &[ReadBack]) -> Vec<Message<'_>> {
    let mut ordered: Vec<Message<'_>> = messages
        .iter()
        .map(|m| Message {
            topic: &m.topic,
            partition: m.partition,
            offset: m.offset,
            timestamp_ms: m.timestamp_ms,
            key: m.key.as_deref(),
            payload: m.payload.as_deref(),
        })
        .collect();
    ordered.sort_by_key(|m| m.order_key());
    ordered
}

/// What `dqmon eval` says about messages read back: judged in the bus's
/// order (message time, then topic, partition, offset), as eval does.
pub fn eval(checks: &Arc<Checks>, messages: &[ReadBack]) -> (Tally, Vec<Violation>) {
    let engine = Engine::new(checks.clone(), b"expected");
    let mut tally = Tally::new(checks);
    let mut all = Vec::new();
    for msg in bus_order(messages) {
        let outcome = engine.evaluate(&msg, checks.day_of(msg.timestamp_ms));
        if let Some(o) = &outcome {
            all.extend(violations(&msg, &checks.datasets[o.dataset], o));
        }
        tally.add(outcome.as_ref());
    }
    (tally, all)
}

/// A finding named by where its records were: (topic, partition and offset
/// of the opening record, check, partition and offset of the fixing one).
pub type FindingId = (String, i32, i64, String, Option<(i32, i64)>);

/// The findings eval's engine opens and fixes on the same messages in the
/// bus's order: every opening, with its fix when a later record fixed it.
pub fn eval_findings(checks: &Arc<Checks>, messages: &[ReadBack]) -> BTreeSet<FindingId> {
    let engine = Engine::new(checks.clone(), b"expected");
    // (dataset, key, check, opened_ms) -> the opening's id.
    let mut open: std::collections::BTreeMap<(usize, [u64; 2], usize, i64), FindingId> =
        Default::default();
    let mut done = BTreeSet::new();
    for msg in bus_order(messages) {
        let Some(o) = engine.evaluate(&msg, checks.day_of(msg.timestamp_ms)) else {
            continue;
        };
        let ds = &checks.datasets[o.dataset];
        for f in &o.findings {
            let key = (o.dataset, o.finding_key.unwrap(), f.check, f.opened_ms);
            match f.fixed_ms {
                None => {
                    open.insert(
                        key,
                        (
                            msg.topic.to_owned(),
                            msg.partition,
                            msg.offset,
                            ds.checks[f.check].id.clone(),
                            None,
                        ),
                    );
                }
                Some(_) => {
                    let mut id = open.remove(&key).expect("fixes an open finding");
                    id.4 = Some((msg.partition, msg.offset));
                    done.insert(id);
                }
            }
        }
    }
    done.extend(open.into_values());
    done
}

/// The findings a store holds, named as [`eval_findings`] names them.
pub fn stored_findings(store: &dyn dqmon::store::FindingStore) -> BTreeSet<FindingId> {
    use dqmon::store::findings::Status;
    let mut all = BTreeSet::new();
    for status in [Status::Open, Status::Fixed] {
        for f in store
            .list_findings(None, status, None, usize::MAX >> 2)
            .unwrap()
        {
            let id = (
                f.opened.topic.clone(),
                f.opened.partition,
                f.opened.offset,
                f.check.clone(),
                f.fixed.as_ref().map(|(_, at)| (at.partition, at.offset)),
            );
            assert!(all.insert(id), "each finding once");
        }
    }
    all
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

/// The traffic exercises what the order decides: several datasets compare
/// with an authority (comparisons pass, and some fail), and some record ids
/// come twice. Without it an order test would prove nothing.
pub fn assert_stateful_outcomes(checks: &Checks, tally: &Tally) {
    let mut comparing = 0;
    let mut conflicts = 0;
    for ds in &checks.datasets {
        let t = &tally.datasets[ds.index];
        let compared = ds
            .checks
            .iter()
            .zip(&t.checks)
            .filter(|(c, _)| c.id.ends_with(".cross_source"))
            .fold(dqmon::model::Counts::default(), |sum, (_, (_, n))| {
                [sum.passed + n.passed, sum.failed + n.failed].into()
            });
        if compared.passed + compared.failed > 0 {
            comparing += 1;
            assert!(compared.passed > 0, "{}: comparisons pass", ds.name);
            conflicts += compared.failed;
        }
    }
    assert!(
        comparing >= 3,
        "{comparing} datasets compare with an authority"
    );
    assert!(conflicts > 0, "some comparisons fail");
    let duplicates: u64 = tally
        .datasets
        .iter()
        .map(|d| d.dimension(dqmon::model::Dimension::Uniqueness).failed)
        .sum();
    assert!(duplicates > 0, "some record ids come twice");
}
