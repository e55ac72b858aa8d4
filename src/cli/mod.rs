//! The `dqmon` command line: one subcommand per file, each a thin layer over
//! the modules below it.

pub(crate) mod demo;
pub mod eval;
pub(crate) mod scores;
mod simulate;
mod token;
mod verify;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};

use crate::catalog;
use crate::engine::Engine;

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
        /// Also check a service configuration (TOML, with the `DQMON_` environment).
        #[arg(long)]
        config: Option<PathBuf>,
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
    Scores(scores::ScoresOptions),
    /// Maintain the score store.
    #[command(subcommand)]
    Store(StoreCommand),
    /// Everything on one machine: an in-process Kafka, six simulated departments, the monitor.
    Demo(demo::DemoOptions),
    /// Publish simulated traffic of the six departments to a real broker.
    Simulate(simulate::SimulateOptions),
    /// Make API tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Check a sealed report's chain (canonical JSON, hashes, amendments); no store needed.
    VerifyReport {
        /// The chain file (`GET /api/v1/seals/chain`, `dqmon scores --chain`); `-` for standard input.
        file: PathBuf,
    },
}

#[derive(Subcommand)]
enum TokenCommand {
    /// A random token (printed once) and its `[[api.tokens]]` entry (its SHA-256).
    New(token::TokenOptions),
}

#[derive(Subcommand)]
enum StoreCommand {
    /// Bring a store written by an older dqmon up to this one's schema (back it up first).
    Migrate {
        #[command(flatten)]
        store: StoreOptions,
    },
}

/// Which score store a command reads: a file, or a PostgreSQL database.
#[derive(clap::Args)]
pub(crate) struct StoreOptions {
    /// The SQLite score store (`store.path` of the service configuration;
    /// default dqmon.sqlite).
    #[arg(long, value_name = "FILE", conflicts_with = "store_url")]
    store: Option<PathBuf>,
    /// A PostgreSQL score store (`store.url`), postgres://user@host:port/db.
    /// A password is better given in the environment than on the command line.
    #[arg(
        long,
        value_name = "URL",
        env = "DQMON_STORE__URL",
        hide_env_values = true
    )]
    store_url: Option<String>,
}

impl StoreOptions {
    pub(crate) fn location(&self) -> crate::store::open::StoreLocation {
        use crate::store::open::StoreLocation;
        match (&self.store_url, &self.store) {
            (Some(url), _) => StoreLocation::Postgres(url.clone()),
            (None, Some(path)) => StoreLocation::Sqlite(path.clone()),
            (None, None) => StoreLocation::Sqlite(PathBuf::from("dqmon.sqlite")),
        }
    }
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

/// Parses the command line and runs the command; logs go to standard error.
pub fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("DQMON_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    match Cli::parse().command {
        Command::Validate { checks, config } => validate(&checks, config.as_deref()),
        Command::Eval {
            checks,
            input,
            output,
            violations,
        } => eval(&checks, &input, output.as_deref(), violations.as_deref()),
        Command::Scores(opts) => report(scores::run(&opts)),
        Command::Store(StoreCommand::Migrate { store }) => report(migrate(&store)),
        Command::Run { config } => {
            let config = match crate::service::config::Config::load(Some(&config)) {
                Ok(c) => c,
                Err(e) => {
                    eprintln!("{}: {e}", config.display());
                    return ExitCode::FAILURE;
                }
            };
            report(runtime().block_on(crate::service::run(config)))
        }
        Command::Demo(opts) => report(runtime().block_on(demo::run(opts))),
        Command::Simulate(opts) => report(runtime().block_on(simulate::run(opts))),
        Command::Token(TokenCommand::New(opts)) => report(token::run(&opts)),
        Command::VerifyReport { file } => report(verify::run(&file)),
    }
}

/// `dqmon validate`: the same loading as the service's start-up, of the
/// contracts and, if given, of the configuration.
fn validate(checks: &std::path::Path, config: Option<&std::path::Path>) -> ExitCode {
    if let Some(path) = config
        && let Err(e) = crate::service::config::Config::load(Some(path))
    {
        eprintln!("{}: {e}", path.display());
        return ExitCode::FAILURE;
    }
    match catalog::load(checks) {
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
    }
}

/// `dqmon store migrate`.
fn migrate(store: &StoreOptions) -> anyhow::Result<()> {
    use crate::store::open::AnyStore;
    let location = store.location();
    if AnyStore::is_missing_file(&location) {
        anyhow::bail!("{location}: no such score store");
    }
    let (before, after) =
        AnyStore::migrate(&location).map_err(|e| anyhow::anyhow!("{location}: {e}"))?;
    println!("{location}: schema version {before} -> {after}");
    Ok(())
}

/// `dqmon eval`.
fn eval(
    checks: &std::path::Path,
    input: &std::path::Path,
    output: Option<&std::path::Path>,
    violations: Option<&std::path::Path>,
) -> ExitCode {
    let loaded = match catalog::load(checks) {
        Ok(c) => Arc::new(c),
        Err(errors) => {
            eprintln!("{errors}");
            return ExitCode::FAILURE;
        }
    };
    // Results do not depend on the key; a fresh one keeps nothing linkable.
    let secret: [u8; 32] = rand::random();
    let engine = Engine::new(loaded, &secret);
    match eval::run(&engine, input, output, violations) {
        Ok(_) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{e}");
            ExitCode::FAILURE
        }
    }
}
