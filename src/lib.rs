//! dqmon: a streaming data-quality monitor for an inter-department Kafka
//! exchange bus.
//!
//! The modules stand on one staircase; each imports only those listed above it:
//!
//! | module | what it is |
//! |---|---|
//! | [`model`] | the vocabulary: dimensions, counts, positions, periods, violations, messages |
//! | [`formats`] | one validator per named format of the data dictionary |
//! | [`catalog`] | the contracts of `checks/`, loaded and compiled once |
//! | [`engine`] | a message in, its outcomes out; pure, the clock passed in |
//! | [`tally`] | counts of outcomes, the report, the score, the ranking, sealed reports |
//! | [`store`] | the score store: checkpoints written, scores read, periods sealed; SQLite or PostgreSQL |
//! | [`telemetry`] | Prometheus metrics and readiness |
//! | [`web`] | the HTTP side: ops endpoints, the score API, the scorecard |
//! | [`service`] | `dqmon run`: the consumer, its outputs, rebalances, checkpoints |
//! | [`sim`] | simulated departments, and publishing their traffic |
//! | [`cli`] | `eval`, `scores`, `demo` |
//!
//! Everything public here is what the binary, the integration tests, the
//! benchmarks and the examples use.

pub mod catalog;
pub mod cli;
pub mod engine;
pub mod formats;
pub mod model;
pub mod service;
pub mod sim;
pub mod store;
pub mod tally;
pub mod telemetry;
pub mod web;
