//! Passed and failed outcomes: the one count every tally, report and store row is made of.

use serde::{Deserialize, Serialize};

/// Passed and failed outcomes of a dimension or a check.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct Counts {
    pub passed: u64,
    pub failed: u64,
}

/// `[passed, failed]`: how tests and tables write counts down.
impl From<[u64; 2]> for Counts {
    fn from([passed, failed]: [u64; 2]) -> Self {
        Counts { passed, failed }
    }
}

impl Counts {
    pub const ZERO: Counts = Counts {
        passed: 0,
        failed: 0,
    };

    /// Counts one outcome.
    pub fn record(&mut self, passed: bool) {
        if passed {
            self.passed += 1;
        } else {
            self.failed += 1;
        }
    }

    /// Adds `other`. Saturating: 2^64 outcomes are out of reach, and a panic
    /// would be worse than a pinned count.
    pub fn merge(&mut self, other: Counts) {
        self.passed = self.passed.saturating_add(other.passed);
        self.failed = self.failed.saturating_add(other.failed);
    }

    pub fn total(self) -> u64 {
        self.passed.saturating_add(self.failed)
    }

    /// passed / (passed + failed), or `None` without outcomes.
    pub fn pass_rate(self) -> Option<f64> {
        let n = self.total();
        (n > 0).then(|| self.passed as f64 / n as f64)
    }
}
