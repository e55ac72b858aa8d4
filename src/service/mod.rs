//! `dqmon run`: the monitor on the bus. Wires the engine to Kafka (the
//! pipeline thread), Prometheus and the HTTP server, and shuts all of it down
//! gracefully on SIGTERM or SIGINT.
//!
//! `config` is the configuration file, `kafka` the clients, `pipeline` the
//! consumer loop, `outputs` the violation events and dead letters in flight,
//! `rebalance` what an assignment change does, `context` what those share and
//! how a checkpoint is taken, `checkpoint` what one holds, `writer` the thread
//! that writes them, `today` the counts behind the `dq_quality_score` gauge.

pub mod checkpoint;
pub mod config;
mod context;
mod kafka;
mod outputs;
pub(crate) mod pipeline;
mod rebalance;
pub mod today;
pub(crate) mod writer;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use tokio_util::sync::CancellationToken;
use tracing::info;

use crate::catalog::Checks;
use crate::engine::Engine;
use crate::service::config::Config;
use crate::store::sqlite::SqliteStore;
use crate::store::{CheckpointStore, ScoreStore};
use crate::telemetry::Health;
use crate::telemetry::Metrics;
use crate::web::api::ApiState;
use crate::web::{AppState, app_with_api};
use context::{Checkpointing, ContextParts, PipelineContext};
use pipeline::Pipeline;
use today::Today;

/// A running monitor.
pub struct Service {
    pub metrics: Arc<Metrics>,
    pub health: Arc<Health>,
    pub engine: Arc<Engine>,
    pub checks: Arc<Checks>,
    /// Today's counts per department.
    pub today: Arc<Today>,
    /// The score store as the API reads it (the pipeline checkpoints to it).
    pub store: Arc<dyn ScoreStore>,
    /// The address the HTTP server is bound to (useful with port 0).
    pub http_address: SocketAddr,
    shutdown: CancellationToken,
    pipeline: std::thread::JoinHandle<anyhow::Result<()>>,
    http: tokio::task::JoinHandle<()>,
}

/// Loads the contracts the way `dqmon validate` does: every problem, or none.
pub fn load_checks(config: &Config) -> anyhow::Result<Arc<Checks>> {
    crate::catalog::load(&config.checks_dir)
        .map(Arc::new)
        .map_err(|e| {
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
        config
            .api
            .validate(&checks)
            .map_err(|e| anyhow::anyhow!("{e}\nrefusing to start"))?;
        let store = open_store(config)?;
        let engine = Arc::new(restored_engine(config, &checks, &*store)?);
        let metrics = Arc::new(Metrics::new(&checks));
        let health = Arc::new(Health::default());
        let shutdown = CancellationToken::new();
        let context = PipelineContext::new(ContextParts {
            metrics: metrics.clone(),
            health: health.clone(),
            producer: kafka::producer(config)?,
            drain_timeout: Duration::from_secs(config.processing.shutdown_timeout_secs),
            engine: engine.clone(),
            checks: checks.clone(),
            checkpointing: Checkpointing {
                store: store.clone(),
                interval: Duration::from_millis(config.store.checkpoint_interval_ms),
                max_messages: config.store.checkpoint_max_messages,
                violations_kept: config.store.violations_kept_per_department,
            },
            shutdown: shutdown.clone(),
        });
        let consumer = kafka::consumer(config, &checks, context)?;

        let router = app_with_api(
            AppState {
                metrics: metrics.clone(),
                health: health.clone(),
            },
            ApiState {
                store: store.clone(),
                checks: checks.clone(),
                config: Arc::new(config.api.clone()),
            },
            &config.http,
        );
        let (http_address, http) = serve(config, router, shutdown.clone()).await?;

        let now = checks.day_of(chrono::Utc::now().timestamp_millis());
        let today = Arc::new(Today::new(&checks, now));
        today.seed(&checks, &store.counts(now, now, None)?);
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
            store,
            http_address,
            shutdown,
            pipeline,
            http,
        })
    }

    /// A token that stops the service when cancelled.
    pub(crate) fn shutdown_token(&self) -> CancellationToken {
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
        let result = tokio::task::spawn_blocking(move || pipeline.join())
            .await?
            .map_err(|_| anyhow::anyhow!("the pipeline thread panicked"))?;
        // A pipeline that stopped on its own (store failure) stops the server too.
        self.shutdown.cancel();
        self.http.await?;
        result
    }
}

/// An engine with the state the store saved.
fn restored_engine(
    config: &Config,
    checks: &Arc<Checks>,
    store: &dyn CheckpointStore,
) -> anyhow::Result<Engine> {
    let engine = Engine::new(checks.clone(), &config.secret()?).checkpointed();
    let (references, seen) = (store.references()?, store.seen()?);
    engine.restore(&references, &seen);
    info!(
        references = references.len(),
        record_ids = seen.len(),
        "engine state restored from the score store"
    );
    Ok(engine)
}

/// Serves `router` on the configured address until `shutdown`.
async fn serve(
    config: &Config,
    router: axum::Router,
    shutdown: CancellationToken,
) -> anyhow::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    let listener = tokio::net::TcpListener::bind(config.http.listen_address)
        .await
        .with_context(|| format!("binding {}", config.http.listen_address))?;
    let address = listener.local_addr()?;
    let http = tokio::spawn(async move {
        let served = axum::serve(listener, router)
            .with_graceful_shutdown(async move { shutdown.cancelled().await })
            .await;
        if let Err(e) = served {
            tracing::error!(error = %e, "HTTP server failed");
        }
    });
    info!(%address, "serving /metrics, /healthz, /readyz, the API and the scorecard");
    Ok((address, http))
}

/// Resolves on SIGTERM or SIGINT.
pub(crate) async fn termination() {
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

/// Opens the configured score store.
pub fn open_store(config: &Config) -> anyhow::Result<Arc<SqliteStore>> {
    let path = &config.store.path;
    let store = SqliteStore::open(path, config.store.violations_kept_per_department)
        .with_context(|| format!("{}: opening the score store", path.display()))?;
    Ok(Arc::new(store))
}

/// `dqmon run`: until SIGTERM or SIGINT, or until the store fails.
pub async fn run(config: Config) -> anyhow::Result<()> {
    let service = Service::start(&config).await?;
    let token = service.shutdown_token();
    tokio::select! {
        _ = termination() => info!("termination signal: shutting down"),
        _ = token.cancelled() => {}
    }
    service.stop().await
}
