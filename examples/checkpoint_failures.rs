//! What keeping every failed check for disputes adds to a checkpoint's write:
//! two SQLite stores (files, WAL, `synchronous=FULL`, as the service opens
//! them) take the same checkpoints of 10 000 messages, one with the
//! messages' failures and one without, in alternation so that a noisy
//! machine slows both alike; printed are the median write times and their
//! ratio, at the simulator's defect rate (5.4 % of records failing a check)
//! and with every record failing one check.
//!
//! cargo run --release --example checkpoint_failures -- [ROUNDS]

use std::time::Instant;

use chrono::NaiveDate;
use dqmon::model::{Dimension, Violation};
use dqmon::store::findings::RecordAt;
use dqmon::store::sqlite::SqliteStore;
use dqmon::store::{Checkpoint, CheckpointStore, DayCounts, Failure, ReferenceRow, SeenRow};

const MESSAGES: u64 = 10_000;
const DAY_MS: i64 = 86_400_000;
/// 2026-03-02 00:00 UTC.
const START_MS: i64 = 1_772_409_600_000;

fn mix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Round `round`'s checkpoint; `failing` of its messages fail one check.
fn checkpoint(round: u64, failing: u64, with_failures: bool) -> Checkpoint {
    let base = round * MESSAGES;
    let at_ms = |i: u64| START_MS + ((base + i) as i64) * 1_000;
    let day = |ms: i64| {
        NaiveDate::from_ymd_opt(2026, 3, 2).unwrap()
            + chrono::Days::new(((ms - START_MS) / DAY_MS) as u64)
    };
    let departments = [
        "public_security",
        "civil_affairs",
        "hrss",
        "market_regulation",
        "tax",
        "health",
    ];
    let failed: Vec<(u64, &str)> = (0..failing)
        .map(|k| (k * MESSAGES / failing.max(1), departments[(k % 6) as usize]))
        .collect();
    let violations: Vec<Violation> = failed
        .iter()
        .map(|&(i, dep)| Violation {
            topic: format!("exchange.{dep}.ds"),
            partition: (i % 3) as i32,
            offset: (base + i) as i64,
            timestamp: at_ms(i),
            record_id: Some(format!("R-{:012}", base + i)),
            department: dep.into(),
            dataset: "ds".into(),
            dimension: Dimension::Format,
            check: "name.format".into(),
            field: Some("name".into()),
            reason: "does not match the pattern".into(),
            late: false,
        })
        .collect();
    let failures = if with_failures {
        violations
            .iter()
            .map(|v| Failure {
                at: RecordAt {
                    topic: v.topic.clone(),
                    partition: v.partition,
                    offset: v.offset,
                    record_id: v.record_id.clone(),
                },
                timestamp_ms: v.timestamp,
                day: day(v.timestamp),
                department: v.department.clone(),
                dataset: v.dataset.clone(),
                check: v.check.clone(),
                dimension: v.dimension,
            })
            .collect()
    } else {
        Vec::new()
    };
    let mut counts = DayCounts::new(day(at_ms(0)), "hrss", "ds");
    counts.counts.records = MESSAGES;
    Checkpoint {
        counts: vec![counts],
        references: (0..MESSAGES / 3)
            .map(|i| ReferenceRow {
                entity: 0,
                key: [mix(base + i), i],
                values: [1, 2, 3, 4],
                updated_secs: (at_ms(i) / 1000) as u32,
                known: 0b1111,
            })
            .collect(),
        seen: (0..MESSAGES)
            .map(|i| SeenRow {
                key: [mix(base + i + (1 << 40)), i],
                at_ms: at_ms(i),
            })
            .collect(),
        // The store keeps the newest 1 000 per department anyway.
        violations,
        failures,
        failures_before_ms: Some(at_ms(0) - 400 * DAY_MS),
        ..Checkpoint::default()
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() -> anyhow::Result<()> {
    let rounds: u64 = match std::env::args().nth(1) {
        Some(n) => n.parse()?,
        None => 20,
    };
    let dir = tempfile::tempdir()?;
    for (label, failing) in [
        ("5.4 % of records failing", 540),
        ("every record failing", MESSAGES),
    ] {
        let with = SqliteStore::open(&dir.path().join(format!("with-{failing}.sqlite")), 1000)?;
        let without =
            SqliteStore::open(&dir.path().join(format!("without-{failing}.sqlite")), 1000)?;
        let (mut t_with, mut t_without) = (Vec::new(), Vec::new());
        for round in 0..rounds {
            for (store, keep, times) in [
                (&with, true, &mut t_with),
                (&without, false, &mut t_without),
            ] {
                let cp = checkpoint(round, failing, keep);
                let start = Instant::now();
                store.commit(&cp)?;
                times.push(start.elapsed().as_secs_f64() * 1000.0);
            }
        }
        let (a, b) = (median(t_with), median(t_without));
        println!(
            "{label}: checkpoint of {MESSAGES} messages, median of {rounds}: {a:.1} ms with the failures kept, {b:.1} ms without; ratio {:.2}",
            a / b
        );
    }
    Ok(())
}
