//! `dqmon simulate`: the simulated departments' traffic, published to a real broker.

use std::path::PathBuf;

use rdkafka::ClientConfig;
use rdkafka::producer::FutureProducer;
use tokio_util::sync::CancellationToken;

use crate::sim::{Pace, SimConfig, Simulator, publish};

#[derive(clap::Args)]
pub(crate) struct SimulateOptions {
    /// `host:port` list of the brokers.
    #[arg(long)]
    bootstrap_servers: String,
    /// Stop after this many messages (default: run until Ctrl-C).
    #[arg(long)]
    count: Option<u64>,
    /// Messages per second; 0 publishes as fast as the broker takes them.
    #[arg(long, default_value_t = 200.0)]
    rate: f64,
    /// Seed of the simulated traffic.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// The checks folder (the datasets and reference tables).
    #[arg(long, default_value = "checks")]
    checks: PathBuf,
    /// A librdkafka property for the producer, `key=value` (repeatable): SASL, TLS...
    #[arg(long = "property", value_parser = parse_property)]
    properties: Vec<(String, String)>,
}

fn parse_property(s: &str) -> Result<(String, String), String> {
    s.split_once('=')
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .ok_or_else(|| format!("`{s}` is not key=value"))
}

pub(crate) async fn run(opts: SimulateOptions) -> anyhow::Result<()> {
    let checks = crate::catalog::load(&opts.checks).map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut sim = Simulator::new(
        SimConfig {
            seed: opts.seed,
            ..Default::default()
        },
        &checks,
    );
    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", &opts.bootstrap_servers)
        .set("linger.ms", "5")
        .set("acks", "all");
    for (k, v) in &opts.properties {
        config.set(k, v);
    }
    let producer: FutureProducer = config.create()?;
    let cancel = CancellationToken::new();
    let stop = cancel.clone();
    tokio::spawn(async move {
        crate::service::termination().await;
        stop.cancel();
    });
    let pace = Pace {
        count: opts.count,
        rate: opts.rate,
    };
    let published = publish(&producer, &mut sim, pace, &cancel).await;
    eprintln!(
        "published {published} messages to {}",
        opts.bootstrap_servers
    );
    Ok(())
}
