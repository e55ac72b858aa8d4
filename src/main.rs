//! The `dqmon` command line.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};

use dqmon::catalog;
use dqmon::engine::Engine;

#[derive(Parser)]
#[command(
    name = "dqmon",
    version,
    about = "Streaming data-quality monitor for a Kafka exchange bus"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Load and compile every contract; report every problem, exit 1 on any.
    Validate {
        /// The checks folder.
        #[arg(long, default_value = "checks")]
        checks: PathBuf,
    },
    /// Evaluate messages from a JSON Lines file with the service's semantics.
    Eval {
        /// The checks folder.
        #[arg(long, default_value = "checks")]
        checks: PathBuf,
        /// Message envelopes, one JSON object a line; `-` for standard input.
        #[arg(long)]
        input: PathBuf,
        /// Where to write the report (standard output when absent).
        #[arg(long)]
        output: Option<PathBuf>,
        /// Where to write violations, one JSON object a line.
        #[arg(long)]
        violations: Option<PathBuf>,
    },
    /// Run the monitor on a Kafka bus until SIGTERM or SIGINT.
    Run {
        /// The service configuration (TOML); `DQMON_<SECTION>__<KEY>` variables override it.
        #[arg(long)]
        config: PathBuf,
    },
    /// Print the departments' scores for a period from the score store.
    Scores {
        /// The checks folder (weights and datasets).
        #[arg(long, default_value = "checks")]
        checks: PathBuf,
        /// The score store (`store.path` of the service configuration).
        #[arg(long, default_value = "dqmon.sqlite")]
        store: PathBuf,
        /// 2026-06-15, 2026-W24, 2026-06, 2026-Q2, 2026 or 2026-04-01..2026-06-30.
        #[arg(long, conflicts_with_all = ["from", "to"])]
        period: Option<String>,
        /// First day (YYYY-MM-DD), with --to.
        #[arg(long, requires = "to")]
        from: Option<String>,
        /// Last day (YYYY-MM-DD), with --from.
        #[arg(long, requires = "from")]
        to: Option<String>,
        /// Only this department.
        #[arg(long)]
        department: Option<String>,
        #[arg(long, value_enum, default_value = "table")]
        format: dqmon::cli::scores::Format,
        /// Worst checks listed per department in the table.
        #[arg(long, default_value_t = 3)]
        worst: usize,
    },
    /// Everything on one machine: an in-process Kafka, six simulated departments, the monitor.
    Demo {
        /// The checks folder.
        #[arg(long, default_value = "checks")]
        checks: PathBuf,
        /// Stop after this many seconds (default: run until Ctrl-C).
        #[arg(long)]
        duration: Option<u64>,
        /// Simulated messages per second.
        #[arg(long, default_value_t = 200.0)]
        rate: f64,
        /// Stop publishing after this many messages; the monitor keeps serving.
        #[arg(long)]
        count: Option<u64>,
        /// Address of the metrics and API.
        #[arg(long, default_value = "127.0.0.1:9898")]
        http: std::net::SocketAddr,
        /// Seed of the simulated traffic.
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// The score store file (default: a fresh temporary file, removed at the end).
        #[arg(long)]
        store: Option<PathBuf>,
        /// The officer token of the API and scorecard (default: a random one, printed).
        #[arg(long)]
        token: Option<String>,
    },
    /// Publish simulated traffic of the six departments to a real broker.
    Simulate {
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
        /// The checks folder (for the division table).
        #[arg(long, default_value = "checks")]
        checks: PathBuf,
        /// A librdkafka property for the producer, `key=value` (repeatable): SASL, TLS...
        #[arg(long = "property", value_parser = parse_property)]
        properties: Vec<(String, String)>,
    },
}

fn parse_property(s: &str) -> Result<(String, String), String> {
    s.split_once('=')
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .ok_or_else(|| format!("`{s}` is not key=value"))
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a Tokio runtime")
}

fn report(result: anyhow::Result<()>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("DQMON_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    match cli.command {
        Command::Validate { checks } => match catalog::load(&checks) {
            Ok(c) => {
                println!(
                    "{}: {} contracts, {} departments, {} entities, {} checks: ok",
                    checks.display(),
                    c.datasets.len(),
                    c.departments.len(),
                    c.entities.len(),
                    c.total_checks()
                );
                ExitCode::SUCCESS
            }
            Err(errors) => {
                eprintln!("{errors}");
                eprintln!("{} problem(s) found", errors.0.len());
                ExitCode::FAILURE
            }
        },
        Command::Eval {
            checks,
            input,
            output,
            violations,
        } => {
            let loaded = match catalog::load(&checks) {
                Ok(c) => Arc::new(c),
                Err(errors) => {
                    eprintln!("{errors}");
                    return ExitCode::FAILURE;
                }
            };
            // Results do not depend on the key; a fresh one keeps nothing linkable.
            let secret: [u8; 32] = rand::random();
            let engine = Engine::new(loaded, &secret);
            match dqmon::cli::eval::run(&engine, &input, output.as_deref(), violations.as_deref()) {
                Ok(_) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("{e}");
                    ExitCode::FAILURE
                }
            }
        }
        Command::Scores {
            checks,
            store,
            period,
            from,
            to,
            department,
            format,
            worst,
        } => report(dqmon::cli::scores::run(
            &dqmon::cli::scores::ScoresOptions {
                checks_dir: checks,
                store,
                period,
                from,
                to,
                department,
                format,
                worst,
            },
        )),
        Command::Run { config } => {
            let config = match dqmon::service::config::Config::load(Some(&config)) {
                Ok(c) => c,
                Err(e) => {
                    eprintln!("{}: {e}", config.display());
                    return ExitCode::FAILURE;
                }
            };
            report(runtime().block_on(dqmon::service::run(config)))
        }
        Command::Demo {
            checks,
            duration,
            rate,
            count,
            http,
            seed,
            store,
            token,
        } => report(
            runtime().block_on(dqmon::cli::demo::run(dqmon::cli::demo::DemoOptions {
                checks_dir: checks,
                duration: duration.map(std::time::Duration::from_secs),
                rate,
                count,
                http,
                seed,
                store,
                token,
            })),
        ),
        Command::Simulate {
            bootstrap_servers,
            count,
            rate,
            seed,
            checks,
            properties,
        } => report(runtime().block_on(simulate(
            bootstrap_servers,
            count,
            rate,
            seed,
            checks,
            properties,
        ))),
    }
}

async fn simulate(
    bootstrap_servers: String,
    count: Option<u64>,
    rate: f64,
    seed: u64,
    checks: PathBuf,
    properties: Vec<(String, String)>,
) -> anyhow::Result<()> {
    let checks = dqmon::catalog::load(&checks).map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut sim = dqmon::sim::Simulator::new(
        dqmon::sim::SimConfig {
            seed,
            ..Default::default()
        },
        &checks,
    );
    let mut config = rdkafka::ClientConfig::new();
    config
        .set("bootstrap.servers", &bootstrap_servers)
        .set("linger.ms", "5")
        .set("acks", "all");
    for (k, v) in &properties {
        config.set(k, v);
    }
    let producer: rdkafka::producer::FutureProducer = config.create()?;
    let cancel = tokio_util::sync::CancellationToken::new();
    let stop = cancel.clone();
    tokio::spawn(async move {
        dqmon::service::termination().await;
        stop.cancel();
    });
    let published = dqmon::sim::publish(
        &producer,
        &mut sim,
        dqmon::sim::Pace { count, rate },
        &cancel,
    )
    .await;
    eprintln!("published {published} messages to {bootstrap_servers}");
    Ok(())
}
