//! The counts of a dataset: the one shape a record's outcome is added to,
//! a checkpoint stores and a report is built from.

use crate::catalog::{Checks, Dataset};
use crate::engine::RecordOutcome;
use crate::model::{Counts, Dimension};

/// Counts of one dataset: records, malformed, each dimension, each check.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DatasetCounts {
    pub records: u64,
    pub malformed: u64,
    /// Indexed by `Dimension as usize`.
    pub dimensions: [Counts; 5],
    /// By check id. Made by [`DatasetCounts::for_dataset`], they follow the
    /// contract's check order, so a check's index finds its entry directly.
    pub checks: Vec<(String, Counts)>,
}

impl DatasetCounts {
    /// Zeros for every check of the dataset, in contract order.
    pub(crate) fn for_dataset(ds: &Dataset) -> Self {
        DatasetCounts {
            checks: ds
                .checks
                .iter()
                .map(|c| (c.id.clone(), Counts::ZERO))
                .collect(),
            ..DatasetCounts::default()
        }
    }

    /// Counts one record's outcome. Only for counts made by
    /// [`DatasetCounts::for_dataset`] of the outcome's dataset.
    pub fn add(&mut self, outcome: &RecordOutcome) {
        self.records += 1;
        self.malformed += u64::from(outcome.malformed);
        for (d, result) in outcome.dimensions.iter().enumerate() {
            if let Some(passed) = result {
                self.dimensions[d].record(*passed);
            }
        }
        for (check, passed) in outcome.checks() {
            self.checks[check].1.record(passed);
        }
    }

    /// Adds `other`'s counts; checks by id, new ids appended.
    pub fn merge(&mut self, other: &DatasetCounts) {
        self.merge_totals(other);
        for (id, c) in &other.checks {
            // Linear search: a dataset has tens of checks, and it keeps the
            // caller's order instead of requiring a sorted vector.
            match self.checks.iter_mut().find(|(mine, _)| mine == id) {
                Some((_, mine)) => mine.merge(*c),
                None => self.checks.push((id.clone(), *c)),
            }
        }
    }

    /// Adds `other`'s records and dimensions, not its checks: a total across
    /// datasets, whose check ids would collide.
    pub(crate) fn merge_totals(&mut self, other: &DatasetCounts) {
        self.records = self.records.saturating_add(other.records);
        self.malformed = self.malformed.saturating_add(other.malformed);
        for (mine, theirs) in self.dimensions.iter_mut().zip(other.dimensions) {
            mine.merge(theirs);
        }
    }

    pub fn dimension(&self, d: Dimension) -> Counts {
        self.dimensions[d as usize]
    }

    /// The counts of one check, if it has an entry.
    pub fn check(&self, id: &str) -> Option<Counts> {
        self.checks.iter().find(|(c, _)| c == id).map(|(_, c)| *c)
    }

    /// The same counts without the checks that never had an outcome (what the
    /// store keeps).
    pub(crate) fn counted_checks_only(&self) -> DatasetCounts {
        DatasetCounts {
            checks: self
                .checks
                .iter()
                .filter(|(_, c)| c.total() > 0)
                .cloned()
                .collect(),
            ..self.clone()
        }
    }
}

/// Counts of a stream of messages, one [`DatasetCounts`] per dataset of the contracts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tally {
    pub messages: u64,
    pub unrouted: u64,
    /// Indexed by dataset index.
    pub datasets: Vec<DatasetCounts>,
}

impl Tally {
    pub fn new(checks: &Checks) -> Self {
        Self {
            messages: 0,
            unrouted: 0,
            datasets: checks
                .datasets
                .iter()
                .map(DatasetCounts::for_dataset)
                .collect(),
        }
    }

    /// Counts one message: its outcome, or `None` when it was unrouted.
    pub fn add(&mut self, outcome: Option<&RecordOutcome>) {
        self.messages += 1;
        match outcome {
            Some(o) => self.datasets[o.dataset].add(o),
            None => self.unrouted += 1,
        }
    }

    pub fn malformed(&self) -> u64 {
        self.datasets.iter().map(|d| d.malformed).sum()
    }
}
