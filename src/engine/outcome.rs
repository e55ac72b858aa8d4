//! What the engine says about one record.

use std::borrow::Cow;

use crate::catalog::{CheckId, Dataset};
use crate::model::Dimension;

/// A failed check and why, without the value (violation events carry it).
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    pub check: CheckId,
    pub reason: Cow<'static, str>,
}

/// A finding (rectification) that a record opened or closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FindingChange {
    pub check: CheckId,
    /// Message time of the record that opened it.
    pub opened_ms: i64,
    /// Message time of the record that fixed it; `None` when this record opened it.
    pub fixed_ms: Option<i64>,
}

/// Everything the engine concluded about one routed message.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordOutcome {
    pub dataset: usize,
    /// Not a UTF-8 JSON object: only the `message.parse` check applies.
    pub malformed: bool,
    /// Per dimension (catalog order): `Some(true)` pass, `Some(false)` fail, `None` not applicable.
    pub dimensions: [Option<bool>; 5],
    /// Bit `c` set when check `c` applied (a dataset has at most 128 checks).
    /// Bits, not a list, so a clean record allocates nothing.
    pub applied: u128,
    /// The failed checks, in the dataset's check order.
    pub failures: Vec<Failure>,
    /// The record id when it passed its format check and the record has a
    /// failure (never personal data; only violation events need it).
    pub record_id: Option<String>,
    /// `message timestamp - updated_at`, when `updated_at` is valid.
    pub age_ms: Option<i64>,
    /// Keyed hash of (dataset, entity key) when the record changed a finding.
    pub finding_key: Option<[u64; 2]>,
    /// Findings this record opened or fixed, by check.
    pub findings: Vec<FindingChange>,
}

impl RecordOutcome {
    pub fn new(dataset: usize) -> Self {
        Self {
            dataset,
            malformed: false,
            dimensions: [None; 5],
            applied: 0,
            failures: Vec::new(),
            record_id: None,
            age_ms: None,
            finding_key: None,
            findings: Vec::new(),
        }
    }

    fn mark(&mut self, ds: &Dataset, check: CheckId, passed: bool) {
        let d = ds.check_dimensions[check] as usize;
        self.dimensions[d] = Some(self.dimensions[d].unwrap_or(true) && passed);
        self.applied |= 1u128 << check;
    }

    pub fn pass(&mut self, ds: &Dataset, check: CheckId) {
        self.mark(ds, check, true);
    }

    /// The check's dimension fails when any of its checks fails.
    // Cold: most records pass, and keeping failure paths out of line keeps the
    // engine's hot code small (measured: fewer instruction-cache misses).
    #[cold]
    #[inline(never)]
    pub fn fail(&mut self, ds: &Dataset, check: CheckId, reason: impl Into<Cow<'static, str>>) {
        self.mark(ds, check, false);
        self.failures.push(Failure {
            check,
            reason: reason.into(),
        });
    }

    pub fn dimension(&self, d: Dimension) -> Option<bool> {
        self.dimensions[d as usize]
    }

    pub fn failures(&self) -> impl Iterator<Item = &Failure> {
        self.failures.iter()
    }

    /// Every applied check with whether it passed, in check order.
    pub fn checks(&self) -> impl Iterator<Item = (CheckId, bool)> + '_ {
        let failed: u128 = self.failures.iter().fold(0, |m, f| m | (1u128 << f.check));
        let mut bits = self.applied;
        std::iter::from_fn(move || {
            if bits == 0 {
                return None;
            }
            let c = bits.trailing_zeros() as usize;
            bits &= bits - 1;
            Some((c, failed & (1u128 << c) == 0))
        })
    }
}
