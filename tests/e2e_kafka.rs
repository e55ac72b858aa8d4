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

use common::crash::{self, signal, sigterm, start_dqmon};
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
    isolated_in(topic_configs, None)
}

/// [`isolated_with`], every topic with `partitions` partitions if given.
fn isolated_in(topic_configs: &[(&str, &str)], partitions: Option<i32>) -> Isolated {
    let prefix = format!("e2e{}", rand::random::<u32>());
    let dir = tempfile::tempdir().unwrap();
    let checks_dir = dir.path().join("checks");
    copy_dir(Path::new("checks"), &checks_dir, &prefix);
    let checks = Arc::new(dqmon::catalog::load(&checks_dir).unwrap());
    create_topics_with(&checks.topics(), topic_configs, partitions);
    Isolated {
        _dir: dir,
        checks_dir,
        prefix,
        checks,
    }
}

/// The bus's topics exist before anyone subscribes, as on a real exchange.
fn create_topics(topics: &[String], configs: &[(&str, &str)]) {
    create_topics_with(topics, configs, None)
}

/// [`create_topics`], each with `partitions` if given (else 1 to 6).
fn create_topics_with(topics: &[String], configs: &[(&str, &str)], partitions: Option<i32>) {
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
                NewTopic::new(
                    t,
                    partitions.unwrap_or(i as i32 % 6 + 1),
                    TopicReplication::Fixed(1),
                ),
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

/// Runs `f` on a thread of its own: PostgreSQL's blocking client starts a
/// runtime, which it may not inside the test's.
fn off_runtime<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    std::thread::spawn(f).join().expect("no panic")
}

/// A fresh database on the test server (`DQMON_TEST_POSTGRES_URL`, from
/// `scripts/postgres-local.sh start`): its URL.
fn fresh_database(name: &str) -> String {
    let name = name.to_owned();
    off_runtime(move || create_database(&name))
}

fn create_database(name: &str) -> String {
    let url = std::env::var("DQMON_TEST_POSTGRES_URL").expect(
        "DQMON_TEST_POSTGRES_URL: start a server with eval \"$(scripts/postgres-local.sh start)\"",
    );
    let mut admin = postgres::Client::connect(&url, postgres::NoTls).expect("the test server");
    admin
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .expect("creating the test database");
    let (base, _) = url.rsplit_once('/').expect("a URL with a database");
    format!("{base}/{name}")
}

/// Records counted in the PostgreSQL store so far.
fn pg_records(url: &str) -> u64 {
    let url = url.to_owned();
    off_runtime(move || stored_in(&url))
}

fn stored_in(url: &str) -> u64 {
    use dqmon::store::ScoreStore as _;
    let Ok(store) = dqmon::store::postgres::PostgresStore::open_read_only(url) else {
        return 0;
    };
    let from = chrono::NaiveDate::from_ymd_opt(2000, 1, 1).unwrap();
    let to = chrono::NaiveDate::from_ymd_opt(2100, 1, 1).unwrap();
    store
        .counts(from, to, None)
        .map(|c| c.iter().map(|d| d.counts.records).sum())
        .unwrap_or(0)
}

/// Waits, looking every `every`, until the PostgreSQL store has counted `n`
/// records; fails past `deadline`.
async fn stored_reach(url: &str, n: u64, deadline: Instant, every: Duration) {
    loop {
        let stored = pg_records(url);
        if stored >= n {
            return;
        }
        assert!(Instant::now() < deadline, "{n} counted in time: {stored}");
        tokio::time::sleep(every).await;
    }
}

/// One `dqmon run` of the group: its configuration file and process.
struct Instance {
    config_path: PathBuf,
    child: Child,
    port: u16,
}

/// Writes instance `i`'s configuration (the group's, its own HTTP port and
/// static member id) and starts it.
fn start_instance(iso: &Isolated, dir: &Path, url: &str, state_topic: &str, i: usize) -> Instance {
    let config_path = dir.join(format!("dqmon-{i}.toml"));
    let port = crash::free_port();
    let text = format!(
        "checks_dir = {checks:?}\n\
         [kafka]\nbootstrap_servers = {bootstrap:?}\ngroup_id = \"{prefix}-dqmon\"\n\
         violations_topic = \"{prefix}.dq.violations\"\ndeadletter_topic = \"{prefix}.dq.deadletter\"\n\
         statistics_interval_secs = 1\n\
         [http]\nlisten_address = \"127.0.0.1:{port}\"\n\
         [hashing]\nsecret = \"end-to-end secret, long enough\"\n\
         [processing]\nstate_topic = {state_topic:?}\nworkers = 1\n\
         state_history_ms = {history_ms}\n\
         [store]\nurl = {url:?}\ncheckpoint_interval_ms = 500\ncheckpoint_max_messages = 3000\n\
         [[api.tokens]]\nname = \"test-officer\"\nrole = \"officer\"\nsha256 = {sha:?}\n\
         [kafka.consumer_properties]\n\"group.instance.id\" = \"instance-{i}\"\n\
         \"session.timeout.ms\" = \"6000\"\n\"heartbeat.interval.ms\" = \"1000\"\n",
        checks = iso.checks_dir,
        bootstrap = bootstrap(),
        prefix = iso.prefix,
        sha = dqmon::web::api::token_sha256(crash::OFFICER),
        // The backlog's ten days are read in seconds: a partition taken over
        // is read again days of message time behind the bus. Production
        // reads at the bus's pace, where the default day is ample.
        history_ms = 11 * 86_400_000i64,
    );
    std::fs::write(&config_path, text).unwrap();
    let child = spawn_instance(&config_path);
    Instance {
        config_path,
        child,
        port,
    }
}

/// Whether the instance on `port` answers `/readyz` with 200 (state loaded,
/// partitions assigned).
fn ready(port: u16) -> bool {
    let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
    if write!(
        s,
        "GET /readyz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .is_err()
    {
        return false;
    }
    let mut text = String::new();
    let _ = s.read_to_string(&mut text);
    text.starts_with("HTTP/1.1 200")
}

/// `dqmon run` with its log appended to a file beside its configuration
/// (printed when the test fails: four instances' lines interleaved say little).
fn spawn_instance(config_path: &Path) -> Child {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(config_path.with_extension("log"))
        .unwrap();
    std::process::Command::new(env!("CARGO_BIN_EXE_dqmon"))
        .args(["run", "--config"])
        .arg(config_path)
        .env("DQMON_LOG", "info,librdkafka=warn")
        .env("NO_COLOR", "1")
        .stderr(log)
        .spawn()
        .unwrap()
}

/// Several instances, one PostgreSQL store: three `dqmon run` in one group
/// read 100 000 messages (topics of 6 partitions, published in the worst
/// order, authorities last, each message on a partition drawn at random so
/// an entity's records and a record id's repeats are on other partitions,
/// so on other instances, than their first), while five SIGKILLs land at
/// random moments (each instance restarted), a fourth instance joins
/// mid-run and one is paused (SIGSTOP) past its session timeout, then
/// continued: its checkpoint is refused (fenced) and it rejoins. The store
/// ends with exactly eval's counts, dataset by dataset, in every dimension,
/// consistency and uniqueness included.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a Kafka broker and PostgreSQL: scripts/kafka-local.sh start, scripts/postgres-local.sh start"]
async fn several_instances_on_postgres_count_exactly_as_eval() {
    let iso = isolated_in(KEEP_FOREVER, Some(6));
    let state_topic = format!("{}.dq.state", iso.prefix);
    create_topics_with(std::slice::from_ref(&state_topic), KEEP_FOREVER, Some(6));
    let url = fresh_database(&iso.prefix);
    let messages = worst_order(prefixed(&iso.prefix, backlog(MESSAGES, 17)));
    publish_scattered(&producer(&bootstrap()), &messages, 6, 3).await;
    let (tally, _) = eval(&iso.checks, &read_back(&iso, MESSAGES));
    assert_stateful_outcomes(&iso.checks, &tally);

    // Kept when the test fails: each instance's log is there.
    let dir = std::env::temp_dir().join(&iso.prefix);
    std::fs::create_dir_all(&dir).unwrap();
    eprintln!("instances' configurations and logs: {}", dir.display());
    let mut instances: Vec<Instance> = (0..3)
        .map(|i| start_instance(&iso, &dir, &url, &state_topic, i))
        .collect();
    let total = MESSAGES as u64;
    let deadline = Instant::now() + Duration::from_secs(900);
    let mut stored_at = Vec::new();
    let mut paused = false;
    // Eighths of the backlog: a kill at each of the first five, the fourth
    // instance at the second, the pause at the sixth (the others may finish
    // while it sleeps: what it judged meanwhile must count for nothing).
    for step in 1..=6u64 {
        stored_reach(&url, total * step / 8, deadline, Duration::from_millis(20)).await;
        tokio::time::sleep(Duration::from_millis(rand::random::<u64>() % 200)).await;
        let victim = rand::random::<u64>() as usize % instances.len();
        if step == 6 {
            // Past the session timeout (6 s): the group gives its partitions away.
            signal(&instances[victim].child, "STOP");
            tokio::time::sleep(Duration::from_secs(10)).await;
            signal(&instances[victim].child, "CONT");
            paused = true;
        } else {
            let i = &mut instances[victim];
            i.child.kill().unwrap(); // SIGKILL: no drain, no checkpoint, no commit.
            i.child.wait().unwrap();
            i.child = spawn_instance(&i.config_path);
        }
        stored_at.push(pg_records(&url));
        if step == 2 {
            instances.push(start_instance(&iso, &dir, &url, &state_topic, 3));
        }
    }
    assert!(paused);
    assert!(
        stored_at[4] < total,
        "the last kill landed before the end: {stored_at:?}"
    );
    stored_reach(&url, total, deadline, Duration::from_millis(200)).await;
    eprintln!("records in the store after each step: {stored_at:?}");
    // The paused one was fenced and rejoined: every instance is serving
    // partitions again (none exited).
    while !instances.iter().all(|i| ready(i.port)) {
        for i in &mut instances {
            assert!(i.child.try_wait().unwrap().is_none(), "no instance exited");
        }
        assert!(Instant::now() < deadline, "every instance ready again");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    for i in &mut instances {
        sigterm(&i.child);
    }
    for (n, i) in instances.iter_mut().enumerate() {
        let stop_by = Instant::now() + Duration::from_secs(60);
        while i.child.try_wait().unwrap().is_none() && Instant::now() < stop_by {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let exit = match i.child.try_wait().unwrap() {
            Some(exit) => exit,
            None => {
                let _ = i.child.kill();
                i.child.wait().unwrap()
            }
        };
        if !exit.success() {
            let log = std::fs::read_to_string(i.config_path.with_extension("log"));
            panic!(
                "instance {n} did not stop cleanly: {exit}\n{}",
                log.unwrap_or_default()
            );
        }
    }
    let checks = iso.checks.clone();
    off_runtime(move || {
        let store = dqmon::store::postgres::PostgresStore::open_read_only(&url).unwrap();
        crash::assert_store_equal(&checks, &tally, &store);
    });
    std::fs::remove_dir_all(&dir).unwrap();
}
