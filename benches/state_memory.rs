//! Memory per tracked entity in the engine's state: a counting allocator
//! measures the heap the maps hold after N entities are tracked.
//!
//! cargo bench --bench state_memory
//!
//! The second table is the positioned memory instances sharing the bus keep
//! (`engine::history`): every delivery and record id with its place in the
//! bus's order, one and two deliveries per person.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};

use dqmon::engine::{Delivery, Engine, Fact, Pos, State};

struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(
            new_size as isize - layout.size() as isize,
            Ordering::Relaxed,
        );
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn main() {
    // `cargo bench` passes `--bench`; nothing to parse.
    for n in [100_000usize, 300_000, 1_000_000, 2_000_000] {
        let state = State::new(b"memory benchmark", 2);
        let before = LIVE.load(Ordering::Relaxed);
        for i in 0..n {
            // A person as the authoritative dataset delivers it: three attributes.
            let key = state.entity_key(0, &format!("{i:018}"));
            let values = [0, 1, 2].map(|a| (a, (i * 3 + a) as u32));
            state.deliver(0, key, &values, 1_700_000_000_000);
        }
        let entities = LIVE.load(Ordering::Relaxed) - before;
        for i in 0..n {
            let key = state.record_key(0, &format!("rec-{i}"));
            state.seen_before(key, 1_700_000_000_000, 7 * 86_400_000);
        }
        let records = LIVE.load(Ordering::Relaxed) - before - entities;
        println!(
            "n={n}: {:.1} bytes per tracked entity (3 attributes), {:.1} bytes per remembered record id",
            entities as f64 / n as f64,
            records as f64 / n as f64
        );
    }
    let checks = std::sync::Arc::new(
        dqmon::catalog::load(std::path::Path::new("checks")).expect("the contracts load"),
    );
    for deliveries in [1usize, 2] {
        for n in [100_000usize, 1_000_000, 2_000_000] {
            let engine = Engine::new(checks.clone(), b"memory benchmark").shared(86_400_000);
            let before = LIVE.load(Ordering::Relaxed);
            for d in 0..deliveries {
                for i in 0..n {
                    let key = engine.state().entity_key(0, &format!("{i:018}"));
                    let fact = Fact {
                        record_key: None,
                        deliveries: vec![Delivery {
                            entity: 0,
                            key,
                            values: [0u8, 1, 2]
                                .iter()
                                .map(|&a| (a, (i * 3 + usize::from(a) + d) as u32))
                                .collect(),
                        }],
                    };
                    engine.apply_fact(&fact, pos(i, d));
                }
            }
            let entities = LIVE.load(Ordering::Relaxed) - before;
            for i in 0..n {
                let fact = Fact {
                    record_key: Some(engine.state().record_key(0, &format!("rec-{i}"))),
                    deliveries: Vec::new(),
                };
                engine.apply_fact(&fact, pos(i, 0));
            }
            let records = LIVE.load(Ordering::Relaxed) - before - entities;
            println!(
                "positioned, {deliveries} deliveries per person, n={n}: {:.1} bytes per person, {:.1} bytes per record id",
                entities as f64 / n as f64,
                records as f64 / n as f64
            );
        }
    }
}

/// Record `i`'s place, delivery `d` a day later.
fn pos(i: usize, d: usize) -> Pos {
    Pos {
        timestamp_ms: 1_700_000_000_000 + (d as i64) * 86_400_000,
        topic: 0,
        partition: (i % 6) as i32,
        offset: i as i64,
    }
}
