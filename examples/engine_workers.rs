//! Evaluation on 1 and 2 workers (`Engine::evaluate_batch`), interleaved
//! round by round so that a noisy machine slows both alike, on the engine
//! benchmark's workload; also the share of one thread's time spent in each
//! half (prepare: anywhere; judge: in order), which bounds the speed-up
//! (Amdahl: at most 1 / (judge + prepare / n) on n cores).
//!
//! cargo run --release --example engine_workers -- [ROUNDS] [MAX_WORKERS]

use std::hint::black_box;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use dqmon::engine::Engine;

const RECORDS: usize = 20_000;
/// The pipeline's sub-batch.
const SUB_BATCH: usize = 1024;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let rounds: usize = args.next().map_or(Ok(30), |n| n.parse())?;
    let max_workers: usize = args.next().map_or(Ok(2), |n| n.parse())?;
    let checks = Arc::new(dqmon::catalog::load(Path::new("checks"))?);
    let messages = dqmon::sim::benchmark_mix(&checks, RECORDS);
    let batch: Vec<_> = messages
        .iter()
        .map(|m| (m.as_message(), checks.day_of(m.timestamp_ms)))
        .collect();

    let mut rates: Vec<Vec<f64>> = vec![Vec::new(); max_workers];
    let mut judge_shares = Vec::new();
    for _ in 0..rounds {
        for workers in 1..=max_workers {
            let engine = Engine::new(checks.clone(), b"bench");
            let start = Instant::now();
            for part in batch.chunks(SUB_BATCH) {
                engine.evaluate_batch(part, workers, |_, o| {
                    black_box(o);
                });
            }
            rates[workers - 1].push(RECORDS as f64 / start.elapsed().as_secs_f64());
        }
        // The halves apart, on one thread.
        let engine = Engine::new(checks.clone(), b"bench");
        let start = Instant::now();
        let prepared: Vec<_> = batch.iter().map(|(m, d)| engine.prepare(m, *d)).collect();
        let prepare = start.elapsed().as_secs_f64();
        let start = Instant::now();
        for p in prepared.into_iter().flatten() {
            black_box(engine.judge(p));
        }
        let judge = start.elapsed().as_secs_f64();
        judge_shares.push(judge / (prepare + judge));
    }
    let one = median(rates[0].clone());
    println!("records: {RECORDS}, rounds: {rounds}, sub-batch: {SUB_BATCH}");
    for (i, r) in rates.iter().enumerate() {
        let ratios: Vec<f64> = r.iter().zip(&rates[0]).map(|(a, b)| a / b).collect();
        println!(
            "{} worker(s): median {:.0} records/s, {:.2}x one worker (median of same-round ratios {:.2})",
            i + 1,
            median(r.clone()),
            median(r.clone()) / one,
            median(ratios),
        );
    }
    let j = median(judge_shares);
    println!(
        "one thread: judge {:.1} % of the time, prepare {:.1} %; Amdahl bound on 2 cores {:.2}x, on 16 {:.2}x",
        100.0 * j,
        100.0 * (1.0 - j),
        1.0 / (j + (1.0 - j) / 2.0),
        1.0 / (j + (1.0 - j) / 16.0),
    );
    Ok(())
}
