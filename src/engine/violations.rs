//! The violation events of one evaluated message.

use super::RecordOutcome;
use crate::catalog::Dataset;
use crate::model::{Message, Violation};

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
                dimension: def.dimension,
                check: def.id.clone(),
                field: def.field.clone(),
                reason: c.reason.to_string(),
                late: false,
            }
        })
        .collect()
}
