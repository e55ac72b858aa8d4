//! Several instances in one consumer group, sharing one score store and the
//! state topic, against librdkafka's mock cluster: each reads some
//! partitions, yet every record is judged against everything the bus
//! delivered before it, so the store ends with exactly `dqmon eval`'s counts
//! over the same messages, consistency and uniqueness included.

mod common;

use std::time::{Duration, Instant};

use common::service::{self, scrape};
use common::*;
use dqmon::service::Service;
use dqmon::service::config::{Config, ProcessingConfig};
use rdkafka::mocking::MockCluster;

/// 2026-06-15T10:00:00+08:00
const START_MS: i64 = 1_781_488_800_000;
const PARTITIONS: i32 = 6;
const STATE_TOPIC: &str = "dq.state";

fn mock_bus(
    checks: &dqmon::catalog::Checks,
) -> (
    MockCluster<'static, rdkafka::producer::DefaultProducerContext>,
    String,
) {
    service::mock_bus(checks, |_| PARTITIONS, &[(STATE_TOPIC, 3)])
}

/// One instance's configuration: the same group, store and state topic as
/// the others.
fn config(bootstrap: &str, dir: &std::path::Path) -> Config {
    let mut c = service::config(bootstrap, dir);
    c.kafka
        .consumer_properties
        .insert("session.timeout.ms".into(), "6000".into());
    c.processing = ProcessingConfig {
        workers: 2,
        state_topic: Some(STATE_TOPIC.into()),
        // The backlog's 55 days are read in seconds: a partition moved by
        // the rebalance is read again weeks of message time behind the
        // bus (at the bus's own pace the default day is ample).
        state_history_ms: 60 * 86_400_000,
        // Small buffers: partitions are paused and resumed over and over,
        // so the backlog lasts long enough for the third to join mid-run.
        max_buffered_bytes: 256 * 1024,
        ..ProcessingConfig::default()
    };
    c
}

/// Two instances start on a backlog published in the worst order
/// (authorities last) and scattered over partitions; a third joins while
/// they read. The shared store ends with eval's counts in every dimension,
/// dataset by dataset, and more than one instance judged records.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_instances_count_exactly_as_eval() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
    let checks = checks();
    let (_bus, bootstrap) = mock_bus(&checks);
    let dir = tempfile::tempdir().unwrap();
    let store_path = dir.path().join("dqmon.sqlite");
    let backlog = worst_order(traffic_every(20_000, 13, START_MS, 4 * 60_000));
    let n = backlog.len();
    publish_scattered(&producer(&bootstrap), &backlog, PARTITIONS, 5).await;

    let topics = checks.topics();
    let refs: Vec<&str> = topics.iter().map(String::as_str).collect();
    let everything = read_all(&bootstrap, &refs, n, Duration::from_secs(60));
    assert_eq!(everything.len(), n);
    let (tally, _) = eval(&checks, &everything);
    assert_stateful_outcomes(&checks, &tally);

    let c = config(&bootstrap, dir.path());
    let started = Instant::now();
    // Together, so both are in the group's first assignment or the one after.
    let (a, b) = tokio::join!(Service::start(&c), Service::start(&c));
    let mut services = vec![a.unwrap(), b.unwrap()];
    let deadline = Instant::now() + Duration::from_secs(180);
    let mut joined = false;
    loop {
        let stored = crash::stored_records(&store_path);
        if !joined && stored > 0 {
            // Mid-run: a rebalance moves partitions to the newcomer.
            services.push(Service::start(&c).await.unwrap());
            joined = true;
        }
        if stored >= n as u64 || Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(joined, "the third instance joined");
    let (mut judging, mut late) = (0, 0);
    for s in services {
        let text = scrape(&s).await;
        let judged = total(&text, "dq_records_total");
        late += total(&text, "dq_late_messages_total");
        eprintln!(
            "an instance judged {judged} records, {} late, after {:?}",
            total(&text, "dq_late_messages_total"),
            started.elapsed()
        );
        if judged > 0 {
            judging += 1;
        }
        s.stop().await.unwrap();
    }
    assert!(judging >= 2, "{judging} instances judged records");
    // Each record judged once every fact before it was in: none passed over,
    // none read again beyond the positioned memory.
    assert_eq!(late, 0, "no record judged late");
    let store = crash::open_store(&store_path);
    crash::assert_store_equal(&checks, &tally, &store);
}
