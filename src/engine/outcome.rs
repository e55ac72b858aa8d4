//! What the engine says about one record.

use std::borrow::Cow;

use crate::checks::{CheckId, Dataset};
use crate::dimension::Dimension;

/// One applicable check's result.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckOutcome {
    pub check: CheckId,
    pub passed: bool,
    /// Why it failed, without the value (violation events carry it).
    pub reason: Option<Cow<'static, str>>,
}

/// Everything the engine concluded about one routed message.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordOutcome {
    pub dataset: usize,
    /// Not a UTF-8 JSON object: only the `message.parse` check applies.
    pub malformed: bool,
    /// Per dimension (catalog order): `Some(true)` pass, `Some(false)` fail, `None` not applicable.
    pub dimensions: [Option<bool>; 5],
    /// Every applicable check, in the dataset's check order.
    pub checks: Vec<CheckOutcome>,
    /// The record id when it passed its format check (never personal data).
    pub record_id: Option<String>,
    /// `message timestamp - updated_at`, when `updated_at` is valid.
    pub age_ms: Option<i64>,
}

impl RecordOutcome {
    pub fn new(dataset: usize) -> Self {
        Self {
            dataset,
            malformed: false,
            dimensions: [None; 5],
            checks: Vec::with_capacity(24),
            record_id: None,
            age_ms: None,
        }
    }

    /// Adds a check result; the check's dimension fails when any check fails.
    pub fn record(
        &mut self,
        ds: &Dataset,
        check: CheckId,
        passed: bool,
        reason: impl FnOnce() -> Cow<'static, str>,
    ) {
        let d = ds.checks[check].dimension as usize;
        self.dimensions[d] = Some(self.dimensions[d].unwrap_or(true) && passed);
        self.checks.push(CheckOutcome {
            check,
            passed,
            reason: (!passed).then(reason),
        });
    }

    pub fn pass(&mut self, ds: &Dataset, check: CheckId) {
        self.record(ds, check, true, || Cow::Borrowed(""));
    }

    pub fn fail(&mut self, ds: &Dataset, check: CheckId, reason: impl Into<Cow<'static, str>>) {
        let reason = reason.into();
        self.record(ds, check, false, || reason);
    }

    pub fn dimension(&self, d: Dimension) -> Option<bool> {
        self.dimensions[d as usize]
    }

    pub fn failures(&self) -> impl Iterator<Item = &CheckOutcome> {
        self.checks.iter().filter(|c| !c.passed)
    }
}
