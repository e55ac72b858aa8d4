//! The Kafka clients: our defaults first, then the operator's properties
//! over them, and the settings exactly-once counting needs, which no
//! property overrides.

use anyhow::Context as _;
use rdkafka::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext};
use rdkafka::producer::FutureProducer;
use tracing::info;

use super::config::Config;
use super::context::PipelineContext;
use crate::catalog::Checks;

/// Our defaults first, then the operator's properties over them.
fn client_config(
    config: &Config,
    defaults: &[(&str, String)],
    specific: &std::collections::BTreeMap<String, String>,
) -> ClientConfig {
    let mut c = ClientConfig::new();
    c.set("bootstrap.servers", &config.kafka.bootstrap_servers);
    for (k, v) in defaults {
        c.set(*k, v);
    }
    for (k, v) in config.kafka.properties.iter().chain(specific) {
        c.set(k, v);
    }
    c
}

/// librdkafka's default `message.max.bytes`.
const DEFAULT_MESSAGE_MAX_BYTES: usize = 1_000_000;

/// The producer's `message.max.bytes`, as the operator set it or librdkafka's default.
pub(super) fn max_message_bytes(config: &Config) -> usize {
    config
        .kafka
        .producer_properties
        .get("message.max.bytes")
        .or_else(|| config.kafka.properties.get("message.max.bytes"))
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEFAULT_MESSAGE_MAX_BYTES)
}

/// The producer of violation events and dead letters: idempotent, acknowledged by all replicas.
pub(super) fn producer(config: &Config) -> anyhow::Result<FutureProducer> {
    let defaults = [
        ("enable.idempotence", "true".to_string()),
        ("acks", "all".to_string()),
        ("linger.ms", "5".to_string()),
    ];
    client_config(config, &defaults, &config.kafka.producer_properties)
        .create()
        .context("creating the producer")
}

/// The consumer of the contracts' topics, subscribed.
pub(super) fn consumer(
    config: &Config,
    checks: &Checks,
    context: PipelineContext,
) -> anyhow::Result<BaseConsumer<PipelineContext>> {
    let defaults = [
        ("enable.auto.commit", "true".to_string()),
        ("auto.commit.interval.ms", "5000".to_string()),
        ("auto.offset.reset", "earliest".to_string()),
        (
            "partition.assignment.strategy",
            "cooperative-sticky".to_string(),
        ),
        ("enable.partition.eof", "false".to_string()),
        // Records are released in message-time order across partitions, so
        // a partition whose prefetched records run out holds every other one
        // up until its next fetch: fetch further ahead than the 1 MiB
        // default (total prefetch stays bounded by `queued.max.messages.kbytes`).
        ("max.partition.fetch.bytes", (10 << 20).to_string()),
        // A department's topic created after start-up is found within 30 s, not 5 min.
        ("topic.metadata.refresh.interval.ms", "30000".to_string()),
        (
            "statistics.interval.ms",
            (config.kafka.statistics_interval_secs * 1000).to_string(),
        ),
    ];
    let mut consumer_config = client_config(config, &defaults, &config.kafka.consumer_properties);
    consumer_config
        .set("group.id", &config.kafka.group_id)
        // At-least-once: only offsets of fully handled messages are stored,
        // and auto-commit commits only stored offsets. Not overridable.
        .set("enable.auto.offset.store", "false");
    let consumer: BaseConsumer<PipelineContext> = consumer_config
        .create_with_context(context)
        .context("creating the consumer")?;
    let topics = checks.topics();
    let topic_refs: Vec<&str> = topics.iter().map(String::as_str).collect();
    consumer.subscribe(&topic_refs).context("subscribing")?;
    info!(topics = ?topics, group = config.kafka.group_id, "subscribed");
    Ok(consumer)
}

/// The low and high watermarks librdkafka last heard of a partition, from
/// its fetch responses, without asking the broker (rust-rdkafka wraps only
/// the query that asks). `None` for a partition it does not know.
pub(super) fn cached_watermarks<C: ConsumerContext>(
    consumer: &BaseConsumer<C>,
    topic: &str,
    partition: i32,
) -> Option<(i64, i64)> {
    let topic = std::ffi::CString::new(topic).ok()?;
    let (mut low, mut high) = (-1i64, -1i64);
    // SAFETY: the handle is valid while `consumer` lives; the call reads the
    // partition's cached offsets under its lock and writes only `low` and `high`.
    let err = unsafe {
        rdkafka::bindings::rd_kafka_get_watermark_offsets(
            consumer.client().native_ptr(),
            topic.as_ptr(),
            partition,
            &mut low,
            &mut high,
        )
    };
    (err == rdkafka::bindings::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR)
        .then_some((low, high))
}
