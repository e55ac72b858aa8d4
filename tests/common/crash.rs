//! The crash test, shared by the mock-cluster and the real-broker suites:
//! `dqmon run` as a child process, killed with SIGKILL at random moments while
//! it reads a backlog and restarted, must end with exactly the counts of a run
//! that never stopped (`dqmon eval` over the same messages).

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use dqmon::catalog::Checks;
use dqmon::service::checkpoint::day_counts;
use dqmon::sim::SimMessage;
use dqmon::store::ScoreStore;
use dqmon::store::sqlite::SqliteStore;
use dqmon::tally::Tally;
use rdkafka::producer::FutureProducer;

use super::publish;

/// The officer token of test configurations (given by its hash, as
/// `[[api.tokens]]` wants: `officer_api()`).
pub const OFFICER: &str = "officer-token-for-tests-0001";

/// The `[api]` of test configurations: the officer token, by its hash.
pub fn officer_api() -> dqmon::web::api::ApiConfig {
    dqmon::web::api::ApiConfig {
        tokens: vec![dqmon::web::api::NamedToken {
            name: "test-officer".into(),
            role: dqmon::web::api::Role::Officer,
            department: None,
            sha256: dqmon::web::api::token_sha256(OFFICER),
        }],
        ..Default::default()
    }
}

/// One `dqmon run --config` setup: where its store and configuration live.
pub struct Setup {
    pub config_path: PathBuf,
    pub store_path: PathBuf,
    pub http_port: u16,
}

/// Writes a configuration file for `dqmon run` into `dir`.
#[allow(clippy::too_many_arguments)]
pub fn write_config(
    dir: &Path,
    checks_dir: &Path,
    bootstrap: &str,
    group: &str,
    violations_topic: &str,
    deadletter_topic: &str,
    consumer_properties: &[(&str, &str)],
) -> Setup {
    let http_port = free_port();
    let store_path = dir.join("dqmon.sqlite");
    let config_path = dir.join("dqmon.toml");
    let mut text = format!(
        "checks_dir = {checks_dir:?}\n\
         [kafka]\nbootstrap_servers = {bootstrap:?}\ngroup_id = {group:?}\n\
         violations_topic = {violations_topic:?}\ndeadletter_topic = {deadletter_topic:?}\n\
         statistics_interval_secs = 1\n\
         [http]\nlisten_address = \"127.0.0.1:{http_port}\"\n\
         [hashing]\nsecret = \"crash test secret, long enough\"\n\
         [store]\npath = {store_path:?}\ncheckpoint_interval_ms = 500\ncheckpoint_max_messages = 3000\n\
         [[api.tokens]]\nname = \"test-officer\"\nrole = \"officer\"\nsha256 = {officer_sha256:?}\n\
         [kafka.consumer_properties]\n",
        officer_sha256 = dqmon::web::api::token_sha256(OFFICER),
    );
    for (k, v) in consumer_properties {
        text.push_str(&format!("{k:?} = {v:?}\n"));
    }
    std::fs::write(&config_path, text).unwrap();
    Setup {
        config_path,
        store_path,
        http_port,
    }
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub fn start_dqmon(config_path: &Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_dqmon"))
        .args(["run", "--config"])
        .arg(config_path)
        .env("DQMON_LOG", "warn")
        .spawn()
        .unwrap()
}

/// Asks `child` to stop gracefully.
pub fn sigterm(child: &Child) {
    signal(child, "TERM");
}

/// Sends `signal` (TERM, STOP, CONT) to `child`.
pub fn signal(child: &Child, signal: &str) {
    let status = Command::new("kill")
        .args([&format!("-{signal}"), &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

/// Records counted in the store so far (0 before its first checkpoint).
/// Read-only, so it never competes with dqmon for the write lock.
pub fn stored_records(store_path: &Path) -> u64 {
    let Ok(conn) = rusqlite::Connection::open_with_flags(
        store_path,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    ) else {
        return 0;
    };
    let _ = conn.busy_timeout(Duration::from_secs(5));
    conn.query_row(
        "SELECT COALESCE(SUM(records), 0) FROM day_counts",
        [],
        |r| r.get::<_, i64>(0),
    )
    .map(|n| n as u64)
    .unwrap_or(0)
}

/// A random duration in `min..max`.
fn random_between(min: Duration, max: Duration) -> Duration {
    let span = (max - min).as_millis() as u64;
    min + Duration::from_millis(rand::random::<u64>() % span.max(1))
}

/// What a crash run did.
pub struct CrashReport {
    pub kills: usize,
    /// Records the store held at each kill: kills landed mid-run, not before or after.
    pub stored_at_kills: Vec<u64>,
}

/// Publishes `messages` (the whole backlog, before dqmon starts, as on a
/// bus that already holds history), then runs `dqmon run` and kills it with
/// SIGKILL `kills` times, each once the store has counted a further share of
/// the backlog and then a random moment up to `jitter` later (mid-batch,
/// mid-checkpoint, outputs in flight...), restarting it each time; then lets
/// the last run finish everything and stops it with SIGTERM.
pub async fn crash_run(
    setup: &Setup,
    producer: &FutureProducer,
    messages: &[SimMessage],
    kills: usize,
    jitter: Duration,
    limit: Duration,
) -> CrashReport {
    publish(producer, messages).await;
    let total = messages.len() as u64;
    let deadline = Instant::now() + limit;
    let store_path = &setup.store_path;
    let mut report = CrashReport {
        kills: 0,
        stored_at_kills: Vec::new(),
    };
    let mut child = start_dqmon(&setup.config_path);
    for k in 1..=kills as u64 {
        let share = total * k / (kills as u64 + 1);
        while stored_records(store_path) < share {
            assert!(Instant::now() < deadline, "a restarted run makes progress");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        tokio::time::sleep(random_between(Duration::ZERO, jitter)).await;
        child.kill().unwrap(); // SIGKILL: no drain, no checkpoint, no commit.
        child.wait().unwrap();
        let stored = stored_records(store_path);
        assert!(
            stored < total,
            "all counted before kill {k}: use a larger backlog or a shorter jitter"
        );
        report.kills += 1;
        report.stored_at_kills.push(stored);
        child = start_dqmon(&setup.config_path);
    }
    while stored_records(store_path) < total {
        assert!(
            Instant::now() < deadline,
            "everything counted in time: {} of {total}",
            stored_records(store_path)
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    sigterm(&child);
    let exit = child.wait().unwrap();
    assert!(exit.success(), "the last run stops cleanly: {exit}");
    report
}

/// The store's counts equal `tally` (what eval says), dataset by dataset:
/// records, malformed, every dimension's passes and failures, every check.
/// Also department by department, through the score API's builder.
pub fn assert_store_equal(checks: &Checks, tally: &Tally, store: &dyn ScoreStore) {
    let from = chrono::NaiveDate::from_ymd_opt(2000, 1, 1).unwrap();
    let to = chrono::NaiveDate::from_ymd_opt(2100, 1, 1).unwrap();
    let stored = store.counts(from, to, None).unwrap();
    let mut compared = 0;
    for ds in &checks.datasets {
        let mut want = day_counts(checks, from, ds.index, &tally.datasets[ds.index]);
        // The store lists checks by id.
        want.counts.checks.sort();
        let got = stored
            .iter()
            .find(|c| c.department == ds.department && c.dataset == ds.name)
            .cloned()
            .unwrap_or_else(|| dqmon::store::DayCounts::new(from, &ds.department, &ds.name));
        assert_eq!(got, want, "{}/{}", ds.department, ds.name);
        compared += 1;
    }
    assert_eq!(stored.len(), compared, "no counts of unknown datasets");
    let period = dqmon::model::period::PeriodBounds { from, to };
    let rows: Vec<_> = stored.iter().map(dqmon::store::DayCounts::row).collect();
    let scores = dqmon::tally::build_scores(checks, period, None, &rows);
    let report = dqmon::tally::Report::new(checks, tally);
    for (department, want) in &report.departments {
        assert_eq!(
            &scores.departments[department].report, want,
            "{department}: the API's report equals eval's"
        );
    }
}

/// Opens a store for reading results, as `dqmon scores` does.
pub fn open_store(path: &Path) -> SqliteStore {
    SqliteStore::open_read_only(path).unwrap()
}
