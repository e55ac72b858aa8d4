//! Readiness: what the consumer reports and `/readyz` (and `dq_ready`) read.

use std::sync::atomic::{AtomicBool, Ordering};

/// What the HTTP side reads to answer `/readyz`.
#[derive(Debug, Default)]
pub struct Health {
    /// The engine state and today's counts are loaded from the store.
    pub loaded: AtomicBool,
    pub broker_up: AtomicBool,
    pub assigned: AtomicBool,
}

impl Health {
    pub fn ready(&self) -> bool {
        self.loaded.load(Ordering::Relaxed)
            && self.broker_up.load(Ordering::Relaxed)
            && self.assigned.load(Ordering::Relaxed)
    }
}
