//! End-to-end against a real Apache Kafka broker (`scripts/kafka-local.sh
//! start`), read from `KAFKA_BOOTSTRAP_SERVERS`. Ignored by default because
//! they need the broker; `scripts/e2e.sh` (and CI) runs them with `--ignored`.
//! Every run uses fresh topic and group names.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Child;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::crash::{self, sigterm, start_dqmon};
use common::*;
use dqmon::catalog::Checks;
use dqmon::service::Service;
use dqmon::service::config::{
    Config, HashingConfig, HttpConfig, KafkaConfig, ProcessingConfig, StoreConfig,
};
use dqmon::sim::SimMessage;
use rdkafka::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::topic_partition_list::{Offset, TopicPartitionList};

const MESSAGES: usize = 100_000;
/// Message times start an hour ago: a broker applies retention and timestamp
/// limits to message time, so the traffic must look current.
fn start_ms() -> i64 {
    chrono::Utc::now().timestamp_millis() - 3_600_000
}

/// A backlog of ten days of message time (more than the uniqueness window),
/// ending about now; its topics keep messages forever (`retention.ms` -1).
fn backlog(count: usize, seed: u64) -> Vec<SimMessage> {
    let span_ms = 10 * 86_400_000;
    let step_ms = span_ms / count as i64;
    let start = chrono::Utc::now().timestamp_millis() - span_ms - 60_000;
    traffic_every(count, seed, start, step_ms)
}

/// Topic configurations for backlogs older than the broker's default retention.
const KEEP_FOREVER: &[(&str, &str)] = &[("retention.ms", "-1")];

fn bootstrap() -> String {
    std::env::var("KAFKA_BOOTSTRAP_SERVERS")
        .expect("KAFKA_BOOTSTRAP_SERVERS: start a broker with scripts/kafka-local.sh start")
}

/// A copy of `checks/` whose topics carry a fresh prefix, so runs never share topics.
struct Isolated {
    _dir: tempfile::TempDir,
    checks_dir: PathBuf,
    prefix: String,
    checks: Arc<Checks>,
}

fn isolated() -> Isolated {
    isolated_with(&[])
}

/// [`isolated`], its topics created with these topic configs; each topic has
/// its own number of partitions (1 to 6).
fn isolated_with(topic_configs: &[(&str, &str)]) -> Isolated {
    let prefix = format!("e2e{}", rand::random::<u32>());
    let dir = tempfile::tempdir().unwrap();
    let checks_dir = dir.path().join("checks");
    copy_dir(Path::new("checks"), &checks_dir, &prefix);
    let checks = Arc::new(dqmon::catalog::load(&checks_dir).unwrap());
    create_topics(&checks.topics(), topic_configs);
    Isolated {
        _dir: dir,
        checks_dir,
        prefix,
        checks,
    }
}

/// The bus's topics exist before anyone subscribes, as on a real exchange.
fn create_topics(topics: &[String], configs: &[(&str, &str)]) {
    use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
    let admin: AdminClient<_> = ClientConfig::new()
        .set("bootstrap.servers", bootstrap())
        .create()
        .unwrap();
    let new: Vec<NewTopic> = topics
        .iter()
        .enumerate()
        .map(|(i, t)| {
            configs.iter().fold(
                NewTopic::new(t, i as i32 % 6 + 1, TopicReplication::Fixed(1)),
                |n, (k, v)| n.set(k, v),
            )
        })
        .collect();
    let results =
        futures::executor::block_on(admin.create_topics(&new, &AdminOptions::new())).unwrap();
    for r in results {
        r.map_err(|(t, e)| format!("{t}: {e}")).unwrap();
    }
}

fn prefixed(prefix: &str, messages: Vec<SimMessage>) -> Vec<SimMessage> {
    messages
        .into_iter()
        .map(|mut m| {
            m.topic = format!("{prefix}.{}", m.topic);
            m
        })
        .collect()
}

fn config(iso: &Isolated, port: u16, store_dir: &Path) -> Config {
    Config {
        checks_dir: iso.checks_dir.clone(),
        kafka: KafkaConfig {
            bootstrap_servers: bootstrap(),
            group_id: format!("{}-dqmon", iso.prefix),
            violations_topic: format!("{}.dq.violations", iso.prefix),
            deadletter_topic: format!("{}.dq.deadletter", iso.prefix),
            properties: Default::default(),
            consumer_properties: Default::default(),
            producer_properties: Default::default(),
            statistics_interval_secs: 1,
        },
        http: HttpConfig {
            listen_address: format!("127.0.0.1:{port}").parse().unwrap(),
            ..HttpConfig::default()
        },
        hashing: HashingConfig {
            secret: Some("end-to-end secret, long enough".into()),
            secret_file: None,
        },
        processing: ProcessingConfig::default(),
        store: StoreConfig {
            path: Some(store_dir.join("dqmon.sqlite")),
            ..StoreConfig::default()
        },
        api: crash::officer_api(),
    }
}

/// The isolated run's configuration, also written for `dqmon run` into `dir`.
fn run_config(
    iso: &Isolated,
    dir: &Path,
    consumer_properties: &[(&str, &str)],
) -> (Config, crash::Setup) {
    let c = config(iso, 0, dir);
    let setup = crash::write_config(
        dir,
        &c.checks_dir,
        &c.kafka.bootstrap_servers,
        &c.kafka.group_id,
        &c.kafka.violations_topic,
        &c.kafka.deadletter_topic,
        consumer_properties,
    );
    (c, setup)
}

fn topic_names(iso: &Isolated) -> Vec<String> {
    iso.checks.topics()
}

/// Every message of the run's topics, read back with its offset.
fn read_back(iso: &Isolated, n: usize) -> Vec<ReadBack> {
    let topics = topic_names(iso);
    let refs: Vec<&str> = topics.iter().map(String::as_str).collect();
    let all = read_all(&bootstrap(), &refs, n, Duration::from_secs(120));
    assert_eq!(all.len(), n, "every published message reads back");
    all
}

/// 100 000 messages, ten days of history, already on the bus in the worst
/// order (the authorities' topics published last), each topic with its own
/// number of partitions: the service's metrics, store, violation events and
/// dead letters equal eval's on the same messages, in every dimension.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a Kafka broker: scripts/kafka-local.sh start, then KAFKA_BOOTSTRAP_SERVERS"]
async fn hundred_thousand_messages_count_exactly_as_eval() {
    let iso = isolated_with(KEEP_FOREVER);
    let messages = worst_order(prefixed(&iso.prefix, backlog(MESSAGES, 11)));
    publish(&producer(&bootstrap()), &messages).await;
    let (tally, expected) = eval(&iso.checks, &read_back(&iso, MESSAGES));
    assert_stateful_outcomes(&iso.checks, &tally);
    let malformed = tally.malformed();

    let store_dir = tempfile::tempdir().unwrap();
    let service = Service::start(&config(&iso, 0, store_dir.path()))
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(600);
    loop {
        let text = service.metrics.encode();
        if total(&text, "dq_records_total") == MESSAGES as u64
            && total(&text, "dq_violations_published_total") == expected.len() as u64
            && total(&text, "dq_deadletter_messages_total") == malformed
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "all messages handled in time: records {} of {MESSAGES}, violations {} of {}, dead letters {} of {malformed}",
            total(&text, "dq_records_total"),
            total(&text, "dq_violations_published_total"),
            expected.len(),
            total(&text, "dq_deadletter_messages_total"),
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let text = service.metrics.encode();
    assert_metrics_equal(&iso.checks, &tally, &text);
    assert_eq!(total(&text, "dq_late_messages_total"), 0);
    service.stop().await.unwrap();
    // The uninterrupted run's store: exactly eval's counts (the crash test
    // below compares a killed-and-restarted run with the same eval).
    let store = crash::open_store(&store_dir.path().join("dqmon.sqlite"));
    crash::assert_store_equal(&iso.checks, &tally, &store);

    let events = read_all(
        &bootstrap(),
        &[&format!("{}.dq.violations", iso.prefix)],
        usize::MAX,
        Duration::from_secs(15),
    );
    assert_eq!(
        events.len(),
        expected.len(),
        "no violation lost or duplicated"
    );
    let got: BTreeSet<ViolationId> = events.iter().map(|e| violation_id(&event(e))).collect();
    let want: BTreeSet<_> = expected.iter().map(violation_id).collect();
    assert_eq!(got, want, "eval's violations, every dimension");
    let letters = read_all(
        &bootstrap(),
        &[&format!("{}.dq.deadletter", iso.prefix)],
        // Reads until nothing more comes (so a duplicate letter shows): long
        // enough for a busy machine, which once lost the last one at 10 s.
        usize::MAX,
        Duration::from_secs(30),
    );
    assert_eq!(letters.len() as u64, malformed);
}

/// The crash test of the score store: a backlog of 100 000 messages (ten
/// days, the authorities' topics published last) read by `dqmon run` while it
/// is killed with SIGKILL six times at random moments (each while it is
/// counting) and restarted; the store's final counts equal an uninterrupted
/// run's (eval over the same messages, which the first test shows equals
/// dqmon's uninterrupted store), dataset by dataset, dimension by dimension,
/// check by check, department by department.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a Kafka broker: scripts/kafka-local.sh start, then KAFKA_BOOTSTRAP_SERVERS"]
async fn killed_six_times_counts_exactly_as_an_uninterrupted_run() {
    let iso = isolated_with(KEEP_FOREVER);
    let messages = worst_order(prefixed(&iso.prefix, backlog(MESSAGES, 13)));
    let dir = tempfile::tempdir().unwrap();
    // A restarted instance takes its partitions back at once (static
    // membership) instead of waiting for the killed one's session to expire.
    let (c, setup) = run_config(
        &iso,
        dir.path(),
        &[
            ("group.instance.id", "dqmon-crash-test"),
            ("session.timeout.ms", "10000"),
        ],
    );
    let report = crash::crash_run(
        &setup,
        &producer(&bootstrap()),
        &messages,
        6,
        Duration::from_millis(60),
        Duration::from_secs(900),
    )
    .await;
    assert_eq!(report.kills, 6);
    eprintln!(
        "records in the store at each kill: {:?}",
        report.stored_at_kills
    );

    let (tally, expected) = eval(&iso.checks, &read_back(&iso, MESSAGES));
    assert_stateful_outcomes(&iso.checks, &tally);
    let store = crash::open_store(&setup.store_path);
    crash::assert_store_equal(&iso.checks, &tally, &store);

    // At-least-once outputs: no violation lost (a kill may repeat some).
    let events = read_all(
        &bootstrap(),
        &[&c.kafka.violations_topic],
        usize::MAX,
        Duration::from_secs(15),
    );
    let got: BTreeSet<ViolationId> = events.iter().map(|e| violation_id(&event(e))).collect();
    let want: BTreeSet<_> = expected.iter().map(violation_id).collect();
    assert_eq!(got, want, "every violation published, none invented");
}

fn scrape(port: u16) -> Option<String> {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        s,
        "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut text = String::new();
    s.read_to_string(&mut text).ok()?;
    text.split_once("\r\n\r\n").map(|(_, b)| b.to_string())
}

/// Waits for exit within `limit`; the exit status.
fn wait_exit(child: &mut Child, limit: Duration) -> std::process::ExitStatus {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("dqmon did not stop within {limit:?} of SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a Kafka broker: scripts/kafka-local.sh start, then KAFKA_BOOTSTRAP_SERVERS"]
async fn sigterm_halfway_and_restart_skips_no_message() {
    let iso = isolated();
    let all = worst_order(prefixed(&iso.prefix, traffic(MESSAGES, 12, start_ms())));
    publish(&producer(&bootstrap()), &all).await;
    let (tally, expected) = eval(&iso.checks, &read_back(&iso, MESSAGES));

    let dir = tempfile::tempdir().unwrap();
    let (c, setup) = run_config(&iso, dir.path(), &[]);
    let (config_path, port) = (setup.config_path.clone(), setup.http_port);

    // First run: stopped by SIGTERM when about half is done.
    let mut first = start_dqmon(&config_path);
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        let done = scrape(port)
            .map(|t| total(&t, "dq_records_total"))
            .unwrap_or(0);
        if done >= (MESSAGES / 2) as u64 {
            break;
        }
        assert!(Instant::now() < deadline, "first run makes progress");
        std::thread::sleep(Duration::from_millis(100));
    }
    sigterm(&first);
    let status = wait_exit(&mut first, Duration::from_secs(10));
    assert!(status.success(), "graceful shutdown exits 0, got {status}");

    // Second run: picks up at the committed offsets and finishes.
    let mut second = start_dqmon(&config_path);
    let (tpl, ends) = partitions_and_ends(&iso);
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        if committed(&c.kafka.group_id, &tpl) == ends {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "second run commits every partition's end"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    sigterm(&second);
    assert!(wait_exit(&mut second, Duration::from_secs(10)).success());

    // Nothing skipped, nothing handled twice.
    let events = read_all(
        &bootstrap(),
        &[&c.kafka.violations_topic],
        usize::MAX,
        Duration::from_secs(15),
    );
    let mut seen: BTreeMap<ViolationId, u32> = BTreeMap::new();
    let mut got = BTreeSet::new();
    for e in &events {
        let id = violation_id(&event(e));
        *seen.entry(id.clone()).or_default() += 1;
        got.insert(id);
    }
    assert!(
        seen.values().all(|&n| n == 1),
        "a message was handled twice"
    );
    let want: BTreeSet<_> = expected.iter().map(violation_id).collect();
    assert!(want.len() > 1000);
    assert_eq!(
        got, want,
        "every message's violations are eval's, every dimension"
    );
    let letters = read_all(
        &bootstrap(),
        &[&c.kafka.deadletter_topic],
        usize::MAX,
        Duration::from_secs(10),
    );
    assert_eq!(letters.len() as u64, tally.malformed());
}

fn partitions_and_ends(iso: &Isolated) -> (TopicPartitionList, BTreeMap<(String, i32), i64>) {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap())
        .create()
        .unwrap();
    let mut tpl = TopicPartitionList::new();
    let mut ends = BTreeMap::new();
    for topic in topic_names(iso) {
        let md = consumer
            .fetch_metadata(Some(&topic), Duration::from_secs(10))
            .unwrap();
        for p in md.topics()[0].partitions() {
            let (_, high) = consumer
                .fetch_watermarks(&topic, p.id(), Duration::from_secs(10))
                .unwrap();
            tpl.add_partition(&topic, p.id());
            ends.insert((topic.clone(), p.id()), high);
        }
    }
    (tpl, ends)
}

fn committed(group: &str, tpl: &TopicPartitionList) -> BTreeMap<(String, i32), i64> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap())
        .set("group.id", group)
        .create()
        .unwrap();
    let c = consumer
        .committed_offsets(tpl.clone(), Duration::from_secs(10))
        .unwrap();
    c.elements()
        .iter()
        .map(|e| {
            let o = match e.offset() {
                Offset::Offset(o) => o,
                _ => -1,
            };
            ((e.topic().to_string(), e.partition()), o)
        })
        .collect()
}

/// A 2 MB malformed message on a topic that takes it, while the dead-letter
/// topic keeps the broker's 1 MB limit and dqmon's producer is allowed 3 MB:
/// the broker refuses the dead letter, dqmon sends it again truncated (with
/// headers saying so), and nothing else is held up.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a Kafka broker: scripts/kafka-local.sh start, then KAFKA_BOOTSTRAP_SERVERS"]
async fn a_dead_letter_over_the_brokers_limit_is_truncated_and_blocks_nothing() {
    let iso = isolated_with(&[("max.message.bytes", "3000000")]);
    let deadletters = format!("{}.dq.deadletter", iso.prefix);
    create_topics(std::slice::from_ref(&deadletters), &[]);
    let store_dir = tempfile::tempdir().unwrap();
    let mut c = config(&iso, 0, store_dir.path());
    c.kafka
        .producer_properties
        .insert("message.max.bytes".into(), "3000000".into());
    let service = Service::start(&c).await.unwrap();

    let mut messages = prefixed(&iso.prefix, traffic(300, 21, start_ms()));
    let oversized = SimMessage {
        topic: iso.checks.topics()[0].clone(),
        key: None,
        timestamp_ms: start_ms(),
        payload: vec![b'x'; 2_000_000],
    };
    messages.insert(messages.len() / 2, oversized);
    let big: rdkafka::producer::FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap())
        .set("message.max.bytes", "3000000")
        .create()
        .unwrap();
    publish(&big, &messages).await;

    let deadline = Instant::now() + Duration::from_secs(120);
    let text = loop {
        let text = service.metrics.encode();
        let handled = total(&text, "dq_records_total") == messages.len() as u64;
        let dead = total(&text, "dq_deadletter_messages_total");
        if handled && dead == total(&text, "dq_malformed_messages_total") {
            break text;
        }
        assert!(Instant::now() < deadline, "every message handled");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert!(
        metric(&text, "dq_output_errors_total", &[("output", "deadletter")]) >= 1.0,
        "the broker's refusal is counted"
    );
    let dead = total(&text, "dq_deadletter_messages_total") as usize;
    let letters = read_all(&bootstrap(), &[&deadletters], dead, Duration::from_secs(60));
    let truncated: Vec<_> = letters
        .iter()
        .filter(|l| l.headers.get("dq.truncated").map(String::as_str) == Some("true"))
        .collect();
    assert_eq!(truncated.len(), 1, "only the oversized one is cut");
    assert_eq!(truncated[0].headers["dq.original.size"], "2000000");
    let len = truncated[0].payload.as_ref().map_or(0, Vec::len);
    assert!(
        len > 0 && len < 1_048_576,
        "{len} bytes fit the broker's limit"
    );

    let stopping = Instant::now();
    service.stop().await.unwrap();
    let limit = Duration::from_secs(c.processing.shutdown_timeout_secs + 5);
    assert!(stopping.elapsed() < limit, "{:?}", stopping.elapsed());
}
