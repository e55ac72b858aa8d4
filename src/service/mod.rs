//! `dqmon run`: the monitor on the bus. Wires the engine to Kafka (the
//! pipeline thread), Prometheus and the HTTP server, and shuts all of it down
//! gracefully on SIGTERM or SIGINT.
//!
//! `config` is the configuration file, `kafka` the clients, `pipeline` the
//! consumer loop, `order` the merge of partitions into message-time order,
//! `outputs` the violation events and dead letters in flight,
//! `rebalance` what an assignment change does, `context` what those share and
//! how a checkpoint is taken, `checkpoint` what one holds, `writer` the thread
//! that writes them, `today` the counts behind the `dq_quality_score` gauge, `findings` the
//! rectification gauges.

pub mod checkpoint;
pub mod config;
mod context;
mod disputes;
mod findings;
mod kafka;
mod order;
mod outputs;
pub(crate) mod pipeline;
mod rebalance;
mod shared;
mod state_topic;
pub mod today;
pub(crate) mod writer;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use tokio_util::sync::CancellationToken;
use tracing::info;

use crate::catalog::Checks;
use crate::engine::{Engine, OpenFinding};
use crate::service::config::Config;
use crate::store::open::AnyStore;
use crate::store::{CheckpointStore, DisputeStore, ScoreStore};
use crate::telemetry::Health;
use crate::telemetry::Metrics;
use crate::web::api::{ApiState, Sessions};
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
    /// The same store's disputes (the demo's simulated departments file some).
    pub disputes: Arc<dyn DisputeStore>,
    /// The address the HTTP server is bound to (useful with port 0).
    pub http_address: SocketAddr,
    /// Signed-in browsers; one-time sign-in links are made here (the demo).
    pub sessions: Arc<Sessions>,
    shutdown: CancellationToken,
    pipeline: PipelineThread,
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
    /// Starts consuming and serving. Must run inside a Tokio runtime; the
    /// file and store work runs on blocking threads, and the HTTP server
    /// answers from the start (`/readyz` 503 until the state is loaded and
    /// partitions are assigned).
    pub async fn start(config: &Config) -> anyhow::Result<Service> {
        let (checks, store) = {
            let config = config.clone();
            blocking(move || {
                let checks = load_checks(&config)?;
                config
                    .api
                    .validate(&checks)
                    .map_err(|e| anyhow::anyhow!("{e}\nrefusing to start"))?;
                Ok((checks, open_store(&config)?))
            })
            .await?
        };
        let metrics = Arc::new(Metrics::new(&checks));
        let health = Arc::new(Health::default());
        let shutdown = CancellationToken::new();
        if let Some(warning) = config.api.deprecation_warning() {
            tracing::warn!("{warning}");
        }
        let api_state = ApiState::new(store.clone(), checks.clone(), Arc::new(config.api.clone()));
        let sessions = api_state.sessions.clone();
        // Stops with the service's token; nothing waits for it.
        findings::spawn(
            metrics.clone(),
            store.clone(),
            store.clone(),
            checks.clone(),
            shutdown.clone(),
        );
        let router = app_with_api(
            AppState {
                metrics: metrics.clone(),
                health: health.clone(),
            },
            api_state,
            &config.http,
        );
        let (http_address, http) = serve(config, router, shutdown.clone()).await?;
        let started = Started {
            checks,
            sessions,
            store,
            metrics,
            health,
            http_address,
            shutdown,
            http,
        };
        match started.consume(config).await {
            Ok(service) => Ok(service),
            Err((e, shutdown, http)) => {
                // Stop serving what will never become ready.
                shutdown.cancel();
                let _ = http.await;
                Err(e)
            }
        }
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
        let PipelineThread { result, thread } = self.pipeline;
        let result = tokio::task::spawn_blocking(move || result.recv())
            .await?
            .map_err(|_| anyhow::anyhow!("the pipeline thread panicked"))?;
        // Everything is in the store by now: a consumer that takes too long
        // to leave the group (a rebalance under way) must not hold the exit.
        let closed = tokio::task::spawn_blocking(move || thread.join());
        if tokio::time::timeout(CONSUMER_CLOSE_TIMEOUT, closed)
            .await
            .is_err()
        {
            tracing::warn!(
                timeout_secs = CONSUMER_CLOSE_TIMEOUT.as_secs(),
                "the consumer did not leave the group in time: stopping without it"
            );
        }
        // A pipeline that stopped on its own (store failure) stops the server too.
        self.shutdown.cancel();
        self.http.await?;
        result
    }
}

/// How long a stopped pipeline's consumer may take to leave the group.
const CONSUMER_CLOSE_TIMEOUT: Duration = Duration::from_secs(10);

/// The pipeline's thread: its outcome comes before the thread ends (closing
/// the consumer after it may wait for the group).
struct PipelineThread {
    result: std::sync::mpsc::Receiver<anyhow::Result<()>>,
    thread: std::thread::JoinHandle<()>,
}

/// A service whose HTTP side is up and whose consumer is not yet.
struct Started {
    checks: Arc<Checks>,
    sessions: Arc<Sessions>,
    store: Arc<AnyStore>,
    metrics: Arc<Metrics>,
    health: Arc<Health>,
    http_address: SocketAddr,
    shutdown: CancellationToken,
    http: tokio::task::JoinHandle<()>,
}

type StartError = (
    anyhow::Error,
    CancellationToken,
    tokio::task::JoinHandle<()>,
);

impl Started {
    /// Loads the engine state and today's counts (blocking threads), then
    /// starts the consumer on its own thread.
    async fn consume(self, config: &Config) -> Result<Service, StartError> {
        match self.load_and_subscribe(config).await {
            Ok((engine, today, pipeline)) => Ok(Service {
                metrics: self.metrics,
                health: self.health,
                engine,
                checks: self.checks,
                today,
                disputes: self.store.clone(),
                store: self.store,
                http_address: self.http_address,
                sessions: self.sessions,
                shutdown: self.shutdown,
                pipeline,
                http: self.http,
            }),
            Err(e) => Err((e, self.shutdown, self.http)),
        }
    }

    async fn load_and_subscribe(
        &self,
        config: &Config,
    ) -> anyhow::Result<(Arc<Engine>, Arc<Today>, PipelineThread)> {
        let (engine, today) = {
            let (config, checks, store) = (config.clone(), self.checks.clone(), self.store.clone());
            blocking(move || {
                let engine = restored_engine(&config, &checks, &*store)?;
                let now = checks.day_of(chrono::Utc::now().timestamp_millis());
                let today = Today::new(&checks, now);
                today.seed(&checks, &store.counts(now, now, None)?);
                Ok((Arc::new(engine), Arc::new(today)))
            })
            .await?
        };
        let (state_topic, lanes) = match &config.processing.state_topic {
            Some(topic) => {
                let (config, checks, topic) = (config.clone(), self.checks.clone(), topic.clone());
                let (t, l) =
                    blocking(move || state_topic::StateTopic::open(&config, &checks, &topic))
                        .await?;
                (Some(t), Some(l))
            }
            None => (None, None),
        };
        self.health
            .loaded
            .store(true, std::sync::atomic::Ordering::Relaxed);
        let context = PipelineContext::new(ContextParts {
            metrics: self.metrics.clone(),
            health: self.health.clone(),
            producer: kafka::producer(config)?,
            max_message_bytes: kafka::max_message_bytes(config),
            drain_timeout: Duration::from_secs(config.processing.shutdown_timeout_secs),
            engine: engine.clone(),
            checks: self.checks.clone(),
            checkpointing: Checkpointing {
                store: self.store.clone(),
                owner: owner(config),
                interval: Duration::from_millis(config.store.checkpoint_interval_ms),
                max_messages: config.store.checkpoint_max_messages,
                violations_kept: config.store.violations_kept_per_department,
            },
            merge: restored_merge(config, &engine),
            shared: lanes,
            shutdown: self.shutdown.clone(),
        });
        let pipeline = Pipeline {
            consumer: kafka::consumer(config, &self.checks, context)?,
            engine: engine.clone(),
            checks: self.checks.clone(),
            metrics: self.metrics.clone(),
            today: today.clone(),
            violations_topic: config.kafka.violations_topic.clone(),
            deadletter_topic: config.kafka.deadletter_topic.clone(),
            max_in_flight: config.processing.max_in_flight_messages,
            max_in_flight_bytes: config.processing.max_in_flight_bytes,
            workers: config.processing.workers,
            state_topic,
        };
        let token = self.shutdown.clone();
        let (done, result) = std::sync::mpsc::sync_channel(1);
        let thread = std::thread::Builder::new()
            .name("dqmon-pipeline".into())
            .spawn(move || {
                let _ = done.send(pipeline.run(token));
                // Closing the consumer leaves the group (its revoke callback
                // finds nothing left to checkpoint); the result is already known.
                drop(pipeline);
            })?;
        Ok((engine, today, PipelineThread { result, thread }))
    }
}

/// Runs file and store work off the async workers.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> anyhow::Result<T> + Send + 'static,
) -> anyhow::Result<T> {
    tokio::task::spawn_blocking(f).await?
}

/// An engine with the state the store saved.
fn restored_engine(
    config: &Config,
    checks: &Arc<Checks>,
    store: &dyn CheckpointStore,
) -> anyhow::Result<Engine> {
    let mut engine = Engine::new(checks.clone(), &config.secret()?).checkpointed();
    let (mut references, mut seen) = (Vec::new(), Vec::new());
    if config.processing.state_topic.is_some() {
        // The state topic, read from its beginning, is the state.
        engine =
            engine.shared(i64::try_from(config.processing.state_history_ms).unwrap_or(i64::MAX));
    } else {
        (references, seen) = (store.references()?, store.seen()?);
        engine.restore(&references, &seen);
    }
    let open = open_findings(checks, &store.open_findings()?);
    engine.restore_findings(&open);
    info!(
        references = references.len(),
        record_ids = seen.len(),
        open_findings = open.len(),
        "engine state restored from the score store"
    );
    Ok(engine)
}

/// Stored open findings as the engine keeps them; those of datasets or
/// checks the contracts no longer have are left out (nothing can fix them).
fn open_findings(checks: &Checks, rows: &[crate::store::OpenFindingRow]) -> Vec<OpenFinding> {
    rows.iter()
        .filter_map(|r| {
            let ds = checks.datasets.iter().find(|d| d.name == r.dataset)?;
            let check = ds.checks.iter().position(|c| c.id == r.check)?;
            Some(OpenFinding {
                key: r.key,
                check,
                opened_ms: r.opened_ms,
            })
        })
        .collect()
}

/// The merge of partitions into message-time order; records older than what
/// the restored state saw are late.
fn restored_merge(config: &Config, engine: &Engine) -> order::Merge<order::Fetched> {
    let p = &config.processing;
    let mut merge = order::Merge::new(Duration::from_millis(p.max_lag_ms), p.max_buffered_bytes);
    if let Some(latest) = engine.latest_ms() {
        merge.resume_after(latest);
    }
    merge
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

/// Opens the configured score store (the SQLite file or the PostgreSQL
/// database); errors name it without a password.
pub fn open_store(config: &Config) -> anyhow::Result<Arc<AnyStore>> {
    let location = config.store.location();
    let store = AnyStore::open(&location, config.store.violations_kept_per_department)
        .with_context(|| format!("{location}: opening the score store"))?;
    Ok(Arc::new(store))
}

/// This instance's name in the store's partition claims, for operators:
/// the consumer group, the host and the process.
fn owner(config: &Config) -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "unknown-host".into());
    format!("{}@{host}:{}", config.kafka.group_id, std::process::id())
}

/// The store refused a checkpoint: another instance claimed one of this
/// instance's partitions since (it was paused past its session timeout, say).
/// What it judged since its last checkpoint was not written, and is the new
/// owner's to count.
#[derive(Debug, thiserror::Error)]
#[error(
    "fenced: another instance owns a partition this one was judging; nothing of it was written"
)]
pub struct Fenced;

/// `dqmon run`: until SIGTERM or SIGINT, or until the store fails. Fenced,
/// it starts again from the store and the state topic (its memory was ahead
/// of the store) and rejoins the group.
pub async fn run(config: Config) -> anyhow::Result<()> {
    let terminated = termination();
    tokio::pin!(terminated);
    loop {
        let service = Service::start(&config).await?;
        let token = service.shutdown_token();
        tokio::select! {
            _ = &mut terminated => {
                info!("termination signal: shutting down");
                return match service.stop().await {
                    // Fenced while stopping: nothing of it was the store's to take.
                    Err(e) if e.is::<Fenced>() => {
                        tracing::warn!(error = %e, "stopped");
                        Ok(())
                    }
                    result => result,
                };
            }
            _ = token.cancelled() => {}
        }
        match service.wait().await {
            Err(e) if e.is::<Fenced>() => {
                tracing::warn!(error = %e, "rejoining the group from the score store");
            }
            result => return result,
        }
    }
}
