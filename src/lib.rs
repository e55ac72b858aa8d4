//! dqmon: a streaming data-quality monitor for an inter-department Kafka
//! exchange bus. The engine ([`engine`]) is pure; Kafka, HTTP and storage
//! live at the edges.

pub mod api;
pub mod checks;
pub mod config;
pub mod demo;
pub mod dimension;
pub mod engine;
pub mod eval;
pub mod formats;
pub mod http;
pub mod message;
pub mod metrics;
pub mod period;
pub mod report;
pub mod score;
pub mod scorecard;
pub mod scores_table;
pub mod service;
pub mod sim;
pub mod store;
pub mod violation;
