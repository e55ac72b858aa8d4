//! Evaluation speed as a ratio of JSON parsing speed, on the engine benchmark's
//! workload (`benches/engine.rs`), measured by interleaving the two passes so
//! that a noisy machine slows both alike: round after round, one pass parses
//! every message, the next evaluates every message with a fresh engine.
//!
//! cargo run --release --example engine_ratio -- [ROUNDS]

use std::hint::black_box;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use dqmon::engine::Engine;

const RECORDS: usize = 20_000;

fn main() -> anyhow::Result<()> {
    let rounds: usize = match std::env::args().nth(1) {
        Some(n) => n.parse()?,
        None => 40,
    };
    let messages =
        dqmon::simulate::benchmark_mix(Path::new("checks"), RECORDS).map_err(anyhow::Error::msg)?;
    let checks = Arc::new(dqmon::checks::load(Path::new("checks"))?);

    let mut ratios = Vec::with_capacity(rounds);
    let (mut parse_best, mut eval_best) = (f64::MAX, f64::MAX);
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
            black_box(engine.evaluate(&m.as_message()));
        }
        let eval = start.elapsed().as_secs_f64();
        drop(engine);

        ratios.push(parse / eval);
        parse_best = parse_best.min(parse);
        eval_best = eval_best.min(eval);
    }
    ratios.sort_by(f64::total_cmp);
    let q = |p: f64| ratios[((ratios.len() - 1) as f64 * p).round() as usize];
    println!(
        "{rounds} rounds of {RECORDS} records: evaluation/parsing speed ratio median {:.3} \
         (quartiles {:.3}..{:.3}); best passes: parse {:.0} k rec/s, parse + evaluate {:.0} k rec/s",
        q(0.5),
        q(0.25),
        q(0.75),
        RECORDS as f64 / parse_best / 1e3,
        RECORDS as f64 / eval_best / 1e3,
    );
    Ok(())
}
