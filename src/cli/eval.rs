//! `dqmon eval`: the service's semantics over a JSON Lines file of messages,
//! in file order, without Kafka.

use std::io::{BufRead, Write};
use std::path::Path;

use crate::engine::Engine;
use crate::engine::violations;
use crate::model::Violation;
use crate::model::{Envelope, Message};
use crate::tally::{Report, Tally};

/// Problems of the input file itself (not of the messages in it).
#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}:{line}: {message}")]
    Envelope {
        path: String,
        line: usize,
        message: String,
    },
}

/// Evaluates every envelope of `input`, handing each violation to `on_violation`.
pub fn evaluate_lines(
    engine: &Engine,
    input: impl BufRead,
    input_name: &str,
    mut on_violation: impl FnMut(&Violation) -> std::io::Result<()>,
) -> Result<Tally, EvalError> {
    let checks = engine.checks().clone();
    let mut tally = Tally::new(&checks);
    let io = |source| EvalError::Io {
        path: input_name.to_string(),
        source,
    };
    for (n, line) in input.lines().enumerate() {
        let line = line.map_err(io)?;
        if line.trim().is_empty() {
            continue;
        }
        let bad = |message: String| EvalError::Envelope {
            path: input_name.to_string(),
            line: n + 1,
            message,
        };
        let envelope: Envelope =
            serde_json::from_str(&line).map_err(|e| bad(format!("not a message envelope: {e}")))?;
        let payload = envelope.payload().map_err(bad)?;
        let msg = Message {
            topic: &envelope.topic,
            partition: envelope.partition,
            offset: envelope.offset,
            timestamp_ms: envelope.timestamp,
            key: envelope.key.as_deref().map(str::as_bytes),
            payload: payload.as_deref(),
        };
        let outcome = engine.evaluate(&msg, checks.day_of(msg.timestamp_ms));
        if let Some(o) = &outcome {
            let ds = &checks.datasets[o.dataset];
            for v in violations(&msg, ds, o) {
                on_violation(&v).map_err(io)?;
            }
        }
        tally.add(outcome.as_ref());
    }
    Ok(tally)
}

/// The whole command: reads `input` (`-` for standard input), writes the report
/// to `output` (standard output when `None`) and violations as JSON Lines.
pub fn run(
    engine: &Engine,
    input: &Path,
    output: Option<&Path>,
    violations_path: Option<&Path>,
) -> Result<Report, EvalError> {
    let io_at = |p: &Path| {
        let path = p.display().to_string();
        move |source| EvalError::Io { path, source }
    };
    let mut violations_out = match violations_path {
        Some(p) => Some(std::io::BufWriter::new(
            std::fs::File::create(p).map_err(io_at(p))?,
        )),
        None => None,
    };
    let write_violation = |v: &Violation| -> std::io::Result<()> {
        if let Some(w) = violations_out.as_mut() {
            serde_json::to_writer(&mut *w, v)?;
            w.write_all(b"\n")?;
        }
        Ok(())
    };
    let tally = if input == Path::new("-") {
        evaluate_lines(engine, std::io::stdin().lock(), "-", write_violation)?
    } else {
        let file = std::fs::File::open(input).map_err(io_at(input))?;
        evaluate_lines(
            engine,
            std::io::BufReader::new(file),
            &input.display().to_string(),
            write_violation,
        )?
    };
    if let (Some(w), Some(p)) = (violations_out.as_mut(), violations_path) {
        w.flush().map_err(io_at(p))?;
    }
    let report = Report::new(engine.checks(), &tally);
    let mut text = serde_json::to_string_pretty(&report).expect("a report serializes");
    text.push('\n');
    match output {
        Some(p) => std::fs::write(p, text).map_err(io_at(p))?,
        None => std::io::stdout()
            .write_all(text.as_bytes())
            .map_err(io_at(Path::new("-")))?,
    }
    Ok(report)
}
