//! The five quality dimensions of the exchange catalog.

use std::fmt;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Dimension {
    Completeness,
    Format,
    Consistency,
    Freshness,
    Uniqueness,
}

impl Dimension {
    /// In the catalog's order; arrays indexed by `Dimension as usize` follow it.
    pub const ALL: [Dimension; 5] = [
        Dimension::Completeness,
        Dimension::Format,
        Dimension::Consistency,
        Dimension::Freshness,
        Dimension::Uniqueness,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Dimension::Completeness => "completeness",
            Dimension::Format => "format",
            Dimension::Consistency => "consistency",
            Dimension::Freshness => "freshness",
            Dimension::Uniqueness => "uniqueness",
        }
    }

    pub fn parse(s: &str) -> Option<Dimension> {
        Dimension::ALL.into_iter().find(|d| d.as_str() == s)
    }
}

impl fmt::Display for Dimension {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
