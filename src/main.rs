//! The `dqmon` command line.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};

use dqmon::checks;
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
        Command::Validate { checks } => match checks::load(&checks) {
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
            let loaded = match checks::load(&checks) {
                Ok(c) => Arc::new(c),
                Err(errors) => {
                    eprintln!("{errors}");
                    return ExitCode::FAILURE;
                }
            };
            // Results do not depend on the key; a fresh one keeps nothing linkable.
            let secret: [u8; 32] = rand::random();
            let engine = Engine::new(loaded, &secret);
            match dqmon::eval::run(&engine, &input, output.as_deref(), violations.as_deref()) {
                Ok(_) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("{e}");
                    ExitCode::FAILURE
                }
            }
        }
    }
}
