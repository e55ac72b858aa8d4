//! Any `dqmon eval` input through `evaluate_lines`: a tally or an error
//! naming the line, never a panic.
#![no_main]

use std::path::Path;
use std::sync::{Arc, LazyLock};

use dqmon::engine::Engine;
use libfuzzer_sys::fuzz_target;

static CHECKS: LazyLock<Arc<dqmon::catalog::Checks>> = LazyLock::new(|| {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../checks");
    Arc::new(dqmon::catalog::load(&dir).expect("the shipped checks load"))
});

fuzz_target!(|data: &[u8]| {
    // A fresh engine: each input is a file of its own.
    let engine = Engine::new(CHECKS.clone(), b"fuzzing secret");
    let mut violations = 0usize;
    if let Ok(tally) = dqmon::cli::eval::evaluate_lines(&engine, data, "fuzz", |_| {
        violations += 1;
        Ok(())
    }) {
        assert!(tally.messages >= tally.unrouted);
    }
});
