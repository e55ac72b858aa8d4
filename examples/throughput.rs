//! End-to-end throughput against a real broker: dqmon (consume, evaluate,
//! count, publish violations and dead letters, store offsets) next to a
//! consumer that reads the same topics and does nothing. The ratio is the figure.
//!
//! KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:9092 cargo run --release --example throughput -- 200000
//! (`CHECKPOINT_MAX_MESSAGES=10000` to try another checkpoint size,
//! `WORKERS=1` another number of evaluating threads, `STATE_TOPIC=1` dqmon
//! as one of several instances, sharing facts through a state topic,
//! `CONSUMER_PROPERTIES=max.partition.fetch.bytes=1048576,...` librdkafka
//! properties for dqmon's consumer.)
//!
//! With `live` after the count, dqmon starts first and is caught up (every
//! partition at its end) when the traffic is published: its rate is then
//! measured while the traffic arrives, and no null consumer runs.

// The tests' helpers: the same topic-prefixed copy of the contracts.
#[path = "../tests/common/mod.rs"]
mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use dqmon::service::Service;
use dqmon::service::config::{
    Config, HashingConfig, HttpConfig, KafkaConfig, ProcessingConfig, StoreConfig,
};
use dqmon::sim::{SimConfig, Simulator};
use rdkafka::ClientConfig;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::util::Timeout;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let n: usize = std::env::args().nth(1).map_or(Ok(200_000), |s| s.parse())?;
    let live = std::env::args().nth(2).is_some_and(|a| a == "live");
    let bootstrap = std::env::var("KAFKA_BOOTSTRAP_SERVERS")?;
    let prefix = format!("bench{}", rand::random::<u32>());

    // The contracts with topics under a fresh prefix.
    let dir = tempfile::tempdir()?;
    let checks_dir = dir.path().join("checks");
    common::copy_dir(std::path::Path::new("checks"), &checks_dir, &prefix);
    let checks = Arc::new(dqmon::catalog::load(&checks_dir).map_err(|e| anyhow::anyhow!("{e}"))?);
    let topics = checks.topics();
    let admin: AdminClient<_> = ClientConfig::new()
        .set("bootstrap.servers", &bootstrap)
        .create()?;
    // STATE_TOPIC=1: dqmon as one of several instances, sharing facts
    // through a state topic (it reads its own back).
    let state_topic = std::env::var("STATE_TOPIC")
        .is_ok_and(|v| v == "1")
        .then(|| format!("{prefix}.dq.state"));
    let new: Vec<NewTopic> = topics
        .iter()
        .chain(&state_topic)
        .map(|t| NewTopic::new(t, 3, TopicReplication::Fixed(1)))
        .collect();
    admin.create_topics(&new, &AdminOptions::new()).await?;

    let publish = async {
        // The traffic, published once.
        // The unprefixed contracts: each message's topic gets the prefix when it is sent.
        let plain = dqmon::catalog::load(std::path::Path::new("checks"))?;
        let mut sim = Simulator::new(SimConfig::default(), &plain);
        let start = chrono::Utc::now().timestamp_millis() - 3_600_000;
        let messages = sim.batch(n, start, 10);
        let producer: FutureProducer = ClientConfig::new()
            .set("bootstrap.servers", &bootstrap)
            .set("linger.ms", "20")
            .create()?;
        for chunk in messages.chunks(10_000) {
            let sends = chunk.iter().map(|m| {
                let topic = format!("{prefix}.{}", m.topic);
                let producer = &producer;
                async move {
                    let mut r = FutureRecord::<str, [u8]>::to(&topic)
                        .payload(&m.payload)
                        .timestamp(m.timestamp_ms);
                    if let Some(k) = &m.key {
                        r = r.key(k.as_str());
                    }
                    producer
                        .send(r, Timeout::After(Duration::from_secs(60)))
                        .await
                }
            });
            for r in futures::future::join_all(sends).await {
                r.map_err(|(e, _)| e)?;
            }
        }
        let bytes: usize = messages.iter().map(|m| m.payload.len()).sum();
        println!(
            "published {n} messages ({:.1} MB) to {} topics",
            bytes as f64 / 1e6,
            topics.len()
        );

        anyhow::Ok(())
    };
    let publish = if live {
        Some(publish)
    } else {
        publish.await?;
        None
    };
    // A consumer that reads everything and does nothing.
    let null: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", &bootstrap)
        .set("group.id", format!("{prefix}-null"))
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "false")
        .create()?;
    let refs: Vec<&str> = topics.iter().map(String::as_str).collect();
    null.subscribe(&refs)?;
    let mut read = 0usize;
    let mut started = None;
    while !live && read < n {
        if let Some(Ok(_)) = null.poll(Duration::from_millis(100)) {
            started.get_or_insert_with(Instant::now);
            read += 1;
        }
    }
    let null_secs = started.map_or(0.0, |s| s.elapsed().as_secs_f64());
    drop(null);

    // dqmon on the same topics, a fresh group and a fresh score store.
    let store_dir = tempfile::tempdir()?;
    let config = Config {
        checks_dir: checks_dir.clone(),
        kafka: KafkaConfig {
            bootstrap_servers: bootstrap.clone(),
            group_id: format!("{prefix}-dqmon"),
            violations_topic: format!("{prefix}.dq.violations"),
            deadletter_topic: format!("{prefix}.dq.deadletter"),
            properties: Default::default(),
            consumer_properties: consumer_properties()?,
            producer_properties: Default::default(),
            statistics_interval_secs: 5,
        },
        http: HttpConfig {
            listen_address: "127.0.0.1:0".parse()?,
            ..HttpConfig::default()
        },
        hashing: HashingConfig {
            secret: Some("throughput benchmark secret".into()),
            secret_file: None,
        },
        processing: ProcessingConfig {
            workers: std::env::var("WORKERS")
                .map_or(Ok(ProcessingConfig::default().workers), |w| w.parse())?,
            state_topic,
            ..ProcessingConfig::default()
        },
        store: StoreConfig {
            path: Some(store_dir.path().join("dqmon.sqlite")),
            checkpoint_max_messages: std::env::var("CHECKPOINT_MAX_MESSAGES")
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(StoreConfig::default().checkpoint_max_messages),
            ..StoreConfig::default()
        },
        api: Default::default(),
    };
    let service = Service::start(&config).await?;
    let measure = async {
        let mut first = None;
        loop {
            let text = service.metrics.encode();
            let records = common::total(&text, "dq_records_total");
            if records > 0 {
                first.get_or_insert_with(Instant::now);
            }
            if records >= n as u64 {
                return first;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    let first = match publish {
        Some(publish) => {
            // Caught up: assigned, and every partition fetched to its (empty) end.
            while common::metric(
                &service.metrics.encode(),
                "dq_consumer_assigned_partitions",
                &[],
            ) < 1.0
            {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            tokio::time::sleep(Duration::from_secs(3)).await;
            let (published, first) = tokio::join!(publish, measure);
            published?;
            first
        }
        None => measure.await,
    };
    let dqmon_secs = first.map_or(0.0, |s| s.elapsed().as_secs_f64());
    let text = service.metrics.encode();
    service.stop().await?;

    let null_rate = n as f64 / null_secs;
    let dqmon_rate = n as f64 / dqmon_secs;
    if live {
        println!(
            "dqmon live:    {n} messages in {dqmon_secs:.2} s = {dqmon_rate:.0} msg/s ({} judged late)",
            common::total(&text, "dq_late_messages_total")
        );
        return Ok(());
    }
    println!("null consumer: {n} messages in {null_secs:.2} s = {null_rate:.0} msg/s");
    println!(
        "dqmon:         {n} messages in {dqmon_secs:.2} s = {dqmon_rate:.0} msg/s ({} violations published, {} dead letters)",
        common::total(&text, "dq_violations_published_total"),
        common::total(&text, "dq_deadletter_messages_total")
    );
    println!("ratio dqmon / null consumer: {:.2}", dqmon_rate / null_rate);
    let (count, sum) = (
        common::metric(&text, "dq_checkpoint_duration_seconds_count", &[]),
        common::metric(&text, "dq_checkpoint_duration_seconds_sum", &[]),
    );
    println!(
        "checkpoints: {count:.0}, mean {:.1} ms (store write only; the drain before it is not included)",
        1000.0 * sum / count.max(1.0)
    );
    Ok(())
}

/// `CONSUMER_PROPERTIES=key=value,key=value`: librdkafka properties for
/// dqmon's consumer, over dqmon's defaults.
fn consumer_properties() -> anyhow::Result<std::collections::BTreeMap<String, String>> {
    let Ok(list) = std::env::var("CONSUMER_PROPERTIES") else {
        return Ok(Default::default());
    };
    list.split(',')
        .filter(|kv| !kv.is_empty())
        .map(|kv| {
            let (k, v) = kv
                .split_once('=')
                .ok_or_else(|| anyhow::anyhow!("CONSUMER_PROPERTIES: {kv:?} is not key=value"))?;
            Ok((k.to_owned(), v.to_owned()))
        })
        .collect()
}
