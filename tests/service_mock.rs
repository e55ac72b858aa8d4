//! The service against librdkafka's mock cluster, in-process: messages in;
//! metrics, violations and dead letters out, with exactly the counts that
//! `dqmon eval` gives for the same messages read back from the topics.

mod common;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use common::service::{config, http_get, scrape};
use common::*;
use dqmon::service::Service;
use dqmon::service::config::Config;
use dqmon::sim::SimMessage;
use dqmon::store::CheckpointStore as _;
use rdkafka::mocking::MockCluster;

/// 2026-06-15T10:00:00+08:00
const START_MS: i64 = 1_781_488_800_000;

/// A mock cluster with the exchange's topics, each with a different number of
/// partitions (1 to 6), and the outputs.
fn mock_bus(
    checks: &dqmon::catalog::Checks,
) -> (
    MockCluster<'static, rdkafka::producer::DefaultProducerContext>,
    String,
) {
    common::service::mock_bus(checks, |i| i as i32 % 6 + 1, &[])
}

/// Waits until the monitor has handled `n` records and published every output.
async fn wait_for(service: &Service, n: u64, violations: u64, deadletters: u64) -> String {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let text = scrape(service).await;
        let done = total(&text, "dq_records_total") == n
            && total(&text, "dq_violations_published_total") == violations
            && total(&text, "dq_deadletter_messages_total") == deadletters;
        if done || Instant::now() > deadline {
            return text;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Waits up to a minute until the service has judged `n` records (`what`
/// says which, if it never does); the metrics then.
async fn records_judged(service: &Service, n: usize, what: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let text = scrape(service).await;
        if total(&text, "dq_records_total") >= n as u64 {
            return text;
        }
        assert!(Instant::now() < deadline, "{what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Eleven days of message time: more than the uniqueness window.
const BACKLOG_STEP_MS: i64 = 4 * 60_000;

/// A bus that already holds eleven days of history, published in the worst
/// order (the authorities' topics last, so fetched last), each topic with its
/// own number of partitions: the service's counts, violations, dead letters
/// and store equal eval's on the same messages, in every dimension.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backlog_in_the_worst_order_counts_exactly_as_eval() {
    let text = backlog_in_the_worst_order(|_| {}).await;
    assert_eq!(
        total(&text, "dq_order_pauses_total"),
        0,
        "the default budget holds it all"
    );
}

/// The same with buffers of 64 kB for all partitions together: partitions
/// that run ahead are paused and resumed over and over (librdkafka drops
/// what it prefetched for them and fetches it again), and still nothing is
/// lost, repeated or judged out of order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backlog_through_small_buffers_counts_exactly_as_eval() {
    let text = backlog_in_the_worst_order(|c| c.processing.max_buffered_bytes = 64 * 1024).await;
    assert!(
        total(&text, "dq_order_pauses_total") > 10,
        "partitions were paused"
    );
}

/// Publishes the backlog, runs the service (`tune`d) over it, compares
/// everything with eval; the service's last metrics.
async fn backlog_in_the_worst_order(tune: impl FnOnce(&mut Config)) -> String {
    let checks = checks();
    let dir = tempfile::tempdir().unwrap();
    // The cluster lives as long as the binding.
    let (_bus, bootstrap) = mock_bus(&checks);
    let producer = producer(&bootstrap);
    let backlog = worst_order(traffic_every(4_000, 7, START_MS, BACKLOG_STEP_MS));
    let n = backlog.len();
    publish(&producer, &backlog).await;
    let topics: Vec<String> = checks.topics();
    let topic_refs: Vec<&str> = topics.iter().map(String::as_str).collect();

    // What eval says about the same messages, read back with their real
    // offsets (eval puts them in the bus's order itself).
    let ordered = read_all(&bootstrap, &topic_refs, n, Duration::from_secs(60));
    assert_eq!(ordered.len(), n);
    let (tally, expected_violations) = eval(&checks, &ordered);
    let malformed: u64 = tally.datasets.iter().map(|d| d.malformed).sum();
    assert!(malformed > 0, "the traffic has malformed messages");
    assert!(
        expected_violations.len() > 100,
        "the traffic has violations"
    );
    assert_stateful_outcomes(&checks, &tally);

    let mut c = config(&bootstrap, dir.path());
    tune(&mut c);
    let service = Service::start(&c).await.unwrap();
    let text = wait_for(
        &service,
        ordered.len() as u64,
        expected_violations.len() as u64,
        malformed,
    )
    .await;
    assert_metrics_equal(&checks, &tally, &text);
    assert_eq!(
        total(&text, "dq_late_messages_total"),
        0,
        "nothing late in a backlog"
    );
    assert_eq!(
        total(&text, "dq_violations_published_total"),
        expected_violations.len() as u64
    );
    assert_eq!(total(&text, "dq_deadletter_messages_total"), malformed);
    service.stop().await.unwrap();

    // The score store holds the same counts, and every partition's end.
    let store = crash::open_store(&dir.path().join("dqmon.sqlite"));
    crash::assert_store_equal(&checks, &tally, &store);
    assert_findings_equal(&checks, &ordered, &store);
    let mut ends = std::collections::BTreeMap::new();
    for m in &ordered {
        let end = ends.entry((m.topic.clone(), m.partition)).or_insert(0);
        *end = (*end).max(m.offset + 1);
    }
    let stored: std::collections::BTreeMap<(String, i32), i64> = store
        .offsets()
        .unwrap()
        .into_iter()
        .map(|p| ((p.topic, p.partition), p.offset))
        .collect();
    assert_eq!(
        stored, ends,
        "the store resumes every partition after its last message"
    );

    // The violation events on the topic are exactly eval's, keyed by department.
    let events = read_all(
        &bootstrap,
        &["dq.violations"],
        usize::MAX,
        Duration::from_secs(5),
    );
    let got: BTreeSet<ViolationId> = events
        .iter()
        .map(|e| {
            let v = event(e);
            assert_eq!(e.key.as_deref(), Some(v.department.as_bytes()));
            violation_id(&v)
        })
        .collect();
    let want: BTreeSet<ViolationId> = expected_violations.iter().map(violation_id).collect();
    assert_eq!(events.len(), expected_violations.len());
    assert_eq!(got, want);

    // Dead letters: the original bytes, with where they came from and why.
    let letters = read_all(
        &bootstrap,
        &["dq.deadletter"],
        malformed as usize,
        Duration::from_secs(60),
    );
    assert_eq!(letters.len() as u64, malformed);
    for l in &letters {
        let topic = &l.headers["dq.source.topic"];
        let partition: i32 = l.headers["dq.source.partition"].parse().unwrap();
        let offset: i64 = l.headers["dq.source.offset"].parse().unwrap();
        let original = ordered
            .iter()
            .find(|m| &m.topic == topic && m.partition == partition && m.offset == offset)
            .expect("the source message exists");
        assert_eq!(original.payload, l.payload);
        assert!(!l.headers["dq.reason"].is_empty());
    }
    text
}

/// The store's findings are exactly eval's: each opening, and its fix.
fn assert_findings_equal(
    checks: &std::sync::Arc<dqmon::catalog::Checks>,
    messages: &[ReadBack],
    store: &dyn dqmon::store::FindingStore,
) {
    let want = eval_findings(checks, messages);
    let fixed = want.iter().filter(|f| f.4.is_some()).count();
    assert!(fixed > 10, "the traffic fixes findings: {fixed}");
    assert!(want.len() > fixed, "and leaves some open");
    let got = stored_findings(store);
    assert_eq!(got.len(), want.len());
    assert_eq!(got, want);
}

/// Readiness as an operator sees it: `/readyz`, and `dq_ready`, which must
/// agree (read between two equal `/readyz` answers, so a change of state in
/// between is read again rather than taken for a disagreement).
async fn ready(service: &Service) -> bool {
    loop {
        let before = http_get(service, "/readyz").await.0 == 200;
        let metric = metric(&scrape(service).await, "dq_ready", &[]);
        let after = http_get(service, "/readyz").await.0 == 200;
        if before == after {
            assert_eq!(
                metric,
                f64::from(u8::from(before)),
                "dq_ready follows /readyz"
            );
            return before;
        }
    }
}

async fn wait_until(service: &Service, want: bool, limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if ready(service).await == want {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

/// A broker that goes away is waited for: readiness turns false, nothing
/// crashes, and the service is ready and consuming again when it is back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broker_that_disappears_is_waited_for() {
    let checks = checks();
    let (bus, bootstrap) = mock_bus(&checks);
    let dir = tempfile::tempdir().unwrap();
    let service = Service::start(&config(&bootstrap, dir.path()))
        .await
        .unwrap();
    assert!(
        wait_until(&service, true, Duration::from_secs(30)).await,
        "ready with a broker"
    );

    bus.broker_down(1).unwrap();
    assert!(
        wait_until(&service, false, Duration::from_secs(30)).await,
        "not ready without a broker"
    );
    tokio::time::sleep(Duration::from_secs(2)).await;

    bus.broker_up(1).unwrap();
    assert!(
        wait_until(&service, true, Duration::from_secs(60)).await,
        "ready again when the broker is back"
    );
    let messages = traffic(300, 3, START_MS);
    let n = messages.len();
    publish(&producer(&bootstrap), &messages).await;
    records_judged(&service, n, "consuming again after the outage").await;
    service.stop().await.unwrap();
}

/// `dqmon run` killed with SIGKILL three times while it reads a backlog
/// published in the worst order (the real-broker suite does the same with
/// 100 000 messages), restarted each time: the store ends with exactly eval's
/// counts, dataset by dataset, in every dimension.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_three_times_counts_exactly_as_eval() {
    let checks = checks();
    let (_bus, bootstrap) = mock_bus(&checks);
    let dir = tempfile::tempdir().unwrap();
    let setup = crash::write_config(
        dir.path(),
        std::path::Path::new("checks"),
        &bootstrap,
        "dqmon-crash",
        "dq.violations",
        "dq.deadletter",
        &[
            ("group.instance.id", "dqmon-crash-test"),
            ("session.timeout.ms", "6000"),
        ],
    );
    let backlog = worst_order(traffic_every(20_000, 21, START_MS, 60_000));
    let n = backlog.len();
    let report = crash::crash_run(
        &setup,
        &producer(&bootstrap),
        &backlog,
        3,
        // Short: with every core evaluating, the last quarter of the backlog
        // is counted within a few hundred milliseconds.
        Duration::from_millis(50),
        Duration::from_secs(300),
    )
    .await;
    assert_eq!(report.kills, 3);

    let topics = checks.topics();
    let refs: Vec<&str> = topics.iter().map(String::as_str).collect();
    let everything = read_all(&bootstrap, &refs, n, Duration::from_secs(60));
    assert_eq!(everything.len(), n);
    let (tally, _) = eval(&checks, &everything);
    assert_stateful_outcomes(&checks, &tally);
    let store = crash::open_store(&setup.store_path);
    crash::assert_store_equal(&checks, &tally, &store);
    // Findings too: restored at each restart, none opened or fixed twice.
    assert_findings_equal(&checks, &everything, &store);
    eprintln!(
        "records in the store at each kill: {:?}",
        report.stored_at_kills
    );
}

/// A dead letter larger than the producer takes (`message.max.bytes`) is
/// written truncated, with headers saying so and giving its original size,
/// and holds up nothing: every message is counted and every other output
/// published, and the service still stops within its shutdown timeout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_dead_letter_is_truncated_and_blocks_nothing() {
    let checks = checks();
    let (_bus, bootstrap) = mock_bus(&checks);
    let dir = tempfile::tempdir().unwrap();
    let mut config = config(&bootstrap, dir.path());
    config
        .kafka
        .producer_properties
        .insert("message.max.bytes".into(), "20000".into());
    let service = Service::start(&config).await.unwrap();

    // 200 000 bytes that are not JSON, between two halves of ordinary traffic.
    let mut messages: Vec<SimMessage> = traffic(200, 5, START_MS);
    let oversized = SimMessage {
        topic: checks.topics()[0].clone(),
        key: None,
        timestamp_ms: START_MS,
        payload: vec![b'x'; 200_000],
    };
    messages.insert(messages.len() / 2, oversized);
    publish(&producer(&bootstrap), &messages).await;

    let deadline = Instant::now() + Duration::from_secs(60);
    let text = loop {
        let text = scrape(&service).await;
        let handled = total(&text, "dq_records_total") == messages.len() as u64;
        let dead = total(&text, "dq_deadletter_messages_total");
        if handled && dead == total(&text, "dq_malformed_messages_total") {
            break text;
        }
        assert!(Instant::now() < deadline, "every message handled:\n{text}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let dead = total(&text, "dq_deadletter_messages_total") as usize;
    let letters = read_all(
        &bootstrap,
        &["dq.deadletter"],
        dead,
        Duration::from_secs(30),
    );
    assert_eq!(letters.len(), dead);
    let truncated: Vec<_> = letters
        .iter()
        .filter(|l| l.headers.get("dq.truncated").map(String::as_str) == Some("true"))
        .collect();
    assert_eq!(truncated.len(), 1, "only the oversized one is cut");
    let letter = truncated[0];
    assert_eq!(letter.headers["dq.original.size"], "200000");
    let len = letter.payload.as_ref().map_or(0, Vec::len);
    assert!(len > 0 && len <= 20_000, "{len} bytes");
    assert!(letter.payload.as_ref().unwrap().iter().all(|&b| b == b'x'));
    assert!(
        letters
            .iter()
            .filter(|l| !l.headers.contains_key("dq.truncated"))
            .all(|l| l.payload.as_ref().is_some_and(|p| p.len() < 20_000)),
        "the others are whole"
    );

    let stopping = Instant::now();
    service.stop().await.unwrap();
    let limit = Duration::from_secs(config.processing.shutdown_timeout_secs + 5);
    assert!(stopping.elapsed() < limit, "{:?}", stopping.elapsed());
}

/// A message that arrives after later-timestamped records were judged (a
/// backfill published after the fact) is late: judged on arrival, counted in
/// `dq_late_messages_total`, and its violation events say so, on the topic
/// and in the store.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_older_than_what_was_judged_is_late_and_says_so() {
    let checks = checks();
    let (_bus, bootstrap) = mock_bus(&checks);
    let dir = tempfile::tempdir().unwrap();
    let service = Service::start(&config(&bootstrap, dir.path()))
        .await
        .unwrap();
    let producer = producer(&bootstrap);
    let first = traffic(200, 9, START_MS);
    publish(&producer, &first).await;
    let text = records_judged(&service, first.len(), "the first messages are judged").await;
    assert_eq!(total(&text, "dq_late_messages_total"), 0);

    // A day before everything judged so far, and not JSON: one violation.
    let backfill = SimMessage {
        topic: checks.topics()[0].clone(),
        key: None,
        timestamp_ms: START_MS - 86_400_000,
        payload: b"not json".to_vec(),
    };
    publish(&producer, std::slice::from_ref(&backfill)).await;
    let text = records_judged(&service, first.len() + 1, "the backfill is judged").await;
    assert_eq!(total(&text, "dq_records_total"), first.len() as u64 + 1);
    let ds = checks
        .datasets
        .iter()
        .find(|d| checks.topics()[0].ends_with(&format!("{}.{}", d.department, d.name)))
        .unwrap();
    assert_eq!(
        metric(
            &text,
            "dq_late_messages_total",
            &[("department", &ds.department), ("dataset", &ds.name)]
        ),
        1.0
    );
    assert_eq!(total(&text, "dq_late_messages_total"), 1);
    service.stop().await.unwrap();

    let events = read_all(
        &bootstrap,
        &["dq.violations"],
        usize::MAX,
        Duration::from_secs(5),
    );
    let events: Vec<dqmon::model::Violation> = events.iter().map(event).collect();
    let late: Vec<_> = events.iter().filter(|v| v.late).collect();
    assert_eq!(late.len(), 1, "only the backfill's violation is late");
    assert_eq!(late[0].timestamp, backfill.timestamp_ms);
    assert_eq!(late[0].check, "message.parse");
    assert!(events.len() > 1, "the others are there, not late");
    let store = crash::open_store(&dir.path().join("dqmon.sqlite"));
    use dqmon::store::ScoreStore as _;
    let kept = store.recent_violations(Some(&ds.department), 1).unwrap();
    assert!(kept[0].late, "the store keeps the flag");
}

/// A fatal error of the idempotent producer (the broker answers a produce
/// request out of sequence: librdkafka can no longer promise once-only
/// delivery) stops the service on its own with an error naming the producer,
/// and counts nothing it could not publish: a restart reads it all again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fatal_producer_error_stops_the_service_and_counts_nothing_unpublished() {
    use rdkafka::types::{RDKafkaApiKey, RDKafkaRespErr};
    let checks = checks();
    let (bus, bootstrap) = mock_bus(&checks);
    let messages = traffic(300, 4, START_MS);
    publish(&producer(&bootstrap), &messages).await;
    // From now on every produce request (dqmon's outputs) is out of sequence.
    bus.request_errors(
        RDKafkaApiKey::Produce,
        &[RDKafkaRespErr::RD_KAFKA_RESP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER; 50],
    );
    let dir = tempfile::tempdir().unwrap();
    let service = Service::start(&config(&bootstrap, dir.path()))
        .await
        .unwrap();
    let stopped = tokio::time::timeout(Duration::from_secs(60), service.wait())
        .await
        .expect("the service stops on its own");
    let error = stopped.expect_err("with an error (exit 1)").to_string();
    assert!(error.contains("producer"), "{error}");
    let store = crash::open_store(&dir.path().join("dqmon.sqlite"));
    let from = chrono::NaiveDate::from_ymd_opt(2000, 1, 1).unwrap();
    let to = chrono::NaiveDate::from_ymd_opt(2100, 1, 1).unwrap();
    use dqmon::store::ScoreStore as _;
    let counted: u64 = store
        .counts(from, to, None)
        .unwrap()
        .iter()
        .map(|c| c.counts.records)
        .sum();
    assert!(
        counted < messages.len() as u64,
        "what was not published is not counted: {counted}"
    );
}

/// In-flight outputs are bounded in bytes, not only in count: with
/// 300 000-byte malformed messages (each dead letter carries its message)
/// and a broker slow to acknowledge, the bytes in flight never pass
/// `max_in_flight_bytes` by more than one message's outputs, and every
/// message is still handled.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_flight_outputs_are_bounded_in_bytes() {
    const BOUND: usize = 1_000_000;
    const PAYLOAD: usize = 300_000;
    let checks = checks();
    let (bus, bootstrap) = mock_bus(&checks);
    let big: Vec<SimMessage> = (0..30)
        .map(|i| SimMessage {
            topic: checks.topics()[i % 6].clone(),
            key: None,
            timestamp_ms: START_MS + i as i64,
            payload: vec![b'x'; PAYLOAD],
        })
        .collect();
    publish(&producer(&bootstrap), &big).await;
    // Every acknowledgement takes a while: outputs pile up unless bounded.
    bus.broker_round_trip_time(1, Duration::from_millis(200))
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut c = config(&bootstrap, dir.path());
    c.processing.max_in_flight_bytes = BOUND;
    let service = Service::start(&c).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut peak = 0.0f64;
    loop {
        let text = service.metrics.encode();
        peak = peak.max(metric(&text, "dq_output_in_flight_bytes", &[]));
        if total(&text, "dq_deadletter_messages_total") == big.len() as u64 {
            break;
        }
        assert!(Instant::now() < deadline, "every dead letter published");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    service.stop().await.unwrap();
    assert!(
        peak <= (BOUND + PAYLOAD) as f64,
        "{peak} bytes in flight, over the bound by more than one message"
    );
    assert!(
        peak >= (BOUND - PAYLOAD) as f64,
        "the bound was reached ({peak} bytes at most): the test tests it"
    );
}

/// A checkpoint is written only once the outputs of the messages it counts
/// are acknowledged (it no longer holds evaluation up meanwhile): with every
/// acknowledgement 300 ms away and a checkpoint due every 50 ms, the store
/// never counts a malformed message whose dead letter is not acknowledged
/// yet (the store is read first, then the acknowledged count, which only
/// grows), and in the end it counts every message.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_checkpoint_counts_only_messages_whose_outputs_are_acknowledged() {
    let checks = checks();
    let (bus, bootstrap) = mock_bus(&checks);
    let mut messages = traffic(3_000, 17, START_MS);
    // One message in ten a malformed one: one dead letter each.
    for (i, m) in messages.iter_mut().enumerate() {
        if i % 10 == 0 {
            m.payload = b"{not json".to_vec();
        }
    }
    publish(&producer(&bootstrap), &messages).await;
    bus.broker_round_trip_time(1, Duration::from_millis(300))
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut c = config(&bootstrap, dir.path());
    c.store.checkpoint_interval_ms = 50;
    c.store.checkpoint_max_messages = 200;
    let service = Service::start(&c).await.unwrap();
    let store = crash::open_store(&dir.path().join("dqmon.sqlite"));
    let (from, to) = (
        chrono::NaiveDate::from_ymd_opt(2000, 1, 1).unwrap(),
        chrono::NaiveDate::from_ymd_opt(2100, 1, 1).unwrap(),
    );
    let stored = || {
        use dqmon::store::ScoreStore as _;
        let counts = store.counts(from, to, None).unwrap();
        let malformed: u64 = counts.iter().map(|c| c.counts.malformed).sum();
        let records: u64 = counts.iter().map(|c| c.counts.records).sum();
        (malformed, records)
    };
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut checked = 0;
    loop {
        let (stored, records) = stored();
        let text = scrape(&service).await;
        let acknowledged = total(&text, "dq_deadletter_messages_total");
        assert!(
            stored <= acknowledged,
            "the store counts {stored} malformed messages, only {acknowledged} dead letters acknowledged"
        );
        checked += 1;
        if records == messages.len() as u64 {
            assert!(stored >= 300, "every malformed message counted: {stored}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "everything stored: {records} of {} records",
            messages.len()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    service.stop().await.unwrap();
    assert!(
        checked > 5,
        "the invariant was checked while it could fail ({checked} times)"
    );
}
