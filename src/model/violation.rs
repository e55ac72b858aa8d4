//! Violation events: one per failed check, for the owning department to fix.
//! They identify the record by where it travelled and its `record_id`, and
//! say what is wrong without repeating the value.

use serde::{Deserialize, Serialize};

use super::Dimension;

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
    pub dimension: Dimension,
    pub check: String,
    pub field: Option<String>,
    pub reason: String,
    /// Judged late: the message arrived after records with later message
    /// times were judged, so its cross-source and uniqueness outcomes are
    /// what was known on arrival (the catalog's late-message rule).
    #[serde(default)]
    pub late: bool,
}
