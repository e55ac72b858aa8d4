//! `dqmon eval`: the service's semantics over a JSON Lines file of messages,
//! without Kafka. Messages are judged in the bus's order ([`OrderKey`]: by
//! message timestamp, then topic, partition, offset, then line), whatever
//! order the file lists them in, as the service judges them whatever order
//! it reads partitions in; so the two agree by construction. The whole file
//! is read before the first judgement (memory about the file's size).

use std::io::{BufRead, Write};
use std::path::Path;

use crate::engine::Engine;
use crate::engine::violations;
use crate::model::Violation;
use crate::model::{Envelope, Message, OrderKey};
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

/// One envelope of the input, its payload decoded: what is kept until every
/// line is read and the messages can be put in order.
struct Line {
    number: usize,
    envelope: Envelope,
    payload: Option<Vec<u8>>,
}

impl Line {
    fn message(&self) -> Message<'_> {
        let e = &self.envelope;
        Message {
            topic: &e.topic,
            partition: e.partition,
            offset: e.offset,
            timestamp_ms: e.timestamp,
            key: e.key.as_deref().map(str::as_bytes),
            payload: self.payload.as_deref(),
        }
    }

    fn order(&self) -> (OrderKey<'_>, usize) {
        (self.message().order_key(), self.number)
    }
}

/// Reads every envelope; a line that is not one stops with its number.
fn read_lines(input: impl BufRead, input_name: &str) -> Result<Vec<Line>, EvalError> {
    let mut lines = Vec::new();
    for (n, line) in input.lines().enumerate() {
        let line = line.map_err(|source| EvalError::Io {
            path: input_name.to_string(),
            source,
        })?;
        if line.trim().is_empty() {
            continue;
        }
        let bad = |message: String| EvalError::Envelope {
            path: input_name.to_string(),
            line: n + 1,
            message,
        };
        let mut envelope: Envelope =
            serde_json::from_str(&line).map_err(|e| bad(format!("not a message envelope: {e}")))?;
        let payload = envelope.payload().map_err(bad)?;
        // Decoded once: the parsed value is not needed any more.
        envelope.value = None;
        envelope.value_base64 = None;
        lines.push(Line {
            number: n + 1,
            envelope,
            payload,
        });
    }
    Ok(lines)
}

/// Evaluates every envelope of `input` in the bus's order, handing each
/// violation to `on_violation`.
pub fn evaluate_lines(
    engine: &Engine,
    input: impl BufRead,
    input_name: &str,
    mut on_violation: impl FnMut(&Violation) -> std::io::Result<()>,
) -> Result<Tally, EvalError> {
    let checks = engine.checks().clone();
    let mut tally = Tally::new(&checks);
    let mut lines = read_lines(input, input_name)?;
    lines.sort_by(|a, b| a.order().cmp(&b.order()));
    for line in &lines {
        let msg = line.message();
        let outcome = engine.evaluate(&msg, checks.day_of(msg.timestamp_ms));
        if let Some(o) = &outcome {
            let ds = &checks.datasets[o.dataset];
            for v in violations(&msg, ds, o) {
                on_violation(&v).map_err(|source| EvalError::Io {
                    path: input_name.to_string(),
                    source,
                })?;
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

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::path::Path;
    use std::sync::Arc;

    use super::*;
    use crate::sim::{SimConfig, Simulator};

    /// Simulated traffic as eval input lines, each topic's offsets from 0.
    fn lines(n: usize) -> Vec<String> {
        let checks = crate::catalog::load(Path::new("checks")).unwrap();
        let mut sim = Simulator::new(
            SimConfig {
                seed: 5,
                ..SimConfig::default()
            },
            &checks,
        );
        let mut offsets: BTreeMap<String, i64> = BTreeMap::new();
        sim.batch(n, 1_781_488_800_000, 10)
            .into_iter()
            .map(|m| {
                let offset = offsets.entry(m.topic.clone()).or_default();
                *offset += 1;
                serde_json::json!({
                    "topic": m.topic, "partition": 0, "offset": *offset - 1,
                    "timestamp": m.timestamp_ms, "key": m.key,
                    "value_base64": base64::Engine::encode(
                        &base64::engine::general_purpose::STANDARD, &m.payload),
                })
                .to_string()
            })
            .collect()
    }

    fn evaluate(lines: &[String]) -> (Tally, Vec<Violation>) {
        let checks = Arc::new(crate::catalog::load(Path::new("checks")).unwrap());
        let engine = Engine::new(checks, b"eval order test");
        let mut found = Vec::new();
        let text = lines.join("\n");
        let tally = evaluate_lines(&engine, text.as_bytes(), "test", |v| {
            found.push(v.clone());
            Ok(())
        })
        .unwrap();
        (tally, found)
    }

    #[test]
    fn the_file_order_does_not_change_any_outcome() {
        let natural = lines(3_000);
        let (tally, found) = evaluate(&natural);
        let consistency = crate::model::Dimension::Consistency;
        assert!(
            tally
                .datasets
                .iter()
                .any(|d| d.dimension(consistency).failed > 0),
            "the traffic has cross-source conflicts"
        );
        let mut reversed = natural.clone();
        reversed.reverse();
        // The worst order for cross-source checks: the authorities last.
        let mut authorities_last = natural.clone();
        authorities_last.sort_by_key(|l| {
            l.contains("household_registration") || l.contains("business_registration")
        });
        for other in [reversed, authorities_last] {
            assert_ne!(other, natural);
            let (t, v) = evaluate(&other);
            assert_eq!(t, tally);
            assert_eq!(v, found, "the same violations in the same order");
        }
    }
}
