//! Evaluation speed as a ratio of JSON parsing speed, on the engine benchmark's
//! workload (`benches/engine.rs`), measured by interleaving the passes so that
//! a noisy machine slows them alike: round after round, one pass parses every
//! message into a `serde_json::Value` (the target's baseline), one evaluates
//! every message with a fresh engine, and one runs only the engine's own
//! parse (`engine::record::parse`), to show what evaluation proper costs.
//!
//! cargo run --release --example engine_ratio -- [ROUNDS]

use std::hint::black_box;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use dqmon::engine::{Engine, record};

const RECORDS: usize = 20_000;

fn main() -> anyhow::Result<()> {
    let rounds: usize = match std::env::args().nth(1) {
        Some(n) => n.parse()?,
        None => 40,
    };
    let checks = Arc::new(dqmon::catalog::load(Path::new("checks"))?);
    let messages = dqmon::sim::benchmark_mix(&checks, RECORDS);

    let (mut ratios, mut own_parse_shares) = (Vec::new(), Vec::new());
    let mut best = [f64::MAX; 3];
    for _ in 0..rounds {
        let start = Instant::now();
        for m in &messages {
            let v: Result<serde_json::Value, _> = serde_json::from_slice(&m.payload);
            black_box(v.ok());
        }
        let parse = start.elapsed().as_secs_f64();

        // A fresh engine each pass, as in the criterion benchmark.
        let engine = Engine::new(checks.clone(), b"bench");
        let start = Instant::now();
        for m in &messages {
            black_box(engine.evaluate(&m.as_message(), checks.day_of(m.timestamp_ms)));
        }
        let eval = start.elapsed().as_secs_f64();
        drop(engine);

        let start = Instant::now();
        for m in &messages {
            if let Some(ds) = checks.dataset_for_topic(&m.topic) {
                let parsed = record::parse(&ds.by_name, Some(&m.payload));
                black_box(parsed.ok());
            }
        }
        let own_parse = start.elapsed().as_secs_f64();

        ratios.push(parse / eval);
        own_parse_shares.push(own_parse / eval);
        for (b, t) in best.iter_mut().zip([parse, eval, own_parse]) {
            *b = b.min(t);
        }
    }
    let quartiles = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        let q = |p: f64| v[((v.len() - 1) as f64 * p).round() as usize];
        (q(0.25), q(0.5), q(0.75))
    };
    let (q1, median, q3) = quartiles(&mut ratios);
    let (_, share, _) = quartiles(&mut own_parse_shares);
    let rate = |t: f64| RECORDS as f64 / t / 1e3;
    println!(
        "{rounds} rounds of {RECORDS} records: evaluation/parsing speed ratio median {median:.3} \
         (quartiles {q1:.3}..{q3:.3}); best passes: parse {:.0} k rec/s, parse + evaluate \
         {:.0} k rec/s, the engine's own parse alone {:.0} k rec/s ({:.0} % of evaluation time)",
        rate(best[0]),
        rate(best[1]),
        rate(best[2]),
        share * 100.0,
    );
    Ok(())
}
