//! Readiness: what the consumer reports and `/readyz` (and `dq_ready`) read.

use std::sync::atomic::{AtomicBool, Ordering};

/// What the HTTP side reads to answer `/readyz`.
#[derive(Debug, Default)]
pub struct Health {
    pub broker_up: AtomicBool,
    pub assigned: AtomicBool,
}

impl Health {
    pub fn ready(&self) -> bool {
        self.broker_up.load(Ordering::Relaxed) && self.assigned.load(Ordering::Relaxed)
    }
}
