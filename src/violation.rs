//! Violation events: one per failed check, for the owning department to fix.
//! They identify the record by where it travelled and its `record_id`, and
//! say what is wrong without repeating the value.

use serde::{Deserialize, Serialize};

use crate::checks::Dataset;
use crate::engine::RecordOutcome;
use crate::message::Message;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Violation {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
    /// Message time, epoch milliseconds.
    pub timestamp: i64,
    /// `null` when the record id itself is missing or invalid.
    pub record_id: Option<String>,
    pub department: String,
    pub dataset: String,
    pub dimension: String,
    pub check: String,
    pub field: Option<String>,
    pub reason: String,
}

/// The violations of one evaluated message.
pub fn violations(msg: &Message<'_>, ds: &Dataset, outcome: &RecordOutcome) -> Vec<Violation> {
    outcome
        .failures()
        .map(|c| {
            let def = &ds.checks[c.check];
            Violation {
                topic: msg.topic.to_string(),
                partition: msg.partition,
                offset: msg.offset,
                timestamp: msg.timestamp_ms,
                record_id: outcome.record_id.clone(),
                department: ds.department.clone(),
                dataset: ds.name.clone(),
                dimension: def.dimension.as_str().to_string(),
                check: def.id.clone(),
                field: def.field.clone(),
                reason: c.reason.to_string(),
            }
        })
        .collect()
}
