//! What dqmon tells its operators: Prometheus metrics and readiness. The
//! consumer writes them, the HTTP side reads them; neither knows the other.

pub mod health;
pub mod metrics;

pub use health::Health;
pub(crate) use metrics::DisputeCounts;
pub use metrics::{Metrics, Output};
