//! The `dqmon` commands that are more than a call into one layer: offline
//! evaluation, the scores table and the demo.

pub mod demo;
pub mod eval;
pub mod scores;
