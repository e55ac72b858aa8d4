//! Records per second on one core: JSON parsing alone, against parsing plus
//! full evaluation, on a generated realistic mix of the six datasets (about
//! 5 % defective records). Compiling the contracts is measured on its own.
//!
//! cargo bench --bench engine

use std::hint::black_box;
use std::path::Path;
use std::sync::Arc;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use dqmon::engine::Engine;
use dqmon::message::Message;
use dqmon::simulate::{SimConfig, SimMessage, Simulator};

const RECORDS: usize = 20_000;
/// 2026-06-15T10:00:00+08:00
const START_MS: i64 = 1_781_488_800_000;

fn mix() -> Vec<SimMessage> {
    let divisions = checks_divisions();
    let mut sim = Simulator::new(SimConfig::default(), &divisions);
    sim.batch(RECORDS, START_MS, 50)
}

fn checks_divisions() -> dqmon::formats::DivisionTable {
    let text = std::fs::read_to_string("checks/reference/gb2260-divisions.csv").unwrap();
    dqmon::formats::DivisionTable::from_csv(&text).unwrap()
}

fn message(m: &SimMessage) -> Message<'_> {
    Message {
        topic: &m.topic,
        partition: 0,
        offset: 0,
        timestamp_ms: m.timestamp_ms,
        key: m.key.as_deref().map(str::as_bytes),
        payload: Some(&m.payload),
    }
}

fn compile(c: &mut Criterion) {
    c.bench_function("compile/load_checks", |b| {
        b.iter(|| dqmon::checks::load(black_box(Path::new("checks"))).unwrap())
    });
}

fn records(c: &mut Criterion) {
    let checks = Arc::new(dqmon::checks::load(Path::new("checks")).unwrap());
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
    group.bench_function("parse_and_evaluate", |b| {
        // A fresh engine each pass, so uniqueness sees the mix as it is, not as re-sends.
        b.iter_batched(
            || Engine::new(checks.clone(), b"bench"),
            |engine| {
                for m in &messages {
                    black_box(engine.evaluate(&message(m)));
                }
                engine
            },
            BatchSize::PerIteration,
        )
    });
    group.finish();
}

criterion_group!(benches, compile, records);
criterion_main!(benches);
