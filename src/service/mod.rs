//! `dqmon run`: the monitor on the bus. Wires the engine to Kafka (the
//! pipeline thread), Prometheus and the HTTP server, and shuts all of it down
//! gracefully on SIGTERM or SIGINT.

pub mod pipeline;
pub mod today;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use rdkafka::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::producer::FutureProducer;
use tokio_util::sync::CancellationToken;
use tracing::info;

use crate::checks::{self, Checks};
use crate::config::Config;
use crate::engine::Engine;
use crate::http::{AppState, app};
use crate::metrics::Metrics;
use pipeline::{Health, Pipeline, PipelineContext};
use today::Today;

/// A running monitor.
pub struct Service {
    pub metrics: Arc<Metrics>,
    pub health: Arc<Health>,
    pub engine: Arc<Engine>,
    pub checks: Arc<Checks>,
    /// Today's counts per department.
    pub today: Arc<Today>,
    /// The address the HTTP server is bound to (useful with port 0).
    pub http_address: SocketAddr,
    shutdown: CancellationToken,
    pipeline: std::thread::JoinHandle<()>,
    http: tokio::task::JoinHandle<()>,
}

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

/// Loads the contracts the way `dqmon validate` does: every problem, or none.
pub fn load_checks(config: &Config) -> anyhow::Result<Arc<Checks>> {
    checks::load(&config.checks_dir).map(Arc::new).map_err(|e| {
        anyhow::anyhow!(
            "{e}\nrefusing to start: {} problem(s) in the contracts",
            e.0.len()
        )
    })
}

impl Service {
    /// Starts consuming and serving. Must run inside a Tokio runtime.
    pub async fn start(config: &Config) -> anyhow::Result<Service> {
        let checks = load_checks(config)?;
        let secret = config.secret()?;
        let engine = Arc::new(Engine::new(checks.clone(), &secret));
        let metrics = Arc::new(Metrics::new(&checks));
        let health = Arc::new(Health::default());

        let producer_defaults = [
            ("enable.idempotence", "true".to_string()),
            ("acks", "all".to_string()),
            ("linger.ms", "5".to_string()),
        ];
        let producer: FutureProducer = client_config(
            config,
            &producer_defaults,
            &config.kafka.producer_properties,
        )
        .create()
        .context("creating the producer")?;

        let consumer_defaults = [
            ("enable.auto.commit", "true".to_string()),
            ("auto.commit.interval.ms", "5000".to_string()),
            ("auto.offset.reset", "earliest".to_string()),
            (
                "partition.assignment.strategy",
                "cooperative-sticky".to_string(),
            ),
            ("enable.partition.eof", "false".to_string()),
            // A department's topic created after start-up is found within 30 s, not 5 min.
            ("topic.metadata.refresh.interval.ms", "30000".to_string()),
            (
                "statistics.interval.ms",
                (config.kafka.statistics_interval_secs * 1000).to_string(),
            ),
        ];
        let mut consumer_config = client_config(
            config,
            &consumer_defaults,
            &config.kafka.consumer_properties,
        );
        consumer_config
            .set("group.id", &config.kafka.group_id)
            // At-least-once: only offsets of fully handled messages are stored,
            // and auto-commit commits only stored offsets. Not overridable.
            .set("enable.auto.offset.store", "false");
        let context = PipelineContext::new(
            metrics.clone(),
            health.clone(),
            producer,
            Duration::from_secs(config.processing.shutdown_timeout_secs),
        );
        let consumer: BaseConsumer<PipelineContext> = consumer_config
            .create_with_context(context)
            .context("creating the consumer")?;
        let topics = checks.topics();
        let topic_refs: Vec<&str> = topics.iter().map(String::as_str).collect();
        consumer.subscribe(&topic_refs).context("subscribing")?;
        info!(topics = ?topics, group = config.kafka.group_id, "subscribed");

        let listener = tokio::net::TcpListener::bind(config.http.listen_address)
            .await
            .with_context(|| format!("binding {}", config.http.listen_address))?;
        let http_address = listener.local_addr()?;
        let shutdown = CancellationToken::new();
        let router = app(AppState {
            metrics: metrics.clone(),
            health: health.clone(),
        });
        let http_shutdown = shutdown.clone();
        let http = tokio::spawn(async move {
            let served = axum::serve(listener, router)
                .with_graceful_shutdown(async move { http_shutdown.cancelled().await })
                .await;
            if let Err(e) = served {
                tracing::error!(error = %e, "HTTP server failed");
            }
        });
        info!(address = %http_address, "serving /metrics, /healthz, /readyz");

        let today = Arc::new(Today::new(
            &checks,
            engine.day_of(chrono::Utc::now().timestamp_millis()),
        ));
        let pipeline = Pipeline {
            consumer,
            engine: engine.clone(),
            checks: checks.clone(),
            metrics: metrics.clone(),
            today: today.clone(),
            violations_topic: config.kafka.violations_topic.clone(),
            deadletter_topic: config.kafka.deadletter_topic.clone(),
            max_in_flight: config.processing.max_in_flight_messages,
        };
        let token = shutdown.clone();
        let pipeline = std::thread::Builder::new()
            .name("dqmon-pipeline".into())
            .spawn(move || pipeline.run(token))?;
        Ok(Service {
            metrics,
            health,
            engine,
            checks,
            today,
            http_address,
            shutdown,
            pipeline,
            http,
        })
    }

    /// A token that stops the service when cancelled.
    pub fn shutdown_token(&self) -> CancellationToken {
        self.shutdown.clone()
    }

    /// Stops consuming, finishes in-flight work, commits, and stops serving.
    pub async fn stop(self) -> anyhow::Result<()> {
        self.shutdown.cancel();
        self.wait().await
    }

    /// Waits until the service has stopped (after its token is cancelled).
    pub async fn wait(self) -> anyhow::Result<()> {
        let pipeline = self.pipeline;
        tokio::task::spawn_blocking(move || pipeline.join())
            .await?
            .map_err(|_| anyhow::anyhow!("the pipeline thread panicked"))?;
        self.http.await?;
        Ok(())
    }
}

/// Resolves on SIGTERM or SIGINT.
pub async fn termination() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("installing the SIGTERM handler");
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}

/// `dqmon run`: until SIGTERM or SIGINT.
pub async fn run(config: Config) -> anyhow::Result<()> {
    let service = Service::start(&config).await?;
    termination().await;
    info!("termination signal: shutting down");
    service.stop().await
}
