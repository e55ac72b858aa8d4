//! Records per second on one core: JSON parsing alone, against parsing plus
//! full evaluation, on a generated realistic mix of the six datasets (about
//! 5 % defective records); also the engine's own parse alone (straight into
//! field slots), to show what evaluation proper costs. Compiling the
//! contracts is measured on its own.
//!
//! cargo bench --bench engine
//!
//! The `workers` group evaluates the same mix on 1 and 2 threads.
//!
//! The two run one after the other, so a noisy machine skews their ratio;
//! `cargo run --release --example engine_ratio` interleaves them instead.

use std::hint::black_box;
use std::path::Path;
use std::sync::Arc;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use dqmon::engine::{Engine, record};
use dqmon::sim::SimMessage;

const RECORDS: usize = 20_000;

fn mix() -> Vec<SimMessage> {
    dqmon::sim::benchmark_mix(&dqmon::catalog::load(Path::new("checks")).unwrap(), RECORDS)
}

fn compile(c: &mut Criterion) {
    c.bench_function("compile/load_checks", |b| {
        b.iter(|| dqmon::catalog::load(black_box(Path::new("checks"))).unwrap())
    });
}

fn records(c: &mut Criterion) {
    let checks = Arc::new(dqmon::catalog::load(Path::new("checks")).unwrap());
    let messages = mix();
    let mut group = c.benchmark_group("records");
    group.throughput(Throughput::Elements(messages.len() as u64));
    group.sample_size(20);
    group.bench_function("parse_only", |b| {
        b.iter(|| {
            for m in &messages {
                let v: Result<serde_json::Value, _> = serde_json::from_slice(&m.payload);
                black_box(v.ok());
            }
        })
    });
    group.bench_function("engine_parse_only", |b| {
        b.iter(|| {
            for m in &messages {
                if let Some(ds) = checks.dataset_for_topic(&m.topic) {
                    let parsed = record::parse(&ds.by_name, Some(&m.payload));
                    black_box(parsed.ok());
                }
            }
        })
    });
    group.bench_function("parse_and_evaluate", |b| {
        // A fresh engine each pass, so uniqueness sees the mix as it is, not as re-sends.
        b.iter_batched(
            || Engine::new(checks.clone(), b"bench"),
            |engine| {
                for m in &messages {
                    black_box(engine.evaluate(&m.as_message(), checks.day_of(m.timestamp_ms)));
                }
                engine
            },
            BatchSize::PerIteration,
        )
    });
    group.finish();
}

/// The same evaluation on 1 and 2 workers (`Engine::evaluate_batch`): the
/// stateless half on every worker, the stateful half in order.
fn workers(c: &mut Criterion) {
    let checks = Arc::new(dqmon::catalog::load(Path::new("checks")).unwrap());
    let messages = mix();
    let batch: Vec<_> = messages
        .iter()
        .map(|m| (m.as_message(), checks.day_of(m.timestamp_ms)))
        .collect();
    let mut group = c.benchmark_group("workers");
    group.throughput(Throughput::Elements(messages.len() as u64));
    group.sample_size(20);
    for n in [1, 2] {
        group.bench_function(format!("evaluate_batch/{n}"), |b| {
            b.iter_batched(
                || Engine::new(checks.clone(), b"bench"),
                |engine| {
                    // Batches of the pipeline's size.
                    for part in batch.chunks(4096) {
                        engine.evaluate_batch(part, n, |_, o| {
                            black_box(o);
                        });
                    }
                    engine
                },
                BatchSize::PerIteration,
            )
        });
    }
    group.finish();
}

criterion_group!(benches, compile, records, workers);
criterion_main!(benches);
