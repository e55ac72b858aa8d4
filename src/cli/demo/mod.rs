//! `dqmon demo`: the whole thing on one machine with nothing else running.
//! librdkafka's mock cluster plays the bus, the simulator plays the six
//! departments, and the monitor runs against it exactly as in production.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context as _;
use rdkafka::ClientConfig;
use rdkafka::mocking::MockCluster;
use rdkafka::producer::FutureProducer;
use tokio_util::sync::CancellationToken;

use crate::catalog::Checks;
use crate::service::config::{
    ApiConfig, Config, HashingConfig, HttpConfig, KafkaConfig, ProcessingConfig, StoreConfig,
};
use crate::service::{Service, termination};
mod disputes;

use crate::sim::{Pace, SimConfig, Simulator, publish, publish_history};
use crate::web::api::{Access, Identity, LINK_TTL, NamedToken, Role, token_sha256};

#[derive(clap::Args)]
pub(crate) struct DemoOptions {
    /// The checks folder.
    #[arg(long = "checks", value_name = "DIR", default_value = "checks")]
    checks_dir: PathBuf,
    /// Stop after this many seconds (default: run until Ctrl-C).
    #[arg(long = "duration", value_name = "SECS")]
    duration_secs: Option<u64>,
    /// Simulated messages per second.
    #[arg(long, default_value_t = 200.0)]
    rate: f64,
    /// Stop publishing after this many messages; the monitor keeps serving.
    #[arg(long)]
    count: Option<u64>,
    /// Messages of history published before the live traffic, their message
    /// times spread over the last `--history-days`: the trend, the weeks
    /// behind the scores and findings old enough to be overdue are there
    /// from the first minute.
    #[arg(long = "history", value_name = "MESSAGES", default_value_t = 20_000)]
    history_messages: u64,
    /// Days the history spans, ending now.
    #[arg(long = "history-days", value_name = "DAYS", default_value_t = 42)]
    history_days: u32,
    /// Address of the metrics and API.
    #[arg(long, default_value = "127.0.0.1:9898")]
    http: SocketAddr,
    /// Seed of the simulated traffic.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// The score store file (default: a fresh temporary file, removed at the
    /// end: the mock bus starts empty each time, so must the store).
    #[arg(long)]
    store: Option<PathBuf>,
    /// The officer token of the API and scorecard (default: a random one, printed).
    #[arg(long)]
    token: Option<String>,
}

/// The topics of the bus, with three partitions each, as a real exchange would have.
const PARTITIONS: i32 = 3;

pub(crate) async fn run(opts: DemoOptions) -> anyhow::Result<()> {
    let mock = MockCluster::new(1).context("starting the mock Kafka cluster")?;
    let checks = crate::catalog::load(&opts.checks_dir).map_err(|e| anyhow::anyhow!("{e}"))?;
    for t in checks.topics() {
        mock.create_topic(&t, PARTITIONS, 1)?;
    }
    mock.create_topic(VIOLATIONS_TOPIC, PARTITIONS, 1)?;
    mock.create_topic(DEADLETTER_TOPIC, 1, 1)?;
    let bootstrap = mock.bootstrap_servers();
    let temporary_store = opts.store.is_none();
    let store_path = store_path(&opts)?;
    let officer_token = opts
        .token
        .clone()
        .unwrap_or_else(|| hex::encode(rand::random::<[u8; 16]>()));
    let config = config(&opts, &bootstrap, &store_path, &officer_token);
    let mut sim = Simulator::new(
        SimConfig {
            seed: opts.seed,
            ..SimConfig::default()
        },
        &checks,
    );
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", &bootstrap)
        .set("linger.ms", "5")
        .create()?;
    // History first, so the monitor reads the bus in message-time order
    // from its start and judges nothing late.
    let now_ms = chrono::Utc::now().timestamp_millis();
    let span_ms = i64::from(opts.history_days) * 86_400_000;
    let history = publish_history(
        &producer,
        &mut sim,
        opts.history_messages,
        now_ms - span_ms,
        now_ms,
    )
    .await;
    if history > 0 {
        println!(
            "published {history} messages of history (the last {} days) before the live traffic",
            opts.history_days
        );
    }
    let service = Service::start(&config).await?;

    let stop_publishing = CancellationToken::new();
    let token = stop_publishing.clone();
    let pace = Pace {
        count: opts.count,
        rate: opts.rate,
    };
    let publisher = tokio::spawn(async move { publish(&producer, &mut sim, pace, &token).await });
    // Once the history is counted, the simulated departments dispute some
    // of its findings (see disputes.rs).
    let (c, s, d) = (
        service.checks.clone(),
        service.store.clone(),
        service.disputes.clone(),
    );
    tokio::spawn(async move {
        match disputes::file_when_ready(c, s, d).await {
            Some(filed) => {
                println!(
                    "the simulated departments disputed {} findings (scorecard /disputes):",
                    filed.lines.len()
                );
                for line in filed.lines {
                    println!("  {line}");
                }
            }
            None => println!("no disputes filed: the history holds too few findings"),
        }
    });
    print_addresses(
        &checks,
        &opts,
        &bootstrap,
        &service,
        &officer_token,
        &store_path,
    );

    let deadline = opts
        .duration_secs
        .map(|d| tokio::time::Instant::now() + Duration::from_secs(d));
    print_scores_until_stopped(&service, deadline).await;
    stop_publishing.cancel();
    let published = publisher.await.unwrap_or(0);
    // Let the monitor catch up with what was published before stopping it.
    tokio::time::sleep(Duration::from_secs(2)).await;
    print_scores(&service);
    println!("published {published} messages; stopping.");
    service.stop().await?;
    drop(mock);
    if temporary_store {
        remove_database(&store_path);
    }
    Ok(())
}

const VIOLATIONS_TOPIC: &str = "dq.violations";
const DEADLETTER_TOPIC: &str = "dq.deadletter";

/// The store the demo writes: the given file if new, else a fresh temporary one.
fn store_path(opts: &DemoOptions) -> anyhow::Result<PathBuf> {
    let Some(path) = &opts.store else {
        let path = std::env::temp_dir().join(format!("dqmon-demo-{}.sqlite", std::process::id()));
        remove_database(&path);
        return Ok(path);
    };
    if path.exists() {
        // Its offsets belong to an earlier demo's bus, which is gone.
        anyhow::bail!(
            "{}: exists; the demo's bus starts empty, so give a new file",
            path.display()
        );
    }
    Ok(path.clone())
}

/// The service's configuration for the mock bus, with a fresh hashing secret.
fn config(opts: &DemoOptions, bootstrap: &str, store_path: &Path, officer_token: &str) -> Config {
    let secret: [u8; 32] = rand::random();
    Config {
        checks_dir: opts.checks_dir.clone(),
        kafka: KafkaConfig {
            bootstrap_servers: bootstrap.to_owned(),
            group_id: "dqmon-demo".into(),
            violations_topic: VIOLATIONS_TOPIC.into(),
            deadletter_topic: DEADLETTER_TOPIC.into(),
            properties: Default::default(),
            consumer_properties: Default::default(),
            producer_properties: Default::default(),
            statistics_interval_secs: 2,
        },
        http: HttpConfig {
            listen_address: opts.http,
            ..HttpConfig::default()
        },
        hashing: HashingConfig {
            secret: Some(hex::encode(secret)),
            secret_file: None,
        },
        processing: ProcessingConfig::default(),
        store: StoreConfig {
            path: Some(store_path.to_owned()),
            ..StoreConfig::default()
        },
        api: ApiConfig {
            tokens: vec![NamedToken {
                name: "demo-officer".into(),
                role: Role::Officer,
                department: None,
                sha256: token_sha256(officer_token),
            }],
            ..ApiConfig::default()
        },
    }
}

fn print_addresses(
    checks: &Checks,
    opts: &DemoOptions,
    bootstrap: &str,
    service: &Service,
    officer_token: &str,
    store_path: &Path,
) {
    let address = service.http_address;
    let rate = opts.rate;
    println!(
        "dqmon demo: six simulated departments publish {rate} messages/s to an in-process Kafka ({bootstrap})."
    );
    println!("  metrics     http://{address}/metrics");
    println!("  health      http://{address}/healthz   http://{address}/readyz");
    println!(
        "  violations  topic {VIOLATIONS_TOPIC} (one JSON event per failed check, keyed by department)"
    );
    println!("  dead letters topic {DEADLETTER_TOPIC}");
    let link = service.sessions.link(Identity {
        access: Access::Officer,
        name: "demo-officer".into(),
    });
    match link {
        Some(code) => println!(
            "  scorecard   http://{address}/login/once/{code}   (signs in once, within {} min; then sign in with the token)",
            LINK_TTL.as_secs() / 60
        ),
        None => println!("  scorecard   http://{address}/login"),
    }
    let month = chrono::Utc::now()
        .with_timezone(&checks.time_zone)
        .format("%Y-%m");
    println!(
        "  scores API  curl -H 'Authorization: Bearer {officer_token}' 'http://{address}/api/v1/scores?period={month}'"
    );
    println!(
        "  findings    http://{address}/departments/tax/findings   (open, overdue, fixed: 整改)"
    );
    println!("  score store {}", store_path.display());
    println!(
        "Scores of today (message time, {}), every 10 s. Ctrl-C stops.",
        checks.time_zone
    );
}

/// Prints today's scores every 10 s until Ctrl-C, SIGTERM or `deadline`.
async fn print_scores_until_stopped(service: &Service, deadline: Option<tokio::time::Instant>) {
    let mut tick = tokio::time::interval(Duration::from_secs(10));
    tick.tick().await;
    let term = termination();
    tokio::pin!(term);
    loop {
        let until = async {
            match deadline {
                Some(d) => tokio::time::sleep_until(d).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = &mut term => break,
            _ = until => break,
            _ = tick.tick() => print_scores(service),
        }
    }
}

/// Removes an SQLite database with its WAL files.
fn remove_database(path: &Path) {
    for suffix in ["", "-wal", "-shm"] {
        let mut p = path.as_os_str().to_owned();
        p.push(suffix);
        let _ = std::fs::remove_file(p);
    }
}

fn print_scores(service: &Service) {
    println!("{:<20} {:>10} {:>8}", "department", "records", "score");
    for (department, records, score) in service.today.scores(&service.checks) {
        let score = score.map_or("-".to_string(), |s| format!("{s:.2}"));
        println!("{department:<20} {records:>10} {score:>8}");
    }
}
