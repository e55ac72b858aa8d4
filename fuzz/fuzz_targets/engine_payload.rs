//! Any payload on any contract topic through `Engine::evaluate`: an outcome,
//! never a panic. The first byte picks the topic and the day.
#![no_main]

use std::path::Path;
use std::sync::{Arc, LazyLock};

use dqmon::engine::Engine;
use dqmon::model::Message;
use libfuzzer_sys::fuzz_target;

static ENGINE: LazyLock<Engine> = LazyLock::new(|| {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../checks");
    let checks = dqmon::catalog::load(&dir).expect("the shipped checks load");
    Engine::new(Arc::new(checks), b"fuzzing secret")
});

fuzz_target!(|data: &[u8]| {
    let Some((&pick, payload)) = data.split_first() else {
        return;
    };
    let topics = ENGINE.checks().topics();
    let topic = &topics[usize::from(pick) % topics.len()];
    // A day within a few years of 2026, from the same byte.
    let timestamp_ms = 1_781_488_800_000 + i64::from(pick) * 86_400_000 * 7;
    let msg = Message {
        topic,
        partition: 0,
        offset: 0,
        timestamp_ms,
        key: None,
        payload: Some(payload),
    };
    let day = ENGINE.checks().day_of(timestamp_ms);
    let outcome = ENGINE.evaluate(&msg, day).expect("a contract topic");
    // A malformed payload is one format failure and nothing else.
    if outcome.malformed {
        assert_eq!(outcome.failures.len(), 1);
    }
});
