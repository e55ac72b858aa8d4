//! dqmon: a streaming data-quality monitor for an inter-department Kafka
//! exchange bus. The engine ([`engine`]) is pure; Kafka, HTTP and storage
//! live at the edges.

pub mod checks;
pub mod dimension;
pub mod engine;
pub mod eval;
pub mod formats;
pub mod message;
pub mod report;
pub mod score;
pub mod simulate;
pub mod violation;
