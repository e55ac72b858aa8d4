//! The vocabulary every layer speaks: dimensions, pass/fail counts, where a
//! message travelled, the bus's order, reporting periods, violation events and the message
//! itself. It imports nothing of dqmon, so every other module may use it.

pub mod counts;
pub mod dimension;
pub mod message;
pub mod order;
pub mod period;
pub mod position;
pub mod violation;

pub use counts::Counts;
pub use dimension::Dimension;
pub use message::{Envelope, Message};
pub use order::OrderKey;
pub use position::PartitionOffset;
pub use violation::Violation;
