//! `dqmon demo`: the whole thing on one machine with nothing else running.
//! librdkafka's mock cluster plays the bus, the simulator plays the six
//! departments, and the monitor runs against it exactly as in production.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use rdkafka::ClientConfig;
use rdkafka::mocking::MockCluster;
use rdkafka::producer::FutureProducer;
use tokio_util::sync::CancellationToken;

use crate::service::config::{
    ApiConfig, Config, HashingConfig, HttpConfig, KafkaConfig, ProcessingConfig, StoreConfig,
};
use crate::service::{Service, termination};
use crate::sim::{Pace, SimConfig, Simulator, publish};

pub struct DemoOptions {
    pub checks_dir: PathBuf,
    /// Stop after this long (`None`: until Ctrl-C).
    pub duration: Option<Duration>,
    /// Simulated messages per second.
    pub rate: f64,
    /// Stop publishing after this many messages (the monitor keeps serving).
    pub count: Option<u64>,
    pub http: SocketAddr,
    pub seed: u64,
    /// The score store; `None`: a fresh file in the temporary folder, removed
    /// at the end (the mock bus starts empty each time, so must the store).
    pub store: Option<PathBuf>,
    /// The officer token of the API and the scorecard; `None`: a random one.
    pub token: Option<String>,
}

/// The topics of the bus, with three partitions each, as a real exchange would have.
const PARTITIONS: i32 = 3;

pub async fn run(opts: DemoOptions) -> anyhow::Result<()> {
    let mock = MockCluster::new(1).context("starting the mock Kafka cluster")?;
    let checks = crate::catalog::load(&opts.checks_dir).map_err(|e| anyhow::anyhow!("{e}"))?;
    let violations_topic = "dq.violations".to_string();
    let deadletter_topic = "dq.deadletter".to_string();
    for t in checks.topics() {
        mock.create_topic(&t, PARTITIONS, 1)?;
    }
    mock.create_topic(&violations_topic, PARTITIONS, 1)?;
    mock.create_topic(&deadletter_topic, 1, 1)?;
    let bootstrap = mock.bootstrap_servers();

    let secret: [u8; 32] = rand::random();
    let temporary_store = opts.store.is_none();
    let store_path = opts.store.clone().unwrap_or_else(|| {
        std::env::temp_dir().join(format!("dqmon-demo-{}.sqlite", std::process::id()))
    });
    if temporary_store {
        remove_database(&store_path);
    } else if store_path.exists() {
        // Its offsets belong to an earlier demo's bus, which is gone.
        anyhow::bail!(
            "{}: exists; the demo's bus starts empty, so give a new file",
            store_path.display()
        );
    }
    let officer_token = opts
        .token
        .clone()
        .unwrap_or_else(|| hex::encode(rand::random::<[u8; 16]>()));
    let config = Config {
        checks_dir: opts.checks_dir.clone(),
        kafka: KafkaConfig {
            bootstrap_servers: bootstrap.clone(),
            group_id: "dqmon-demo".into(),
            violations_topic,
            deadletter_topic,
            properties: Default::default(),
            consumer_properties: Default::default(),
            producer_properties: Default::default(),
            statistics_interval_secs: 2,
        },
        http: HttpConfig {
            listen_address: opts.http,
        },
        hashing: HashingConfig {
            secret: Some(hex::encode(secret)),
            secret_file: None,
        },
        processing: ProcessingConfig::default(),
        store: StoreConfig {
            path: store_path.clone(),
            ..StoreConfig::default()
        },
        api: ApiConfig {
            officer_tokens: vec![officer_token.clone()],
            ..ApiConfig::default()
        },
    };
    let service = Service::start(&config).await?;
    let address = service.http_address;

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
    let stop_publishing = CancellationToken::new();
    let token = stop_publishing.clone();
    let (rate, count) = (opts.rate, opts.count);
    let publisher =
        tokio::spawn(
            async move { publish(&producer, &mut sim, Pace { count, rate }, &token).await },
        );

    println!(
        "dqmon demo: six simulated departments publish {rate} messages/s to an in-process Kafka ({bootstrap})."
    );
    println!("  metrics     http://{address}/metrics");
    println!("  health      http://{address}/healthz   http://{address}/readyz");
    println!(
        "  violations  topic dq.violations (one JSON event per failed check, keyed by department)"
    );
    println!("  dead letters topic dq.deadletter");
    println!("  scorecard   http://{address}/login?token={officer_token}");
    let month = chrono::Utc::now()
        .with_timezone(&checks.time_zone)
        .format("%Y-%m");
    println!(
        "  scores API  curl -H 'Authorization: Bearer {officer_token}' 'http://{address}/api/v1/scores?period={month}'"
    );
    println!("  score store {}", store_path.display());
    println!(
        "Scores of today (message time, {}), every 10 s. Ctrl-C stops.",
        checks.time_zone
    );

    let deadline = opts.duration.map(|d| tokio::time::Instant::now() + d);
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
            _ = tick.tick() => print_scores(&service),
        }
    }
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

/// Removes an SQLite database with its WAL files.
fn remove_database(path: &std::path::Path) {
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
